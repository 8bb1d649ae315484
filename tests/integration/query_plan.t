#!/bin/sh
# The CLI's important lookups stay index lookups, not scans, so they stay
# fast on a db of tens of millions of events.  HINDSIGHT_EXPLAIN=1 makes
# bin/hindsight print EXPLAIN QUERY PLAN of every statement it prepares to
# stderr ("plan: SQL" then "plan:   DETAIL" lines); these tests read it.
. "$(dirname "$0")/../lib/tap.sh"

db="$TMP/fixture.db"
sh "$TOP/tests/query/mkfixture.sh" "$db" || bail "mkfixture.sh failed"

# plan ARGS...: the plan details of one run, one line each.
plan() {
	HINDSIGHT_EXPLAIN=1 "$BIN/hindsight" --db "$db" "$@" 2>&1 >/dev/null |
		sed -n 's/^plan:   //p'
}

# has_plan DESCRIPTION PATTERN ARGS...: some plan line matches PATTERN.
has_plan() {
	_d=$1 _p=$2
	shift 2
	plan "$@" | grep -qE "$_p"
	ok $? "$_d"
}

# no_scan DESCRIPTION ARGS...: no full scan of any table but gaps (a
# handful of rows: one per outage); slave_keys is identity --at's
# recursive walk over an identity's keys, a row per key.
no_scan() {
	_d=$1
	shift
	_s=$(plan "$@" | grep -E '^SCAN ' | grep -v -e '^SCAN gaps$' -e '^SCAN slave_keys$')
	is "$_s" "" "$_d"
}

has_plan "ip --at: ipcache_ip range lookup" \
	'^SEARCH c USING INDEX ipcache_ip \(ip_bin>\? AND ip_bin<\?\)' \
	ip 10.6.6.43 --at rev:13
has_plan "ip --at: labels via identities_id" \
	'^SEARCH i USING INDEX identities_id \(identity=\? AND from_rev<\?\)' \
	ip 10.6.6.43 --at rev:13
no_scan "ip --at rev:N scans nothing" ip 10.6.6.43 --at rev:13
has_plan "a time resolves through revisions_t_hi" \
	'^SEARCH revisions USING (COVERING )?INDEX revisions_t_hi \(t_hi_us<\?\)' \
	ip 10.6.6.43 --at 2026-11-20T14:03:00Z
no_scan "ip --at TIME scans nothing" ip 10.6.6.43 --at 2026-11-20T14:03:00Z
no_scan "ip CIDR --from/--to scans nothing" ip 10.6.0.0/16 --from rev:12 --to rev:20
no_scan "ip IPv6 scans nothing" ip fd00::1:2 --at rev:20
has_plan "identity --at: identities_id lookup" \
	'^SEARCH i USING INDEX identities_id \(identity=\? AND from_rev<\?\)' \
	identity 12928 --at rev:13
# The users at T: one probe per slave key of the identity (its latest
# row begun by T), not a range over the identity's whole history.
has_plan "identity --at: users by one probe per key" \
	'^SEARCH identity_users USING COVERING INDEX identity_users_key \(identity=\? AND key_id=\? AND from_rev<\?\)' \
	identity 12928 --at rev:13
has_plan "identity --at: the identity's keys by a skip scan" \
	'^SEARCH identity_users USING COVERING INDEX identity_users_key \(identity=\? AND key_id>\?\)' \
	identity 12928 --at rev:13
has_plan "labels --at: users by one probe per key" \
	'^SEARCH identity_users USING COVERING INDEX identity_users_key \(identity=\? AND key_id=\? AND from_rev<\?\)' \
	labels app=istio-ingressgateway
no_scan "identity --at scans nothing" identity 12928 --at rev:13
no_scan "identity history scans nothing" identity 12928
has_plan "labels: labels_kv lookup" \
	'^SEARCH labels USING COVERING INDEX labels_kv \(key=\? AND value=\?\)' \
	labels app=web
has_plan "pod: ipcache_pod lookup" \
	'^SEARCH c USING INDEX ipcache_pod \(namespace=\? AND pod=\?\)' \
	pod default/web-1
no_scan "pod scans nothing" pod default/web-1 --from rev:12 --to rev:20
no_scan "node --at scans nothing" node k8s-node1 --at rev:20
no_scan "service --at scans nothing" service default/kubernetes --at rev:20
no_scan "key scans nothing" key cilium/blob
no_scan "changes in a window scans nothing" changes --from rev:12 --to rev:20
no_scan "diff scans nothing" diff rev:13 rev:20
has_plan "snapshot: one events_key probe per key" \
	'^SEARCH e USING INDEX events_key \(key_id=\? AND rev=\?\)' snapshot --at rev:20
no_scan "snapshot of a prefix scans nothing" snapshot --prefix cilium/state/ip/
done_testing
