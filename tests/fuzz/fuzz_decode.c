/*
 * fuzz_decode.c: libFuzzer target for recorder/decode.c.
 *
 * The recorder hands hs_key_parse() and hs_value_decode() whatever etcd
 * holds, so both must survive any bytes.  Each input is used three ways:
 * as a key, as a labels string, and, after its first byte has picked one
 * of the keys below, as the value of that key.  Besides the sanitizers,
 * the target checks the contract: every slice lies inside the buffer it
 * claims to point into (or is owned by the value), errors are one line.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I/usr/include/cjson \
 *       -Ischema -Irecorder tests/fuzz/fuzz_decode.c recorder/decode.c \
 *       schema/codec.c -lcjson -o /tmp/fuzz_decode
 *   /tmp/fuzz_decode /tmp/corpus tests/fuzz/corpus/decode/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One or more keys of every kind hs_value_decode() treats differently. */
static const char *const keys[] = {
    "cilium/state/identities/v1/id/12928",
    "cilium/cache/identities/v1/cluster3/id/196915",
    "cilium/state/identities/v1/value/k8s:app.io/name=web;/1.2.3.4",
    "cilium/state/ip/v1/default/10.6.6.43",
    "cilium/state/ip/v1/default/10.0.0.0/8",
    "cilium/state/ip/v1/default/fd00:10:244:1::d643",
    "cilium/cache/ip/v1/cluster3/fd00::/64",
    "cilium/state/nodes/v1/default/k8s-node1",
    "cilium/cache/nodes/v1/cluster3/test-node-2",
    "cilium/state/noderegister/v1/vm1",
    "cilium/state/services/v1/cluster3/test/echo",
    "cilium/.heartbeat",
    "cilium/state/identities/v1/locks/k8s:a=b;/29c58f2b4a1c2d01",
    "cilium/synced/cluster3/cilium/state/nodes/v1",
    "cilium/cluster-config/cluster3",
    "cilium/unknown/thing",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static volatile unsigned sink;

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* Read every byte of s (so ASan vets it); absent slices have no bytes. */
static void
touch(struct hs_str s)
{
	size_t i;
	unsigned sum = 0;

	if (s.p == NULL) {
		check(s.n == 0);
		return;
	}
	for (i = 0; i < s.n; i++)
		sum += (unsigned char)s.p[i];
	sink += sum;
}

/* s is absent or lies inside buf[0..n). */
static void
inside(struct hs_str s, const char *buf, size_t n)
{
	if (s.p == NULL)
		return;
	check(s.p >= buf && s.n <= n && (size_t)(s.p - buf) <= n - s.n);
	touch(s);
}

static void
check_key(const struct hs_key *k, const char *key, size_t n)
{
	check((unsigned)k->kind < HS_KIND_COUNT);
	check(hs_kind_from_name(hs_kind_name(k->kind)) == (int)k->kind);
	inside(k->cluster, key, n);
	inside(k->labels, key, n);
	inside(k->node, key, n);
	inside(k->space, key, n);
	inside(k->ip, key, n);
	inside(k->namespace, key, n);
	inside(k->name, key, n);
	check(k->kind == HS_KIND_OTHER || k->cluster.p != NULL);
	check(k->prefix_len >= -1 && k->prefix_len <= 128);
	if (k->kind == HS_KIND_IDENTITY_USER)
		check(k->labels.n > 0 && k->node.n > 0 &&
		    memchr(k->node.p, '/', k->node.n) == NULL);
	if (k->kind == HS_KIND_IPCACHE)
		check(k->ip.n > 0 && k->space.n > 0);
}

static void
check_labels(const struct hs_labels *l, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		/* "$x" sources point at a static "reserved". */
		touch(l->v[i].source);
		inside(l->v[i].key, s, n);
		inside(l->v[i].value, s, n);
		check(l->v[i].key.p != NULL && l->v[i].value.p != NULL);
		check(memchr(l->v[i].key.p, ';', l->v[i].key.n) == NULL);
	}
}

static void
check_value(const struct hs_value *v, const char *val, size_t n)
{
	size_t i;

	switch (v->kind) {
	case HS_KIND_IDENTITY:
		inside(v->u.identity.labels, val, n);
		check_labels(&v->u.identity.parsed, val, n);
		break;
	case HS_KIND_IPCACHE:
		touch(v->u.ipcache.ip);
		touch(v->u.ipcache.host_ip);
		touch(v->u.ipcache.namespace);
		touch(v->u.ipcache.pod);
		touch(v->u.ipcache.service_account);
		touch(v->u.ipcache.node);
		check(v->u.ipcache.ip.n > 0);
		check(v->u.ipcache.prefix_len >= 0 &&
		    v->u.ipcache.prefix_len <= 128);
		check(v->u.ipcache.identity >= 0);
		check(v->u.ipcache.endpoint_id >= -1);
		check(v->u.ipcache.host_ip.p == NULL ||
		    v->u.ipcache.host_ip.n > 0);
		for (i = 0; i < v->u.ipcache.nports; i++) {
			touch(v->u.ipcache.ports[i].name);
			touch(v->u.ipcache.ports[i].protocol);
			check(v->u.ipcache.ports[i].name.p != NULL);
			check(v->u.ipcache.ports[i].port >= 0 &&
			    v->u.ipcache.ports[i].port <= 65535);
		}
		break;
	case HS_KIND_NODE:
	case HS_KIND_NODEREGISTER:
		touch(v->u.node.name);
		touch(v->u.node.cluster);
		touch(v->u.node.ipv4_health_ip);
		touch(v->u.node.ipv6_health_ip);
		touch(v->u.node.ipv4_ingress_ip);
		touch(v->u.node.ipv6_ingress_ip);
		touch(v->u.node.boot_id);
		touch(v->u.node.source);
		check(v->u.node.name.n > 0);
		check(memchr(v->u.node.ipv4_alloc_cidr, '\0',
			  sizeof(v->u.node.ipv4_alloc_cidr)) != NULL);
		check(memchr(v->u.node.ipv6_alloc_cidr, '\0',
			  sizeof(v->u.node.ipv6_alloc_cidr)) != NULL);
		check(v->u.node.ipv4_alloc_len >= -1 &&
		    v->u.node.ipv4_alloc_len <= 128);
		check(v->u.node.ipv6_alloc_len >= -1 &&
		    v->u.node.ipv6_alloc_len <= 128);
		for (i = 0; i < v->u.node.naddresses; i++) {
			touch(v->u.node.addresses[i].type);
			touch(v->u.node.addresses[i].ip);
			check(v->u.node.addresses[i].ip.p != NULL);
			check(v->u.node.addresses[i].type.p != NULL);
		}
		break;
	case HS_KIND_SERVICE:
		touch(v->u.service.cluster);
		touch(v->u.service.namespace);
		touch(v->u.service.name);
		check(v->u.service.namespace.n > 0 && v->u.service.name.n > 0);
		for (i = 0; i < v->u.service.nports; i++) {
			touch(v->u.service.ports[i].ip);
			touch(v->u.service.ports[i].port_name);
			touch(v->u.service.ports[i].protocol);
			check(v->u.service.ports[i].port_name.p != NULL);
			check(i == 0 ||
			    v->u.service.ports[i].backend >=
				v->u.service.ports[i - 1].backend);
		}
		break;
	case HS_KIND_HEARTBEAT:
		inside(v->u.heartbeat.text, val, n);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *key, *val;
	struct hs_labels labels;
	struct hs_key k;
	struct hs_value v;
	char err[128];
	size_t n;
	int r;

	hs_key_parse(in, size, &k);
	check_key(&k, in, size);

	if (hs_labels_parse(in, size, &labels) == 0) {
		check_labels(&labels, in, size);
		hs_labels_release(&labels);
	}

	if (size == 0)
		return 0;
	key = keys[data[0] % NKEYS];
	hs_key_parse(key, strlen(key), &k);
	check(k.kind != HS_KIND_OTHER || data[0] % NKEYS == NKEYS - 1);
	val = in + 1;
	n = size - 1;
	memset(err, 'x', sizeof(err));
	r = hs_value_decode(&k, val, n, &v, err, sizeof(err));
	check(r == -1 || r == 0 || r == 1);
	if (r == -1) {
		check(memchr(err, '\0', sizeof(err)) != NULL);
		check(err[0] != '\0' && strchr(err, '\n') == NULL);
		check(v.priv == NULL);
	} else if (r == 0) {
		check(v.kind == k.kind);
		check_value(&v, val, n);
	}
	hs_value_release(&v);
	hs_value_release(&v);
	return 0;
}
