#!/bin/sh
# Secrets never reach a log, an error or --print-config (PRODUCT.md), on
# the paths an audit found leaking: user:password in a scheme-less or
# HTTP:// endpoint, a password holding '@', etcdctl's --user NAME:PASSWORD,
# a JWT too long for a fixed buffer (its 200 body was quoted as an error),
# and an encrypted --key (OpenSSL prompted on the terminal).  A password
# file that is a directory or whose line overflows says so.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

REC="$BIN/hindsight-recorder"
S=S3cretPW

# refuse NAME DESC: the command after it exits 1 and its output holds no $S.
refuse() {
	_n=$1 _d=$2
	shift 2
	"$@" >"$TMP/$_n.out" 2>&1
	is $? 1 "$_d: exit 1"
	! grep -q "$S" "$TMP/$_n.out"
	ok $? "…without the password"
}
refuse noscheme "user:pw@host without a scheme" \
	env ETCDCTL_ENDPOINTS="root:$S@127.0.0.1:1" "$REC" --db "$TMP/a.db" --once
refuse upper "HTTP://user:pw@host" \
	env ETCDCTL_ENDPOINTS="HTTP://root:$S@127.0.0.1:1" "$REC" --db "$TMP/a.db" --once
printf 'endpoints:\n- root:%s@127.0.0.1:1\n' "$S" >"$TMP/etcd.config"
refuse yaml "user:pw@host in --etcd-config" \
	"$REC" --db "$TMP/a.db" --etcd-config "$TMP/etcd.config" --once
refuse user "--user NAME:PASSWORD" \
	"$REC" --db "$TMP/a.db" --user "watcher:$S" --once
for ep in "root:$S@127.0.0.1:1" "http://root:x@$S@127.0.0.1:1"; do
	ETCDCTL_ENDPOINTS=$ep "$REC" --print-config >"$TMP/pc.out" 2>&1
	! grep -q "$S" "$TMP/pc.out" && grep -q '\*\*\*@127.0.0.1:1' "$TMP/pc.out"
	ok $? "--print-config masks through the last '@' ($ep)"
done

mkdir "$TMP/pwdir"
timeout 20 "$REC" --db "$TMP/b.db" --endpoints http://127.0.0.1:1 --once --user watcher --password-file "$TMP/pwdir" 2>"$TMP/dir.out"
is $? 1 "a directory as --password-file: exit 1"
grep -q 'Is a directory' "$TMP/dir.out"
ok $? "…saying so, not 'empty'"
"$PY" -c "print('A' * 2000)" >"$TMP/pwlong"
timeout 20 "$REC" --db "$TMP/b.db" --endpoints http://127.0.0.1:1 --once --user watcher --password-file "$TMP/pwlong" 2>"$TMP/long.out"
is $? 1 "a first line longer than the buffer: exit 1, not a truncated password"
grep -q 'longer than' "$TMP/long.out"
ok $? "…saying so"

# JWT signed with a 4096-bit RSA key: ~800 bytes of token.
openssl genrsa -out "$TMP/jwt.key" 4096 2>/dev/null || bail "openssl genrsa failed"
openssl rsa -in "$TMP/jwt.key" -pubout -out "$TMP/jwt.pub" 2>/dev/null || bail "openssl rsa failed"
etcd_start jwt --auth-token "jwt,pub-key=$TMP/jwt.pub,priv-key=$TMP/jwt.key,sign-method=RS256,ttl=60s"
etcd_auth watcher "$S" || bail "enabling auth failed"
printf '%s\n' "$S" >"$TMP/pw"
timeout 20 "$REC" --db "$TMP/jwt.db" --endpoints "$ETCD_URL" --user watcher \
	--password-file "$TMP/pw" -v --log-format json --once 2>"$TMP/jwt.out"
is $? 0 "a 4096-bit RS256 JWT: authenticated, --once done"
! grep -q 'eyJ\|token\\":' "$TMP/jwt.out" && ! grep -q "$S" "$TMP/jwt.out"
ok $? "…and no token or password in the log"

# Holding a password, the recorder writes no core (its limit is 0 whatever
# it inherited); holding none, it keeps the limit it was given.
core() { awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$1/limits"; }
cores() { # cores CMD... &: CMD with a core size limit of 1 MiB (background only: exec)
	exec "$PY" -c 'import os, resource, sys
resource.setrlimit(resource.RLIMIT_CORE, (1048576, 1048576))
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
cores "$REC" --db "$TMP/core.db" --endpoints "$ETCD_URL" --user watcher \
	--password-file "$TMP/pw" 2>"$TMP/core.out" &
p1=$!
cores "$REC" --db "$TMP/core2.db" --endpoints http://127.0.0.1:1 2>"$TMP/core2.out" &
p2=$!
CLEANUP_PIDS="$CLEANUP_PIDS $p1 $p2"
recorded() { [ -n "$(db_recorded "$1")" ]; }
wait_until 20 recorded "$TMP/core.db"
ok $? "a long-running recorder authenticated"
is "$(core $p1)" "0/0" "…its core file size limit is 0"
# (The hard limit: a sanitized build's runtime lowers the soft one.)
is "$(core $p2 | cut -d/ -f2)" 1048576 "a recorder without secrets keeps the inherited limit"
kill $p1 $p2

# An encrypted key and no passphrase: a clear error, no terminal prompt
# (the key is loaded once TCP connects: etcd's plain port will do).
openssl req -x509 -newkey rsa:2048 -passout pass:k3y-pass -keyout "$TMP/enc.pem" \
	-out "$TMP/self.pem" -days 2 -subj /O=t 2>/dev/null || bail "openssl failed"
timeout 20 "$REC" --db "$TMP/c.db" --endpoints "https://${ETCD_URL#http://}" \
	--cacert "$TMP/self.pem" --cert "$TMP/self.pem" --key "$TMP/enc.pem" \
	--once </dev/null >"$TMP/enc.out" 2>&1
is $? 1 "an encrypted --key without a passphrase: exit 1"
! grep -q 'pass phrase' "$TMP/enc.out" && grep -q "private key" "$TMP/enc.out"
ok $? "…saying so, no passphrase prompt"
done_testing
