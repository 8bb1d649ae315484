/*
 * fault.h: make one SQLite statement fail on demand, for tests of what the
 * recorder does when a read or a write fails half way.
 *
 * Connections opened while fault_hook_next is set get a statement trace
 * (counting every statement run while fault_counting is set) and a
 * progress handler called at every VM step: when the statement numbered
 * fault_at starts, the handler interrupts it (SQLITE_INTERRUPT), once.
 * Hooked through sqlite3_auto_extension(), so the code under test opens
 * its connections as it always does.  With fault_recording set, the text
 * of every statement counted is kept in fault_seen[] (to choose where to
 * fail).  With fault_also set, the first statement of that text run
 * after the fault fails too (say, the ROLLBACK of the failure's
 * handling).
 */
#ifndef HS_FAULT_H
#define HS_FAULT_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fault_hook_next, fault_counting, fault_recording, fault_fire;
static long fault_n_stmt, fault_at, fault_fired;
static const char *fault_also;
static char **fault_seen;
static long fault_n_seen, fault_cap_seen;

static inline int
fault_on_trace(unsigned type, void *ctx, void *p, void *x)
{
	(void)type;
	(void)ctx;
	(void)p;
	if (!fault_counting)
		return 0;
	if (++fault_n_stmt == fault_at)
		fault_fire = 1;
	else if (fault_also != NULL && fault_fired == 1 &&
	    strcmp((const char *)x, fault_also) == 0)
		fault_fire = 1;
	if (fault_recording) {
		if (fault_n_seen == fault_cap_seen) {
			fault_cap_seen =
			    fault_cap_seen ? fault_cap_seen * 2 : 1024;
			fault_seen = realloc(fault_seen,
			    (size_t)fault_cap_seen * sizeof(*fault_seen));
			if (fault_seen == NULL)
				abort();
		}
		if ((fault_seen[fault_n_seen++] = strdup((const char *)x)) ==
		    NULL)
			abort();
	}
	return 0;
}

static inline int
fault_on_progress(void *arg)
{
	(void)arg;
	if (!fault_fire)
		return 0;
	fault_fire = 0;
	fault_fired++;
	return 1; /* SQLITE_INTERRUPT for the statement running */
}

static inline int
fault_hook(sqlite3 *db, char **msg, const void *api)
{
	(void)msg;
	(void)api;
	if (fault_hook_next) {
		sqlite3_trace_v2(db, SQLITE_TRACE_STMT, fault_on_trace, NULL);
		sqlite3_progress_handler(db, 1, fault_on_progress, NULL);
	}
	return SQLITE_OK;
}

static inline void
fault_install(void)
{
	sqlite3_auto_extension((void (*)(void))fault_hook);
}

/* Forget the statements recorded. */
static inline void
fault_forget(void)
{
	long i;

	for (i = 0; i < fault_n_seen; i++)
		free(fault_seen[i]);
	free(fault_seen);
	fault_seen = NULL;
	fault_n_seen = fault_cap_seen = 0;
}

/*
 * A digest of every table's rows, in each table's storage order: equal
 * files, equal digests.  0 if it could not be read.
 */
static inline uint64_t
fault_digest(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *tabs, *st;
	char sql[256];
	uint64_t h = 14695981039346656037ULL;
	int i, n, ok_ = 1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"SELECT name FROM sqlite_schema WHERE type = 'table' "
		"AND name NOT LIKE 'sqlite_%' ORDER BY name",
		-1, &tabs, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return 0;
	}
	while (ok_ && sqlite3_step(tabs) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tabs, 0);

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			ok_ = 0;
			break;
		}
		while (sqlite3_step(st) == SQLITE_ROW) {
			n = sqlite3_column_count(st);
			for (i = 0; i < n; i++) {
				const unsigned char *b =
				    sqlite3_column_blob(st, i);
				int len = sqlite3_column_bytes(st, i), k;

				h = (h ^ (uint64_t)sqlite3_column_type(st, i) ^
					(uint64_t)len << 8) *
				    1099511628211ULL;
				for (k = 0; k < len; k++)
					h = (h ^ b[k]) * 1099511628211ULL;
			}
			h = (h ^ 0xff) * 1099511628211ULL;
		}
		sqlite3_finalize(st);
		h = (h ^ 0xfe) * 1099511628211ULL;
	}
	sqlite3_finalize(tabs);
	sqlite3_close(db);
	return ok_ ? h : 0;
}

/*
 * Rows of path that the reference does not have, and the reverse, over
 * every table; -1 if the comparison itself failed.
 */
static inline long
fault_differ(const char *path, const char *ref)
{
	sqlite3 *db;
	sqlite3_stmt *tabs, *st;
	char sql[1024];
	long diff = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS ref", ref);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"SELECT name FROM main.sqlite_schema WHERE type = 'table' "
		"AND name NOT LIKE 'sqlite_%' ORDER BY name",
		-1, &tabs, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tabs, 0);
		long n = -1;

		snprintf(sql, sizeof(sql),
		    "SELECT (SELECT count(*) FROM (SELECT * FROM main.\"%s\" "
		    "EXCEPT SELECT * FROM ref.\"%s\")) + (SELECT count(*) "
		    "FROM (SELECT * FROM ref.\"%s\" EXCEPT SELECT * FROM "
		    "main.\"%s\")) + abs((SELECT count(*) FROM "
		    "main.\"%s\") - (SELECT count(*) FROM ref.\"%s\"))",
		    name, name, name, name, name, name);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (n != 0)
			printf("#   %s: %ld rows differ\n", name, n);
		if (n < 0) {
			diff = -1;
			break;
		}
		diff += n;
	}
	sqlite3_finalize(tabs);
	sqlite3_close(db);
	return diff;
}

static inline int
fault_seen_before(long i, int times)
{
	long j;
	int n = 0;

	for (j = 0; j < i; j++)
		if (strcmp(fault_seen[j], fault_seen[i]) == 0 && ++n >= times)
			return 1;
	return 0;
}

/*
 * Whether statement i (from 0) of the first n recorded is worth failing:
 * the first two runs of each statement text and its last (the inserts of
 * a loop run thousands of times alike).
 */
static inline int
fault_point(long i, long n)
{
	long j;

	if (!fault_seen_before(i, 2) || i + 1 == n)
		return 1;
	for (j = i + 1; j < n; j++)
		if (strcmp(fault_seen[j], fault_seen[i]) == 0)
			return 0;
	return 1;
}

/* The first column of sql's first row in the db at path; -1 if none. */
static inline int64_t
fault_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/*
 * stderr into DIR/stderr, where the code under test logs (0, or -1 said
 * on stdout); then fault_said(mark) tells whether an error line was
 * logged since mark = fault_stderr_mark() (the recorder's "error:" and
 * "warn:" lines, the CLI's "hindsight: ...").  fault_stderr_remove()
 * unlinks the file.
 */
static char fault_err_path[512];

/*
 * The stdio stream only (glibc's stderr is a variable): file descriptor 2
 * stays where it was, so a sanitizer's report, written there, is seen.
 */
static inline int
fault_stderr_to(const char *dir)
{
	FILE *f;

	snprintf(fault_err_path, sizeof(fault_err_path), "%s/stderr", dir);
	if ((f = fopen(fault_err_path, "w")) != NULL) {
		stderr = f;
		return 0;
	}
	printf("# %s: cannot write\n", fault_err_path);
	return -1;
}

static inline void
fault_stderr_remove(void)
{
	unlink(fault_err_path);
}

static inline long
fault_stderr_mark(void)
{
	fflush(stderr);
	return ftell(stderr);
}

static inline int
fault_said(long mark)
{
	char line[1024];
	FILE *f;
	int said = 0;

	fflush(stderr);
	if ((f = fopen(fault_err_path, "r")) == NULL)
		return 0;
	if (fseek(f, mark, SEEK_SET) == 0)
		while (!said && fgets(line, sizeof(line), f) != NULL)
			said = strstr(line, " error: ") != NULL ||
			    strstr(line, " warn: ") != NULL ||
			    strncmp(line, "hindsight: ", 11) == 0;
	fclose(f);
	return said;
}

/* A scratch directory under $TMPDIR into dir; 0, or -1 (said on stderr). */
static inline int
fault_tmpdir(char *dir, size_t size, const char *tag)
{
	snprintf(dir, size, "%s/hs-%s-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag);
	if (mkdtemp(dir) != NULL)
		return 0;
	perror(dir);
	return -1;
}

/*
 * Remove the db at path and the files SQLite keeps beside it, so that a
 * test can start over from nothing (after a fault, say).
 */
static inline void
fault_db_remove(const char *path)
{
	static const char *const ends[] = {"", "-wal", "-shm", "-journal"};
	char p[320];
	size_t j;

	for (j = 0; j < sizeof(ends) / sizeof(ends[0]); j++) {
		snprintf(p, sizeof(p), "%s%s", path, ends[j]);
		unlink(p);
	}
}

#endif
