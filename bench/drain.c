/*
 * drain: the baseline for catch-up and live lag.  A plain HTTP client (the
 * reader of etcd-gateway.md appendix A) that opens the same watch as the
 * recorder (prefix, start revision, progress_notify, fragment),
 * parses every message with cJSON and throws the events away, until it
 * has seen an event at or above END (0: until killed).
 *
 *   drain URL PREFIX START END [TIMES]
 *
 * URL is etcd's client URL.  TIMES, if given, gets one line "rev us" per
 * revision: when its first event arrived (CLOCK_REALTIME), for the lag.
 * Prints "events=N bytes=B secs=S" on stdout.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *buf;
static size_t len, cap;
static long long events, bytes, want, last_rev;
static FILE *times;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
b64(const char *in, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	size_t n = strlen(in), i;
	const unsigned char *p = (const unsigned char *)in;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = a[p[i] >> 2];
		*out++ = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*out++ = a[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*out++ = a[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*out++ = a[p[i] >> 2];
		*out++ = a[(p[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		*out++ = a[p[i] >> 2];
		*out++ = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*out++ = a[(p[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

static void
line(const char *s, size_t n)
{
	cJSON *root, *res, *evs, *ev, *kv, *mr;
	long long rev, now = times ? wall_us() : 0;

	if ((root = cJSON_ParseWithLength(s, n)) == NULL) {
		fprintf(stderr, "drain: bad JSON\n");
		exit(2);
	}
	res = cJSON_GetObjectItemCaseSensitive(root, "result");
	evs = cJSON_GetObjectItemCaseSensitive(res, "events");
	cJSON_ArrayForEach(ev, evs)
	{
		kv = cJSON_GetObjectItemCaseSensitive(ev, "kv");
		mr = cJSON_GetObjectItemCaseSensitive(kv, "mod_revision");
		if (!cJSON_IsString(mr)) {
			fprintf(stderr, "drain: event without mod_revision\n");
			exit(2);
		}
		rev = atoll(mr->valuestring);
		if (times && rev != last_rev)
			fprintf(times, "%lld %lld\n", rev, now);
		last_rev = rev;
		events++;
	}
	cJSON_Delete(root);
}

static size_t
wcb(char *p, size_t sz, size_t nm, void *u)
{
	size_t n = sz * nm, start = 0, i, from = len;

	(void)u;
	bytes += (long long)n;
	if (len + n > cap) {
		cap = (len + n) * 2;
		if ((buf = realloc(buf, cap)) == NULL)
			exit(2);
	}
	memcpy(buf + len, p, n);
	len += n;
	for (i = from; i < len; i++) {
		if (buf[i] == '\n') {
			line(buf + start, i - start);
			start = i + 1;
		}
	}
	memmove(buf, buf + start, len - start);
	len -= start;
	if (want > 0 && last_rev >= want)
		return 0; /* done: abort the transfer */
	return n;
}

int
main(int argc, char **argv)
{
	char url[512], key[512], end[512], body[2048], pend[256];
	size_t pl;
	double t0, t1;
	CURL *c;

	if (argc < 5) {
		fprintf(stderr, "usage: drain URL PREFIX START END [TIMES]\n");
		return 1;
	}
	want = atoll(argv[4]);
	if (argc > 5) {
		if ((times = fopen(argv[5], "w")) == NULL) {
			perror(argv[5]);
			return 1;
		}
		setvbuf(times, NULL, _IOLBF, 0); /* it ends by a signal */
	}
	/* range_end: the prefix with its last byte incremented. */
	snprintf(pend, sizeof(pend), "%s", argv[2]);
	pl = strlen(pend);
	pend[pl - 1]++;
	b64(argv[2], key);
	b64(pend, end);
	snprintf(url, sizeof(url), "%s/v3/watch", argv[1]);
	snprintf(body, sizeof(body),
	    "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
	    "\"start_revision\":\"%s\","
	    "\"progress_notify\":true,\"fragment\":true}}",
	    key, end, argv[3]);
	curl_global_init(CURL_GLOBAL_ALL);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wcb);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512 * 1024L);
	t0 = mono();
	curl_easy_perform(c);
	t1 = mono();
	if (times)
		fclose(times);
	printf("events=%lld bytes=%lld secs=%.3f\n", events, bytes, t1 - t0);
	curl_easy_cleanup(c);
	return want > 0 && last_rev < want ? 1 : 0;
}
