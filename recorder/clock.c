/*
 * clock.c: the recorder's clock (see clock.h).  One per process: a
 * recorder is one per process, and its times are one sequence.
 */
#include "clock.h"

#include "codec.h"
#include "log.h"

static int64_t floor_us; /* the latest time handed out or set */
static int64_t behind_us; /* the system clock behind it, last reading */

int64_t
clock_now_us(void)
{
	int64_t now = hs_now_us();
	char when[40];

	if (now >= floor_us) {
		if (behind_us > 0)
			log_info("the system clock caught up with the times "
				 "recorded");
		behind_us = 0;
		floor_us = now;
		return now;
	}
	if (behind_us == 0) {
		hs_rfc3339_format(floor_us, when, sizeof(when));
		log_warn("the system clock went back: it is %.3f s behind the "
			 "last time recorded (%s); times stay at that moment "
			 "until it catches up",
		    (double)(floor_us - now) / 1e6, when);
	}
	behind_us = floor_us - now;
	return floor_us;
}

void
clock_floor(int64_t us)
{
	if (us > floor_us)
		floor_us = us;
}

int64_t
clock_behind_us(void)
{
	return behind_us;
}
