/*
 * sqlfault.c: an LD_PRELOAD shim that makes one SQLite statement of a
 * process fail, to see what a program answers when a read fails
 * (tests/integration/query_faults.t).  Every connection the process opens
 * gets a statement trace (sqlite3_auto_extension, from a constructor):
 *
 *   SQLFAULT_LOG=FILE  appends "N<TAB>SQL" for every statement run, N from 1
 *                      across all connections, and "fired N" when the
 *                      fault is injected
 *   SQLFAULT_AT=N      interrupts statement N (SQLITE_INTERRUPT, through a
 *                      progress handler called at every VM step)
 *   SQLFAULT_SLEEP=SECS:TEXT  sleeps SECS before the first statement whose
 *                      SQL contains TEXT runs (a process descheduled
 *                      between two reads), logging "sleep N"
 *
 * Built without sanitizers (a preloaded library must not need their
 * runtime); linked to libsqlite3, so it hooks the library the program uses.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long n_stmt, fault_at;
static int fire;
static FILE *log_file;
static const char *sleep_text;
static unsigned sleep_secs;

static int
on_trace(unsigned type, void *ctx, void *p, void *x)
{
	(void)type;
	(void)ctx;
	(void)p;
	if (++n_stmt == fault_at)
		fire = 1;
	if (log_file != NULL) {
		fprintf(log_file, "%ld\t%s\n", n_stmt, (const char *)x);
		fflush(log_file);
	}
	if (sleep_text != NULL && strstr((const char *)x, sleep_text)) {
		sleep_text = NULL;
		if (log_file != NULL) {
			fprintf(log_file, "sleep %ld\n", n_stmt);
			fflush(log_file);
		}
		sleep(sleep_secs);
	}
	return 0;
}

static int
on_progress(void *arg)
{
	(void)arg;
	if (!fire)
		return 0;
	fire = 0;
	if (log_file != NULL) {
		fprintf(log_file, "fired %ld\n", fault_at);
		fflush(log_file);
	}
	return 1;
}

static int
hook(sqlite3 *db, char **msg, const void *api)
{
	(void)msg;
	(void)api;
	sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_trace, NULL);
	if (fault_at > 0)
		sqlite3_progress_handler(db, 1, on_progress, NULL);
	return SQLITE_OK;
}

__attribute__((constructor)) static void
sqlfault_init(void)
{
	const char *at = getenv("SQLFAULT_AT"), *log = getenv("SQLFAULT_LOG");
	const char *sl = getenv("SQLFAULT_SLEEP");
	char *end;

	fault_at = at != NULL ? atol(at) : 0;
	if (sl != NULL) {
		sleep_secs = (unsigned)strtoul(sl, &end, 10);
		if (*end == ':')
			sleep_text = end + 1;
	}
	if (log != NULL)
		log_file = fopen(log, "a");
	sqlite3_auto_extension((void (*)(void))hook);
}
