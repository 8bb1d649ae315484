/*
 * clock.h: the recorder's clock.  Observation times must grow with
 * revisions: a query turns a time into a revision by the last revision
 * observed at or before it (PRODUCT.md 3).  The system clock can step
 * back (NTP correcting a fast clock, a VM resumed, a db carried to a host
 * whose clock is behind), so every time the recorder writes comes from
 * clock_now_us(), which never returns less than it returned before or
 * than the floor set from the db: while the system clock is behind, times
 * stay at that moment, and one warning says so.  Durations (how long a
 * read has waited) come from hs_mono_us(), which steps do not move.
 */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

#include <stdint.h>

/* The wall clock in microseconds since 1970, never going back. */
int64_t clock_now_us(void);

/* No time before us: the latest one the db holds. */
void clock_floor(int64_t us);

/* How far the system clock is behind the times written (0: it is not). */
int64_t clock_behind_us(void);

#endif
