#!/bin/sh
# --etcd-config: the etcd.config YAML Cilium agents mount, read with
# libyaml; flags win over ETCDCTL_*, which win over the file; --print-config
# shows the result and where each setting came from.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

rec=$BIN/hindsight-recorder
etcd_start cfg
rev=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.1.1.1 '{"IP":"10.1.1.1","ID":5}')

# Cilium's file, as the agents' ConfigMap writes it, with a dead endpoint
# first: the recorder must move on to the live one.
dead="http://127.0.0.1:$(free_port)"
cat >"$TMP/etcd.config" <<YAML
---
endpoints:
- $dead
- $ETCD_URL
trusted-ca-file: '/var/lib/etcd-secrets/etcd-client-ca.crt'
key-file: '/var/lib/etcd-secrets/etcd-client.key'
cert-file: '/var/lib/etcd-secrets/etcd-client.crt'
YAML
out=$("$rec" --etcd-config "$TMP/etcd.config" --print-config)
ok $? "--print-config exits 0"
echo "$out" | grep -q "^endpoints  *$dead $ETCD_URL  (--etcd-config)$"
ok $? "endpoints come from the file, in order"
echo "$out" | grep -q "^cacert  */var/lib/etcd-secrets/etcd-client-ca.crt  (--etcd-config)$"
ok $? "trusted-ca-file becomes the CA"
echo "$out" | grep -q "^cert  */var/lib/etcd-secrets/etcd-client.crt  (--etcd-config)$" &&
	echo "$out" | grep -q "^key  */var/lib/etcd-secrets/etcd-client.key  (--etcd-config)$"
ok $? "cert-file and key-file"

out=$(ETCDCTL_CERT=/env/c.pem ETCDCTL_ENDPOINTS=http://127.0.0.1:1 "$rec" \
	--etcd-config "$TMP/etcd.config" --key /flag/k.pem --print-config)
echo "$out" | grep -q '^cert  */env/c.pem  (ETCDCTL_CERT)$'
ok $? "ETCDCTL_CERT wins over the file"
echo "$out" | grep -q '^key  */flag/k.pem  (flag)$'
ok $? "--key wins over the file"
echo "$out" | grep -q '^endpoints  *http://127.0.0.1:1  (ETCDCTL_ENDPOINTS)$'
ok $? "ETCDCTL_ENDPOINTS wins over the file"
out=$(ETCDCTL_ENDPOINTS=http://127.0.0.1:1 "$rec" --etcd-config "$TMP/etcd.config" \
	--endpoints http://127.0.0.1:2 --print-config)
echo "$out" | grep -q '^endpoints  *http://127.0.0.1:2  (flag)$'
ok $? "--endpoints wins over ETCDCTL_ENDPOINTS"

# Older Cilium ConfigMaps name the CA "ca-file" (etcd's old name), which
# the agents still read when trusted-ca-file is absent.
printf 'endpoints:\n- %s\nca-file: /old/ca.crt\n' "$ETCD_URL" >"$TMP/old.config"
"$rec" --etcd-config "$TMP/old.config" --print-config | grep -q '^cacert  */old/ca.crt  (--etcd-config)$'
ok $? "ca-file becomes the CA"
printf 'trusted-ca-file: /new/ca.crt\n' >>"$TMP/old.config"
"$rec" --etcd-config "$TMP/old.config" --print-config | grep -q '^cacert  */new/ca.crt  (--etcd-config)$'
ok $? "…unless trusted-ca-file is given too"
# Empty or null file names, as a template leaves them without TLS: no
# file, as the agents read them (they were "--cacert : cannot read").
printf "endpoints:\n- %s\ntrusted-ca-file: ''\ncert-file:\nkey-file: ~\n" "$ETCD_URL" \
	>"$TMP/empty.config"
timeout 20 "$rec" --db "$TMP/e.db" --etcd-config "$TMP/empty.config" --once 2>"$TMP/err"
is $? 0 "empty or null trusted-ca-file, cert-file, key-file: records (--once)"
is "$(db_recorded "$TMP/e.db")" "$rev" "…through etcd's revision"
# A key given twice: the last value, as Cilium's Go YAML reader takes it
# (a longer list first crashed the recorder).
printf 'endpoints:\n- %s\n- %s\n- %s\nendpoints: [%s]\n' "$dead" "$dead" "$dead" \
	"$ETCD_URL" >"$TMP/twice.config"
out=$("$rec" --etcd-config "$TMP/twice.config" --print-config)
ok $? "endpoints given twice: --print-config exits 0"
echo "$out" | grep -q "^endpoints  *$ETCD_URL  (--etcd-config)$"
ok $? "…with the last list"

# Record with endpoints from the file (no TLS files here: a plain etcd).
grep -v 'file:' "$TMP/etcd.config" >"$TMP/plain.config"
"$rec" --db "$TMP/c.db" --etcd-config "$TMP/plain.config" --once 2>"$TMP/rec.log"
ok $? "records with endpoints from --etcd-config (first one dead)"
is "$(db_recorded "$TMP/c.db")" "$rev" "…through etcd's revision"

# Errors: one line, exit 1.
printf 'endpoints: [a\n' >"$TMP/bad.config"
"$rec" --db "$TMP/x.db" --etcd-config "$TMP/bad.config" 2>"$TMP/err"
is $? 1 "malformed YAML: exit 1"
grep -q 'not YAML' "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ]
ok $? "…one line saying so"
printf 'endpoints: {a: b}\n' >"$TMP/bad2.config"
"$rec" --db "$TMP/x.db" --etcd-config "$TMP/bad2.config" 2>"$TMP/err"
is $? 1 "endpoints not a list: exit 1"
printf 'insecure-skip-tls-verify: true\n' >"$TMP/bad3.config"
"$rec" --db "$TMP/x.db" --etcd-config "$TMP/bad3.config" 2>"$TMP/err"
is $? 1 "insecure-skip-tls-verify: exit 1 (verification stays on)"
for t in yes True on; do
	printf 'insecure-skip-tls-verify: %s\n' "$t" >"$TMP/bad3.config"
	"$rec" --etcd-config "$TMP/bad3.config" --print-config >/dev/null 2>"$TMP/err"
	is $? 1 "insecure-skip-tls-verify: $t (true to Cilium): exit 1"
done
"$rec" --db "$TMP/x.db" --etcd-config "$TMP/missing.config" 2>"$TMP/err"
is $? 1 "a missing file: exit 1"
mkdir "$TMP/etcd-config.d"
"$rec" --db "$TMP/x.db" --etcd-config "$TMP/etcd-config.d" 2>"$TMP/err"
is $? 1 "a directory: exit 1"
grep -q 'Is a directory' "$TMP/err"
ok $? "…saying so, not 'not YAML: input error'"
"$rec" --db "$TMP/x.db" --endpoints "http://root:s3cret@127.0.0.1:2379" 2>"$TMP/err"
is $? 1 "credentials in an endpoint URL: exit 1"
grep -q s3cret "$TMP/err"
is $? 1 "…and the password is not echoed"
# An endpoint curl cannot use: refused at start, before any db exists
# ("http://", as ETCDCTL_ENDPOINTS=http://$HOST gives with HOST unset, was
# taken for the host "v3" of "http:///v3/..." and retried forever; a bad
# port or a stray blank failed only once the db was created).
for ep in "http://" "https://:2379" "http://127.0.0.1:99999" "$ETCD_URL,http://[::1" \
	"$ETCD_URL " "http:///v3"; do
	timeout 10 "$rec" --db "$TMP/x.db" --endpoints "$ep" --once 2>"$TMP/err"
	is $? 1 "endpoint '$ep': exit 1"
	grep -q "^hindsight-recorder: endpoint '" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 2 ]
	ok $? "…one line naming it (and the --help hint)"
done
[ ! -e "$TMP/x.db" ]
ok $? "no db created by a configuration error"

# --retain takes the CLI's durations: groups of a number and a unit.
for a in "1d12h:129600.000000" "2w:1209600.000000" "1.5h:5400.000000" \
	"90m:5400.000000" "0.25s:0.250000"; do
	out=$("$rec" --db "$TMP/x.db" --retain "${a%%:*}" --print-config)
	is "$(echo "$out" | sed -n 's/^retain *\([^ ]*\) s,.*/\1/p')" "${a#*:}" \
		"--retain ${a%%:*} is ${a#*:} s"
done
is "$("$rec" --db "$TMP/x.db" --print-config | sed -n 's/^retain *//p')" "-" \
	"no --retain: nothing pruned"
for a in 0s 1h30 5y -1d; do
	"$rec" --db "$TMP/x.db" --retain "$a" --print-config >/dev/null 2>"$TMP/err"
	is $? 1 "--retain $a: exit 1"
done
[ ! -e "$TMP/x.db" ]
ok $? "--print-config creates no db"

# The catch-up's settings, defaults and flags.
out=$("$rec" --db "$TMP/x.db" --print-config)
echo "$out" | grep -q '^catchup-min  *20000$' && echo "$out" | grep -q '^catchup-dense  *4$'
ok $? "--print-config shows --catchup-min 20000 and --catchup-dense 4 by default"
is "$("$rec" --db "$TMP/x.db" --catchup-dense 2.5 --print-config | sed -n 's/^catchup-dense *//p')" 2.5 \
	"--catchup-dense takes a fraction"
for a in x -1 ''; do
	"$rec" --db "$TMP/x.db" --catchup-dense "$a" --print-config >/dev/null 2>"$TMP/err"
	is $? 1 "--catchup-dense '$a': exit 1"
done
grep -q 'bad value for --catchup-dense' "$TMP/err"
ok $? "…saying which flag"
# Every setting is shown, the password file by name only.
printf 's3cret\n' >"$TMP/pw"
out=$("$rec" --db "$TMP/x.db" --once-quiet 4 --batch-ms 7 --batch-events 3 \
	--sync-every 5 --page-limit 9 --metrics-addr 127.0.0.1:9 --log-format json \
	--user bob --password-file "$TMP/pw" --print-config)
for want in "once-quiet 4" "batch-ms 7" "batch-events 3" "sync-every 5" \
	"page-limit 9" "metrics-addr 127.0.0.1:9" "log-format json" "user bob (flag)" \
	"password *** (--password-file $TMP/pw)"; do
	echo "$out" | tr -s ' ' | grep -qxF "$want"
	ok $? "--print-config shows $want"
done
echo "$out" | grep -q s3cret
is $? 1 "…and never the password"
out=$("$rec" --db "$TMP/x.db" --print-config)
for want in "once-quiet 2" "batch-ms 20" "batch-events 10000" "sync-every 1" \
	"page-limit 5000" "metrics-addr -" "log-format text"; do
	echo "$out" | tr -s ' ' | grep -qxF "$want"
	ok $? "…by default $want"
done

# Counts are cast to int or long: a number beyond them was undefined
# (--catchup-streams 1e12 became -2147483648 and passed "at most 32"); a
# fraction was cut silently (--catchup-streams 2.5 ran 2 watches).
for a in "--catchup-streams 1e12" "--catchup-streams 33" "--batch-events 1e30" \
	"--page-limit 1e19" "--catchup-min inf" "--sync-every nan" \
	"--catchup-streams 2.5" "--batch-events 1.5" "--page-limit 99.9" "--catchup-min 20000.5"; do
	# shellcheck disable=SC2086 # flag and value are two words
	"$rec" --db "$TMP/x.db" $a --print-config >/dev/null 2>"$TMP/err"
	is $? 1 "$a: exit 1"
done
is "$("$rec" --db "$TMP/x.db" --page-limit 5e3 --print-config | sed -n 's/^page-limit *//p')" 5000 \
	"--page-limit 5e3 is a whole number: 5000"

# With --log-format json (the packaged unit's default), a start that fails
# says why in a JSON log line too: a log shipper reading JSON would not
# parse "hindsight-recorder: ..." (an unreadable --cacert, the usual first
# error under DynamicUser=, came as text).
# json_fails DESC TEXT ARGS...: exit 1, stderr only JSON lines at level
# error, the first holding TEXT.
json_fails() {
	_d=$1 _w=$2
	shift 2
	"$rec" "$@" >/dev/null 2>"$TMP/err"
	is $? 1 "--log-format json, $_d: exit 1"
	"$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no line"
for line in lines:
    o = json.loads(line)
    assert set(o) == {"time", "level", "msg"} and o["level"] == "error", o
assert sys.argv[2] in lines[0], lines[0]
' "$TMP/err" "$_w"
	ok $? "…one JSON log line saying so"
}
json_fails "an unreadable --cacert" "--cacert $TMP/none.crt: cannot read" \
	--log-format json --db "$TMP/x.db" --endpoints "$ETCD_URL" --cacert "$TMP/none.crt"
json_fails "a missing --etcd-config" "--etcd-config $TMP/none.config" \
	--db "$TMP/x.db" --etcd-config "$TMP/none.config" --log-format=json
json_fails "a bad value" "bad value for --batch-ms" \
	--log-format json --db "$TMP/x.db" --batch-ms soon
json_fails "an unknown flag" "unrecognized option '--nope'" \
	--log-format json --db "$TMP/x.db" --nope
json_fails "a flag without its value" "option '--db' requires an argument" \
	--log-format json --db
# What getopt would say, naming the flag at fault: not the argument
# before a cluster of short flags, nor "unrecognized" for a known one.
json_fails "an unknown short flag in a cluster" "invalid option -- 'q'" \
	--log-format json --db "$TMP/x.db" -qv
json_fails "a value for a flag that takes none" \
	"option '--once' doesn't allow an argument" \
	--log-format json --db "$TMP/x.db" --once=yes
json_fails "an ambiguous abbreviation" "option '--e' is ambiguous" \
	--log-format json --db "$TMP/x.db" --e "$ETCD_URL"
json_fails "--user NAME:PASSWORD" "--user takes a name only" \
	--log-format json --db "$TMP/x.db" --user "bob:s3cret"
grep -q s3cret "$TMP/err"
is $? 1 "…without the password"
[ ! -e "$TMP/x.db" ]
ok $? "…and no db"
done_testing
