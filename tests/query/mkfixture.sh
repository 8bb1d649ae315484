#!/bin/sh
# mkfixture.sh OUT.db: build the query CLI's golden fixture, a small
# hindsight db written row by row so every time in it is fixed (a recorded
# db carries wall-clock times, which golden output cannot).  The scenario,
# on the 1.7 seed (../../../shared/fixtures/cilium-1.7-seed.jsonl):
#
#   T0 = 2026-11-20T14:00:00Z, first snapshot at rev 10 (keys at 3..9)
#   +60..+62   rev 11-13  identity 23456 (default/web), its user, 10.6.6.50 web-1
#   +120       rev 14     10.6.6.43 released by the istio pod
#   +180       rev 15     10.6.6.43 taken by default/web-2
#   +240       rev 16     10.6.6.50 re-put with a new lease only
#   +300       rev 17     fd00::1:2 for web-2
#   +360/+420  rev 18-19  12928's user key deleted, then id/12928 (GC)
#   stop +600, restart +1200: revs 20-21 replayed, time in (+600, +1200]
#              rev 20     id/12928 reused: kube-system/dns (generation 2)
#              rev 21     k8s-node1's health IP changes
#   +1500      rev 22     the kubernetes service gains a backend
#   stop +1800, resume +2400 after compaction: gap [22, 30]
#              rev 30     inferred: 10.6.7.1 appears, 10.6.6.50 is gone
#   +2500      rev 31     heartbeat; watermark rev 31 at +3000
#
# The schema comes from schema/*.sql, so the fixture follows the format.
set -eu
out=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -f "$out"
# The format version is the number of the last migration (schema/hsdb.h).
version=$(for f in "$top"/schema/[0-9]*.sql; do basename "$f"; done |
	sed 's/^0*\([0-9][0-9]*\)_.*/\1/' | sort -n | tail -n 1)
T0=1795183200000000
t() { echo $((T0 + $1 * 1000000)); }
L1='k8s:app=istio-ingressgateway;k8s:chart=gateways;k8s:heritage=Tiller;k8s:io.cilium.k8s.policy.cluster=default;k8s:io.cilium.k8s.policy.serviceaccount=ai-ingressgateway-service-account;k8s:io.kubernetes.pod.namespace=istio-system;k8s:istio=ai-ingressgateway;k8s:release=istio;'
L2='k8s:app=web;k8s:io.kubernetes.pod.namespace=default;'
L3='k8s:app=dns;k8s:io.kubernetes.pod.namespace=kube-system;'
NODE='{"Name":"k8s-node1","Cluster":"default","IPAddresses":[{"Type":"InternalIP","IP":"10.5.1.132"},{"Type":"CiliumInternalIP","IP":"10.6.6.71"}],"IPv4AllocCIDR":{"IP":"10.6.6.0","Mask":"////AA=="},"IPv6AllocCIDR":null,"IPv4HealthIP":"HEALTH","IPv6HealthIP":"","ClusterID":0,"Source":"local","EncryptionKey":0}'
ip() { # ip IP ID HOST NODE EPID NS POD
	printf '{"IP":"%s","Mask":null,"HostIP":"%s","ID":%s,"Key":0,"Metadata":"cilium-global:default:%s:%s","K8sNamespace":"%s","K8sPodName":"%s"}' \
		"$1" "$3" "$2" "$4" "$5" "$6" "$7"
}
SVC1='{"cluster":"default","namespace":"default","name":"kubernetes","frontends":{"10.96.0.1":{"https":{"Protocol":"TCP","Port":443}}},"backends":{"10.5.1.132":{"https":{"Protocol":"TCP","Port":6443}}},"labels":{},"selector":{},"includeExternal":false,"shared":false}'
SVC2='{"cluster":"default","namespace":"default","name":"kubernetes","frontends":{"10.96.0.1":{"https":{"Protocol":"TCP","Port":443}}},"backends":{"10.5.1.132":{"https":{"Protocol":"TCP","Port":6443}},"10.5.1.133":{"https":{"Protocol":"TCP","Port":6443}}},"labels":{},"selector":{},"includeExternal":false,"shared":false}'
SEEDIP=$(ip 10.6.6.43 12928 10.5.1.132 k8s-node1 432 istio-system ai-ingressgateway-6bdbdbf7dc-jz85c)
V4=00000000000000000000FFFF

# sqlite3 quoting: single quotes doubled.
sq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

# The rows are written in format 2 (the last format whose events carry
# to_rev), then hindsight-recorder --upgrade turns them into the current
# format (later migrations call its SQL functions): the fixture also
# checks that migrating a recorded db keeps its answers.
{
	for f in "$top"/schema/[0-9]*.sql; do
		n=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
		[ "$n" -le 2 ] && cat "$f"
	done
	cat <<EOF
PRAGMA application_id=1213416532;
BEGIN;
INSERT INTO meta VALUES ('prefix', 'cilium/'), ('etcd_cluster_id', '1111'),
	('epoch', 1), ('first_rev', 10), ('first_us', $(t 0)),
	('recorded_rev', 31), ('recorded_us', $(t 3000)), ('decode_errors', 0);
INSERT INTO epochs VALUES (1, '1111', 0, 10, $(t 0));
INSERT INTO revisions VALUES
	(3, 1, 3, NULL, $(t 0), 'snapshot'), (4, 1, 4, NULL, $(t 0), 'snapshot'),
	(5, 1, 5, NULL, $(t 0), 'snapshot'), (6, 1, 6, NULL, $(t 0), 'snapshot'),
	(7, 1, 7, NULL, $(t 0), 'snapshot'), (8, 1, 8, NULL, $(t 0), 'snapshot'),
	(9, 1, 9, NULL, $(t 0), 'snapshot'), (10, 1, 10, $(t 0), $(t 0), 'snapshot'),
	(11, 1, 11, $(t 60), $(t 60), 'watch'), (12, 1, 12, $(t 61), $(t 61), 'watch'),
	(13, 1, 13, $(t 62), $(t 62), 'watch'), (14, 1, 14, $(t 120), $(t 120), 'watch'),
	(15, 1, 15, $(t 180), $(t 180), 'watch'), (16, 1, 16, $(t 240), $(t 240), 'watch'),
	(17, 1, 17, $(t 300), $(t 300), 'watch'), (18, 1, 18, $(t 360), $(t 360), 'watch'),
	(19, 1, 19, $(t 420), $(t 420), 'watch'),
	(20, 1, 20, $(t 600), $(t 1200), 'replay'), (21, 1, 21, $(t 600), $(t 1200), 'replay'),
	(22, 1, 22, $(t 1500), $(t 1500), 'watch'),
	(30, 1, 30, $(t 1800), $(t 2400), 'resync'),
	(31, 1, 31, $(t 2500), $(t 2500), 'watch');
INSERT INTO keys VALUES
	(1, 'cilium/state/identities/v1/id/12928', 'identity'),
	(2, 'cilium/state/nodes/v1/default/k8s-node1', 'node'),
	(3, 'cilium/state/ip/v1/default/10.6.6.43', 'ipcache'),
	(4, $(sq "cilium/state/identities/v1/value/$L1/10.5.1.132"), 'identity_user'),
	(5, 'cilium/state/services/v1/default/default/kubernetes', 'service'),
	(6, 'cilium/blob', 'other'),
	(7, 'cilium/.heartbeat', 'heartbeat'),
	(8, 'cilium/state/identities/v1/id/23456', 'identity'),
	(9, 'cilium/state/ip/v1/default/10.6.6.50', 'ipcache'),
	(10, 'cilium/state/ip/v1/default/fd00::1:2', 'ipcache'),
	(11, 'cilium/state/ip/v1/default/10.6.7.1', 'ipcache'),
	(12, $(sq "cilium/state/identities/v1/value/$L2/10.5.1.132"), 'identity_user');
INSERT INTO vals VALUES
	(1, 1, CAST($(sq "$L1") AS BLOB)),
	(2, 2, CAST($(sq "$(echo "$NODE" | sed s/HEALTH/10.6.6.79/)") AS BLOB)),
	(3, 3, CAST($(sq "$SEEDIP") AS BLOB)),
	(4, 4, CAST('12928' AS BLOB)),
	(5, 5, CAST($(sq "$SVC1") AS BLOB)),
	(6, 6, X'00FF10EFFEFE80'),
	(7, 7, CAST('2026-11-20T13:59:00Z' AS BLOB)),
	(8, 8, CAST($(sq "$L2") AS BLOB)),
	(9, 9, CAST($(sq "$(ip 10.6.6.50 23456 10.5.1.132 k8s-node1 501 default web-1)") AS BLOB)),
	(10, 10, CAST($(sq "$(ip 10.6.6.43 23456 10.5.1.132 k8s-node1 502 default web-2)") AS BLOB)),
	(11, 11, CAST($(sq "$(ip fd00::1:2 23456 10.5.1.132 k8s-node1 502 default web-2)") AS BLOB)),
	(12, 12, CAST($(sq "$L3") AS BLOB)),
	(13, 13, CAST($(sq "$(echo "$NODE" | sed s/HEALTH/10.6.6.80/)") AS BLOB)),
	(14, 14, CAST($(sq "$SVC2") AS BLOB)),
	(15, 15, CAST($(sq "$(ip 10.6.7.1 23456 10.5.1.133 k8s-node2 601 default web-3)") AS BLOB)),
	(16, 16, CAST('2026-11-20T14:41:00Z' AS BLOB)),
	(17, 17, CAST('23456' AS BLOB));
-- rev, seq, type, key, val, lease, create_rev, version, origin, to_rev
INSERT INTO events VALUES
	(3, 0, 0, 1, 1, 0, 3, 1, 1, NULL),
	(4, 0, 0, 2, 2, 8738, 4, 1, 1, NULL),
	(5, 0, 0, 3, 3, 4369, 5, 1, 1, NULL),
	(6, 0, 0, 4, 4, 4369, 6, 1, 1, NULL),
	(7, 0, 0, 5, 5, 8738, 7, 1, 1, NULL),
	(8, 0, 0, 6, 6, 0, 8, 1, 1, NULL),
	(9, 0, 0, 7, 7, 8738, 2, 7, 1, NULL),
	(11, 0, 0, 8, 8, 0, 11, 1, 0, NULL),
	(12, 0, 0, 12, 17, 4369, 12, 1, 0, NULL),
	(13, 0, 0, 9, 9, 4369, 13, 1, 0, NULL),
	(14, 0, 1, 3, NULL, 0, NULL, NULL, 0, NULL),
	(15, 0, 0, 3, 10, 4369, 15, 1, 0, NULL),
	(16, 0, 0, 9, 9, 13107, 13, 2, 0, NULL),
	(17, 0, 0, 10, 11, 4369, 17, 1, 0, NULL),
	(18, 0, 1, 4, NULL, 0, NULL, NULL, 0, NULL),
	(19, 0, 1, 1, NULL, 0, NULL, NULL, 0, NULL),
	(20, 0, 0, 1, 12, 0, 20, 1, 0, NULL),
	(21, 0, 0, 2, 13, 8738, 4, 2, 0, NULL),
	(22, 0, 0, 5, 14, 8738, 7, 2, 0, NULL),
	(30, 0, 1, 9, NULL, 0, NULL, NULL, 2, NULL),
	(30, 1, 0, 11, 15, 4369, 27, 1, 2, NULL),
	(31, 0, 0, 7, 16, 8738, 2, 8, 0, NULL);
UPDATE events SET to_rev = (SELECT min(n.rev) FROM events n
	WHERE n.key_id = events.key_id AND n.rev > events.rev);
INSERT INTO gaps VALUES (1, 22, 30, $(t 1800), $(t 2400),
	'history compacted: revision 23 is gone, etcd keeps from 30');
INSERT INTO labelsets VALUES (1, $(sq "$L1")), (2, $(sq "$L2")), (3, $(sq "$L3"));
INSERT INTO labels VALUES
	(1, 0, 'k8s', 'app', 'istio-ingressgateway'), (1, 1, 'k8s', 'chart', 'gateways'),
	(1, 2, 'k8s', 'heritage', 'Tiller'),
	(1, 3, 'k8s', 'io.cilium.k8s.policy.cluster', 'default'),
	(1, 4, 'k8s', 'io.cilium.k8s.policy.serviceaccount', 'ai-ingressgateway-service-account'),
	(1, 5, 'k8s', 'io.kubernetes.pod.namespace', 'istio-system'),
	(1, 6, 'k8s', 'istio', 'ai-ingressgateway'), (1, 7, 'k8s', 'release', 'istio'),
	(2, 0, 'k8s', 'app', 'web'), (2, 1, 'k8s', 'io.kubernetes.pod.namespace', 'default'),
	(3, 0, 'k8s', 'app', 'dns'), (3, 1, 'k8s', 'io.kubernetes.pod.namespace', 'kube-system');
INSERT INTO identities VALUES
	(1, '', 12928, 3, 1, 3, 19), (8, '', 23456, 11, 2, 11, NULL),
	(1, '', 12928, 20, 3, 20, NULL);
INSERT INTO identity_users VALUES
	(4, '', 1, '10.5.1.132', 12928, 4369, 6, 18),
	(12, '', 2, '10.5.1.132', 23456, 4369, 12, NULL);
INSERT INTO ipcache VALUES
	(3, '', '10.6.6.43', X'${V4}0A06062B', 32, 12928, '10.5.1.132', 0, 'istio-system', 'ai-ingressgateway-6bdbdbf7dc-jz85c', 'k8s-node1', 432, NULL, 5, 14),
	(9, '', '10.6.6.50', X'${V4}0A060632', 32, 23456, '10.5.1.132', 0, 'default', 'web-1', 'k8s-node1', 501, NULL, 13, 16),
	(9, '', '10.6.6.50', X'${V4}0A060632', 32, 23456, '10.5.1.132', 0, 'default', 'web-1', 'k8s-node1', 501, NULL, 16, 30),
	(3, '', '10.6.6.43', X'${V4}0A06062B', 32, 23456, '10.5.1.132', 0, 'default', 'web-2', 'k8s-node1', 502, NULL, 15, NULL),
	(10, '', 'fd00::1:2', X'FD000000000000000000000000010002', 128, 23456, '10.5.1.132', 0, 'default', 'web-2', 'k8s-node1', 502, NULL, 17, NULL),
	(11, '', '10.6.7.1', X'${V4}0A060701', 32, 23456, '10.5.1.133', 0, 'default', 'web-3', 'k8s-node2', 601, NULL, 30, NULL);
INSERT INTO nodes (rowid, key_id, cluster, name, cluster_id, ipv4_alloc_cidr,
	ipv4_alloc_len, ipv4_health_ip, encryption_key, source, from_rev, to_rev) VALUES
	(1, 2, 'default', 'k8s-node1', 0, '10.6.6.0/24', 24, '10.6.6.79', 0, 'local', 4, 21),
	(2, 2, 'default', 'k8s-node1', 0, '10.6.6.0/24', 24, '10.6.6.80', 0, 'local', 21, NULL);
INSERT INTO node_addresses VALUES
	(1, 'InternalIP', '10.5.1.132'), (1, 'CiliumInternalIP', '10.6.6.71'),
	(2, 'InternalIP', '10.5.1.132'), (2, 'CiliumInternalIP', '10.6.6.71');
INSERT INTO services (rowid, key_id, cluster, namespace, name, cluster_id,
	include_external, shared, from_rev, to_rev) VALUES
	(1, 5, 'default', 'default', 'kubernetes', 0, 0, 0, 7, 22),
	(2, 5, 'default', 'default', 'kubernetes', 0, 0, 0, 22, NULL);
INSERT INTO service_ports VALUES
	(1, 'frontend', '10.96.0.1', 'https', 'TCP', 443),
	(1, 'backend', '10.5.1.132', 'https', 'TCP', 6443),
	(2, 'frontend', '10.96.0.1', 'https', 'TCP', 443),
	(2, 'backend', '10.5.1.132', 'https', 'TCP', 6443),
	(2, 'backend', '10.5.1.133', 'https', 'TCP', 6443);
INSERT INTO heartbeats VALUES (9, '2026-11-20T13:59:00Z', $(t -60)),
	(31, '2026-11-20T14:41:00Z', $(t 2460));
COMMIT;
BEGIN;
EOF
	cat <<EOF
PRAGMA user_version=2;
COMMIT;
EOF
} | sqlite3 -batch "$out"
"${BIN:-$top/bin}/hindsight-recorder" --db "$out" --upgrade >/dev/null
# Back to a rollback journal, as the fixture was: readers of a WAL db
# create its -wal and -shm, which query_cli.t checks they do not.
[ "$(sqlite3 "$out" 'PRAGMA journal_mode=DELETE; PRAGMA user_version')" = "delete
$version" ]
