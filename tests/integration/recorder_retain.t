#!/bin/sh
# --retain: history that ended before the limit is pruned while recording
# goes on; open intervals, the latest state and every answer after the
# horizon stay the same; status says what was pruned; a question before
# the horizon says so (exit 3).  The file stops growing with history: the
# revisions and the keys nothing refers to any more go too.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start ret
H="$BIN/hindsight"
ip() { printf '{"IP":"%s","Mask":null,"HostIP":"10.5.0.1","ID":%s,"Metadata":"cilium-global:default:n1:1","K8sNamespace":"ns","K8sPodName":"%s"}' "$1" "$2" "$3"; }
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.1 "$(ip 10.0.0.1 100 old-a)" >/dev/null
db="$TMP/r.db"
rec_start "$db" --retain 6s --retain-every 0.5
wait_until 10 db_reached "$db" "$($KV "$ETCD_URL" rev)" || bail "no snapshot"
# Seen live, so its start time is known (a key the snapshot found has none).
keeps=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.2 "$(ip 10.0.0.2 100 keeps)")
wait_until 10 db_reached "$db" "$keeps" || bail "10.0.0.2 not recorded"
# The value of 10.0.0.1's first holder: current now, superseded below.
old_val=$(q "$db" "SELECT e.val_id FROM events e JOIN keys k ON k.id = e.key_id
	WHERE k.key = 'cilium/state/ip/v1/default/10.0.0.1'")
# Old history: 10.0.0.1 changes hands and its first holder's interval closes.
$KV "$ETCD_URL" many 30 cilium/churn/ >/dev/null
# Keys deleted before the horizon: one for good, one put again after it.
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.8 "$(ip 10.0.0.8 100 gone)" >/dev/null
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.9 "$(ip 10.0.0.9 100 back)" >/dev/null
$KV "$ETCD_URL" del cilium/state/ip/v1/default/10.0.0.8 >/dev/null
$KV "$ETCD_URL" del cilium/state/ip/v1/default/10.0.0.9 >/dev/null
# The same value again: its first event is pruned, the value it shares
# with the second must stay.
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.2 "$(ip 10.0.0.2 100 keeps)" >/dev/null
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.1 "$(ip 10.0.0.1 200 new-b)")
wait_until 10 db_reached "$db" "$rev"
closed=$(db_superseded "$db")
[ "$closed" -gt 0 ]
ok $? "closed history exists before pruning ($closed events)"
revs_before=$(q "$db" "SELECT count(*) FROM revisions WHERE rev <= $rev")
# What a user sees of the open interval older than the limit.
since() {
	"$H" --db "$db" --format json ip 10.0.0.2 | "$PY" -c '
import json, sys
print(" ".join("%s@%s" % (o["from_rev"], o["from_time"]) for o in json.load(sys.stdin)))'
}
since_before=$(since)

# Age it past the limit (bounded wait), while recording goes on.
pruned() {
	_p=$(q "$db" "SELECT value FROM meta WHERE name='pruned_through_rev'")
	[ -n "$_p" ] && [ "$_p" -ge "$rev" ]
}
wait_until 30 pruned
ok $? "a pruning round ran past the change of holder"
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.9 "$(ip 10.0.0.9 100 back)" >/dev/null
live=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.3 "$(ip 10.0.0.3 300 live-c)")
wait_until 10 db_reached "$db" "$live"
ok $? "recording goes on while pruning"
through=$(q "$db" "SELECT value FROM meta WHERE name='pruned_through_rev'")
is "$(db_superseded "$db" "$through")" 0 \
	"no event superseded at or before the horizon is left"
is "$(q "$db" "SELECT count(*) FROM ipcache WHERE to_rev IS NOT NULL AND to_rev <= $through")" 0 \
	"no ipcache interval closed before the horizon is left"
is "$(q "$db" "SELECT pod FROM ipcache WHERE ip='10.0.0.2' AND to_rev IS NULL")" keeps \
	"an open interval older than the limit is kept"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "the current state is intact"
is "$(q "$db" "SELECT count(*) FROM vals WHERE id = $old_val")" 0 \
	"the value of a pruned event is removed"
is "$(q "$db" "SELECT count(*) FROM vals v WHERE NOT EXISTS
	(SELECT 1 FROM events e WHERE e.val_id = v.id)")" 0 "no value is left unused"
is "$(q "$db" "SELECT count(*) FROM events e WHERE e.val_id IS NOT NULL AND NOT EXISTS
	(SELECT 1 FROM vals v WHERE v.id = e.val_id)")" 0 "no event lost its value"
# After the horizon every answer still equals etcd's own (not compacted).
hs_state() {
	"$H" --db "$db" --format json snapshot --at "rev:$1" | "$PY" -c '
import json, sys
for o in json.load(sys.stdin):
    print("%s|%s" % (o["key"], o["value"].encode().hex().upper()))'
}
is "$(hs_state "$live")" "$($KV "$ETCD_URL" state cilium/ "$live")" \
	"snapshot at a revision after the horizon equals etcd's range there"
# The revision-to-time map keeps what is left, and only that.
revs_after=$(q "$db" "SELECT count(*) FROM revisions WHERE rev <= $rev")
[ "$revs_after" -lt "$revs_before" ]
ok $? "revisions nothing refers to are pruned ($revs_before -> $revs_after)"
is "$(q "$db" "SELECT count(*) FROM revisions r WHERE r.rev < $through
	AND NOT EXISTS (SELECT 1 FROM events e WHERE e.rev = r.rev)
	AND NOT EXISTS (SELECT 1 FROM ($TYPED_ROWS) t WHERE t.from_rev = r.rev)")" 0 \
	"no revision before the horizon is left that nothing refers to"
is "$(db_timeless "$db")" 0 "every event and interval left keeps its revision's time"
is "$(since)" "$since_before" \
	"the open interval older than the limit keeps its start and time"
case $since_before in *@None*|'') ok 1 "…which is known ($since_before)" ;;
*) ok 0 "…which is known ($since_before)" ;; esac
is "$(q "$db" "SELECT group_concat(key) FROM keys WHERE key LIKE '%/10.0.0._'
	AND key NOT LIKE '%/10.0.0.1' AND key NOT LIKE '%/10.0.0.2'
	AND key NOT LIKE '%/10.0.0.3'")" cilium/state/ip/v1/default/10.0.0.9 \
	"a key deleted before the horizon is pruned, one put again after it stays"
is "$("$H" --db "$db" --format json ip 10.0.0.9 | "$PY" -c '
import json, sys
print(" ".join(o["ip"] + "," + o["pod"] for o in json.load(sys.stdin)))')" "10.0.0.9,back" \
	"…and answers for it after the horizon"
# Two revisions just before the stop, for the round cut short below to cut
# past the horizon however long the checks above took (a loaded box; the
# 6 s of --retain are for the time these puts take to be recorded).
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.4 "$(ip 10.0.0.4 300 late-d)" >/dev/null
last=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.5 "$(ip 10.0.0.5 300 late-e)")
wait_until 10 db_reached "$db" "$last"
rec_stop
ok $? "SIGTERM: exit 0"
# Stopped: the horizon no longer moves while it is compared (a round the
# stop cut short counts up to its cut).
through=$(db_horizon "$db")
"$H" --db "$db" --format json status >"$TMP/status.json"
"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))[0]
assert s["pruned_through_rev"] == int(sys.argv[2]), s
assert s["pruned_rows"] > 0 and s["pruned_time"].endswith("Z"), s
' "$TMP/status.json" "$through"
ok $? "status shows how far history was pruned, when, and how many rows"
first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")
is "$(jq -c ".[0] | [.first_rev == $first, .first_rev < .pruned_through_rev]" "$TMP/status.json")" \
	"[true,true]" "…and first_rev is still the first snapshot (PRODUCT.md), before the horizon"
"$H" --db "$db" ip 10.0.0.1 --at rev:2 >/dev/null 2>"$TMP/warn"
is $? 3 "a question before the horizon exits 3"
grep -q 'retention horizon' "$TMP/warn"
ok $? "…saying history before it was pruned"
# A whole history (no time given) lacks what ended before the horizon.
for c in "ip 10.0.0.9" "changes" "key cilium/state/ip/v1/default/10.0.0.9"; do
	# shellcheck disable=SC2086 # a command and its arguments
	"$H" --db "$db" $c >/dev/null 2>"$TMP/warn"
	is $? 3 "$c (a whole history) exits 3 on a pruned db"
	grep -q '^hindsight: warning: history before the retention horizon (.*, rev '"$through"') was pruned' "$TMP/warn"
	ok $? "…saying what is not shown: $(cat "$TMP/warn")"
done
# A round cut short (the recorder stopped between its steps) has pruned
# up to its cut, past pruned_through_rev: meta prune_open and prune_cut
# say so, and the CLI takes the cut as the horizon.  The state such a stop
# leaves, on a copy: the round's cut at the newest revision.
cp "$db" "$TMP/cut.db"
cut=$(q "$db" "SELECT max(rev) FROM revisions")
q "$TMP/cut.db" "INSERT OR REPLACE INTO meta(name, value) VALUES ('prune_open', 1),
	('prune_cut', $cut), ('prune_cut_us', (SELECT t_hi_us FROM revisions WHERE rev = $cut))"
[ $((cut - 1)) -gt "$through" ]
ok $? "a cut ($cut) past the horizon ($through)"
is "$("$H" --db "$TMP/cut.db" --format json status | jq '.[0].pruned_through_rev')" "$cut" \
	"status: pruned through the cut of the round cut short"
"$H" --db "$TMP/cut.db" ip 10.0.0.1 --at "rev:$((cut - 1))" >/dev/null 2>"$TMP/warn"
is $? 3 "a question before that cut exits 3"
grep -q "retention horizon (rev $cut)" "$TMP/warn"
ok $? "…naming it: $(cat "$TMP/warn")"
grep -q 'retention: pruned' "$TMP/rec.log"
ok $? "the recorder logs each pruning round"
status_counts_check "$db"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
"$BIN/hindsight-recorder" --db "$db" --retain forever 2>"$TMP/err"
is $? 1 "a malformed --retain: exit 1"
done_testing
