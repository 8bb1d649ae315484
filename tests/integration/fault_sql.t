#!/bin/sh
# SQLite failing under the recorder: a backlog (ipcache transactions with
# deletes, plain puts) caught up by `hindsight-recorder --once` while one
# of its statements fails (SQLITE_INTERRUPT from the LD_PRELOAD shim
# tests/lib/sqlfault.c), at each point worth failing of a fault-free run
# in turn.  Each run must end with exit 0 or with exit 2 and an error
# line; the next run, without the fault, must finish the job; and the db
# must then hold exactly etcd's history (each revision once), etcd's
# state, consistent typed rows and row counts, and pass integrity_check.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

sqlfault_preload "$BIN/hindsight-recorder"
MAXPOINTS=${FAULT_POINTS:-60}

etcd_start sqlf
$FKV "$ETCD_URL" writer 50 cilium/seed/ >/dev/null
base="$TMP/base.db"
"$BIN/hindsight-recorder" --db "$base" --endpoints "$ETCD_URL" --once 2>"$TMP/base.log"
ok $? "first snapshot"
first=$(q "$base" "SELECT value FROM meta WHERE name='first_rev'")
$FKV "$ETCD_URL" txn 60 16 cilium/state/ip/v1/default/ 40 del >/dev/null
$FKV "$ETCD_URL" writer 300 cilium/put/ 0 100 >/dev/null
$FKV "$ETCD_URL" history cilium/ $((first + 1)) >"$TMP/h.etcd"
$KV "$ETCD_URL" state cilium/ >"$TMP/state.etcd"
head=$($KV "$ETCD_URL" rev)

# once DB LOG [env...]: catch DB up with --once under the shim.
once() {
	_db=$1 _log=$2
	shift 2
	env LD_PRELOAD="$PRELOAD" "$@" "$BIN/hindsight-recorder" --db "$_db" \
		--endpoints "$ETCD_URL" --once --once-quiet 5 >>"$_log" 2>&1
}
# check DB [snapshot]: what a caught-up db must hold (a new db: only the
# snapshot, no watched history); prints the failures.
check() {
	if [ -z "${2:-}" ]; then
		db_history "$1" $((first + 1)) >"$TMP/h.db"
		cmp -s "$TMP/h.etcd" "$TMP/h.db" || echo "history differs from etcd's"
	fi
	db_state "$1" >"$TMP/state.db"
	cmp -s "$TMP/state.etcd" "$TMP/state.db" || echo "state differs from etcd's"
	[ "$(db_recorded "$1")" = "$head" ] || echo "watermark $(db_recorded "$1"), not $head"
	[ "$(db_integrity "$1")" = ok ] || echo "integrity_check: $(db_integrity "$1")"
	[ "$(db_dups "$1")" = 0 ] || echo "$(db_dups "$1") (revision, key) twice"
	[ "$(db_typed_bad "$1")" = 0 ] || echo "$(db_typed_bad "$1") typed rows inconsistent"
	[ "$(db_typed_open_dups "$1")" = 0 ] || echo "keys with two open typed rows"
	[ "$(db_timeless "$1")" = 0 ] || echo "rows without a revision time"
	[ "$(q "$1" "SELECT count(*) FROM gaps")" = 0 ] || echo "a gap"
	_c=$(q "$1" "SELECT (SELECT n FROM row_counts WHERE name = 'events') = (SELECT count(*) FROM events)
		AND (SELECT n FROM row_counts WHERE name = 'ipcache') = (SELECT count(*) FROM ipcache)
		AND (SELECT n FROM row_counts WHERE name = 'vals') = (SELECT count(*) FROM vals)
		AND (SELECT n FROM row_counts WHERE name = 'keys') = (SELECT count(*) FROM keys)")
	[ "$_c" = 1 ] || echo "row_counts differ from the tables"
}

# The reference run: no fault; its statements are the points to fail.
cp "$base" "$TMP/ref.db"
once "$TMP/ref.db" "$TMP/ref.log" SQLFAULT_LOG="$TMP/stmts"
ok $? "a catch-up without fault: exit 0"
check "$TMP/ref.db" >"$TMP/ref.bad"
[ ! -s "$TMP/ref.bad" ]
ok $? "…and the db holds etcd's history $(cat "$TMP/ref.bad")"
# fault_runs BASE [snapshot]: the runs over $TMP/points, each from a copy
# of BASE (none: a new db); bad, fired, failed.
fault_runs() {
bad=0
fired=0
failed=0
while read -r k; do
	rm -f "$TMP/w.db" "$TMP/w.db-wal" "$TMP/w.db-shm" "$TMP/flog"
	[ -z "$1" ] || cp "$1" "$TMP/w.db"
	: >"$TMP/w.log"
	once "$TMP/w.db" "$TMP/w.log" SQLFAULT_AT="$k" SQLFAULT_LOG="$TMP/flog"
	rc=$?
	sql=$(sed -n "s/^$k	//p" "$TMP/flog" | head -c 90)
	if grep -q "^fired $k\$" "$TMP/flog"; then
		fired=$((fired + 1))
	else
		diag "statement $k: not reached in this run (the fault did not fire)"
	fi
	if [ "$rc" = 2 ]; then
		failed=$((failed + 1))
		grep -q ' error: ' "$TMP/w.log" ||
			{ bad=$((bad + 1)) && diag "statement $k ($sql): exit 2 without an error line"; }
	elif [ "$rc" != 0 ]; then
		bad=$((bad + 1))
		diag "statement $k ($sql): exit $rc; $(tail -2 "$TMP/w.log")"
		continue
	fi
	once "$TMP/w.db" "$TMP/w.log"
	rc=$?
	: >"$TMP/w.bad"
	if [ "$rc" != 0 ]; then
		bad=$((bad + 1))
		diag "statement $k ($sql): the run after it exits $rc; $(tail -2 "$TMP/w.log")"
		continue
	fi
	grep -m1 'runtime error\|Sanitizer' "$TMP/w.log" >>"$TMP/w.bad"
	check "$TMP/w.db" "${2:-}" >>"$TMP/w.bad"
	if [ -s "$TMP/w.bad" ]; then
		bad=$((bad + 1))
		diag "statement $k ($sql) failing: $(tr '\n' ';' <"$TMP/w.bad")"
	fi
done <"$TMP/points"
points=$(wc -l <"$TMP/points")
}

# points LOG: the first two runs of each statement text and its last, at
# most MAXPOINTS of them spread evenly, into $TMP/points.
points() {
	awk -F '\t' '/^[0-9]/ { n[$2]++; if (n[$2] <= 2) pick[$1] = 1; last[$2] = $1 }
		END { for (s in last) pick[last[s]] = 1; for (k in pick) print k }' "$1" |
		sort -n >"$TMP/all"
	total=$(wc -l <"$TMP/all")
	awk -v n="$total" -v m="$MAXPOINTS" 'n <= m || int(NR * m / n) != int((NR - 1) * m / n)' \
		"$TMP/all" >"$TMP/points"
	diag "$(grep -c '^[0-9]' "$1") statements, $total worth failing, $(wc -l <"$TMP/points") tried"
}

points "$TMP/stmts"
fault_runs "$base"
[ "$fired" -ge $((points * 3 / 4)) ]
ok $? "catch-up: the fault fired in $fired of $points runs ($failed ended with exit 2)"
is "$bad" 0 "catch-up: after any one statement failing and a plain restart, the db holds etcd's history and state"

# A new db's first snapshot (opening, migrating, listing) the same way.
once "$TMP/snap.db" "$TMP/snap.log" SQLFAULT_LOG="$TMP/snap.stmts"
ok $? "a first snapshot without fault: exit 0"
check "$TMP/snap.db" snapshot >"$TMP/snap.bad"
[ ! -s "$TMP/snap.bad" ]
ok $? "…and the db holds etcd's state $(cat "$TMP/snap.bad")"
points "$TMP/snap.stmts"
fault_runs "" snapshot
[ "$fired" -ge $((points * 3 / 4)) ]
ok $? "snapshot: the fault fired in $fired of $points runs ($failed ended with exit 2)"
is "$bad" 0 "snapshot: after any one statement failing and a plain restart, the db holds etcd's state"
done_testing
