#!/bin/sh
# --retain against a simulated Cilium cluster: a copy of the db taken
# before a pruning round (hindsight backup) and the db after it answer
# every question about a revision or a time after the horizon byte for
# byte alike (snapshot, ip, identity, changes); and what pruning leaves
# refers to nothing it removed (keys, values, typed rows and their child
# rows, revision times), with row_counts equal to the tables' counts.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
H="$BIN/hindsight"
SIM="$TOP/tests/sim/cilium-sim"
db="$TMP/r.db"
copy="$TMP/copy.db"

etcd_start ret2
rec_start "$db" --retain 3s --retain-every 0.3
wait_until 20 db_reached "$db" 1 || bail "no snapshot"
# A paced workload (about 8 s): old history behind the horizon, and new
# history ahead of it while a round runs.
"$SIM" --endpoints "$ETCD_URL" --seed 7 --steps 100000 --duration 8 \
	--rate 200 --nodes 4 --pods-per-node 8 --identity-pool 24 \
	--gc-interval 60 2>"$TMP/sim.err" &
SIM_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $SIM_PID"
# pruned DB REV: a round ran through REV.
pruned() { [ "$(through "$1")" -ge "$2" ]; }
through() { db_horizon "$1"; }
# (and 100 revisions recorded ahead of it, for a state worth comparing
# at the horizon the stop leaves: the simulator may start slowly)
first_pruned() {
	_h=$(through "$db")
	[ "$_h" -gt 0 ] && [ "$(db_recorded "$db")" -ge $((_h + 100)) ]
}
wait_until 20 first_pruned
ok $? "a pruning round ran while the workload writes"
# The copy: the db before the next rounds.
"$H" --db "$db" --format json backup "$copy" >"$TMP/bk.json" 2>"$TMP/bk.err"
ok $? "a copy before the next pruning rounds"
top=$(jq '.[0].recorded_rev' "$TMP/bk.json")
t0=$(through "$copy")
# A third of the way from the copy's horizon to its watermark: the
# horizon, about 3 s behind, passes the watermark about 2 s later, so the
# stop comes before it (a fixed number of revisions ahead may be past the
# watermark when the simulator writes slowly, leaving nothing to compare).
moved() { [ "$(through "$db")" -gt $((t0 + (top - t0) / 3)) ]; }
wait_until 20 moved
ok $? "the horizon moved on after the copy"
rec_stop
ok $? "SIGTERM: exit 0"
kill "$SIM_PID" 2>/dev/null
wait "$SIM_PID" 2>/dev/null
t1=$(through "$db")
[ "$t1" -lt "$top" ]
ok $? "revisions after the horizon ($t1) and in the copy ($top) are left to compare"
diag "sim: $(tail -3 "$TMP/sim.err")"
diag "copy: horizon $t0, watermark $top; pruned db: horizon $t1 (a round cut short by the stop: $(q "$db" "SELECT coalesce((SELECT value FROM meta WHERE name = 'prune_open'), 0)"))"

# as_of DB REV: the answers about revision REV (what the copy cannot
# know about later revisions left out: the end of an interval closed
# after its watermark, to_rev and both bounds of its time, to_time and
# to_time_lo, non-null when that revision was read late, not seen live).
# shellcheck disable=SC2016
as_of() {
	"$H" --db "$1" --format json snapshot --at "rev:$2" &&
		"$H" --db "$1" --format json changes --from "rev:$2" --to "rev:$top" &&
		for ip in $IPS; do
			"$H" --db "$1" --format json ip "$ip" --at "rev:$2" |
				jq -c '.[] | if .to_rev != null and .to_rev > '"$top"'
					then .to_rev = null | .to_time = null |
					.to_time_lo = null else . end'
		done &&
		for id in $IDS; do
			"$H" --db "$1" --format json identity "$id" --at "rev:$2" |
				jq -c 'walk(if type == "object" and .to_rev != null
					and .to_rev > '"$top"' then .to_rev = null |
					.to_time = null | .to_time_lo = null else . end)'
		done
}
# at_time DB US: ip and snapshot at a moment, as the user gives it.
at_time() {
	_t="@$(($2 / 1000000)).$(printf '%06d' $(($2 % 1000000)))"
	"$H" --db "$1" --format json snapshot --at "$_t" &&
		for ip in $IPS; do
			"$H" --db "$1" --format json ip "$ip" --at "$_t" |
				jq -c '.[] | if .to_rev != null and .to_rev > '"$top"'
					then .to_rev = null | .to_time = null |
					.to_time_lo = null else . end'
		done
}
IPS=$(q "$copy" "SELECT ip FROM ipcache WHERE from_rev < $t1 GROUP BY ip
	ORDER BY count(*) DESC, ip LIMIT 6")
IDS=$(q "$copy" "SELECT identity FROM identities GROUP BY identity
	ORDER BY count(*) DESC, identity LIMIT 4")
# The horizon's own revision, the next one, and revisions after it.
REVS=$(q "$copy" "SELECT rev FROM (SELECT rev, ntile(10) OVER (ORDER BY rev) b
	FROM revisions WHERE rev > $t1 AND rev <= $top) GROUP BY b
	UNION SELECT min(rev) FROM revisions WHERE rev > $t1 UNION SELECT $t1
	ORDER BY 1")
# same FN WHAT...: FN's answers from the copy and from the pruned db are
# the same, stdout and stderr, for each WHAT; the ones that differ.
same() {
	_fn=$1
	shift
	for _w; do
		$_fn "$copy" "$_w" >"$TMP/want" 2>"$TMP/want.err"
		$_fn "$db" "$_w" >"$TMP/got" 2>"$TMP/got.err"
		cmp -s "$TMP/want" "$TMP/got" || printf ' %s' "$_w"
		cmp -s "$TMP/want.err" "$TMP/got.err" || printf ' %s(stderr)' "$_w"
	done
}
n=$(as_of "$copy" "$t1" | wc -l)
[ "$n" -gt 50 ] && [ -n "$IPS" ] && [ -n "$IDS" ]
ok $? "there is something to compare ($n lines at the horizon)"
# shellcheck disable=SC2086
is "$(same as_of $REVS)" "" "answers at revisions after the horizon are the copy's"
# shellcheck disable=SC2046
# (the horizon's time first: the earliest a question may ask about)
is "$(same at_time "$(db_horizon_us "$db")" \
	$(q "$copy" "SELECT t_hi_us FROM revisions WHERE rev > $t1
	AND rev <= $top AND how = 'watch' ORDER BY rev LIMIT 4"))" "" \
	"answers at times after the horizon are the copy's"
"$H" --db "$db" snapshot --at "rev:$((t0 > 2 ? t0 - 1 : 1))" >/dev/null 2>"$TMP/warn"
is $? 3 "a question before the horizon exits 3"

# Nothing left refers to a row pruning removed.
is "$(q "$db" "SELECT
	(SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.id = e.key_id)) || ' ' ||
	(SELECT count(*) FROM events e WHERE e.val_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vals v WHERE v.id = e.val_id)) || ' ' ||
	(SELECT count(*) FROM ($TYPED_ROWS) t WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.id = t.key_id)) || ' ' ||
	(SELECT count(*) FROM decode_errors d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.rev = d.rev AND e.seq = d.seq)) || ' ' ||
	(SELECT count(*) FROM ipcache_ports c WHERE NOT EXISTS (SELECT 1 FROM ipcache p WHERE p.rowid = c.ipcache_row)) || ' ' ||
	(SELECT count(*) FROM node_addresses c WHERE NOT EXISTS (SELECT 1 FROM nodes p WHERE p.rowid = c.node_row)) || ' ' ||
	(SELECT count(*) FROM service_ports c WHERE NOT EXISTS (SELECT 1 FROM services p WHERE p.rowid = c.service_row))")" \
	"0 0 0 0 0 0 0" "no event, typed row, decode error or child row refers to a pruned row"
# (db_typed_bad's other half, typed rows whose opening event is left, no
# longer holds: a lease-only re-put may have superseded that event.)
typed_bad="SELECT e.rev, e.key_id, e.typed_row FROM events e JOIN keys k ON k.id = e.key_id
	WHERE e.typed_row IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ($TYPED_ROWS) t
	WHERE t.kind = replace(k.kind, 'noderegister', 'node')
	AND t.r = e.typed_row AND t.key_id = e.key_id AND t.from_rev <= e.rev
	AND (t.to_rev IS NULL OR t.to_rev > e.rev))"
is "$(q "$db" "$typed_bad")" "" "every events.typed_row left is its key's row at its revision"
is "$(q "$copy" "$typed_bad")" "" "…as it was in the copy"
# (A round the stop cut short has pruned events whose closed typed rows
# its later steps would have taken: those end at or before the horizon.)
is "$(q "$db" "SELECT count(*) FROM ($TYPED_ROWS) t WHERE NOT EXISTS (SELECT 1
	FROM events e WHERE e.key_id = t.key_id AND e.typed_row = t.r)
	AND (t.to_rev IS NULL OR t.to_rev > $t1)")" 0 \
	"every typed row left that ends after the horizon has an event that points at it"
is "$(db_timeless "$db")" 0 "every event and interval left keeps its revision's time"
is "$(db_superseded "$db" "$t1")" 0 "no event superseded at or before the horizon is left"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/ "$(db_recorded "$db")")" \
	"the latest state is etcd's at the watermark"
status_counts_check "$db"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"

# A round cut short after the events went (a failing step; the same for
# a recorder stopped mid-round): the keys whose DELETE it pruned have no
# event left, and a later round must still remove them.  A trigger makes
# deleting ipcache rows fail, a pass that comes after the events.
db="$TMP/cut.db"
rec_start "$db" --retain 2s --retain-every 0.3
wait_until 20 db_reached "$db" "$($KV "$ETCD_URL" rev)" || bail "no snapshot"
q "$db" "CREATE TRIGGER t_no_prune BEFORE DELETE ON ipcache
	BEGIN SELECT RAISE(ABORT, 'test: no pruning of ipcache'); END"
ipv() { printf '{"IP":"%s","Mask":null,"HostIP":"10.5.0.1","ID":%s,"Metadata":"cilium-global:default:n1:1","K8sNamespace":"ns","K8sPodName":"%s"}' "$1" "$2" "$3"; }
gone=cilium/state/ip/v1/default/10.99.0.8
$KV "$ETCD_URL" put "$gone" "$(ipv 10.99.0.8 100 gone)" >/dev/null
$KV "$ETCD_URL" del "$gone" >/dev/null
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.99.0.9 "$(ipv 10.99.0.9 100 a)" >/dev/null
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.99.0.9 "$(ipv 10.99.0.9 100 b)")
wait_until 10 db_reached "$db" "$rev"
failed() { grep -q 'test: no pruning of ipcache' "$TMP/rec.log"; }
events_gone() {
	[ "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
		WHERE k.key = '$gone'")" = 0 ]
}
wait_until 20 failed && events_gone
ok $? "a round failed after pruning the events of a deleted key"
q "$db" "DROP TRIGGER t_no_prune"
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.99.0.9 "$(ipv 10.99.0.9 100 c)")
wait_until 10 db_reached "$db" "$rev"
wait_until 20 pruned "$db" "$rev"
ok $? "a later round ran past it"
is "$(q "$db" "SELECT count(*) FROM keys WHERE key = '$gone'")" 0 \
	"the key deleted before the horizon is pruned all the same"
is "$(q "$db" "SELECT count(*) FROM keys k WHERE NOT EXISTS
	(SELECT 1 FROM events e WHERE e.key_id = k.id)")" 0 "no key is left without an event"
rec_stop
ok $? "SIGTERM: exit 0"
status_counts_check "$db"

# A file recorded in format 2 shares a value between keys (meta
# vals_shared_through), and a gap lies before the horizon: pruning the
# event of one key keeps the value the other still has, and the gap row.
db="$TMP/old.db"
$KV "$ETCD_URL" put cilium/test/a same >/dev/null
rev=$($KV "$ETCD_URL" put cilium/test/b same)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "recorded with --once"
key_val() {
	q "$db" "SELECT e.val_id FROM events e JOIN keys k ON k.id = e.key_id
		WHERE k.key = '$1' ORDER BY e.rev DESC LIMIT 1"
}
va=$(key_val cilium/test/a)
q "$db" "UPDATE events SET val_id = $va WHERE val_id = $(key_val cilium/test/b);
	DELETE FROM vals WHERE id = $(key_val cilium/test/b);
	UPDATE row_counts SET n = n - 1 WHERE name = 'vals';
	INSERT OR REPLACE INTO meta(name, value) SELECT 'vals_shared_through', max(id) FROM vals"
is "$(key_val cilium/test/b)" "$va" "two keys share a value, as in format 2"
# While the recorder is down: a's value changes, then compaction.
$KV "$ETCD_URL" put cilium/test/a other >/dev/null
head=$($KV "$ETCD_URL" put cilium/test/c new)
$KV "$ETCD_URL" compact "$head" >/dev/null
rec_start "$db" --retain 2s --retain-every 0.3
wait_until 20 db_reached "$db" "$head"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "a gap is recorded"
live=$($KV "$ETCD_URL" put cilium/test/c newer)
wait_until 10 db_reached "$db" "$live"
wait_until 20 pruned "$db" "$live"
ok $? "a round ran past the gap"
rec_stop
ok $? "SIGTERM: exit 0"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "the gap stays"
is "$(q "$db" "SELECT count(*) FROM vals WHERE id = $va")" 1 \
	"a value shared in format 2 stays when one of its events is pruned"
# (As of $live: the simulator's leases, killed with it, expire when they
# will, and their keys' deletes may follow.)
is "$(db_state "$db" "$live")" "$($KV "$ETCD_URL" state cilium/ "$live")" \
	"the state at the last write is etcd's"
is "$(q "$db" "SELECT count(*) FROM events e WHERE e.val_id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM vals v WHERE v.id = e.val_id)")" 0 \
	"no event lost its value"
status_counts_check "$db"
done_testing
