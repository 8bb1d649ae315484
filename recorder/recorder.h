/*
 * recorder.h: the recording state machine.  On an empty db: a paged,
 * consistent snapshot of the prefix at one revision S, then a watch from
 * S+1.  On a db that has recorded before: a watch from the watermark + 1.
 * Events are committed by whole revisions, in batches closed by size or by
 * a short timer, each commit carrying the watermark.  A broken or stalled
 * stream reconnects with backoff, to the next endpoint.
 */
#ifndef HS_RECORDER_H
#define HS_RECORDER_H

#include <ev.h>
#include <stdint.h>

#include "etcd.h"

struct recorder_config {
	const char *db_path;
	const char *prefix; /* "cilium/" */
	int once; /* catch up, then stop */
	double once_quiet; /* --once: seconds of silence that end catch-up */
	double batch_delay; /* seconds a live event may wait before commit */
	double sync_every; /* seconds a commit may wait for fsync; 0: none */
	long batch_events; /* commit when this many events are pending */
	long page_limit; /* keys per snapshot page */
	int catchup_streams; /* watches for a long backlog (1: one watch) */
	long catchup_min; /* revisions behind before several are used */
	double catchup_dense; /* events per revision that keep one watch; 0 */
	const char *password_file; /* re-read at each authentication */
	const char *metrics_addr; /* HOST:PORT for /metrics, or NULL */
	int64_t retain_us; /* --retain, 0: keep everything */
	double retain_every; /* seconds between pruning rounds */
	struct etcd_config etcd;
};

/* Exit statuses (README "hindsight-recorder"). */
enum {
	REC_EXIT_OK = 0,
	REC_EXIT_USAGE = 1, /* bad flags or configuration */
	REC_EXIT_DB = 2, /* the db cannot be opened or written */
	/*
	 * etcd refused us for good (authentication, permission): 2 like the
	 * db, as PRODUCT.md's "config or auth errors: exit 1/2" asks; both are
	 * fixed outside the command line (a rotated password file, a granted
	 * role), so the systemd unit restarts on 2 and not on 1.
	 */
	REC_EXIT_ETCD = 2
};

struct recorder;

/* Opens the db.  NULL with a one-line reason in err. */
struct recorder *recorder_new(struct ev_loop *loop,
    const struct recorder_config *cfg, char *err, size_t errlen);

/* Starts recording; the loop does the rest.  */
int recorder_start(struct recorder *r);

/* Commit what is buffered, close the stream, break the loop. */
void recorder_stop(struct recorder *r, int status);

/*
 * For metrics.h: the /metrics text (arg is the recorder), and /healthz:
 * healthy while the watch is connected, caught up and its watermark
 * fresh.
 */
struct mbuf;
void recorder_metrics(void *arg, struct mbuf *out);
int recorder_health(void *arg, char *why, size_t size);

/* The status to exit with once the loop has returned. */
int recorder_status(const struct recorder *r);

void recorder_free(struct recorder *r);

#endif
