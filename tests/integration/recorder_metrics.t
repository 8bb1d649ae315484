#!/bin/sh
# /metrics and /healthz as an operator scrapes them with curl while the
# recorder runs; JSON log lines.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start met
port=$(free_port)
M="http://127.0.0.1:$port"
db="$TMP/m.db"
rec_start "$db" --metrics-addr "127.0.0.1:$port" --log-format json
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/healthz")" = 200 ]; }
wait_until 15 healthy
ok $? "/healthz answers 200 once the watch is live"
metric() { curl -s "$M/metrics" | sed -n "s/^$1 //p"; }

$KV "$ETCD_URL" many 40 cilium/m/ >/dev/null
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.9 'not json' >/dev/null
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.0.0.8 'nor this' >/dev/null; $KV "$ETCD_URL" rev)
wait_until 10 db_reached "$db" "$rev"
is "$(metric hindsight_watermark_revision)" "$rev" "watermark revision = the db's recorded_rev"
is "$(metric hindsight_events_recorded_total)" "$(q "$db" "SELECT count(*) FROM events")" \
	"events recorded = rows in the change log"
is "$(metric 'hindsight_decode_errors_total{family="ipcache"}')" 2 \
	"decode errors counted per key family"
is "$(metric 'hindsight_decode_errors_total{family="node"}')" 0 "…and 0 for the others"
# One scrape: the recorder may commit again between two (a progress
# notification), so compare numbers of the same exposition.
curl -s "$M/metrics" >"$TMP/scrape"
awk '/^hindsight_commit_seconds_bucket/ { v = $2 + 0; if (v < last) bad = 1; last = v }
	/^hindsight_commit_seconds_bucket\{le="\+Inf"\}/ { inf = $2 }
	/^hindsight_commit_seconds_count / { cnt = $2 }
	END { exit !(cnt >= 1 && inf == cnt && !bad) }' "$TMP/scrape"
ok $? "commit latency histogram: cumulative buckets, +Inf bucket = count"
[ "$(metric hindsight_db_bytes)" -gt 0 ]
ok $? "db size reported"
is "$(metric hindsight_watch_up)" 1 "watch_up 1"
curl -s "$M/metrics" | grep -q '^# TYPE hindsight_commit_seconds histogram$'
ok $? "Prometheus text format with TYPE lines"
lag=$(metric hindsight_watermark_lag_seconds)
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 5) }'
ok $? "watermark lag in seconds is small while healthy ($lag)"

# etcd goes away: unhealthy, reconnects counted; back: healthy again.
kill -9 "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null
unhealthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/healthz")" = 503 ]; }
wait_until 10 unhealthy
ok $? "/healthz 503 while etcd is down"
curl -s "$M/healthz" | grep -q '^unhealthy: '
ok $? "…saying why"
reconnected() { [ "$(metric hindsight_reconnects_total)" -ge 1 ]; }
wait_until 10 reconnected
ok $? "reconnect attempts counted"
# shellcheck disable=SC2086 # ETCD_ARGS is a list of flags
etcd $ETCD_ARGS --log-level error --logger zap >>"$TMP/etcd-met.log" 2>&1 &
ETCD_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $ETCD_PID"
wait_until 20 curl -sf "$ETCD_URL/health" || bail "etcd did not restart"
$KV "$ETCD_URL" put cilium/back 1 >/dev/null
wait_until 20 healthy
ok $? "/healthz 200 again once etcd is back"
is "$(curl -s -o /dev/null -w '%{http_code}' "$M/nothing")" 404 "other paths: 404"
curl -s -X POST -d x=1 -D "$TMP/h405" -o /dev/null "$M/metrics"
head -1 "$TMP/h405" | grep -q ' 405 ' && grep -qi '^Allow: GET, HEAD' "$TMP/h405"
ok $? "other methods: 405 with the Allow header (RFC 9110)"
curl -sI "$M/metrics" >"$TMP/hhead"
head -1 "$TMP/hhead" | grep -q ' 200 ' && grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/hhead"
ok $? "HEAD /metrics: 200 with the exposition format's type"
rec_stop
ok $? "SIGTERM: exit 0"

# JSON logs: every line an object with time, level and msg.
"$PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) == {"time", "level", "msg"}, o
    n += 1
assert n >= 3
' "$TMP/rec.log"
ok $? "--log-format json: one JSON object per line"

# Bad addresses: exit 1 with one line.
"$BIN/hindsight-recorder" --db "$TMP/x.db" --endpoints "$ETCD_URL" \
	--metrics-addr nonsense 2>"$TMP/err"
is $? 1 "--metrics-addr without a port: exit 1"
for a in 127.0.0.1:0 127.0.0.1:65536; do
	"$BIN/hindsight-recorder" --db "$TMP/x.db" --endpoints "$ETCD_URL" \
		--metrics-addr "$a" 2>"$TMP/err"
	is $? 1 "--metrics-addr $a: exit 1"
	grep -q "metrics-addr $a: the port must be 1 to 65535" "$TMP/err"
	ok $? "…saying the port is out of range (not 'not HOST:PORT')"
done
"$BIN/hindsight-recorder" --db "$TMP/x.db" --endpoints "$ETCD_URL" \
	--metrics-addr "127.0.0.1:${ETCD_URL##*:}" 2>"$TMP/err"
is $? 1 "--metrics-addr on a port in use: exit 1"
grep -q 'cannot listen' "$TMP/err"
ok $? "…saying it cannot listen"
[ ! -e "$TMP/x.db" ]
ok $? "…and neither left a new db behind"

# ":PORT" is every address, IPv6 ones too (it was 0.0.0.0 only, out of
# reach of a Prometheus scraping the host's IPv6 address).  Checked in a
# network namespace of its own, where every address is a loopback one.
if unshare -n true 2>/dev/null; then
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare -n sh -c '
		ip link set lo up || exit 1
		"$1" --db "$2" --endpoints http://127.0.0.1:1 --metrics-addr :9963 2>/dev/null &
		p=$!
		i=0
		while [ $i -lt 100 ] && ! ss -ltnH "sport = :9963" | grep -q .; do
			sleep 0.1
			i=$((i + 1))
		done
		ss -ltnH "sport = :9963" | awk "{print \$4}"
		curl -s -o /dev/null -w "%{http_code}\n" http://127.0.0.1:9963/healthz
		kill "$p"
		wait "$p"' sh "$BIN/hindsight-recorder" "$TMP/ns.db" >"$TMP/ns.out" 2>&1
	is "$(cat "$TMP/ns.out")" "*:9963
503" "--metrics-addr :9963: one socket for IPv6 and IPv4 ('*', not 0.0.0.0), 127.0.0.1 answered"
else
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N # skip no network namespace (unshare -n needs root)"
fi
done_testing
