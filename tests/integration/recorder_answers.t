#!/bin/sh
# Answers that are not etcd's JSON (etcd's plain-text 421 when its
# --host-whitelist does not name the URL's host, a 404 from a server that
# has no /v3/ gateway, a proxy's HTML error page, a 503 text): each failure
# is logged with its HTTP status and the answer's text on one line, never
# as a "malformed message" or with an empty reason, and an answer that
# only the configuration explains (404, 405, 421) says what to fix, once
# per endpoint.  Retried all the same: another endpoint may serve.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh" # free_port
. "$TOP/tests/lib/recorder.sh"

retries() { [ "$(grep -c 'retrying in' "$TMP/rec.log")" -ge "$1" ]; }

# refused URL WHAT TEXT FIX: a new db recorded from URL, which refuses
# every listing page: each failure (3) is logged with TEXT (a regex), and
# FIX once; SIGTERM ends it.
refused() {
	: >"$TMP/rec.log"
	ETCD_URL=$1
	rec_start "$TMP/refused.db"
	wait_until 20 retries 3
	ok $? "$2: retried (3 seen)"
	_n=$(grep -c ' warn: snapshot from [^ ]* failed: ' "$TMP/rec.log")
	is "$(grep -c " warn: snapshot from [^ ]* failed: $3" "$TMP/rec.log")" "$_n" \
		"…each failure logged with its status and the answer's text ($_n)"
	is "$(grep -c "$4" "$TMP/rec.log")" 1 "…and, once, what to fix"
	rec_stop
	ok $? "…SIGTERM: exit 0"
}

# A real etcd that refuses the host name: 421 with a text that begins
# with an empty line.  (etcd_start's wait would get that 421 too: here
# it asks by the name etcd takes.)
cport=$(free_port)
pport=$(free_port)
url="http://127.0.0.1:$cport"
etcd --name hw --data-dir "$TMP/etcd-hw" --host-whitelist example.com \
	--listen-client-urls "$url" --advertise-client-urls "$url" \
	--listen-peer-urls "http://127.0.0.1:$pport" \
	--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "hw=http://127.0.0.1:$pport" --log-level error --logger zap \
	>"$TMP/etcd-hw.log" 2>&1 &
etcd_pid=$!
CLEANUP_PIDS="$CLEANUP_PIDS $etcd_pid"
wait_until 20 curl -sf -H 'Host: example.com' "$url/health" || bail "etcd did not start"
refused "$url" "etcd --host-whitelist" \
	'HTTP 421 Misdirected Request: etcd received your request, but the Host header was unrecognized' \
	'answers HTTP 421 to POST /v3/kv/range: .*--host-whitelist'
kill "$etcd_pid"
wait "$etcd_pid" 2>/dev/null

# fake NAME SCRIPT-JSON: the fake gateway (tests/lib/fake_etcd.py) with
# that script; sets FAKE_URL.
fake() {
	printf '%s\n' "$2" >"$TMP/$1.json"
	rm -f "$TMP/port"
	"$PY" "$TOP/tests/lib/fake_etcd.py" "$TMP/$1.json" "$TMP/port" "$TMP/$1.watches" &
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	wait_until 10 test -s "$TMP/port" || bail "fake etcd did not start"
	FAKE_URL="http://127.0.0.1:$(cat "$TMP/port")"
}

# A server with no /v3/ gateway (an etcd 3.3 serves /v3beta/): 404 text.
fake v33 '{"range": {}, "answers": {"/v3/kv/range": {"status": 404, "body": "404 page not found\n"}},
	"watches": [{"status": 404, "body": "404 page not found\n"}]}'
refused "$FAKE_URL" "no /v3/ gateway" 'HTTP 404 Not Found: 404 page not found$' \
	'answers HTTP 404 to POST /v3/kv/range: no etcd v3 JSON gateway there: an etcd older than 3.4'

# The watch answered by what stands before etcd, then by etcd itself:
# a proxy's HTML page, a proxy's 503 text, a 404, etcd's own refusal (a
# JSON error object), then a watch.
html='<html>\n<head><title>502 Bad Gateway</title><style>body { color: red; }</style></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n'
envoy='upstream connect error or disconnect/reset before headers. reset reason: connection failure'
noleader='{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}'
fake proxied "$("$PY" - "$html" "$envoy" "$noleader" <<'PYEOF'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
hdr = lambda rev: {"cluster_id": "7", "member_id": "1", "revision": str(rev), "raft_term": "2"}
line = lambda o: json.dumps(o) + "\n"
rng = {"header": hdr(10), "kvs": [{"key": b("cilium/a"), "create_revision": "5",
       "mod_revision": "5", "version": "1", "value": b("one")}], "count": "1"}
print(json.dumps({"range": rng, "watches": [
    {"status": 502, "type": "text/html", "body": sys.argv[1].replace("\\n", "\n")},
    {"status": 503, "body": sys.argv[2]},
    {"status": 404, "body": "404 page not found\n"},
    {"status": 503, "type": "application/json", "body": json.loads('"' + sys.argv[3] + '"')},
    [{"send": line({"result": {"header": hdr(10), "created": True}})},
     {"send": line({"result": {"header": hdr(11), "events": [{"kv": {"key": b("cilium/b"),
      "create_revision": "11", "mod_revision": "11", "version": "1", "value": b("two")}}]}})},
     {"hold": True}]]}))
PYEOF
)"
db="$TMP/proxied.db"
: >"$TMP/rec.log"
# shellcheck disable=SC2034 # read by rec_start
ETCD_URL=$FAKE_URL
rec_start "$db"
wait_until 30 db_reached "$db" 11
ok $? "watches refused four times, then recorded through revision 11"
is "$(sed -n 's/^[^ ]* warn: watch on [^ ]* ended: //p' "$TMP/rec.log")" \
	"HTTP 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx
HTTP 503 Service Unavailable: $envoy
HTTP 404 Not Found: 404 page not found
etcd error 14: etcdserver: no leader (HTTP 503)" \
	"…each refusal logged with its status and its text, on one line"
is "$(grep -c 'answers HTTP 404 to POST /v3/watch: no etcd v3 JSON gateway there' "$TMP/rec.log")" 1 \
	"…the 404 says what it means"
! grep -q 'malformed' "$TMP/rec.log"
ok $? "…none taken for a malformed message"
is "$(db_history "$db" 0)" "11|PUT|cilium/b|74776F" "…and the event recorded once"
rec_stop
ok $? "…SIGTERM: exit 0"

done_testing
