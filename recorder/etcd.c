/*
 * etcd.c: libcurl multi on libev, after curl's hiperfifo/evhiperfifo
 * examples, minus their known bugs: timeouts are converted with / 1000.0,
 * curl's timer callback only arms a libev timer (the socket action runs
 * from that timer, never inside curl's callback), and socket actions are
 * passed as CURL_CSELECT_* flags.
 *
 * An http:// endpoint that is really a TLS port answers a plain request
 * with an empty reply or a reset, just like an etcd that is restarting.
 * So when a request to an http:// endpoint fails that way, a TLS
 * handshake is tried on the same host and port (on the same loop, once
 * per endpoint until it answers HTTP again): if the other side speaks
 * TLS, the request fails as ETCD_CONFIG and says so.
 */
#include "etcd.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "framer.h"
#include "log.h"
#include "wire.h"

#define MAX_LINE (512u * 1024 * 1024)
#define PROBE_TIMEOUT_MS 3000L
/* What is kept of a watch answered with another status than 200. */
#define ANSWER_MAX (64u * 1024)

/*
 * Does an endpoint speak the other protocol than its scheme says (an
 * http:// one TLS, an https:// one plain HTTP)?  EP_PROBED: asked, no
 * verdict.  Forgotten once it answers HTTP.
 */
enum { EP_UNKNOWN, EP_PROBED, EP_TLS, EP_PLAIN };

struct etcd {
	struct ev_loop *loop;
	struct etcd_config cfg;
	size_t cur;
	CURLM *multi;
	struct ev_timer timer;
	struct curl_slist *headers;
	char *token; /* auth token, or NULL */
	struct req *reqs; /* every request in flight */
	unsigned char *ep_tls; /* EP_* per endpoint */
};

/* One in-flight request, unary or stream. */
struct req {
	struct etcd *e;
	struct req *next;
	CURL *easy;
	size_t ep; /* index of the endpoint it went to */
	char *body;
	struct curl_slist *headers; /* the etcd's, plus the token */
	char errbuf[CURL_ERROR_SIZE];
	/* unary */
	etcd_done_cb *done;
	char *resp;
	size_t resp_len, resp_cap;
	size_t resp_max; /* a longer response is abandoned (0: no limit) */
	int too_big; /* it was */
	/* stream */
	etcd_line_cb *line;
	etcd_end_cb *end;
	struct framer *framer;
	long status; /* its HTTP status, once the body begins */
	struct ev_timer stall;
	int stalled;
	int aborted; /* a line callback said stop */
	void *arg;
	/* TLS probe of an http:// endpoint, run before the result is given */
	CURL *probe;
	CURLcode res; /* the request's own result, meanwhile */
	char probe_err[CURL_ERROR_SIZE];
	int probe_plain; /* the probe is a plain GET, not a handshake */
};

/* Per-socket state handed to curl with curl_multi_assign. */
struct sock {
	struct etcd *e;
	struct ev_io io;
	curl_socket_t fd;
};

static void check_done(struct etcd *e);

static void
multi_action(struct etcd *e, curl_socket_t fd, int flags)
{
	int running;
	CURLMcode rc;

	rc = curl_multi_socket_action(e->multi, fd, flags, &running);
	if (rc != CURLM_OK)
		log_err("curl: %s", curl_multi_strerror(rc));
	check_done(e);
}

static void
io_cb(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct sock *s = w->data;
	int flags = 0;

	(void)loop;
	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* s may be freed during this call: do not touch it afterwards. */
	multi_action(s->e, s->fd, flags);
}

static void
timer_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	multi_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd *e = userp;

	(void)multi;
	ev_timer_stop(e->loop, &e->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&e->timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(e->loop, &e->timer);
	}
	return 0;
}

static int
curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct etcd *e = userp;
	struct sock *s = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(e->loop, &s->io);
			curl_multi_assign(e->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->e = e;
		s->fd = fd;
		s->io.data = s;
		curl_multi_assign(e->multi, fd, s);
	} else
		ev_io_stop(e->loop, &s->io);
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_init(&s->io, io_cb, fd, events);
	s->io.data = s;
	ev_io_start(e->loop, &s->io);
	return 0;
}

struct etcd *
etcd_new(struct ev_loop *loop, const struct etcd_config *cfg)
{
	struct etcd *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->loop = loop;
	e->cfg = *cfg;
	if ((e->ep_tls = calloc(cfg->nendpoints ? cfg->nendpoints : 1, 1)) ==
		NULL ||
	    (e->multi = curl_multi_init()) == NULL) {
		free(e->ep_tls);
		free(e);
		return NULL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	ev_timer_init(&e->timer, timer_cb, 0., 0.);
	e->timer.data = e;
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* Without it a watch on a member that lost quorum hangs silently. */
	e->headers =
	    curl_slist_append(e->headers, "Grpc-Metadata-Hasleader: true");
	return e;
}

/* A request's header list holds the token: wipe it before it is freed. */
static void
headers_free(struct curl_slist *h)
{
	struct curl_slist *it;

	for (it = h; it; it = it->next)
		explicit_bzero(it->data, strlen(it->data));
	curl_slist_free_all(h);
}

static void
req_free(struct req *r)
{
	struct req **pp;

	if (r == NULL)
		return;
	for (pp = &r->e->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	ev_timer_stop(r->e->loop, &r->stall);
	if (r->easy) {
		curl_multi_remove_handle(r->e->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	if (r->probe) {
		curl_multi_remove_handle(r->e->multi, r->probe);
		curl_easy_cleanup(r->probe);
	}
	framer_free(r->framer);
	/* A body may hold a password (authenticate): wipe it. */
	if (r->body)
		explicit_bzero(r->body, strlen(r->body));
	free(r->body);
	headers_free(r->headers);
	/* So may a response (authenticate's holds the token). */
	if (r->resp)
		explicit_bzero(r->resp, r->resp_len);
	free(r->resp);
	free(r);
}

void
etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	while (e->reqs)
		req_free(e->reqs);
	ev_timer_stop(e->loop, &e->timer);
	curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->headers);
	etcd_set_token(e, NULL);
	free(e->ep_tls);
	free(e);
}

void
etcd_set_token(struct etcd *e, const char *token)
{
	if (e->token) {
		explicit_bzero(e->token, strlen(e->token));
		free(e->token);
	}
	e->token = token ? strdup(token) : NULL;
}

int
etcd_has_token(const struct etcd *e)
{
	return e->token != NULL;
}

/* The etcd's headers, plus the token when there is one. */
static struct curl_slist *
request_headers(const struct etcd *e)
{
	struct curl_slist *h = NULL, *n, *it;
	char *auth;
	size_t len;

	for (it = e->headers; it; it = it->next) {
		if ((n = curl_slist_append(h, it->data)) == NULL)
			goto fail;
		h = n;
	}
	if (e->token) {
		/* No "Bearer ": etcd 3.4 rejects it (etcd-gateway.md). */
		len = strlen("Authorization: ") + strlen(e->token) + 1;
		if ((auth = malloc(len)) == NULL)
			goto fail;
		snprintf(auth, len, "Authorization: %s", e->token);
		n = curl_slist_append(h, auth);
		explicit_bzero(auth, len);
		free(auth);
		if (n == NULL)
			goto fail;
		h = n;
	}
	return h;
fail:
	headers_free(h);
	return NULL;
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->cfg.endpoints[e->cur];
}

void
etcd_next_endpoint(struct etcd *e)
{
	e->cur = (e->cur + 1) % e->cfg.nendpoints;
}

static size_t
unary_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb, cap;
	char *np;

	if (r->resp_max > 0 && r->resp_len + n > r->resp_max) {
		r->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 16384;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		if ((np = realloc(r->resp, cap)) == NULL)
			return 0;
		r->resp = np;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, p, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

static int
stream_line(void *arg, char *line, size_t len)
{
	struct req *r = arg;

	if (r->line(r->arg, line, len) != 0) {
		r->aborted = 1;
		return -1;
	}
	return 0;
}

static size_t
stream_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	ev_timer_again(r->e->loop, &r->stall);
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	/*
	 * Not a watch but a refusal (etcd's 503, or a 404 or 421 text, a
	 * proxy's page): no lines, its text goes to the end callback.
	 */
	if (r->status != 200) {
		size_t keep =
		    r->resp_len < ANSWER_MAX ? ANSWER_MAX - r->resp_len : 0;

		if (keep > n)
			keep = n;
		if (keep > 0 && unary_write_cb(p, 1, keep, r) != keep)
			return 0;
		return n;
	}
	if (framer_feed(r->framer, p, n, stream_line, r) != 0) {
		if (!r->aborted)
			log_warn("watch: message longer than %u bytes or out "
				 "of memory",
			    MAX_LINE);
		return 0; /* aborts the transfer */
	}
	return n;
}

static void
stall_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct req *r = w->data;
	struct etcd *e = r->e;

	(void)loop;
	(void)revents;
	r->stalled = 1;
	/* Finish it as if curl had: the end callback runs, then it is freed. */
	curl_multi_remove_handle(e->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	r->end(r->arg, ETCD_RETRY, 0,
	    "no data from etcd within the stall timeout");
	req_free(r);
}

static struct req *
req_new(struct etcd *e, const char *path, const char *body, void *arg)
{
	struct req *r;
	char url[1024];
	const char *ep = etcd_endpoint(e);

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->e = e;
	r->ep = e->cur;
	r->arg = arg;
	ev_timer_init(&r->stall, stall_cb, 0., 0.);
	r->stall.data = r;
	if ((r->body = strdup(body)) == NULL ||
	    (r->headers = request_headers(e)) == NULL ||
	    (r->easy = curl_easy_init()) == NULL) {
		free(r->body);
		headers_free(r->headers);
		free(r);
		return NULL;
	}
	snprintf(url, sizeof(url), "%s%s", ep, path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 5L);
	/* h2c does not reach the gateway; HTTP/2 only over TLS. */
	curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	if (e->cfg.cacert)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, e->cfg.cacert);
	if (e->cfg.cert)
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, e->cfg.cert);
	if (e->cfg.key) {
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, e->cfg.key);
		/*
		 * No passphrase: without one OpenSSL prompts on the terminal
		 * (blocking the loop) for an encrypted key; this fails it.
		 */
		curl_easy_setopt(r->easy, CURLOPT_KEYPASSWD, "");
	}
	r->next = e->reqs;
	e->reqs = r;
	return r;
}

int
etcd_post(struct etcd *e, const char *path, const char *body, etcd_done_cb *cb,
    void *arg)
{
	return etcd_post_max(e, path, body, 0, cb, arg);
}

int
etcd_post_max(struct etcd *e, const char *path, const char *body, size_t max,
    etcd_done_cb *cb, void *arg)
{
	struct req *r;

	if ((r = req_new(e, path, body, arg)) == NULL)
		return -1;
	r->done = cb;
	r->resp_max = max;
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, unary_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(
	    r->easy, CURLOPT_TIMEOUT_MS, (long)(e->cfg.request_timeout * 1000));
	if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return -1;
	}
	return 0;
}

struct etcd_stream *
etcd_watch(struct etcd *e, const char *body, etcd_line_cb *line,
    etcd_end_cb *end, void *arg)
{
	struct req *r;

	if ((r = req_new(e, "/v3/watch", body, arg)) == NULL)
		return NULL;
	r->line = line;
	r->end = end;
	if ((r->framer = framer_new(MAX_LINE)) == NULL) {
		req_free(r);
		return NULL;
	}
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, stream_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (e->cfg.stall_timeout > 0) {
		r->stall.repeat = e->cfg.stall_timeout;
		ev_timer_again(e->loop, &r->stall);
	}
	if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return NULL;
	}
	return (struct etcd_stream *)r;
}

void
etcd_stream_close(struct etcd_stream *s)
{
	req_free((struct req *)s);
}

/*
 * What failed, for the log.  curl keeps the first failf() text of a
 * transfer in errbuf; when the peer drops the connection during set-up
 * (a TLS server rejecting the client certificate does that), the first
 * text is a getpeername() failure that says nothing: the result code then
 * says more ("Failed sending data to the peer").
 */
static const char *
errtext(const struct req *r, CURLcode res)
{
	if (r->errbuf[0] == '\0' ||
	    strncmp(r->errbuf, "getpeername()", 13) == 0)
		return curl_easy_strerror(res);
	return r->errbuf;
}

/*
 * Failures that retrying cannot fix: the server's certificate does not
 * verify (wrong CA, expired, wrong name), our certificate or key cannot
 * be used, or the server rejected our certificate during the handshake.
 */
static int
config_error(const struct req *r, CURLcode res)
{
	switch (res) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return 1;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* A TLS alert about our certificate, e.g. "bad certificate". */
		return strstr(r->errbuf, "alert") != NULL &&
		    strstr(r->errbuf, "certificate") != NULL;
	default:
		return 0;
	}
}

/* "host:port" of an endpoint URL (the scheme's port when it names none). */
static int
host_port(const char *url, char *buf, size_t len)
{
	CURLU *u;
	char *host = NULL, *port = NULL;
	int rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
		CURLUE_OK &&
	    (size_t)snprintf(buf, len, "%s:%s", host, port) < len)
		rc = 0;
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/*
 * Did the request fail the way a plain request to a TLS port does: no
 * HTTP status line came back (status 0) and the peer said nothing, or
 * something that is not HTTP, or reset the connection?
 */
static int
tls_suspect(const struct req *r, CURLcode res, long status)
{
	if (status != 0 ||
	    strncmp(r->e->cfg.endpoints[r->ep], "http://", 7) != 0)
		return 0;
	switch (res) {
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL: /* "Received HTTP/0.9" */
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return 1;
	default:
		return 0;
	}
}

/*
 * An https:// request whose handshake failed without a TLS answer: the
 * port may speak plain HTTP (etcd's cmux drops a ClientHello it does not
 * take for HTTP; curl reports SSL_ERROR_SYSCALL or "wrong version
 * number"), or the member is going down.  A certificate problem is not
 * this (config_error() knows those).
 */
static int
plain_suspect(const struct req *r, CURLcode res, long status)
{
	return status == 0 && res == CURLE_SSL_CONNECT_ERROR &&
	    strncmp(r->e->cfg.endpoints[r->ep], "https://", 8) == 0 &&
	    !config_error(r, res);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * Start a TLS handshake with the endpoint of a request that failed as
 * tls_suspect() describes, or a plain GET /version for one that failed as
 * plain_suspect() does; the request's result waits for it (returns 0).
 * Only once per endpoint until it answers HTTP again: a restarting etcd
 * costs one refused connection.  For TLS, verification is off and no
 * client certificate is sent: nothing goes over this connection, the
 * handshake itself is the answer.  For plain HTTP, only etcd's own 200
 * counts: a TLS server answers a plain request with a 400.
 */
static int
probe_start(struct req *r, CURLcode res)
{
	struct etcd *e = r->e;
	char hp[512], url[600];
	long status = 0;

	int plain;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	plain = plain_suspect(r, res, status);
	if (e->ep_tls[r->ep] != EP_UNKNOWN ||
	    !(plain || tls_suspect(r, res, status)) ||
	    host_port(e->cfg.endpoints[r->ep], hp, sizeof(hp)) != 0 ||
	    (r->probe = curl_easy_init()) == NULL)
		return -1;
	r->probe_plain = plain;
	if (plain) {
		snprintf(url, sizeof(url), "http://%s/version", hp);
		curl_easy_setopt(r->probe, CURLOPT_URL, url);
		curl_easy_setopt(r->probe, CURLOPT_WRITEFUNCTION, discard);
	} else {
		snprintf(url, sizeof(url), "https://%s/", hp);
		curl_easy_setopt(r->probe, CURLOPT_URL, url);
		curl_easy_setopt(r->probe, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(r->probe, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(r->probe, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(r->probe, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(r->probe, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->probe, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
	curl_easy_setopt(r->probe, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->probe, CURLOPT_ERRORBUFFER, r->probe_err);
	if (curl_multi_add_handle(e->multi, r->probe) != CURLM_OK) {
		curl_easy_cleanup(r->probe);
		r->probe = NULL;
		return -1;
	}
	e->ep_tls[r->ep] = EP_PROBED; /* until the probe says otherwise */
	r->res = res;
	ev_timer_stop(e->loop, &r->stall);
	curl_multi_remove_handle(e->multi, r->easy); /* kept for finish() */
	log_debug("%s: %s; trying %s on %s", e->cfg.endpoints[r->ep],
	    errtext(r, res), plain ? "plain HTTP" : "TLS", hp);
	return 0;
}

/*
 * The handshake completed, or the peer sent a TLS alert (it wants a
 * client certificate, say): either way it speaks TLS.  A plain HTTP
 * server answers the ClientHello with HTTP ("wrong version number"), a
 * stopped one refuses the connection.
 */
static void
probe_done(struct req *r, CURLcode res)
{
	long status = 0;

	if (r->probe_plain) {
		curl_easy_getinfo(r->probe, CURLINFO_RESPONSE_CODE, &status);
		r->e->ep_tls[r->ep] =
		    res == CURLE_OK && status == 200 ? EP_PLAIN : EP_PROBED;
		log_debug("plain HTTP probe of %s: %s (HTTP %ld)",
		    r->e->cfg.endpoints[r->ep],
		    r->probe_err[0] ? r->probe_err : curl_easy_strerror(res),
		    status);
	} else {
		r->e->ep_tls[r->ep] =
		    res == CURLE_OK || strstr(r->probe_err, "alert")
		    ? EP_TLS
		    : EP_PROBED;
		log_debug("TLS probe of %s: %s", r->e->cfg.endpoints[r->ep],
		    res == CURLE_OK
			? "handshake done"
			: (r->probe_err[0] ? r->probe_err
					   : curl_easy_strerror(res)));
	}
	curl_multi_remove_handle(r->e->multi, r->probe);
	curl_easy_cleanup(r->probe);
	r->probe = NULL;
}

/*
 * A failed request: ETCD_CONFIG or ETCD_RETRY, and what failed (in buf, or
 * curl's text).
 */
static int
failure(struct req *r, CURLcode res, long status, const char **msg, char *buf,
    size_t len)
{
	char hp[512];

	if (r->e->ep_tls[r->ep] == EP_TLS && tls_suspect(r, res, status) &&
	    host_port(r->e->cfg.endpoints[r->ep], hp, sizeof(hp)) == 0) {
		snprintf(
		    buf, len, "%s speaks TLS: use https:// in --endpoints", hp);
		*msg = buf;
		return ETCD_CONFIG;
	}
	if (r->e->ep_tls[r->ep] == EP_PLAIN && plain_suspect(r, res, status) &&
	    host_port(r->e->cfg.endpoints[r->ep], hp, sizeof(hp)) == 0) {
		snprintf(buf, len,
		    "%s speaks plain HTTP, not TLS: use http:// in --endpoints",
		    hp);
		*msg = buf;
		return ETCD_CONFIG;
	}
	*msg = errtext(r, res);
	return config_error(r, res) ? ETCD_CONFIG : ETCD_RETRY;
}

/* What a watch answered with another status than 200 says, in buf. */
static const char *
answer(const struct req *r, long status, char *buf, size_t len)
{
	char msg[300];
	int code;

	if (wire_parse_error(status, r->resp ? r->resp : "", r->resp_len, &code,
		msg, sizeof(msg)) == 0)
		snprintf(buf, len, "etcd error %d: %s", code, msg);
	else
		snprintf(buf, len, "%s", msg);
	return buf;
}

static void
finish(struct req *r, CURLcode res)
{
	long status = 0;
	char tls[600];
	const char *msg = NULL;
	int result = ETCD_OK;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 0)
		r->e->ep_tls[r->ep] = EP_UNKNOWN; /* it speaks HTTP */
	if (r->too_big) {
		result = ETCD_TOO_BIG;
		snprintf(tls, sizeof(tls), "response longer than %zu bytes",
		    r->resp_max);
		msg = tls;
	} else if (res != CURLE_OK)
		result = failure(r, res, status, &msg, tls, sizeof(tls));
	if (r->done) {
		if (res == CURLE_OK)
			r->done(r->arg, ETCD_OK, status, r->resp ? r->resp : "",
			    r->resp_len, NULL);
		else
			r->done(r->arg, result, status, NULL, 0, msg);
		return;
	}
	/* A terminal error object comes without '\n': deliver the tail. */
	if (res == CURLE_OK && status == 200 && !r->aborted &&
	    framer_finish(r->framer, stream_line, r) != 0)
		r->aborted = 1;
	if (r->aborted)
		msg = "closed by the recorder";
	else if (res == CURLE_OK && status != 200)
		msg = answer(r, status, tls, sizeof(tls));
	else if (res == CURLE_OK)
		msg = "etcd ended the watch"; /* the status goes with it */
	r->end(r->arg, res != CURLE_OK ? result : ETCD_RETRY, status, msg);
}

static void
check_done(struct etcd *e)
{
	CURLMsg *msg;
	struct req *r;
	CURLcode res;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
		    msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		res = msg->data.result;
		if (msg->easy_handle == r->probe) {
			probe_done(r, res);
			res = r->res;
		} else if (probe_start(r, res) == 0)
			continue; /* finished when the probe is */
		finish(r, res);
		req_free(r);
	}
}
