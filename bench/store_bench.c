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
 *   store_bench lean DB N [DAYS]   the floor of any format that keeps each
 *                                  key's history: a change-log row and a
 *                                  (key, revision) index entry per event,
 *                                  keys interned, one time row per commit;
 *                                  no value sharing, no typed tables
 *   store_bench chain DB N [DAYS]  lean with no index at all: each event row
 *                                  points at its key's previous event and
 *                                  each key at its last (updated once per
 *                                  commit), so a key's history is a walk
 *                                  back from its last event
 *   store_bench dump N             the events as lines for bench/writer.py:
 *                                  "P <b64 key> <b64 value>", "D <b64 key>"
 *
 * Prints "events=N secs=S rate=R" (events per second) on stdout; lean and
 * chain add "bytes=B" (the file's size per event).
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

/* Bind an event's type, value, lease, create revision and version to
 * columns col..col+4 of ins, and run it. */
static void
insert_rest(
    sqlite3 *db, sqlite3_stmt *ins, int col, const struct store_event *e)
{
	sqlite3_bind_int(ins, col, e->type);
	if (e->type == 0)
		sqlite3_bind_blob(ins, col + 1, e->value ? e->value : "",
		    (int)e->vallen, SQLITE_STATIC);
	else
		sqlite3_bind_null(ins, col + 1);
	sqlite3_bind_int64(ins, col + 2, e->lease);
	sqlite3_bind_int64(ins, col + 3, e->create_rev);
	sqlite3_bind_int64(ins, col + 4, e->version);
	check(db, sqlite3_step(ins));
	sqlite3_reset(ins);
}

/*
 * The baselines: a db with the recorder's journal settings, the schema in
 * sql, then N events of the workload in transactions of BATCH events
 * (whole revisions), each event given to put(seq in its revision), each
 * transaction's last revision and its time to commit() (may be NULL)
 * before COMMIT.  Returns the seconds spent in put, commit and SQLite.
 */
struct sink {
	sqlite3 *db;
	sqlite3_stmt *st[5];
	void (*put)(struct sink *, const struct store_event *, int64_t seq);
	void (*commit)(struct sink *, int64_t rev, int64_t t_us);
};

static double
feed(struct sink *k, const char *path, const char *sql, long n, double days,
    long *done)
{
	int64_t span = (int64_t)(days * 86400e6);
	struct workload *w;
	long pending = 0;
	int64_t last_rev = 0, last_t = 0, seq = 0;
	double t = 0, a;
	size_t i, m;

	check(NULL, sqlite3_open(path, &k->db));
	check(k->db,
	    sqlite3_exec(k->db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
		NULL, NULL));
	check(k->db, sqlite3_exec(k->db, sql, NULL, NULL, NULL));
	w = workload_new(SEED, 2, hs_now_us() - span, span / (n + n / 10 + 1));
	a = now_s();
	check(k->db, sqlite3_exec(k->db, "BEGIN", NULL, NULL, NULL));
	t += now_s() - a;
	for (*done = 0; *done < n; *done += (long)m) {
		m = workload_chunk(w, ev, tus, CHUNK);
		a = now_s();
		for (i = 0; i < m; i++) {
			if (ev[i].mod_rev != last_rev) {
				if (pending >= BATCH) {
					if (k->commit != NULL)
						k->commit(k, last_rev, last_t);
					check(k->db,
					    sqlite3_exec(k->db, "COMMIT; BEGIN",
						NULL, NULL, NULL));
					pending = 0;
				}
				last_rev = ev[i].mod_rev;
				last_t = tus[i];
				seq = 0;
			}
			k->put(k, &ev[i], seq++);
			pending++;
		}
		t += now_s() - a;
	}
	a = now_s();
	if (k->commit != NULL)
		k->commit(k, last_rev, last_t);
	check(k->db, sqlite3_exec(k->db, "COMMIT", NULL, NULL, NULL));
	for (i = 0; i < sizeof(k->st) / sizeof(k->st[0]); i++)
		sqlite3_finalize(k->st[i]);
	sqlite3_close(k->db);
	t += now_s() - a;
	workload_free(w);
	return t;
}

static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	check(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	return st;
}

/* plain: one table, no index, the key as text. */
static void
plain_put(struct sink *k, const struct store_event *e, int64_t seq)
{
	if (k->st[0] == NULL)
		k->st[0] =
		    prepare(k->db, "INSERT INTO ev VALUES (?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(k->st[0], 1, e->mod_rev);
	sqlite3_bind_int64(k->st[0], 2, seq);
	sqlite3_bind_text(k->st[0], 3, e->key, (int)e->keylen, SQLITE_STATIC);
	insert_rest(k->db, k->st[0], 4, e);
}

static int
run_plain(const char *path, long n, double days)
{
	struct sink k = {.put = plain_put};
	long done;
	double t = feed(&k, path,
	    "CREATE TABLE IF NOT EXISTS ev(rev INTEGER, seq INTEGER, "
	    "key TEXT, type INTEGER, value BLOB, lease INTEGER, "
	    "create_rev INTEGER, version INTEGER)",
	    n, days, &done);

	printf("events=%ld secs=%.3f rate=%.0f\n", done, t, done / t);
	return 0;
}

/* lean: keys seen, by a 64-bit hash of the key; open addressing.  A
 * collision would give an event the wrong key id: harmless for timing. */
#define LEAN_KEYS (1u << 20)
static struct {
	uint64_t h;
	int64_t id;
	int64_t last; /* chain: the key's last event */
	int touched; /* chain: in chain_touched[] */
} lean_keys[LEAN_KEYS];
static size_t chain_touched[LEAN_KEYS], chain_ntouched;

static uint64_t
lean_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return h | 1;
}

static size_t
lean_slot(struct sink *k, const struct store_event *e)
{
	uint64_t h = lean_hash(e->key, e->keylen);
	size_t i = h & (LEAN_KEYS - 1);
	int64_t id;

	while (lean_keys[i].h != 0 && lean_keys[i].h != h)
		i = (i + 1) & (LEAN_KEYS - 1);
	if (lean_keys[i].h == h)
		return i;
	if (k->st[1] == NULL) {
		k->st[1] = prepare(k->db,
		    "INSERT INTO keys(key) VALUES (?) ON CONFLICT DO NOTHING");
		k->st[2] = prepare(k->db, "SELECT id FROM keys WHERE key = ?");
	}
	sqlite3_bind_blob(k->st[1], 1, e->key, (int)e->keylen, SQLITE_STATIC);
	check(k->db, sqlite3_step(k->st[1]));
	sqlite3_reset(k->st[1]);
	if (sqlite3_changes(k->db) > 0) {
		id = sqlite3_last_insert_rowid(k->db);
	} else {
		sqlite3_bind_blob(
		    k->st[2], 1, e->key, (int)e->keylen, SQLITE_STATIC);
		check(k->db, sqlite3_step(k->st[2]));
		id = sqlite3_column_int64(k->st[2], 0);
		sqlite3_reset(k->st[2]);
	}
	lean_keys[i].h = h;
	lean_keys[i].id = id;
	return i;
}

static int64_t
lean_key(struct sink *k, const struct store_event *e)
{
	return lean_keys[lean_slot(k, e)].id;
}

static void
lean_put(struct sink *k, const struct store_event *e, int64_t seq)
{
	int64_t key_id = lean_key(k, e);

	if (k->st[0] == NULL)
		k->st[0] =
		    prepare(k->db, "INSERT INTO events VALUES (?,?,?,?,?,?,?)");
	/* The event's id orders it: revision, then seq. */
	sqlite3_bind_int64(k->st[0], 1, e->mod_rev * 65536 + seq);
	sqlite3_bind_int64(k->st[0], 2, key_id);
	insert_rest(k->db, k->st[0], 3, e);
}

static void
lean_commit(struct sink *k, int64_t rev, int64_t t_us)
{
	if (k->st[3] == NULL)
		k->st[3] = prepare(k->db, "INSERT INTO times VALUES (?,?,?)");
	sqlite3_bind_int64(k->st[3], 1, rev);
	sqlite3_bind_int64(k->st[3], 2, t_us);
	sqlite3_bind_int64(k->st[3], 3, t_us);
	check(k->db, sqlite3_step(k->st[3]));
	sqlite3_reset(k->st[3]);
}

/* The settings of the recorder's cache (recorder/store.c) and the
 * schemas of the two floors. */
#define FLOOR_PRAGMAS "PRAGMA cache_size=-4096; PRAGMA wal_autocheckpoint=4000;"
#define FLOOR_TIMES                                                            \
	"CREATE TABLE times(rev INTEGER PRIMARY KEY,"                          \
	" t_lo INTEGER NOT NULL, t_hi INTEGER NOT NULL) STRICT"

static const char lean_sql[] =
    FLOOR_PRAGMAS "CREATE TABLE keys(id INTEGER PRIMARY KEY,"
		  " key BLOB NOT NULL UNIQUE) STRICT;"
		  "CREATE TABLE events(id INTEGER PRIMARY KEY,"
		  " key_id INTEGER NOT NULL, type INTEGER NOT NULL, value BLOB,"
		  " lease INTEGER NOT NULL, create_rev INTEGER NOT NULL,"
		  " version INTEGER NOT NULL) STRICT;"
		  "CREATE INDEX events_key ON events(key_id, id);" FLOOR_TIMES;

static const char chain_sql[] = FLOOR_PRAGMAS
    "CREATE TABLE keys(id INTEGER PRIMARY KEY,"
    " key BLOB NOT NULL UNIQUE, last INTEGER) STRICT;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY,"
    " key_id INTEGER NOT NULL, prev INTEGER, type INTEGER NOT NULL,"
    " value BLOB, lease INTEGER NOT NULL,"
    " create_rev INTEGER NOT NULL, version INTEGER NOT NULL) "
    "STRICT;" FLOOR_TIMES;

/* A floor's run: the line also reports the file's size per event. */
static int
run_floor(struct sink k, const char *sql, const char *path, long n, double days)
{
	long done, bytes = 0;
	double t = feed(&k, path, sql, n, days, &done);
	FILE *f;

	if ((f = fopen(path, "rb")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0)
			bytes = ftell(f);
		fclose(f);
	}
	printf("events=%ld secs=%.3f rate=%.0f bytes=%.0f\n", done, t, done / t,
	    done > 0 ? (double)bytes / (double)done : 0.0);
	return 0;
}

static void
chain_put(struct sink *k, const struct store_event *e, int64_t seq)
{
	size_t i = lean_slot(k, e);
	int64_t id = e->mod_rev * 65536 + seq;

	if (k->st[0] == NULL)
		k->st[0] = prepare(
		    k->db, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(k->st[0], 1, id);
	sqlite3_bind_int64(k->st[0], 2, lean_keys[i].id);
	if (lean_keys[i].last != 0)
		sqlite3_bind_int64(k->st[0], 3, lean_keys[i].last);
	else
		sqlite3_bind_null(k->st[0], 3);
	insert_rest(k->db, k->st[0], 4, e);
	lean_keys[i].last = id;
	if (!lean_keys[i].touched) {
		lean_keys[i].touched = 1;
		chain_touched[chain_ntouched++] = i;
	}
}

static void
chain_commit(struct sink *k, int64_t rev, int64_t t_us)
{
	size_t j, i;

	if (k->st[4] == NULL)
		k->st[4] =
		    prepare(k->db, "UPDATE keys SET last = ? WHERE id = ?");
	for (j = 0; j < chain_ntouched; j++) {
		i = chain_touched[j];
		sqlite3_bind_int64(k->st[4], 1, lean_keys[i].last);
		sqlite3_bind_int64(k->st[4], 2, lean_keys[i].id);
		check(k->db, sqlite3_step(k->st[4]));
		sqlite3_reset(k->st[4]);
		lean_keys[i].touched = 0;
	}
	chain_ntouched = 0;
	lean_commit(k, rev, t_us);
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
	if (argc >= 4 && strcmp(argv[1], "lean") == 0)
		return run_floor(
		    (struct sink){.put = lean_put, .commit = lean_commit},
		    lean_sql, argv[2], atol(argv[3]),
		    argc > 4 ? atof(argv[4]) : 7);
	if (argc >= 4 && strcmp(argv[1], "chain") == 0)
		return run_floor(
		    (struct sink){.put = chain_put, .commit = chain_commit},
		    chain_sql, argv[2], atol(argv[3]),
		    argc > 4 ? atof(argv[4]) : 7);
	if (argc == 3 && strcmp(argv[1], "dump") == 0)
		return run_dump(atol(argv[2]));
	fprintf(stderr,
	    "usage: store_bench store DB N [DAYS] | "
	    "plain DB N [DAYS] | lean DB N [DAYS] | chain DB N [DAYS] | "
	    "dump N\n");
	return 1;
}
