/*
 * etcd.h: an HTTP client for etcd's JSON gateway, libcurl multi driven by
 * the recorder's one libev loop.  Two kinds of request: a unary POST whose
 * whole body is handed to a callback, and a watch stream whose body is
 * split into lines as it arrives.  Nothing here blocks.
 *
 * Callbacks never run inside the caller's call to etcd_post/etcd_watch;
 * done and end callbacks run from the loop, where starting new requests or
 * closing streams is allowed.  Line callbacks run while libcurl delivers
 * data: they must not close their own stream (return -1 instead).
 */
#ifndef HS_ETCD_H
#define HS_ETCD_H

#include <ev.h>
#include <stddef.h>

struct etcd_config {
	char **endpoints; /* "http://127.0.0.1:2379", ...; borrowed */
	size_t nendpoints;
	const char
	    *cacert; /* TLS: CA bundle, client cert and key; may be NULL */
	const char *cert;
	const char *key;
	double stall_timeout; /* seconds without a byte on a watch: reconnect */
	const char *user; /* etcd auth user, or NULL; borrowed */
	const char *password; /* its password (never logged); borrowed */
	double request_timeout; /* seconds for a unary request */
};

struct etcd;
struct etcd_stream;

/* How a request ended, for etcd_done_cb's result. */
enum {
	ETCD_CONFIG = -1, /* cannot work as configured: TLS trust or
			     certificates, a bad URL, an http:// URL for a
			     port that speaks TLS; retrying will not help */
	ETCD_RETRY = 0, /* transport failure: refused, reset, timeout */
	ETCD_OK = 1, /* the HTTP exchange completed (any status) */
	ETCD_TOO_BIG = 2 /* the response was longer than etcd_post_max()'s
			    max: abandoned, the connection closed */
};

/*
 * A finished unary request.  result ETCD_OK: status is the HTTP status and
 * body/len the response (valid only during the call).  Otherwise errmsg
 * says what failed and body is NULL.
 */
typedef void etcd_done_cb(void *arg, int result, long status, const char *body,
    size_t len, const char *errmsg);

/* One watch line; NUL-terminated at line[len].  Return -1 to end the stream. */
typedef int etcd_line_cb(void *arg, char *line, size_t len);

/*
 * The stream is over: the server ended it, the connection broke or
 * stalled, or a line callback returned -1.  why is a one-line reason (for
 * an answer with another status than 200, whose body is no watch, what
 * that body says: see wire_parse_error(), "etcd error N: msg" for etcd's);
 * result is ETCD_CONFIG when reconnecting cannot help (see above), else
 * ETCD_RETRY.  The stream is freed after this returns.
 */
typedef void etcd_end_cb(void *arg, int result, long status, const char *why);

/* NULL on failure (logged).  cfg is copied; the strings it points to are not.
 */
struct etcd *etcd_new(struct ev_loop *loop, const struct etcd_config *cfg);

/* Aborts every request without calling callbacks.  NULL is fine. */
void etcd_free(struct etcd *e);

/*
 * The auth token sent as "Authorization: <token>" with every request
 * started from now on (NULL: none).  Copied; the old one is wiped.
 */
void etcd_set_token(struct etcd *e, const char *token);
int etcd_has_token(const struct etcd *e);

/* The endpoint requests go to now, and a move to the next one. */
const char *etcd_endpoint(const struct etcd *e);
void etcd_next_endpoint(struct etcd *e);

/* POST body (copied) to path ("/v3/kv/range") on the current endpoint. */
int etcd_post(struct etcd *e, const char *path, const char *body,
    etcd_done_cb *cb, void *arg);

/*
 * The same, abandoning a response longer than max bytes (0: no limit):
 * done is called with ETCD_TOO_BIG, no body, as soon as it is known.
 */
int etcd_post_max(struct etcd *e, const char *path, const char *body,
    size_t max, etcd_done_cb *cb, void *arg);
/* POST body to /v3/watch and deliver its response lines. */
struct etcd_stream *etcd_watch(struct etcd *e, const char *body,
    etcd_line_cb *line, etcd_end_cb *end, void *arg);

/* Abort a stream without calling its end callback.  NULL is fine. */
void etcd_stream_close(struct etcd_stream *s);

#endif
