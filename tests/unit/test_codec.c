/*
 * test_codec.c: the shared encodings in schema/codec.c: base64 as etcd's
 * gateway and Cilium's masks use it, decimal integers at their limits,
 * RFC 3339 times as Cilium and the CLI write them, and UTF-8 checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "tap.h"

/* Decode s, expecting want (len bytes), or failure when len < 0. */
static void
b64_dec(const char *s, const char *want, long len)
{
	unsigned char out[256];
	long n;

	n = hs_b64_decode(s, strlen(s), out);
	if (len < 0) {
		is_int(n, -1, "base64 '%s' is rejected", s);
		return;
	}
	is_int(n, len, "base64 '%s' decodes to %ld bytes", s, len);
	ok(n == len && memcmp(out, want, (size_t)len) == 0, "base64 '%s' bytes",
	    s);
}

static void
test_base64(void)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	unsigned char in[64], back[64];
	char enc[128];
	size_t i, n;
	uint32_t x = 1;
	long k;
	int all = 1;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i][0]);
		is_str(hs_b64_encode((const unsigned char *)vec[i][0], n, enc),
		    vec[i][1], "encode '%s'", vec[i][0]);
		is_int(strlen(enc) + 1, hs_b64_enclen(n), "enclen(%zu)", n);
		b64_dec(vec[i][1], vec[i][0], (long)n);
	}
	/* Unpadded input is accepted. */
	b64_dec("Zg", "f", 1);
	b64_dec("Zm8", "fo", 2);
	b64_dec("Zm9vYg", "foob", 4);
	/* Cilium's masks (cilium-kvstore.md 2.5). */
	b64_dec("////AA==", "\xff\xff\xff\x00", 4);
	b64_dec("//8AAA==", "\xff\xff\x00\x00", 4);
	b64_dec("//////////8AAAAAAAAAAA==",
	    "\xff\xff\xff\xff\xff\xff\xff\xff\0\0\0\0\0\0\0\0", 16);
	/* Bad input. */
	b64_dec("Zm9v!", NULL, -1);
	b64_dec("Zm 9v", NULL, -1);
	b64_dec("Z", NULL, -1);
	b64_dec("Z===", NULL, -1);
	b64_dec("Zm9vY", NULL, -1);
	b64_dec("Zh==", NULL, -1); /* leftover bits not zero */
	b64_dec("Zm9=", NULL, -1);
	b64_dec("Zm=v", NULL, -1);
	b64_dec("Zg=", NULL, -1); /* partial padding */
	b64_dec("Zg===", NULL, -1); /* too much padding */
	b64_dec("Zm9v====", NULL, -1);
	b64_dec("=", NULL, -1);
	b64_dec("====", NULL, -1);
	b64_dec("-_8=", NULL, -1); /* URL alphabet is not std */

	/* Round trips of every length up to 48, declen is enough. */
	for (n = 0; n <= 48; n++) {
		for (i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			in[i] = (unsigned char)(x >> 16);
		}
		hs_b64_encode(in, n, enc);
		if (strlen(enc) + 1 != hs_b64_enclen(n) ||
		    hs_b64_declen(strlen(enc)) < n)
			all = 0;
		k = hs_b64_decode(enc, strlen(enc), back);
		if (k != (long)n || memcmp(in, back, n) != 0)
			all = 0;
	}
	ok(all, "round trips of 0..48 random bytes");
}

static void
test_integers(void)
{
	uint64_t u = 0;
	int64_t s = 0;

	ok(hs_parse_u64("0", 1, &u) == 0 && u == 0, "u64 0");
	ok(hs_parse_u64("007", 3, &u) == 0 && u == 7, "u64 leading zeros");
	ok(hs_parse_u64("18446744073709551615", 20, &u) == 0 && u == UINT64_MAX,
	    "u64 max");
	is_int(hs_parse_u64("18446744073709551616", 20, &u), -1,
	    "u64 max + 1 overflows");
	is_int(hs_parse_u64("99999999999999999999", 20, &u), -1,
	    "u64 20 nines overflow");
	is_int(hs_parse_u64("184467440737095516150", 21, &u), -1,
	    "u64 max * 10 overflows");
	is_int(hs_parse_u64("", 0, &u), -1, "u64 empty");
	is_int(hs_parse_u64("12a", 3, &u), -1, "u64 junk");
	is_int(hs_parse_u64("-1", 2, &u), -1, "u64 negative");
	is_int(hs_parse_u64("+1", 2, &u), -1, "u64 plus sign");
	is_int(hs_parse_u64(" 1", 2, &u), -1, "u64 space");
	ok(hs_parse_u64("1234", 2, &u) == 0 && u == 12, "u64 honours length");

	ok(hs_parse_i64("-9223372036854775808", 20, &s) == 0 && s == INT64_MIN,
	    "i64 min");
	ok(hs_parse_i64("9223372036854775807", 19, &s) == 0 && s == INT64_MAX,
	    "i64 max");
	is_int(hs_parse_i64("9223372036854775808", 19, &s), -1, "i64 max + 1");
	is_int(hs_parse_i64("-9223372036854775809", 20, &s), -1, "i64 min - 1");
	ok(hs_parse_i64("-42", 3, &s) == 0 && s == -42, "i64 -42");
	ok(hs_parse_i64("-0", 2, &s) == 0 && s == 0, "i64 -0");
	is_int(hs_parse_i64("-", 1, &s), -1, "i64 lone '-'");
	is_int(hs_parse_i64("--1", 3, &s), -1, "i64 '--1'");
}

static void
t3339(const char *s, int64_t want)
{
	int64_t us = 0;

	if (ok(hs_rfc3339_parse(s, strlen(s), &us) == 0, "parse %s", s))
		is_int(us, want, "  %s instant", s);
}

static void
t3339_bad(const char *s)
{
	int64_t us;

	is_int(hs_rfc3339_parse(s, strlen(s), &us), -1, "reject '%s'", s);
}

static void
test_rfc3339(void)
{
	char buf[40];
	int64_t us;

	t3339("1970-01-01T00:00:00Z", 0);
	t3339("2026-11-20T14:02:00Z", 1795183320000000LL);
	t3339("2026-11-20t14:02:00z", 1795183320000000LL);
	t3339("2026-11-20 14:02:00Z", 1795183320000000LL);
	t3339("2026-11-20T16:02:00+02:00", 1795183320000000LL);
	t3339("2026-11-20T08:32:00-05:30", 1795183320000000LL);
	t3339("2026-11-20T14:02:00.5Z", 1795183320500000LL);
	t3339("2026-11-20T14:02:00.000001Z", 1795183320000001LL);
	t3339("2026-11-20T14:02:00.123456789Z", 1795183320123456LL);
	t3339("2026-11-20T16:02:00.25+02:00", 1795183320250000LL);
	t3339("1969-12-31T23:59:59.5Z", -500000);
	t3339("2016-12-31T23:59:60Z", 1483228800000000LL);
	t3339("2024-02-29T00:00:00Z", 1709164800000000LL);
	t3339("2000-02-29T00:00:00Z", 951782400000000LL);

	t3339_bad("");
	t3339_bad("2026-11-20T14:02:00");
	t3339_bad("2026-11-20T14:02Z");
	t3339_bad("2026-11-20");
	t3339_bad("2026-11-20T14:02:00+0200");
	t3339_bad("2026-11-20T14:02:00+02");
	t3339_bad("2026-11-20T14:02:00+24:00");
	t3339_bad("2026-11-20T14:02:00Zjunk");
	t3339_bad("2026-11-20T14:02:00.Z");
	t3339_bad("2026-11-20T14:02:00.");
	t3339_bad("2026-11-20T14:02:00,5Z");
	t3339_bad("2026-13-01T00:00:00Z");
	t3339_bad("2026-00-01T00:00:00Z");
	t3339_bad("2026-04-31T00:00:00Z");
	t3339_bad("2026-11-20T24:00:00Z");
	t3339_bad("2026-11-20T14:60:00Z");
	t3339_bad("2026-11-20X14:02:00Z");
	t3339_bad("2026-1a-20T14:02:00Z");
	t3339_bad("2023-02-29T00:00:00Z"); /* not a leap year */
	t3339_bad("1900-02-29T00:00:00Z"); /* nor is 1900 */
	ok(hs_rfc3339_parse("2026-11-20T14:02:00Zjunk", 20, &us) == 0,
	    "length bounds the text");

	is_str(hs_rfc3339_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z",
	    "format epoch");
	is_str(hs_rfc3339_format(1795183320123000LL, buf, sizeof(buf)),
	    "2026-11-20T14:02:00.123Z", "format milliseconds");
	is_str(hs_rfc3339_format(1795183320000001LL, buf, sizeof(buf)),
	    "2026-11-20T14:02:00.000001Z", "format microseconds");
	is_str(hs_rfc3339_format(-500000, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.500Z", "format before the epoch");
	is_str(hs_rfc3339_format(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z", "format -1 us");
	hs_rfc3339_format(INT64_MIN, buf, sizeof(buf));
	ok(strlen(buf) > 20, "format INT64_MIN: %s", buf);
	hs_rfc3339_format(INT64_MAX, buf, sizeof(buf));
	ok(strlen(buf) > 20, "format INT64_MAX: %s", buf);
	/* Found by fuzzing: years before 1000 lost their leading zeros. */
	is_str(hs_rfc3339_format(-61334618280000000LL, buf, sizeof(buf)),
	    "0026-05-20T14:02:00Z", "format a year before 1000 in 4 digits");
	ok(hs_rfc3339_parse(buf, strlen(buf), &us) == 0 &&
		us == -61334618280000000LL,
	    "a year before 1000 round trips");
	is_str(hs_rfc3339_format(-62167219200000000LL, buf, sizeof(buf)),
	    "0000-01-01T00:00:00Z", "format year 0");
	us = 0;
	hs_rfc3339_format(1795183320250000LL, buf, sizeof(buf));
	ok(hs_rfc3339_parse(buf, strlen(buf), &us) == 0 &&
		us == 1795183320250000LL,
	    "format then parse round trip");
}

static void
utf8(const char *s, size_t n, int want, const char *what)
{
	is_int(
	    hs_utf8_valid((const unsigned char *)s, n), want, "utf8 %s", what);
}

static void
test_utf8(void)
{
	utf8("", 0, 1, "empty");
	utf8("cilium/state", 12, 1, "ASCII");
	utf8("\0", 1, 1, "NUL is valid UTF-8");
	utf8("n\xc3\xb6"
	     "de",
	    5, 1, "2-byte");
	utf8("\xe2\x82\xac", 3, 1, "3-byte euro");
	utf8("\xf0\x9f\x90\x9d", 4, 1, "4-byte");
	utf8("\xef\xbf\xbf", 3, 1, "U+FFFF");
	utf8("\xf4\x8f\xbf\xbf", 4, 1, "U+10FFFF");
	utf8("\xff", 1, 0, "0xff");
	utf8("\x80", 1, 0, "lone continuation");
	utf8("\xc0\xaf", 2, 0, "overlong 2-byte");
	utf8("\xc1\xbf", 2, 0, "overlong 2-byte (c1)");
	utf8("\xe0\x80\xaf", 3, 0, "overlong 3-byte");
	utf8("\xf0\x8f\xbf\xbf", 4, 0, "overlong 4-byte");
	utf8("\xed\xa0\x80", 3, 0, "surrogate");
	utf8("\xf4\x90\x80\x80", 4, 0, "above U+10FFFF");
	utf8("\xf5\x80\x80\x80", 4, 0, "f5 lead");
	utf8("\xe2\x82", 2, 0, "truncated 3-byte");
	utf8("\xe2\x82\xac", 2, 0, "length cuts a sequence");
	utf8("\xc3\x28", 2, 0, "bad continuation");
}

static void
utf8c(const char *s, size_t n, size_t want, const char *what)
{
	is_int((long long)hs_utf8_char((const unsigned char *)s, n),
	    (long long)want, "utf8 char %s", what);
}

static void
test_utf8_char(void)
{
	utf8c("", 0, 0, "nothing");
	utf8c("a\xff", 2, 1, "ASCII, whatever follows");
	utf8c("\0", 1, 1, "NUL");
	utf8c("\xc3\xa9x", 3, 2, "2-byte, then more");
	utf8c("\xe2\x82\xac", 3, 3, "3-byte");
	utf8c("\xf0\x9f\x90\x9d", 4, 4, "4-byte");
	utf8c("\xff\xfe", 2, 0, "0xff");
	utf8c("\x80", 1, 0, "lone continuation");
	utf8c("\xc0\xaf", 2, 0, "overlong");
	utf8c("\xed\xa0\x80", 3, 0, "surrogate");
	utf8c("\xe2\x82\xac", 2, 0, "cut by n");
	utf8c("\xe2\x82(", 3, 0, "bad continuation");
}

static void
oneline(const char *s, size_t size, const char *want, const char *what)
{
	char buf[64];

	is_str(hs_oneline(s, buf, size), want, "oneline %s", what);
}

static void
test_oneline(void)
{
	oneline("cilium/state/ip/v1/default/10.0.0.1", 64,
	    "cilium/state/ip/v1/default/10.0.0.1", "plain text as it is");
	oneline("a\nb\r\tc", 64, "a\\x0ab\\x0d\\x09c", "C0 controls");
	oneline("\x1b[31mred\x7f", 64, "\\x1b[31mred\\x7f",
	    "ESC and DEL: no terminal escape gets through");
	oneline("x\xc2\x85y", 64, "x\\xc2\\x85y", "C1 NEL, byte by byte");
	oneline("caf\xc3\xa9 \xe2\x82\xac", 64, "caf\xc3\xa9 \xe2\x82\xac",
	    "UTF-8 kept");
	oneline("\xff\xfe/k", 64, "\\xff\\xfe/k", "bytes that are not UTF-8");
	oneline("abcdef", 4, "abc", "cut to size, NUL included");
	oneline("ab\n", 6, "ab", "an escape that does not fit is left out");
	oneline("a\xe2\x82\xac", 4, "a", "so is a character");
	oneline("", 1, "", "empty");
}

/* Durations and their microseconds; -1: refused. */
static const struct {
	const char *s;
	long long us;
	const char *name;
} durations[] = {
    {"90m", 5400000000LL, "90m"},
    {"1h30m", 5400000000LL, "1h30m = 90m"},
    {"30m1h", 5400000000LL, "units in any order"},
    {"2d12h", 216000000000LL, "2d12h"},
    {"1w", 604800000000LL, "1w"},
    {"45s", 45000000, "45s"},
    {"0s", 0, "0s"},
    {"1.5h", 5400000000LL, "1.5h"},
    {"0.5d", 43200000000LL, "0.5d"},
    {"1.000001s", 1000001, "a microsecond"},
    {"1.0000019s", 1000001, "below a microsecond dropped"},
    {"0.1234567891w", 74666666047LL, "ten fraction digits of a week"},
    {"0.0000000009w", 544, "a billionth of a week"},
    {"0.99999999999999w", 604799999999LL, "digits past the 13th dropped"},
    {"106751991d", 9223372022400000000LL, "106751991 days"},
    {"9223372036854s", 9223372036854000000LL, "near the limit"},
    {"9223372036855s", -1, "overflow of one group"},
    {"9223372036854s1s", -1, "overflow of the sum"},
    {"99999999999999999999s", -1, "overflow of the number"},
    {"", -1, "empty"},
    {"5", -1, "no unit"},
    {"1h30", -1, "last group without unit"},
    {"h", -1, "unit without number"},
    {"-5m", -1, "negative"},
    {"+5m", -1, "plus sign"},
    {"5y", -1, "unknown unit"},
    {"5 m", -1, "space"},
    {".5h", 1800000000LL, "no whole part"},
    {"1.h", 3600000000LL, "no fraction digits"},
    {".h", -1, "neither"},
    {"1..5h", -1, "two points"},
    {"5mm", -1, "unit twice"},
};

static void
test_duration(void)
{
	size_t i;
	int64_t us;
	int rc;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		us = -7;
		rc = hs_parse_duration(
		    durations[i].s, strlen(durations[i].s), &us);
		if (durations[i].us < 0)
			ok(rc == -1 && us == -7, "duration %s: refused",
			    durations[i].name);
		else
			ok(rc == 0 && us == durations[i].us,
			    "duration %s: %lld us (got %lld)",
			    durations[i].name, durations[i].us,
			    rc == 0 ? (long long)us : -1LL);
	}
	ok(hs_parse_duration("90m", 2, &(int64_t){0}) == -1,
	    "duration: only n bytes read ('90' of '90m')");
}

int
main(void)
{
	test_base64();
	test_integers();
	test_rfc3339();
	test_utf8();
	test_utf8_char();
	test_oneline();
	test_duration();
	return done_testing();
}
