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
 * fail).
 */
#ifndef HS_FAULT_H
#define HS_FAULT_H

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int fault_hook_next, fault_counting, fault_recording, fault_fire;
static long fault_n_stmt, fault_at, fault_fired;
static char **fault_seen;
static long fault_n_seen, fault_cap_seen;

static int
fault_on_trace(unsigned type, void *ctx, void *p, void *x)
{
	(void)type;
	(void)ctx;
	(void)p;
	if (!fault_counting)
		return 0;
	if (++fault_n_stmt == fault_at)
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

static int
fault_on_progress(void *arg)
{
	(void)arg;
	if (!fault_fire)
		return 0;
	fault_fire = 0;
	fault_fired++;
	return 1; /* SQLITE_INTERRUPT for the statement running */
}

static int
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

static void
fault_install(void)
{
	sqlite3_auto_extension((void (*)(void))fault_hook);
}

/* Forget the statements recorded. */
static void
fault_forget(void)
{
	long i;

	for (i = 0; i < fault_n_seen; i++)
		free(fault_seen[i]);
	free(fault_seen);
	fault_seen = NULL;
	fault_n_seen = fault_cap_seen = 0;
}

#endif
