#!/bin/sh
# What the recorder does with things it cannot use: an etcd that is not
# there yet (retry, one log line per attempt, then record), files that
# are not hindsight dbs, unwritable places, bad flags.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

rec=$BIN/hindsight-recorder

# Unreachable etcd: retries, logged, no crash; records once etcd is up.
port=$(free_port)
db="$TMP/late.db"
"$rec" --db "$db" --endpoints "http://127.0.0.1:$port" >"$TMP/late.log" 2>&1 &
pid=$!
CLEANUP_PIDS="$CLEANUP_PIDS $pid"
retries() { [ "$(grep -c 'retrying in' "$TMP/late.log")" -ge "$1" ]; }
wait_until 15 retries 3
ok $? "unreachable etcd: a log line per retry (3 seen)"
kill -0 "$pid" 2>/dev/null
ok $? "…and the recorder is still running"
grep -q 'Connection refused\|Couldn.t connect\|Failed to connect' "$TMP/late.log"
ok $? "…saying why (connection refused)"
# Now etcd appears on that port.
_pport=$(free_port)
etcd --name late --data-dir "$TMP/late-etcd" \
	--listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
	--listen-peer-urls "http://127.0.0.1:$_pport" --initial-advertise-peer-urls "http://127.0.0.1:$_pport" \
	--initial-cluster "late=http://127.0.0.1:$_pport" --log-level error --logger zap \
	>"$TMP/late-etcd.log" 2>&1 &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
ETCD_URL="http://127.0.0.1:$port"
wait_until 20 curl -sf "$ETCD_URL/health" || bail "late etcd did not start"
rev=$($KV "$ETCD_URL" put cilium/late yes)
wait_until 20 db_reached "$db" "$rev"
ok $? "once etcd is up, the recorder snapshots and records"
kill -TERM "$pid"
wait "$pid"
ok $? "…and stops cleanly on SIGTERM"

# A log line naming an etcd key stays one line, whatever bytes the key
# holds: a newline or a terminal escape in it is shown as \xHH.
$KV "$ETCD_URL" put "$(printf 'cilium/state/nodes/v1/default/n7\n\033[2Jx')" 'not json' >/dev/null
"$rec" --db "$TMP/esc.db" --endpoints "$ETCD_URL" --once 2>"$TMP/esc.log"
is "$?" 0 "a key with control bytes and a value that does not decode: recorded"
is "$(grep -c 'does not decode' "$TMP/esc.log")" 1 "…and logged"
grep 'does not decode' "$TMP/esc.log" | grep -qF 'n7\x0a\x1b[2Jx'
ok $? "…in one line, the newline and ESC as \\xHH"
is "$(tr -d '\n -~' <"$TMP/esc.log" | wc -c)" 0 "no control byte reaches the log"

# Files that are not hindsight dbs: one line, exit 2, file untouched.
echo "hello" >"$TMP/text.db"
"$rec" --db "$TMP/text.db" --endpoints "$ETCD_URL" --once 2>"$TMP/err"
is $? 2 "a text file as --db: exit 2"
grep -q 'not a SQLite database' "$TMP/err"
ok $? "…saying it is not a SQLite database"
is "$(cat "$TMP/text.db")" hello "…and the file is untouched"
sqlite3 "$TMP/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1)"
"$rec" --db "$TMP/other.db" --endpoints "$ETCD_URL" --once 2>"$TMP/err"
is $? 2 "another application's SQLite db: exit 2"
grep -q 'not a hindsight db' "$TMP/err"
ok $? "…saying it is not a hindsight db"
cp "$db" "$TMP/newer.db"
sqlite3 "$TMP/newer.db" "PRAGMA user_version = 999"
"$rec" --db "$TMP/newer.db" --endpoints "$ETCD_URL" --once 2>"$TMP/err"
is $? 2 "a db from a newer version: exit 2"
grep -q 'newer than this build' "$TMP/err"
ok $? "…saying so"
"$rec" --db "$TMP/no/such/dir/x.db" --endpoints "$ETCD_URL" --once 2>"$TMP/err"
is $? 2 "a db in a missing directory: exit 2"
is "$(wc -l <"$TMP/err")" 1 "…with a one-line error"
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
	"$rec" --db "$TMP/ro/x.db" --endpoints "$ETCD_URL" --once 2>"$TMP/err"
	is $? 2 "an unwritable directory: exit 2"
else
	# root ignores permissions; a read-only mount is issue #4's test.
	ok 0 "# SKIP unwritable directory: running as root"
fi

# Usage errors: exit 1 with a one-line reason.
"$rec" --endpoints "$ETCD_URL" 2>"$TMP/err"
is $? 1 "no --db: exit 1"
"$rec" --db "$TMP/u.db" --endpoints "ftp://x" 2>"$TMP/err"
is $? 1 "a non-HTTP endpoint: exit 1"
"$rec" --db "$TMP/u.db" --batch-ms abc 2>"$TMP/err"
is $? 1 "a malformed number: exit 1"
"$rec" --db "$TMP/u.db" --cacert "$TMP/missing.pem" 2>"$TMP/err"
is $? 1 "an unreadable --cacert: exit 1"
# --print-config needs no --db, --upgrade does: together without one,
# a usage error (this crashed with SIGSEGV).
"$rec" --print-config --upgrade >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" "1:hindsight-recorder: --db FILE is required
Try 'hindsight-recorder --help'." "--upgrade --print-config without --db: exit 1, saying so"
# Every long option the recorder takes (its getopt table) is in --help,
# the man page and the README.
"$rec" --help >"$TMP/help"
sed -n '/^static const struct option long_opts/,/^};/s/^ *{"\([a-z-]*\)".*/\1/p' \
	"$TOP/recorder/main.c" >"$TMP/opts"
[ "$(wc -l <"$TMP/opts")" -gt 20 ]
ok $? "the recorder's options read from its getopt table ($(wc -l <"$TMP/opts"))"
tr -d '\134' <"$TOP/recorder/hindsight-recorder.8" >"$TMP/man"
missing=""
while read -r o; do
	grep -q -- "--$o\b" "$TMP/help" || missing="$missing help:--$o"
	grep -q -- "--$o\b" "$TMP/man" || missing="$missing man:--$o"
	grep -q -- "--$o\b" "$TOP/README.md" || missing="$missing README:--$o"
done <"$TMP/opts"
is "$missing" "" "--help, the man page and the README list every option"
# The README names the format this build writes, as --version does.
fmt=$("$rec" --version | sed -n 's/.*(db format \([0-9]*\))$/\1/p')
said=$(sed -n 's/.*The current format is \([0-9][0-9]*\)\..*/\1/p; s/.*.FILE: db format \([0-9][0-9]*\).*/\1/p' "$TOP/README.md" | sort -u | tr '\n' ' ')
is "$said" "$fmt " "README.md gives the current db format, $fmt"
# The README's reference of the file names every column of every table
# and view this build creates, in that table's or view's own row.
missing=""
tables=$(sqlite3 "$TMP/esc.db" "SELECT name FROM sqlite_schema
	WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
for t in $tables; do
	rows=$(grep "^| [^|]*\`$t\`" "$TOP/README.md")
	[ -n "$rows" ] || { missing="$missing $t"; continue; }
	for c in $(sqlite3 "$TMP/esc.db" "SELECT name FROM pragma_table_info('$t')"); do
		echo "$rows" | grep -q "\`$c\`" || missing="$missing $t.$c"
	done
done
[ "$(echo "$tables" | wc -w)" -gt 20 ]
ok $? "the tables and views of a db this build wrote ($(echo "$tables" | wc -w))"
is "$missing" "" "README.md documents each of their columns"
done_testing
