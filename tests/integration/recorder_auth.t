#!/bin/sh
# etcd authentication: a user whose role may only read cilium/, the
# password from a file (never a flag), the token sent with every request,
# and a new one fetched when etcd stops accepting the old (a member
# restart kills simple tokens).  Wrong or missing credentials, or a role
# that may not read the prefix: exit 2.
# The password never reaches a log.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start auth --auth-token simple
post() { curl -sf "$ETCD_URL$1" -H "Authorization: ${TOKEN:-}" -d "$2" >/dev/null; }
# READ on [cilium/, cilium0): the recorder's prefix and nothing else.
etcd_auth watcher Sw0rdf1sh-xyzzy
ok $? "etcd auth enabled with a read-only role on cilium/"
ETCD_TOKEN=$(ETCD_TOKEN='' $KV "$ETCD_URL" auth root r00t-pw)
export ETCD_TOKEN
$KV "$ETCD_URL" load "$TOP/tests/fixtures/cilium-1.7-seed.jsonl" >/dev/null
$KV "$ETCD_URL" put other/secret x >/dev/null

printf 'Sw0rdf1sh-xyzzy\n' >"$TMP/pw"
db="$TMP/auth.db"
rec_start "$db" --user watcher --password-file "$TMP/pw" -v
head=$($KV "$ETCD_URL" rev)
wait_until 20 db_reached "$db" "$head"
ok $? "snapshot as watcher (read-only role on cilium/)"
rev=$($KV "$ETCD_URL" put cilium/live 1)
wait_until 10 db_reached "$db" "$rev"
ok $? "live changes recorded through the token-authenticated watch"
is "$(q "$db" "SELECT count(*) FROM keys WHERE key LIKE 'other/%'")" 0 \
	"nothing outside cilium/ recorded"

# Rotate the password: etcd invalidates the user's tokens, and the file
# gets the new one.  A member restart then forces a new watch, whose old
# token etcd refuses; the recorder re-reads the file and authenticates.
# The file is caught empty first (`echo new > file` truncates it before
# writing): the recorder waits for it, it does not exit.
: >"$TMP/pw"
curl -sf "$ETCD_URL/v3/auth/user/changepw" -H "Authorization: $ETCD_TOKEN" \
	-d '{"name":"watcher","password":"N3w-Sw0rdf1sh-plugh"}' >/dev/null
ok $? "the watcher's password rotated"
kill -9 "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null
# shellcheck disable=SC2086 # ETCD_ARGS is a list of flags
etcd $ETCD_ARGS --auth-token simple --log-level error --logger zap \
	>>"$TMP/etcd-auth.log" 2>&1 &
ETCD_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $ETCD_PID"
wait_until 20 curl -sf "$ETCD_URL/health" || bail "etcd did not restart"
ETCD_TOKEN=$(ETCD_TOKEN='' $KV "$ETCD_URL" auth root r00t-pw)
wait_until 30 grep -q "password-file $TMP/pw: empty; trying again" "$TMP/rec.log"
ok $? "a password file found empty when authenticating again: a warning…"
kill -0 "$REC_PID"
ok $? "…and the recorder waits for it"
printf 'N3w-Sw0rdf1sh-plugh\n' >"$TMP/pw"
rev=$($KV "$ETCD_URL" put cilium/after-restart 2)
wait_until 30 db_reached "$db" "$rev"
ok $? "after the member restart, recording goes on"
grep -q 'info: etcd [^ ]* refused the auth token (.*); authenticated again as watcher' "$TMP/rec.log" &&
	[ "$(grep -c 'authenticated to etcd' "$TMP/rec.log")" -ge 1 ]
r=$?
ok $r "…with a new token, fetched with the rotated password after etcd refused the old one"
[ $r -eq 0 ] || grep -v debug "$TMP/rec.log" | sed 's/^/# /'
rec_stop
ok $? "SIGTERM: exit 0"
is "$(db_history "$db" 1)" "$($KV "$ETCD_URL" history cilium/ $(($(q "$db" \
	"SELECT value FROM meta WHERE name='first_rev'") + 1)))" \
	"history equals etcd's"

# ETCDCTL_USER=name:password works as with etcdctl.
ETCDCTL_USER=watcher:N3w-Sw0rdf1sh-plugh "$BIN/hindsight-recorder" --db "$TMP/env.db" \
	--endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "ETCDCTL_USER=name:password"

# refused NAME WHAT PATTERN FLAGS...: a --once run with FLAGS exits 2 and
# its log (TMP/NAME.log) matches PATTERN.
refused() {
	_name=$1 _what=$2 _pat=$3
	shift 3
	"$BIN/hindsight-recorder" --db "$TMP/$_name.db" --endpoints "$ETCD_URL" \
		--once "$@" 2>"$TMP/$_name.log"
	is $? 2 "$_what: exit 2"
	grep -q "$_pat" "$TMP/$_name.log"
	ok $? "…saying so ($_pat)"
}

# Wrong and missing credentials.
printf 'not-the-password\n' >"$TMP/bad"
refused bad "a wrong password" 'authentication as watcher failed' \
	--user watcher --password-file "$TMP/bad"
# The db the refused run created serves the next run, with the password.
"$BIN/hindsight-recorder" --db "$TMP/bad.db" --endpoints "$ETCD_URL" --once \
	--user watcher --password-file "$TMP/pw" 2>>"$TMP/bad.log"
is $? 0 "…and the db that run created records once the password is right"
is "$(db_state "$TMP/bad.db")" "$($KV "$ETCD_URL" state cilium/)" "…the whole prefix"
refused none "no credentials against an etcd with auth" \
	'requires authentication.*--user'
# A user whose role may read other/ but not cilium/.
TOKEN=$ETCD_TOKEN
post /v3/auth/role/add '{"name":"elsewhere"}'
post /v3/auth/role/grant '{"name":"elsewhere","perm":{"permType":"READ","key":"b3RoZXIv","range_end":"b3RoZXIw"}}'
post /v3/auth/user/add '{"name":"stranger","password":"Gr4nt-m3-n0thing"}'
post /v3/auth/user/grant '{"user":"stranger","role":"elsewhere"}'
printf 'Gr4nt-m3-n0thing\n' >"$TMP/pw2"
refused perm "a role that may not read cilium/" 'permission denied' \
	--user stranger --password-file "$TMP/pw2"
[ "$(grep -c 'error:' "$TMP/perm.log")" -eq 1 ]
r=$?
ok $r "…in one error line, not a retry loop"
[ $r -eq 0 ] || sed 's/^/# /' "$TMP/perm.log"
"$BIN/hindsight-recorder" --db "$TMP/x.db" --user watcher 2>"$TMP/err"
is $? 1 "a user without a password: exit 1"
cat "$TMP"/*.log >"$TMP/all-logs"
grep -q 'Sw0rdf1sh\|not-the-password\|Gr4nt-m3' "$TMP/all-logs"
is $? 1 "no password in any log"
# Authentication enabled while the recorder runs with --user: at start
# etcd said it was disabled, so no token was asked for; once etcd wants
# one ("user name is empty"), the recorder must authenticate, not retry
# without a token forever.
etcd_start later --auth-token simple
unset ETCD_TOKEN
printf 'L4ter-Sw0rdf1sh\n' >"$TMP/pw3"
db="$TMP/later.db"
: >"$TMP/rec.log"
rec_start "$db" --user watcher --password-file "$TMP/pw3" -v
rev=$($KV "$ETCD_URL" put cilium/before-auth 1)
wait_until 20 db_reached "$db" "$rev"
ok $? "--user against an etcd without auth: records"
etcd_auth watcher L4ter-Sw0rdf1sh
ok $? "authentication enabled in etcd meanwhile"
# A member restart ends the watch: the next one needs a token.
etcd_restart
ETCD_TOKEN=$(ETCD_TOKEN='' $KV "$ETCD_URL" auth root r00t-pw)
export ETCD_TOKEN
rev=$($KV "$ETCD_URL" put cilium/after-auth 2)
wait_until 30 db_reached "$db" "$rev"
r=$?
ok $r "…and goes on recording once etcd wants a token, authenticated"
[ $r -eq 0 ] || grep -v debug "$TMP/rec.log" | tail -8 | sed 's/^/# /'
rec_stop
ok $? "SIGTERM: exit 0"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "…state equals etcd's"
grep -q 'L4ter-Sw0rdf1sh' "$TMP/rec.log"
is $? 1 "…and the password is in no log"
# JWT tokens expire at a fixed time, while the watch they opened goes on
# (etcd checks a watch's token when it is created) and the reads that
# show the watched member is live do not: at each expiry the recorder
# must authenticate again and keep its watch, not leave a healthy member
# (a reconnect, a warning and a move to the next endpoint every TTL).
openssl genrsa -out "$TMP/jwt.key" 2048 2>/dev/null &&
	openssl rsa -in "$TMP/jwt.key" -pubout -out "$TMP/jwt.pub" 2>/dev/null
ok $? "an RSA key pair for etcd's JWTs"
etcd_start jwt --auth-token "jwt,pub-key=$TMP/jwt.pub,priv-key=$TMP/jwt.key,sign-method=RS256,ttl=5s"
unset ETCD_TOKEN
# 8000 keys, listed one per page: a listing that outlasts its token.
$KV "$ETCD_URL" txn 80 cilium/many/ 100 >/dev/null
etcd_auth watcher Jwt-Sw0rdf1sh
ok $? "etcd with auth and JWTs that expire after 5 s"
printf 'Jwt-Sw0rdf1sh\n' >"$TMP/pw4"
db="$TMP/jwt.db"
: >"$TMP/rec.log"
rec_start "$db" --user watcher --password-file "$TMP/pw4" --page-limit 1 -v
# jput KEY VALUE: a put as root, with a fresh token (they expire).
jput() { ETCD_TOKEN=$(ETCD_TOKEN='' $KV "$ETCD_URL" auth root r00t-pw) $KV "$ETCD_URL" put "$1" "$2"; }
# The password file is caught empty (mid-rotation) when the token
# expires: authenticating again fails until it is back.
wait_until 20 grep -q 'authenticated to etcd' "$TMP/rec.log"
ok $? "the listing begins, authenticated"
: >"$TMP/pw4"
wait_until 30 grep -q "password-file $TMP/pw4: empty; trying again" "$TMP/rec.log"
ok $? "…its token expires, and the password file is found empty"
printf 'Jwt-Sw0rdf1sh\n' >"$TMP/pw4"
wait_until 60 grep -q 'info: snapshot: ' "$TMP/rec.log"
ok $? "a listing of 8000 pages that outlasts its JWT completes"
sed -n '/info: snapshot: /q;/refused the auth token/p' "$TMP/rec.log" | grep -q .
ok $? "…with the token refused in the middle, and authenticated again"
# Each page goes on after the last (-v: "N keys listed so far").
is "$(sed -n 's/.* debug: snapshot: \([0-9]*\) keys listed so far$/\1/p' "$TMP/rec.log" |
	awk 'NR > 1 && $1 <= prev { print "from " prev " back to " $1 } { prev = $1 }')" "" \
	"…going on after the last key listed, never starting over"
is "$(db_state "$db")" "$(ETCD_TOKEN=$(ETCD_TOKEN='' $KV "$ETCD_URL" auth root r00t-pw) $KV "$ETCD_URL" state cilium/)" \
	"…whose state equals etcd's"
# From here on, the watch: the log after the listing's end.
snapline=$(grep -n 'info: snapshot: ' "$TMP/rec.log" | cut -d: -f1)
watchlog() { tail -n +"$snapline" "$TMP/rec.log"; }
rev=$(jput cilium/jwt-before 1)
wait_until 20 db_reached "$db" "$rev"
ok $? "recording with a JWT"
# Two authentications after an expiry.
authed() { [ "$(watchlog | grep -c 'info: etcd [^ ]* refused the auth token (.*); authenticated again as watcher')" -ge 2 ]; }
wait_until 40 authed
ok $? "…authenticated again after its token expired, twice"
# One info line for each (-v shows the refusal as a debug line too).
is "$(watchlog | grep ' info: ' | grep -c 'auth')" "$(watchlog | grep -c 'authenticating again')" \
	"…one info line each time"
rev=$(jput cilium/jwt-after 2)
wait_until 10 db_reached "$db" "$rev"
ok $? "…recording live meanwhile"
is "$(watchlog | grep -c 'info: watching cilium/')" 1 "…on the one watch it began with"
watchlog | grep -q 'watching elsewhere\| warn: '
r=$?
is $r 1 "…no warning, the member is not left"
[ $r -eq 1 ] || watchlog | grep -v debug | head -12 | sed 's/^/# /'
rec_stop
ok $? "SIGTERM: exit 0"
done_testing
