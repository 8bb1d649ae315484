/*
 * fuzz_args.c: libFuzzer target for the parsers of what users type: the
 * CLI's times (ts_parse) and --tz (ts_tz_check), the `labels` selector,
 * the `ip` ADDR[/LEN], `pod`/`service` NS/NAME, churn's --last, the
 * numbers of `identity` and rev:N (hs_parse_i64), --format, --kind, the
 * option parser every command shares (hq_args, --db NAME=FILE), and the
 * recorder's --retain (retain_parse).
 *
 * The input is split at NUL bytes into words (argv holds no NUL): each
 * word goes to every parser of one word, the second word is also the
 * --tz of the first, and the words are the argv of hq_args.  Besides the
 * sanitizers, the target checks what a caller relies on: the same input
 * parses the same twice, a time lies in a sane range and means what it
 * says (--tz UTC, +00:00 and Etc/UTC agree; @N is N seconds; -D is now
 * minus D; RFC 3339 round-trips through hs_rfc3339_format), a CIDR is a
 * block of its prefix length, a selector prints back as itself, and TZ is
 * as it was.
 *
 * The static parsers are reached by including their files; their
 * messages go to /dev/null (stderr and stdout are renamed around the
 * includes) so a run's log stays small.
 *
 *   make fuzz   (builds build/fuzz/fuzz_args, linked as the Makefile says)
 *   build/fuzz/fuzz_args /tmp/corpus tests/fuzz/corpus/args/
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static FILE *fuzz_null;

#undef stderr
#undef stdout
#define stderr fuzz_null
#define stdout fuzz_null
#include "../../query/hq.c"
#include "../../query/timespec.c"
#define help ip_help
#include "../../query/cmd_ip.c"
#undef help
#include "../../query/cmd_identity.c"
#define help churn_help
#include "../../query/cmd_churn.c"
#undef help
#include "../../query/cmd_objects.c"
#undef stderr
#undef stdout
#define stderr stderr
#define stdout stdout

#include "retain.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_args: %s:%d: %s\n", __FILE__,    \
			    __LINE__, #cond);                                  \
			abort();                                               \
		}                                                              \
	} while (0)

#define MAXWORDS 12
#define NOW_US 1795096949123456LL /* 2026-11-20T...Z, a fixed "now" */
/* Year 0000 to 9999, and a day either side for a zone's offset. */
#define MIN_US ((-62167219200LL - 86400) * US)
#define MAX_US ((253402300800LL + 86400) * US)

static int have_etc_utc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((fuzz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	have_etc_utc = zone_exists("Etc/UTC");
	return 0;
}

/* err holds a message (which may quote the input, newlines and all). */
static void
check_err(const char *err, size_t size)
{
	check(memchr(err, '\0', size) != NULL && err[0] != '\0');
}

static int
same_spec(const struct ts_spec *a, const struct ts_spec *b)
{
	return a->is_rev == b->is_rev && a->is_now == b->is_now &&
	    a->us == b->us && a->etcd_rev == b->etcd_rev;
}

/* ts_parse(s, tz) twice: the same answer both times, TZ left alone. */
static int
parse_time(const char *s, const char *tz, struct ts_spec *out)
{
	const char *env = getenv("TZ");
	char *before = env != NULL ? strdup(env) : NULL, err[256], err2[256];
	struct ts_spec again;
	int rc, rc2;

	memset(err, 'x', sizeof(err));
	rc = ts_parse(s, tz, NOW_US, out, err, sizeof(err));
	rc2 = ts_parse(s, tz, NOW_US, &again, err2, sizeof(err2));
	check(rc == 0 || rc == -1);
	check(rc == rc2);
	if (rc == 0)
		check(same_spec(out, &again) && out->text == s);
	else {
		check_err(err, sizeof(err));
		check(strcmp(err, err2) == 0);
	}
	env = getenv("TZ");
	check((env == NULL) == (before == NULL));
	check(env == NULL || strcmp(env, before) == 0);
	free(before);
	return rc;
}

/* Whether s has the form of "YYYY-MM-DD..." without a zone (parse_local). */
static int
is_local(const char *s)
{
	struct tm tm;
	int64_t frac;

	return parse_local(s, &tm, &frac) == 0;
}

static void
fuzz_time(const char *s)
{
	struct ts_spec sp, o;
	char buf[48];
	long double v;
	int64_t d, back;

	if (parse_time(s, NULL, &sp) != 0) {
		check(strcmp(s, "now") != 0);
		return;
	}
	if (sp.is_now) {
		check(strcmp(s, "now") == 0 && sp.us == NOW_US);
		return;
	}
	if (sp.is_rev) {
		check(strncmp(s, "rev:", 4) == 0 && sp.etcd_rev >= 0);
		return;
	}
	if (s[0] == '-') {
		/* -D is now minus the duration D. */
		check(hs_parse_duration(s + 1, strlen(s + 1), &d) == 0);
		check(d >= 0 && sp.us == NOW_US - d);
		return;
	}
	if (s[0] == '@') {
		/* @N[.F] is N.F seconds, to the microsecond. */
		v = strtold(s + 1, NULL) * 1000000.0L;
		check(fabsl(v - (long double)sp.us) <= 2.0L);
		return;
	}
	check(sp.us >= MIN_US && sp.us <= MAX_US);
	/* An RFC 3339 time prints as one that reads back the same. */
	hs_rfc3339_format(sp.us, buf, sizeof(buf));
	check(hs_rfc3339_parse(buf, strlen(buf), &back) == 0 && back == sp.us);
	if (is_local(s)) {
		/* UTC by any name is UTC. */
		check(parse_time(s, "UTC", &o) == 0 && o.us == sp.us);
		check(parse_time(s, "+00:00", &o) == 0 && o.us == sp.us);
		check(parse_time(s, "-0000", &o) == 0 && o.us == sp.us);
		if (have_etc_utc)
			check(
			    parse_time(s, "Etc/UTC", &o) == 0 && o.us == sp.us);
	}
}

/* s as --tz, and as the zone of t. */
static void
fuzz_tz(const char *tz, const char *t)
{
	char err[256], err2[256];
	struct ts_spec a, b;
	long off;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = ts_tz_check(tz, err, sizeof(err));
	check(rc == 0 || rc == -1);
	check(ts_tz_check(tz, err2, sizeof(err2)) == rc);
	if (rc != 0)
		check_err(err, sizeof(err));
	if (parse_offset(tz, &off) == 0)
		check(rc == 0 && off > -86400 && off < 86400);
	/* A zone that passes gives an answer within a day of UTC's. */
	if (rc == 0) {
		check(parse_time("2026-11-20 14:02", tz, &a) == 0);
		check(parse_time("2026-11-20 14:02", NULL, &b) == 0);
		check(llabs(a.us - b.us) <= 26 * 3600 * US);
	} else
		check(parse_time("2026-11-20 14:02", tz, &a) == -1);
	/* t in zone tz: where t is a local time, as parse_local reads it. */
	if (rc == 0 && parse_time(t, tz, &a) == 0 && is_local(t) &&
	    parse_time(t, NULL, &b) == 0)
		check(llabs(a.us - b.us) <= 26 * 3600 * US);
}

/* A duration as --last, --retain and the D of -D. */
static void
fuzz_duration(const char *s)
{
	struct ts_spec sp;
	int64_t d, d2, last;
	char rel[300], from[32];
	int rc;

	rc = hs_parse_duration(s, strlen(s), &d);
	check(rc == 0 || rc == -1);
	check(hs_parse_duration(s, strlen(s), &d2) == rc);
	if (rc == 0)
		check(d >= 0 && d == d2);
	/* --retain and --last take what is longer than nothing. */
	check(retain_parse(s) == (rc == 0 && d > 0 ? d : -1));
	check(duration(s, &last) == (rc == 0 && d > 0 ? 0 : -1));
	if (rc == 0 && d > 0) {
		/* As churn turns --last into --from: that must parse, unless
		 * it lies before the year 0000 (no RFC 3339 time). */
		check(last == d);
		snprintf(from, sizeof(from), "@%lld",
		    (long long)((NOW_US - last) / 1000000));
		check((parse_time(from, NULL, &sp) == 0) ==
		    ((NOW_US - last) / 1000000 * 1000000 >= TS_MIN_US));
	}
	if (strlen(s) < sizeof(rel) - 1) {
		snprintf(rel, sizeof(rel), "-%s", s);
		check((parse_time(rel, NULL, &sp) == 0) ==
		    (rc == 0 && NOW_US - d >= TS_MIN_US));
	}
}

/* Two durations one after the other are their sum. */
static void
fuzz_duration_sum(const char *a, const char *b)
{
	char ab[512];
	int64_t da, db, dab;
	int rc;

	if (strlen(a) + strlen(b) >= sizeof(ab) ||
	    hs_parse_duration(a, strlen(a), &da) != 0 ||
	    hs_parse_duration(b, strlen(b), &db) != 0)
		return;
	snprintf(ab, sizeof(ab), "%s%s", a, b);
	rc = hs_parse_duration(ab, strlen(ab), &dab);
	if (da > INT64_MAX - db)
		check(rc == -1);
	else
		check(rc == 0 && dab == da + db);
}

/* hs_parse_i64 (identity, rev:N, /LEN) agrees with strtoll. */
static void
fuzz_int(const char *s)
{
	int64_t v;
	uint64_t u;
	char *end;
	long long r;
	size_t i;
	int plain = s[0] != '\0';

	for (i = s[0] == '-' ? 1 : 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			plain = 0;
	if (strcmp(s, "-") == 0)
		plain = 0;
	errno = 0;
	r = strtoll(s, &end, 10);
	if (hs_parse_i64(s, strlen(s), &v) == 0)
		check(plain && errno == 0 && *end == '\0' && r == v);
	else
		check(!plain || errno == ERANGE);
	if (hs_parse_u64(s, strlen(s), &u) == 0)
		check(plain && s[0] != '-');
}

/* ADDR[/LEN] as `hindsight ip` reads it. */
static void
fuzz_addr(const char *s)
{
	unsigned char lo[16], hi[16], lo2[16], hi2[16], a[16];
	char buf[64];
	const char *slash;
	int i, bit, prefix, v4, fam = -1, fam2 = -1, rc;
	int64_t len;

	rc = parse_addr(s, lo, hi, &fam);
	check(rc == 0 || rc == -1);
	check(parse_addr(s, lo2, hi2, &fam2) == rc);
	if (rc != 0)
		return;
	check(memcmp(lo, lo2, 16) == 0 && memcmp(hi, hi2, 16) == 0);
	/* [lo, hi] is one CIDR block: equal bits, then lo 0s and hi 1s. */
	for (prefix = 0; prefix < 128; prefix++) {
		i = prefix / 8;
		bit = 0x80 >> (prefix % 8);
		if ((lo[i] & bit) != (hi[i] & bit))
			break;
	}
	for (bit = prefix; bit < 128; bit++) {
		check((lo[bit / 8] & (0x80 >> (bit % 8))) == 0);
		check((hi[bit / 8] & (0x80 >> (bit % 8))) != 0);
	}
	slash = strchr(s, '/');
	check(slash == NULL || (size_t)(slash - s) < sizeof(buf));
	snprintf(buf, sizeof(buf), "%.*s",
	    (int)(slash != NULL ? (size_t)(slash - s) : strlen(s)), s);
	v4 = inet_pton(AF_INET, buf, a + 12) == 1;
	if (v4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
	} else
		check(inet_pton(AF_INET6, buf, a) == 1);
	check(fam == v4 && fam2 == v4); /* the family, as inet_pton says */
	check(!v4 || prefix >= 96);
	if (slash == NULL)
		check(prefix == 128);
	else {
		check(hs_parse_i64(slash + 1, strlen(slash + 1), &len) == 0);
		check(len >= 0 && len <= (v4 ? 32 : 128));
		check(prefix == (int)len + (v4 ? 96 : 0));
	}
	/* The address itself lies in the block. */
	for (i = 0; i < 16; i++)
		check((a[i] & lo[i]) == lo[i] && (a[i] | hi[i]) == hi[i]);
}

/* A `labels` selector: its terms print back as the same selector. */
static void
fuzz_selector(const char *s)
{
	struct term t[MAX_TERMS], t2[MAX_TERMS];
	char *buf, *back, *again, *p;
	size_t len = strlen(s), n2;
	int n, m, i;

	if ((buf = strdup(s)) == NULL)
		return;
	n = parse_selector(buf, t);
	check(n >= -1 && n <= MAX_TERMS && n != 0);
	if (n < 0) {
		free(buf);
		return;
	}
	n2 = 2 * len + 2 * MAX_TERMS + 1;
	if ((back = malloc(n2)) == NULL)
		abort();
	p = back;
	for (i = 0; i < n; i++) {
		check(t[i].key >= buf && t[i].key < buf + len);
		check(t[i].value > buf && t[i].value <= buf + len);
		check(t[i].key[0] != '\0' && strchr(t[i].key, ',') == NULL);
		check(strchr(t[i].key, '=') == NULL);
		check(strchr(t[i].value, ',') == NULL);
		if (t[i].source != NULL) {
			check(t[i].source >= buf && t[i].source < buf + len);
			check(t[i].source[0] != '\0' &&
			    strpbrk(t[i].source, ",=:") == NULL &&
			    strcmp(t[i].source, "any") != 0);
		}
		p += sprintf(p, "%s%s%s%s=%s", i > 0 ? "," : "",
		    t[i].source != NULL ? t[i].source : "",
		    t[i].source != NULL || strchr(t[i].key, ':') != NULL ? ":"
									 : "",
		    t[i].key, t[i].value);
	}
	check((size_t)(p - back) < n2);
	if ((again = strdup(back)) == NULL)
		abort();
	m = parse_selector(again, t2);
	check(m == n);
	for (i = 0; i < n; i++) {
		check(strcmp(t[i].key, t2[i].key) == 0);
		check(strcmp(t[i].value, t2[i].value) == 0);
		check((t[i].source == NULL) == (t2[i].source == NULL));
		check(t[i].source == NULL ||
		    strcmp(t[i].source, t2[i].source) == 0);
	}
	free(again);
	free(back);
	free(buf);
}

/* NS/NAME of `pod` and `service`. */
static void
fuzz_ns(const char *s)
{
	char *ns = NULL, *name = NULL, buf[600];

	if (split_ns(s, &ns, &name) == 0) {
		check(ns[0] != '\0' && name[0] != '\0');
		check(strchr(ns, '/') == NULL && strchr(name, '/') == NULL);
		if (strlen(s) < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s/%s", ns, name);
			check(strcmp(buf, s) == 0);
		}
	}
	free(ns);
	free(name);
}

static void
fuzz_words(const char *s)
{
	enum out_format f;

	if (out_format_parse(s, &f) == 0)
		check(strcmp(s, "table") == 0 || strcmp(s, "json") == 0 ||
		    strcmp(s, "csv") == 0);
	if (hq_kind_valid(s))
		check(strstr(hq_kind_list(), s) != NULL);
}

/* The words as a command's argv, with churn's options. */
static void
fuzz_argv(char **argv, int argc)
{
	const char *from = NULL, *to = NULL, *last = NULL, *by = NULL;
	const char *pos[2] = {NULL, NULL};
	int by_ns = 0, npos = -1, rc, i, j;
	const struct hq_opt opts[] = {{"from", 1, &from, NULL},
	    {"to", 1, &to, NULL}, {"last", 1, &last, NULL},
	    {"by", 1, &by, NULL}, {"by-namespace", 0, NULL, &by_ns},
	    {NULL, 0, NULL, NULL}};
	struct hq q;

	memset(&q, 0, sizeof(q));
	q.cmd = "churn";
	rc = hq_args(&q, argc, argv, opts, pos, 0, 2, &npos, "help\n");
	check(rc == 0 || rc == HQ_USAGE || rc == HQ_HELPED);
	check(q.ndb >= 0 && q.ndb <= HQ_MAXDB);
	for (i = 0; i < q.ndb; i++) {
		check(q.dbs[i].path != NULL);
		check(memchr(q.dbs[i].name, '\0', sizeof(q.dbs[i].name)));
		check(!q.dbs[i].named || q.dbs[i].name[0] != '\0');
	}
	if (q.tz != NULL)
		check(ts_tz_check(q.tz, q.echo, sizeof(q.echo)) == 0);
	if (rc != 0)
		return;
	check(npos >= 0 && npos <= 2);
	for (i = 0; i < q.ndb; i++)
		check(q.dbs[i].path[0] != '\0');
	/* Every word taken is one of argv's, or the part after '='. */
	for (i = 0; i < npos; i++) {
		for (j = 0; j < argc; j++)
			if (pos[i] == argv[j])
				break;
		check(j < argc);
	}
	if (by_ns)
		check(by_ns == 1);
	(void)from;
	(void)to;
	(void)last;
	(void)by;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *words[MAXWORDS + 1];
	size_t i;
	int n = 0;

	/* argv words are C strings: split at NUL, each its own copy. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i <= size && n < MAXWORDS;) {
		words[n] = strdup(copy + i);
		if (words[n] == NULL)
			abort();
		i += strlen(copy + i) + 1;
		n++;
	}
	words[n] = NULL;
	free(copy);

	for (i = 0; i < (size_t)n; i++) {
		fuzz_time(words[i]);
		fuzz_duration(words[i]);
		fuzz_int(words[i]);
		fuzz_addr(words[i]);
		fuzz_selector(words[i]);
		fuzz_ns(words[i]);
		fuzz_words(words[i]);
	}
	if (n >= 2) {
		fuzz_tz(words[1], words[0]);
		fuzz_duration_sum(words[0], words[1]);
	}
	fuzz_argv(words, n);
	for (i = 0; i < (size_t)n; i++)
		free(words[i]);
	return 0;
}
