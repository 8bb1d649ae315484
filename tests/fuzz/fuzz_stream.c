/*
 * fuzz_stream.c: libFuzzer target for the watch stream path: arbitrary
 * bytes, split into chunks whose sizes the input chooses, through the
 * framer, every line through wire_parse_watch() and its events through
 * wire_watch_next().  Also fuzzes the range and error parsers with the
 * whole input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "framer.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
line_cb(void *arg, char *line, size_t len)
{
	struct wire_watch m;
	struct wire_event ev;
	char err[256];

	(void)arg;
	if (wire_parse_watch(line, len, &m, err, sizeof(err)) != 0)
		return 0;
	while (wire_watch_next(&m, &ev, err, sizeof(err)) == 1)
		wire_event_release(&ev);
	wire_watch_release(&m);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer *f;
	struct wire_range rg;
	char err[256], msg[256];
	size_t off = 1, k;
	int code;

	if (size == 0)
		return 0;
	if ((f = framer_new(1 << 20)) == NULL)
		return 0;
	/* The first byte picks the chunk size: 1..256. */
	k = (size_t)data[0] + 1;
	while (off < size) {
		size_t n = size - off < k ? size - off : k;

		if (framer_feed(f, (const char *)data + off, n, line_cb, NULL) != 0)
			framer_reset(f);
		off += n;
	}
	framer_finish(f, line_cb, NULL);
	framer_free(f);
	if (wire_parse_range((const char *)data, size, &rg, err, sizeof(err)) == 0)
		wire_range_release(&rg);
	wire_parse_error(400, (const char *)data, size, &code, msg, sizeof(msg));
	return 0;
}
