#!/bin/sh
# Power loss (issue 4, item 4).  kill -9 leaves every write in the page
# cache; a power cut loses what was not synced.  The recorder runs under
# tests/lib/powercut.c, an LD_PRELOAD shim that keeps its writes to the db
# and the -wal in memory until they are synced and, at a cut, lets a
# seeded random share of them reach the files (torn into 512-byte pieces,
# in any order) before the recorder dies.  SQLite in WAL mode with
# synchronous=NORMAL syncs only at checkpoints; the recorder syncs the WAL
# every --sync-every seconds (1) besides, so a cut loses the commits made
# since the last sync.  Cuts come at seeded moments (SIGUSR2) or in the
# middle of a sync (the Nth), while two writers hammer etcd.
# After each cut the -shm goes (a reboot loses it, and SQLite rebuilds it
# from the WAL); the db passes integrity_check; its watermark is never
# behind the previous cut's nor ahead of what the recorder had committed
# (the shim's copy of the files as the recorder saw them: what kill -9 would
# have left); some cuts really lose commits; the next start resumes from
# the watermark that survived.  At the end every revision is recorded
# exactly once and the state equals etcd's.  Last, a disk whose syncs fail
# with EIO: the recorder stops with exit 2.  FAULT_SEED=N repeats a run's
# cuts, FAULT_CUTS=N changes their number.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

powercut_preload

SEED=${FAULT_SEED:-$(($(date +%s) % 100000))}
CUTS=${FAULT_CUTS:-8}
diag "FAULT_SEED=$SEED, $CUTS power cuts under load and one while live"
etcd_start power --quota-backend-bytes 4294967296
$FKV "$ETCD_URL" writer 50 cilium/seed/ >/dev/null
db="$TMP/power.db"
log="$TMP/power.log"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$log"
ok $? "first snapshot"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")

# ro DB SQL: read without writing anything back (no checkpoint, the WAL
# stays), so the restarted recorder finds the files the cut left.
ro() { sqlite3 -batch -noheader "file:$1?mode=ro" "$2" 2>&1; }
WM_SQL="SELECT value FROM meta WHERE name = 'recorded_rev'"

# pc_run LOG SEED KEEP SYNCS [flags...]: the recorder under the shim;
# REC_PID.
mkdir "$TMP/seen"
pc_run() {
	_log=$1 _seed=$2 _keep=$3 _syncs=$4
	shift 4
	rm -f "$TMP/seen/"*
	env LD_PRELOAD="$PRELOAD" POWERCUT_FILES="$db:$db-wal" POWERCUT_SEED="$_seed" \
		POWERCUT_KEEP="$_keep" POWERCUT_SYNCS="$_syncs" \
		POWERCUT_SNAPSHOT="$TMP/seen" ${PC_EIO:+POWERCUT_EIO=$PC_EIO} \
		"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" "$@" \
		>"$_log" 2>&1 &
	REC_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $REC_PID"
}
resumed_at() { sed -n 's/.* info: resuming .* after revision \([0-9]*\)$/\1/p' "$1"; }
# lost_bytes LOG FILE: unsynced bytes of FILE the cut logged as lost.
lost_bytes() {
	sed -n "s|^powercut: $2: .* reached the disk, \\([0-9]*\\) lost\$|\\1|p" "$1" |
		awk '{ s += $1 } END { print s + 0 }'
}

# after_cut LOG WHAT: reap the recorder, then look at what the cut left.
# Sets WM (the watermark that survived) and SEEN (the one committed);
# counts what is wrong.  PREV is the watermark the run resumed from.
cuts=0 bad=0 badseen=0 back=0 ahead=0 lossy=0 lostrevs=0 lostbytes=0
resume_bad=0 atsync=0
after_cut() {
	reap "$REC_PID" 2>/dev/null # no "Killed" from the shell
	_rc=$?
	cat "$1" >>"$log"
	_how=$(sed -n 's/^powercut: power cut (\(.*\))$/\1/p' "$1")
	[ "$_rc" -eq 137 ] && [ -n "$_how" ] && cuts=$((cuts + 1))
	[ "$_how" = POWERCUT_SYNCS ] && atsync=$((atsync + 1))
	_ldb=$(lost_bytes "$1" "$db")
	_lwal=$(lost_bytes "$1" "$db-wal")
	lostbytes=$((lostbytes + _ldb + _lwal))
	_r=$(resumed_at "$1")
	[ "$_r" = "$PREV" ] || { resume_bad=$((resume_bad + 1)) && diag "$2: resumed at '$_r', not at $PREV"; }

	# The reboot: the -shm is gone.  Then the disk as the cut left it,
	# and the files as the recorder saw them (what kill -9 would leave).
	rm -f "$db-shm"
	_ic=$(db_integrity "$db")
	[ "$_ic" = ok ] || { bad=$((bad + 1)) && diag "$2: integrity_check: $_ic"; }
	WM=$(ro "$db" "$WM_SQL")
	[ "$(db_integrity "$TMP/seen/power.db")" = ok ] || badseen=$((badseen + 1))
	SEEN=$(ro "$TMP/seen/power.db" "$WM_SQL")
	rm -f "$db-shm"
	[ "$WM" -ge "$PREV" ] || { back=$((back + 1)) && diag "$2: watermark went back from $PREV to $WM"; }
	[ "$WM" -le "$SEEN" ] || { ahead=$((ahead + 1)) && diag "$2: watermark $WM beyond the committed $SEEN"; }
	if [ "$WM" -lt "$SEEN" ]; then
		lossy=$((lossy + 1))
		lostrevs=$((lostrevs + SEEN - WM))
	fi
	diag "$2: $_how, exit $_rc; committed $SEEN, survived $WM; unsynced bytes lost: $_ldb of the db, $_lwal of the -wal"
	PREV=$WM
}

# Transactions of 16 operations, not fault_crash.t's 32: etcd sends a
# lagging watch up to 1000 revisions per message, and its JSON gateway
# (3.4) took seconds to encode one of 32-operation transactions with
# prev_kv (about 10 MB; the recorder no longer asks for it); after a cut
# that lost many revisions, most cuts
# would find the recorder waiting for that message instead of committing.
# Both writers run until the cuts under load are done (however fast this
# machine writes), then are stopped.
$FKV "$ETCD_URL" txn 1000000 16 cilium/txn/ 40 del >"$TMP/txn.out" 2>&1 &
w1=$!
$FKV "$ETCD_URL" writer 10000000 cilium/state/ip/v1/default/ 0 100 >"$TMP/put.out" 2>&1 &
w2=$!
CLEANUP_PIDS="$CLEANUP_PIDS $w1 $w2"

# Per cut: the moment (0.3 to 3 s after the recorder resumed: earlier, it
# has written nothing yet), the share of pending pieces that reach the disk
# (0, 10, 50 or 90 %), and, for every third cut, a sync to cut at instead,
# SIGUSR2 at the moment being the fallback.  The 2nd to 7th: inside the
# first checkpoints (the 1st only syncs the header of a restarted WAL).
awk -v s="$SEED" -v n="$CUTS" 'BEGIN { srand(s); split("0 10 50 90", k, " ")
	for (i = 1; i <= n; i++)
		printf "%.2f %d %d\n", 0.3 + rand() * 2.7, k[1 + int(rand() * 4)],
			i % 3 == 2 ? 2 + int(rand() * 6) : 0 }' >"$TMP/cuts"
PREV=$(ro "$db" "$WM_SQL")
i=0 busy=0
while read -r t keep syncs; do
	i=$((i + 1))
	pc_run "$TMP/run$i.log" $((SEED * 100 + i)) "$keep" "$syncs"
	wait_until 20 grep -q ' info: resuming ' "$TMP/run$i.log"
	sleep "$t" # the random moment is the point of this test
	alive "$w1" && alive "$w2" && busy=$((busy + 1))
	kill -USR2 "$REC_PID" 2>/dev/null # gone already after a cut at a sync
	after_cut "$TMP/run$i.log" "cut $i (${t}s, $keep% kept)"
done <"$TMP/cuts"
is "$busy" "$CUTS" "both writers ran during every cut"
[ "$WM" -gt "$first" ]
ok $? "recording made progress across the cuts under load ($first to $WM): each keeps the last sync"
kill "$w1" "$w2"
reap "$w1" 2>/dev/null # no "Terminated" from the shell
reap "$w2" 2>/dev/null

# One more cut, while live: caught up, then a burst of puts that the
# recorder reports recorded and has committed since (its /metrics), then
# the power goes and none of the pending pieces reach the disk.  With
# --sync-every long enough that no sync comes in between, the burst is lost.
mport=$(free_port)
metric() { curl -sf -m 2 "http://127.0.0.1:$mport/metrics" | sed -n "s/^$1 //p"; }
at_least() {
	_v=$(metric "$1")
	[ -n "$_v" ] && [ "${_v%.*}" -ge "$2" ]
}
# The backlog the last cut left is recorded first, without the shim and
# to the end (closing checkpoints the WAL away): a checkpoint, which
# syncs, would otherwise come whenever the WAL reaches 16 MiB, maybe
# right after the burst.  The run under the shim then starts on an empty
# WAL that the burst cannot fill.
head=$($KV "$ETCD_URL" rev)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$log"
ok $? "without the shim, --once records the backlog the cuts left"
PREV=$(ro "$db" "$WM_SQL")
[ ! -s "$db-wal" ]
ok $? "and leaves no WAL behind"
pc_run "$TMP/live.log" $((SEED * 100 + 99)) 0 0 --metrics-addr "127.0.0.1:$mport" \
	--sync-every 3600
wait_until 40 at_least hindsight_watermark_revision "$head"
ok $? "under the shim, the recorder catches up to etcd ($head)"
$KV "$ETCD_URL" many 40 cilium/live/ >/dev/null
live=$($KV "$ETCD_URL" rev)
wait_until 10 at_least hindsight_watermark_revision "$live"
n=$(metric hindsight_commit_seconds_count)
wait_until 10 at_least hindsight_commit_seconds_count $((${n:-0} + 1))
ok $? "it reports revision $live recorded, and a commit since"
kill -USR2 "$REC_PID"
after_cut "$TMP/live.log" "live cut (0% kept)"
[ "$SEEN" -ge "$live" ]
ok $? "it had committed through $live: kill -9 would have kept it ($SEEN)"
[ "$WM" -lt "$live" ]
ok $? "the power cut lost those commits: the watermark survived at $WM"

# And with the default --sync-every: once /metrics reports a burst synced,
# a cut that drops every pending piece keeps it.
pc_run "$TMP/synced.log" $((SEED * 100 + 98)) 0 0 --metrics-addr "127.0.0.1:$mport"
$KV "$ETCD_URL" many 40 cilium/synced/ >/dev/null
live=$($KV "$ETCD_URL" rev)
wait_until 20 at_least hindsight_synced_revision "$live"
ok $? "within --sync-every (1 s), /metrics reports revision $live synced"
kill -USR2 "$REC_PID"
after_cut "$TMP/synced.log" "cut after a sync (0% kept)"
[ "$WM" -ge "$live" ]
ok $? "a power cut after the sync kept revision $live (the watermark survived at $WM)"

# --sync-every 0 syncs every commit: the live cut again, and this time
# what was reported recorded and committed is kept.
pc_run "$TMP/sync0.log" $((SEED * 100 + 97)) 0 0 --metrics-addr "127.0.0.1:$mport" \
	--sync-every 0
$KV "$ETCD_URL" many 40 cilium/sync0/ >/dev/null
live=$($KV "$ETCD_URL" rev)
wait_until 20 at_least hindsight_watermark_revision "$live"
n=$(metric hindsight_commit_seconds_count)
wait_until 10 at_least hindsight_commit_seconds_count $((${n:-0} + 1))
kill -USR2 "$REC_PID"
after_cut "$TMP/sync0.log" "cut with --sync-every 0 (0% kept)"
[ "$WM" -ge "$live" ]
ok $? "--sync-every 0: a cut right after revision $live was reported recorded kept it ($WM)"

is "$cuts" $((CUTS + 3)) "the shim cut the power $((CUTS + 3)) times ($atsync of them at a sync)"
is "$bad" 0 "integrity_check ok after every power cut"
is "$badseen" 0 "the files as the recorder saw them pass integrity_check too"
is "$back" 0 "the watermark never went back behind the previous cut's"
is "$ahead" 0 "the watermark never got ahead of what was committed"
[ "$lostbytes" -gt 0 ]
ok $? "unsynced writes were dropped ($lostbytes bytes in all)"
[ "$lossy" -ge 2 ]
ok $? "$lossy of the $((CUTS + 3)) cuts lost commits, not only the live one ($lostrevs revisions in all)"
is "$resume_bad" 0 "every start resumed from the watermark that survived"

# A disk whose syncs fail (EIO from the first on): the recorder stops
# with exit status 2 and says why, instead of going on with commits that
# may never reach the disk; what it had synced is intact.
PC_EIO=1
pc_run "$TMP/eio.log" $((SEED * 100 + 96)) 0 0
PC_EIO=
$KV "$ETCD_URL" many 40 cilium/eio/ >/dev/null
gone() { ! kill -0 "$REC_PID" 2>/dev/null; }
wait_until 20 gone
reap "$REC_PID" 2>/dev/null
is "$?" 2 "syncs failing with EIO: the recorder exits 2"
cat "$TMP/eio.log" >>"$log"
grep -Eq 'error: (cannot sync the WAL|cannot write)' "$TMP/eio.log"
ok $? "and logs why ($(grep -E -m1 'error:' "$TMP/eio.log" | sed 's/.*error: //'))"
rm -f "$db-shm"
is "$(db_integrity "$db")" ok "integrity_check ok after the failed syncs"
WM=$(ro "$db" "$WM_SQL")
rm -f "$db-shm"
[ "$WM" -ge "$PREV" ]
ok $? "the watermark is still at least the one it resumed from ($PREV: $WM)"

# Without the shim, the resume fills in everything the cuts lost.
head=$($KV "$ETCD_URL" rev)
watching=$(grep -c ' watching ' "$log")
rec_run "$db" "$ETCD_URL" "$log"
wait_until 40 db_reached "$db" "$head"
ok $? "after the last cut, without the shim, recording catches up to etcd ($head)"
started() { [ "$(grep -c ' watching ' "$log")" -gt "$watching" ]; }
wait_until 20 started
rec_term
ok $? "SIGTERM: exit 0"
is "$(resumed_at "$log" | tail -n 1)" "$WM" "it resumed from the watermark the last cut left"

hist_check "$db" "$ETCD_URL" $((first + 1)) "history equals etcd's: every revision once, in order"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals etcd's"
is "$(db_dups "$db")" 0 "no (revision, key) recorded twice"
is "$(db_typed_open_dups "$db")" 0 "every key has at most one open typed row"
is "$(db_typed_bad "$db")" 0 "every event points at its key's typed row valid at its revision"
ipcache_check "$db" "$ETCD_URL"
is "$(q "$db" "SELECT count(*) FROM revisions r WHERE NOT EXISTS
	(SELECT 1 FROM events e WHERE e.rev = r.rev) AND r.how <> 'snapshot'")" 0 \
	"no revision row without its events"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap"
is "$(db_integrity "$db")" ok "integrity_check ok"
done_testing
