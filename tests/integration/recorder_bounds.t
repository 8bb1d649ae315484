#!/bin/sh
# Honest times (PRODUCT.md, semantics 2 and 4): replayed revisions are
# bounded by the stop and the restart, narrowed by Cilium's heartbeats; a
# revision read late (behind a backlog) is not stamped as seen live; and
# the watermark's time moves only as far as the watched member proves it
# is healthy, so a stuck member is left, not trusted.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

etcd_start audit

# 1. Replayed revisions are dated (stop, restart], narrowed where the
# history carries time: Cilium's cilium/.heartbeat holds the RFC 3339
# time it was written at, so it and every later revision were committed
# after it.  A heartbeat outside the bounds known (a clock behind, or
# ahead) narrows nothing.
$KV "$ETCD_URL" put cilium/a 1 >/dev/null
db="$TMP/hb.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first run"
t1=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")
before=$($KV "$ETCD_URL" put cilium/before x)
# The heartbeat carries whole seconds: wait for the next one, so that
# its time is past the stop and the revision before it.
clock_past() { [ "$(date +%s%6N)" -ge "$1" ]; }
wait_until 5 clock_past $((($(date +%s) + 1) * 1000000))
hb=$(date -u +%Y-%m-%dT%H:%M:%SZ)
hb_us=$(($(date -u -d "$hb" +%s) * 1000000))
hbrev=$($KV "$ETCD_URL" put cilium/.heartbeat "$hb")
after=$($KV "$ETCD_URL" put cilium/after y)
$KV "$ETCD_URL" put cilium/.heartbeat 2001-01-01T00:00:00Z >/dev/null
stale=$($KV "$ETCD_URL" put cilium/stale y)
$KV "$ETCD_URL" put cilium/.heartbeat 2099-01-01T00:00:00+02:00 >/dev/null
future=$($KV "$ETCD_URL" put cilium/future y)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "second run, replaying what came meanwhile"
lo() { q "$db" "SELECT t_lo_us FROM revisions WHERE rev = $1"; }
is "$(lo "$before")" "$t1" "a revision before the heartbeat: from the moment recording stopped"
is "$(lo "$hbrev")" "$hb_us" "the heartbeat's revision: from the time it carries"
is "$(lo "$after")" "$hb_us" "a revision after it: from that time too"
is "$(lo "$stale") $(lo "$future")" "$hb_us $hb_us" \
	"heartbeats older than the bound or newer than their arrival narrow nothing"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE how = 'replay'
	AND NOT (t_lo_us < t_hi_us)")" 0 "every replayed revision keeps lower < upper bound"
is "$(q "$db" "SELECT substr(time_lo, 1, 19) FROM changes WHERE key = 'cilium/after'")" \
	"${hb%Z}" "changes shows the narrowed lower bound"

# 2. A revision committed while a backlog is being replayed comes late:
# behind the backlog on the stream, or in etcd's batches while its watch
# catches up.  It is not "live" and must not be stamped with the moment it
# was read as if that were exact: its bounds must hold the moment it was
# committed (allowing a live one a second of delivery).
$KV "$ETCD_URL" txn 600 cilium/bulk/ 128 200 >/dev/null
cat >"$TMP/tsput.py" <<'PY'
import base64, http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
for i in range(int(sys.argv[2])):
    k = base64.b64encode(("cilium/late/%05d" % i).encode()).decode()
    t0 = int(time.time() * 1e6)
    c.request("POST", "/v3/kv/put", json.dumps({"key": k, "value": "eA=="}),
              {"Content-Type": "application/json"})
    rev = json.loads(c.getresponse().read())["header"]["revision"]
    print(rev, t0, int(time.time() * 1e6), flush=True)
    time.sleep(0.05)
PY
rec_start "$db" --catchup-streams 1
"$PY" "$TMP/tsput.py" "$ETCD_URL" 60 >"$TMP/ts.out"
wait_until 120 db_reached "$db" "$($KV "$ETCD_URL" rev)"
ok $? "the backlog and the changes made meanwhile are recorded"
# Caught up: the tick keeps the watermark's time within a second or so.
fresh() { [ $(($(date +%s%6N) - $(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'"))) -lt 2500000 ]; }
wait_until 20 fresh
ok $? "caught up: the watermark's time is fresh again"
"$PY" "$TMP/tsput.py" "$ETCD_URL" 20 >>"$TMP/ts.out"
wait_until 20 db_reached "$db" "$($KV "$ETCD_URL" rev)"
rec_stop
ok $? "SIGTERM: exit 0"
while read -r rev t0 t1; do
	q "$db" "SELECT how, t_lo_us - $t1 < 1000000 AND t_hi_us >= $t0
		FROM revisions WHERE etcd_rev = $rev"
done <"$TMP/ts.out" | sort | uniq -c >"$TMP/ts.sum"
sed 's/^/# /' "$TMP/ts.sum"
if grep -q '|0$' "$TMP/ts.sum"; then r=1; else r=0; fi
ok $r "every revision's bounds hold the moment it was committed"
grep -q ' watch|1$' "$TMP/ts.sum"
ok $? "…and the changes made once caught up are live"

# 3. The watermark says "the watch was healthy until T".  A member that is
# stuck (a hung disk, a paused VM: here SIGSTOP) keeps its TCP connections
# and delivers nothing while the other two commit: its quiet watch looks
# like an idle healthy one.  The watermark's time must not pass a change
# committed meanwhile, and the recorder must leave that member.
cluster_start
$FKV "$CL_URLS" writer 4 cilium/seed/ >/dev/null || bail "cannot write to the cluster"
db="$TMP/stuck.db"
log="$TMP/stuck.log"
rec_run "$db" "$CL_URLS" "$log"
wait_until 15 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "snapshot of the 3-member cluster"
wait_until 10 fresh
ok $? "while idle and healthy the watermark's time is kept fresh"
w=$(watched_url "$log")
m=$(member_of "$w")
ok $? "the log names the watched member (m$m)"
stuck=$(eval "echo \$CL_PID$m")
kill -STOP "$stuck"
others=$(echo "$CL_URLS" | tr ',' '\n' | grep -v "^$w\$" | paste -sd, -)
t_put=$(date +%s%6N)
rev=$($FKV "$others" writer 1 cilium/stuck/ | sed -n 's/.*rev=\([0-9]*\).*/\1/p')
[ -n "$rev" ]
ok $? "the other members commit revision $rev while m$m is stuck"
# Until the change is recorded (the recorder gives up on the member after
# 5 s without an answer), every look at the watermark must find its time
# before the change.
: >"$TMP/lies"
watermark_honest() {
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(q "$db" "SELECT (SELECT value FROM meta WHERE name = 'recorded_rev'),
		(SELECT value FROM meta WHERE name = 'recorded_us')" | tr '|' ' ')
	[ "$1" -ge "$rev" ] && return 0
	[ "$2" -lt "$t_put" ] || echo "rev $1 us $2" >>"$TMP/lies"
	return 1
}
wait_until 30 watermark_honest
ok $? "the recorder leaves the stuck member and records the change"
[ ! -s "$TMP/lies" ]
ok $? "…and meanwhile the watermark's time never passed the change"
sed 's/^/# /' "$TMP/lies"
grep -q "etcd $w did not answer a read within" "$log"
ok $? "…saying why"
is "$(q "$db" "SELECT t_lo_us <= $t_put AND $t_put <= t_hi_us FROM revisions WHERE etcd_rev = $rev")" 1 \
	"the change's time bounds hold the moment it was committed"
kill -CONT "$stuck"
# The writer retries a put that timed out (the stuck member may have been
# the leader), so etcd may hold a second one: record up to etcd's head.
wait_until 30 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "…and, the member back, whatever else the writer committed"
rec_term
ok $? "SIGTERM: exit 0"
hist_check "$db" "$CL_URLS" "$(($(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'") + 1))" \
	"recorded history equals etcd's, each event once"

done_testing
