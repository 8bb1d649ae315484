#!/bin/sh
# One recorder per db.  Two recorders on one file (a backfill with --once
# beside the daemon, a rolling update whose new pod starts before the old
# one stops) would each write every event: SQLite serializes their
# transactions, nothing more.  A second recorder, or --upgrade, is refused
# at start while one records (exit 2, one line, the db untouched); readers
# are not; once the first is gone, kill -9 included, the next one starts.
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

# Killed, its lock goes with it.
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
rev=$($KV "$ETCD_URL" put cilium/state/one/after x)
rec_start "$db"
wait_until 20 db_reached "$db" "$rev"
ok $? "after kill -9 of the first, a new recorder records (revision $rev)"
is "$(q "$db" "SELECT count(*) FROM events WHERE rev > 1")" 31 "…each event once"
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
