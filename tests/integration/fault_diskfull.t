#!/bin/sh
# A disk that is full for a moment, and stops at awkward moments: a commit
# that fails must stop the recorder (exit 2) with nothing written after it,
# even once space is back, so a restart records every revision exactly
# once; SIGTERM in the middle of the first snapshot or of a re-listing
# after compaction keeps nothing of the listing, and the next start lists
# again cleanly.  The full disk is tests/lib/powercut.c's POWERCUT_ENOSPC:
# while a flag file exists, writes to the db and its WAL fail with ENOSPC.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

powercut_preload

etcd_start full
$KV "$ETCD_URL" put cilium/seed 1 >/dev/null
db="$TMP/full.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/seed.log"
ok $? "first snapshot"
first=$(db_recorded "$db")

# --- a commit fails, then space comes back --------------------------------
# A backlog committed every 50 events (the commits a full batch makes); the
# disk is full from the start and frees up once a commit has failed.
$KV "$ETCD_URL" many 4000 cilium/a/ >/dev/null
flag="$TMP/full.flag"
: >"$flag"
LD_PRELOAD="$PRELOAD" POWERCUT_FILES="$db:$db-wal" POWERCUT_ENOSPC="$flag" \
	"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--catchup-streams 1 --batch-events 50 2>"$TMP/full.log" &
pid=$!
CLEANUP_PIDS="$CLEANUP_PIDS $pid"
wait_until 30 grep -q 'cannot write' "$TMP/full.log"
ok $? "a commit fails on the full disk ($(grep -c 'full' "$TMP/full.log") lines on it)"
rm -f "$flag"
wait_until 30 sh -c "! kill -0 $pid 2>/dev/null"
ok $? "the recorder stops"
wait "$pid"
is "$?" 2 "…with exit 2, even though space came back"
grep -q 'caught up' "$TMP/full.log"
is "$?" 1 "…and without going on to catch up"
is "$(db_integrity "$db")" ok "integrity_check ok"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/full2.log"
ok $? "the next start resumes"
hist_check "$db" "$ETCD_URL" $((first + 1)) "history equals etcd's: every revision once"

# --- SIGTERM in the middle of the first snapshot -------------------------
# 3000 keys listed 2 at a time: the listing is long, and -v logs each page.
$KV "$ETCD_URL" many 6000 cilium/k/ >/dev/null
snap="$TMP/snap.db"
rec_start "$snap" --page-limit 2 -v
pages() { [ "$(grep -c 'keys listed so far' "$TMP/rec.log")" -ge 3 ]; }
wait_until 30 pages
ok $? "the first snapshot is under way"
rec_stop
ok $? "SIGTERM during the first snapshot: exit 0"
is "$(q "$snap" "SELECT count(*) FROM events")" 0 "nothing of the half snapshot is kept"
"$BIN/hindsight-recorder" --db "$snap" --endpoints "$ETCD_URL" --once 2>"$TMP/snap2.log"
ok $? "the next start takes the snapshot"
is "$(db_state "$snap")" "$($KV "$ETCD_URL" state cilium/)" "…and its state equals etcd's"

# --- SIGTERM in the middle of a re-listing after compaction ---------------
rel="$TMP/rel.db"
"$BIN/hindsight-recorder" --db "$rel" --endpoints "$ETCD_URL" --once 2>"$TMP/rel0.log"
wm=$(db_recorded "$rel")
# New values for the keys listed first: the re-listing infers puts at once.
$KV "$ETCD_URL" many 4000 cilium/a/ 50 >/dev/null
$KV "$ETCD_URL" compact "$($KV "$ETCD_URL" rev)" >/dev/null
: >"$TMP/rec.log"
rec_start "$rel" --page-limit 2 -v
relist() { [ "$(grep -c 're-listing: .* keys listed so far' "$TMP/rec.log")" -ge 3 ]; }
wait_until 30 relist
ok $? "a re-listing after compaction is under way"
rec_stop
ok $? "SIGTERM during the re-listing: exit 0"
is "$(db_recorded "$rel"):$(q "$rel" "SELECT count(*) FROM events WHERE rev > $wm"):$(q "$rel" "SELECT count(*) FROM gaps")" \
	"$wm:0:0" "nothing of the half re-listing is kept: same watermark, no event above it, no gap"
"$BIN/hindsight-recorder" --db "$rel" --endpoints "$ETCD_URL" --once 2>"$TMP/rel2.log"
ok $? "the next start re-lists"
is "$(q "$rel" "SELECT count(*) FROM gaps")" 1 "…records one gap"
is "$(db_dups "$rel")" 0 "…and no key twice in a revision"
is "$(db_state "$rel")" "$($KV "$ETCD_URL" state cilium/)" "…and its state equals etcd's"
status_counts_check "$rel"
done_testing
