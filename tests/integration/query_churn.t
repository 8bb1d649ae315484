#!/bin/sh
# hindsight churn against its definition.  The recorder counts each event
# into per-hour and per-minute rows as it writes it (churn, churn_pods,
# churn_spans); the report sums the hours inside its window, the minutes
# inside the hours it cuts, and classifies the events of the minutes it
# cuts from the raw log.  Here the
# oracle classifies every event of the window from the raw log (the SQL
# of schema/004_churn.sql, where a PUT with another create_rev than the
# key's previous PUT, re-created in a gap, is also created; through
# `hindsight sql`), and the two must
# agree: per period and kind, per namespace, and in the top namespaces
# and pods, for windows that cut minutes anywhere.
#
# Once on a db recorded live from the Cilium simulator (the counts the
# recorder kept), once on a copy whose revision times are spread over two
# days, some out of order, and whose churn tables are rebuilt by the
# format-4 and -5 migrations (hindsight-recorder --upgrade): many hours and
# minutes, most windows summed by hours, by minutes and cut.
. "$(dirname "$0")/../lib/tap.sh"
command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start churn
db="$TMP/churn.db"
rec_start "$db"
wait_until 20 db_reached "$db" 1 || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"
"$PY" "$TOP/tests/sim/cilium-sim" --endpoints "$ETCD_URL" --seed 5 \
	--steps 1200 --rate 200 --nodes 4 --pods-per-node 8 --ipv6 \
	--identity-pool 30 >"$TMP/sim.log" 2>&1 &
sim=$!
# A restart halfway: the new process knows nothing of the values the
# first one wrote, and counts their keys' deletes from the db.
recorded() { [ "$(q "$db" "SELECT count(*) FROM events")" -ge "$1" ]; }
wait_until 30 recorded 400
kill -0 "$sim" 2>/dev/null && rec_stop && rec_start "$db"
ok $? "the recorder restarted while the simulator ran"
wait "$sim"
ok $? "the simulator ran ($(tail -1 "$TMP/sim.log"))"
head=$($KV "$ETCD_URL" rev)
wait_until 30 db_reached "$db" "$head"
ok $? "recorded up to etcd's revision $head"
rec_stop
ok $? "SIGTERM: exit 0"

# The oracle: every event of (R1, R2] classified against its key's
# previous event, grouped by SECS-second periods (and namespace).
CLS="CASE WHEN e.type = 1 THEN 3 WHEN e.version = 1 AND e.origin = 0 THEN 0
	ELSE coalesce((SELECT CASE WHEN p.type = 1 THEN 0
	WHEN p.create_rev != e.create_rev THEN 0
	WHEN p.val_id IS e.val_id AND p.lease != e.lease THEN 2 ELSE 1 END
	FROM events p WHERE p.key_id = e.key_id AND p.rev < e.rev
	ORDER BY p.rev DESC LIMIT 1), 0) END"
VAL="(SELECT CAST(v.value AS TEXT) FROM vals v WHERE v.id = coalesce(e.val_id,
	(SELECT p.val_id FROM events p WHERE p.key_id = e.key_id AND p.rev < e.rev
	ORDER BY p.rev DESC LIMIT 1)))"
EV="SELECT r.t_hi_us AS t, k.kind AS kind, $CLS AS cls,
	coalesce(hs_namespace(k.kind, k.key, $VAL), '') AS ns,
	hs_pod(k.kind, k.key, $VAL) AS pod
	FROM events e JOIN keys k ON k.id = e.key_id JOIN revisions r ON r.rev = e.rev
	WHERE e.origin != 1"
# oracle DB R1 R2 SECS NS: "period kind [ns] created modified lease_only deleted"
oracle() {
	_ns=${5:+", ns"}
	"$BIN/hindsight" --db "$1" --format json sql "SELECT t / ($4 * 1000000) AS b,
		kind$_ns, sum(cls = 0) AS c0, sum(cls = 1) AS c1, sum(cls = 2) AS c2,
		sum(cls = 3) AS c3 FROM ($EV AND e.rev > $2 AND e.rev <= $3)
		GROUP BY b, kind$_ns ORDER BY b$_ns, kind" |
		jq -r --argjson s "$4" '.[] | [(.b * $s | todate), .kind] +
			(if has("ns") then [.ns] else [] end) + [.c0, .c1, .c2, .c3] | @tsv'
}
# report DB R1 R2 BY NS: the same from hindsight churn.
report() {
	"$BIN/hindsight" --db "$1" --format json churn --from "rev:$2" --to "rev:$3" \
		--by "$4" ${5:+--by-namespace} |
		jq -r --arg by "$4" '.[] | [(.period | if $by == "day" then . + "T00:00:00Z"
			else sub("T(?<h>..):00Z"; "T\(.h):00:00Z") end), .kind] +
			(if has("namespace") then [.namespace] else [] end) +
			[.created, .modified, .lease_only, .deleted] | @tsv'
}
# top_oracle DB R1 R2 COL: the ten namespaces or pods with most changes.
top_oracle() {
	"$BIN/hindsight" --db "$1" --format csv sql "SELECT $4, count(*), sum(cls = 0),
		sum(cls = 1), sum(cls = 2), sum(cls = 3) FROM ($EV AND e.rev > $2
		AND e.rev <= $3) WHERE $4 IS NOT NULL AND $4 != '' GROUP BY $4
		ORDER BY count(*) DESC, $4 LIMIT 10" | sed 1d | tr ',' ' '
}
# top_report DB R1 R2 TITLE: that section of the churn table.
top_report() {
	"$BIN/hindsight" --db "$1" churn --from "rev:$2" --to "rev:$3" |
		awk -v t="top $4s by changes" '$0 == t { on = 2; next }
			on == 2 { on = 1; next } on == 1 && NF == 0 { exit }
			on == 1 { $1 = $1; print }'
}

# check DB R1 R2 WHAT: every view of the window agrees with the oracle
# (both come from the CLI: a run that fails at all counts as bad).
check() {
	"$BIN/hindsight" --db "$1" churn --from "rev:$2" --to "rev:$3" >/dev/null 2>"$TMP/cerr" || {
		bad=$((bad + 1))
		diag "$4 ($2, $3]: hindsight churn failed: $(head -1 "$TMP/cerr")"
	}
	for by in hour:3600 day:86400; do
		for ns in "" ns; do
			_o=$(oracle "$1" "$2" "$3" "${by#*:}" "$ns")
			_r=$(report "$1" "$2" "$3" "${by%:*}" "$ns")
			[ "$_o" = "$_r" ] || {
				bad=$((bad + 1))
				diag "$4 ($2, $3] --by ${by%:*} ${ns:+--by-namespace}: differs"
				printf '%s\n' "$_o" >"$TMP/o" && printf '%s\n' "$_r" >"$TMP/r"
				diff "$TMP/o" "$TMP/r" | head -n 6 | sed 's/^/# /'
			}
		done
	done
	for col in namespace:ns pod:pod; do
		[ "$(top_oracle "$1" "$2" "$3" "${col#*:}")" = \
			"$(top_report "$1" "$2" "$3" "${col%:*}")" ] || {
			bad=$((bad + 1))
			diag "$4 ($2, $3]: top ${col%:*}s differ"
		}
	done
}

first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")
events=$(q "$db" "SELECT count(*) FROM events WHERE origin != 1 AND rev <= $head")
minutes=$(q "$db" "SELECT count(*) FROM churn_spans WHERE secs = 60")
[ "$events" -gt 1000 ] && [ "$minutes" -ge 1 ]
ok $? "the recorder counted $events events into $minutes minute(s)"
pods=$(q "$db" "SELECT count(DISTINCT pod) FROM churn_pods WHERE secs = 60")
[ "$pods" -gt 10 ]
ok $? "and $pods pods"
is "$(q "$db" "SELECT pod, changes FROM churn_pod_totals ORDER BY pod")" \
	"$(q "$db" "SELECT pod, sum(created + modified + lease_only + deleted)
		FROM churn_pods WHERE secs = 3600 GROUP BY pod ORDER BY pod")" \
	"churn_pod_totals: each pod's changes in all its hours"

# Windows: the whole recording (every minute summed), and seeded ones
# that cut minutes.
# check_windows DB SEED N WHAT: those windows of (first, head].
check_windows() {
	_n=0
	bad=0
	awk -v lo="$first" -v hi="$head" -v s="$2" -v n="$3" 'BEGIN {
		srand(s); print lo, hi
		for (i = 0; i < n; i++) { a = lo + int(rand() * (hi - lo))
			print a, a + 1 + int(rand() * (hi - a)) } }' >"$TMP/windows"
	_big=0
	while read -r _a _b; do
		check "$1" "$_a" "$_b" "$4"
		_n=$((_n + 1))
		_ipc=$("$BIN/hindsight" --db "$1" --format csv sql "SELECT count(*)
			FROM ($EV AND e.rev > $_a AND e.rev <= $_b)
			WHERE kind = 'ipcache'" | sed 1d)
		[ "$_ipc" -le 200 ] || _big=$((_big + 1))
	done <"$TMP/windows"
	is "$bad" 0 "$4: churn equals the raw log's classification in $_n windows"
	# Over 200 ipcache changes the top pods come from the threshold scan
	# over churn_pod_totals, below from grouping (query/cmd_churn.c).
	[ "$_big" -gt 0 ] && [ "$_big" -lt "$_n" ]
	ok $? "$4: $_big of $_n windows past 200 ipcache changes (both ways to the top pods)"
}
check_windows "$db" 7 6 live

# What formats 6, 7 and 10 added, undone (the churn tables of 4 and 5 are
# dropped beside it; 8 and 9 only recreate views): back to format 3.
BACK_TO_3="DROP TABLE row_counts; DROP INDEX identity_users_key;
	ALTER TABLE events DROP COLUMN mod_rev;
	CREATE INDEX identity_users_id ON identity_users(identity, from_rev);
	PRAGMA user_version = 3"

# The spread copy: 37 s a revision from two days back, every 7th revision
# ten minutes early (out of order), churn tables rebuilt by the migration.
sp="$TMP/spread.db"
sqlite3 "$db" ".backup '$sp'"
base=$(($(date +%s) - 2 * 86400))
q "$sp" "UPDATE revisions SET t_hi_us = ($base + (rev - $first) * 37
	- CASE WHEN rev % 7 = 0 THEN 600 ELSE 0 END) * 1000000 WHERE rev > $first;
	DROP TABLE churn; DROP TABLE churn_pods; DROP TABLE churn_spans;
	DROP TABLE churn_pod_totals; $BACK_TO_3" >/dev/null
"$BIN/hindsight-recorder" --db "$sp" --upgrade >/dev/null
ok $? "hindsight-recorder --upgrade rebuilds the churn tables (format 3 to the current)"
minutes=$(q "$sp" "SELECT count(*) FROM churn_spans WHERE secs = 60")
whole=$(q "$sp" "SELECT count(*) FROM churn_spans WHERE secs = 60 AND rev_hi - rev_lo < 5")
hours=$(q "$sp" "SELECT count(*) FROM churn_spans WHERE secs = 3600")
[ "$minutes" -gt 300 ] && [ "$whole" -gt 100 ] && [ "$hours" -gt 24 ]
ok $? "spread over $hours hours, $minutes minutes ($whole of them a few revisions wide)"
check_windows "$sp" 11 8 spread

# The migration and the live recorder count alike: rebuild the live db's
# tables too and compare them row for row.
sqlite3 "$db" ".backup '$TMP/rebuilt.db'"
q "$TMP/rebuilt.db" "DROP TABLE churn; DROP TABLE churn_pods; DROP TABLE churn_spans;
	DROP TABLE churn_pod_totals; $BACK_TO_3" >/dev/null
"$BIN/hindsight-recorder" --db "$TMP/rebuilt.db" --upgrade >/dev/null
for t in churn:4 churn_pods:3 churn_spans:2 churn_pod_totals:1; do
	_o=$(seq -s, "${t#*:}")
	is "$(q "$TMP/rebuilt.db" "SELECT * FROM ${t%:*} ORDER BY $_o")" \
		"$(q "$db" "SELECT * FROM ${t%:*} ORDER BY $_o")" \
		"${t%:*}: what the recorder kept equals what the migration computes"
done
done_testing
