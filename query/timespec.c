/*
 * timespec.c: parse the T of a query and resolve it to a hindsight
 * revision, saying where the answer is not backed by recorded coverage
 * (timespec.h).  Revisions are the truth; a time is resolved through the
 * revisions table's observation bounds, never guessed.
 */
#include "timespec.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"

#define US 1000000LL

/* Digits at s[0..n) into *v; -1 unless all n are digits. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Days in month mo (1-12) of year y, Gregorian. */
static int
days_in(int y, int mo)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return days[mo - 1];
}

/*
 * "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]]" without a zone.  Fills tm (fields
 * only) and the fraction in microseconds.
 */
static int
parse_local(const char *s, struct tm *tm, int64_t *frac)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, scale;
	size_t n = strlen(s);

	*frac = 0;
	if (n < 10 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
		return -1;
	s += 10;
	if (*s != '\0') {
		if ((*s != ' ' && *s != 'T' && *s != 't') || strlen(s) < 6 ||
		    digits(s + 1, 2, &h) || s[3] != ':' ||
		    digits(s + 4, 2, &mi))
			return -1;
		s += 6;
		if (*s == ':') {
			if (digits(s + 1, 2, &sec))
				return -1;
			s += 3;
			if (*s == '.' || *s == ',') {
				s++;
				if (!isdigit((unsigned char)*s))
					return -1;
				for (scale = 100000; isdigit((unsigned char)*s);
				     s++, scale /= 10)
					*frac += (*s - '0') * scale;
			}
		}
		if (*s != '\0')
			return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	tm->tm_isdst = -1;
	return 0;
}

static int
is_utc(const char *tz)
{
	return tz == NULL || strcasecmp(tz, "UTC") == 0 ||
	    strcmp(tz, "Z") == 0 || strcasecmp(tz, "GMT") == 0;
}

/* "+hh:mm" / "-hh:mm" / "+hhmm": 0 and the offset east in seconds. */
static int
parse_offset(const char *tz, long *off)
{
	int h, m;

	if ((tz[0] != '+' && tz[0] != '-') || digits(tz + 1, 2, &h))
		return -1;
	if (tz[3] == ':' && strlen(tz) == 6 && digits(tz + 4, 2, &m) == 0)
		;
	else if (strlen(tz) == 5 && digits(tz + 3, 2, &m) == 0)
		;
	else
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = (h * 3600L + m * 60L) * (tz[0] == '-' ? -1 : 1);
	return 0;
}

/*
 * Whether tz names a zone this machine knows (glibc silently uses UTC):
 * a file of the zone database, which begins with "TZif" (not a
 * directory such as "Europe", nor zone.tab).
 */
static int
zone_exists(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[1024], magic[4];
	FILE *f;
	int ok;

	if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo", tz);
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

int
ts_tz_check(const char *tz, char *err, size_t errlen)
{
	long off;

	if (is_utc(tz) || strcmp(tz, "local") == 0 ||
	    parse_offset(tz, &off) == 0 || zone_exists(tz))
		return 0;
	snprintf(err, errlen,
	    "unknown time zone '%s' (use an IANA name "
	    "like Europe/Berlin, UTC, local or +hh:mm)",
	    tz);
	return -1;
}

/*
 * Wall-clock fields in the zone of $TZ to seconds since the epoch, the
 * same answer whatever was resolved before.  mktime() with tm_isdst -1
 * picks one of the two instants of a wall-clock time that a change back
 * from summer time repeats by a guess kept from its previous call, so
 * "2026-10-25 02:30" in Europe/Berlin came out an hour apart in "diff"
 * depending on the other time given.  Here: the earlier of the two (as
 * Python's fold=0); a time that a change to summer time skips is read
 * with the offset in force before the change.  The offsets a day before
 * and after are the candidates (no zone changes twice in two days).
 */
static int
zone_to_utc(const struct tm *fields, time_t *out)
{
	struct tm tm = *fields, lt;
	time_t wall, t, probe;
	long off[2];
	int i, found = 0;

	tzset();
	wall = timegm(&tm);
	for (i = 0; i < 2; i++) {
		probe = wall + (i == 0 ? -86400 : 86400);
		if (localtime_r(&probe, &lt) == NULL)
			return -1;
		off[i] = lt.tm_gmtoff;
	}
	for (i = 0; i < 2; i++) {
		t = wall - off[i];
		if (localtime_r(&t, &lt) == NULL)
			return -1;
		if (lt.tm_gmtoff == off[i] && (!found || t < *out)) {
			*out = t;
			found = 1;
		}
	}
	if (!found)
		*out = wall - off[0];
	return 0;
}

/* Wall-clock fields in zone tz to seconds since the epoch. */
static int
to_utc(struct tm *tm, const char *tz, time_t *out)
{
	char *old = NULL;
	const char *cur;
	long off;
	int rc;

	if (is_utc(tz)) {
		*out = timegm(tm);
		return 0;
	}
	if (parse_offset(tz, &off) == 0) {
		*out = timegm(tm) - off;
		return 0;
	}
	if (strcmp(tz, "local") == 0)
		return zone_to_utc(tm, out);
	if (!zone_exists(tz))
		return -1;
	if ((cur = getenv("TZ")) != NULL && (old = strdup(cur)) == NULL)
		return -1;
	setenv("TZ", tz, 1);
	tzset();
	rc = zone_to_utc(tm, out);
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	return rc;
}

static int
parse_relative(const char *s, int64_t now_us, int64_t *us)
{
	int64_t d;

	if (hs_parse_duration(s + 1, strlen(s + 1), &d) != 0)
		return -1;
	*us = now_us - d;
	return 0;
}

static int
parse_unix(const char *s, int64_t *us)
{
	const char *dot = strchr(s, '.');
	int64_t sec, frac = 0, scale;
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	if (n == 0 || hs_parse_i64(s, n, &sec) != 0 || s[0] == '+' ||
	    sec > INT64_MAX / US - 1 || sec < INT64_MIN / US + 1)
		return -1;
	if (dot != NULL) {
		if (!isdigit((unsigned char)dot[1]))
			return -1;
		for (dot++, scale = 100000; isdigit((unsigned char)*dot);
		     dot++, scale /= 10)
			frac += (*dot - '0') * scale;
		if (*dot != '\0')
			return -1;
	}
	/* "-0.5": the sign is the text's, sec (0) has none. */
	*us = sec * US + (s[0] == '-' ? -frac : frac);
	return 0;
}

static int
parse_spec(const char *s, const char *tz, int64_t now_us, struct ts_spec *out,
    char *err, size_t errlen)
{
	struct tm tm;
	time_t t;
	int64_t frac;

	memset(out, 0, sizeof(*out));
	out->text = s;
	if (strcmp(s, "now") == 0) {
		out->us = now_us;
		out->is_now = 1;
		return 0;
	}
	if (strncmp(s, "rev:", 4) == 0) {
		if (hs_parse_i64(s + 4, strlen(s + 4), &out->etcd_rev) != 0 ||
		    out->etcd_rev < 0 || s[4] == '-' || s[4] == '+') {
			snprintf(err, errlen,
			    "bad revision '%s' (want rev:N, "
			    "N an etcd revision)",
			    s);
			return -1;
		}
		out->is_rev = 1;
		return 0;
	}
	if (s[0] == '-') {
		if (parse_relative(s, now_us, &out->us) == 0)
			return 0;
		snprintf(err, errlen,
		    "bad relative time '%s' (want - and a duration: "
		    "N followed by s, m, h, d or w, e.g. -90m, -1h30m)",
		    s);
		return -1;
	}
	if (s[0] == '@') {
		if (parse_unix(s + 1, &out->us) == 0)
			return 0;
		snprintf(err, errlen, "bad Unix time '%s' (want @SECONDS)", s);
		return -1;
	}
	if (hs_rfc3339_parse(s, strlen(s), &out->us) == 0)
		return 0;
	if (parse_local(s, &tm, &frac) == 0) {
		if (tz != NULL && ts_tz_check(tz, err, errlen) != 0)
			return -1;
		if (to_utc(&tm, tz, &t) == 0) {
			out->us = (int64_t)t * US + frac;
			return 0;
		}
	}
	snprintf(err, errlen,
	    "bad time '%s' (want RFC 3339, 'YYYY-MM-DD "
	    "HH:MM[:SS]', @UNIX, rev:N, now or -90m/-2h/-7d)",
	    s);
	return -1;
}

int
ts_parse(const char *s, const char *tz, int64_t now_us, struct ts_spec *out,
    char *err, size_t errlen)
{
	if (parse_spec(s, tz, now_us, out, err, errlen) != 0)
		return -1;
	/*
	 * Every answer echoes the instant in RFC 3339, whose years have
	 * four digits: "@253402300800" came back as "10000-01-01T00:00:00Z",
	 * which JSON readers refuse.
	 */
	if (!out->is_rev && (out->us < TS_MIN_US || out->us > TS_MAX_US)) {
		snprintf(err, errlen,
		    "time '%s' is out of range (years 0000 to 9999, UTC)", s);
		return -1;
	}
	return 0;
}

const char *
ts_describe(const struct ts_point *pt, char *buf, size_t size)
{
	char t[40], lo[40];

	if (pt->us_known && pt->us_lo > 0 && pt->us_lo < pt->us)
		snprintf(buf, size,
		    "%s (rev %" PRId64 ", committed at an unknown moment after "
		    "%s)",
		    hs_rfc3339_format(pt->us, t, sizeof(t)), pt->rev,
		    hs_rfc3339_format(pt->us_lo, lo, sizeof(lo)));
	else if (pt->us_known)
		snprintf(buf, size, "%s (rev %" PRId64 ")",
		    hs_rfc3339_format(pt->us, t, sizeof(t)), pt->rev);
	else
		snprintf(buf, size, "unknown time (rev %" PRId64 ")", pt->rev);
	return buf;
}

static char *
fmt_us(int64_t us, char *buf, size_t size)
{
	return hs_rfc3339_format(us, buf, size);
}

/* Whether rev lies strictly inside a recorded gap; warns if so. */
static int
warn_gap_rev(struct hq *q, const char *text, int64_t rev)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = hq_prepare(q,
		 "SELECT from_rev, to_rev, reason FROM gaps "
		 "WHERE from_rev < ?1 AND to_rev > ?1 ORDER BY from_rev "
		 "LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, rev);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		hq_warn(q,
		    "%s lies inside a gap in the recording (revisions "
		    "%lld to %lld, %s): changes in it were inferred, not seen",
		    text, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	    ? 0
	    : hq_dberr(q, "reading gaps");
}

static int
warn_gap_time(struct hq *q, const char *text, int64_t us)
{
	sqlite3_stmt *st;
	char a[40], b[40];
	int rc;

	if ((st = hq_prepare(q,
		 "SELECT from_rev, to_rev, from_us, to_us, reason FROM gaps "
		 "WHERE to_us > ?1 AND (from_us IS NULL OR from_us < ?1) "
		 "ORDER BY to_us LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, us);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		hq_warn(q,
		    "%s lies inside a gap in the recording (%s to %s, "
		    "revisions %lld to %lld, %s): what changed in it was "
		    "inferred, not seen",
		    text,
		    sqlite3_column_type(st, 2) == SQLITE_NULL
			? "unknown"
			: fmt_us(sqlite3_column_int64(st, 2), a, sizeof(a)),
		    fmt_us(sqlite3_column_int64(st, 3), b, sizeof(b)),
		    sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_text(st, 4));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return hq_dberr(q, "reading gaps");
	return rc == SQLITE_ROW ? 1 : 0;
}

/* T inside a replayed span (t_lo_us < T < t_hi_us of the next revision). */
static int
warn_uncertain(struct hq *q, const char *text, int64_t us, int64_t at_rev)
{
	sqlite3_stmt *st;
	char a[40], b[40];
	int rc;

	if ((st = hq_prepare(q,
		 "SELECT rev, t_lo_us, t_hi_us FROM revisions WHERE t_hi_us > "
		 "?1 "
		 "ORDER BY t_hi_us, rev LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, us);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_type(st, 1) != SQLITE_NULL &&
	    sqlite3_column_int64(st, 1) < us)
		hq_warn(q,
		    "%s lies inside a span replayed after downtime: "
		    "revision %lld and later ones were committed at unknown "
		    "moments in (%s, %s]; answering as of rev %lld, the last "
		    "one observed before",
		    text, sqlite3_column_int64(st, 0),
		    fmt_us(sqlite3_column_int64(st, 1), a, sizeof(a)),
		    fmt_us(sqlite3_column_int64(st, 2), b, sizeof(b)),
		    (long long)at_rev);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	    ? 0
	    : hq_dberr(q, "reading revisions");
}

static int
resolve_time(struct hq *q, const struct ts_spec *spec, struct ts_point *pt)
{
	sqlite3_stmt *st;
	char a[40];
	int rc;

	/*
	 * revisions_t_hi makes this one index probe; observation times grow
	 * with revisions, so the last by time is the greatest rev.
	 */
	if ((st = hq_prepare(q,
		 "SELECT rev FROM revisions WHERE t_hi_us <= ?1 "
		 "ORDER BY t_hi_us DESC, rev DESC LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, spec->us);
	pt->rev = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		pt->rev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return hq_dberr(q, "reading revisions");
	if (q->have_recorded && pt->rev > q->recorded_rev)
		pt->rev = q->recorded_rev;
	pt->us = spec->us;
	pt->us_known = 1;
	pt->us_lo = 0;
	pt->implicit = 0;

	if (!q->have_first) {
		hq_warn(
		    q, "%s: the db holds no recorded snapshot yet", spec->text);
		return 0;
	}
	if (spec->us < q->first_us) {
		hq_warn(q,
		    q->pruned ? "%s is before the retention horizon (%s, "
				"rev %lld): history that ended before it was "
				"pruned"
			      : "%s is before recording began (first snapshot "
				"%s, rev %lld): what existed then is unknown",
		    spec->text, fmt_us(q->first_us, a, sizeof(a)),
		    (long long)q->first_rev);
		return 0;
	}
	if (!q->have_recorded || spec->us > q->recorded_us) {
		hq_warn(q,
		    "%s is after the watermark (everything is recorded "
		    "through rev %lld, observed until %s): later changes may "
		    "be missing",
		    spec->text, (long long)q->recorded_rev,
		    fmt_us(q->recorded_us, a, sizeof(a)));
		return 0;
	}
	if ((rc = warn_gap_time(q, spec->text, spec->us)) != 0)
		return rc == 1 ? 0 : rc;
	return warn_uncertain(q, spec->text, spec->us, pt->rev);
}

/* The latest recorded state: the watermark's revision and time. */
static int
latest(struct hq *q, struct ts_point *pt)
{
	sqlite3_stmt *st;
	int rc;

	pt->rev = q->recorded_rev;
	pt->us = q->recorded_us;
	pt->us_known = q->have_recorded;
	pt->us_lo = 0;
	pt->implicit = 0;
	if (q->have_recorded)
		return 0;
	if ((st = hq_prepare(q, "SELECT max(rev) FROM revisions")) == NULL)
		return HQ_NODB;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		pt->rev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : hq_dberr(q, "reading revisions");
}

static int
resolve_rev(struct hq *q, const struct ts_spec *spec, struct ts_point *pt)
{
	sqlite3_stmt *st;
	int rc;

	/*
	 * No snapshot yet: no revision is recorded, so none to name; as a
	 * time does, rev:N answers as of the latest state (nothing), so
	 * that a window from it to the default end is not reversed.
	 */
	if (!q->have_first) {
		hq_warn(
		    q, "%s: the db holds no recorded snapshot yet", spec->text);
		return latest(q, pt);
	}
	/* Past any revision (the sum would overflow): after the watermark. */
	pt->rev =
	    q->rev_offset > 0 && spec->etcd_rev > INT64_MAX - q->rev_offset
	    ? INT64_MAX
	    : spec->etcd_rev + q->rev_offset;
	pt->us = 0;
	pt->us_known = 0;
	pt->us_lo = 0;
	pt->implicit = 0;
	if (q->have_recorded && pt->rev > q->recorded_rev) {
		hq_warn(q,
		    "%s is after the watermark (everything is recorded "
		    "through etcd rev %lld): answering as of that",
		    spec->text, (long long)(q->recorded_rev - q->rev_offset));
		pt->rev = q->recorded_rev;
	} else if (pt->rev < q->first_rev)
		hq_warn(q,
		    q->pruned
			? "%s is before the retention horizon (rev "
			  "%lld): history that ended before it was pruned"
			: "%s is before the first snapshot (rev %lld): "
			  "keys deleted before recording began are unknown",
		    spec->text, (long long)q->first_rev);
	else if (q->rev_offset > 0 && spec->etcd_rev < q->epoch_started)
		/*
		 * Before the current etcd cluster was first recorded: its
		 * rev_offset is the previous cluster's last revision, so this
		 * would silently answer with the previous cluster's state.
		 */
		hq_warn(q,
		    "%s is before the current etcd cluster was first recorded "
		    "(at its etcd rev %lld, after a gap): what it held then is "
		    "unknown; answering with the previous cluster's state",
		    spec->text, (long long)q->epoch_started);
	else if ((rc = warn_gap_rev(q, spec->text, pt->rev)) != 0)
		return rc;

	/* The instant: when the state at rev was observed. */
	if ((st = hq_prepare(q,
		 "SELECT t_lo_us, t_hi_us FROM revisions WHERE rev <= ?1 "
		 "ORDER BY rev DESC LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, pt->rev);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		pt->us = sqlite3_column_int64(st, 1);
		pt->us_known = sqlite3_column_type(st, 0) != SQLITE_NULL ||
		    (q->have_first && pt->rev >= q->first_rev);
		pt->us_lo = sqlite3_column_int64(st, 0); /* NULL: 0 */
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	    ? 0
	    : hq_dberr(q, "reading revisions");
}

int
ts_resolve(struct hq *q, const struct ts_spec *spec, struct ts_point *pt)
{
	if (spec->is_now && q->have_first && q->have_recorded &&
	    spec->us - q->recorded_us <= TS_FRESH_US)
		return ts_latest(q, pt);
	return spec->is_rev ? resolve_rev(q, spec, pt)
			    : resolve_time(q, spec, pt);
}

int
ts_latest(struct hq *q, struct ts_point *pt)
{
	/*
	 * No snapshot committed yet (a recorder still listing the prefix):
	 * an empty answer would read as "nothing there", not "not known".
	 */
	if (!q->have_first)
		hq_warn(q,
		    "the db holds no recorded snapshot yet: nothing is "
		    "known");
	return latest(q, pt);
}

int
ts_arg(struct hq *q, const char *opt, const char *s, struct ts_spec *spec)
{
	char err[256];

	memset(spec, 0, sizeof(*spec));
	if (s == NULL)
		return 0;
	if (ts_parse(s, q->tz, q->now_us, spec, err, sizeof(err)) != 0) {
		if (opt != NULL)
			return hq_usage(q, "--%s: %s", opt, err);
		return hq_usage(q, "%s", err);
	}
	return 0;
}

int
ts_window_args(struct hq *q, const char *from, const char *to,
    struct ts_spec *s1, struct ts_spec *s2)
{
	int rc;

	if ((rc = ts_arg(q, "from", from, s1)) != 0 ||
	    (rc = ts_arg(q, "to", to, s2)) != 0)
		return rc;
	if (from == NULL || to == NULL || s1->is_rev != s2->is_rev)
		return 0;
	if (s1->is_rev ? s1->etcd_rev > s2->etcd_rev : s1->us > s2->us)
		return hq_usage(q, "the window ends before it begins");
	return 0;
}

int
ts_point(struct hq *q, const struct ts_spec *spec, struct ts_point *pt)
{
	int rc;

	if (spec->text != NULL)
		return ts_resolve(q, spec, pt);
	rc = ts_latest(q, pt);
	pt->implicit = 1;
	return rc;
}

void
ts_echo_at(struct hq *q, const char *what, const struct ts_point *pt)
{
	char buf[TS_DESCRIBE_LEN];

	snprintf(q->echo, sizeof(q->echo), "%s %s", what,
	    ts_describe(pt, buf, sizeof(buf)));
	out_note(q->out, "%s", q->echo);
	out_table_hide(q->out, 2);
}

void
ts_cells_at(struct hq *q, const struct ts_point *pt)
{
	out_time(q->out, pt->us, pt->us_known);
	out_int(q->out, pt->rev);
}

void
ts_echo_window(
    struct hq *q, const struct ts_point *from, const struct ts_point *to)
{
	char a[TS_DESCRIBE_LEN], b[TS_DESCRIBE_LEN];

	if (from->rev == 0 && !from->us_known)
		snprintf(a, sizeof(a), "the beginning");
	else
		ts_describe(from, a, sizeof(a));
	snprintf(q->echo, sizeof(q->echo), "from %s to %s", a,
	    ts_describe(to, b, sizeof(b)));
	out_note(q->out, "%s", q->echo);
	out_table_hide(q->out, 4);
}

void
ts_cells_window(
    struct hq *q, const struct ts_point *from, const struct ts_point *to)
{
	ts_cells_at(q, from);
	ts_cells_at(q, to);
}

int
ts_window_gaps(
    struct hq *q, const struct ts_point *p1, const struct ts_point *p2)
{
	sqlite3_stmt *st;
	char a[40], b[40], more[48] = "";
	int rc;

	/* Revisions are the truth; times only order the same revision. */
	if (p1->rev > p2->rev ||
	    (p1->rev == p2->rev && !p2->implicit && p1->us_known &&
		p2->us_known && p1->us > p2->us))
		return hq_usage(q, "the window ends before it begins");
	/* A gap around an end was warned about when that end resolved. */
	if ((st = hq_prepare(q,
		 "SELECT from_rev, to_rev, from_us, to_us, reason, (SELECT "
		 "count(*) FROM gaps WHERE from_rev >= ?1 AND "
		 "to_rev <= ?2) FROM gaps WHERE from_rev >= ?1 AND "
		 "to_rev <= ?2 ORDER BY from_rev LIMIT 1")) == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, p1->rev);
	sqlite3_bind_int64(st, 2, p2->rev);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 5) > 1)
			snprintf(more, sizeof(more), "; %lld gaps in all",
			    sqlite3_column_int64(st, 5));
		hq_warn(q,
		    "the window holds a gap in the recording (%s to %s, "
		    "revisions %lld to %lld, %s%s): what changed in it was "
		    "inferred, not seen",
		    sqlite3_column_type(st, 2) == SQLITE_NULL
			? "unknown"
			: fmt_us(sqlite3_column_int64(st, 2), a, sizeof(a)),
		    fmt_us(sqlite3_column_int64(st, 3), b, sizeof(b)),
		    sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_text(st, 4), more);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	    ? 0
	    : hq_dberr(q, "reading gaps");
}

void
ts_beginning(struct hq *q, struct ts_point *pt)
{
	char a[40];

	pt->rev = 0;
	pt->us = 0;
	pt->us_known = 0;
	pt->us_lo = 0;
	pt->implicit = 0;
	/* As a window's start before the horizon warns (resolve_*()). */
	if (q->pruned)
		hq_warn(q,
		    "history before the retention horizon (%s, rev %lld) was "
		    "pruned: what ended before it is not shown",
		    fmt_us(q->first_us, a, sizeof(a)), (long long)q->first_rev);
}

int
ts_history_gaps(struct hq *q, const struct ts_point *through)
{
	struct ts_point p0;

	ts_beginning(q, &p0);
	return ts_window_gaps(q, &p0, through);
}
