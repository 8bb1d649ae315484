#!/bin/sh
# Catch-up with several watches on disjoint revision segments: a backlog of
# single-put and multi-key-txn revisions, replayed by 4 watches (and by 3,
# whose segment ends fall elsewhere), committed strictly in order: the
# history equals etcd's, each event once, and kill -9 in the middle of a
# catch-up loses nothing.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start cu
$KV "$ETCD_URL" put cilium/x 1 >/dev/null
db="$TMP/cu.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
first=$(db_recorded "$db")

# Three writers at once; wait for them by PID (etcd is a child too).
backlog() {
	$KV "$ETCD_URL" many 1200 "cilium/a$1/" >/dev/null &
	w1=$!
	$KV "$ETCD_URL" txn 300 "cilium/t$1/" 5 >/dev/null &
	w2=$!
	$KV "$ETCD_URL" many 1200 "cilium/b$1/" >/dev/null &
	w3=$!
	wait "$w1" "$w2" "$w3"
}

check() { # check WHAT: the db equals etcd from the first snapshot on
	head=$($KV "$ETCD_URL" rev)
	is "$(db_recorded "$db")" "$head" "$1: watermark at etcd's revision"
	h_etcd=$($KV "$ETCD_URL" history cilium/ $((first + 1)))
	h_db=$(db_history "$db" $((first + 1)))
	is "$(echo "$h_db" | wc -l)" "$(echo "$h_etcd" | wc -l)" \
		"$1: as many events as etcd has"
	[ "$h_db" = "$h_etcd" ]
	ok $? "$1: history equals etcd's, in order, byte for byte"
	is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "$1: state equals etcd's"
	# Segments are written in order, though a later one may have come first.
	is "$(db_times_back "$db")" 0 "$1: no revision's time goes back, no bounds inverted"
}

backlog 1
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --catchup-streams 4 2>"$TMP/cu1.log"
ok $? "--once with 4 catch-up watches exits 0"
grep -q 'catching up on revisions .* with 4 watches' "$TMP/cu1.log"
ok $? "the backlog was split over 4 watches"
check "4 watches"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE etcd_rev > $first AND how <> 'replay'")" 0 \
	"backlog revisions are stored as replay (committed while not watched)"

backlog 2
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --catchup-streams 3 2>"$TMP/cu2.log"
ok $? "--once with 3 catch-up watches exits 0"
check "3 watches"
# Reaching the end inside the last segment is --once done, not a failure.
is "$(cat "$TMP/cu1.log" "$TMP/cu2.log" | grep -c ' warn: ')" 0 \
	"a --once catch-up that ends well logs no warning"

# --once must not take the silence between etcd's sync rounds (100 ms)
# for the end while catch-up segments are pending: a quiet limit shorter
# than a round makes any such mistake certain.
backlog q
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --once-quiet 0.05 2>"$TMP/cuq.log"
ok $? "--once with a 50 ms quiet limit during catch-up exits 0"
check "quiet limit shorter than a sync round"

# Nor on one watch: between etcd's sync rounds (1000 revisions each) the
# stream is silent; keys under the prefix changed after the watermark show
# there is more to come.
backlog o
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-streams 1 --once-quiet 0.05 2>"$TMP/cuo.log"
ok $? "--once on one watch with a 50 ms quiet limit exits 0"
check "one watch, quiet limit shorter than a sync round"

# The newest revisions outside the prefix (and a delete before them): the
# watch has nothing to deliver up to etcd's revision, nothing put is
# pending, so --once ends on the quiet limit, not after waiting for etcd.
$KV "$ETCD_URL" put cilium/gone 1 >/dev/null
last=$($KV "$ETCD_URL" del cilium/gone)
$KV "$ETCD_URL" many 20 other/ >/dev/null
t0=$(date +%s)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-streams 1 2>"$TMP/cup.log"
ok $? "--once when the newest revisions are outside the prefix: exit 0"
[ $(($(date +%s) - t0)) -lt 30 ]
ok $? "…ending on the quiet limit, not on the wait for a slow etcd"
is "$(db_recorded "$db")" "$last" "…with the watermark at the last revision under the prefix"

# The newest part of the backlog outside the prefix: no event comes past
# the end of the segments before it.  The catch-up finds nothing put after
# the watermark and goes on with one watch; --once ends, a daemon records
# what comes next.  The part outside is longer than the last segment (2/5
# of the backlog with 4 watches), which must start past the last event.
$KV "$ETCD_URL" many 600 cilium/tail/ >/dev/null
last=$($KV "$ETCD_URL" put cilium/tail/last 1)
$KV "$ETCD_URL" many 1200 other/ >/dev/null
t0=$(date +%s)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --catchup-streams 4 2>"$TMP/cut.log"
ok $? "--once with catch-up, the newest revisions outside the prefix: exit 0"
[ $(($(date +%s) - t0)) -lt 30 ]
ok $? "…within seconds, not at the stall timeout"
is "$(db_recorded "$db")" "$last" "…with the watermark at the last revision under the prefix"
grep -q 'nothing was put under cilium/ after revision' "$TMP/cut.log"
ok $? "…saying why it went on with one watch"
is "$(grep -c ' warn: ' "$TMP/cut.log")" 0 "…and no warning"
$KV "$ETCD_URL" many 600 cilium/tail/ >/dev/null
$KV "$ETCD_URL" many 1800 other/ >/dev/null
: >"$TMP/rec.log"
rec_start "$db" --catchup-min 100 --catchup-streams 4
wait_until 30 grep -q 'going on with one watch' "$TMP/rec.log"
ok $? "a daemon goes on with one watch too"
rev=$($KV "$ETCD_URL" put cilium/tail/next 1)
wait_until 30 db_reached "$db" "$rev"
ok $? "…and records what comes next"
rec_stop
grep -q 'failed' "$TMP/rec.log"
is $? 1 "…without calling the catch-up failed"
check "newest revisions outside the prefix"

# A live revision that arrives while the segments before it are still
# being written is spilled: not seen live (the loop reads it late while it
# writes, and writes it after segments that may have arrived later), it
# is bounded by the moment the watches were asked for and the moment it
# arrived, not the moment it was written out, once its segment's turn came
# (-v logs that turn).  recorder_catchup3.t: a case where a segment before
# it arrived later.
# The first segment holds ~120 txns of 100 puts, the others 250-1000
# puts: the last one and the live revision arrive long before their
# turn.  (The first 1000 revisions, single puts, are the one watch's
# sample.)
$KV "$ETCD_URL" many 1000 cilium/sample/ >/dev/null
$KV "$ETCD_URL" txn 300 cilium/heavy/ 100 >/dev/null
$KV "$ETCD_URL" many 4000 cilium/spill/ >/dev/null
: >"$TMP/rec.log"
rec_start "$db" --catchup-min 100 --catchup-streams 8 -v
wait_until 30 grep -q 'catching up on revisions' "$TMP/rec.log"
m0=$(date +%s%6N)
marker=$($KV "$ETCD_URL" put cilium/live/marker 1)
m1=$(date +%s%6N)
wait_until 60 db_reached "$db" "$marker"
ok $? "the live revision is recorded after the catch-up"
rec_stop
turn=$(sed -n 's/^\([^ ]*\) debug: catch-up: segment 8 of 8 .*/\1/p' "$TMP/rec.log")
turn_us=$(($(date -d "$turn" +%s%N) / 1000))
is "$(q "$db" "SELECT how || ' ' || (t_lo_us <= $m1 AND t_hi_us >= $m0)
	FROM revisions WHERE etcd_rev = $marker")" "replay 1" \
	"…as a revision not seen live, whose bounds hold the moment of the put"
# (the log's times have milliseconds: the turn may begin in the
# millisecond the revision arrived in)
is "$(q "$db" "SELECT t_hi_us < $turn_us + 1000 FROM revisions WHERE etcd_rev = $marker")" 1 \
	"…the upper one when it arrived, before its segment's turn ($turn)"

# A backlog of txns, 5 events a revision: one watch brings more than the
# recorder writes, and several would only cost.  The one watch's first
# message (1000 revisions) tells, and the recorder stays on it.
$KV "$ETCD_URL" txn 1200 cilium/dense/ 5 >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --catchup-streams 4 2>"$TMP/cud.log"
ok $? "--once over a backlog of txns exits 0"
per=$(sed -n 's/.*catch-up: revisions carry \([0-9.]*\) events each; one watch is as fast as several$/\1/p' "$TMP/cud.log")
is "$per" "5.0" "…stays on one watch: its first 1000 revisions carry 5000 events"
grep -q 'catching up on revisions' "$TMP/cud.log"
is $? 1 "…and starts no other"
check "backlog of txns"

# A backlog below --catchup-min uses one watch.
$KV "$ETCD_URL" many 20 cilium/small/ >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 2>"$TMP/cu3.log"
grep -q 'catching up' "$TMP/cu3.log"
is $? 1 "a small backlog uses one watch"
check "small backlog"

# kill -9 in the middle of a catch-up, then resume (with catch-up again).
# A longer backlog: the catch-up after the sample must outlast the kill.
backlog 3
$KV "$ETCD_URL" many 6000 cilium/k3/ >/dev/null
end=$($KV "$ETCD_URL" rev)
: >"$TMP/rec.log"
rec_start "$db" --catchup-min 100 --catchup-streams 4 --batch-events 50
wait_until 30 grep -q 'catching up on revisions' "$TMP/rec.log"
# The one watch's sample came before: the catch-up begins at cu.
cu=$(sed -n 's/.*catching up on revisions \([0-9]*\)\.\..*/\1/p' "$TMP/rec.log")
wait_until 30 db_reached "$db" $((cu + 200))
ok $? "catch-up with several watches in progress (from revision $cu)"
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
wm=$(db_recorded "$db")
[ "$wm" -ge $((cu + 200)) ] && [ "$wm" -lt "$end" ]
ok $? "…killed after it wrote some and before its end (watermark $wm of $cu..$end)"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 2>"$TMP/cu4.log"
ok $? "resume after kill -9 during catch-up"
check "after kill -9"

# Live after a catch-up: the last segment is the live watch.
backlog 4
rec_start "$db" --catchup-min 100
rev=$($KV "$ETCD_URL" put cilium/live yes)
wait_until 30 db_reached "$db" "$rev"
ok $? "a live write after catch-up is recorded"
rec_stop
ok $? "SIGTERM: exit 0"
check "live after catch-up"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
