/*
 * wire.c: decode etcd gateway JSON into structs, build request bodies.
 * cJSON parses; this file only knows etcd's conventions: int64 as strings,
 * base64 bytes, omitted defaults.
 */
#include "wire.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"

#define GET(o, name) cJSON_GetObjectItemCaseSensitive((o), (name))

/* An int64 field: a JSON string of digits (or a number); absent is 0. */
static int
get_i64(
    const cJSON *o, const char *name, int64_t *out, char *err, size_t errlen)
{
	const cJSON *f = GET(o, name);

	*out = 0;
	if (f == NULL)
		return 0;
	if (cJSON_IsString(f) &&
	    hs_parse_i64(f->valuestring, strlen(f->valuestring), out) == 0)
		return 0;
	if (cJSON_IsNumber(f) && f->valuedouble >= -9e15 &&
	    f->valuedouble <= 9e15) {
		*out = (int64_t)f->valuedouble;
		return 0;
	}
	snprintf(err, errlen, "field %s is not an integer", name);
	return -1;
}

static int
get_u64(
    const cJSON *o, const char *name, uint64_t *out, char *err, size_t errlen)
{
	const cJSON *f = GET(o, name);

	*out = 0;
	if (f == NULL)
		return 0;
	if (cJSON_IsString(f) &&
	    hs_parse_u64(f->valuestring, strlen(f->valuestring), out) == 0)
		return 0;
	snprintf(err, errlen, "field %s is not an unsigned integer", name);
	return -1;
}

/* Base64 field into a malloc'd NUL-terminated buffer; absent is NULL/0. */
static int
get_bytes(const cJSON *o, const char *name, char **out, size_t *len, char *err,
    size_t errlen)
{
	const cJSON *f = GET(o, name);
	size_t n;
	long got;

	*out = NULL;
	*len = 0;
	if (f == NULL)
		return 0;
	if (!cJSON_IsString(f)) {
		snprintf(err, errlen, "field %s is not a string", name);
		return -1;
	}
	n = strlen(f->valuestring);
	if ((*out = malloc(hs_b64_declen(n) + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((got = hs_b64_decode(f->valuestring, n, (unsigned char *)*out)) <
	    0) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "field %s is not base64", name);
		return -1;
	}
	(*out)[got] = '\0';
	*len = (size_t)got;
	return 0;
}

static int
parse_header(const cJSON *root, struct wire_header *h, char *err, size_t errlen)
{
	const cJSON *o = GET(root, "header");

	memset(h, 0, sizeof(*h));
	if (o == NULL)
		return 0;
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "header is not an object");
		return -1;
	}
	if (get_u64(o, "cluster_id", &h->cluster_id, err, errlen) ||
	    get_u64(o, "member_id", &h->member_id, err, errlen) ||
	    get_i64(o, "revision", &h->revision, err, errlen) ||
	    get_u64(o, "raft_term", &h->raft_term, err, errlen))
		return -1;
	return 0;
}

static void
kv_release(struct wire_kv *kv)
{
	free(kv->key);
	free(kv->value);
	kv->key = kv->value = NULL;
}

static int
parse_kv(const cJSON *o, struct wire_kv *kv, char *err, size_t errlen)
{
	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "kv is not an object");
		return -1;
	}
	if (get_bytes(o, "key", &kv->key, &kv->keylen, err, errlen) ||
	    get_bytes(o, "value", &kv->value, &kv->vallen, err, errlen) ||
	    get_i64(o, "create_revision", &kv->create_rev, err, errlen) ||
	    get_i64(o, "mod_revision", &kv->mod_rev, err, errlen) ||
	    get_i64(o, "version", &kv->version, err, errlen) ||
	    get_i64(o, "lease", &kv->lease, err, errlen)) {
		kv_release(kv);
		return -1;
	}
	if (kv->key == NULL) {
		kv_release(kv);
		snprintf(err, errlen, "kv without key");
		return -1;
	}
	return 0;
}

int
wire_parse_header(const char *body, size_t n, struct wire_header *out,
    char *err, size_t errlen)
{
	cJSON *root;
	int rc;

	if ((root = cJSON_ParseWithLength(body, n)) == NULL) {
		snprintf(err, errlen, "response is not JSON");
		return -1;
	}
	rc = parse_header(root, out, err, errlen);
	cJSON_Delete(root);
	return rc;
}

int
wire_parse_range(const char *body, size_t n, struct wire_range *out, char *err,
    size_t errlen)
{
	const cJSON *kvs, *kv, *more;
	cJSON *root;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if ((root = cJSON_ParseWithLength(body, n)) == NULL) {
		snprintf(err, errlen, "range response is not JSON");
		return -1;
	}
	if (parse_header(root, &out->hdr, err, errlen) ||
	    get_i64(root, "count", &out->count, err, errlen))
		goto fail;
	more = GET(root, "more");
	out->more = cJSON_IsTrue(more);
	kvs = GET(root, "kvs");
	if (kvs != NULL) {
		if (!cJSON_IsArray(kvs)) {
			snprintf(err, errlen, "kvs is not an array");
			goto fail;
		}
		out->kvs = calloc(
		    (size_t)cJSON_GetArraySize(kvs) + 1, sizeof(*out->kvs));
		if (out->kvs == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		cJSON_ArrayForEach(kv, kvs)
		{
			if (parse_kv(kv, &out->kvs[i], err, errlen) != 0)
				goto fail;
			out->nkvs = ++i;
		}
	}
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(root);
	wire_range_release(out);
	return -1;
}

void
wire_range_release(struct wire_range *r)
{
	size_t i;

	for (i = 0; i < r->nkvs; i++)
		kv_release(&r->kvs[i]);
	free(r->kvs);
	r->kvs = NULL;
	r->nkvs = 0;
}

static void
copy_string(const cJSON *f, char *buf, size_t size)
{
	if (cJSON_IsString(f))
		snprintf(buf, size, "%s", f->valuestring);
}

static int
parse_event(const cJSON *o, struct wire_event *ev, char *err, size_t errlen)
{
	const cJSON *type, *prev;

	memset(ev, 0, sizeof(*ev));
	type = GET(o, "type");
	if (type == NULL ||
	    (cJSON_IsString(type) && strcmp(type->valuestring, "PUT") == 0))
		ev->type = WIRE_PUT;
	else if (cJSON_IsString(type) &&
	    strcmp(type->valuestring, "DELETE") == 0)
		ev->type = WIRE_DELETE;
	else {
		snprintf(err, errlen, "event type is neither PUT nor DELETE");
		return -1;
	}
	if (parse_kv(GET(o, "kv"), &ev->kv, err, errlen) != 0)
		return -1;
	if (ev->kv.mod_rev <= 0) {
		kv_release(&ev->kv);
		snprintf(err, errlen, "event without mod_revision");
		return -1;
	}
	if ((prev = GET(o, "prev_kv")) != NULL) {
		if (parse_kv(prev, &ev->prev, err, errlen) != 0) {
			kv_release(&ev->kv);
			return -1;
		}
		ev->has_prev = 1;
	}
	return 0;
}

/*
 * A little scanning without a parse tree, to find a watch message's
 * events array: where values begin and end.  Brackets are only counted;
 * cJSON checks whatever is decoded.
 */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at a '"': past the closing quote, or NULL when the line ends first. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\' && ++p == end)
			break;
	}
	return NULL;
}

/*
 * p at a value: past it, or NULL when the line ends first.  *commas, when
 * not NULL, gets the commas directly inside an array or object.
 */
static const char *
skip_value(const char *p, const char *end, size_t *commas)
{
	size_t depth = 0, n = 0;

	if (p < end && *p == '"')
		return skip_string(p, end);
	if (p < end && *p != '{' && *p != '[') {
		/* A number or a literal: up to a delimiter. */
		while (p < end && *p != ',' && *p != '}' && *p != ']' &&
		    *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth == 0) {
				if (commas)
					*commas = n;
				return p + 1;
			}
		} else if (*p == ',' && depth == 1)
			n++;
	}
	return NULL;
}

/* p at an object: its member name's value, or NULL (absent, malformed). */
static const char *
member(const char *p, const char *end, const char *name)
{
	size_t len = strlen(name);
	const char *k;
	int match;

	if (p == NULL || p >= end || *p != '{')
		return NULL;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		k = p + 1;
		if ((p = skip_string(p, end)) == NULL)
			return NULL;
		match = (size_t)(p - 1 - k) == len && memcmp(k, name, len) == 0;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = skip_ws(p + 1, end);
		if (match)
			return p;
		if ((p = skip_value(p, end, NULL)) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return NULL;
		p = skip_ws(p + 1, end);
	}
	return NULL;
}

/*
 * The line without its events: the events array, found by scanning, is
 * cut out (left as []) and the rest, a few hundred bytes, parsed by cJSON.
 * w's cursor then spans the array.  When the scan finds no array (none,
 * not an array, the line cut short), cJSON parses the whole line: it is
 * small, or an error.
 */
static cJSON *
parse_envelope(
    const char *line, size_t n, struct wire_watch *w, char *err, size_t errlen)
{
	const char *end = line + n, *from, *to;
	size_t commas = 0, len;
	cJSON *root;
	char *rest;

	from = member(member(skip_ws(line, end), end, "result"), end, "events");
	if (from == NULL || *from != '[' ||
	    (to = skip_value(from, end, &commas)) == NULL) {
		if ((root = cJSON_ParseWithLength(line, n)) == NULL)
			snprintf(err, errlen, "watch message is not JSON");
		return root;
	}
	len = (size_t)(from - line) + 2 + (size_t)(end - to);
	if ((rest = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(rest, line, (size_t)(from - line));
	memcpy(rest + (from - line), "[]", 2);
	memcpy(rest + (from - line) + 2, to, (size_t)(end - to));
	if ((root = cJSON_ParseWithLength(rest, len)) == NULL)
		snprintf(err, errlen, "watch message is not JSON");
	free(rest);
	w->ev_next = skip_ws(from + 1, to - 1);
	w->ev_end = to - 1; /* at the ']' */
	w->nevents = w->ev_next < w->ev_end ? commas + 1 : 0;
	return root;
}

int
wire_parse_watch(const char *line, size_t n, struct wire_watch *out, char *err,
    size_t errlen)
{
	const cJSON *res, *e, *evs;
	cJSON *root;
	int64_t code = 0;

	memset(out, 0, sizeof(*out));
	if ((root = parse_envelope(line, n, out, err, errlen)) == NULL)
		goto fail;
	if ((e = GET(root, "error")) != NULL) {
		/* 3.4/3.5: grpc_code; 3.6: code. */
		out->is_error = 1;
		if (cJSON_IsObject(e)) {
			if (get_i64(e, "grpc_code", &code, err, errlen) == 0 &&
			    code == 0)
				get_i64(e, "code", &code, err, errlen);
			copy_string(GET(e, "message"), out->error_msg,
			    sizeof(out->error_msg));
		} else
			copy_string(e, out->error_msg, sizeof(out->error_msg));
		out->error_code = (int)code;
		wire_watch_release(out);
		cJSON_Delete(root);
		return 0;
	}
	if (!cJSON_IsObject(res = GET(root, "result"))) {
		snprintf(err, errlen, "watch message has no result");
		goto fail;
	}
	if (parse_header(res, &out->hdr, err, errlen) ||
	    get_i64(res, "watch_id", &out->watch_id, err, errlen) ||
	    get_i64(
		res, "compact_revision", &out->compact_revision, err, errlen))
		goto fail;
	out->created = cJSON_IsTrue(GET(res, "created"));
	out->canceled = cJSON_IsTrue(GET(res, "canceled"));
	out->fragment = cJSON_IsTrue(GET(res, "fragment"));
	copy_string(GET(res, "cancel_reason"), out->cancel_reason,
	    sizeof(out->cancel_reason));
	evs = GET(res, "events");
	if (evs != NULL && !cJSON_IsArray(evs)) {
		snprintf(err, errlen, "events is not an array");
		goto fail;
	}
	/* Events the scan did not find (a quoted name in escapes). */
	if (evs != NULL && out->ev_end == NULL && cJSON_GetArraySize(evs) > 0) {
		snprintf(err, errlen, "events array not found by the scan");
		goto fail;
	}
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(root);
	wire_watch_release(out);
	return -1;
}

int
wire_watch_next(
    struct wire_watch *w, struct wire_event *ev, char *err, size_t errlen)
{
	const char *p, *after = NULL;
	cJSON *o;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (w->ev_end == NULL)
		return 0;
	p = skip_ws(w->ev_next, w->ev_end);
	if (p == w->ev_end)
		return 0;
	if (w->ev_started) {
		if (*p != ',') {
			snprintf(
			    err, errlen, "events: no comma after an event");
			return -1;
		}
		p = skip_ws(p + 1, w->ev_end);
	}
	o = cJSON_ParseWithLengthOpts(p, (size_t)(w->ev_end - p), &after, 0);
	if (o == NULL) {
		snprintf(err, errlen, "an event is not JSON");
		return -1;
	}
	rc = parse_event(o, ev, err, errlen);
	cJSON_Delete(o);
	if (rc != 0)
		return -1;
	w->ev_next = after;
	w->ev_started = 1;
	return 1;
}

void
wire_event_release(struct wire_event *ev)
{
	kv_release(&ev->kv);
	kv_release(&ev->prev);
}

void
wire_watch_release(struct wire_watch *w)
{
	w->ev_next = w->ev_end = NULL;
	w->nevents = 0;
}

/* The reason phrase of the statuses an etcd, or a proxy before it, gives. */
static const char *
http_reason(long status)
{
	static const struct {
		long status;
		const char *reason;
	} tab[] = {{400, "Bad Request"}, {401, "Unauthorized"},
	    {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
	    {408, "Request Timeout"}, {421, "Misdirected Request"},
	    {429, "Too Many Requests"}, {500, "Internal Server Error"},
	    {501, "Not Implemented"}, {502, "Bad Gateway"},
	    {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].status == status)
			return tab[i].reason;
	return "";
}

/* p (before end) opens the HTML element name ("<script", any case)? */
static int
html_open(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n && strncasecmp(p, name, n) == 0;
}

/*
 * The text of an answer that is not JSON, on one line: a proxy's HTML
 * page without its tags, scripts and styles, white space squeezed,
 * anything not printable ASCII as '?', cut to fit out.
 */
static void
body_text(const char *p, size_t n, char *out, size_t size)
{
	const char *end = p + n, *close;
	size_t o = 0;
	int space = 0;

	for (; p < end && o + 1 < size; p++) {
		if (*p == '<' &&
		    (html_open(p, end, "<script") ||
			html_open(p, end, "<style"))) {
			close = html_open(p, end, "<script") ? "</script"
							     : "</style";
			while (p < end && !html_open(p, end, close))
				p++;
			if (p == end)
				break;
		}
		if (*p == '<' && p + 1 < end &&
		    (isalpha((unsigned char)p[1]) || p[1] == '/' ||
			p[1] == '!')) {
			while (p < end && *p != '>')
				p++;
			space = 1;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			space = 1;
			continue;
		}
		if (space && o > 0 && o + 2 < size)
			out[o++] = ' ';
		space = 0;
		out[o++] = (*p >= 32 && *p < 127) ? *p : '?';
	}
	out[o] = '\0';
}

int
wire_parse_error(long status, const char *body, size_t n, int *code, char *msg,
    size_t msglen)
{
	const cJSON *m, *c, *e;
	cJSON *root;
	char text[200]; /* enough to tell what answered */
	int64_t v = 0;

	*code = 0;
	root = cJSON_ParseWithLength(body, n);
	/*
	 * e: the object with code and message, a stream's error
	 * {"error":{"grpc_code":N,...}} (3.6: "code") or the whole body.
	 */
	e = cJSON_IsObject(root) ? GET(root, "error") : NULL;
	if (!cJSON_IsObject(e) ||
	    ((c = GET(e, "grpc_code")) == NULL &&
		(c = GET(e, "code")) == NULL)) {
		e = root;
		c = cJSON_IsObject(root) ? GET(root, "code") : NULL;
	}
	if (c == NULL) {
		cJSON_Delete(root);
		/* Not etcd's (404/405/421 text, a proxy's page): say whose. */
		body_text(body, n, text, sizeof(text));
		snprintf(msg, msglen, "HTTP %ld%s%s%s%s", status,
		    http_reason(status)[0] ? " " : "", http_reason(status),
		    text[0] ? ": " : " (no text)", text);
		return -1;
	}
	if (cJSON_IsString(c))
		hs_parse_i64(c->valuestring, strlen(c->valuestring), &v);
	else if (cJSON_IsNumber(c))
		v = c->valueint;
	*code = (int)v;
	m = GET(e, "message");
	if (!cJSON_IsString(m))
		m = GET(e, "error");
	msg[0] = '\0';
	copy_string(m, msg, msglen);
	cJSON_Delete(root);
	return 0;
}

size_t
wire_prefix_end(const char *prefix, size_t n, char *out)
{
	memcpy(out, prefix, n);
	while (n > 0 && (unsigned char)out[n - 1] == 0xff)
		n--;
	if (n == 0) {
		out[0] = '\0';
		return 1;
	}
	out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
	return n;
}

static void
add_b64(cJSON *o, const char *name, const char *p, size_t n)
{
	char *enc = malloc(hs_b64_enclen(n));

	if (enc == NULL)
		return;
	hs_b64_encode((const unsigned char *)p, n, enc);
	cJSON_AddStringToObject(o, name, enc);
	free(enc);
}

static void
add_i64(cJSON *o, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	cJSON_AddStringToObject(o, name, buf);
}

static char *
finish(cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	return s;
}

char *
wire_range_request(const char *prefix, const char *start_after,
    size_t start_after_len, int64_t rev, int64_t limit)
{
	size_t n = strlen(prefix);
	char *end, *from;
	cJSON *root;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	end = malloc(n + 1);
	from = malloc(start_after_len + 1);
	if (end == NULL || from == NULL) {
		free(end);
		free(from);
		cJSON_Delete(root);
		return NULL;
	}
	if (start_after) {
		/* The next key after k is k + "\0". */
		memcpy(from, start_after, start_after_len);
		from[start_after_len] = '\0';
		add_b64(root, "key", from, start_after_len + 1);
	} else
		add_b64(root, "key", prefix, n);
	add_b64(root, "range_end", end, wire_prefix_end(prefix, n, end));
	if (rev > 0)
		add_i64(root, "revision", rev);
	if (limit > 0)
		add_i64(root, "limit", limit);
	free(end);
	free(from);
	return finish(root);
}

char *
wire_since_request(const char *prefix, int64_t rev, int64_t min_mod_rev)
{
	size_t n = strlen(prefix);
	cJSON *root;
	char *end;

	if ((end = malloc(n + 1)) == NULL)
		return NULL;
	if ((root = cJSON_CreateObject()) == NULL) {
		free(end);
		return NULL;
	}
	add_b64(root, "key", prefix, n);
	add_b64(root, "range_end", end, wire_prefix_end(prefix, n, end));
	add_i64(root, "revision", rev);
	add_i64(root, "min_mod_revision", min_mod_rev);
	add_i64(root, "limit", 1);
	cJSON_AddTrueToObject(root, "keys_only");
	free(end);
	return finish(root);
}

char *
wire_key_request(const char *key)
{
	cJSON *root;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	add_b64(root, "key", key, strlen(key));
	cJSON_AddTrueToObject(root, "keys_only");
	return finish(root);
}

char *
wire_watch_request(const char *prefix, int64_t start_rev)
{
	size_t n = strlen(prefix);
	cJSON *root, *cr;
	char *end;

	if ((end = malloc(n + 1)) == NULL)
		return NULL;
	root = cJSON_CreateObject();
	cr = cJSON_AddObjectToObject(root, "create_request");
	if (cr == NULL) {
		free(end);
		cJSON_Delete(root);
		return NULL;
	}
	add_b64(cr, "key", prefix, n);
	add_b64(cr, "range_end", end, wire_prefix_end(prefix, n, end));
	add_i64(cr, "start_revision", start_rev);
	cJSON_AddTrueToObject(cr, "progress_notify");
	cJSON_AddTrueToObject(cr, "fragment");
	free(end);
	return finish(root);
}

char *
wire_auth_request(const char *user, const char *password)
{
	cJSON *root;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "name", user);
	cJSON_AddStringToObject(root, "password", password);
	return finish(root);
}

int
wire_parse_token(const char *body, size_t n, char *buf, size_t size)
{
	const cJSON *t;
	cJSON *root;
	int rc = -1;

	if ((root = cJSON_ParseWithLength(body, n)) == NULL)
		return -1;
	t = GET(root, "token");
	if (cJSON_IsString(t) && t->valuestring[0] != '\0' &&
	    strlen(t->valuestring) < size) {
		snprintf(buf, size, "%s", t->valuestring);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}
