#!/bin/sh
# `make bench` at toy sizes (about a minute): the benchmark still builds,
# runs against real etcd members and prints every row of its table with a
# figure, a baseline and a verdict, then stops what it started.  The
# verdicts themselves mean nothing at these sizes and are not checked
# here (bench/RESULTS.md has the measured ones).
. "$(dirname "$0")/../lib/tap.sh"

mkdir -p "$TMP/bench"
BENCH_RUNS=1 BENCH_EVENTS=2000 BENCH_SINGLE=25000 BENCH_STORE_EVENTS=5000 \
	BENCH_QUERY_EVENTS=2000 BENCH_SNAP_KEYS=3000 BENCH_LIVE_RATE=1000 \
	BENCH_LIVE_SECS=2 TMPDIR="$TMP/bench" \
	sh "$TOP/bench/run.sh" >"$TMP/out" 2>"$TMP/err"
is "$?" 0 "bench/run.sh at toy sizes exits 0 ($(tail -1 "$TMP/err"))"
# The table: from its header to the first empty line.
sed -n '/^measure /,/^$/p' "$TMP/out" | sed '1d;/^$/d' >"$TMP/rows"
# Every row the issue asks for, once each.
for r in "1a catch-up" "1b catch-up" "2  parallel catch-up" \
	"3  store path alone" "4  live lag" "5  ip --at" "5  identity --at" \
	"5  churn, whole range" "5  churn table (top pods)" "5  snapshot --at" \
	"5  churn table, a week" "6  db bytes/event (txn" \
	"6  db bytes/event (1 per" "7  peak RSS, snapshot" \
	"7  peak RSS, catch-up" "7  peak RSS, parallel"; do
	is "$(grep -c "^$r" "$TMP/rows")" 1 "the table has a row '$r'"
done
is "$(wc -l <"$TMP/rows" | tr -d ' ')" 16 "…and no other"
# Each row: a number measured (after "default: " for row 2), and a
# verdict, PASS or MISS, never n/a.
bad=$(awk -F'|' '{
	f = $2; sub(/^ *(default: )?/, "", f)
	v = $6; gsub(/ /, "", v)
	if (f !~ /^[0-9]/ || (v != "PASS" && v != "MISS")) print $1
}' "$TMP/rows")
is "$bad" "" "every row has a figure and a verdict"
# Under the table, the floor rows 3 and 6 are read against, measured.
floor=$(grep '^index entry per event' "$TMP/out")
echo "$floor" | grep -Eq ': [0-9]+ events/s \([0-9.]+x the plain table\), [0-9]+ bytes/event$'
ok $? "the table is followed by the bare change log's rate and size ($floor)"
chain=$(grep -A1 "^the same log, no index" "$TMP/out" | sed -n 2p)
echo "$chain" | grep -Eq '^[0-9]+ events/s \([0-9.]+x the plain table\), [0-9]+ bytes/event$'
ok $? "…and the chained log's ($chain)"
# The chained log keeps each key's history without an index: walking back
# from every key's last event reaches each event once, on its own key.
"$TOP/build/bench/store_bench" chain "$TMP/ch.db" 5000 >/dev/null
walk=$(sqlite3 "$TMP/ch.db" "WITH RECURSIVE w(id, key_id) AS (
	SELECT e.id, e.key_id FROM keys k JOIN events e ON e.id = k.last
	UNION ALL SELECT e.id, e.key_id FROM w JOIN events e
		ON e.id = (SELECT prev FROM events WHERE id = w.id))
	SELECT count(*), count(DISTINCT w.id), sum(e.key_id = w.key_id),
		(SELECT count(*) FROM events)
	FROM w JOIN events e ON e.id = w.id")
echo "$walk" | awk -F'|' '$1 > 0 && $1 == $2 && $2 == $3 && $3 == $4 { ok = 1 } END { exit !ok }'
ok $? "every event of the chained log lies once on its key's chain ($walk)"
rm -f "$TMP"/ch.db*
# Rows with a baseline measured in the same run have a ratio.
bad=$(awk -F'|' '$3 ~ /[0-9]/ && $4 !~ /[0-9]x/ { print $1 }' "$TMP/rows")
is "$bad" "" "every row with a baseline has a ratio"
# Everything it started is stopped and its scratch directory gone.
is "$(ls "$TMP/bench")" "" "its temporary directory is removed"
left=$(pgrep -f "$TMP/bench" 2>/dev/null)
is "$left" "" "no etcd or recorder of the bench is left running"
done_testing
