#!/bin/sh
# Crashes (issue 4, item 4).  kill -9 the recorder at seeded random moments,
# a dozen times, while two writers hammer etcd (single puts, and
# transactions of 32 ipcache puts and deletes: many events in one
# revision, typed rows opened and closed).
# After every kill the db passes integrity_check and its watermark never
# goes back; at the end every revision is recorded exactly once and the
# state equals etcd's.  FAULT_SEED=N repeats a run's kill moments.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

SEED=${FAULT_SEED:-$(($(date +%s) % 100000))}
KILLS=${FAULT_KILLS:-12}
diag "FAULT_SEED=$SEED, $KILLS kills"
etcd_start crash --quota-backend-bytes 4294967296
$FKV "$ETCD_URL" writer 50 cilium/seed/ >/dev/null
db="$TMP/crash.db"
log="$TMP/crash.log"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$log"
ok $? "first snapshot"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")

$FKV "$ETCD_URL" txn 1500 32 cilium/state/ip/v1/default/ 40 del >"$TMP/txn.out" 2>&1 &
w1=$!
$FKV "$ETCD_URL" writer 6000 cilium/put/ 0 100 >"$TMP/put.out" 2>&1 &
w2=$!
CLEANUP_PIDS="$CLEANUP_PIDS $w1 $w2"

# Kill moments: 0.05 to 2 s after each start, from the seed; some fall
# before the watch is even created.
awk -v s="$SEED" -v n="$KILLS" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.2f\n", 0.05 + rand() * 1.95 }' >"$TMP/moments"
prev=$(db_recorded "$db")
back=0
bad=0
busy=0
i=0
while read -r t; do
	i=$((i + 1))
	rec_run "$db" "$ETCD_URL" "$log"
	sleep "$t" # the random moment is the point of this test
	{ alive "$w1" || alive "$w2"; } && busy=$((busy + 1))
	kill -9 "$REC_PID"
	reap "$REC_PID" 2>/dev/null
	wm=$(db_recorded "$db")
	ic=$(db_integrity "$db")
	[ "$ic" = ok ] || { bad=$((bad + 1)) && diag "kill $i at ${t}s: integrity_check: $ic"; }
	[ "$wm" -ge "$prev" ] || { back=$((back + 1)) && diag "kill $i at ${t}s: watermark went back from $prev to $wm"; }
	diag "kill $i after ${t}s: watermark $wm"
	prev=$wm
done <"$TMP/moments"
is "$i" "$KILLS" "killed the recorder $KILLS times"
is "$bad" 0 "integrity_check ok after every kill -9"
is "$back" 0 "the watermark never went back"
[ "$prev" -gt "$first" ]
ok $? "recording made progress between the kills ($first to $prev)"
[ "$busy" -ge $((KILLS / 2)) ]
ok $? "$busy of the $KILLS kills hit while the writers ran"

reap "$w1"
ok $? "transaction writer finished ($(cat "$TMP/txn.out"))"
reap "$w2"
ok $? "put writer finished ($(cat "$TMP/put.out"))"
head=$($KV "$ETCD_URL" rev)
watching=$(grep -c ' watching ' "$log")
rec_run "$db" "$ETCD_URL" "$log"
wait_until 40 db_reached "$db" "$head"
ok $? "after the last kill, recording catches up to etcd ($head)"
# Stop a running recorder, not one still being loaded by the kernel (a
# signal that early cannot be handled by any program): the watermark may
# have been there already when it started.
started() { [ "$(grep -c ' watching ' "$log")" -gt "$watching" ]; }
wait_until 20 started
rec_term
ok $? "SIGTERM: exit 0"

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
grep -c 'resuming' "$log" | sed 's/^/# resumed /'
done_testing
