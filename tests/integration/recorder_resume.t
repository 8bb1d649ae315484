#!/bin/sh
# Live recording and resume: PUT/DELETE while running, SIGTERM, changes
# while stopped, kill -9 during heavy writes.  After every restart, the
# recorded history equals etcd's own, each event exactly once.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start live
$KV "$ETCD_URL" load "$TOP/tests/fixtures/cilium-1.7-seed.jsonl" >/dev/null
db="$TMP/live.db"
# --batch-ms 60000: a batch still growing would wait a minute, but a lone
# change is committed as soon as nothing more of the stream is waiting.
rec_start "$db" --batch-ms 60000
wait_until 10 db_reached "$db" "$($KV "$ETCD_URL" rev)"
ok $? "snapshot committed"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")

# Live changes show up within a bound, with an observed time.
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.6.6.50 \
	'{"IP":"10.6.6.50","Mask":null,"HostIP":"10.5.1.132","ID":12928,"Key":0,"Metadata":"cilium-global:default:k8s-node1:7","K8sNamespace":"ns1","K8sPodName":"web-1"}')
wait_until 5 db_reached "$db" "$rev"
ok $? "a live PUT is committed within 5 s"
is "$(q "$db" "SELECT how || ' ' || (time IS NOT NULL) FROM rev_times WHERE rev=$rev")" \
	"watch 1" "…stamped with the time it was observed"
is "$(q "$db" "SELECT pod FROM ip_history WHERE ip='10.6.6.50' AND to_rev IS NULL")" \
	"web-1" "…and decoded into ipcache"
rev=$($KV "$ETCD_URL" del cilium/state/ip/v1/default/10.6.6.43)
wait_until 5 db_reached "$db" "$rev"
is "$(q "$db" "SELECT to_rev FROM ipcache WHERE ip='10.6.6.43'")" "$rev" \
	"a live DELETE closes the ipcache interval at its revision"
# Lease-only re-put: a raw event, but the typed interval is not split.
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.6.6.50 \
	'{"IP":"10.6.6.50","Mask":null,"HostIP":"10.5.1.132","ID":12928,"Key":0,"Metadata":"cilium-global:default:k8s-node1:7","K8sNamespace":"ns1","K8sPodName":"web-1"}')
wait_until 5 db_reached "$db" "$rev"
is "$(q "$db" "SELECT count(*) FROM ipcache WHERE ip='10.6.6.50'")" 1 \
	"re-putting the same value does not split the ipcache interval"

rec_stop
ok $? "SIGTERM: exit 0"
stopped=$(q "$db" "SELECT value FROM meta WHERE name='recorded_us'")

# Changes while stopped are replayed on restart, with honest time bounds.
$KV "$ETCD_URL" many 20 cilium/down/ >/dev/null
head=$($KV "$ETCD_URL" rev)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "restart with --once exits 0"
is "$(db_recorded "$db")" "$head" "caught up to etcd's revision"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE etcd_rev > $rev AND
	(how <> 'replay' OR t_lo_us <> $stopped OR t_hi_us < t_lo_us)")" 0 \
	"revisions written while stopped are 'replay', bounded by (stop, restart]"

# kill -9 at several moments while a writer runs flat out.
$KV "$ETCD_URL" many 3000 cilium/heavy/ 30 >"$TMP/writer.out" &
writer=$!
CLEANUP_PIDS="$CLEANUP_PIDS $writer"
for i in 1 2 3 4; do
	rec_start "$db"
	start=$(db_recorded "$db")
	wait_until 20 db_reached "$db" $((start + 50))
	ok $? "restart $i makes progress"
	kill -9 "$REC_PID"
	wait "$REC_PID" 2>/dev/null
done
wait "$writer"
ok $? "writer finished"
head=$($KV "$ETCD_URL" rev)
rec_start "$db"
wait_until 30 db_reached "$db" "$head"
ok $? "after the last kill -9, recording catches up to etcd ($head)"
rec_stop
history_etcd=$($KV "$ETCD_URL" history cilium/ $((first + 1)))
history_db=$(db_history "$db" $((first + 1)))
is "$(echo "$history_db" | wc -l)" "$(echo "$history_etcd" | wc -l)" \
	"as many events recorded as etcd has (exactly once)"
if [ "$history_db" = "$history_etcd" ]; then r=0; else
	r=1
	echo "$history_etcd" >"$TMP/h.etcd"
	echo "$history_db" >"$TMP/h.db"
	diff "$TMP/h.etcd" "$TMP/h.db" | head -10 | sed 's/^/# /'
fi
ok $r "recorded history equals etcd's history, byte for byte, in order"
# A backlog replayed after downtime keeps the stop as its lower bound
# through a reconnect in the middle (etcd restarted), and the watermark's
# time does not pass a moment the replay has not covered; a compaction in
# the middle of the next replay records a gap that starts at the stop.
rec_stop >/dev/null 2>&1
stopped=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")
from=$(db_recorded "$db")
$KV "$ETCD_URL" many 30000 cilium/big/ 20 >/dev/null
head=$($KV "$ETCD_URL" rev)
: >"$TMP/rec.log"
rec_start "$db" --catchup-streams 1 --batch-events 200
# One watch replays 1000 revisions per 100 ms sync round: ~3 s in all.
wait_until 30 db_reached "$db" $((from + 1000))
mid=$(db_recorded "$db")
etcd_restart
wait_until 60 db_reached "$db" "$head"
ok $? "the replay went on after etcd restarted"
[ "$mid" -lt "$head" ] && [ "$(grep -c ' watching cilium/ from revision' "$TMP/rec.log")" -ge 2 ]
ok $? "…which happened in the middle of it (at revision $mid of $head)"
# etcd stopping says why ("transport is closing") in an error object
# without a newline: one line says the watch ended, and why, once.
grep ' warn: watch on .* ended: ' "$TMP/rec.log" >"$TMP/ended"
[ -s "$TMP/ended" ] && ! grep -q '(HTTP .*(HTTP' "$TMP/ended"
r=$?
ok $r "…logged in a line that gives the HTTP status once"
[ $r -eq 0 ] || sed 's/^/# /' "$TMP/ended"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE etcd_rev > $from AND etcd_rev <= $head
	AND (how <> 'replay' OR t_lo_us <> $stopped)")" 0 \
	"every replayed revision, before and after the reconnect, is bounded below by the stop"
rec_stop >/dev/null 2>&1
stopped=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")
from=$(db_recorded "$db")
$KV "$ETCD_URL" many 30000 cilium/big/ 30 >/dev/null
head=$($KV "$ETCD_URL" rev)
rec_start "$db" --catchup-streams 1 --batch-events 200
wait_until 30 db_reached "$db" $((from + 1000))
$KV "$ETCD_URL" compact "$head" >/dev/null
gapped() { [ "$(q "$db" "SELECT count(*) FROM gaps WHERE from_rev >= $from")" -ge 1 ]; }
wait_until 60 gapped
ok $? "a compaction in the middle of the replay: a gap"
is "$(q "$db" "SELECT from_us FROM gaps WHERE from_rev >= $from")" "$stopped" \
	"…whose start is the stop, not a moment of the replay"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "final state equals etcd's"
is "$(db_typed_open_dups "$db")" 0 "every key has at most one open typed row"
is "$(db_typed_bad "$db")" 0 "every event points at its key's typed row valid at its revision"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok after kill -9s"
done_testing
