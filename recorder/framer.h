/*
 * framer.h: split etcd's watch stream into messages.  The gateway writes
 * one JSON object per line, but chunk boundaries are arbitrary and a
 * terminal error object comes without a trailing newline, so bytes are
 * buffered until '\n' and whatever is left at end of stream is delivered
 * by framer_finish().  Only new bytes are scanned, so a 30 MB line costs
 * O(n), not O(n^2).  The buffer is as big as the longest line buffered;
 * once such a line is delivered, it shrinks back (to 64 KiB as a rule).
 */
#ifndef HS_FRAMER_H
#define HS_FRAMER_H

#include <stddef.h>

struct framer;

/*
 * Called once per complete line, without the '\n', NUL-terminated at
 * line[len].  The line is valid until the callback returns.  Return 0 to
 * go on, -1 to stop: framer_feed() then returns -1 too.
 */
typedef int framer_line_cb(void *arg, char *line, size_t len);

/* maxline: a longer line is an error (the stream is garbage). */
struct framer *framer_new(size_t maxline);

/*
 * Append n bytes and deliver every completed line.  Returns 0, or -1 when
 * a callback stopped, a line exceeded maxline, or memory ran out.
 */
int framer_feed(struct framer *f, const char *data, size_t n,
    framer_line_cb *cb, void *arg);

/*
 * End of stream: deliver the unterminated tail, if it holds anything but
 * white space.  Returns what the callback returned, or 0.  Resets.
 */
int framer_finish(struct framer *f, framer_line_cb *cb, void *arg);

/* Drop buffered bytes (after a disconnect). */
void framer_reset(struct framer *f);

/* Bytes buffered but not yet delivered, and the buffer's size. */
size_t framer_pending(const struct framer *f);
size_t framer_capacity(const struct framer *f);

void framer_free(struct framer *f);

#endif
