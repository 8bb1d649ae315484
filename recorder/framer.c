/*
 * framer.c: newline framing for the watch stream (see framer.h).
 *
 * The buffer grows to the longest line, by doubling, and shrinks back
 * once such a line is delivered: a catch-up's 3 MiB fragments should not
 * leave 4 MiB behind for a live stream of 200-byte messages.
 */
#include "framer.h"

#include <stdlib.h>
#include <string.h>

enum {
	FRAMER_MIN = 64 * 1024, /* the first allocation */
	FRAMER_KEEP = 256 * 1024 /* more is given back between long lines */
};

struct framer {
	char *buf;
	size_t len; /* bytes buffered */
	size_t scanned; /* bytes of buf already known to hold no '\n' */
	size_t cap;
	size_t maxline;
};

/* A line of nothing but white space (say "\r" of a CRLF) is no message. */
static int
blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\r' && p[i] != '\t')
			return 0;
	}
	return 1;
}

struct framer *
framer_new(size_t maxline)
{
	struct framer *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->maxline = maxline;
	return f;
}

static int
reserve(struct framer *f, size_t need)
{
	size_t cap;
	char *p;

	if (need <= f->cap)
		return 0;
	cap = f->cap ? f->cap : FRAMER_MIN;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(f->buf, cap)) == NULL)
		return -1;
	f->buf = p;
	f->cap = cap;
	return 0;
}

/* After a long line: back to the smallest size that holds what is left. */
static void
shrink(struct framer *f)
{
	size_t cap = FRAMER_MIN;
	char *p;

	if (f->cap <= FRAMER_KEEP || f->len >= f->cap / 4)
		return;
	while (cap < f->len + 1)
		cap *= 2;
	if ((p = realloc(f->buf, cap)) == NULL)
		return; /* keeping the big one is fine */
	f->buf = p;
	f->cap = cap;
}

int
framer_feed(
    struct framer *f, const char *data, size_t n, framer_line_cb *cb, void *arg)
{
	size_t start = 0;
	char *nl;

	/* +1 keeps room for the NUL written over a '\n' or past the tail. */
	if (reserve(f, f->len + n + 1) != 0)
		return -1;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	while ((nl = memchr(f->buf + f->scanned, '\n', f->len - f->scanned))) {
		size_t end = (size_t)(nl - f->buf);

		*nl = '\0';
		if (!blank(f->buf + start, end - start) &&
		    cb(arg, f->buf + start, end - start) != 0) {
			/* Keep the rest so the caller may inspect, then reset.
			 */
			start = end + 1;
			memmove(f->buf, f->buf + start, f->len - start);
			f->len -= start;
			f->scanned = 0;
			return -1;
		}
		start = end + 1;
		f->scanned = start;
	}
	if (start > 0) {
		memmove(f->buf, f->buf + start, f->len - start);
		f->len -= start;
		shrink(f);
	}
	f->scanned = f->len;
	if (f->len > f->maxline)
		return -1;
	return 0;
}

int
framer_finish(struct framer *f, framer_line_cb *cb, void *arg)
{
	int rc = 0;

	if (!blank(f->buf, f->len)) {
		f->buf[f->len] = '\0';
		rc = cb(arg, f->buf, f->len);
	}
	framer_reset(f);
	return rc;
}

void
framer_reset(struct framer *f)
{
	f->len = 0;
	f->scanned = 0;
	shrink(f);
}

size_t
framer_pending(const struct framer *f)
{
	return f->len;
}

size_t
framer_capacity(const struct framer *f)
{
	return f->cap;
}

void
framer_free(struct framer *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f);
}
