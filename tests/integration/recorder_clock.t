#!/bin/sh
# The system clock steps back under the recorder (NTP correcting a fast
# clock, a VM resumed, the db carried to a host whose clock is behind).
# A time query turns a time into the last revision observed at or before
# it, so the times written must not go back with the clock: they stay at
# the latest time recorded until the clock catches up, and the recorder
# says so.  The recorder's clock is moved by libfaketime (its wall clock
# only: the monotonic clock, as in a real step, does not move).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

FT=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
if [ -z "$FT" ] || [ ! -r "$FT" ]; then
	bail "libfaketime is not installed (make deps)"
fi

etcd_start clock
port=$(free_port)
M="http://127.0.0.1:$port"
metric() { curl -s "$M/metrics" | sed -n "s/^$1 //p"; }
db="$TMP/clock.db"
ip=cilium/state/ip/v1/default/10.0.0.1
entry() { printf '{"IP":"10.0.0.1","ID":%s,"HostIP":"192.168.1.1"}' "$1"; }

# skew OFFSET: the recorder's clock from now on ("+0", "-3600").
skew() { echo "$1" >"$TMP/faketime"; }
# rec_skewed: rec_start under libfaketime, its offset read at every call.
# (A SANITIZE= build: ASan wants to be first in the preload list.)
rec_skewed() {
	LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE="$TMP/faketime" FAKETIME_NO_CACHE=1 \
		DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$BIN/hindsight-recorder" --db "$db" \
		--endpoints "$ETCD_URL" --metrics-addr "127.0.0.1:$port" \
		>>"$TMP/rec.log" 2>&1 &
	REC_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $REC_PID"
}
put() { $KV "$ETCD_URL" put "$ip" "$(entry "$1")"; }
# The time of revision REV, in microseconds.
t_of() { q "$db" "SELECT t_hi_us FROM revisions WHERE etcd_rev = $1"; }
went_back() { grep -c 'system clock went back' "$TMP/rec.log"; }
# identity ID AT: the identity holding the address at AT, exit status kept.
at_identity() {
	"$BIN/hindsight" --db "$db" --format json ip 10.0.0.1 --at "$1" |
		jq -r '.[0].identity'
}
us_at() { echo "@$(($1 / 1000000)).$(printf '%06d' $(($1 % 1000000)))"; }

skew +0
put 100 >/dev/null
rec_skewed
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/healthz")" = 200 ]; }
wait_until 20 healthy || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"
r1=$(put 101)
wait_until 10 db_reached "$db" "$r1"
ok $? "identity 101 recorded (revision $r1)"
t1=$(t_of "$r1")

skew -3600
warned() { grep -q 'system clock went back' "$TMP/rec.log"; }
wait_until 10 warned
ok $? "the recorder warns that the clock went back"
grep 'system clock went back' "$TMP/rec.log" | sed 's/^/# /'
behind=$(metric hindsight_clock_behind_seconds)
[ "$(echo "$behind" | awk '{ print ($1 > 3500 && $1 <= 3600) }')" = 1 ]
ok $? "hindsight_clock_behind_seconds shows the step ($behind s)"
r2=$(put 102)
wait_until 10 db_reached "$db" "$r2"
ok $? "identity 102 recorded while the clock is an hour behind (revision $r2)"
t2=$(t_of "$r2")
[ "$t2" -ge "$t1" ]
ok $? "its time ($(us_at "$t2")) is not before the previous change's ($(us_at "$t1"))"
is "$(db_times_back "$db")" 0 "no revision's time goes back"
is "$(at_identity "$(us_at "$t2")")" 102 "ip --at the change's time: identity 102"
is "$(at_identity "$(us_at $((t2 - 1)))")" 101 "ip --at a microsecond before: identity 101"
"$BIN/hindsight" --db "$db" --format json ip 10.0.0.1 >"$TMP/history"
is "$(jq '[.[] | select(.to_time != null and .to_time < .from_time)] | length' "$TMP/history")" 0 \
	"in the address's history no holder ends before it began"
is "$(went_back)" 1 "one warning for the whole step"

skew +0
wait_until 10 grep -q 'system clock caught up' "$TMP/rec.log"
ok $? "once the clock is right again the recorder says so"
is "$(metric hindsight_clock_behind_seconds)" 0 "hindsight_clock_behind_seconds back to 0"
r3=$(put 103)
wait_until 10 db_reached "$db" "$r3"
t3=$(t_of "$r3")
now=$(($(date +%s%N) / 1000))
[ "$t3" -gt "$t2" ] && [ $((now - t3)) -lt 10000000 ] && [ "$t3" -le "$now" ]
ok $? "a change after that has the real time again ($(us_at "$t3"))"

# Stopped, then started on a host whose clock is an hour behind the db.
rec_stop
ok $? "SIGTERM: exit 0"
wm=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")
skew -3600
rec_skewed
wait_until 20 healthy || bail "recorder did not restart: $(tail -3 "$TMP/rec.log")"
is "$(went_back)" 2 "started behind the db's latest time, it warns at once"
r4=$(put 104)
wait_until 10 db_reached "$db" "$r4"
ok $? "identity 104 recorded after the restart (revision $r4)"
t4=$(t_of "$r4")
[ "$t4" -ge "$t3" ] && [ "$t4" -ge "$wm" ]
ok $? "its time is not before anything the db held ($(us_at "$t4"))"
is "$(db_times_back "$db")" 0 "still no revision's time goes back"
is "$(at_identity "$(us_at "$t4")")" 104 "ip --at that time: identity 104"
rec_stop
ok $? "SIGTERM: exit 0"
[ "$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")" -ge "$t4" ]
ok $? "the watermark's time did not go back either"
done_testing
