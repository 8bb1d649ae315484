#!/bin/sh
# Catch-up with several watches when things go wrong, against a real etcd:
# segments completed by progress notifications instead of events, no
# usable $TMPDIR, etcd killed in the middle of a catch-up, and etcd
# compacting the history while the segments are still replaying it.  In
# every case the db holds etcd's history exactly once up to the
# watermark, and anything compaction took away is a recorded gap.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# Progress notifications every 100 ms (etcd's default is 10 minutes).
etcd_start cu2 --experimental-watch-progress-notify-interval=100ms
$KV "$ETCD_URL" put cilium/x 1 >/dev/null
db="$TMP/cu.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
first=$(db_recorded "$db")

# backlog TAG N [SIZE]: N puts under each of cilium/TAG1/..cilium/TAG4/, by
# 4 writers at once (waited for by PID: etcd is a child too).
backlog() {
	_p=""
	for _i in 1 2 3 4; do
		$KV "$ETCD_URL" many "$2" "cilium/$1$_i/" "${3:-40}" >/dev/null &
		_p="$_p $!"
	done
	# shellcheck disable=SC2086 # a list of PIDs
	wait $_p
}

# The number of spill files the recorder holds open.
spills() {
	_n=0
	for _f in /proc/"$1"/fd/*; do
		case $(readlink "$_f") in *hindsight-spill*) _n=$((_n + 1)) ;; esac
	done
	echo "$_n"
}

# Watched events (not inferred ones) at revisions FROM..TO of a history.
upto() { awk -F'|' -v from="$2" -v to="$3" '$1 >= from && $1 <= to' "$1"; }

# --- segments completed by progress notifications ----------------------
# The newest revisions are outside the prefix: no event comes past the
# ends of the segments before them, but their watches, synced, get etcd's
# progress notifications, which show them complete.  (Without those the
# recorder waits 2 s of silence, finds nothing put after its watermark
# and goes on with one watch: recorder_catchup.t.)
$KV "$ETCD_URL" many 600 cilium/p/ >/dev/null
last=$($KV "$ETCD_URL" put cilium/p/last 1)
$KV "$ETCD_URL" many 1200 other/ >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-min 100 --catchup-streams 4 --catchup-dense 0 -v 2>"$TMP/p.log"
ok $? "progress notifications: --once with 4 catch-up watches exits 0"
grep -q 'catching up on revisions .* with 4 watches' "$TMP/p.log"
ok $? "…the backlog was split over 4 watches"
grep -q 'debug: catch-up: segment 4 of 4' "$TMP/p.log" &&
	! grep -q 'nothing was put under' "$TMP/p.log"
ok $? "…each segment's turn came by a progress notification, not the silence fallback"
is "$(db_recorded "$db")" "$($KV "$ETCD_URL" rev)" \
	"…the watermark is at etcd's revision, past the last event ($last)"
is "$(grep -c ' warn: ' "$TMP/p.log")" 0 "…and no warning"

# Live after such a catch-up: the last segment is the live watch, and its
# progress notifications move the watermark past revisions of other keys.
$KV "$ETCD_URL" many 600 cilium/p/ >/dev/null
$KV "$ETCD_URL" many 1200 other/ >/dev/null
: >"$TMP/rec.log"
rec_start "$db" --catchup-min 100 --catchup-streams 4 --catchup-dense 0
wait_until 30 grep -q 'caught up with several watches' "$TMP/rec.log"
ok $? "progress notifications: a daemon's catch-up goes live"
rev=$($KV "$ETCD_URL" put cilium/p/live 1)
other=$($KV "$ETCD_URL" put other/live 1)
wait_until 30 db_reached "$db" "$other"
ok $? "…records what comes next, and its watermark follows etcd past other keys"
# (kv.py history reads a watch until an event at etcd's revision.)
end=$($KV "$ETCD_URL" put cilium/p/end 1)
wait_until 30 db_reached "$db" "$end"
is "$(spills "$REC_PID")" 0 "…with no spill file left open"
rec_stop
ok $? "…SIGTERM: exit 0"
is "$(q "$db" "SELECT how FROM revisions WHERE etcd_rev = $rev")" watch "…the live put is a revision seen live"

$KV "$ETCD_URL" history cilium/ $((first + 1)) >"$TMP/h.etcd"
db_history "$db" $((first + 1)) >"$TMP/h.db"
cmp -s "$TMP/h.etcd" "$TMP/h.db"
ok $? "progress notifications: history equals etcd's, each event once ($(wc -l <"$TMP/h.etcd") events)"

# --- no usable $TMPDIR ---------------------------------------------------
# Segments after the first cannot spill: the catch-up goes on with one
# watch from the watermark.
backlog n 150
TMPDIR="$TMP/missing" "$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" \
	--once --catchup-min 100 --catchup-streams 4 --catchup-dense 0 2>"$TMP/n.log"
ok $? "no \$TMPDIR: --once exits 0"
grep -q 'catch-up: no temporary file' "$TMP/n.log" &&
	! grep -q 'catching up on revisions' "$TMP/n.log"
ok $? "…says it has no temporary file, and starts no catch-up watches"
is "$(db_recorded "$db")" "$($KV "$ETCD_URL" rev)" "…the watermark is at etcd's revision"
$KV "$ETCD_URL" history cilium/ $((first + 1)) >"$TMP/h.etcd"
db_history "$db" $((first + 1)) >"$TMP/h.db"
cmp -s "$TMP/h.etcd" "$TMP/h.db"
ok $? "…history equals etcd's, each event once"

# --- etcd killed in the middle of a catch-up -----------------------------
# The recorder is stopped (SIGSTOP) once the first segment is being
# written, so the kill certainly falls inside the catch-up; what it had
# received before stays good, the rest comes again from the watermark.
# Values of 1000 bytes: etcd cannot push the whole backlog into socket
# buffers ahead of the recorder.
backlog k 3000 1000
end=$($KV "$ETCD_URL" rev)
: >"$TMP/rec.log"
t_start=$(($(date +%s%N) / 1000))
rec_start "$db" --catchup-min 100 --catchup-streams 4 --catchup-dense 0 --batch-events 50
wait_until 30 grep -q 'catching up on revisions' "$TMP/rec.log"
cu=$(sed -n 's/.*catching up on revisions \([0-9]*\)\.\..*/\1/p' "$TMP/rec.log")
wait_until 30 db_reached "$db" $((cu + 50))
kill -STOP "$REC_PID"
wm=$(db_recorded "$db")
[ "$wm" -lt "$end" ]
ok $? "etcd killed: the catch-up from $cu was under way (watermark $wm of $end)"
n=$(spills "$REC_PID")
[ "$n" -ge 1 ]
ok $? "…later segments spilling to unlinked files ($n open)"
# The watermark's time: nothing after the last stop is known covered
# before the catch-up reaches etcd's revision; the replayed revisions lie
# between that stop and their arrival.
is "$(q "$db" "SELECT value <= $t_start FROM meta WHERE name = 'recorded_us'")" 1 \
	"…its watermark's time has not moved past the recorder's start"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE etcd_rev >= $cu AND
	(how <> 'replay' OR t_lo_us > $t_start OR t_hi_us < $t_start)")" 0 \
	"…and the revisions it wrote are replays dated between the last stop and their arrival"
kill -9 "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null
n0=$(wc -l <"$TMP/rec.log")
kill -CONT "$REC_PID"
# Its streams fail; or the liveness read on the same member fails first
# and ends the catch-up ("watching elsewhere").  Either way, from what the
# recorder logged after the kill.  (A CI run once found the first message
# missing; what the recorder logged instead was not kept, so a failure
# here prints it.)
cu_over() {
	tail -n +"$((n0 + 1))" "$TMP/rec.log" |
		grep -qE 'catch-up with several watches failed|; watching elsewhere'
}
wait_until 30 cu_over
ok $? "…the catch-up fails" ||
	tail -n +"$((n0 + 1))" "$TMP/rec.log" | tail -40 | sed 's/^/# /'
etcd_restart 2>/dev/null # (its PID is gone: kill -9)
live=$($KV "$ETCD_URL" put cilium/k/live 1)
wait_until 60 db_reached "$db" "$live"
ok $? "…the recorder goes on with one watch once etcd is back"
is "$(spills "$REC_PID")" 0 "…with no spill file left open"
rec_stop
ok $? "…SIGTERM: exit 0"
$KV "$ETCD_URL" history cilium/ $((first + 1)) >"$TMP/h.etcd"
db_history "$db" $((first + 1)) >"$TMP/h.db"
cmp -s "$TMP/h.etcd" "$TMP/h.db"
ok $? "…history equals etcd's, each event once ($(wc -l <"$TMP/h.etcd") events)"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "…and no gap"

# --- compaction while the segments are still replaying -------------------
# etcd cancels the watches still behind the compaction (a later segment's
# or the head's first, in no set order).  What was written stays, equal to
# etcd's history before the compaction; the rest is a gap from the
# watermark to the re-listing, whose inferred changes bring the state to
# etcd's.  A long backlog in 3 segments (the last one half of it) and a
# compaction by curl (no Python start-up): etcd, replaying 1000 revisions
# a watch per 100 ms round, is still replaying the last segment.
compact_now() { # compact at etcd's revision; print it
	_r=$(curl -s "$ETCD_URL/v3/kv/range" -d '{"key":"AA==","count_only":true}' |
		sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
	curl -s "$ETCD_URL/v3/kv/compaction" -d "{\"revision\":\"$_r\"}" >/dev/null
	echo "$_r"
}
backlog c 5000
$KV "$ETCD_URL" history cilium/ $((first + 1)) >"$TMP/before"
: >"$TMP/rec.log"
rec_start "$db" --catchup-min 100 --catchup-streams 3 --catchup-dense 0 --batch-events 50
wait_until 30 grep -q 'catching up on revisions' "$TMP/rec.log"
cu=$(sed -n 's/.*catching up on revisions \([0-9]*\)\.\..*/\1/p' "$TMP/rec.log")
wait_until 30 db_reached "$db" $((cu + 50))
kill -STOP "$REC_PID"
compacted=$(compact_now)
wm=$(db_recorded "$db")
kill -CONT "$REC_PID"
[ "$wm" -lt "$compacted" ]
ok $? "compaction: the catch-up from $cu was under way (watermark $wm of $compacted)"
wait_until 30 grep -q 'gap recorded after revision' "$TMP/rec.log"
ok $? "…a gap is recorded"
live=$($KV "$ETCD_URL" put cilium/c/live 1)
wait_until 30 db_reached "$db" "$live"
ok $? "…and the recorder watches again"
is "$(spills "$REC_PID")" 0 "…with no spill file left open"
rec_stop
ok $? "…SIGTERM: exit 0"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "…one gap"
from=$(q "$db" "SELECT from_rev FROM gaps")
is "$(q "$db" "SELECT to_rev >= $compacted AND reason LIKE '%compacted%' FROM gaps")" 1 \
	"…from revision $from to the re-listing at or after the compaction ($compacted), saying why"
[ "$from" -ge "$wm" ] && [ "$from" -lt "$compacted" ]
ok $? "…beginning at the watermark the catch-up had reached"
db_history "$db" $((first + 1)) >"$TMP/h.db"
upto "$TMP/before" $((first + 1)) "$from" >"$TMP/h.want"
upto "$TMP/h.db" $((first + 1)) "$from" >"$TMP/h.got"
[ -s "$TMP/h.want" ] && cmp -s "$TMP/h.want" "$TMP/h.got"
ok $? "…up to it, the history equals etcd's before the compaction ($(wc -l <"$TMP/h.want") events)"
is "$(upto "$TMP/h.db" $((from + 1)) "$compacted" | wc -l)" 0 \
	"…and nothing inside the gap is claimed as watched"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "…the state equals etcd's"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
