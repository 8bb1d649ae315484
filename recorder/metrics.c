/*
 * metrics.c: libmicrohttpd without threads on the libev loop (metrics.h).
 * MHD_USE_EPOLL gives one fd that is readable whenever the daemon has
 * work; MHD_run() does that work without blocking, and MHD_get_timeout()
 * says when to call it anyway (idle connections to close).
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics {
	struct ev_loop *loop;
	struct MHD_Daemon *d;
	struct ev_io io;
	struct ev_timer timer;
	metrics_render_cb *render;
	metrics_health_cb *health;
	void *arg;
};

void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
		    b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		if ((p = realloc(b->p, b->cap * 2 + (size_t)n + 256)) == NULL)
			return;
		b->p = p;
		b->cap = b->cap * 2 + (size_t)n + 256;
	}
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(
	    len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	/* RFC 9110: a 405 names the methods that are allowed. */
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	struct metrics *m = cls;
	struct mbuf b = {NULL, 0, 0};
	char why[256], line[300];
	enum MHD_Result rc;
	int ok;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, 405, "text/plain", "GET only\n", 9);
	if (strcmp(url, "/metrics") == 0) {
		m->render(m->arg, &b);
		rc = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8",
		    b.p ? b.p : "", b.len);
		free(b.p);
		return rc;
	}
	if (strcmp(url, "/healthz") == 0) {
		ok = m->health(m->arg, why, sizeof(why));
		snprintf(line, sizeof(line), "%s: %s\n",
		    ok ? "ok" : "unhealthy", why);
		return reply(
		    c, ok ? 200 : 503, "text/plain", line, strlen(line));
	}
	return reply(c, 404, "text/plain", "try /metrics or /healthz\n", 25);
}

static void
arm(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(m->loop, &m->timer);
	if (MHD_get_timeout(m->d, &ms) == MHD_YES) {
		ev_timer_set(&m->timer, ms / 1000.0, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
}

static void
io_cb(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct metrics *m = w->data;

	(void)loop;
	(void)revents;
	MHD_run(m->d);
	arm(m);
}

static void
timer_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct metrics *m = w->data;

	(void)loop;
	(void)revents;
	MHD_run(m->d);
	arm(m);
}

/*
 * "host:port", "[v6]:port" or ":port" into a numeric socket address: 0,
 * -1 when it is not one, -2 when the port is out of 1..65535.
 */
static int
parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *colon;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= sizeof(host))
		return -1;
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0')
		return -1;
	if (port < 1 || port > 65535)
		return -2;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	if (host[0] == '\0')
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -1;
	*len = sizeof(*in4);
	return 0;
}

static struct MHD_Daemon *
start_daemon(struct metrics *m, unsigned flags, struct sockaddr *sa)
{
	return MHD_start_daemon(flags, 0, NULL, NULL, handler, m,
	    MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_END);
}

struct metrics *
metrics_start(struct ev_loop *loop, const char *addr, metrics_render_cb *render,
    metrics_health_cb *health, void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 any6;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	socklen_t len;
	unsigned flags = MHD_USE_EPOLL;
	int rc;

	if ((rc = parse_addr(addr, &ss, &len)) != 0) {
		snprintf(err, errlen, "--metrics-addr %s: %s", addr,
		    rc == -2 ? "the port must be 1 to 65535"
			     : "not HOST:PORT with a numeric address");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->loop = loop;
	m->render = render;
	m->health = health;
	m->arg = arg;
	/*
	 * ":port" is every address: IPv6 ones too, through one dual-stack
	 * socket on "::", else (a kernel without IPv6) IPv4's only.
	 */
	if (addr[0] == ':') {
		memset(&any6, 0, sizeof(any6));
		any6.sin6_family = AF_INET6;
		any6.sin6_addr = in6addr_any;
		any6.sin6_port = ((struct sockaddr_in *)&ss)->sin_port;
		m->d = start_daemon(
		    m, flags | MHD_USE_DUAL_STACK, (struct sockaddr *)&any6);
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (m->d == NULL)
		m->d = start_daemon(m, flags, (struct sockaddr *)&ss);
	if (m->d == NULL ||
	    (info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD)) ==
		NULL) {
		snprintf(err, errlen,
		    "--metrics-addr %s: cannot listen (in "
		    "use, or not an address of this host)",
		    addr);
		metrics_stop(m);
		return NULL;
	}
	(void)len;
	ev_io_init(&m->io, io_cb, info->epoll_fd, EV_READ);
	m->io.data = m;
	ev_io_start(loop, &m->io);
	ev_timer_init(&m->timer, timer_cb, 0., 0.);
	m->timer.data = m;
	arm(m);
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->d) {
		ev_io_stop(m->loop, &m->io);
		ev_timer_stop(m->loop, &m->timer);
		MHD_stop_daemon(m->d);
	}
	free(m);
}
