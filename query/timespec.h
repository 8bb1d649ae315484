/*
 * timespec.h: the T of every --at/--from/--to, and what it resolves to.
 *
 * A T is a moment (RFC 3339; "YYYY-MM-DD[ HH:MM[:SS[.frac]]]" in --tz;
 * "@UNIX[.frac]"; "now"; "-90m", "-2h", "-7d", "-30s", "-1w") or an etcd
 * revision ("rev:N", of the current epoch, so hindsight revision
 * N + epochs.rev_offset).
 *
 * "As of T" is the state after the last revision observed at or before T
 * (PRODUCT.md semantics 3): the greatest rev with revisions.t_hi_us <= T.
 * When T lies before the first snapshot, after the watermark, inside a
 * gap, or inside a span replayed after downtime (t_lo_us < T < t_hi_us),
 * the answer is still given, and a warning on stderr makes the run exit 3.
 * "now" is the latest recorded state, answered as of the watermark, while
 * the watermark is fresh (TS_FRESH_US: a healthy recorder moves it every
 * second); a stale one is warned about as any T after it.
 */
#ifndef HQ_TIMESPEC_H
#define HQ_TIMESPEC_H

#include <stddef.h>
#include <stdint.h>

#include "hq.h"

/* The instants RFC 3339 can write: 0000-01-01 to 9999-12-31, UTC. */
#define TS_MIN_US (-62167219200LL * 1000000)
#define TS_MAX_US (253402300800LL * 1000000 - 1)

/* How old the watermark may be for "now" (as /healthz allows). */
#define TS_FRESH_US 10000000

struct ts_spec {
	int is_rev; /* "rev:N" */
	int is_now; /* "now" */
	int64_t us; /* !is_rev: the UTC instant */
	int64_t etcd_rev; /* is_rev: N as given */
	const char *text; /* as given, for messages */
};

/* A resolved point: the revision answering "as of", and its instant. */
struct ts_point {
	int64_t rev; /* 0 when nothing had been observed yet */
	int64_t us; /* the instant echoed to the user */
	int us_known; /* 0 when the instant is unknown */
	int64_t us_lo; /* < us: rev was replayed, committed in (us_lo, us] */
	int implicit; /* no T given: the latest recorded state (ts_point) */
};

/*
 * Parse s.  tz is the --tz value (NULL or "UTC": UTC; "local": the
 * process's zone; an IANA name; or a +hh:mm offset); now_us anchors "now"
 * and relative times.  An instant outside the years 0000 to 9999 is
 * refused.  Returns 0, or -1 with a one-line reason in err.
 */
int ts_parse(const char *s, const char *tz, int64_t now_us, struct ts_spec *out,
    char *err, size_t errlen);

/* Whether --tz names a usable zone; -1 with a reason in err if not. */
int ts_tz_check(const char *tz, char *err, size_t errlen);

/*
 * Resolve spec against q's db into *pt, warning (hq_warn, exit 3) about
 * coverage.  Returns 0, or HQ_NODB on a db error (printed).
 */
int ts_resolve(struct hq *q, const struct ts_spec *spec, struct ts_point *pt);

/* The latest recorded state: the watermark's revision and time. */
int ts_latest(struct hq *q, struct ts_point *pt);

/*
 * An option's T, parsed before the db is opened so a malformed time is a
 * usage error whatever the db.  s NULL (option not given) leaves
 * spec->text NULL, which ts_point resolves to the latest recorded state.
 * Returns 0 or HQ_USAGE (message printed).
 */
int ts_arg(struct hq *q, const char *opt, const char *s, struct ts_spec *spec);

/*
 * --from and --to: ts_arg of each, and a usage error when both are of one
 * kind (two revisions, two instants) and the window ends before it
 * begins, whatever the db: a db that has no revision between them (both
 * after the watermark, say) must not turn it into an empty answer.  A
 * revision and an instant are compared once resolved (ts_window_gaps).
 * Returns 0 or HQ_USAGE (message printed).
 */
int ts_window_args(struct hq *q, const char *from, const char *to,
    struct ts_spec *s1, struct ts_spec *s2);

/* Resolve a ts_arg result.  Returns 0 or HQ_NODB. */
int ts_point(struct hq *q, const struct ts_spec *spec, struct ts_point *pt);

/*
 * Check a window (p1, p2]: HQ_USAGE if it ends before it begins (not
 * when p2 is implicit: a p1 after the watermark, warned about, begins
 * after the latest state, and the window is empty, not reversed).  One
 * that holds a recorded gap is incomplete: what changed in the gap was
 * inferred from a re-list, not seen; warns (exit 3) once, naming the
 * first such gap.  Returns 0, HQ_USAGE or HQ_NODB.
 */
int ts_window_gaps(
    struct hq *q, const struct ts_point *p1, const struct ts_point *p2);

/*
 * A whole history, from the beginning through `through`: the same check
 * as a window (a generation, a key's value, a node's addresses can have
 * come and gone unseen inside a gap).  Returns 0 or HQ_NODB.
 */
int ts_history_gaps(struct hq *q, const struct ts_point *through);

/*
 * Echoing the resolution, as every answer must: a note above a table,
 * and columns in json/csv rows (at, at_rev for a point or a history known
 * up to the watermark; window_from, window_from_rev, window_to,
 * window_to_rev for a window).  The note also goes to stderr when a
 * json/csv answer is empty (hq_close), so it is never lost.
 */
#define TS_AT_COLS "at", "at_rev"
#define TS_WINDOW_COLS                                                         \
	"window_from", "window_from_rev", "window_to", "window_to_rev"
void ts_echo_at(struct hq *q, const char *what, const struct ts_point *pt);
void ts_cells_at(struct hq *q, const struct ts_point *pt);
void ts_echo_window(
    struct hq *q, const struct ts_point *from, const struct ts_point *to);
void ts_cells_window(
    struct hq *q, const struct ts_point *from, const struct ts_point *to);

/*
 * The start of all history: rev 0, unknown time.  On a db pruned by
 * --retain, warns that what ended before the horizon is gone (exit 3).
 */
void ts_beginning(struct hq *q, struct ts_point *pt);

/*
 * "2026-11-20T14:02:00Z (rev 123)", with ", committed at an unknown moment
 * after T" for a replayed revision, or "unknown time (rev 123)" into buf;
 * TS_DESCRIBE_LEN holds the longest (two times with microseconds and a
 * 19-digit revision).
 */
#define TS_DESCRIBE_LEN 128
const char *ts_describe(const struct ts_point *pt, char *buf, size_t size);

#endif
