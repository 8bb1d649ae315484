/*
 * catchup.h: catch up on a long backlog with several watches at once.
 *
 * etcd hands each watcher that is behind at most 1000 revisions per 100 ms
 * sync round (etcd-gateway.md section 7), so one watch replays about 10k
 * revisions/s at best.  Watchers at different positions are served in the
 * same round, so K watches on disjoint revision segments replay about K
 * times as fast.  Events must still be written strictly in revision
 * order: the first (head) segment's messages go to the recorder as they
 * arrive; later segments spill theirs to a temporary file and are replayed
 * when they become the head.  The last segment is open-ended: once it is
 * the head, it simply is the live watch.
 *
 * A segment is complete when its watch delivers an event (or a progress
 * notification) beyond the segment's end: then every event up to the end
 * has been delivered, and the recorder may move its watermark there.
 */
#ifndef HS_CATCHUP_H
#define HS_CATCHUP_H

#include <stdint.h>

#include "etcd.h"

struct catchup;

struct catchup_ops {
	/*
	 * One message for the head segment, to be written.  Events above
	 * limit belong to the next segment: ignore them and set *complete
	 * (also for a progress notification above limit).  Return -1 to
	 * stop (the recorder then knows why: fatal, resync, --once done).
	 * at_us: when a spilled line arrived; 0 for one arriving now.
	 */
	int (*line)(void *arg, char *line, size_t len, int64_t limit,
	    int *complete, int64_t at_us);
	/* The head segment is complete: everything <= through is delivered. */
	void (*segment_done)(void *arg, int64_t through);
	/* The last segment became the head: it is now the live watch. */
	void (*live)(void *arg, struct etcd_stream *stream);
	/* The live watch ended (as a single watch's end callback would). */
	void (*ended)(void *arg, int result, long status, const char *why);
	/* Catch-up failed before going live; fall back to one watch. */
	void (*failed)(void *arg, const char *why);
	/* A message arrived on some segment (not written yet, maybe). */
	void (*heard)(void *arg);
};

/*
 * Start k watches covering revisions [from, to] in k segments, the last
 * one open-ended; segment i is i + 1 times as long as the first (fewer
 * segments when [from, to] is too short for k).  NULL on failure (nothing
 * started).  No callback runs inside this call.
 */
struct catchup *catchup_start(struct etcd *e, const char *prefix, int64_t from,
    int64_t to, int k, const struct catchup_ops *ops, void *arg);

/*
 * Close every stream (without callbacks) and remove the spill files.
 * Must not be called from inside a line callback; NULL is fine.
 */
void catchup_free(struct catchup *c);

#endif
