/*
 * metrics.h: the recorder's /metrics (Prometheus text format) and
 * /healthz, served by libmicrohttpd from the recorder's libev loop: the
 * daemon runs in epoll mode, whose one fd is an ev_io, so no thread.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <ev.h>
#include <stddef.h>

struct metrics;

/* A growable text buffer the render callback appends to. */
struct mbuf {
	char *p;
	size_t len, cap;
};
void mbuf_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append the /metrics text. */
typedef void metrics_render_cb(void *arg, struct mbuf *out);
/* 1 healthy, 0 not; why gets a one-line reason either way. */
typedef int metrics_health_cb(void *arg, char *why, size_t size);

/*
 * Listen on addr ("127.0.0.1:9963", "[::1]:9963", ":9963" for every
 * address).  NULL with a one-line reason in err (bad address, port in
 * use).
 */
struct metrics *metrics_start(struct ev_loop *loop, const char *addr,
    metrics_render_cb *render, metrics_health_cb *health, void *arg, char *err,
    size_t errlen);
void metrics_stop(struct metrics *m);

#endif
