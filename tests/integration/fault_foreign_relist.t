#!/bin/sh
# A re-listing after compaction whose page fails on the watched member of
# cluster A, with --endpoints listing, next, a member of an unrelated
# cluster B (fault_foreign.t's setup).  The listing begins again on the
# next endpoint: it must not take B for a replaced cluster (a new epoch,
# B's keys as inferred changes, A's as inferred deletes) but go on to A's
# other members.  Then A itself is replaced (all three members on emptied
# data dirs, a new cluster_id on the same URLs): that one is taken, once
# every endpoint serves it (B left out of --endpoints: while it is listed,
# never).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

two_clusters
db="$TMP/relist.db"
log="$TMP/relist.log"
# (cluster_start sets CL_URL1..3 through eval)
# shellcheck disable=SC2153
eps="$CL_URL1,$B,$CL_URL2,$CL_URL3"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$eps" --once 2>>"$log"
ok $? "snapshot of cluster A"
cid=$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")
# A backlog, compacted away: the next start must re-list, 2 keys a page.
$KV "$CL_URL2" many 3000 cilium/a/ >/dev/null
$KV "$CL_URL2" compact "$($KV "$CL_URL2" rev)" >/dev/null
rec_run "$db" "$eps" "$log" --page-limit 2 -v
relist() { [ "$(grep -c 're-listing: .* keys listed so far' "$log")" -ge 3 ]; }
wait_until 30 relist
ok $? "a re-listing after compaction is under way on m1"
member_kill 1
head=$($FKV "$CL_URL2,$CL_URL3" rev)
wait_until 60 db_reached "$db" "$head"
ok $? "the re-listing is done through A's other members (revision $head)"
grep -q "re-listing from $B: this endpoint serves etcd cluster .* not the recorded" "$log"
ok $? "the log says why B was left"
is "$(q "$db" "SELECT count(*) FROM epochs")" 1 "one epoch"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "one gap: the compaction's"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")" "$cid" "still cluster A's id"
is "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
	WHERE k.key LIKE 'cilium/state/ip/v1/b/%'")" 0 "nothing of cluster B recorded"
is "$(db_state "$db")" "$($FKV "$CL_URL2,$CL_URL3" state cilium/)" "the state is cluster A's"
rec_term
ok $? "SIGTERM: exit 0"

# --- cluster A replaced on the same URLs ------------------------------------
member_start 1
wait_until 20 curl -sf "$CL_URL1/health" || bail "m1 did not restart"
for i in 1 2 3; do member_kill "$i"; done
rm -rf "$TMP/m1" "$TMP/m2" "$TMP/m3"
CL_TOKEN="fault-new-$$"
for i in 1 2 3; do member_start "$i"; done
for i in 1 2 3; do
	eval "_u=\$CL_URL$i"
	wait_until 20 curl -sf "$_u/health" || bail "new m$i did not become healthy"
done
$FKV "$CL_URLS" writer 20 cilium/new/ >/dev/null || bail "cannot write to the new cluster A"
: >"$log"
timeout 60 "$BIN/hindsight-recorder" --db "$db" --endpoints "$CL_URLS" --once 2>>"$log"
ok $? "--once on the replaced cluster: exit 0"
grep -q "etcd cluster replaced" "$log"
ok $? "the log says the cluster was replaced"
is "$(q "$db" "SELECT count(*) FROM epochs")" 2 "a new epoch"
is "$(q "$db" "SELECT count(*) FROM gaps")" 2 "a second gap"
[ "$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")" != "$cid" ]
ok $? "the new cluster's id"
is "$(db_state "$db")" "$($FKV "$CL_URLS" state cilium/)" "the state is the new cluster's"
sed 's/^/# rec: /' "$log" | grep -v debug | head -30
done_testing
