#!/bin/sh
# An etcd recreated with the same configuration (same cluster_id) that has
# also compacted past the watermark by the time the recorder comes back:
# the lineage read at the watermark settles nothing (compacted), the watch
# is canceled for compaction and the prefix is re-listed.  A key the new
# history wrote at the same mod_revision as the old one, with another
# value, is not "unchanged": the db must end with etcd's state.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start lineage
$KV "$ETCD_URL" put cilium/a v1-a >/dev/null
$KV "$ETCD_URL" put cilium/b v1-b >/dev/null
db="$TMP/lin.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first snapshot"
cid=$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")

etcd_recreate
# The same keys at the same revisions, other values; then past the
# watermark, and compacted there.
$KV "$ETCD_URL" put cilium/a v2-a >/dev/null
$KV "$ETCD_URL" put cilium/b v2-b >/dev/null
$KV "$ETCD_URL" put cilium/c v1-c >/dev/null
head=$($KV "$ETCD_URL" put cilium/d v1-d)
$KV "$ETCD_URL" compact "$head"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/again.log"
ok $? "restart against the cluster recreated alike and compacted: exit 0"
sed 's/^/# /' "$TMP/again.log"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")" "$cid" \
	"…which has the same cluster_id"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "…a gap"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals the recreated cluster's"
is "$(q "$db" "SELECT type || ' ' || key FROM changes WHERE inferred ORDER BY key")" \
	"PUT cilium/a
PUT cilium/b
PUT cilium/c
PUT cilium/d" "inferred: the keys put again with other values too"
status_counts_check "$db"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
