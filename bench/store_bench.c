/*
 * store_bench: the store path alone, no network.  Events of the benchmark
 * workload (workload.c) are generated in chunks into memory, then fed to
 * recorder/store.c the way the recorder feeds them: one transaction per
 * batch of --batch events (whole revisions), store_revision() per
 * revision, the watermark in the same commit.  Only the store calls are
 * timed.
 *
 *   store_bench store DB N [DAYS]  the hindsight store; N events spread
 *                                  over DAYS days (default 7) ending now
 *   store_bench plain DB N [DAYS]  baseline: the same events into one plain
 *                                  table, a prepared INSERT, same batches
 *   store_bench dump N             the events as lines for bench/writer.py:
 *                                  "P <b64 key> <b64 value>", "D <b64 key>"
 *
 * Prints "events=N secs=S rate=R" (events per second) on stdout.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "store.h"
#include "workload.h"

#define CHUNK 50000
#define BATCH 10000
#define SEED 0x5eedc111u

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct store_event ev[CHUNK];
static int64_t tus[CHUNK];

static int
run_store(const char *path, long n, double days)
{
	char err[256];
	struct store *s;
	struct workload *w;
	int64_t t_end = hs_now_us(), span = (int64_t)(days * 86400e6);
	int64_t t0 = t_end - span, last_rev = 0, last_t = t0;
	long done = 0, pending = 0;
	double t = 0, a;
	size_t i, m;
	int rc = 0;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_bench: %s\n", err);
		return 1;
	}
	/* Revisions run ~1.1 per event; spread them over the span. */
	w = workload_new(SEED, 2, t0, span / (n + n / 10 + 1));
	a = now_s();
	if (store_begin(s) != 0 ||
	    store_first_epoch(s, 0x1234, "cilium/", 1, t0) != 0 ||
	    store_revision(s, 1, "snapshot", t0, t0) != 0)
		rc = -1;
	t += now_s() - a;
	while (rc == 0 && done < n) {
		m = workload_chunk(w, ev, tus, CHUNK);
		a = now_s();
		for (i = 0; i < m && rc == 0; i++) {
			if (ev[i].mod_rev != last_rev) {
				/* Batches end at a revision boundary. */
				if (pending >= BATCH) {
					store_watermark(s, last_rev, last_t);
					if (store_commit(s) != 0 ||
					    store_begin(s) != 0)
						rc = -1;
					pending = 0;
				}
				last_rev = ev[i].mod_rev;
				last_t = tus[i];
				if (store_revision(
					s, last_rev, "watch", tus[i], tus[i]))
					rc = -1;
			}
			if (store_event(s, &ev[i]) != 0)
				rc = -1;
			pending++;
		}
		t += now_s() - a;
		done += (long)m;
	}
	a = now_s();
	store_watermark(s, last_rev, t_end);
	if (rc == 0 && store_commit(s) != 0)
		rc = -1;
	store_close(s);
	t += now_s() - a;
	workload_free(w);
	if (rc != 0) {
		fprintf(stderr, "store_bench: store failed\n");
		return 1;
	}
	printf("events=%ld secs=%.3f rate=%.0f last_rev=%lld\n", done, t,
	    done / t, (long long)last_rev);
	return 0;
}

static int
check(sqlite3 *db, int rc)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		fprintf(stderr, "store_bench: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	return rc;
}

static int
run_plain(const char *path, long n, double days)
{
	int64_t span = (int64_t)(days * 86400e6);
	sqlite3 *db;
	sqlite3_stmt *ins;
	struct workload *w;
	long done = 0, pending = 0;
	int64_t last_rev = 0, seq = 0;
	double t = 0, a;
	size_t i, m;

	check(NULL, sqlite3_open(path, &db));
	check(db,
	    sqlite3_exec(db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		"CREATE TABLE IF NOT EXISTS ev(rev INTEGER, seq INTEGER, "
		"type INTEGER, key TEXT, value BLOB, lease INTEGER, "
		"create_rev INTEGER, version INTEGER)",
		NULL, NULL, NULL));
	check(db,
	    sqlite3_prepare_v2(
		db, "INSERT INTO ev VALUES (?,?,?,?,?,?,?,?)", -1, &ins, NULL));
	w = workload_new(SEED, 2, hs_now_us() - span, span / (n + n / 10 + 1));
	a = now_s();
	check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
	t += now_s() - a;
	while (done < n) {
		m = workload_chunk(w, ev, tus, CHUNK);
		a = now_s();
		for (i = 0; i < m; i++) {
			if (ev[i].mod_rev != last_rev) {
				if (pending >= BATCH) {
					check(db,
					    sqlite3_exec(db, "COMMIT; BEGIN",
						NULL, NULL, NULL));
					pending = 0;
				}
				last_rev = ev[i].mod_rev;
				seq = 0;
			}
			sqlite3_bind_int64(ins, 1, ev[i].mod_rev);
			sqlite3_bind_int64(ins, 2, seq++);
			sqlite3_bind_int(ins, 3, ev[i].type);
			sqlite3_bind_text(ins, 4, ev[i].key, (int)ev[i].keylen,
			    SQLITE_STATIC);
			if (ev[i].type == 0)
				sqlite3_bind_blob(ins, 5,
				    ev[i].value ? ev[i].value : "",
				    (int)ev[i].vallen, SQLITE_STATIC);
			else
				sqlite3_bind_null(ins, 5);
			sqlite3_bind_int64(ins, 6, ev[i].lease);
			sqlite3_bind_int64(ins, 7, ev[i].create_rev);
			sqlite3_bind_int64(ins, 8, ev[i].version);
			check(db, sqlite3_step(ins));
			sqlite3_reset(ins);
			pending++;
		}
		t += now_s() - a;
		done += (long)m;
	}
	a = now_s();
	check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
	sqlite3_finalize(ins);
	sqlite3_close(db);
	t += now_s() - a;
	workload_free(w);
	printf("events=%ld secs=%.3f rate=%.0f\n", done, t, done / t);
	return 0;
}

static int
run_dump(long n)
{
	int64_t span = 7 * 86400000000ll;
	struct workload *w =
	    workload_new(SEED, 2, hs_now_us() - span, span / (n + n / 10 + 1));
	static char kb[8192], vb[65536];
	long done = 0;
	size_t i, m;

	while (done < n) {
		m = workload_chunk(w, ev, tus, CHUNK);
		for (i = 0; i < m && done < n; i++, done++) {
			hs_b64_encode(
			    (const unsigned char *)ev[i].key, ev[i].keylen, kb);
			if (ev[i].type == 0) {
				hs_b64_encode(
				    (const unsigned char *)(ev[i].value
					    ? ev[i].value
					    : ""),
				    ev[i].vallen, vb);
				printf("P %s %s\n", kb, vb);
			} else {
				printf("D %s\n", kb);
			}
		}
	}
	workload_free(w);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "store") == 0)
		return run_store(
		    argv[2], atol(argv[3]), argc > 4 ? atof(argv[4]) : 7);
	if (argc >= 4 && strcmp(argv[1], "plain") == 0)
		return run_plain(
		    argv[2], atol(argv[3]), argc > 4 ? atof(argv[4]) : 7);
	if (argc == 3 && strcmp(argv[1], "dump") == 0)
		return run_dump(atol(argv[2]));
	fprintf(stderr,
	    "usage: store_bench store DB N [DAYS] | "
	    "plain DB N | dump N\n");
	return 1;
}
