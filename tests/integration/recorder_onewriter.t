#!/bin/sh
# One recorder per db.  Two recorders on one file (a backfill with --once
# beside the daemon, a rolling update whose new pod starts before the old
# one stops) would each write every event: SQLite serializes their
# transactions, nothing more.  A second recorder, or --upgrade, is refused
# at start while one records (exit 2, one line, the db untouched); readers
# are not; another writer (a sqlite3 shell) holding the db is waited for;
# once the first is gone, kill -9 included, the next one starts.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start onewriter
db="$TMP/one.db"
rec_start "$db"
wait_until 20 db_reached "$db" 1 || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"
sum0=$(cksum <"$db")

for how in "" --once --upgrade; do
	# shellcheck disable=SC2086 # $how: one flag or none
	"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" $how \
		>"$TMP/second.log" 2>&1 &
	second=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $second"
	wait_until 20 sh -c "! kill -0 $second"
	stopped=$?
	ok "$stopped" "a second recorder${how:+ with $how} stops at once"
	[ "$stopped" -eq 0 ] || kill -9 "$second"
	wait "$second"
	is "$?" 2 "…exit 2"
	is "$(grep -c . "$TMP/second.log"):$(grep -c 'another hindsight-recorder is recording into this db' "$TMP/second.log")" \
		"1:1" "…saying so in one line ($(cat "$TMP/second.log"))"
done

for i in $(seq 30); do rev=$($KV "$ETCD_URL" put "cilium/state/one/$i" "v$i"); done
wait_until 20 db_reached "$db" "$rev"
ok $? "the first recorder goes on recording (revision $rev)"
is "$(q "$db" "SELECT count(*) || ' ' || count(DISTINCT rev) FROM events WHERE rev > 1")" \
	"30 30" "…each event once"
"$BIN/hindsight" --db "$db" status >/dev/null
is "$?" 0 "readers are not refused: hindsight status answers"
[ "$sum0" != "$(cksum <"$db")" ] || [ -s "$db-wal" ]
ok $? "…and the recording changed the db (the refused ones did not stop it)"

# A writer that is not a recorder (a sqlite3 shell in BEGIN IMMEDIATE)
# holding the db for seconds: the recorder waits for it, then records
# what came meanwhile, each event once.
mkfifo "$TMP/hold"
sqlite3 "$db" <"$TMP/hold" >/dev/null 2>&1 &
shell=$!
CLEANUP_PIDS="$CLEANUP_PIDS $shell"
exec 3>"$TMP/hold"
echo "BEGIN IMMEDIATE; INSERT INTO meta(name, value) VALUES ('held', 1);" >&3
wait_until 10 sh -c "! sqlite3 '$db' 'BEGIN IMMEDIATE' 2>/dev/null"
ok $? "another writer holds the db"
n0=$(wc -l <"$TMP/rec.log")
for i in $(seq 5); do rev=$($KV "$ETCD_URL" put "cilium/state/held/$i" "v$i"); done
wait_until 20 sh -c "tail -n +$((n0 + 1)) '$TMP/rec.log' | grep -q 'another writer holds the db'"
ok $? "the recorder waits for it, saying so"
sleep 1 # the writer holds on a moment longer than the recorder's 200 ms
echo "ROLLBACK;" >&3
exec 3>&-
wait "$shell"
wait_until 20 db_reached "$db" "$rev"
ok $? "…and records once it lets go (revision $rev)"
kill -0 "$REC_PID"
ok $? "…still running"
grep -q 'the other writer let go after' "$TMP/rec.log"
ok $? "…saying so"
is "$(q "$db" "SELECT count(*) || ' ' || count(DISTINCT rev) FROM events WHERE rev > 1")" \
	"35 35" "…each event once"

# Killed, its lock goes with it.
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
rev=$($KV "$ETCD_URL" put cilium/state/one/after x)
rec_start "$db"
wait_until 20 db_reached "$db" "$rev"
ok $? "after kill -9 of the first, a new recorder records (revision $rev)"
is "$(q "$db" "SELECT count(*) FROM events WHERE rev > 1")" 36 "…each event once"
rec_stop
is "$?" 0 "…SIGTERM: exit 0"

# Taking the lock opens the db's file: one that is a FIFO must not block
# the start there, where not even SIGTERM ends it (SQLite refuses it).
mkfifo "$TMP/fifo"
timeout -s KILL 20 "$BIN/hindsight-recorder" --db "$TMP/fifo" --upgrade \
	2>"$TMP/err"
is "$?" 2 "--db naming a FIFO: exit 2 at start, not stuck opening it"
grep -q "$TMP/fifo: cannot open" "$TMP/err"
ok $? "…saying which file it cannot open"
done_testing
