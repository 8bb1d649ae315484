#!/bin/sh
# No silent gaps.  When the history to resume from was compacted away, or
# etcd was replaced by a new cluster, the recorder re-lists the prefix,
# writes the differences as inferred changes, records the gap, and goes on
# (a new epoch for a new cluster, so revisions never mix).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start gaps
for k in keep change gone; do $KV "$ETCD_URL" put "cilium/$k" "v1-$k" >/dev/null; done
db="$TMP/gaps.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first snapshot"
before=$(db_recorded "$db")
before_us=$(q "$db" "SELECT value FROM meta WHERE name='recorded_us'")

# While the recorder is down: changes, then compaction past them.
$KV "$ETCD_URL" put cilium/change v2-change >/dev/null
$KV "$ETCD_URL" del cilium/gone >/dev/null
newrev=$($KV "$ETCD_URL" put cilium/new v1-new)
$KV "$ETCD_URL" put cilium/brief x >/dev/null
$KV "$ETCD_URL" del cilium/brief >/dev/null
head=$($KV "$ETCD_URL" put cilium/change v3-change)
$KV "$ETCD_URL" compact "$head"

"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/gap.log"
ok $? "restart after compaction: exit 0"
grep -q 'gap recorded after revision' "$TMP/gap.log"
ok $? "the gap is logged"
is "$(q "$db" "SELECT from_rev || ' ' || to_rev || ' ' || (from_us = $before_us)
	|| ' ' || (to_us >= from_us) FROM gaps")" "$before $head 1 1" \
	"gap row: from the old watermark to the re-list revision, with both times"
case "$(q "$db" "SELECT reason FROM gaps")" in
*compacted*) r=0 ;; *) r=1 ;; esac
ok $r "…with the reason (compacted)"
is "$(q "$db" "SELECT type || ' ' || key FROM changes WHERE inferred ORDER BY key")" \
	"PUT cilium/change
DELETE cilium/gone
PUT cilium/new" "inferred: changed and new keys put, vanished key deleted, unchanged key untouched"
is "$(q "$db" "SELECT DISTINCT rev FROM events WHERE origin = 2")" "$head" \
	"inferred changes sit at the re-list revision"
is "$(q "$db" "SELECT how FROM revisions WHERE rev = $head")" resync \
	"that revision is marked resync"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals etcd's after the gap"
is "$(db_recorded "$db")" "$head" "watermark at the re-list revision"
is "$("$BIN/hindsight" --db "$db" --format json snapshot --prefix cilium/new 2>/dev/null |
	jq -c '.[0] | [.mod_rev, .create_rev, .version]')" "[$newrev,$newrev,1]" \
	"snapshot: an inferred key's mod_rev is etcd's, inside the gap"

# A second outage past a compaction, nothing under the prefix changed:
# the keys inferred after the first gap are not inferred again.
n_inferred=$(q "$db" "SELECT count(*) FROM events WHERE origin = 2")
$KV "$ETCD_URL" put other/outside x >/dev/null
head2=$($KV "$ETCD_URL" put other/outside y)
$KV "$ETCD_URL" compact "$head2"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/gap2.log"
ok $? "restart after a second compaction: exit 0"
is "$(q "$db" "SELECT count(*) FROM gaps")" 2 "…a second gap"
is "$(q "$db" "SELECT count(*) FROM events WHERE origin = 2")" "$n_inferred" \
	"…and no change inferred: the re-listed keys are as the first gap left them"

# Live again after the gap.
rec_start "$db"
rev=$($KV "$ETCD_URL" put cilium/after yes)
wait_until 10 db_reached "$db" "$rev"
ok $? "recording goes on after the gap"
rec_stop

# A replaced cluster: a new etcd (new cluster_id, revisions from 1) on the
# same address.
old_cid=$(q "$db" "SELECT value FROM meta WHERE name='etcd_cluster_id'")
old_top=$(q "$db" "SELECT max(rev) FROM revisions")
etcd_replace gaps2
$KV "$ETCD_URL" put cilium/keep v1-keep >/dev/null
$KV "$ETCD_URL" put cilium/fresh v1-fresh >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/replaced.log"
ok $? "restart against a replaced cluster: exit 0"
new_cid=$(q "$db" "SELECT value FROM meta WHERE name='etcd_cluster_id'")
[ "$new_cid" != "$old_cid" ] && [ -n "$new_cid" ]
ok $? "meta names the new cluster"
is "$(q "$db" "SELECT count(*) || ' ' || max(epoch) FROM epochs")" "2 2" "a second epoch"
is "$(q "$db" "SELECT (SELECT min(rev) FROM revisions WHERE epoch = 2) > $old_top")" 1 \
	"the new epoch's revisions are all above the old ones"
case "$(q "$db" "SELECT reason FROM gaps ORDER BY id DESC LIMIT 1")" in
*"cluster replaced"*) r=0 ;; *) r=1 ;; esac
ok $r "the gap says the cluster was replaced"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals the new cluster's"
is "$(q "$db" "SELECT count(*) FROM changes WHERE inferred AND type='DELETE'
	AND rev > $old_top")" 3 "old keys absent from the new cluster are inferred deleted"
rec_start "$db"
rev=$($KV "$ETCD_URL" put cilium/live2 yes)
wait_until 10 db_reached "$db" "$rev"
ok $? "live recording in the new epoch"
rec_stop
is "$(q "$db" "SELECT etcd_rev FROM revisions WHERE rev = (SELECT max(rev) FROM revisions)")" \
	"$rev" "hindsight revisions map back to the new cluster's etcd revisions"

# The same cluster recreated with the same configuration (an emptyDir etcd
# restarted: same name, same URLs, hence the same cluster_id), whose
# revisions have passed the watermark by the time the recorder comes back.
# Only the data tells: the last key recorded is not there as recorded.
wm=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_rev'")
cid=$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")
etcd_recreate
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do $KV "$ETCD_URL" put "cilium/again/$i" "v$i" >/dev/null; done
$KV "$ETCD_URL" put cilium/keep v1-keep >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/again.log"
ok $? "restart against the cluster recreated alike: exit 0"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")" "$cid" \
	"…which has the same cluster_id"
grep -q 'etcd holds another history' "$TMP/again.log"
ok $? "…found out from the data, logged"
is "$(q "$db" "SELECT count(*) FROM epochs")" 3 "…a new epoch"
is "$(q "$db" "SELECT count(*) FROM gaps WHERE from_rev = $wm")" 1 "…and a gap after the old watermark"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals the recreated cluster's"
status_counts_check "$db"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
