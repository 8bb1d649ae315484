/*
 * wire.h: etcd's JSON gateway messages, decoded.  Keys and values arrive
 * base64-encoded and every int64 as a JSON string; proto defaults are
 * omitted (a PUT event has no "type", a first watch no "watch_id").  This
 * module turns one response body or one watch line into plain structs and
 * builds the request bodies; it does no I/O.
 * Reference: ../shared/docs/etcd-gateway.md sections 0, 2, 3, 4, 8.
 */
#ifndef HS_WIRE_H
#define HS_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire_header {
	uint64_t cluster_id;
	uint64_t member_id;
	int64_t
	    revision; /* 0 when absent (compaction cancel, txn sub-responses) */
	uint64_t raft_term;
};

/* A key-value.  key/value are decoded bytes, owned by the enclosing message. */
struct wire_kv {
	char *key;
	size_t keylen;
	char *value; /* NULL for an absent (empty) value: vallen 0 */
	size_t vallen;
	int64_t create_rev, mod_rev, version, lease;
};

enum { WIRE_PUT = 0, WIRE_DELETE = 1 };

struct wire_event {
	int type;
	struct wire_kv kv;
	int has_prev;
	struct wire_kv prev;
};

/* A unary response of /v3/kv/range. */
struct wire_range {
	struct wire_header hdr;
	size_t nkvs;
	struct wire_kv *kvs;
	int more;
	int64_t count;
	void *priv;
};

/*
 * One watch stream line.  Its events are decoded one at a time by
 * wire_watch_next(), straight from the line: a message of thousands of
 * events never exists as a whole parse tree next to its text.
 */
struct wire_watch {
	int is_error; /* {"error":{...}}: the stream is over */
	int error_code; /* grpc code */
	char error_msg[256];
	struct wire_header hdr;
	int64_t watch_id;
	int created, canceled;
	int fragment; /* more of this response follows in the next message */
	int64_t compact_revision; /* > 0: canceled because compacted */
	char cancel_reason[256];
	size_t nevents; /* events in the message (decoded or not) */
	const char *ev_next, *ev_end; /* events not decoded yet, in the line */
	int ev_started;
};

/*
 * Parse a range response body.  Returns 0, or -1 with a one-line reason in
 * err when it is not JSON or a field has the wrong type or bad base64.
 * Release with wire_range_release().
 */
int wire_parse_range(const char *body, size_t n, struct wire_range *out,
    char *err, size_t errlen);
void wire_range_release(struct wire_range *r);

/*
 * Parse a watch line, all but its events.  Returns 0, or -1 with a
 * one-line reason in err.  out points into line, which must stay as it is
 * until the events are decoded.  wire_watch_release() ends the decoding.
 */
int wire_parse_watch(const char *line, size_t n, struct wire_watch *out,
    char *err, size_t errlen);
void wire_watch_release(struct wire_watch *w);

/*
 * Decode the next event, in order, into ev (the caller releases it with
 * wire_event_release).  Returns 1, 0 when every event is decoded, or -1
 * with a reason in err when one is malformed (the events before it were
 * well-formed; the rest of the line is not looked at).
 */
int wire_watch_next(
    struct wire_watch *w, struct wire_event *ev, char *err, size_t errlen);
void wire_event_release(struct wire_event *ev);

/*
 * An answer other than HTTP 200 (status): an etcd error object, unary
 * {"error":msg,"message":msg,"code":N} (3.4/3.5), {"code":N,"message":msg}
 * (3.6), or a stream's {"error":{"grpc_code":N,"message":msg,...}}: returns
 * 0 with its code and message.  Anything else (etcd's plain-text 404, 405
 * or 421, a proxy's HTML page, no body at all): returns -1, and msg says
 * "HTTP 404 Not Found: 404 page not found", the text on one line,
 * printable (HTML without tags, scripts and styles), cut to fit.
 */
int wire_parse_error(long status, const char *body, size_t n, int *code,
    char *msg, size_t msglen);

/* Parse a header-only response (e.g. count_only range). */
int wire_parse_header(const char *body, size_t n, struct wire_header *out,
    char *err, size_t errlen);

/*
 * Request bodies, malloc'd, caller frees.  range: the keys [key, end) at
 * revision rev (0 = current), at most limit; start_after, when not NULL,
 * continues after that key (exclusive).
 */
char *wire_range_request(const char *prefix, const char *start_after,
    size_t start_after_len, int64_t rev, int64_t limit);
/*
 * since: one key (keys_only) starting with prefix that was, at revision
 * rev, last put at min_mod_rev or later; none in the reply's kvs if no
 * such key.  (etcd filters by mod revision after counting: "count" is
 * every key of the prefix, and it reads the whole prefix to answer.)
 */
char *wire_since_request(const char *prefix, int64_t rev, int64_t min_mod_rev);
/*
 * key: one key's range (keys_only), linearizable: cheap whatever the
 * prefix holds, and answered only once the member has applied everything
 * committed before the request.
 */
char *wire_key_request(const char *key);
/*
 * watch: the keys starting with prefix from start_rev on (without prev_kv:
 * the db has every previous value, and etcd would read each one again),
 * progress notifications, and fragment, so that etcd splits a response
 * bigger than its --max-request-bytes + 512 KiB (a backlog of big txns:
 * 1000 revisions per response) into several messages; a split may fall
 * inside a revision.
 */
char *wire_watch_request(const char *prefix, int64_t start_rev);

/*
 * Authentication: the body of /v3/auth/authenticate (it holds the
 * password: the caller wipes and frees it), and the token of its answer
 * into buf.  wire_parse_token returns 0, or -1 when there is none.
 */
char *wire_auth_request(const char *user, const char *password);
int wire_parse_token(const char *body, size_t n, char *buf, size_t size);

/* The end of the range of keys starting with prefix, as etcd wants it. */
size_t wire_prefix_end(const char *prefix, size_t n, char *out);

#endif
