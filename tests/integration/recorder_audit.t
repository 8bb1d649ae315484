#!/bin/sh
# Contract checks found missing by an audit of the recorder (PRODUCT.md,
# "Semantics that must hold").
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start audit

# 1. Replayed revisions are dated (stop, restart], narrowed where the
# history carries time: Cilium's cilium/.heartbeat holds the RFC 3339
# time it was written at, so it and every later revision were committed
# after it.  A heartbeat outside the bounds known (a clock behind, or
# ahead) narrows nothing.
$KV "$ETCD_URL" put cilium/a 1 >/dev/null
db="$TMP/hb.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first run"
t1=$(q "$db" "SELECT value FROM meta WHERE name = 'recorded_us'")
sleep 1.2
before=$($KV "$ETCD_URL" put cilium/before x)
sleep 1.1
hb=$(date -u +%Y-%m-%dT%H:%M:%SZ)
hb_us=$(($(date -u -d "$hb" +%s) * 1000000))
hbrev=$($KV "$ETCD_URL" put cilium/.heartbeat "$hb")
after=$($KV "$ETCD_URL" put cilium/after y)
$KV "$ETCD_URL" put cilium/.heartbeat 2001-01-01T00:00:00Z >/dev/null
stale=$($KV "$ETCD_URL" put cilium/stale y)
$KV "$ETCD_URL" put cilium/.heartbeat 2099-01-01T00:00:00+02:00 >/dev/null
future=$($KV "$ETCD_URL" put cilium/future y)
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "second run, replaying what came meanwhile"
lo() { q "$db" "SELECT t_lo_us FROM revisions WHERE rev = $1"; }
is "$(lo "$before")" "$t1" "a revision before the heartbeat: from the moment recording stopped"
is "$(lo "$hbrev")" "$hb_us" "the heartbeat's revision: from the time it carries"
is "$(lo "$after")" "$hb_us" "a revision after it: from that time too"
is "$(lo "$stale") $(lo "$future")" "$hb_us $hb_us" \
	"heartbeats older than the bound or newer than their arrival narrow nothing"
is "$(q "$db" "SELECT count(*) FROM revisions WHERE how = 'replay'
	AND NOT (t_lo_us < t_hi_us)")" 0 "every replayed revision keeps lower < upper bound"
is "$(q "$db" "SELECT substr(time_lo, 1, 19) FROM changes WHERE key = 'cilium/after'")" \
	"${hb%Z}" "changes shows the narrowed lower bound"

done_testing
