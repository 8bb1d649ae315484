#!/bin/sh
# bin/hindsight against the fixture db (tests/query/mkfixture.sh): answers
# checked against the db's tables by independent means (sqlite3, and a
# Python replay of the raw change log), time syntax and resolution,
# coverage warnings and exit statuses, usage and db errors, read-only.
. "$(dirname "$0")/../lib/tap.sh"
command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"

db="$TMP/fixture.db"
sh "$TOP/tests/query/mkfixture.sh" "$db" || bail "mkfixture.sh failed"
H="$BIN/hindsight"
hs() { "$H" --db "$db" "$@"; }
sum0=$(md5sum <"$db")

# --- snapshot at every revision equals a replay of the change log -------
# The oracle replays events in (rev, seq) order, ignoring to_rev and the
# typed tables: the state at R is each key's last event at or before R,
# if that is a PUT.
cat >"$TMP/replay.py" <<'PY'
import base64, json, sqlite3, sys
db, rev = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
state = {}
for r, typ, key, val, cr, ver, lease in c.execute(
        "SELECT e.rev, e.type, k.key, v.value, e.create_rev, e.version, e.lease "
        "FROM events e JOIN keys k ON k.id = e.key_id "
        "LEFT JOIN vals v ON v.id = e.val_id WHERE e.rev <= ? "
        "ORDER BY e.rev, e.seq", (rev,)):
    if typ == 0:
        state[key] = (bytes(val).hex(), cr, r, ver, lease)
    else:
        state.pop(key, None)
for k in sorted(state, key=lambda s: s.encode()):
    print(k, *state[k], sep="|")
PY
cat >"$TMP/snap.py" <<'PY'
import base64, json, sys
for o in json.load(sys.stdin):
    v = o["value"].encode() if o["value"] is not None else base64.b64decode(o["value_base64"])
    print(o["key"], v.hex(), o["create_rev"], o["mod_rev"], o["version"], o["lease"], sep="|")
PY
bad=""
for r in $(q "$db" "SELECT rev FROM revisions WHERE rev >= 10 ORDER BY rev"); do
	want=$("$PY" "$TMP/replay.py" "$db" "$r")
	got=$(hs --format json snapshot --at "rev:$r" | "$PY" "$TMP/snap.py")
	[ "$got" = "$want" ] || bad="$bad $r"
done
is "$bad" "" "snapshot --at rev:R equals a replay of the change log, every R"
is "$(hs --format json snapshot | "$PY" "$TMP/snap.py")" \
	"$("$PY" "$TMP/replay.py" "$db" 31)" "snapshot (latest) equals the replay to the watermark"
is "$(hs --format json snapshot --kind ipcache --prefix cilium/state/ip/v1/default/10. --at rev:31 |
	jq -r '.[].key' | tr '\n' ' ')" \
	"cilium/state/ip/v1/default/10.6.6.43 cilium/state/ip/v1/default/10.6.7.1 " \
	"snapshot --kind --prefix filters"

# --- ip --at R against the ipcache table, every address, every R --------
bad=""
for ip in 10.6.6.43 10.6.6.50 fd00::1:2 10.6.7.1 10.6.6.99; do
	for r in $(q "$db" "SELECT rev FROM revisions WHERE rev >= 10"); do
		want=$(q "$db" "SELECT identity || ' ' || coalesce(pod, '') || ' ' || from_rev
			FROM ipcache WHERE ip = '$ip' AND from_rev <= $r
			AND (to_rev IS NULL OR to_rev > $r) ORDER BY from_rev")
		got=$(hs --format json ip "$ip" --at "rev:$r" 2>/dev/null |
			jq -r '.[] | "\(.identity) \(.pod // "") \(.from_rev)"')
		[ "$got" = "$want" ] || bad="$bad $ip@$r"
	done
done
is "$bad" "" "ip ADDR --at rev:R matches the ipcache intervals"
is "$(hs --format json ip 10.6.0.0/16 --at rev:31 | jq -r '[.[].ip] | join(" ")')" \
	"10.6.6.43 10.6.7.1" "a CIDR lists every address in it"
# IPv4 is kept as ::ffff:a.b.c.d, yet no IPv6 prefix holds an IPv4 address
# (nor an IPv4 prefix an IPv6 one), as in Go's net and Python's ipaddress.
is "$(hs --format json ip ::/0 --at rev:31 | jq -r '[.[].ip] | join(" ")')" \
	"fd00::1:2" "an IPv6 CIDR lists the IPv6 addresses in it, not the IPv4 ones"
is "$(hs --format json ip ::ffff:0:0/96 --at rev:31 | jq -r 'length')" 0 \
	"…not even through the IPv4-mapped range"
is "$(hs --format json ip 0.0.0.0/0 --at rev:31 | jq -r '[.[].ip] | join(" ")')" \
	"10.6.6.43 10.6.7.1" "an IPv4 CIDR lists only IPv4 addresses"
is "$(hs --format json ip 10.6.6.43 --at rev:13 | jq -c '.[0] | [.namespace, .pod, .node, .host_ip, .identity, (.labels | index("k8s:io.cilium.k8s.policy.serviceaccount=ai-ingressgateway-service-account") != null), (.labels | map(select(test("pod-template-hash"))) | length)]')" \
	'["istio-system","ai-ingressgateway-6bdbdbf7dc-jz85c","k8s-node1","10.5.1.132",12928,true,0]' \
	"the seed: who held 10.6.6.43, with the labels Cilium kept"
keys=$(hs --format json ip 10.6.6.43 --at rev:13 | jq -r '.[0] | keys_unsorted | join(" ")')
miss=""
for k in ip identity labels namespace pod node host_ip encrypt_key from_rev to_rev from_time to_time at at_rev; do
	case " $keys " in *" $k "*) ;; *) miss="$miss $k" ;; esac
done
is "$miss" "" "ip --at objects carry every contract field"

# --- time resolution: "as of T" is the last revision observed by T ------
bad=""
for t in $(q "$db" "SELECT t_hi_us FROM revisions WHERE t_lo_us = t_hi_us"); do
	for d in 0 -1 500000; do
		tt=$((t + d))
		want=$(q "$db" "SELECT coalesce(max(rev), 0) FROM revisions WHERE t_hi_us <= $tt")
		sec=$((tt / 1000000))
		frac=$(printf '%06d' $((tt % 1000000)))
		got=$(hs snapshot --at "@$sec.$frac" --kind heartbeat 2>/dev/null |
			sed -n '1s/.*(rev \([0-9]*\))$/\1/p')
		[ "$got" = "$want" ] || bad="$bad @$sec.$frac"
	done
done
is "$bad" "" "a time resolves to the greatest revision observed at or before it"
at() { hs --format json ip 10.6.6.43 --at "$@" 2>/dev/null | jq -r '.[0].at // empty'; }
is "$(at '2026-11-20T15:01:30+01:00')" "2026-11-20T14:01:30Z" "RFC 3339 with an offset"
is "$(at '2026-11-20T14:01:30.25Z')" "2026-11-20T14:01:30.250Z" "RFC 3339 with a fraction"
is "$(at '2026-11-20 14:01:30')" "2026-11-20T14:01:30Z" "'YYYY-MM-DD HH:MM:SS' is UTC by default"
is "$(hs --format json --tz Europe/Berlin ip 10.6.6.43 --at '2026-11-20 15:01' | jq -r '.[0].at')" \
	"2026-11-20T14:01:00Z" "'YYYY-MM-DD HH:MM' in --tz Europe/Berlin"
is "$(TZ=America/New_York "$H" --db "$db" --format json --tz local ip 10.6.6.43 --at '2026-11-20 09:01:30' | jq -r '.[0].at')" \
	"2026-11-20T14:01:30Z" "--tz local follows TZ"
is "$(hs --format json --tz +05:30 ip 10.6.6.43 --at '2026-11-20 19:31:30' | jq -r '.[0].at')" \
	"2026-11-20T14:01:30Z" "--tz +hh:mm"
is "$(at @1795183290)" "2026-11-20T14:01:30Z" "@UNIX"
is "$(hs --format json ip 10.6.6.43 --at rev:13 | jq -r '.[0].at_rev')" 13 "rev:N"
now=$(date +%s)
got=$(hs --format json snapshot --at -90m 2>/dev/null | jq -r '.[0].at')
want=$(date -u -d "@$((now - 5400))" +%Y-%m-%dT%H:%M)
case "$got" in "$want"*) r=0 ;; *) r=1 ;; esac
ok $r "-90m is 90 minutes before now ($got)"
cp "$db" "$TMP/offset.db"
sqlite3 "$TMP/offset.db" "UPDATE epochs SET rev_offset = 5"
is "$("$H" --db "$TMP/offset.db" --format json snapshot --at rev:10 | jq -r '.[0].at_rev')" 15 \
	"rev:N is an etcd revision of the current epoch: N + rev_offset"
# A second epoch (etcd cluster replaced after rev 22, re-listed at its etcd
# rev 8): rev:0 maps to the previous cluster's last revision, which must
# not pass for the current cluster's state without a warning.
cp "$db" "$TMP/epoch2.db"
sqlite3 "$TMP/epoch2.db" "INSERT INTO epochs VALUES (2, '2222', 22, 8, $((1795183200 + 2400))000000);
	UPDATE meta SET value = 2 WHERE name = 'epoch'"
"$H" --db "$TMP/epoch2.db" snapshot --at rev:0 >/dev/null 2>"$TMP/err"
is "$?:$(grep -c 'rev:0 is before the current etcd cluster was first recorded' "$TMP/err")" "3:1" \
	"rev:0 in a later epoch: before the current cluster's history, exit 3"
"$H" --db "$TMP/epoch2.db" snapshot --at rev:8 >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" "0:" "…its first recorded revision is covered"
# The largest rev:N: past every revision, not N + rev_offset wrapped
# around to a negative revision "before the first snapshot".
"$H" --db "$TMP/epoch2.db" --format json snapshot --at rev:9223372036854775807 \
	>"$TMP/out" 2>"$TMP/err"
is "$?:$(jq -r '.[0].at_rev' "$TMP/out"):$(grep -c 'is after the watermark (everything is recorded through etcd rev 9)' "$TMP/err")" \
	"3:31:1" "rev:INT64_MAX in a later epoch: after the watermark, answered as of it"

# --- coverage: exit 3 with a warning, but still an answer --------------
cov() { # cov WANT-EXIT WARNING-PATTERN DESCRIPTION ARGS...
	_w=$1 _p=$2 _d=$3
	shift 3
	hs "$@" >"$TMP/out" 2>"$TMP/err"
	_rc=$?
	is "$_rc" "$_w" "$_d: exit $_w"
	if [ -n "$_p" ]; then
		grep -q "$_p" "$TMP/err"
		ok $? "$_d: stderr says '$_p'"
	else
		is "$(cat "$TMP/err")" "" "$_d: no warning"
	fi
}
cov 0 "" "inside coverage" ip 10.6.6.43 --at '2026-11-20T14:03:30Z'
cov 0 "" "at the first snapshot" snapshot --at '2026-11-20T14:00:00Z'
cov 3 "before recording began" "before the first snapshot" ip 10.6.6.43 --at '2026-11-20T13:00:00Z'
cov 3 "after the watermark" "after the watermark" ip 10.6.6.43 --at now
cov 3 "inside a gap" "inside a gap" ip 10.6.6.50 --at '2026-11-20T14:35:00Z'
cov 3 "replayed after downtime" "inside a replayed span" identity 12928 --at '2026-11-20T14:15:00Z'
cov 3 "before the first snapshot" "rev before the first snapshot" snapshot --at rev:5
cov 3 "inside a gap" "rev inside a gap" snapshot --at rev:25
cov 3 "after the watermark" "rev after the watermark" snapshot --at rev:99
cov 3 "inside a gap" "a window ending in a gap" changes --from rev:10 --to '2026-11-20T14:35:00Z'
# A start after the watermark (a recorder stopped or behind), no --to:
# nothing recorded after it, not a window "ending before it begins".
cov 3 "is after the watermark" "changes --from after the watermark" changes --from '2026-11-20T15:00:00Z'
is "$(cat "$TMP/out")" "from 2026-11-20T15:00:00Z (rev 31) to 2026-11-20T14:50:00Z (rev 31)
(no rows)" "…an empty answer, echoing both ends"
cov 3 "is after the watermark" "pod --from after the watermark" pod default/web-2 --from '2026-11-20T15:00:00Z'
cov 3 "is after the watermark" "ip --from after the watermark" ip 10.6.6.43 --from '2026-11-20T15:00:00Z'
# A window holding a whole gap: what changed in it was not seen.
for c in "changes --from rev:10 --to rev:31" "churn --from rev:10 --to rev:31" \
	"ip 10.6.6.50" "ip 10.6.0.0/16 --from rev:12 --to rev:31" "pod default/web-1" \
	"identity 12928" "node k8s-node1" "service default/kubernetes" \
	"key cilium/state/ip/v1/default/10.6.6.50"; do
	eval "set -- $c"
	cov 3 "the window holds a gap in the recording (.*revisions 22 to 30, history compacted: .*)" \
		"$c: a window holding a gap" "$@"
done
# The same whole histories on the db without its gap: no warning.
cp "$db" "$TMP/nogap.db"
sqlite3 "$TMP/nogap.db" "DELETE FROM gaps"
for c in "identity 12928" "node k8s-node1" "service default/kubernetes" \
	"key cilium/state/ip/v1/default/10.6.6.50" "ip 10.6.6.50"; do
	eval "set -- $c"
	"$H" --db "$TMP/nogap.db" "$@" >/dev/null 2>"$TMP/err"
	is "$?:$(cat "$TMP/err")" "0:" "$c: a history without a gap, exit 0, no warning"
done
# A db whose first snapshot is not committed yet (a recorder still listing
# a big prefix; here a new empty db): nothing is known, so an answer
# without a time, the whole history or the latest state, must not pass
# for "nobody ever held it" (exit 0, no warning).
"$BIN/hindsight-recorder" --db "$TMP/new.db" --upgrade >/dev/null || bail "--upgrade failed"
for c in "ip 10.6.6.43" "identity 12928" "labels app=web" "pod default/web-2" \
	"node k8s-node1" "service default/kubernetes" "key cilium/blob" "changes" \
	"snapshot"; do
	eval "set -- $c"
	"$H" --db "$TMP/new.db" "$@" >/dev/null 2>"$TMP/err"
	is "$?:$(grep -c 'no recorded snapshot yet' "$TMP/err")" "3:1" \
		"$c on a db with no snapshot yet: exit 3, one warning"
done
# The same with a rev:N (and a window from it to the default end): an
# answer with the warning, not a reversed window (exit 1), and no
# warning naming a revision that was never recorded ("rev 0").
for c in "changes --from rev:5" "pod default/web-2 --from rev:3" \
	"churn --from rev:1 --to now" "ip 10.6.6.43 --at rev:3" "diff rev:1 rev:2" \
	"ip 10.6.6.43 --at -1h"; do
	eval "set -- $c"
	"$H" --db "$TMP/new.db" "$@" >/dev/null 2>"$TMP/err"
	is "$?:$(grep -c 'no recorded snapshot yet' "$TMP/err"):$(grep -c 'rev 0' "$TMP/err")" \
		"3:$(grep -c . "$TMP/err"):0" \
		"$c on a db with no snapshot yet: exit 3, the warning, no revision named"
done
cov 0 "" "identity --at after the gap" identity 12928 --at rev:31
cov 0 "" "a window before the gap" changes --from rev:10 --to rev:21
cov 0 "" "diff across the gap: both states are known" diff rev:12 rev:31
is "$(hs --format json ip 10.6.6.50 --at '2026-11-20T14:35:00Z' 2>/dev/null | jq length)" 1 \
	"a warned answer still answers"
is "$(hs --format json ip 10.6.6.50 --at '2026-11-20T14:15:00Z' 2>/dev/null | jq '.[0].at_rev')" 19 \
	"inside a replayed span: the last revision observed before it"

# Honest bounds: an interval begun in the replayed span says when it may
# have begun; one seen live has no lower bound (exact), as in changes.
is "$(hs --format json identity 12928 | jq -c '[.[] | [.generation, .from_time_lo, .from_time]]')" \
	'[[3,null,null],[20,"2026-11-20T14:10:00Z","2026-11-20T14:20:00Z"]]' \
	"identity: a generation begun in the replayed span has from_time_lo at the stop"
is "$(hs --format json ip 10.6.6.43 2>/dev/null | jq -c '[.[] | [.from_time_lo, .to_time_lo]]')" \
	'[[null,null],[null,null]]' "ip: an interval seen live has no lower bounds"
is "$(hs --format json ip 10.6.6.50 2>/dev/null | jq -r '.[] | select(.to_rev == 30) | "\(.to_time_lo) \(.to_time)"')" \
	"$(q "$db" "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', t_lo_us / 1e6, 'unixepoch') || ' ' ||
		strftime('%Y-%m-%dT%H:%M:%SZ', t_hi_us / 1e6, 'unixepoch') FROM revisions WHERE rev = 30")" \
	"ip: an interval closed by the re-list after the gap: to_time_lo, to_time from its revision"
# The views give the same bounds (format 8), to the microsecond.
us() { sed 's/\.000000Z/Z/g'; }
is "$(q "$db" "SELECT group_concat(coalesce(from_time_lo, 'null') || ' ' ||
	coalesce(from_time, 'null'), ',') FROM (SELECT * FROM identity_history
	WHERE identity = 12928 ORDER BY from_rev)" | us)" \
	"$(hs --format json identity 12928 | jq -r 'map("\(.from_time_lo) \(.from_time)") | join(",")')" \
	"identity_history: from_time_lo and from_time as the CLI has them"
is "$(q "$db" "SELECT coalesce(to_time_lo, 'null') || ' ' || to_time FROM ip_history
	WHERE ip = '10.6.6.50' AND to_rev = 30" | us)" \
	"$(hs --format json ip 10.6.6.50 2>/dev/null | jq -r '.[] | select(.to_rev == 30) | "\(.to_time_lo) \(.to_time)"')" \
	"ip_history: to_time_lo and to_time as the CLI has them"
is "$(q "$db" "SELECT count(*) FROM ip_history WHERE ip = '10.6.6.43'
	AND from_time_lo IS NULL AND to_time_lo IS NULL")" \
	"$(hs --format json ip 10.6.6.43 2>/dev/null | jq length)" \
	"ip_history: no lower bounds for intervals seen live"
is "$(q "$db" "SELECT count(*) FROM changes c JOIN revisions r ON r.rev = c.rev
	WHERE (c.time_lo IS NOT NULL) != coalesce(r.t_lo_us < r.t_hi_us, 0)")" 0 \
	"changes: time_lo exactly for the revisions whose moment is a range"
is "$(q "$db" "SELECT count(*) FROM changes WHERE time_lo IS NOT NULL")" \
	"$(hs --format json changes 2>/dev/null | jq '[.[] | select(.time_lo != null)] | length')" \
	"changes: as many events with a time_lo as the CLI's changes"
# ip_history's labels are the CLI's (formats 9 and 12): the generation of
# the address's own cluster valid when the interval began, else the first
# to begin within it.  On a copy: the number 23456 given by another
# cluster (kvstoremesh's cache) just before 10.6.6.50 took it, and
# 10.6.6.99 taking 12928 at revision 19, when its first generation
# (istio-ingressgateway) had ended and before the next (dns) began at 20.
cp "$db" "$TMP/views.db"
q "$TMP/views.db" "INSERT INTO identities(key_id, cluster, identity, create_rev,
		labelset_id, from_rev) VALUES (8, 'other', 23456, 12, 1, 12);
	INSERT INTO ipcache(key_id, cluster, ip, ip_bin, prefix_len, identity, host_ip,
		encrypt_key, from_rev) SELECT key_id, '', '10.6.6.99', ip_bin, 32, 12928,
		host_ip, 0, 19 FROM ipcache WHERE ip = '10.6.6.43' AND from_rev = 5;
	UPDATE ipcache SET ip_bin = X'00000000000000000000FFFF0A060663'
		WHERE ip = '10.6.6.99'"
labels_of() { # labels_of IP REV: the CLI's labels at REV, as the view writes them
	"$H" --db "$TMP/views.db" --format json ip "$1" --at "rev:$2" 2>/dev/null |
		jq -r '.[0].labels // [] | map(. + ";") | join("")'
}
is "$(q "$TMP/views.db" "SELECT labels FROM ip_history WHERE ip = '10.6.6.50' AND from_rev = 13")" \
	"$(labels_of 10.6.6.50 13)" "ip_history: not the labels another cluster gave the number"
is "$(labels_of 10.6.6.50 13)" "k8s:app=web;k8s:io.kubernetes.pod.namespace=default;" \
	"…but those of the address's own cluster"
is "$(q "$TMP/views.db" "SELECT coalesce(labels, 'none') FROM ip_history WHERE ip = '10.6.6.99'")" \
	"k8s:app=dns;k8s:io.kubernetes.pod.namespace=kube-system;" \
	"ip_history: not the labels of a generation that ended before the interval began, but of the next"
is "$(labels_of 10.6.6.99 19)" "k8s:app=dns;k8s:io.kubernetes.pod.namespace=kube-system;" \
	"…as the CLI has them"
hs identity 12928 --at rev:20 >"$TMP/out"
is "$(head -1 "$TMP/out")" \
	"as of 2026-11-20T14:20:00Z (rev 20, committed at an unknown moment after 2026-11-20T14:10:00Z)" \
	"rev:N of a replayed revision: the echo gives both bounds"
# Times observed live carry microseconds: the echo is then longer, never cut.
cp "$db" "$TMP/us.db"
q "$TMP/us.db" "UPDATE revisions SET t_lo_us = t_lo_us + 123456,
	t_hi_us = t_hi_us + 654321 WHERE rev = 20"
"$H" --db "$TMP/us.db" identity 12928 --at rev:20 >"$TMP/out"
is "$(head -1 "$TMP/out")" \
	"as of 2026-11-20T14:20:00.654321Z (rev 20, committed at an unknown moment after 2026-11-20T14:10:00.123456Z)" \
	"…whole, with microseconds"
"$H" --db "$TMP/us.db" changes --from rev:20 --to rev:20 >"$TMP/out"
is "$(head -1 "$TMP/out")" \
	"from 2026-11-20T14:20:00.654321Z (rev 20, committed at an unknown moment after 2026-11-20T14:10:00.123456Z) to 2026-11-20T14:20:00.654321Z (rev 20, committed at an unknown moment after 2026-11-20T14:10:00.123456Z)" \
	"…and so is a window's"

# --- the other commands against the tables ------------------------------
is "$(hs --format json identity 12928 | jq -c '[.[] | [.generation, .from_rev, .to_rev, (.labels | length)]]')" \
	"$(q "$db" "SELECT '[' || group_concat('[' || i.create_rev || ',' || i.from_rev || ',' || coalesce(i.to_rev, 'null') || ',' || (SELECT count(*) FROM labels l WHERE l.labelset_id = i.labelset_id) || ']', ',') || ']' FROM (SELECT * FROM identities WHERE identity = 12928 ORDER BY from_rev) i")" \
	"identity lists every generation separately"
is "$(hs --format json labels app=web | jq -r '.[0].ips | join(" ")')" \
	"$(q "$db" "SELECT group_concat(ip, ' ') FROM (SELECT ip FROM ipcache WHERE identity = 23456 AND to_rev IS NULL ORDER BY ip_bin)")" \
	"labels: the identity's current IPs"
is "$(hs --format json labels 'reserved:app=web' | jq length)" 0 "labels: a source prefix must match"
is "$(hs --format json changes | jq length)" "$(q "$db" "SELECT count(*) FROM events")" \
	"changes without a window lists the whole log"
is "$(hs --format json changes --from rev:13 --to rev:30 | jq length)" \
	"$(q "$db" "SELECT count(*) FROM events WHERE rev > 13 AND rev <= 30")" \
	"changes --from/--to is the window (T1, T2]" 2>/dev/null
is "$(hs --format json changes 2>/dev/null | jq -r '[.[] | select(.inferred) | .rev] | join(" ")')" \
	"$(q "$db" "SELECT group_concat(rev, ' ') FROM events WHERE origin = 2")" \
	"inferred changes are marked"
is "$(hs --format json changes --kind identity_user | jq -r '[.[].type] | join(" ")')" "PUT PUT DELETE" \
	"changes --kind"
is "$(hs --format json diff rev:13 rev:31 | jq -r '[.[] | .change + ":" + .key] | join(" ")')" \
	"changed:cilium/.heartbeat changed:cilium/state/identities/v1/id/12928 removed:cilium/state/identities/v1/value/k8s:app=istio-ingressgateway;k8s:chart=gateways;k8s:heritage=Tiller;k8s:io.cilium.k8s.policy.cluster=default;k8s:io.cilium.k8s.policy.serviceaccount=ai-ingressgateway-service-account;k8s:io.kubernetes.pod.namespace=istio-system;k8s:istio=ai-ingressgateway;k8s:release=istio;/10.5.1.132 changed:cilium/state/ip/v1/default/10.6.6.43 removed:cilium/state/ip/v1/default/10.6.6.50 added:cilium/state/ip/v1/default/10.6.7.1 added:cilium/state/ip/v1/default/fd00::1:2 changed:cilium/state/nodes/v1/default/k8s-node1 changed:cilium/state/services/v1/default/default/kubernetes" \
	"diff: added, removed and changed keys, by kind"
is "$(hs --format json diff rev:13 rev:31 | "$PY" -c 'import json,sys; print(sum(1 for o in json.load(sys.stdin)))')" \
	"$(for r in 13 31; do "$PY" "$TMP/replay.py" "$db" $r | cut -d'|' -f1,2 >"$TMP/s$r"; done; sort "$TMP/s13" "$TMP/s31" | uniq -u | cut -d'|' -f1 | sort -u | wc -l)" \
	"diff has one row per key whose value differs (replay oracle)"
is "$(hs --format json churn --from rev:10 --to rev:31 | jq -r '.[] | select(.kind == "ipcache") | "\(.created) \(.modified) \(.lease_only) \(.deleted)"')" \
	"4 0 1 2" "churn counts created, modified, lease-only and deleted apart"
is "$(hs --format json churn --from rev:10 --to rev:31 | jq '[.[] | .created + .modified + .lease_only + .deleted] | add')" \
	"$(q "$db" "SELECT count(*) FROM events WHERE rev > 10 AND rev <= 31 AND origin != 1")" \
	"churn counts every change in the window once"
hs churn --from rev:10 --to rev:31 >"$TMP/churn"
grep -q '^identities: 2 allocated, 1 released$' "$TMP/churn"
ok $? "churn table: identities allocated and released"
grep -q '^default/web-1  *3 ' "$TMP/churn"
ok $? "churn table: top churning pods"
is "$(hs --format json churn --from rev:10 --to rev:31 --by-namespace | jq -r '[.[] | select(.namespace == "istio-system") | .kind] | join(" ")')" \
	"identity identity_user ipcache" "churn --by-namespace"
is "$(hs --format json status | jq -c '.[0] | [.first_rev, .first_time, .recorded_rev, .recorded_time, .events, .etcd_cluster_id, (.gaps | length), .gaps[0].reason]')" \
	"[10,\"2026-11-20T14:00:00Z\",31,\"2026-11-20T14:50:00Z\",$(q "$db" "SELECT count(*) FROM events"),\"1111\",1,\"history compacted: revision 23 is gone, etcd keeps from 30\"]" \
	"status: coverage, watermark, events, gaps, cluster"
is "$(hs --format json key cilium/blob | jq -r '.[0].value_base64')" "AP8Q7/7+gA==" \
	"a value that is not UTF-8 comes as value_base64"
is "$(hs --format json node k8s-node1 --at rev:25 2>/dev/null | jq -r '.[0].ipv4_health_ip')" "10.6.6.80" "node --at"
is "$(hs --format json service default/kubernetes --at rev:21 | jq -r '.[0].backends | length')" 1 "service --at"
is "$(hs --format json pod default/web-2 | jq -r '[.[].ip] | join(" ")')" "10.6.6.43 fd00::1:2" "pod: every IP it had"

# --- formats -----------------------------------------------------------
for c in "ip 10.6.6.43" "identity 12928" "labels app=web" "pod default/web-2" \
	"node k8s-node1" "service default/kubernetes" "key cilium/blob" "changes" \
	"diff rev:10 rev:31" "snapshot" "churn --from rev:10 --to rev:31" "status" \
	"sql 'SELECT * FROM changes'" "ip 10.9.9.9"; do
	eval "set -- $c"
	hs --format json "$@" 2>/dev/null | jq -e 'type == "array" and all(.[]; type == "object")' >/dev/null
	ok $? "json: $c is one array of objects"
	n=$(hs --format json "$@" 2>/dev/null | jq length)
	m=$(hs --format csv "$@" 2>/dev/null | "$PY" -c 'import csv,sys; print(len(list(csv.reader(sys.stdin))) - 1)')
	is "$m" "$n" "csv: $c has a header and the same rows"
done
is "$(hs --format csv key cilium/state/ip/v1/default/10.6.6.50 | "$PY" -c 'import csv,sys; print(list(csv.DictReader(sys.stdin))[0]["value"])')" \
	"$(q "$db" "SELECT CAST(value AS TEXT) FROM vals WHERE id = 9")" \
	"csv quotes a JSON value so it reads back exactly"
# A REAL comes back exact (it reads back as the same double), and the same
# in every format.
r="SELECT 0.1 + 0.2 AS x, 2461000.123456789 AS j, 1e300 AS b"
is "$(hs --format csv sql "$r" | tail -1)" "0.30000000000000004,2461000.123456789,1e+300" \
	"sql: a REAL in csv, exact"
is "$(hs --format json sql "$r" | "$PY" -c 'import json,sys; o = json.load(sys.stdin)[0]
print(o["x"] == 0.1 + 0.2, o["j"] == 2461000.123456789, o["b"] == 1e300)')" "True True True" \
	"sql: a REAL in json reads back as the same double"
is "$(hs sql "$r" | tail -1 | tr -s ' ')" "0.30000000000000004 2461000.123456789 1e+300" \
	"sql: a REAL in the table, exact"
is "$(hs --format json ip 10.9.9.9)" "[]" "an empty answer is an empty array"
is "$(hs --format json ip 10.9.9.9 2>&1 >/dev/null | tail -1)" \
	"hindsight: no rows, from the beginning to 2026-11-20T14:50:00Z (rev 31)" \
	"an empty json answer still echoes its resolution (stderr)"
head -1 "$TMP/churn" | grep -q '^from 2026-11-20T14:00:00Z (rev 10) to 2026-11-20T14:41:40Z (rev 31)$'
ok $? "table answers start with the resolved instant and revision"
is "$(hs --format json lease 2>/dev/null; echo $?)" 1 "unknown command: exit 1"

# --- usage errors: exit 1, one line on stderr, nothing on stdout --------
usage() { # usage DESCRIPTION ARGS...
	_d=$1
	shift
	"$H" "$@" >"$TMP/out" 2>"$TMP/err"
	_rc=$?
	is "$_rc:$(wc -l <"$TMP/err"):$(wc -c <"$TMP/out")" "1:1:0" "usage error, one line: $_d"
}
usage "malformed IPv4" --db "$db" ip 10.6.6.256
usage "malformed CIDR length" --db "$db" ip 10.6.6.0/33
usage "malformed IPv6" --db "$db" ip fd00:::1
usage "not an address" --db "$db" ip pod-a
usage "an argument with a newline stays one line" --db "$db" ip "$(printf '10.0.0.1\n\033[31mx')"
grep -qF "'10.0.0.1\x0a\x1b[31mx'" "$TMP/err"
ok $? "…its control bytes shown as \\xHH"
usage "an unknown command with a newline stays one line" "$(printf 'x\n\033[31my')"
grep -qF "'x\x0a\x1b[31my'" "$TMP/err"
ok $? "…its control bytes shown as \\xHH"
usage "an unknown option with a newline stays one line" "$(printf -- '-x\ny')" status
usage "help for an unknown command with a newline" help "$(printf 'x\ny')"
usage "malformed time" --db "$db" ip 10.6.6.43 --at 'last tuesday'
usage "impossible date" --db "$db" ip 10.6.6.43 --at '2026-13-40 25:00'
usage "a day February 2026 does not have" --db "$db" ip 10.6.6.43 --at '2026-02-29 10:00'
usage "a day April does not have" --db "$db" ip 10.6.6.43 --at '2026-04-31 10:00'
usage "a window ending before it begins" --db "$db" changes --from rev:20 --to rev:12
# …also where the db has no revision between the two (both after the
# watermark), and before the db is opened.
usage "a reversed window of revisions after the watermark" --db "$db" changes --from rev:40 --to rev:35
usage "a reversed window of instants after the watermark" --db "$db" ip 10.6.6.43 \
	--from 2026-11-21T00:00:00Z --to 2026-11-20T23:00:00Z
usage "a reversed window, whatever the db" --db "$TMP/missing.db" pod default/web-2 --from rev:5 --to rev:3
usage "a window ending before it begins, in time" --db "$db" churn \
	--from '2026-11-20T14:40:00Z' --to '2026-11-20T14:01:00Z'
usage "malformed rev" --db "$db" snapshot --at rev:x
usage "malformed relative" --db "$db" snapshot --at -5y
usage "relative time whose last group lacks its unit" --db "$db" snapshot --at -1h30
usage "relative time with two signs" --db "$db" snapshot --at --5m
usage "--at with --from" --db "$db" ip 10.6.6.43 --at rev:3 --from rev:2
usage "malformed selector" --db "$db" labels app
usage "empty selector key" --db "$db" labels =web
usage "selector with a trailing comma" --db "$db" labels app=web,
usage "selector with a leading comma" --db "$db" labels ,app=web
usage "selector with an empty piece" --db "$db" labels app=web,,k8s:x=y
usage "pod without namespace" --db "$db" pod web-1
usage "identity not a number" --db "$db" identity abc
usage "unknown kind" --db "$db" changes --kind pods
usage "unknown command" --db "$db" whois 10.6.6.43
usage "unknown option" --db "$db" ip 10.6.6.43 --when rev:3
usage "missing argument" --db "$db" ip
usage "extra argument" --db "$db" identity 1 2
usage "bad --format" --db "$db" --format yaml status
usage "bad --tz" --db "$db" --tz Nowhere/City status
usage "--tz naming a directory of zones" --db "$db" --tz Europe status
usage "--tz naming a file that is no zone" --db "$db" --tz zone.tab status
usage "bad --by" --db "$db" churn --by week
usage "bad --last" --db "$db" churn --last soon
# Answers echo the instant in RFC 3339 (four-digit years): not 10000-...
usage "@UNIX past the year 9999" --db "$db" ip 10.6.6.43 --at @253402300800
usage "a relative time before the year 0000" --db "$db" changes --from -300000w
usage "--last reaching before the year 0000" --db "$db" churn --last 1000000w
usage "--last of nothing" --db "$db" churn --last 0h
usage "no command"
usage "time error before the db is opened" --db "$TMP/missing.db" ip 10.6.6.43 --at never

# --- the db cannot be read: exit 2, one line saying what the file is ----
nodb() { # nodb DESCRIPTION PATTERN FILE
	"$H" --db "$3" status >"$TMP/out" 2>"$TMP/err"
	_rc=$?
	is "$_rc:$(wc -l <"$TMP/err")" "2:1" "db error, one line: $1"
	grep -q "$2" "$TMP/err"
	ok $? "db error says: $2"
}
nodb "missing" "No such file" "$TMP/missing.db"
nodb "a missing file whose name has a newline" 'a.x0ab.db: No such file' "$TMP/$(printf 'a\nb.db')"
echo "not a db" >"$TMP/text.db"
nodb "a text file" "not a SQLite database" "$TMP/text.db"
sqlite3 "$TMP/other.db" "CREATE TABLE t (x)"
nodb "someone else's SQLite file" "not a hindsight db" "$TMP/other.db"
# A file cut short (a copy that did not finish): SQLite's reason, without
# the hint for a WAL db in a read-only directory, which is not the cause.
head -c 5000 "$db" >"$TMP/cut.db"
nodb "a db cut short" "cut.db: cannot read: database disk image is malformed$" "$TMP/cut.db"
cp "$db" "$TMP/newer.db"
sqlite3 "$TMP/newer.db" "PRAGMA user_version = 99"
nodb "a newer format" "newer" "$TMP/newer.db"
HINDSIGHT_DB="$TMP/missing.db" "$H" status 2>"$TMP/err" >/dev/null
is "$?" 2 "\$HINDSIGHT_DB names the db"
cp "$db" "$TMP/cilium.db"
is "$(cd "$TMP" && "$H" --format json status | jq -r '.[0].db')" "./cilium.db" "the db defaults to ./cilium.db"

# --- read-only: sql refuses writes; nothing ever changes the file -------
for s in "DELETE FROM keys" "INSERT INTO meta VALUES ('x', 1)" "CREATE TABLE x (y)" \
	"DROP VIEW changes" "PRAGMA user_version = 7" "ATTACH '$TMP/x.db' AS x" \
	"SELECT 1; DELETE FROM keys" "VACUUM"; do
	hs sql "$s" >/dev/null 2>&1
	is "$?" 1 "sql refuses: $s"
done
[ ! -e "$TMP/x.db" ]
ok $? "ATTACH did not create a file"
is "$(hs --format csv sql 'SELECT count(*) AS n FROM keys')" "n
12" "sql answers a SELECT"
# README's examples begin with a comment; a trailing one is no statement.
is "$(hs --format csv sql '-- the keys
SELECT count(*) AS n FROM keys; -- all of them
/* done */')" "n
12" "sql takes SQL that begins and ends with comments"
hs sql 'SELECT 1; -- then
SELECT 2' >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" "1:hindsight: sql: one statement at a time" \
	"…but not a second statement after a comment"
is "$(hs --format json sql 'SELECT 1 AS from_rev, 2 AS from_rev, 3 AS from_rev_2' | jq -c .)" \
	'[{"from_rev":1,"from_rev_3":2,"from_rev_2":3}]' \
	"sql: columns sharing a name keep apart in json (name_2, ...)"
hs sql 'SELEKT 1' >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" '1:hindsight: sql: near "SELEKT": syntax error' \
	"a SQL error is a usage error"
for c in "ip 10.6.0.0/16" "identity 12928" "labels app=web" "pod default/web-2" \
	"node k8s-node1" "service default/kubernetes" "key cilium/blob" "changes" \
	"diff rev:10 rev:31" "snapshot --at rev:20" "churn" "status"; do
	eval "set -- $c"
	hs "$@" >/dev/null 2>&1
done
is "$(md5sum <"$db")" "$sum0" "no command changed the db file"
[ ! -e "$db-wal" ] && [ ! -e "$db-journal" ]
ok $? "no journal or WAL file was created"

# --- help ---------------------------------------------------------------
"$H" --help | grep -q '^usage: hindsight'
ok $? "hindsight --help"
for c in ip identity labels pod node service key changes diff snapshot churn status sql; do
	out=$("$H" "$c" --help)
	rc=$?
	case "$out" in "usage: hindsight $c"*) r=$rc ;; *) r=1 ;; esac
	ok $r "hindsight $c --help"
done
"$H" help ip | grep -q '^usage: hindsight ip'
ok $? "hindsight help ip"
is "$("$H" status --format json --db "$db" | jq '.[0].recorded_rev')" 31 \
	"global options also after the command"
"$H" --db "$db" --format json diff -3h -2h >"$TMP/out" 2>/dev/null
is "$?:$(jq length "$TMP/out")" "3:0" "relative times as positional arguments"
# Durations of several groups, and fractions: the same instant as -90m
# (diff resolves both in one process, with one "now").
for a in -1h30m -1.5h -30m1h -5400s; do
	line=$("$H" --db "$db" diff "$a" -90m 2>/dev/null | head -1)
	t1=$(echo "$line" | sed -n 's/^from \([^ ]*\) .* to \([^ ]*\) .*/\1/p')
	t2=$(echo "$line" | sed -n 's/^from \([^ ]*\) .* to \([^ ]*\) .*/\2/p')
	ok "$([ -n "$t1" ] && [ "$t1" = "$t2" ]; echo $?)" "$a is -90m ($t1, $t2)"
done
line=$("$H" --db "$db" churn --last 1d12h 2>/dev/null | head -1)
t1=$(echo "$line" | sed -n 's/^from \([^ ]*\) .* to \([^ ]*\) .*/\1/p')
t2=$(echo "$line" | sed -n 's/^from \([^ ]*\) .* to \([^ ]*\) .*/\2/p')
d=$(($(date -u -d "$t2" +%s) - $(date -u -d "$t1" +%s)))
ok "$([ "$d" -ge 129599 ] && [ "$d" -le 129601 ]; echo $?)" \
	"churn --last 1d12h spans 36 hours ($t1 to $t2: $d s)"
# --- several dbs: names are SQLite schema names in sql ------------------
# sql ATTACHes each db under its name: SQLite compares schema names
# without case and keeps main and temp for itself, so two file names
# differing only in case, or a file called main.db, must still give
# distinct names that attach.
mkdir -p "$TMP/n1" "$TMP/n2"
cp "$db" "$TMP/n1/Prod.db"
cp "$db" "$TMP/n2/prod.db"
cp "$db" "$TMP/n1/main.db"
"$H" --db "$TMP/n1/Prod.db" --db "$TMP/n2/prod.db" --db "$TMP/n1/main.db" \
	--format csv sql "SELECT etcd_cluster, count(*) AS n FROM keys GROUP BY 1 ORDER BY 1" \
	>"$TMP/o" 2>"$TMP/err"
is "$?:$(sed 1d "$TMP/o" | tr '\n' ' ')" "0:Prod,12 main-2,12 prod-2,12 " \
	"sql over dbs named alike but for case, or main: each attached under its own name"
"$H" --db A="$db" --db a="$TMP/n2/prod.db" sql "SELECT 1" >/dev/null 2>"$TMP/err"
is "$?:$(wc -l <"$TMP/err" | tr -d ' ')" "1:1" "two NAMEs differing only in case: usage error"
"$H" --db temp="$db" sql "SELECT 1" >/dev/null 2>"$TMP/err"
is "$?:$(wc -l <"$TMP/err" | tr -d ' ')" "1:1" "NAME temp (SQLite's own): usage error"
if command -v groff >/dev/null 2>&1; then
	is "$(groff -man -Tutf8 -ww -z "$TOP/query/hindsight.1" 2>&1)" "" \
		"the man page renders without warnings"
fi
miss=""
for c in ip identity labels pod node service key changes diff snapshot churn status sql; do
	grep -qE "^\.BI? \"?${c}[ \"]|^\\\\fB$c\\\\fR|^\.B $c\$" "$TOP/query/hindsight.1" ||
		miss="$miss $c"
done
is "$miss" "" "the man page documents every command"
done_testing
