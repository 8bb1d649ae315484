#!/bin/sh
# The first run: a consistent, paged snapshot of everything under cilium/,
# byte-exact, decoded into the typed tables, and nothing outside the prefix.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# Room for a 1.5 MiB value (etcd's default request limit is 1.5 MiB).
etcd_start snap --max-request-bytes 4194304
$KV "$ETCD_URL" load "$TOP/tests/fixtures/cilium-1.7-seed.jsonl" >/dev/null
$KV "$ETCD_URL" many 60 cilium/state/ip/v1/default/bulk- >/dev/null
# An ipcache value as Cilium before 1.7 wrote it: no K8sNamespace or
# K8sPodName, for the seed's pod identity 12928.
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.6.6.44 \
	'{"IP":"10.6.6.44","Mask":null,"HostIP":"10.5.1.132","ID":12928,"Key":0,"Metadata":"cilium-global:default:k8s-node1:433"}' >/dev/null
# Bytes that are not UTF-8, an empty value, and a key outside the prefix.
$KV "$ETCD_URL" put cilium/blob '@b64:AP8Q7/7+gA==' >/dev/null
$KV "$ETCD_URL" put cilium/empty '' >/dev/null
{ printf '{"IP":\001'; head -c 1572865 /dev/urandom; } >"$TMP/big"
$KV "$ETCD_URL" putfile cilium/state/ip/v1/default/10.9.9.9 "$TMP/big" >/dev/null
$KV "$ETCD_URL" put ciliumx/outside v >/dev/null
$KV "$ETCD_URL" put other/key v >/dev/null
# An address written before the id/<N> key it names (kvstoremesh and the
# clustermesh-apiserver sync the two independently).
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.6.6.98 \
	'{"IP":"10.6.6.98","Mask":null,"HostIP":"10.5.1.132","ID":77777,"Key":0,"Metadata":"","K8sNamespace":"default","K8sPodName":"early"}' >/dev/null
$KV "$ETCD_URL" put cilium/state/identities/v1/id/77777 \
	'k8s:app=late;k8s:io.kubernetes.pod.namespace=default;' >/dev/null
# The last write before the snapshot under the prefix: its revision is the
# one etcd is at when the snapshot is taken (the usual case: Cilium writes
# all the time).
before=$(date +%s%6N)
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.6.6.99 \
	'{"IP":"10.6.6.99","Mask":null,"HostIP":"10.5.1.132","ID":5,"Key":0,"Metadata":"cilium-global:default:k8s-node1:434","K8sNamespace":"default","K8sPodName":"last"}' >/dev/null
head=$($KV "$ETCD_URL" rev)

db="$TMP/snap.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--page-limit 7 2>"$TMP/once.log"
ok $? "--once on a new db exits 0"
is "$(db_recorded "$db")" "$head" "watermark is etcd's revision at the snapshot"
is "$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")" "$head" \
	"first_rev is the snapshot revision"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" \
	"db state equals etcd's range over cilium/, byte for byte (paged by 7)"
is "$(q "$db" "SELECT count(*) FROM keys WHERE key NOT LIKE 'cilium/%'")" 0 \
	"nothing outside the prefix (ciliumx/, other/) recorded"
is "$(q "$db" "SELECT hex(v.value) FROM events e JOIN keys k ON k.id=e.key_id
	JOIN vals v ON v.id=e.val_id WHERE k.key='cilium/blob'")" "00FF10EFFEFE80" \
	"binary value stored byte-exact"
is "$(q "$db" "SELECT length(v.value) FROM events e JOIN keys k ON k.id=e.key_id
	JOIN vals v ON v.id=e.val_id WHERE k.key='cilium/empty'")" 0 \
	"empty value stored as an empty value"
is "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id=e.key_id
	WHERE e.origin = 1")" \
	"$(q "$db" "SELECT count(*) FROM keys")" "one snapshot event per key"
# Snapshot keys start at their mod_revision, time unknown: also the one
# written at the snapshot's own revision, which was written before it too.
is "$(q "$db" "SELECT count(*) FROM changes WHERE origin='snapshot' AND time IS NULL")" \
	"$(q "$db" "SELECT count(*) FROM events")" \
	"keys found by the snapshot have no start time, at any revision"
is "$(q "$db" "SELECT count(*) FROM events WHERE rev = $head")" 1 \
	"(a key was written at the snapshot's revision)"
is "$("$BIN/hindsight" --db "$db" --format json ip 10.6.6.99 |
	jq -r '.[] | "\(.from_rev) \(.from_time) \(.pod)"')" "$head null last" \
	"ip: the address taken at the snapshot's revision has no known start time"
is "$(q "$db" "SELECT t_hi_us = (SELECT value FROM meta WHERE name = 'first_us')
	AND t_hi_us > $before FROM revisions WHERE rev = $head")" 1 \
	"the snapshot's revision is bounded above by the moment of the snapshot"

# The seed: who held 10.6.6.43.
is "$(q "$db" "SELECT namespace||'/'||pod||' '||node||' '||host_ip||' '||identity
	FROM ip_history WHERE ip='10.6.6.43'")" \
	"istio-system/ai-ingressgateway-6bdbdbf7dc-jz85c k8s-node1 10.5.1.132 12928" \
	"ip_history answers who held 10.6.6.43 (seed fixture)"
labels=$(q "$db" "SELECT labels FROM ip_history WHERE ip='10.6.6.43'")
case "$labels" in
*k8s:io.cilium.k8s.policy.serviceaccount=ai-ingressgateway-service-account*) r=0 ;;
*) r=1 ;;
esac
ok $r "its labels carry the service account Cilium added"
case "$labels" in *pod-template-hash*) r=1 ;; *) r=0 ;; esac
ok $r "pod-template-hash is not among the identity's labels"
is "$(q "$db" "SELECT source||':'||key||'='||value FROM labels l JOIN identities i
	ON i.labelset_id=l.labelset_id WHERE i.identity=12928 AND l.key='app'")" \
	"k8s:app=istio-ingressgateway" "labels split into source/key/value rows"
is "$(q "$db" "SELECT ipv4_alloc_cidr||' '||ipv4_alloc_len||' '||ipv4_health_ip
	FROM nodes WHERE name='k8s-node1'")" "10.6.6.0/24 24 10.6.6.79" \
	"node pod CIDR with prefix length and health IP"
is "$(q "$db" "SELECT ip FROM node_addresses a JOIN nodes n ON n.rowid=a.node_row
	WHERE a.type='CiliumInternalIP'")" "10.6.6.71" "node CiliumInternalIP"
is "$(q "$db" "SELECT count(*) FROM keys WHERE key LIKE '%/bulk-%' AND kind = 'other'")" \
	30 "keys under ip/v1/default/ that are not IPs are kind 'other'"
is "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id=e.key_id
	WHERE k.key LIKE 'cilium/state/ip/v1/default/bulk-%'")" 30 \
	"…and still kept raw in the change log"
is "$(q "$db" "SELECT length(v.value) FROM events e JOIN keys k ON k.id=e.key_id
	JOIN vals v ON v.id=e.val_id WHERE k.key='cilium/state/ip/v1/default/10.9.9.9'")" \
	"$(wc -c <"$TMP/big" | tr -d ' ')" "a 1.5 MiB binary ipcache value is kept raw, whole"
is "$(q "$db" "SELECT family FROM decode_errors d JOIN keys k ON k.id=d.key_id
	WHERE k.key='cilium/state/ip/v1/default/10.9.9.9'")" ipcache \
	"…and counted as an ipcache decode error"
is "$("$BIN/hindsight" --db "$db" --format json labels app=istio-ingressgateway |
	jq -r '.[] | "\(.identity) \(.ips | join(","))"')" "12928 10.6.6.43,10.6.6.44" \
	"labels lists the identity's IPs, also one whose value names no namespace"
# The identity's row begins after the address's: its labels are still the
# address's, in the history, at a time and in the view.
is "$("$BIN/hindsight" --db "$db" --format json ip 10.6.6.98 | jq -r '.[] | .labels | join(",")')" \
	"k8s:app=late,k8s:io.kubernetes.pod.namespace=default" \
	"ip: an address written before its identity key has the identity's labels"
is "$("$BIN/hindsight" --db "$db" --format json ip 10.6.6.98 --at "rev:$head" | jq -r '.[] | .labels | length')" \
	2 "…at a time"
is "$("$BIN/hindsight" --db "$db" --format json pod default/early | jq -r '.[] | .labels | length')" \
	2 "…in the pod's history"
is "$(q "$db" "SELECT labels FROM ip_history WHERE ip = '10.6.6.98'")" \
	"k8s:app=late;k8s:io.kubernetes.pod.namespace=default;" "…and in ip_history"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
