/*
 * retain.h: --retain: prune history older than a limit while recording.
 *
 * What goes: everything that had ended before the cutoff: raw events
 * superseded before it (and deletes older than it), closed typed
 * intervals, their decode errors and child rows, old heartbeats, the
 * revisions before it that no row left begins at, and keys with no event
 * left.  What stays: every open interval and the time it began, the
 * latest event of every live key, their values, the gaps, and the churn
 * counts (one row per hour or minute, kind and namespace or pod).  meta
 * records how far history was pruned (pruned_through_rev, pruned_us,
 * pruned_rows), so `hindsight status` shows it and queries before it say
 * so.
 *
 * Pruning uses its own connection and small transactions (one revision
 * or rowid range each), retried later when the recorder holds the write
 * lock, so it never stalls recording.
 */
#ifndef HS_RETAIN_H
#define HS_RETAIN_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

struct retain;

/*
 * Prune db_path every `every` seconds (first after `every`), keeping
 * keep_us of history.  NULL with a one-line reason in err.
 */
struct retain *retain_start(struct ev_loop *loop, const char *db_path,
    int64_t keep_us, double every, char *err, size_t errlen);
void retain_stop(struct retain *t);

/*
 * A duration ("90d", "12h", "1w", "1d12h": hs_parse_duration) into
 * microseconds; -1 if malformed or zero.
 */
int64_t retain_parse(const char *s);

#endif
