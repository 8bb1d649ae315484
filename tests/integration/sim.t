#!/bin/sh
# The Cilium workload simulator against a real etcd: its ground truth equals
# what etcd stored, now and at past revisions; a seed replays the same
# operations; and the workload shows what the recorder must cope with (IPs
# and identities reused, lease-only modifications, DELETE bursts).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"

SIM="$TOP/tests/sim/cilium-sim"
TAB=$(printf '\t')

# sim TRUTH-FILE: the fixed workload of this test against $ETCD_URL.
sim() {
	"$SIM" --endpoints "$ETCD_URL" --seed 42 --steps 700 --nodes 4 \
		--pods-per-node 10 --identity-pool 40 --ipv6 --cluster cluster1 \
		--cluster-id 1 --kvstoremesh cluster2 --restart-style mixed \
		--truth "$1"
}
truth() { "$SIM" truth "$TMP/a.jsonl" "$@"; }

# state_matches REV: etcd's range over cilium/ at REV equals the truth's.
state_matches() {
	ectl get --prefix cilium/ --rev="$1" >"$TMP/etcd.txt" &&
		truth state --rev "$1" --format etcdctl >"$TMP/truth.txt" &&
		cmp -s "$TMP/etcd.txt" "$TMP/truth.txt"
}

# field REV KEY NAME: a field ("Value", "Lease") of KEY at REV, by etcdctl.
field() {
	ectl get "$2" --rev="$1" -w fields | sed -n "s/^\"$3\" : //p"
}

etcd_start a
sim "$TMP/a.jsonl" 2>"$TMP/a.err"
ok $? "a seeded run against etcd exits 0"
diag "$(cat "$TMP/a.err")"

ectl get --prefix cilium/ >"$TMP/etcd.txt"
truth state --format etcdctl >"$TMP/truth.txt"
cmp -s "$TMP/etcd.txt" "$TMP/truth.txt"
ok $? "final state: etcd's range over cilium/ equals the truth, byte for byte"
count=$(curl -s "$ETCD_URL/v3/kv/range" \
	-d '{"key":"Y2lsaXVtLw==","range_end":"Y2lsaXVtMA==","count_only":true}' |
	sed -n 's/.*"count":"\([0-9]*\)".*/\1/p')
is "$count" "$(truth summary | sed -n 's/^ "keys": \([0-9]*\),*$/\1/p')" \
	"the key count etcd reports over HTTP equals the truth's"
is "$(ectl get --prefix cilium/state/identities/v1/locks --keys-only)" "" \
	"no identity lock key is left behind"
ectl get cilium/.heartbeat --print-value-only |
	grep -Eq '^2026-01-05T[0-9]{2}:[0-9]{2}:00Z$'
ok $? "the heartbeat holds a whole simulated minute in RFC 3339"

# Past revisions: a sample over the run.
truth revisions >"$TMP/revs"
for rev in $(awk 'NR % 400 == 2' "$TMP/revs") $(tail -1 "$TMP/revs"); do
	state_matches "$rev"
	ok $? "state at revision $rev equals etcd's (etcdctl get --rev)"
done

# A lease revoke (crash expiry or <=1.13 restart): one revision, many deletes.
IFS=$TAB read -r burst_rev lease burst_keys <<EOF
$(truth find revoke-burst | awk '$3 >= 3' | head -1)
EOF
[ "${burst_keys:-0}" -ge 3 ]
ok $? "lease $lease was revoked at revision $burst_rev, deleting $burst_keys keys"
state_matches $((burst_rev - 1)) && state_matches "$burst_rev"
ok $? "state just before and at the DELETE burst equals etcd's"
before=$(ectl get --prefix cilium/ --rev=$((burst_rev - 1)) --keys-only | grep -c .)
after=$(ectl get --prefix cilium/ --rev="$burst_rev" --keys-only | grep -c .)
is $((before - after)) "$burst_keys" "etcd lost exactly that many keys in that one revision"

# IP reuse: one address, two different pods over time.
IFS=$TAB read -r ip key rev1 pod1 rev2 pod2 <<EOF
$(truth find ip-reuse | grep -v '/cache/' | head -1)
EOF
[ -n "$pod1" ] && [ "$pod1" != "$pod2" ]
ok $? "$ip was held by $pod1 (rev $rev1), later by $pod2 (rev $rev2)"
ectl get "$key" --rev="$rev1" --print-value-only | grep -qF "\"K8sPodName\":\"${pod1#*/}\""
ok $? "etcd at rev $rev1: the ipcache entry names ${pod1#*/}"
ectl get "$key" --rev="$rev2" --print-value-only | grep -qF "\"K8sPodName\":\"${pod2#*/}\""
ok $? "etcd at rev $rev2: the ipcache entry names ${pod2#*/}"
truth ip "$ip" --rev "$rev1" | grep -qF "\"pod\":\"${pod1#*/}\""
ok $? "truth ip $ip --rev $rev1 names ${pod1#*/}"
is "$(truth ip "$ip" --rev 1)" null "truth ip $ip before the run: null"

# Identity reuse: id/<N> deleted by the GC, later created with other labels.
IFS=$TAB read -r key created deleted recreated <<EOF
$(truth find id-reuse | grep '/state/' | head -1)
EOF
old=$(ectl get "$key" --rev="$created" --print-value-only)
new=$(ectl get "$key" --rev="$recreated" --print-value-only)
[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ]
ok $? "$key held other labels before (rev $created) and after (rev $recreated)"
is "$(ectl get "$key" --rev=$((deleted - 1)) --print-value-only)|$(ectl get "$key" --rev="$deleted")" \
	"$old|" "... and the GC deleted it at rev $deleted"
is "$(ectl get --prefix "cilium/state/identities/v1/value/$old" --rev="$deleted" --keys-only)" "" \
	"no slave key of the old labels was left when the GC deleted it"

# >=1.14 restart: same value, new lease.
IFS=$TAB read -r key rev <<EOF
$(truth find lease-only | head -1)
EOF
is "$(field "$rev" "$key" Value)" "$(field $((rev - 1)) "$key" Value)" \
	"$key re-put at rev $rev with an unchanged value"
[ -n "$key" ] && [ "$(field "$rev" "$key" Lease)" != "$(field $((rev - 1)) "$key" Lease)" ]
ok $? "... and a different lease"

# >=1.14 restart: endpoints deleted while the agent was down are not
# restored, so their keys stay on the old lease and go when it expires.
cat >"$TMP/stale.py" <<'PY'
import json, sys
lease, old = {}, set()
deleted = {"ip": 0, "value": 0, "other": 0}
for line in map(json.loads, open(sys.argv[1])):
    key = line.get("key", "")
    if line.get("op") == "put":
        # A node re-put with its value unchanged on a new lease: the
        # lease it left is the old lease of a >=1.14 restart.
        prev = lease.get(key)
        if "/state/nodes/" in key and prev and prev[1] != line["lease"] and prev[0] == line["value"]:
            old.add(prev[1])
        lease[key] = (line["value"], line["lease"])
    elif line.get("op") == "delete":
        lease.pop(key, None)
        if line.get("lease") in old:
            kind = "ip" if "/state/ip/" in key else key.split("/")[4]
            deleted[kind if kind in deleted else "other"] += 1
print(deleted["ip"], deleted["value"], deleted["other"])
PY
read -r stale_ip stale_value stale_other <<EOF
$("$PY" "$TMP/stale.py" "$TMP/a.jsonl")
EOF
[ "$stale_ip" -gt 0 ] && [ "$stale_value" -gt 0 ] && [ "$stale_other" -eq 0 ]
ok $? "old leases of >=1.14 restarts expire with the ipcache ($stale_ip) and slave keys ($stale_value) of endpoints gone meanwhile, nothing else ($stale_other)"

# Same seed, another etcd whose revisions are shifted: same operations.
etcd_start b
ectl put other/key 1 >/dev/null && ectl put other/key 2 >/dev/null
sim "$TMP/b.jsonl" 2>/dev/null
ok $? "the same seed runs again against a second etcd"
sed 's/^{"rev":[0-9]*,//' "$TMP/a.jsonl" >"$TMP/a.ops"
sed 's/^{"rev":[0-9]*,//' "$TMP/b.jsonl" >"$TMP/b.ops"
cmp -s "$TMP/a.ops" "$TMP/b.ops"
ok $? "same seed and flags: the same operations (truth without revisions)"
! cmp -s "$TMP/a.jsonl" "$TMP/b.jsonl"
ok $? "... at other revisions"

# etcd unreachable: exit 2 with one line.
"$SIM" --endpoints "http://127.0.0.1:$(free_port)" --steps 5 2>"$TMP/down.err"
is $? 2 "etcd unreachable: exit status 2"
is "$(grep -c . "$TMP/down.err")" 1 "etcd unreachable: one line on stderr"

done_testing
