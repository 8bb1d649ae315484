#!/bin/sh
# A quiet watch is not a stalled one.  etcd sends a quiet watch a progress
# notification every interval (--experimental-watch-progress-notify-interval,
# 10 minutes by default) but skips the first one after events, so a healthy
# watch can go silent for twice the interval.  Here etcd's interval is 2 s
# and the recorder's default --stall-timeout is scaled to it (default *
# 2 / 600): bursts of events, each followed by a silence of two intervals
# and more, must not make the recorder give up on the watch.  (With the
# old default, 660 s, scaled to 2.2 s, it reconnected after each burst.)
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start quiet --experimental-watch-progress-notify-interval 2s
def=$("$BIN/hindsight-recorder" --print-config --endpoints "$ETCD_URL" |
	sed -n 's/^stall-timeout *//p')
stall=$(echo "$def" | awk '{ printf "%.2f", $1 * 2 / 600 }')
[ "$(echo "$stall" | awk '{ print ($1 > 4) }')" = 1 ]
ok $? "the default stall timeout ($def s) is over twice etcd's interval ($stall s scaled)"

db="$TMP/quiet.db"
rec_start "$db" --stall-timeout "$stall"
wait_until 20 db_reached "$db" 1 || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"
for round in 1 2; do
	for i in 1 2 3; do
		rev=$($KV "$ETCD_URL" put "cilium/state/quiet/$round/$i" "v$i")
	done
	wait_until 10 db_reached "$db" "$rev"
	ok $? "round $round: the burst is recorded (revision $rev)"
	# The silence under test: two progress intervals and a second more.
	sleep 5
done
grep -E 'stall timeout|retrying' "$TMP/rec.log" >"$TMP/stalls"
[ ! -s "$TMP/stalls" ]
ok $? "no reconnect: the watch stayed up through the silences"
sed 's/^/# /' "$TMP/stalls"
rev=$($KV "$ETCD_URL" put cilium/state/quiet/last x)
wait_until 10 db_reached "$db" "$rev"
ok $? "and it still delivers (revision $rev)"
is "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
	WHERE k.key LIKE 'cilium/state/quiet/%'")" 7 "every event once"
rec_stop
ok $? "SIGTERM: exit 0"
done_testing
