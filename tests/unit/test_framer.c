/*
 * test_framer.c: the watch stream framer under every chunking: whole,
 * 1-byte, random sizes; the unterminated terminal error object; garbage.
 */
#include <stdlib.h>
#include <string.h>

#include "framer.h"
#include "tap.h"

struct got {
	char out[1 << 16];
	size_t len;
	int lines;
	int stop_after;
};

static int
collect(void *arg, char *line, size_t len)
{
	struct got *g = arg;

	if (line[len] != '\0')
		return -1; /* the contract: NUL-terminated */
	memcpy(g->out + g->len, line, len);
	g->len += len;
	g->out[g->len++] = '|';
	g->lines++;
	if (g->stop_after && g->lines >= g->stop_after)
		return -1;
	return 0;
}

/* Like collect, for lines too long to copy: counts lines and bytes. */
static int
collect_len(void *arg, char *line, size_t len)
{
	struct got *g = arg;

	if (line[len] != '\0')
		return -1;
	g->len += len;
	g->lines++;
	return 0;
}

/* Feed s in chunks of the given sizes (cycled); returns lines seen. */
static void
feed(const char *s, const size_t *sizes, size_t nsizes, struct got *g,
    int finish)
{
	struct framer *f = framer_new(1 << 20);
	size_t off = 0, n = strlen(s), i = 0, k;

	memset(g, 0, sizeof(*g));
	while (off < n) {
		k = sizes[i++ % nsizes];
		if (k > n - off)
			k = n - off;
		framer_feed(f, s + off, k, collect, g);
		off += k;
	}
	if (finish)
		framer_finish(f, collect, g);
	g->out[g->len] = '\0';
	framer_free(f);
}

int
main(void)
{
	const char *stream =
	    "{\"result\":{\"created\":true}}\n"
	    "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}\n"
	    "\n"
	    "{\"error\":{\"grpc_code\":14,\"message\":\"transport is "
	    "closing\"}}";
	const char *want =
	    "{\"result\":{\"created\":true}}|"
	    "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}|"
	    "{\"error\":{\"grpc_code\":14,\"message\":\"transport is "
	    "closing\"}}|";
	size_t whole[] = {1u << 20}, one[] = {1}, odd[] = {3, 1, 7, 2, 50, 5};
	size_t rnd[64];
	struct got g;
	struct framer *f;
	char big[5000];
	int i, allok = 1;

	feed(stream, whole, 1, &g, 1);
	is_str(g.out, want, "whole stream in one chunk");
	is_int(g.lines, 3, "three messages, the empty line skipped");
	feed(stream, one, 1, &g, 1);
	is_str(g.out, want, "1-byte chunks");
	feed(stream, odd, 6, &g, 1);
	is_str(g.out, want, "odd chunk sizes");
	srand(42);
	for (i = 0; i < 200; i++) {
		size_t k;

		for (k = 0; k < 64; k++)
			rnd[k] = 1 + (size_t)rand() % 40;
		feed(stream, rnd, 64, &g, 1);
		if (strcmp(g.out, want) != 0)
			allok = 0;
	}
	ok(allok, "200 random chunkings give the same messages");
	feed(stream, odd, 6, &g, 0);
	is_int(
	    g.lines, 2, "without finish, the unterminated error is held back");

	/* finish() with only white space left delivers nothing. */
	f = framer_new(1024);
	memset(&g, 0, sizeof(g));
	framer_feed(f, "a\n \r\n", 5, collect, &g);
	framer_finish(f, collect, &g);
	is_int(g.lines, 1, "trailing white space is not a message");
	is_int((long long)framer_pending(f), 0, "finish resets the buffer");

	/* A line over maxline is an error, not unbounded memory. */
	memset(big, 'x', sizeof(big));
	ok(framer_feed(f, big, sizeof(big), collect, &g) == -1,
	    "a line longer than maxline is refused");
	framer_reset(f);

	/* A callback that says stop stops the feed. */
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	ok(framer_feed(f, "a\nb\nc\n", 6, collect, &g) == -1 && g.lines == 1,
	    "a callback returning -1 stops delivery");
	framer_free(f);
	framer_free(NULL);
	ok(1, "framer_free(NULL) is a no-op");

	/*
	 * A 3 MiB line (a catch-up fragment) in 16 KiB chunks, then small
	 * ones: the buffer grows for it and shrinks back once it is out.
	 */
	{
		size_t n = 3u << 20, off, k, most = 0;
		char *line = malloc(n + 1);
		struct got *gg = calloc(1, sizeof(*gg));

		f = framer_new(64u << 20);
		memset(line, 'x', n);
		line[n] = '\n';
		for (off = 0; off < n + 1; off += k) {
			k = n + 1 - off < 16384 ? n + 1 - off : 16384;
			gg->len = 0;
			framer_feed(f, line + off, k, collect_len, gg);
			if (framer_capacity(f) > most)
				most = framer_capacity(f);
		}
		is_int(gg->lines, 1, "the long line is delivered");
		is_int((long long)gg->len, (long long)n, "whole");
		ok(most >= n, "the buffer grew to hold it");
		ok(framer_capacity(f) <= 64 * 1024,
		    "and is back to 64 KiB once it is delivered");
		framer_feed(f, "{\"a\":1}\n{\"b\"", 12, collect_len, gg);
		ok(framer_capacity(f) <= 64 * 1024 && framer_pending(f) == 4,
		    "small lines keep it small");
		framer_feed(f, line, 1u << 20, collect_len, gg);
		framer_reset(f);
		ok(framer_capacity(f) <= 64 * 1024,
		    "a reset after a cut long line gives the memory back too");
		framer_free(f);
		free(line);
		free(gg);
	}
	return done_testing();
}
