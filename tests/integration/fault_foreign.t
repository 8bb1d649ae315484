#!/bin/sh
# Failover onto an endpoint of another cluster.  --endpoints lists the
# three members of cluster A and, second, a member of an unrelated
# cluster B (a wrong entry, a clustermesh peer).  kill -9 the watched
# member of A: the recorder must go on with A's other members, not take
# B for a replaced cluster (a new epoch, B's keys as inferred changes, A's
# as inferred deletes).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

two_clusters
db="$TMP/foreign.db"
log="$TMP/foreign.log"
# (cluster_start sets CL_URL1..3 through eval)
# shellcheck disable=SC2153
rec_run "$db" "$CL_URL1,$B,$CL_URL2,$CL_URL3" "$log"
wait_until 15 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "snapshot of cluster A"
cid=$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")
member_kill 1
$FKV "$CL_URL2,$CL_URL3" writer 30 cilium/after/ >/dev/null
after=$($FKV "$CL_URL2,$CL_URL3" rev)
wait_until 30 db_reached "$db" "$after"
ok $? "recording goes on with A's other members (revision $after)"
grep -q "serves etcd cluster .* not the recorded" "$log"
ok $? "the log says why B was left"
is "$(q "$db" "SELECT count(*) FROM epochs")" 1 "one epoch"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")" "$cid" "still cluster A's id"
is "$(db_state "$db")" "$($FKV "$CL_URL2,$CL_URL3" state cilium/)" "the state is cluster A's"
hist_check "$db" "$CL_URL2,$CL_URL3" "$(($(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'") + 1))" \
	"recorded history equals cluster A's"
rec_term
ok $? "SIGTERM: exit 0"
done_testing
