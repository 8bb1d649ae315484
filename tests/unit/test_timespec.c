/*
 * test_timespec.c: the CLI's time syntax (query/timespec.c, ts_parse and
 * ts_tz_check) where an integration test cannot see the value: times
 * before any recording resolve to the same revision 0, whatever their
 * instant.  Needs the zone database (Debian's tzdata).  Regressions found by
 * fuzzing (tests/fuzz/fuzz_args.c). Linked with the CLI's objects (the
 * Makefile's rule for it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "timespec.h"

#define NOW 1795096949123456LL

/* ts_parse(s) in zone tz: want the instant, or failure when bad. */
static void
t_us(const char *s, const char *tz, int64_t want, const char *what)
{
	struct ts_spec sp;
	char err[256];
	int rc;

	rc = ts_parse(s, tz, NOW, &sp, err, sizeof(err));
	ok(rc == 0 && sp.us == want, "%s: '%s' is %lld us (got %lld)", what, s,
	    (long long)want, rc == 0 ? (long long)sp.us : -1LL);
}

static void
test_unix(void)
{
	t_us("@1795183290", NULL, 1795183290000000LL, "@UNIX");
	t_us("@1.5", NULL, 1500000, "@UNIX.F");
	t_us("@-1.5", NULL, -1500000, "before the epoch");
	t_us("@-0.5", NULL, -500000, "less than a second before the epoch");
	t_us("@-0.000001", NULL, -1, "a microsecond before the epoch");
	t_us("@0.5", NULL, 500000, "less than a second after the epoch");
}

/* The last second before the epoch is (time_t)-1, mktime's failure. */
static void
test_zone(void)
{
	t_us("1969-12-31 23:59:59", NULL, -1000000, "UTC");
	t_us("1969-12-31 23:59:59", "+00:00", -1000000, "--tz +00:00");
	t_us("1969-12-31 23:59:59", "Etc/UTC", -1000000, "--tz Etc/UTC");
	t_us("1970-01-01 00:59:59", "Europe/Berlin", -1000000,
	    "--tz Europe/Berlin");
	setenv("TZ", "Etc/UTC", 1);
	t_us("1969-12-31 23:59:59", "local", -1000000, "--tz local");
	unsetenv("TZ");
}

/* ts_parse(s) must fail (a usage error). */
static void
t_bad(const char *s, const char *tz, const char *what)
{
	struct ts_spec sp;
	char err[256];

	ok(ts_parse(s, tz, NOW, &sp, err, sizeof(err)) != 0,
	    "%s: '%s' is refused", what, s);
}

/* Every answer echoes the instant in RFC 3339: years 0000 to 9999. */
static void
test_range(void)
{
	t_us("@253402300799.999999", NULL, 253402300799999999LL,
	    "the last microsecond of 9999");
	t_us("@-62167219200", NULL, -62167219200000000LL, "0000-01-01");
	t_us("0000-01-01T00:00:00Z", NULL, -62167219200000000LL,
	    "RFC 3339, year 0000");
	t_bad("@253402300800", NULL, "@UNIX in the year 10000");
	t_bad("@9223372036853", NULL, "@UNIX as big as it gets");
	t_bad("@-62167219201", NULL, "@UNIX before the year 0000");
	t_bad("9999-12-31T23:59:59-01:00", NULL, "RFC 3339, 10000 in UTC");
	t_bad("0000-01-01T00:00:00+00:01", NULL, "RFC 3339, -0001 in UTC");
	t_bad("9999-12-31 23:30", "-01:00", "--tz, 10000 in UTC");
	t_bad("-300000w", NULL, "a duration back before the year 0000");
}

int
main(void)
{
	test_range();
	test_unix();
	test_zone();
	return done_testing();
}
