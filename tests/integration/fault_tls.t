#!/bin/sh
# TLS with client certificates (issue 4, item 3; etcd-gateway.md section 6).
# The test makes its own CA, a server certificate for IP:127.0.0.1 and a
# client certificate without CN, runs etcd over https with
# --client-cert-auth, and records with --cacert/--cert/--key and with the
# ETCDCTL_* environment.  A wrong CA, a missing client certificate,
# expired certificates, http:// to the TLS port and https:// to a plain
# port must be a clear error.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

command -v openssl >/dev/null || skip_all "openssl is not installed"

# --- certificates ---------------------------------------------------------
P="$TMP/pki"
mkdir -p "$P"
ssl() { openssl "$@" >>"$P/openssl.log" 2>&1 || bail "openssl $1 failed: $(tail -3 "$P/openssl.log")"; }
# mkca NAME: a self-signed CA, NAME.pem / NAME-key.pem
mkca() { ssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/$1-key.pem" -out "$P/$1.pem" -days 2 -subj "/CN=$1"; }
mkca ca
mkca other-ca
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$P/server.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$P/client.ext"
ssl req -newkey rsa:2048 -nodes -keyout "$P/server-key.pem" -out "$P/server.csr" -subj "/CN=etcd-server"
ssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca-key.pem" -CAcreateserial \
	-out "$P/server.pem" -days 2 -extfile "$P/server.ext"
ssl req -newkey rsa:2048 -nodes -keyout "$P/client-key.pem" -out "$P/client.csr" -subj "/O=recorder" # no CN
ssl x509 -req -in "$P/client.csr" -CA "$P/ca.pem" -CAkey "$P/ca-key.pem" -CAcreateserial \
	-out "$P/client.pem" -days 2 -extfile "$P/client.ext"
# Expired certificates: `openssl ca` takes explicit start and end dates.
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = tca
[tca]
database = $P/index.txt
new_certs_dir = $P
serial = $P/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
organizationName = optional
commonName = optional
EOF
: >"$P/index.txt"
echo 1000 >"$P/serial"
# expired CSR EXT OUT: valid only on 1-2 January 2020.
expired() {
	ssl ca -batch -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca-key.pem" -in "$1" \
		-out "$3" -startdate 20200101000000Z -enddate 20200102000000Z -extfile "$2" -notext
}
expired "$P/client.csr" "$P/client.ext" "$P/client-expired.pem"
expired "$P/server.csr" "$P/server.ext" "$P/server-expired.pem"
openssl x509 -in "$P/client.pem" -noout -subject | grep -q 'CN' && bail "client cert has a CN"
# A client certificate with a CN, as etcdctl users make them.
ssl req -newkey rsa:2048 -nodes -keyout "$P/cn-key.pem" -out "$P/cn.csr" -subj "/CN=watcher"
ssl x509 -req -in "$P/cn.csr" -CA "$P/ca.pem" -CAkey "$P/ca-key.pem" -CAcreateserial \
	-out "$P/cn.pem" -days 2 -extfile "$P/client.ext"
ok 0 "CA, server (SAN IP:127.0.0.1), client (no CN) and expired certificates generated"

# etcd_tls NAME CERT KEY: a member serving https with client-cert auth;
# sets TLS_URL.  Waits until it answers a client with valid certificates.
etcd_tls() {
	_port=$(free_port)
	_pport=$(free_port)
	TLS_URL="https://127.0.0.1:$_port"
	etcd --name "$1" --data-dir "$TMP/etcd-$1" \
		--listen-client-urls "$TLS_URL" --advertise-client-urls "$TLS_URL" \
		--listen-peer-urls "http://127.0.0.1:$_pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$_pport" \
		--initial-cluster "$1=http://127.0.0.1:$_pport" \
		--cert-file "$2" --key-file "$3" --trusted-ca-file "$P/ca.pem" --client-cert-auth \
		--log-level error --logger zap >"$TMP/etcd-$1.log" 2>&1 &
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	TLS_PID=$!
}
tls_up() {
	curl -sf --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem" "$TLS_URL/health"
}
# curl -k with a client cert: an etcd serving an expired cert is up.
tls_up_insecure() {
	curl -sfk --cert "$P/client.pem" --key "$P/client-key.pem" "$TLS_URL/health"
}

etcd_tls tls "$P/server.pem" "$P/server-key.pem"
wait_until 20 tls_up || bail "etcd over TLS did not start: $(tail -3 "$TMP/etcd-tls.log")"
export FAULT_CACERT="$P/ca.pem" FAULT_CERT="$P/client.pem" FAULT_KEY="$P/client-key.pem"
$FKV "$TLS_URL" writer 40 cilium/tls/ >/dev/null
ok $? "writer over TLS with the client certificate"
curl -s -o /dev/null --cacert "$P/ca.pem" "$TLS_URL/v3/kv/range" -d '{"key":"AA=="}'
rc=$?
case $rc in 35 | 55 | 56) r=0 ;; *) r=1 ;; esac
ok $r "etcd refuses a client without a certificate (curl $rc: --client-cert-auth is on)"

# --- recording with flags -----------------------------------------------
db="$TMP/flags.db"
log="$TMP/flags.log"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$TLS_URL" --once \
	--cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem" 2>>"$log"
ok $? "--once over https with --cacert/--cert/--key: exit 0"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")
is "$(db_state "$db")" "$($FKV "$TLS_URL" state cilium/)" "snapshot over TLS equals etcd's state"
rec_run "$db" "$TLS_URL" "$log" --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem"
wait_until 10 grep -q ' info: watching ' "$log"
ok $? "live watch over TLS started"
$FKV "$TLS_URL" writer 200 cilium/tls2/ >/dev/null
head=$($FKV "$TLS_URL" rev)
wait_until 15 db_reached "$db" "$head"
ok $? "live changes over TLS recorded through $head"
rec_term
ok $? "SIGTERM: exit 0"
hist_check "$db" "$TLS_URL" $((first + 1)) "history over TLS equals etcd's"

# --- the same from ETCDCTL_* --------------------------------------------
db2="$TMP/env.db"
ETCDCTL_CACERT="$P/ca.pem" ETCDCTL_CERT="$P/client.pem" ETCDCTL_KEY="$P/client-key.pem" \
	ETCDCTL_ENDPOINTS="$TLS_URL" "$BIN/hindsight-recorder" --db "$db2" --once 2>>"$TMP/env.log"
ok $? "--once with ETCDCTL_ENDPOINTS/CACERT/CERT/KEY instead of flags: exit 0"
is "$(db_recorded "$db2")" "$head" "…caught up to etcd's revision"
is "$(db_state "$db2")" "$($FKV "$TLS_URL" state cilium/)" "…state equals etcd's"

# --- what must be a clear error -----------------------------------------
# tls_error NAME PATTERN URL FLAGS...: a fresh db, --once; within 8 s the log
# must name the cause (PATTERN, an ERE).  The right end is a non-zero exit
# with that message; a recorder still retrying after 8 s is reported.
tls_error() {
	_name=$1 _pat=$2 _url=$3
	shift 3
	_log="$TMP/$_name.log"
	"$BIN/hindsight-recorder" --db "$TMP/$_name.db" --endpoints "$_url" --once "$@" \
		>"$_log" 2>&1 &
	_pid=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $_pid"
	wait_until 8 grep -Eq " (warn|error): .*($_pat)" "$_log"
	ok $? "$_name: a warn/error line names the cause"
	if wait_until 4 dead "$_pid"; then
		reap "$_pid"
		_rc=$?
		[ "$_rc" -ne 0 ]
		ok $? "$_name: the recorder stops with a non-zero exit ($_rc)"
	else
		todo "$_name: still retrying 4 s after the first error ($(grep -c 'retrying in' "$_log") retries, $(grep -c ' warn: ' "$_log") warn lines); should exit non-zero with one clear line"
		kill -9 "$_pid"
		reap "$_pid" 2>/dev/null
	fi
	is "$(db_recorded "$TMP/$_name.db")" "" "$_name: nothing recorded"
	grep -E ' (warn|error): ' "$_log" | sed 's/^[^ ]* /# /' | sort | uniq -c | head -4
}

tls_error wrong-ca 'certificate problem|SSL' "$TLS_URL" \
	--cacert "$P/other-ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem"
tls_error no-client-cert 'alert|SSL|TLS' "$TLS_URL" --cacert "$P/ca.pem"
tls_error old-client 'alert|SSL|TLS' "$TLS_URL" \
	--cacert "$P/ca.pem" --cert "$P/client-expired.pem" --key "$P/client-key.pem"

# --- http:// to the TLS port --------------------------------------------
# The plain request gets an empty reply, as from an etcd that is
# restarting; a TLS handshake on the same port tells them apart (etcd.c).
# plain_http NAME DB FLAGS...: no --once, so a recorder that retried would
# run forever; it must exit 1 within 10 s with one error line.
plain="http://${TLS_URL#https://}"
# exits_1 PID LOG WHAT: the recorder PID exits 1 within 10 s.
exits_1() {
	CLEANUP_PIDS="$CLEANUP_PIDS $1"
	if wait_until 10 dead "$1"; then
		reap "$1"
		is "$?" 1 "$3: exit 1 within 10 s"
	else
		ok 1 "$3: still running after 10 s ($(grep -c 'retrying in' "$2") retries)"
		kill -9 "$1"
		reap "$1" 2>/dev/null
	fi
}
plain_http() {
	_name=$1 _db=$2
	shift 2
	_log="$TMP/$_name.log"
	"$BIN/hindsight-recorder" --db "$_db" --endpoints "$plain" -v "$@" >"$_log" 2>&1 &
	exits_1 $! "$_log" "$_name: http:// to a TLS port"
	is "$(grep -E ' (warn|error): ' "$_log" | sed 's/^[^ ]* //')" \
		"error: cannot talk to etcd at $plain as configured: ${plain#http://} speaks TLS: use https:// in --endpoints" \
		"$_name: one error line, naming host:port and the fix"
	grep -q "TLS probe of $plain: handshake done" "$_log"
	ok $? "$_name: one TLS handshake told it (-v: $(grep -c 'TLS probe' "$_log") probe)"
}
plain_http plain-http "$TMP/plain-http.db"
is "$(db_recorded "$TMP/plain-http.db")" "" "plain-http: nothing recorded"
# A db recorded over TLS, resumed with the client certificate but http://:
# the resume path (backlog probe, then the watch) ends the same way.
wm=$(db_recorded "$db")
plain_http plain-http-resume "$db" --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem"
is "$(db_recorded "$db")" "$wm" "plain-http-resume: the watermark did not move"

# --- a client certificate with a CN, authentication on ------------------
# etcd's gateway then answers every /v3/ request with a plain-text 400
# (etcd-gateway.md, pitfall 11): a configuration error, not etcd trouble.
etcd_auth watcher Cn-Sw0rdf1sh "$TLS_URL" \
	--cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem"
ok $? "authentication enabled on the TLS etcd"
printf 'Cn-Sw0rdf1sh\n' >"$TMP/cn-pw"
cn_msg="error: cannot talk to etcd at $TLS_URL as configured: etcd refuses a client certificate with a CommonName over its JSON gateway while authentication is on: use one without CN (the etcd user is --user)"
# cn_refused NAME DB FLAGS...: exit 1 within 10 s, the one error line.
cn_refused() {
	_name=$1 _db=$2
	shift 2
	_log="$TMP/$_name.log"
	"$BIN/hindsight-recorder" --db "$_db" --endpoints "$TLS_URL" \
		--cacert "$P/ca.pem" --cert "$P/cn.pem" --key "$P/cn-key.pem" "$@" >"$_log" 2>&1 &
	exits_1 $! "$_log" "$_name"
	is "$(grep -E ' (warn|error): ' "$_log" | sed 's/^[^ ]* //')" "$cn_msg" \
		"$_name: one error line, naming the fix"
}
cn_refused cn-auth "$TMP/cn.db" --user watcher --password-file "$TMP/cn-pw"
is "$(db_recorded "$TMP/cn.db")" "" "cn-auth: nothing recorded"
# Resuming without --user: the watch itself gets the 400.
wm=$(db_recorded "$db")
cn_refused cn-resume "$db"
is "$(db_recorded "$db")" "$wm" "cn-resume: the watermark did not move"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$TLS_URL" --once --user watcher \
	--password-file "$TMP/cn-pw" --cacert "$P/ca.pem" --cert "$P/client.pem" \
	--key "$P/client-key.pem" 2>>"$TMP/cn-ok.log"
ok $? "…the same with a certificate without CN: records (--once, exit 0)"

kill -TERM "$TLS_PID"
reap "$TLS_PID" 2>/dev/null
etcd_tls expired "$P/server-expired.pem" "$P/server-key.pem"
wait_until 20 tls_up_insecure || bail "etcd with an expired cert did not start: $(tail -3 "$TMP/etcd-expired.log")"
tls_error old-server 'certificate has expired' "$TLS_URL" \
	--cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client-key.pem"

# --- https:// to a plain port ----------------------------------------------
# The mirror image: etcd's plain port drops a ClientHello, as an etcd going
# down would; a plain GET /version on the same port tells them apart.
etcd_start plain
https="https://${ETCD_URL#http://}"
log="$TMP/https-plain.log"
"$BIN/hindsight-recorder" --db "$TMP/https-plain.db" --endpoints "$https" -v >"$log" 2>&1 &
exits_1 $! "$log" "https:// to a plain port"
is "$(grep -E ' (warn|error): ' "$log" | sed 's/^[^ ]* //')" \
	"error: cannot talk to etcd at $https as configured: ${https#https://} speaks plain HTTP, not TLS: use http:// in --endpoints" \
	"https:// to a plain port: one error line, naming host:port and the fix"
is "$(grep -c 'plain HTTP probe' "$log")" 1 "…told by one plain request"
is "$(db_recorded "$TMP/https-plain.db")" "" "…nothing recorded"

# etcd.c: curl's getpeername() noise is not what the operator needs.
! grep -q 'getpeername' "$TMP"/*.log
ok $? "no 'getpeername() failed' noise instead of the real error"
# No secret material in any log.
! grep -q 'PRIVATE KEY' "$TMP"/*.log
ok $? "no key material in the logs"
done_testing
