#!/bin/sh
# A gap is only as wide as the compaction made it.  etcd keeps every
# revision from its compaction revision C on, so the recorder re-lists the
# prefix at C (the watch's cancel message names it) and watches from C + 1:
# the changes etcd still holds after C are recorded as they happened, not
# folded into inferred changes at etcd's newest revision.  A listing at C
# that etcd compacts further meanwhile starts over at etcd's newest.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start gapwidth
$KV "$ETCD_URL" put cilium/ip/a pod1 >/dev/null
$KV "$ETCD_URL" put cilium/gone x >/dev/null
db="$TMP/gw.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first snapshot"
wm=$(db_recorded "$db")
wm_us=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")

# While the recorder is down: changes, a compaction in their middle, more.
$KV "$ETCD_URL" put cilium/ip/a pod2 >/dev/null
c=$($KV "$ETCD_URL" put cilium/ip/a pod3)
$KV "$ETCD_URL" compact "$c"
$KV "$ETCD_URL" put cilium/ip/a pod4 >/dev/null
$KV "$ETCD_URL" del cilium/gone >/dev/null
$KV "$ETCD_URL" put cilium/ip/a pod5 >/dev/null
head=$($KV "$ETCD_URL" put cilium/new 1)

"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/gap.log"
ok $? "restart after the compaction: exit 0"
is "$(q "$db" "SELECT from_rev || ' ' || to_rev FROM gaps")" "$wm $c" \
	"the gap runs from the watermark to the compaction revision, not to etcd's newest ($head)"
is "$(db_history "$db" $((c + 1)))" "$($KV "$ETCD_URL" history cilium/ $((c + 1)))" \
	"what etcd still held after the compaction is recorded as it happened"
is "$(q "$db" "SELECT group_concat(v.value, ' ') FROM events e JOIN keys k ON k.id = e.key_id
	JOIN vals v ON v.id = e.val_id WHERE k.key = 'cilium/ip/a' ORDER BY e.rev")" \
	"pod1 pod3 pod4 pod5" "cilium/ip/a: pod3 inferred at the compaction revision, pod4 and pod5 seen"
is "$(q "$db" "SELECT DISTINCT rev FROM events WHERE origin = 2")" "$c" \
	"inferred changes sit at the compaction revision"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE rev > $c AND
	(how <> 'replay' OR t_lo_us <> $wm_us)")" 0 \
	"the revisions after it are replayed, committed after recording stopped"
is "$(db_times_back "$db")" 0 "no revision's time goes back, no bounds inverted"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals etcd's"
is "$(db_recorded "$db")" "$head" "watermark at etcd's revision"

# The listing at the compaction revision, compacted further while it pages
# (one key a page,
# 4000 keys): it starts over at etcd's newest revision.
$KV "$ETCD_URL" txn 40 cilium/many/ 100 >/dev/null # 4000 keys
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
wm=$(db_recorded "$db")
$KV "$ETCD_URL" put cilium/ip/a pod6 >/dev/null
c=$($KV "$ETCD_URL" put cilium/ip/a pod7)
$KV "$ETCD_URL" compact "$c"
$KV "$ETCD_URL" put cilium/ip/a pod8 >/dev/null
rec_start "$db" --once --page-limit 1 -v
relisting() { grep -q 're-listing: .* keys listed so far' "$TMP/rec.log"; }
wait_until 20 relisting
ok $? "re-listing at the compaction revision, a key a page"
c2=$($KV "$ETCD_URL" put cilium/ip/a pod9)
$KV "$ETCD_URL" compact "$c2"
wait "$REC_PID"
ok $? "--once exits 0"
grep -q 'starting over at a newer revision' "$TMP/rec.log"
ok $? "the listing was compacted under it and started over"
is "$(q "$db" "SELECT count(*) FROM gaps WHERE from_rev = $wm AND to_rev >= $c2")" 1 \
	"one gap, to etcd's revision at the new listing"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals etcd's"
is "$(q "$db" "SELECT count(*) FROM (SELECT rev, key_id FROM events GROUP BY rev, key_id
	HAVING count(*) > 1)")" 0 "no (revision, key) recorded twice"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
