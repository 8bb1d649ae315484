/*
 * catchup.c: several watches on disjoint revision segments, delivered in
 * order (see catchup.h).  Owns the segment streams and their spill files;
 * the recorder owns everything written.
 */
#include "catchup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "log.h"
#include "wire.h"

struct segment {
	struct catchup *c;
	int idx;
	int64_t start;
	int64_t end; /* last revision; INT64_MAX for the last segment */
	struct etcd_stream *stream;
	FILE *spill; /* lines received while not the head */
	int complete; /* delivered past end: nothing more needed */
	int consumed; /* written out; the head moved past it */
	char why[300]; /* what etcd said when the segment's watch failed */
};

struct catchup {
	const struct catchup_ops *ops;
	void *arg;
	struct segment *seg;
	int n;
	int head;
};

/*
 * An unnamed temporary file under $TMPDIR (tmpfile() always uses /tmp,
 * often a tmpfs: RAM), removed when closed.
 */
static FILE *
spill_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/hindsight-spill.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	unlink(path);
	if ((f = fdopen(fd, "w+")) == NULL)
		close(fd);
	return f;
}

static int
is_head(const struct segment *s)
{
	return s->idx == s->c->head;
}

static int
is_last(const struct segment *s)
{
	return s->idx == s->c->n - 1;
}

/*
 * A message of a segment that is not the head yet: spill it, and say
 * whether it shows the segment complete (1), the stream broken (-1), or
 * neither (0).
 */
static int
spill_line(struct segment *s, const char *line, size_t len)
{
	struct wire_watch m;
	struct wire_event ev;
	char err[256];
	int rc = 0, got;

	if (wire_parse_watch(line, len, &m, err, sizeof(err)) != 0) {
		log_warn(
		    "catch-up segment %d: malformed message (%s)", s->idx, err);
		return -1;
	}
	if (m.is_error) {
		snprintf(s->why, sizeof(s->why),
		    "segment %d: etcd error %d: %s", s->idx + 1, m.error_code,
		    m.error_msg);
		rc = -1;
	} else if (m.canceled && m.compact_revision > 0) {
		snprintf(s->why, sizeof(s->why),
		    "segment %d: history compacted (etcd keeps from %lld)",
		    s->idx + 1, (long long)m.compact_revision);
		rc = -1;
	} else if (m.canceled) {
		snprintf(s->why, sizeof(s->why),
		    "segment %d: watch canceled: %s", s->idx + 1,
		    m.cancel_reason[0] ? m.cancel_reason : "no reason given");
		rc = -1;
	}
	/* An event past the end shows every revision up to it delivered. */
	while (rc == 0 && (got = wire_watch_next(&m, &ev, err, sizeof(err)))) {
		if (got < 0) {
			log_warn("catch-up segment %d: malformed message (%s)",
			    s->idx, err);
			rc = -1;
			break;
		}
		if (ev.kv.mod_rev > s->end)
			rc = 1;
		wire_event_release(&ev);
	}
	if (rc == 0 && m.nevents == 0 && !m.created && !m.canceled &&
	    m.watch_id != -1 && m.hdr.revision > s->end)
		rc = 1; /* a progress notification: synced past the end */
	wire_watch_release(&m);
	/* Each line with the moment it arrived: its revisions' time. */
	if (rc >= 0 &&
	    (fprintf(s->spill, "%lld ", (long long)clock_now_us()) < 0 ||
		fwrite(line, 1, len, s->spill) != len ||
		fputc('\n', s->spill) == EOF)) {
		log_warn("catch-up segment %d: cannot spill: %m", s->idx);
		return -1;
	}
	return rc;
}

static int
segment_line(void *arg, char *line, size_t len)
{
	struct segment *s = arg;
	struct catchup *c = s->c;
	int complete = 0, rc;

	c->ops->heard(c->arg);
	if (is_head(s)) {
		if (c->ops->line(c->arg, line, len,
			is_last(s) ? INT64_MAX : s->end, &complete, 0) != 0)
			return -1;
		if (complete)
			s->complete = 1;
		return complete ? -1 : 0;
	}
	if ((rc = spill_line(s, line, len)) == 1)
		s->complete = 1;
	return rc == 0 ? 0 : -1;
}

static void advance(struct catchup *c);

static void
segment_end(void *arg, int result, long status, const char *why)
{
	struct segment *s = arg;
	struct catchup *c = s->c;

	s->stream = NULL;
	if (s->consumed)
		return;
	if (is_head(s) && is_last(s)) {
		/* The live watch: the recorder's to handle (may free c). */
		c->ops->ended(c->arg, result, status, why);
		return;
	}
	if (!s->complete) {
		/* failed() may free c, s and the stream: keep the reason. */
		char reason[300];

		if (s->why[0])
			snprintf(reason, sizeof(reason), "%s", s->why);
		else
			snprintf(reason, sizeof(reason), "%s (HTTP %ld)", why,
			    status);
		c->ops->failed(c->arg, reason);
		return;
	}
	if (is_head(s))
		advance(c);
	/* A later segment that is complete waits for its turn. */
}

/* Write a spilled segment out through the recorder. */
static int
replay(struct catchup *c, struct segment *s)
{
	char *line = NULL, *msg;
	size_t cap = 0;
	ssize_t n;
	long long at;
	int complete = 0, rc = 0, was_complete = s->complete;

	/*
	 * The last lines spilled may still sit in stdio's buffer: a write
	 * error of theirs shows only now.  A spill that cannot be read back
	 * whole fails the catch-up (the recorder goes on with one watch from
	 * the watermark); it must never skip revisions.
	 */
	if (fflush(s->spill) != 0 || fseek(s->spill, 0, SEEK_SET) != 0) {
		log_warn("catch-up segment %d: cannot read back what it "
			 "spilled: %m",
		    s->idx);
		rc = -1;
	}
	while (
	    rc == 0 && !complete && (n = getline(&line, &cap, s->spill)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		at = strtoll(line, &msg, 10);
		if (*msg != ' ') {
			rc = -1; /* not what spill_line() wrote */
			break;
		}
		msg++;
		if (c->ops->line(c->arg, msg, (size_t)(line + n - msg),
			is_last(s) ? INT64_MAX : s->end, &complete,
			(int64_t)at) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && (ferror(s->spill) || (was_complete && !complete))) {
		/* Lines spilled past the end are missing from the file. */
		log_warn("catch-up segment %d: what it spilled reads back "
			 "short",
		    s->idx);
		rc = -1;
	}
	free(line);
	fclose(s->spill);
	s->spill = NULL;
	if (complete)
		s->complete = 1;
	return rc;
}

/*
 * The head is complete: report it, move on, and write out what the next
 * segment spilled; repeat while segments are complete.
 */
static void
advance(struct catchup *c)
{
	struct segment *s;

	for (;;) {
		s = &c->seg[c->head];
		s->consumed = 1;
		c->ops->segment_done(c->arg, s->end);
		s = &c->seg[++c->head];
		log_debug("catch-up: segment %d of %d from revision %lld",
		    s->idx + 1, c->n, (long long)s->start);
		if (replay(c, s) != 0) {
			c->ops->failed(c->arg,
			    "the recorder stopped the "
			    "catch-up");
			return;
		}
		if (is_last(s)) {
			c->ops->live(c->arg, s->stream);
			return;
		}
		if (!s->complete)
			return;
		etcd_stream_close(s->stream);
		s->stream = NULL;
	}
}

/*
 * Where segment i (from 0) starts: it is i + 1 times as long as the
 * first, total * t / p in whole revisions, without overflow.  All
 * segments arrive at about the same rate, but must be written in order:
 * a short first segment is written while the longer ones still arrive,
 * instead of all arriving at once and then waiting for the writer (17%
 * faster when etcd does not share the recorder's cores; bench/RESULTS.md).
 */
static int64_t
seg_start(int64_t total, int k, int i)
{
	int64_t p = (int64_t)k * (k + 1) / 2, t = (int64_t)i * (i + 1) / 2;

	return total / p * t + total % p * t / p;
}

struct catchup *
catchup_start(struct etcd *e, const char *prefix, int64_t from, int64_t to,
    int k, const struct catchup_ops *ops, void *arg)
{
	struct catchup *c;
	struct segment *s;
	int64_t total = to - from + 1;
	char *body;
	int i;

	/* Segment i has i + 1 parts: the first needs a revision at least. */
	while (k > 2 && (int64_t)k * (k + 1) / 2 > total)
		k--;
	if (k < 2 || 3 > total || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->seg = calloc((size_t)k, sizeof(*c->seg))) == NULL) {
		free(c);
		return NULL;
	}
	c->ops = ops;
	c->arg = arg;
	c->n = k;
	for (i = 0; i < k; i++) {
		s = &c->seg[i];
		s->c = c;
		s->idx = i;
		s->start = from + seg_start(total, k, i);
		s->end = i == k - 1 ? INT64_MAX
				    : from + seg_start(total, k, i + 1) - 1;
		if (i > 0 && (s->spill = spill_file()) == NULL) {
			log_warn("catch-up: no temporary file: %m");
			goto fail;
		}
		body = wire_watch_request(prefix, s->start);
		s->stream = body
		    ? etcd_watch(e, body, segment_line, segment_end, s)
		    : NULL;
		free(body);
		if (s->stream == NULL)
			goto fail;
	}
	log_info("catching up on revisions %lld..%lld with %d watches",
	    (long long)from, (long long)to, k);
	return c;
fail:
	catchup_free(c);
	return NULL;
}

void
catchup_free(struct catchup *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		etcd_stream_close(c->seg[i].stream);
		if (c->seg[i].spill)
			fclose(c->seg[i].spill);
	}
	free(c->seg);
	free(c);
}
