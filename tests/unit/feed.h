/*
 * feed.h: the benchmark's workload (bench/workload.c) written through the
 * store the way the recorder writes a watch: store_revision() for each
 * revision, store_event() for each event, a commit with the watermark
 * every `batch` events at a revision boundary.  For the unit tests that
 * need a realistic db (test_retain.c, test_store.c).
 */
#ifndef HS_FEED_H
#define HS_FEED_H

#include <stdint.h>

#include "store.h"
#include "workload.h"

/*
 * The first `events` events of w after revision `from` (those before were
 * committed already) into s, inside its open transaction, which stays
 * open with the last batch.  The last revision written into *last (from
 * when none).  0, or -1 when a store call failed.
 */
static inline int
feed(struct store *s, struct workload *w, long events, long batch, int64_t from,
    int64_t *last)
{
	static struct store_event ev[1024];
	static int64_t tus[1024];
	int64_t rev = 0, rev_us = 0;
	long done = 0, pending = 0;
	size_t i, m;
	int rc = 0;

	while (rc == 0 && done < events) {
		m = workload_chunk(w, ev, tus, sizeof(ev) / sizeof(ev[0]));
		for (i = 0; i < m && rc == 0; i++) {
			if (ev[i].mod_rev <= from)
				continue; /* committed before */
			if (ev[i].mod_rev != rev) {
				if (pending >= batch) {
					store_watermark(s, rev, rev_us);
					if (store_commit(s) != 0 ||
					    store_begin(s) != 0)
						rc = -1;
					pending = 0;
				}
				rev = ev[i].mod_rev;
				rev_us = tus[i];
				if (rc == 0 &&
				    store_revision(
					s, rev, "watch", tus[i], tus[i]) != 0)
					rc = -1;
			}
			if (rc == 0 && store_event(s, &ev[i]) != 0)
				rc = -1;
			pending++;
		}
		done += (long)m;
	}
	*last = rev > from ? rev : from;
	return rc;
}

#endif
