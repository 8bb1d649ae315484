#!/bin/sh
# Identities are generations, across a gap too.  While the recorder is
# down, identity 200 is garbage-collected and allocated again with the
# same labels, its slave key and an ipcache entry are deleted and put again
# alike.  The re-list after the gap finds the same values under new
# create_revisions: the old generation and intervals must end at the
# re-list revision and new ones begin there.  A lease-only re-put (same
# value, same create_revision) stays one interval.  Once after a
# compaction, once after the cluster was replaced.
. "$(dirname "$0")/../lib/tap.sh"
command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
command -v etcdctl >/dev/null || bail "etcdctl is needed (leases)"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

ID=cilium/state/identities/v1/id/200
SLAVE='cilium/state/identities/v1/value/k8s:app=x;/10.5.1.1'
IPC=cilium/state/ip/v1/default/10.1.0.1
IPC2=cilium/state/ip/v1/default/10.1.0.2
ipv() {
	printf '{"IP":"%s","Mask":null,"HostIP":"10.5.1.1","ID":200,"Key":0,"Metadata":"","K8sNamespace":"ns","K8sPodName":"%s"}' "$1" "$2"
}
lease() { ectl lease grant 3600 | awk '{ print $2 }'; }
# put_all LEASE [KEY...]: put the keys (all four by default) with their
# usual values, the slave key and ipcache entries under LEASE; prints
# the identity key's revision when it is put.
put_all() {
	_l=$1
	shift
	[ $# -gt 0 ] || set -- "$ID" "$SLAVE" "$IPC" "$IPC2"
	for _k; do
		case $_k in
		"$ID") $KV "$ETCD_URL" put "$ID" 'k8s:app=x;' ;;
		"$SLAVE") ectl put --lease="$_l" "$SLAVE" 200 >/dev/null ;;
		"$IPC") ectl put --lease="$_l" "$IPC" "$(ipv 10.1.0.1 pod1)" >/dev/null ;;
		"$IPC2") ectl put --lease="$_l" "$IPC2" "$(ipv 10.1.0.2 pod2)" >/dev/null ;;
		esac || return 1
	done
}
db="$TMP/gen.db"
open_from() { q "$db" "SELECT from_rev FROM $1 WHERE $2 AND to_rev IS NULL"; }
# The open rows before the gap, and etcd's create_revision of id/200.
before() {
	wm=$(db_recorded "$db")
	id_from=$(open_from identities "identity = 200")
	id_gen=$(q "$db" "SELECT create_rev FROM identities WHERE to_rev IS NULL
		AND identity = 200")
	user_from=$(open_from identity_users "identity = 200")
	ipc_from=$(open_from ipcache "ip = '10.1.0.1'")
	ipc2_from=$(open_from ipcache "ip = '10.1.0.2'")
}
# after WHAT ETCD_GEN2 OFFSET: what a user checks after the gap.
after() {
	relist=$(db_recorded "$db")
	gen2=$(($2 + $3))
	is "$("$BIN/hindsight" --db "$db" --format json identity 200 2>/dev/null |
		jq -r '.[] | "\(.generation) \(.from_rev) \(.to_rev)"' | tail -2)" \
		"$id_gen $id_from $relist
$gen2 $relist null" \
		"$1: identity 200's old generation ends at the re-list, a new one begins"
	is "$("$BIN/hindsight" --db "$db" --format json ip 10.1.0.1 2>/dev/null |
		jq -r '.[] | "\(.from_rev) \(.to_rev)"' | tail -2)" \
		"$ipc_from $relist
$relist null" "$1: ip 10.1.0.1's old interval closed at the re-list, a new one"
	is "$(q "$db" "SELECT from_rev || ' ' || coalesce(to_rev, 'open')
		FROM identity_users WHERE identity = 200 AND from_rev >= $user_from
		ORDER BY from_rev")" \
		"$user_from $relist
$relist open" "$1: the slave key's usage interval split alike"
}

# --- a compacted gap -------------------------------------------------------
etcd_start gen
l1=$(lease)
gen1=$(put_all "$l1")
ok $? "an identity, its slave key and two ipcache entries put"
rec_start "$db"
wait_until 20 db_reached "$db" "$($KV "$ETCD_URL" rev)"
ok $? "recorded (found by the first snapshot: not churn)"
rec_stop
before
is "$id_gen" "$gen1" "generation 1 is id/200's create_revision"

l2=$(lease)
for k in "$ID" "$SLAVE" "$IPC"; do $KV "$ETCD_URL" del "$k" >/dev/null; done
gen2=$(put_all "$l2") # IPC2 was not deleted: only its lease changes
$KV "$ETCD_URL" compact "$($KV "$ETCD_URL" rev)"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/gap.log"
ok $? "restart after the keys were re-created in a compacted gap"
grep -q 'gap recorded after revision' "$TMP/gap.log"
ok $? "…a gap"
after compacted "$gen2" 0
# rev:N names an etcd revision: of this first epoch, hindsight's own.
is "$("$BIN/hindsight" --db "$db" --format json ip 10.1.0.1 --from "rev:$wm" \
	--to "rev:$relist" 2>/dev/null | jq -r '.[] | "\(.from_rev) \(.to_rev)"')" \
	"$ipc_from $relist
$relist null" "ip 10.1.0.1 --from/--to across the gap: both intervals"
is "$(q "$db" "SELECT count(*) || ' ' || min(from_rev) || ' ' || count(to_rev)
	FROM ipcache WHERE ip = '10.1.0.2'")" "1 $ipc2_from 0" \
	"ip 10.1.0.2, re-put with another lease only: still one open interval"
is "$(q "$db" "SELECT e.lease FROM events e JOIN keys k ON k.id = e.key_id
	WHERE k.key = '$IPC2' AND e.origin = 2")" \
	"$(printf '%d' "0x$l2")" "…though its new lease was inferred"
# Churn: a re-created key counts as created, a lease-only re-put as such.
is "$("$BIN/hindsight" --db "$db" --format json churn --from "rev:$wm" \
	--to "rev:$relist" 2>/dev/null | jq -r '[.[] | select(.kind == "ipcache")
	| [.created, .modified, .lease_only, .deleted]] | transpose
	| map(add) | join(" ")')" "1 0 1 0" \
	"churn: the re-created ipcache entry created, the re-leased one lease_only"
is "$(q "$db" "SELECT sum(created), sum(modified), sum(lease_only), sum(deleted)
	FROM churn WHERE secs = 60 AND kind = 'ipcache'")" "1|0|1|0" \
	"…as the recorder counted them"

# --- a replaced cluster ------------------------------------------------------
# The same values put into a brand-new etcd: every key is a new one.
before
off=$(q "$db" "SELECT max(rev) FROM revisions")
etcd_replace gen2
$KV "$ETCD_URL" put cilium/x 1 >/dev/null
gen2=$(put_all "$(lease)" "$ID" "$SLAVE" "$IPC")
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/replaced.log"
ok $? "restart against a replaced cluster holding the same values"
is "$(q "$db" "SELECT rev_offset FROM epochs WHERE epoch = 2")" "$off" \
	"…a new epoch, offset past the old revisions"
after replaced "$gen2" "$off"
is "$(q "$db" "SELECT count(*) FROM ipcache WHERE ip = '10.1.0.2' AND to_rev IS NULL")" 0 \
	"ip 10.1.0.2, absent from the new cluster, is closed"
status_counts_check "$db"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
