#!/bin/sh
# The CLI when SQLite fails under it: every command of the golden tests
# (tests/query/golden/*.test, on the fixture db), run again with each of
# its statements failing in turn (SQLITE_INTERRUPT, injected by the
# LD_PRELOAD shim tests/lib/sqlfault.c).  Each run must either fail
# (exit 2 with a "hindsight: " line on stderr, json and csv having
# printed only whole rows of the answer) or answer exactly what it answers
# without the fault, with the same exit status.  A failed read
# taken for "no rows" or "absent" would print a wrong answer with a
# success status: the one thing a forensic tool must not do.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/fault.sh"

db="$TMP/fixture.db"
sh "$TOP/tests/query/mkfixture.sh" "$db" || bail "mkfixture.sh failed"
export HINDSIGHT_DB="$db"

sqlfault_preload "$BIN/hindsight"

# The golden cases' argument lines.
awk 'BEGIN { state = 0 }
	state == 0 && (/^#/ || /^$/) { next }
	state == 0 { print; state = 1; next }
	state == 1 { state = 2; next }
	state == 2 && /^%%$/ { state = 0 }' "$TOP"/tests/query/golden/*.test >"$TMP/cases"
# And what the golden tests do not run: status, whole histories, the other
# churn tables, backup, several dbs at once.
cp "$db" "$TMP/other.db"
# A copy as --retain leaves it: status reads the horizon.
cp "$db" "$TMP/pruned.db"
q "$TMP/pruned.db" "INSERT INTO meta VALUES ('pruned_through_rev', 12),
	('pruned_us', (SELECT t_hi_us FROM revisions WHERE rev = 12)), ('pruned_rows', 7)"
cat >>"$TMP/cases" <<CASES
--db $TMP/pruned.db --format json status
--db $TMP/pruned.db ip 10.6.6.43 --at rev:11
--db $db --db $TMP/other.db --format csv sql 'SELECT count(*) AS n FROM ip_history'
status
--format json status
identity 12928
node k8s-node1
service default/kubernetes
pod default/web-2
labels k8s:app=web
churn --from 2026-11-20T14:00:00Z --to 2026-11-21T00:00:00Z --by hour --by-namespace
--format json churn --from 2026-11-20T14:00:00Z --to 2026-11-21T00:00:00Z
backup --force $TMP/copy.db
--db $db --db $TMP/other.db ip 10.6.6.43 --at rev:15
--db $db --db $TMP/other.db --format csv changes --from rev:12 --to rev:22
CASES
ncases=$(wc -l <"$TMP/cases")
[ "$ncases" -ge 20 ] || bail "only $ncases golden cases"

# Equal output, but for status's lag (now - watermark), which moves.
same() {
	for _f in "$1" "$2"; do
		sed 's/"lag_seconds":[^,]*/"lag_seconds":L/; s/^lag_seconds .*/lag_seconds L/' \
			"$_f" >"$_f.cmp"
	done
	cmp -s "$1.cmp" "$2.cmp"
}

# whole_rows GOT WANT ARGS: json and csv rows printed before a failure
# are rows of the answer, whole (a table is printed only at the end).
whole_rows() {
	case "$3" in
	*"--format json"* | *"--format csv"*) ;;
	*) return 0 ;;
	esac
	sed 's/,$//' "$1" | sort -u >"$TMP/got.rows"
	sed 's/,$//' "$2" | sort -u >"$TMP/want.rows"
	comm -23 "$TMP/got.rows" "$TMP/want.rows" | grep -v '^\[\]\{0,1\}$\|^\]$' >"$TMP/extra"
	[ ! -s "$TMP/extra" ]
}

runs=0
bad=0
refused=0
while IFS= read -r args; do
	eval "set -- $args"
	rm -f "$TMP/log"
	LD_PRELOAD=$PRELOAD SQLFAULT_LOG="$TMP/log" "$BIN/hindsight" "$@" \
		>"$TMP/want" 2>"$TMP/want.err"
	want_exit=$?
	n=$(grep -c '^[0-9]' "$TMP/log")
	k=1
	while [ "$k" -le "$n" ]; do
		rm -f "$TMP/log"
		LD_PRELOAD=$PRELOAD SQLFAULT_LOG="$TMP/log" SQLFAULT_AT=$k \
			"$BIN/hindsight" "$@" >"$TMP/got" 2>"$TMP/err"
		got_exit=$?
		runs=$((runs + 1))
		sql=$(sed -n "s/^$k	//p" "$TMP/log" | head -c 100)
		if grep -q 'runtime error\|Sanitizer' "$TMP/err"; then
			diag "hindsight $args: statement $k ($sql): $(grep -m1 'runtime error\|Sanitizer' "$TMP/err")"
			bad=$((bad + 1))
		elif ! grep -q "^fired $k\$" "$TMP/log"; then
			diag "hindsight $args: statement $k ($sql): the fault did not fire"
			bad=$((bad + 1))
		elif [ "$got_exit" = 2 ]; then
			refused=$((refused + 1))
			if ! grep -v '^hindsight: warning: ' "$TMP/err" | grep -q '^hindsight: '; then
				diag "hindsight $args: statement $k ($sql): exit 2 without a message"
				bad=$((bad + 1))
			elif [ "$sql" = "PRAGMA quick_check" ] &&
				! grep -q 'cannot check the copy: interrupted' "$TMP/err"; then
				# The check did not run: not a corrupt copy.
				diag "hindsight $args: statement $k ($sql): $(cat "$TMP/err")"
				bad=$((bad + 1))
			elif ! whole_rows "$TMP/got" "$TMP/want" "$args"; then
				diag "hindsight $args: statement $k ($sql): exit 2 after a row not in the answer: $(head -c 200 "$TMP/extra")"
				bad=$((bad + 1))
			fi
		elif [ "$got_exit" != "$want_exit" ] || ! same "$TMP/got" "$TMP/want"; then
			diag "hindsight $args: statement $k ($sql) failing: exit $got_exit (want $want_exit or 2)"
			diff "$TMP/want" "$TMP/got" | head -6 | sed 's/^/#   /'
			bad=$((bad + 1))
		fi
		k=$((k + 1))
	done
done <"$TMP/cases"
[ "$runs" -gt "$ncases" ]
ok $? "$ncases commands, $runs runs with one statement failing"
is "$bad" 0 "each failed with exit 2 and a message, or answered as without the fault ($refused failed)"

# One answer, one snapshot of the db: the recorder commits (and --retain
# prunes) between the CLI's reads.  The CLI sleeps before reading the rows
# of a snapshot (as a descheduled process would) while another connection
# does what a pruning round does: removes history up to a revision after
# the one asked about and moves the horizon.  The answer must be the
# whole state the CLI's coverage check was made on (or exit 3), never
# fewer rows with exit 0.
cp "$db" "$TMP/race.db"
q "$TMP/race.db" "PRAGMA journal_mode=WAL" >/dev/null
"$BIN/hindsight" --db "$TMP/race.db" --format json snapshot --at rev:20 >"$TMP/race.want"
: >"$TMP/race.log"
SQLFAULT_SLEEP="3:INDEXED BY events_key" SQLFAULT_LOG="$TMP/race.log" LD_PRELOAD="$PRELOAD" \
	"$BIN/hindsight" --db "$TMP/race.db" --format json snapshot --at rev:20 \
	>"$TMP/race.got" 2>"$TMP/race.err" &
cli=$!
wait_until 10 grep -q '^sleep ' "$TMP/race.log"
ok $? "the CLI pauses before reading the snapshot's rows"
q "$TMP/race.db" "BEGIN; DELETE FROM events WHERE rev <= 22;
	INSERT OR REPLACE INTO meta VALUES ('pruned_through_rev', 22),
	('pruned_us', (SELECT t_hi_us FROM revisions WHERE rev = 22)), ('pruned_rows', 9);
	COMMIT"
wait "$cli"
got=$?
is "$got $(jq length "$TMP/race.got")" "0 $(jq length "$TMP/race.want")" \
	"history pruned meanwhile: the answer is still the whole state (exit 0)"
"$BIN/hindsight" --db "$TMP/race.db" snapshot --at rev:20 >/dev/null 2>&1
is $? 3 "…and the same question asked afterwards is before the horizon (exit 3)"
done_testing
