/*
 * codec.c: base64, integers, RFC 3339 and UTF-8 checks shared by the
 * recorder and the CLI.  No allocation; callers own every buffer.
 */
#include "codec.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 1 + the sextet of each base64 character; 0 for every other byte. */
static const unsigned char b64rev[256] = {
    ['A'] = 1,
    ['B'] = 2,
    ['C'] = 3,
    ['D'] = 4,
    ['E'] = 5,
    ['F'] = 6,
    ['G'] = 7,
    ['H'] = 8,
    ['I'] = 9,
    ['J'] = 10,
    ['K'] = 11,
    ['L'] = 12,
    ['M'] = 13,
    ['N'] = 14,
    ['O'] = 15,
    ['P'] = 16,
    ['Q'] = 17,
    ['R'] = 18,
    ['S'] = 19,
    ['T'] = 20,
    ['U'] = 21,
    ['V'] = 22,
    ['W'] = 23,
    ['X'] = 24,
    ['Y'] = 25,
    ['Z'] = 26,
    ['a'] = 27,
    ['b'] = 28,
    ['c'] = 29,
    ['d'] = 30,
    ['e'] = 31,
    ['f'] = 32,
    ['g'] = 33,
    ['h'] = 34,
    ['i'] = 35,
    ['j'] = 36,
    ['k'] = 37,
    ['l'] = 38,
    ['m'] = 39,
    ['n'] = 40,
    ['o'] = 41,
    ['p'] = 42,
    ['q'] = 43,
    ['r'] = 44,
    ['s'] = 45,
    ['t'] = 46,
    ['u'] = 47,
    ['v'] = 48,
    ['w'] = 49,
    ['x'] = 50,
    ['y'] = 51,
    ['z'] = 52,
    ['0'] = 53,
    ['1'] = 54,
    ['2'] = 55,
    ['3'] = 56,
    ['4'] = 57,
    ['5'] = 58,
    ['6'] = 59,
    ['7'] = 60,
    ['8'] = 61,
    ['9'] = 62,
    ['+'] = 63,
    ['/'] = 64,
};

size_t
hs_b64_declen(size_t n)
{
	return (n / 4 + 1) * 3;
}

long
hs_b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;
	uint32_t w;
	int a, b, c, d, bits;

	/*
	 * Padding only at the very end, at most two characters, and only
	 * to fill the last quantum: "Zg=" or "Zg===" are not base64.
	 */
	if (n > 0 && in[n - 1] == '=') {
		if (n % 4 != 0)
			return -1;
		n--;
		if (in[n - 1] == '=')
			n--;
	}
	/* Whole quanta: four characters, three bytes. */
	for (i = 0; i + 4 <= n; i += 4) {
		a = b64rev[(unsigned char)in[i]];
		b = b64rev[(unsigned char)in[i + 1]];
		c = b64rev[(unsigned char)in[i + 2]];
		d = b64rev[(unsigned char)in[i + 3]];
		if (a == 0 || b == 0 || c == 0 || d == 0)
			return -1;
		w = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 |
		    (uint32_t)(c - 1) << 6 | (uint32_t)(d - 1);
		out[o++] = (unsigned char)(w >> 16);
		out[o++] = (unsigned char)(w >> 8);
		out[o++] = (unsigned char)w;
	}
	/*
	 * The last quantum: two characters are one byte, three are two; a
	 * lone character cannot encode a byte, and leftover bits must be
	 * zero.
	 */
	for (w = 0, bits = 0; i < n; i++, bits += 6) {
		if ((a = b64rev[(unsigned char)in[i]]) == 0)
			return -1;
		w = w << 6 | (uint32_t)(a - 1);
	}
	if (bits == 6 || (bits == 12 && (w & 0xf) != 0) ||
	    (bits == 18 && (w & 0x3) != 0))
		return -1;
	if (bits == 12)
		out[o++] = (unsigned char)(w >> 4);
	else if (bits == 18) {
		out[o++] = (unsigned char)(w >> 10);
		out[o++] = (unsigned char)(w >> 2);
	}
	return (long)o;
}

size_t
hs_b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

char *
hs_b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

int
hs_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
hs_parse_i64(const char *s, size_t n, int64_t *out)
{
	uint64_t v;
	int neg = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		s++;
		n--;
	}
	if (hs_parse_u64(s, n, &v) != 0)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

int
hs_parse_duration(const char *s, size_t n, int64_t *us)
{
	const char *end = s + n;
	int64_t total = 0, secs, unit, whole, frac, part;
	int nwhole, nfrac;

	if (n == 0)
		return -1;
	while (s < end) {
		for (whole = 0, nwhole = 0; s < end && *s >= '0' && *s <= '9';
		     s++, nwhole++) {
			if (whole > (INT64_MAX - 9) / 10)
				return -1;
			whole = whole * 10 + (*s - '0');
		}
		/*
		 * The fraction to 13 digits: 10^-13 of a week is 0.06 us, and
		 * 10^13 times a week in seconds still fits in 63 bits.
		 */
		frac = 0;
		nfrac = 0;
		if (s < end && *s == '.')
			for (s++; s < end && *s >= '0' && *s <= '9'; s++)
				if (nfrac++ < 13)
					frac = frac * 10 + (*s - '0');
		if (nwhole == 0 && nfrac == 0)
			return -1; /* no number: "h", ".h", "" */
		for (; nfrac < 13; nfrac++)
			frac *= 10;
		if (s == end)
			return -1; /* a number without its unit */
		switch (*s++) {
		case 's':
			secs = 1;
			break;
		case 'm':
			secs = 60;
			break;
		case 'h':
			secs = 3600;
			break;
		case 'd':
			secs = 86400;
			break;
		case 'w':
			secs = 7 * 86400;
			break;
		default:
			return -1;
		}
		/* frac * secs counts 10^-13 s: divided by 10^7, us. */
		part = frac * secs / 10000000;
		unit = secs * 1000000;
		if (whole > (INT64_MAX - part) / unit)
			return -1;
		part += whole * unit;
		if (part > INT64_MAX - total)
			return -1;
		total += part;
	}
	*us = total;
	return 0;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
hs_rfc3339_parse(const char *s, size_t n, int64_t *us)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac = 0, scale = 1000000, secs;
	size_t i = 19;
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
	    s[16] != ':' || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
	    digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	/* timegm() would quietly turn Feb 29 of a common year into Mar 1. */
	if (mo == 2 && d == 29 &&
	    (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return -1;
	if (s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
		}
	}
	if (i >= n)
		return -1;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		oh = om = 0;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == n &&
	    s[i + 3] == ':') {
		if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
	} else
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	secs = (int64_t)timegm(&tm);
	if (sec == 60)
		secs++;
	secs -= (int64_t)oh * 3600 + (int64_t)om * 60;
	*us = secs * 1000000 + frac;
	return 0;
}

char *
hs_rfc3339_format(int64_t us, char *buf, size_t size)
{
	time_t t;
	struct tm tm;
	int64_t frac;
	size_t len;
	int n;

	/* Floor division; us - frac would overflow at INT64_MIN. */
	frac = us % 1000000;
	t = (time_t)(us / 1000000);
	if (frac < 0) {
		frac += 1000000;
		t--;
	}
	gmtime_r(&t, &tm);
	/* RFC 3339 wants 4 digits of year; strftime's %Y gives "26" for 26. */
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
	len = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
	if (frac == 0)
		snprintf(buf + len, size - len, "Z");
	else if (frac % 1000 == 0)
		snprintf(buf + len, size - len, ".%03dZ", (int)(frac / 1000));
	else
		snprintf(buf + len, size - len, ".%06dZ", (int)frac);
	return buf;
}

size_t
hs_utf8_char(const unsigned char *s, size_t n)
{
	size_t k, len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

int
hs_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((len = hs_utf8_char(s + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

char *
hs_oneline(const char *s, char *buf, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, n = strlen(s), len;

	while (i < n) {
		len = hs_utf8_char(u + i, n - i);
		if (len == 0 || u[i] < 0x20 || u[i] == 0x7f ||
		    (u[i] == 0xc2 && u[i + 1] < 0xa0)) {
			/* Escaped byte by byte: 4 bytes each. */
			if (len == 0)
				len = 1;
			if (o + 4 * len >= size)
				break;
			while (len-- > 0)
				o += (size_t)snprintf(
				    buf + o, size - o, "\\x%02x", u[i++]);
			continue;
		}
		if (o + len >= size)
			break;
		memcpy(buf + o, s + i, len);
		o += len;
		i += len;
	}
	buf[o] = '\0';
	return buf;
}

static int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
hs_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t
hs_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}
