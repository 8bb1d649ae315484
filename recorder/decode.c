/*
 * decode.c: what a Cilium kvstore key is, and what its value says.
 *
 * The recorder keeps every event raw; this file is what lets the store also
 * write the typed tables.  Keys are split on whole path segments the way
 * Cilium builds them with path.Join (cilium-kvstore.md sections 1 and 6), and
 * anything that does not fit a pattern exactly is "other", never an error.
 * Values are labels strings, decimal IDs, RFC 3339 text or Go json.Marshal
 * output (parsed with cJSON, case-sensitive, unknown fields ignored).
 *
 * Everything here runs on bytes straight from etcd and is fuzzed: every read
 * is bounded by an explicit length, and JSON is parsed from a NUL-terminated
 * copy so that no cJSON version can read past the value.
 */
#include "decode.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Identities are uint32 (NumericIdentity) in every Cilium version. */
#define ID_MAX UINT32_MAX

static const char empty[] = "";

/*
 * Parse an IP address text into 16 bytes, IPv4 as ::ffff:a.b.c.d.  The
 * family follows the text (':' means IPv6), as Go's net.IP.String() never
 * writes an IPv4 address in IPv6 form.  Returns 4, 6, or 0 when s is not an
 * address.
 */
static int
ip_parse(const char *s, size_t n, unsigned char bin[16])
{
	char buf[64];
	unsigned char v4[4];

	/* inet_pton needs a C string; a NUL inside would cut it short. */
	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, ':', n) != NULL)
		return inet_pton(AF_INET6, buf, bin) == 1 ? 6 : 0;
	if (inet_pton(AF_INET, buf, v4) != 1)
		return 0;
	memset(bin, 0, 10);
	bin[10] = bin[11] = 0xff;
	memcpy(bin + 12, v4, 4);
	return 4;
}

/* --- keys ---------------------------------------------------------------- */

/* Walks a key one '/'-separated segment at a time. */
struct cursor {
	const char *p;
	size_t n;
	int end; /* the last segment has been taken */
};

/* Take the next segment; 0 when there is none or it is empty. */
static int
next_seg(struct cursor *c, struct hs_str *seg)
{
	const char *slash;

	if (c->end)
		return 0;
	seg->p = c->p;
	slash = c->n > 0 ? memchr(c->p, '/', c->n) : NULL;
	if (slash == NULL) {
		seg->n = c->n;
		c->p += c->n;
		c->n = 0;
		c->end = 1;
	} else {
		seg->n = (size_t)(slash - c->p);
		c->n -= seg->n + 1;
		c->p = slash + 1;
	}
	return seg->n > 0;
}

static int
seg_is(struct hs_str seg, const char *word)
{
	size_t n = strlen(word);

	return seg.n == n && memcmp(seg.p, word, n) == 0;
}

static int
next_lit(struct cursor *c, const char *word)
{
	struct hs_str seg;

	return next_seg(c, &seg) && seg_is(seg, word);
}

/* Take everything left, slashes included; 0 when nothing is left. */
static int
take_rest(struct cursor *c, struct hs_str *rest)
{
	if (c->end)
		return 0;
	rest->p = c->p;
	rest->n = c->n;
	c->p += c->n;
	c->n = 0;
	c->end = 1;
	return rest->n > 0;
}

/*
 * Take one to three more non-empty segments (as many as are non-NULL) and
 * require the key to end there.
 */
static int
last_segs(
    struct cursor *c, struct hs_str *a, struct hs_str *b, struct hs_str *d)
{
	struct hs_str *segs[3] = {a, b, d};
	int i;

	for (i = 0; i < 3 && segs[i] != NULL; i++)
		if (!next_seg(c, segs[i]))
			return 0;
	return c->end;
}

/* identities/v1/[<C>/] followed by id/<N>, value/<labels>/<node>, locks/... */
static void
parse_identity(struct cursor *c, struct hs_key *k)
{
	struct hs_str sub = {NULL, 0}, num = {NULL, 0}, rest = {NULL, 0};
	uint64_t id;
	size_t i;

	if (!next_seg(c, &sub))
		return;
	if (seg_is(sub, "id")) {
		if (last_segs(c, &num, NULL, NULL) &&
		    hs_parse_u64(num.p, num.n, &id) == 0 && id <= ID_MAX) {
			k->kind = HS_KIND_IDENTITY;
			k->identity = id;
		}
	} else if (seg_is(sub, "value")) {
		if (!take_rest(c, &rest))
			return;
		/* Labels contain '/', node IPs never do: split at the last. */
		for (i = rest.n; i > 0 && rest.p[i - 1] != '/'; i--)
			;
		if (i < 2 || i == rest.n)
			return;
		k->kind = HS_KIND_IDENTITY_USER;
		k->labels.p = rest.p;
		k->labels.n = i - 1;
		k->node.p = rest.p + i;
		k->node.n = rest.n - i;
	} else if (seg_is(sub, "locks")) {
		if (take_rest(c, &rest))
			k->kind = HS_KIND_LOCK;
	}
}

/* ip/v1/<space>/ is taken; the rest is <ip> or <ip>/<len>. */
static void
parse_ip(struct cursor *c, struct hs_key *k)
{
	struct hs_str rest, ip, len = {NULL, 0};
	const char *slash;
	unsigned char bin[16];
	uint64_t plen = 0;
	int fam;

	if (!take_rest(c, &rest))
		return;
	ip = rest;
	if ((slash = memchr(rest.p, '/', rest.n)) != NULL) {
		ip.n = (size_t)(slash - rest.p);
		len.p = slash + 1;
		len.n = rest.n - ip.n - 1;
		if (len.n == 0 || len.n > 3 ||
		    hs_parse_u64(len.p, len.n, &plen) != 0)
			return;
	}
	if ((fam = ip_parse(ip.p, ip.n, bin)) == 0)
		return;
	if (plen > (fam == 4 ? 32 : 128))
		return;
	k->kind = HS_KIND_IPCACHE;
	k->ip = ip;
	k->prefix_len = len.p != NULL ? (int)plen : -1;
}

/*
 * What follows cilium/state/ or cilium/cache/.  The cache mirrors state
 * (StateToCachePrefix), except that kvstoremesh puts the remote cluster
 * name into identities and ipcache keys, whose state keys name none.
 */
static void
parse_store(struct cursor *c, int cached, struct hs_key *k)
{
	struct hs_str kind = {NULL, 0}, a = {NULL, 0}, b = {NULL, 0};
	struct hs_str d = {NULL, 0}, e = {NULL, 0};

	if (!next_seg(c, &kind))
		return;
	if (seg_is(kind, "identities")) {
		if (!next_lit(c, "v1"))
			return;
		if (cached && !next_seg(c, &k->cluster))
			return;
		parse_identity(c, k);
	} else if (seg_is(kind, "ip")) {
		if (!next_lit(c, "v1") || !next_seg(c, &k->space))
			return;
		if (cached)
			k->cluster = k->space;
		parse_ip(c, k);
	} else if (seg_is(kind, "nodes")) {
		if (next_lit(c, "v1") && last_segs(c, &a, &b, NULL)) {
			k->kind = HS_KIND_NODE;
			k->cluster = a;
			k->node = b;
		}
	} else if (seg_is(kind, "noderegister") && !cached) {
		if (next_lit(c, "v1") && last_segs(c, &a, NULL, NULL)) {
			k->kind = HS_KIND_NODEREGISTER;
			k->node = a;
		}
	} else if (seg_is(kind, "services") || seg_is(kind, "serviceexports") ||
	    seg_is(kind, "endpointslices")) {
		if (next_lit(c, "v1") && last_segs(c, &a, &b, &d)) {
			k->kind = seg_is(kind, "services") ? HS_KIND_SERVICE
			    : seg_is(kind, "serviceexports")
			    ? HS_KIND_SERVICEEXPORT
			    : HS_KIND_ENDPOINTSLICE;
			k->cluster = a;
			k->namespace = b;
			k->name = d;
		}
	} else if (seg_is(kind, "cnpstatuses") && !cached) {
		/* <UID>/<namespace>/<name>/<node> */
		if (next_lit(c, "v2") && next_seg(c, &e) &&
		    last_segs(c, &a, &b, &d))
			k->kind = HS_KIND_CNPSTATUS;
	} else if (seg_is(kind, "ccnpstatuses") && !cached) {
		/* <UID>/<name>/<node> */
		if (next_lit(c, "v2") && last_segs(c, &a, &b, &d))
			k->kind = HS_KIND_CNPSTATUS;
	}
	if (k->kind != HS_KIND_OTHER)
		k->cached = cached;
}

void
hs_key_parse(const char *key, size_t n, struct hs_key *out)
{
	struct hs_key k;
	struct cursor c;
	struct hs_str top = {NULL, 0}, rest = {NULL, 0};

	memset(&k, 0, sizeof(k));
	k.kind = HS_KIND_OTHER;
	k.prefix_len = -1;
	*out = k;
	/* Typed rows hold key parts as TEXT: keep odd bytes out of them. */
	if (key == NULL || memchr(key, '\0', n) != NULL ||
	    !hs_utf8_valid((const unsigned char *)key, n))
		return;
	c.p = key;
	c.n = n;
	c.end = 0;
	if (!next_lit(&c, "cilium") || !next_seg(&c, &top))
		return;
	if (seg_is(top, ".heartbeat")) {
		if (c.end)
			k.kind = HS_KIND_HEARTBEAT;
	} else if (seg_is(top, ".has-cluster-config")) {
		if (c.end)
			k.kind = HS_KIND_CLUSTERCONFIG;
	} else if (seg_is(top, ".initlock") ||
	    seg_is(top, "kvstoremesh-lock")) {
		if (take_rest(&c, &rest))
			k.kind = HS_KIND_LOCK;
	} else if (seg_is(top, "cluster-config")) {
		if (last_segs(&c, &k.cluster, NULL, NULL))
			k.kind = HS_KIND_CLUSTERCONFIG;
	} else if (seg_is(top, "synced")) {
		if (next_seg(&c, &k.cluster) && take_rest(&c, &rest))
			k.kind = HS_KIND_SYNCED;
	} else if (seg_is(top, "state")) {
		parse_store(&c, 0, &k);
	} else if (seg_is(top, "cache")) {
		parse_store(&c, 1, &k);
	}
	if (k.kind == HS_KIND_OTHER)
		return;
	/* Recognised keys that name no cluster get "", never NULL. */
	if (k.cluster.p == NULL)
		k.cluster.p = key;
	*out = k;
}

/* --- labels -------------------------------------------------------------- */

/*
 * One label, as Cilium's ParseLabel reads it (pkg/labels, main): a
 * leading '$' is source "reserved"; else the source is what comes before
 * the first ':', "unspec" when that is empty or there is no ':' (then a
 * "reserved." prefix is source "reserved"); the key runs to the first
 * '=' after it.  Returns whether the key is non-empty (Cilium drops the
 * others).
 */
static int
label_split(const char *p, size_t n, struct hs_label *l)
{
	static const char reserved[] = "reserved", unspec[] = "unspec";
	static const char rdot[] = "reserved.";
	const char *colon, *eq;
	const char *key;
	size_t keyn;

	if (p[0] == '$') {
		/* "$host": the parser's shorthand, never written by agents. */
		l->source.p = reserved;
		l->source.n = sizeof(reserved) - 1;
		key = p + 1;
		keyn = n - 1;
	} else if ((colon = memchr(p, ':', n)) != NULL) {
		l->source.p = p;
		l->source.n = (size_t)(colon - p);
		key = colon + 1;
		keyn = n - l->source.n - 1;
	} else if (n >= sizeof(rdot) - 1 &&
	    memcmp(p, rdot, sizeof(rdot) - 1) == 0) {
		l->source.p = reserved;
		l->source.n = sizeof(reserved) - 1;
		key = p + sizeof(rdot) - 1;
		keyn = n - (sizeof(rdot) - 1);
	} else {
		l->source.p = p;
		l->source.n = 0;
		key = p;
		keyn = n;
	}
	if (l->source.n == 0) {
		l->source.p = unspec;
		l->source.n = sizeof(unspec) - 1;
	}
	l->key.p = key;
	if ((eq = memchr(key, '=', keyn)) != NULL) {
		l->key.n = (size_t)(eq - key);
		l->value.p = eq + 1;
		l->value.n = keyn - l->key.n - 1;
		if (eq == key && l->source.n == sizeof(reserved) - 1 &&
		    memcmp(l->source.p, reserved, l->source.n) == 0) {
			/* "$=host", "reserved:=host": Cilium's key is "host" */
			l->key.p = eq + 1;
			l->key.n = l->value.n;
			l->value.n = 0;
		}
	} else {
		l->key.n = keyn;
		l->value.p = key + keyn;
		l->value.n = 0;
	}
	return l->key.n > 0;
}

int
hs_labels_parse(const char *s, size_t n, struct hs_labels *out)
{
	size_t i, start, count = 0, k = 0;

	out->n = 0;
	out->v = NULL;
	if (s == NULL)
		return 0;
	for (i = start = 0; i <= n; i++) {
		if (i == n || s[i] == ';') {
			if (i > start)
				count++;
			start = i + 1;
		}
	}
	if (count == 0)
		return 0;
	if ((out->v = calloc(count, sizeof(*out->v))) == NULL)
		return -1;
	for (i = start = 0; i <= n; i++) {
		if (i == n || s[i] == ';') {
			if (i > start &&
			    label_split(s + start, i - start, &out->v[k]))
				k++;
			start = i + 1;
		}
	}
	out->n = k;
	return 0;
}

void
hs_labels_release(struct hs_labels *labels)
{
	if (labels == NULL)
		return;
	free(labels->v);
	labels->v = NULL;
	labels->n = 0;
}

/* --- values: helpers ----------------------------------------------------- */

/* What hs_value_decode owns besides the labels array. */
struct hs_priv {
	cJSON *root;
	void *arr; /* ports or addresses */
};

/* Where a decode error goes, and the context to name the field by. */
struct derr {
	char *buf;
	size_t len;
	const char *what; /* "ipcache", "node", ... */
	char ctx[48]; /* "NamedPorts[2]." while inside an entry */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct derr *e, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (e->buf == NULL || e->len == 0)
		return -1;
	k = snprintf(e->buf, e->len, "%s: ", e->what);
	if (k < 0 || (size_t)k >= e->len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->buf + k, e->len - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

/* Optional string member: 0 absent or null, 1 set, -1 wrong type. */
static int
opt_str(const cJSON *obj, const char *name, struct hs_str *out, struct derr *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	out->p = NULL;
	out->n = 0;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return fail(e, "%s%s is not a string", e->ctx, name);
	out->p = it->valuestring;
	out->n = strlen(it->valuestring);
	return 1;
}

/* A string member that must be there and not be empty. */
static int
req_str(const cJSON *obj, const char *name, struct hs_str *out, struct derr *e)
{
	int r;

	if ((r = opt_str(obj, name, out, e)) < 0)
		return -1;
	if (r == 0 || out->n == 0)
		return fail(e, "%s%s is missing or empty", e->ctx, name);
	return 0;
}

/* An optional string that defaults to "" (a NOT NULL column). */
static int
str_or_empty(
    const cJSON *obj, const char *name, struct hs_str *out, struct derr *e)
{
	int r;

	if ((r = opt_str(obj, name, out, e)) == 0)
		out->p = empty;
	return r < 0 ? -1 : 0;
}

/* An optional IP string: "" is Go's nil net.IP and means absent. */
static int
opt_ip(const cJSON *obj, const char *name, struct hs_str *out, struct derr *e)
{
	unsigned char bin[16];
	int r;

	if ((r = opt_str(obj, name, out, e)) <= 0)
		return r;
	if (out->n == 0) {
		out->p = NULL;
		return 0;
	}
	if (ip_parse(out->p, out->n, bin) == 0)
		return fail(e, "%s%s is not an IP address", e->ctx, name);
	return 1;
}

/*
 * Optional integer member within [lo, hi]: 0 absent or null, 1 set, -1 wrong
 * type or out of range.  JSON numbers arrive as doubles: check the range
 * before converting, as an out-of-range conversion is undefined.
 */
static int
opt_int(const cJSON *obj, const char *name, double lo, double hi, int64_t *out,
    struct derr *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return fail(e, "%s%s is not a number", e->ctx, name);
	d = it->valuedouble;
	/* NaN fails the range test; in range, the cast is defined. */
	if (!(d >= lo && d <= hi) || d != (double)(int64_t)d)
		return fail(e, "%s%s is not an integer in [%.0f, %.0f]", e->ctx,
		    name, lo, hi);
	*out = (int64_t)d;
	return 1;
}

/* Optional bool into *out (-1 absent or null, 0, 1); -1 on wrong type. */
static int
opt_bool(const cJSON *obj, const char *name, int *out, struct derr *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = -1;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsBool(it))
		return fail(e, "%s%s is not a bool", e->ctx, name);
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return 0;
}

/*
 * Decode a base64 net.IPMask for an address of family fam into mask (the
 * address's byte length) and return its prefix length, or -1.  A 16-byte
 * mask on an IPv4 address is cut to its last 4 bytes, as Go's IPNet does
 * (networkNumberAndMask: for ::ffff:a.b.c.d/120 that is a.b.c.d/24); a
 * 4-byte mask on an IPv6 address does not decode, nor does a mask whose
 * ones are not contiguous (Go's IPMask.Size() is 0, 0 for it).
 */
static int
mask_decode(const char *s, size_t n, int fam, unsigned char mask[16])
{
	unsigned char raw[24];
	long len;
	int i, ones = 0, zero = 0;

	/* 16 bytes are 24 characters padded; anything longer is no mask. */
	if (n == 0 || n > 24 || hs_b64_declen(n) > sizeof(raw))
		return -1;
	len = hs_b64_decode(s, n, raw);
	if (len != 4 && len != 16)
		return -1;
	if (fam == 4 && len == 16) {
		memmove(raw, raw + 12, 4);
		len = 4;
	}
	if (fam == 6 && len != 16)
		return -1;
	memcpy(mask, raw, (size_t)len);
	for (i = 0; i < len * 8; i++) {
		if (raw[i / 8] & (0x80u >> (i % 8))) {
			if (zero)
				return -1; /* a one after a zero */
			ones++;
		} else {
			zero = 1;
		}
	}
	return ones;
}

/* --- values: identities and text ----------------------------------------- */

static int
decode_identity(
    const char *value, size_t n, struct hs_value *out, struct derr *e)
{
	if (memchr(value, '\0', n) != NULL ||
	    !hs_utf8_valid((const unsigned char *)value, n))
		return fail(e, "labels are not UTF-8 text");
	out->u.identity.labels.p = value;
	out->u.identity.labels.n = n;
	if (hs_labels_parse(value, n, &out->u.identity.parsed) != 0)
		return fail(e, "out of memory");
	return 0;
}

static int
decode_identity_user(
    const char *value, size_t n, struct hs_value *out, struct derr *e)
{
	uint64_t id;

	if (hs_parse_u64(value, n, &id) != 0 || id > ID_MAX)
		return fail(e, "value is not a decimal identity");
	out->u.identity_user.identity = id;
	return 0;
}

static int
decode_heartbeat(
    const char *value, size_t n, struct hs_value *out, struct derr *e)
{
	if (hs_rfc3339_parse(value, n, &out->u.heartbeat.time_us) != 0)
		return fail(e, "value is not an RFC 3339 time");
	out->u.heartbeat.text.p = value;
	out->u.heartbeat.text.n = n;
	return 0;
}

/* --- values: ipcache ----------------------------------------------------- */

/*
 * "cilium-global:<space>:<node>:<endpointID>" as agents write it;
 * clustermesh-apiserver writes "".  Anything else names no node.
 */
static void
parse_metadata(struct hs_str m, struct hs_str *node, int64_t *epid)
{
	static const char pfx[] = "cilium-global:";
	const char *p, *end, *colon, *last;
	int64_t id;

	node->p = NULL;
	node->n = 0;
	*epid = -1;
	if (m.p == NULL || m.n < sizeof(pfx) - 1 ||
	    memcmp(m.p, pfx, sizeof(pfx) - 1) != 0)
		return;
	p = m.p + sizeof(pfx) - 1;
	end = m.p + m.n;
	if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
		return;
	p = colon + 1;
	for (last = end; last > p && last[-1] != ':'; last--)
		;
	if (last - 1 <= p)
		return;
	if (hs_parse_i64(last, (size_t)(end - last), &id) != 0 || id < 0)
		return;
	node->p = p;
	node->n = (size_t)(last - 1 - p);
	*epid = id;
}

static int
decode_named_ports(const cJSON *root, struct hs_priv *priv,
    struct hs_value *out, struct derr *e)
{
	const cJSON *arr, *el;
	struct hs_port *ports, *pt;
	int64_t v;
	int i = 0, count;

	arr = cJSON_GetObjectItemCaseSensitive(root, "NamedPorts");
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(e, "NamedPorts is not an array");
	if ((count = cJSON_GetArraySize(arr)) <= 0)
		return 0;
	if ((ports = calloc((size_t)count, sizeof(*ports))) == NULL)
		return fail(e, "out of memory");
	priv->arr = ports;
	cJSON_ArrayForEach(el, arr)
	{
		if (i >= count)
			break;
		pt = &ports[i];
		snprintf(e->ctx, sizeof(e->ctx), "NamedPorts[%d].", i);
		if (!cJSON_IsObject(el))
			return fail(e, "NamedPorts[%d] is not an object", i);
		v = 0;
		if (str_or_empty(el, "Name", &pt->name, e) < 0 ||
		    opt_int(el, "Port", 0, 65535, &v, e) < 0 ||
		    str_or_empty(el, "Protocol", &pt->protocol, e) < 0)
			return -1;
		pt->port = (int)v;
		i++;
	}
	e->ctx[0] = '\0';
	out->u.ipcache.ports = ports;
	out->u.ipcache.nports = (size_t)i;
	return 0;
}

static int
decode_ipcache(const struct hs_key *key, const cJSON *root,
    struct hs_priv *priv, struct hs_value *out, struct derr *e)
{
	const cJSON *mask;
	struct hs_str meta;
	unsigned char m[16];
	int64_t v;
	int r, fam;

	if (req_str(root, "IP", &out->u.ipcache.ip, e) < 0)
		return -1;
	fam = ip_parse(
	    out->u.ipcache.ip.p, out->u.ipcache.ip.n, out->u.ipcache.ip_bin);
	if (fam == 0)
		return fail(e, "IP is not an IP address");
	/* Mask null is a host entry, the normal case. */
	out->u.ipcache.prefix_len = -1;
	mask = cJSON_GetObjectItemCaseSensitive(root, "Mask");
	if (mask != NULL && !cJSON_IsNull(mask)) {
		if (!cJSON_IsString(mask) || mask->valuestring == NULL)
			return fail(e, "Mask is not a string");
		if (mask->valuestring[0] != '\0') {
			r = mask_decode(mask->valuestring,
			    strlen(mask->valuestring), fam, m);
			if (r < 0)
				return fail(
				    e, "Mask is not a netmask for the IP");
			out->u.ipcache.prefix_len = r;
		}
	}
	if (out->u.ipcache.prefix_len < 0) {
		/* A /len meant for the other family is no length for IP. */
		if (key->kind == HS_KIND_IPCACHE && key->prefix_len >= 0 &&
		    key->prefix_len <= (fam == 4 ? 32 : 128))
			out->u.ipcache.prefix_len = key->prefix_len;
		else
			out->u.ipcache.prefix_len = fam == 4 ? 32 : 128;
	}
	if ((r = opt_int(root, "ID", 0, ID_MAX, &v, e)) < 0)
		return -1;
	if (r == 0)
		return fail(e, "ID is missing");
	out->u.ipcache.identity = v;
	if (opt_ip(root, "HostIP", &out->u.ipcache.host_ip, e) < 0)
		return -1;
	v = 0;
	if (opt_int(root, "Key", 0, 255, &v, e) < 0)
		return -1;
	out->u.ipcache.encrypt_key = (int)v;
	if (opt_str(root, "K8sNamespace", &out->u.ipcache.namespace, e) < 0 ||
	    opt_str(root, "K8sPodName", &out->u.ipcache.pod, e) < 0 ||
	    opt_str(root, "K8sServiceAccount", &out->u.ipcache.service_account,
		e) < 0 ||
	    opt_str(root, "Metadata", &meta, e) < 0)
		return -1;
	parse_metadata(meta, &out->u.ipcache.node, &out->u.ipcache.endpoint_id);
	return decode_named_ports(root, priv, out, e);
}

/* --- values: nodes ------------------------------------------------------- */

/*
 * A *cidr.CIDR: {"IP": "...", "Mask": "<base64>"} or null.  Formatted as Go's
 * IPNet.String() would, network address masked, into buf ("" when null).
 */
static int
decode_cidr(const cJSON *root, const char *name, char *buf, size_t size,
    int *len, struct derr *e)
{
	const cJSON *obj, *ip, *mask;
	unsigned char bin[16], m[16], *addr;
	char text[INET6_ADDRSTRLEN];
	int fam, ones, i, alen;

	buf[0] = '\0';
	*len = -1;
	obj = cJSON_GetObjectItemCaseSensitive(root, name);
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return fail(e, "%s is not an object", name);
	ip = cJSON_GetObjectItemCaseSensitive(obj, "IP");
	mask = cJSON_GetObjectItemCaseSensitive(obj, "Mask");
	if (!cJSON_IsString(ip) || ip->valuestring == NULL ||
	    (fam = ip_parse(ip->valuestring, strlen(ip->valuestring), bin)) ==
		0)
		return fail(e, "%s.IP is not an IP address", name);
	if (!cJSON_IsString(mask) || mask->valuestring == NULL ||
	    (ones = mask_decode(
		 mask->valuestring, strlen(mask->valuestring), fam, m)) < 0)
		return fail(e, "%s.Mask is not a netmask for its IP", name);
	addr = fam == 4 ? bin + 12 : bin;
	alen = fam == 4 ? 4 : 16;
	for (i = 0; i < alen; i++)
		addr[i] &= m[i];
	if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, text,
		sizeof(text)) == NULL)
		return fail(e, "%s cannot be formatted", name);
	snprintf(buf, size, "%s/%d", text, ones);
	*len = ones;
	return 0;
}

static int
decode_addresses(const cJSON *root, struct hs_priv *priv, struct hs_value *out,
    struct derr *e)
{
	const cJSON *arr, *el;
	struct hs_address *addrs, *a;
	int i = 0, count, r;

	arr = cJSON_GetObjectItemCaseSensitive(root, "IPAddresses");
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(e, "IPAddresses is not an array");
	if ((count = cJSON_GetArraySize(arr)) <= 0)
		return 0;
	if ((addrs = calloc((size_t)count, sizeof(*addrs))) == NULL)
		return fail(e, "out of memory");
	priv->arr = addrs;
	cJSON_ArrayForEach(el, arr)
	{
		if (i >= count)
			break;
		a = &addrs[i];
		snprintf(e->ctx, sizeof(e->ctx), "IPAddresses[%d].", i);
		if (!cJSON_IsObject(el))
			return fail(e, "IPAddresses[%d] is not an object", i);
		/* Cilium <= 1.3 called the field AddressType. */
		if ((r = opt_str(el, "Type", &a->type, e)) < 0)
			return -1;
		if (r == 0 && str_or_empty(el, "AddressType", &a->type, e) < 0)
			return -1;
		if (opt_ip(el, "IP", &a->ip, e) < 0)
			return -1;
		if (a->ip.p == NULL)
			a->ip.p = empty;
		i++;
	}
	e->ctx[0] = '\0';
	out->u.node.addresses = addrs;
	out->u.node.naddresses = (size_t)i;
	return 0;
}

static int
decode_node(const cJSON *root, struct hs_priv *priv, struct hs_value *out,
    struct derr *e)
{
	int64_t v;

	if (req_str(root, "Name", &out->u.node.name, e) < 0 ||
	    opt_str(root, "Cluster", &out->u.node.cluster, e) < 0)
		return -1;
	if (decode_addresses(root, priv, out, e) < 0)
		return -1;
	if (decode_cidr(root, "IPv4AllocCIDR", out->u.node.ipv4_alloc_cidr,
		sizeof(out->u.node.ipv4_alloc_cidr),
		&out->u.node.ipv4_alloc_len, e) < 0 ||
	    decode_cidr(root, "IPv6AllocCIDR", out->u.node.ipv6_alloc_cidr,
		sizeof(out->u.node.ipv6_alloc_cidr),
		&out->u.node.ipv6_alloc_len, e) < 0)
		return -1;
	if (opt_ip(root, "IPv4HealthIP", &out->u.node.ipv4_health_ip, e) < 0 ||
	    opt_ip(root, "IPv6HealthIP", &out->u.node.ipv6_health_ip, e) < 0 ||
	    opt_ip(root, "IPv4IngressIP", &out->u.node.ipv4_ingress_ip, e) <
		0 ||
	    opt_ip(root, "IPv6IngressIP", &out->u.node.ipv6_ingress_ip, e) < 0)
		return -1;
	v = -1;
	if (opt_int(root, "ClusterID", 0, ID_MAX, &v, e) < 0)
		return -1;
	out->u.node.cluster_id = v;
	v = -1;
	if (opt_int(root, "EncryptionKey", 0, 255, &v, e) < 0)
		return -1;
	out->u.node.encryption_key = v;
	if (opt_str(root, "BootID", &out->u.node.boot_id, e) < 0 ||
	    opt_str(root, "Source", &out->u.node.source, e) < 0)
		return -1;
	return 0;
}

/* --- values: services ---------------------------------------------------- */

/*
 * Upper bound of the entries a frontends/backends map gives (null is
 * none): its ports, and one for an IP listed with none.
 */
static int
count_ports(const cJSON *map, const char *name, size_t *count, struct derr *e)
{
	const cJSON *ip;

	if (map == NULL || cJSON_IsNull(map))
		return 0;
	if (!cJSON_IsObject(map))
		return fail(e, "%s is not an object", name);
	cJSON_ArrayForEach(ip, map)
	{
		*count += 1;
		if (cJSON_IsObject(ip))
			*count += (size_t)cJSON_GetArraySize(ip);
	}
	return 0;
}

/*
 * The frontend key of a service with no cluster IP as the operator of
 * Cilium 1.4 to 1.9 wrote it: FrontendIP.String() of a nil net.IP, which
 * net.ParseIP("None") gives for a headless service.  Later versions list
 * no frontend for it.
 */
static const char nil_ip[] = "<nil>";

/*
 * frontends/backends: IP -> PortConfiguration (port name -> *L4Addr).
 * Entries are reported by position, not by key, to keep the error one
 * short line whatever the key holds.  An IP whose PortConfiguration is
 * empty or null (a headless service's backend, say) is still a frontend
 * or backend: it gets one entry with port -1.  A frontend key "<nil>"
 * (nil_ip) is kept as it is, with its ports.
 */
static int
decode_portmap(const cJSON *map, const char *name, int backend,
    struct hs_svc_port *ports, size_t cap, size_t *np, struct derr *e)
{
	const cJSON *ip, *pc;
	struct hs_svc_port *sp;
	unsigned char bin[16];
	int64_t v;
	int i = 0, j;

	if (map == NULL || cJSON_IsNull(map))
		return 0;
	cJSON_ArrayForEach(ip, map)
	{
		if (ip->string == NULL ||
		    (ip_parse(ip->string, strlen(ip->string), bin) == 0 &&
			(backend || strcmp(ip->string, nil_ip) != 0)))
			return fail(
			    e, "%s key #%d is not an IP address", name, i);
		if (!cJSON_IsObject(ip) && !cJSON_IsNull(ip))
			return fail(
			    e, "%s entry #%d is not an object", name, i);
		j = 0;
		cJSON_ArrayForEach(pc, ip)
		{
			if (cJSON_IsNull(pc))
				continue;
			if (!cJSON_IsObject(pc))
				return fail(e,
				    "%s entry #%d port #%d is not "
				    "an object",
				    name, i, j);
			if (*np >= cap)
				return fail(e, "%s has too many ports", name);
			sp = &ports[*np];
			snprintf(e->ctx, sizeof(e->ctx),
			    "%s #%d port #%d: ", name, i, j);
			v = 0;
			if (str_or_empty(pc, "Protocol", &sp->protocol, e) <
				0 ||
			    opt_int(pc, "Port", 0, 65535, &v, e) < 0)
				return -1;
			sp->backend = backend;
			sp->ip.p = ip->string;
			sp->ip.n = strlen(ip->string);
			sp->port_name.p =
			    pc->string != NULL ? pc->string : empty;
			sp->port_name.n = strlen(sp->port_name.p);
			sp->port = (int)v;
			(*np)++;
			j++;
		}
		if (j == 0) {
			if (*np >= cap)
				return fail(e, "%s has too many ports", name);
			sp = &ports[*np];
			sp->backend = backend;
			sp->ip.p = ip->string;
			sp->ip.n = strlen(ip->string);
			sp->port_name.p = sp->protocol.p = empty;
			sp->port_name.n = sp->protocol.n = 0;
			sp->port = -1;
			(*np)++;
		}
		i++;
	}
	e->ctx[0] = '\0';
	return 0;
}

static int
decode_service(const cJSON *root, struct hs_priv *priv, struct hs_value *out,
    struct derr *e)
{
	const cJSON *fe, *be;
	struct hs_svc_port *ports;
	size_t cap = 0, np = 0;
	int64_t v;

	if (opt_str(root, "cluster", &out->u.service.cluster, e) < 0 ||
	    req_str(root, "namespace", &out->u.service.namespace, e) < 0 ||
	    req_str(root, "name", &out->u.service.name, e) < 0)
		return -1;
	fe = cJSON_GetObjectItemCaseSensitive(root, "frontends");
	be = cJSON_GetObjectItemCaseSensitive(root, "backends");
	if (count_ports(fe, "frontends", &cap, e) < 0 ||
	    count_ports(be, "backends", &cap, e) < 0)
		return -1;
	ports = NULL;
	if (cap > 0) {
		if ((ports = calloc(cap, sizeof(*ports))) == NULL)
			return fail(e, "out of memory");
		priv->arr = ports;
		out->u.service.ports = ports;
	}
	/* Even with no ports, the IP keys and entry types are checked. */
	if (decode_portmap(fe, "frontends", 0, ports, cap, &np, e) < 0 ||
	    decode_portmap(be, "backends", 1, ports, cap, &np, e) < 0)
		return -1;
	out->u.service.nports = np;
	if (opt_bool(root, "includeExternal", &out->u.service.include_external,
		e) < 0 ||
	    opt_bool(root, "shared", &out->u.service.shared, e) < 0)
		return -1;
	v = -1;
	if (opt_int(root, "clusterID", 0, ID_MAX, &v, e) < 0)
		return -1;
	out->u.service.cluster_id = v;
	return 0;
}

/* --- values: entry point ------------------------------------------------- */

/*
 * Whether a JSON text has a \u0000 escape.  cJSON would decode it and then
 * cut the string there, silently; such a string has no place in a TEXT
 * column anyway.  Backslashes only occur inside strings, each starting an
 * escape, so skipping the escaped character keeps the scan exact.
 */
static int
has_nul_escape(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && n - i >= 6 &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i++;
	}
	return 0;
}

static int
decode_json(const struct hs_key *key, const char *value, size_t n,
    struct hs_value *out, struct derr *e)
{
	struct hs_priv *priv;
	const char *end = NULL;
	char *copy;
	cJSON *root;
	size_t i;

	if (n == 0)
		return fail(e, "value is empty");
	/* Go's json.Marshal writes UTF-8 only; NUL would cut cJSON short. */
	if (memchr(value, '\0', n) != NULL)
		return fail(e, "value contains a NUL byte");
	if (!hs_utf8_valid((const unsigned char *)value, n))
		return fail(e, "value is not UTF-8");
	if (has_nul_escape(value, n))
		return fail(e, "value has a \\u0000 escape");
	if ((copy = malloc(n + 1)) == NULL)
		return fail(e, "out of memory");
	memcpy(copy, value, n);
	copy[n] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, n, &end, 0);
	i = end != NULL && end >= copy && end <= copy + n ? (size_t)(end - copy)
							  : 0;
	free(copy);
	if (root == NULL)
		return fail(e, "bad JSON at byte %zu", i);
	/* Go rejects data after the value; so does the reader in Cilium. */
	for (; i < n; i++) {
		if (value[i] != ' ' && value[i] != '\t' && value[i] != '\n' &&
		    value[i] != '\r') {
			cJSON_Delete(root);
			return fail(
			    e, "data after the JSON value at byte %zu", i);
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(e, "value is not a JSON object");
	}
	if ((priv = calloc(1, sizeof(*priv))) == NULL) {
		cJSON_Delete(root);
		return fail(e, "out of memory");
	}
	priv->root = root;
	out->priv = priv;
	switch (key->kind) {
	case HS_KIND_IPCACHE:
		return decode_ipcache(key, root, priv, out, e);
	case HS_KIND_NODE:
	case HS_KIND_NODEREGISTER:
		return decode_node(root, priv, out, e);
	case HS_KIND_SERVICE:
		return decode_service(root, priv, out, e);
	default:
		return fail(e, "no JSON decoder for this kind");
	}
}

int
hs_value_decode(const struct hs_key *key, const char *value, size_t n,
    struct hs_value *out, char *err, size_t errlen)
{
	struct derr e;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	e.buf = err;
	e.len = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (key == NULL) {
		e.what = "decode";
		return fail(&e, "no key");
	}
	out->kind = key->kind;
	e.what = hs_kind_name(key->kind);
	if (value == NULL) {
		if (n > 0)
			return fail(&e, "no value buffer");
		value = empty;
	}
	switch (key->kind) {
	case HS_KIND_IDENTITY:
		r = decode_identity(value, n, out, &e);
		break;
	case HS_KIND_IDENTITY_USER:
		r = decode_identity_user(value, n, out, &e);
		break;
	case HS_KIND_HEARTBEAT:
		r = decode_heartbeat(value, n, out, &e);
		break;
	case HS_KIND_IPCACHE:
	case HS_KIND_NODE:
	case HS_KIND_NODEREGISTER:
	case HS_KIND_SERVICE:
		r = decode_json(key, value, n, out, &e);
		break;
	default:
		return 1;
	}
	if (r != 0) {
		hs_value_release(out);
		out->kind = key->kind;
		return -1;
	}
	return 0;
}

void
hs_value_release(struct hs_value *v)
{
	struct hs_priv *priv;

	if (v == NULL)
		return;
	if (v->kind == HS_KIND_IDENTITY)
		hs_labels_release(&v->u.identity.parsed);
	if ((priv = v->priv) != NULL) {
		cJSON_Delete(priv->root);
		free(priv->arr);
		free(priv);
	}
	memset(v, 0, sizeof(*v));
}
