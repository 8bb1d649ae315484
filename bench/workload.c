/*
 * workload.c: the benchmark's Cilium cluster (see workload.h).
 *
 * A fixed universe of keys, as in a real cluster whose size does not
 * change during a week: NODES nodes with SLOTS pod addresses each, APPS
 * deployments (label sets) in NAMESPACES namespaces, one service per
 * deployment.  Every key's create_revision and version are tracked so the
 * events look like etcd's.
 */
#include "workload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define NODES 256
#define SLOTS 64
#define APPS 400
#define NAMESPACES 40
#define ID_MIN 256
#define ID_MAX 65535
#define ARENA (8u << 20)
#define ROOM (256u << 10) /* arena left for the largest revision */
#define SPREAD 8 /* nodes an app's pods run on */
#define BURST_MAX (SLOTS + APPS + 1)

struct keystate {
	int64_t create_rev; /* 0: the key does not exist */
	int64_t version;
};

struct workload {
	uint64_t rng;
	int64_t rev, t0_us, step_us, first_rev;
	int64_t last_hb_us;
	char *arena;
	size_t used;
	/* Who holds each address: app + 1, 0 free. */
	int ip_app[NODES * SLOTS];
	int ip_epid[NODES * SLOTS];
	unsigned ip_pod[NODES * SLOTS];
	struct keystate ip_key[NODES * SLOTS];
	/* Identity per app (0 none) and its users per node. */
	int ident[APPS];
	int users[APPS];
	unsigned char iuser[APPS * NODES];
	struct keystate iuser_key[APPS * NODES];
	struct keystate id_key[ID_MAX + 1];
	unsigned char id_used[ID_MAX + 1];
	struct keystate node_key[NODES];
	int boot[NODES];
	struct keystate svc_key[APPS];
	int svc_gen[APPS];
	struct keystate hb_key;
	int64_t lease[NODES];
};

static uint64_t
rnd(struct workload *w)
{
	/* splitmix64: tiny and good enough for a workload. */
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
rndn(struct workload *w, unsigned n)
{
	return (unsigned)(rnd(w) % n);
}

struct workload *
workload_new(uint64_t seed, int64_t rev, int64_t t0_us, int64_t step_us)
{
	struct workload *w;
	int i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->arena = malloc(ARENA)) == NULL) {
		free(w);
		return NULL;
	}
	w->rng = seed;
	w->rev = w->first_rev = rev;
	w->t0_us = t0_us;
	w->step_us = step_us;
	w->last_hb_us = t0_us - 60000000;
	for (i = 0; i < NODES; i++)
		w->lease[i] = 0x7a1e0000 + i;
	return w;
}

void
workload_free(struct workload *w)
{
	if (w == NULL)
		return;
	free(w->arena);
	free(w);
}

/* printf into the arena; the string and its length. */
static const char *
afmt(struct workload *w, size_t *len, const char *fmt, ...)
{
	char *p = w->arena + w->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p, ARENA - w->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= ARENA - w->used)
		abort(); /* ROOM is sized so this cannot happen */
	w->used += (size_t)n + 1;
	*len = (size_t)n;
	return p;
}

static const char *
labels(struct workload *w, int app, size_t *len)
{
	return afmt(w, len,
	    "k8s:app.kubernetes.io/name=app-%d;"
	    "k8s:app.kubernetes.io/version=v%d;"
	    "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/"
	    "metadata.name=ns-%d;"
	    "k8s:io.cilium.k8s.policy.cluster=default;"
	    "k8s:io.cilium.k8s.policy.serviceaccount=sa-%d;"
	    "k8s:io.kubernetes.pod.namespace=ns-%d;",
	    app, 1 + app % 3, app % NAMESPACES, app, app % NAMESPACES);
}

/* One event of the current revision. */
struct evbuf {
	struct store_event *ev;
	int64_t *time_us;
	size_t n;
};

static void
emit(struct workload *w, struct evbuf *b, int type, struct keystate *ks,
    const char *key, size_t keylen, const char *val, size_t vallen,
    int64_t lease)
{
	struct store_event *e = &b->ev[b->n];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->key = key;
	e->keylen = keylen;
	e->mod_rev = w->rev;
	if (type == 0) {
		if (ks->create_rev == 0) {
			ks->create_rev = w->rev;
			ks->version = 0;
		}
		ks->version++;
		e->value = val;
		e->vallen = vallen;
		e->create_rev = ks->create_rev;
		e->version = ks->version;
		e->lease = lease;
	} else {
		ks->create_rev = 0;
		ks->version = 0;
	}
	b->time_us[b->n] = w->t0_us + (w->rev - w->first_rev) * w->step_us;
	b->n++;
}

static void
ip_text(int slot_index, char *buf, size_t size)
{
	int node = slot_index / SLOTS, s = slot_index % SLOTS;

	snprintf(buf, size, "10.%d.%d.%d", 8 + node / 256, node % 256, s + 2);
}

static void
put_ipcache(struct workload *w, struct evbuf *b, int i)
{
	int node = i / SLOTS, app = w->ip_app[i] - 1;
	char ip[32];
	const char *k, *v;
	size_t kl, vl;

	ip_text(i, ip, sizeof(ip));
	k = afmt(w, &kl, "cilium/state/ip/v1/default/%s", ip);
	v = afmt(w, &vl,
	    "{\"IP\":\"%s\",\"Mask\":null,\"HostIP\":\"10.5.%d.%d\","
	    "\"ID\":%d,\"Key\":0,"
	    "\"Metadata\":\"cilium-global:default:k8s-node-%03d:%d\","
	    "\"K8sNamespace\":\"ns-%d\","
	    "\"K8sPodName\":\"app-%d-6bdbdbf7dc-%05x\"%s}",
	    ip, node / 256, node % 256, w->ident[app], node, w->ip_epid[i],
	    app % NAMESPACES, app, w->ip_pod[i] & 0xfffff,
	    app % 4 == 0 ? ",\"NamedPorts\":[{\"Name\":\"http\",\"Port\":8080,"
			   "\"Protocol\":\"TCP\"}]"
			 : "");
	emit(w, b, 0, &w->ip_key[i], k, kl, v, vl, w->lease[node]);
}

static void
del_key(struct workload *w, struct evbuf *b, struct keystate *ks, const char *k,
    size_t kl)
{
	emit(w, b, 1, ks, k, kl, NULL, 0, 0);
}

/* A lock key around an allocation: PUT, then DELETE in the next revision. */
static void
lock_pair(struct workload *w, struct evbuf *b, int app, int node)
{
	struct keystate ks = {0, 0};
	const char *l, *k;
	size_t ll, kl;

	l = labels(w, app, &ll);
	k = afmt(w, &kl, "cilium/state/identities/v1/locks/%s/%llx", l,
	    (unsigned long long)w->lease[node]);
	emit(w, b, 0, &ks, k, kl, "", 0, w->lease[node]);
	w->rev++;
	emit(w, b, 1, &ks, k, kl, NULL, 0, 0);
}

/* Make sure app has an identity: the master key, as a revision of its own. */
static void
allocate(struct workload *w, struct evbuf *b, int app, int node)
{
	const char *k, *v;
	size_t kl, vl;
	int id;

	if (w->ident[app])
		return;
	lock_pair(w, b, app, node);
	w->rev++;
	do
		id = ID_MIN + (int)rndn(w, ID_MAX - ID_MIN + 1);
	while (w->id_used[id]);
	w->id_used[id] = 1;
	w->ident[app] = id;
	k = afmt(w, &kl, "cilium/state/identities/v1/id/%d", id);
	v = labels(w, app, &vl);
	emit(w, b, 0, &w->id_key[id], k, kl, v, vl, 0);
	w->rev++;
}

static void
put_iuser(struct workload *w, struct evbuf *b, int app, int node)
{
	const char *l, *k, *v;
	size_t ll, kl, vl;

	l = labels(w, app, &ll);
	k = afmt(w, &kl, "cilium/state/identities/v1/value/%s/10.5.%d.%d", l,
	    node / 256, node % 256);
	v = afmt(w, &vl, "%d", w->ident[app]);
	if (!w->iuser[app * NODES + node]) {
		w->iuser[app * NODES + node] = 1;
		w->users[app]++;
	}
	emit(w, b, 0, &w->iuser_key[app * NODES + node], k, kl, v, vl,
	    w->lease[node]);
}

static void
del_iuser(struct workload *w, struct evbuf *b, int app, int node)
{
	const char *l, *k;
	size_t ll, kl;

	l = labels(w, app, &ll);
	k = afmt(w, &kl, "cilium/state/identities/v1/value/%s/10.5.%d.%d", l,
	    node / 256, node % 256);
	w->iuser[app * NODES + node] = 0;
	w->users[app]--;
	del_key(w, b, &w->iuser_key[app * NODES + node], k, kl);
}

/* The j-th of the SPREAD nodes app's pods run on. */
static int
app_node(int app, int j)
{
	return (app * 7 + j * (NODES / SPREAD)) % NODES;
}

/* An app that runs on node. */
static int
node_app(struct workload *w, int node)
{
	int j = (int)rndn(w, SPREAD), base = node - j * (NODES / SPREAD);
	int app, other;

	/* app * 7 = base (mod NODES): 7 * 183 = 1 (mod 256). */
	app = (base % NODES + NODES) % NODES * 183 % NODES;
	other = app + NODES; /* runs on the same nodes */
	return other < APPS && rndn(w, 2) ? other : app;
}

static void
pod_start(struct workload *w, struct evbuf *b, int i)
{
	int node = i / SLOTS, app = node_app(w, node);

	allocate(w, b, app, node);
	if (!w->iuser[app * NODES + node]) {
		put_iuser(w, b, app, node);
		w->rev++;
	}
	w->ip_app[i] = app + 1;
	w->ip_epid[i] = 100 + (int)rndn(w, 3900);
	w->ip_pod[i] = (unsigned)rnd(w);
	put_ipcache(w, b, i);
}

static void
pod_stop(struct workload *w, struct evbuf *b, int i)
{
	char ip[32];
	const char *k;
	size_t kl;

	ip_text(i, ip, sizeof(ip));
	k = afmt(w, &kl, "cilium/state/ip/v1/default/%s", ip);
	w->ip_app[i] = 0;
	del_key(w, b, &w->ip_key[i], k, kl);
}

static void
put_node(struct workload *w, struct evbuf *b, int node)
{
	const char *k, *v;
	size_t kl, vl;
	int a = 8 + node / 256, c = node % 256;

	k = afmt(w, &kl, "cilium/state/nodes/v1/default/k8s-node-%03d", node);
	v = afmt(w, &vl,
	    "{\"Name\":\"k8s-node-%03d\",\"Cluster\":\"default\","
	    "\"IPAddresses\":[{\"Type\":\"InternalIP\",\"IP\":\"10.5.%d.%d\"},"
	    "{\"Type\":\"CiliumInternalIP\",\"IP\":\"10.%d.%d.1\"}],"
	    "\"IPv4AllocCIDR\":{\"IP\":\"10.%d.%d.0\",\"Mask\":\"////AA==\"},"
	    "\"IPv4SecondaryAllocCIDRs\":null,\"IPv6AllocCIDR\":null,"
	    "\"IPv6SecondaryAllocCIDRs\":null,\"IPv4HealthIP\":\"10.%d.%d.%d\","
	    "\"IPv6HealthIP\":\"\",\"IPv4IngressIP\":\"\",\"IPv6IngressIP\":"
	    "\"\",\"ClusterID\":0,\"Source\":\"local\",\"EncryptionKey\":0,"
	    "\"Labels\":{\"kubernetes.io/arch\":\"amd64\","
	    "\"kubernetes.io/hostname\":\"k8s-node-%03d\","
	    "\"kubernetes.io/os\":\"linux\"},\"Annotations\":null,"
	    "\"NodeIdentity\":0,\"WireguardPubKey\":\"\","
	    "\"BootID\":\"6f1c2a9e-%04x-4c1e-9b8a-%012x\"}",
	    node, node / 256, node % 256, a, c, a, c, a, c, SLOTS + 2, node,
	    w->boot[node] & 0xffff, node);
	emit(w, b, 0, &w->node_key[node], k, kl, v, vl, w->lease[node]);
}

static void
put_service(struct workload *w, struct evbuf *b, int app)
{
	const char *k, *v;
	size_t kl, vl;
	int g = w->svc_gen[app]++, ns = app % NAMESPACES;

	k = afmt(
	    w, &kl, "cilium/state/services/v1/default/ns-%d/svc-%d", ns, app);
	v = afmt(w, &vl,
	    "{\"cluster\":\"default\",\"namespace\":\"ns-%d\","
	    "\"name\":\"svc-%d\",\"frontends\":{\"10.96.%d.%d\":{\"http\":"
	    "{\"Protocol\":\"TCP\",\"Port\":80}}},\"backends\":{"
	    "\"10.8.%d.%d\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080}},"
	    "\"10.8.%d.%d\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080}}},"
	    "\"labels\":{},\"selector\":{\"app.kubernetes.io/name\":"
	    "\"app-%d\"},\"includeExternal\":false,\"shared\":true,"
	    "\"clusterID\":0}",
	    ns, app, app / 256, app % 256, g % 256, 2 + g % 64, (g + 7) % 256,
	    2 + (g + 3) % 64, app);
	emit(w, b, 0, &w->svc_key[app], k, kl, v, vl, 0);
}

static void
heartbeat(struct workload *w, struct evbuf *b, int64_t now)
{
	char t[40];
	const char *k, *v;
	size_t kl, vl;

	hs_rfc3339_format(now, t, sizeof(t));
	k = afmt(w, &kl, "cilium/.heartbeat");
	v = afmt(w, &vl, "%s", t);
	emit(w, b, 0, &w->hb_key, k, kl, v, vl, 0);
}

/* An agent crash: its lease expires, every key on it goes in one
 * revision; then it registers again. */
static void
crash(struct workload *w, struct evbuf *b, int node)
{
	int i, app;

	for (i = node * SLOTS; i < (node + 1) * SLOTS; i++)
		if (w->ip_app[i])
			pod_stop(w, b, i);
	for (app = 0; app < APPS; app++)
		if (w->iuser[app * NODES + node])
			del_iuser(w, b, app, node);
	if (w->node_key[node].create_rev) {
		const char *k;
		size_t kl;

		k = afmt(w, &kl, "cilium/state/nodes/v1/default/k8s-node-%03d",
		    node);
		del_key(w, b, &w->node_key[node], k, kl);
	}
	w->rev++;
	w->lease[node] += 0x10000;
	w->boot[node]++;
	put_node(w, b, node);
}

/* The events of one step (one or a few revisions). */
static void
step(struct workload *w, struct evbuf *b)
{
	int64_t now = w->t0_us + (w->rev - w->first_rev) * w->step_us;
	unsigned r = rndn(w, 1000);
	int i, app, node;

	if (now - w->last_hb_us >= 60000000) {
		w->last_hb_us = now;
		heartbeat(w, b, now);
	} else if (r < 600) {
		/* Pods: an address taken, freed or re-put. */
		i = (int)rndn(w, NODES * SLOTS);
		if (!w->ip_app[i])
			pod_start(w, b, i);
		else if (r < 330)
			pod_stop(w, b, i);
		else
			put_ipcache(w, b, i); /* same value: lease-only */
	} else if (r < 760) {
		/* A node's last pod of an app left: its slave key goes. */
		app = (int)rndn(w, APPS);
		node = app_node(app, (int)rndn(w, SPREAD));
		if (w->iuser[app * NODES + node])
			del_iuser(w, b, app, node);
		else if (w->ident[app])
			put_iuser(w, b, app, node);
		else
			lock_pair(w, b, app, node);
	} else if (r < 800) {
		/* Identity GC: an unused master key is deleted. */
		const char *k;
		size_t kl;

		app = (int)rndn(w, APPS);
		if (w->ident[app] && w->users[app] == 0) {
			k = afmt(w, &kl, "cilium/state/identities/v1/id/%d",
			    w->ident[app]);
			del_key(w, b, &w->id_key[w->ident[app]], k, kl);
			w->id_used[w->ident[app]] = 0;
			w->ident[app] = 0;
		} else {
			lock_pair(w, b, app, app_node(app, 0));
		}
	} else if (r < 850) {
		/* Mostly a re-put of the same value (a lease-only change). */
		node = (int)rndn(w, NODES);
		if (rndn(w, 4) == 0)
			w->boot[node]++;
		put_node(w, b, node);
	} else if (r < 998) {
		put_service(w, b, (int)rndn(w, APPS));
	} else {
		crash(w, b, (int)rndn(w, NODES));
	}
	w->rev++;
}

size_t
workload_chunk(
    struct workload *w, struct store_event *ev, int64_t *time_us, size_t max)
{
	struct evbuf b = {ev, time_us, 0};

	w->used = 0;
	do
		step(w, &b);
	while (b.n + BURST_MAX + 8 <= max && w->used + ROOM <= ARENA);
	return b.n;
}
