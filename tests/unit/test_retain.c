/*
 * test_retain.c: --retain (recorder/retain.c) when SQLite fails in the
 * middle of a pruning round.
 *
 * A db of the benchmark's workload (bench/workload.c: ipcache, identities,
 * nodes, services, heartbeats): two hours of history, two quiet hours,
 * then an hour, so that "now - 3h" falls in the quiet stretch and every
 * round prunes through the same revision.  A copy is pruned without a
 * fault: the reference.  Then, from fresh copies, one statement of the
 * pruning connection fails (SQLITE_INTERRUPT, through SQLite's progress
 * handler), at each point of a round in turn; the rounds that follow must
 * leave exactly the file the reference left.  A failed read taken for
 * "nothing there" shows up here as rows pruned that should have stayed,
 * or as rows left behind.
 */
#include <ev.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "retain.h"
#include "store.h"
#include "fault.h"
#include "feed.h"
#include "tap.h"
#include "workload.h"

#define HOUR 3600000000LL
#define EVENTS 30000 /* more revisions than one pruning step (20000) */

static char dir[256];

/* The workload into path; then the second part moved two hours later. */
static int
build(const char *path, int64_t now)
{
	char err[256], *msg = NULL;
	struct store *s;
	struct workload *w;
	int64_t t0 = now - 5 * HOUR, last = 0, mid;
	sqlite3 *db;
	int rc = 0;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	/* ~1.1 revisions an event over 3 hours. */
	w = workload_new(7, 2, t0, 3 * HOUR / (EVENTS + EVENTS / 10));
	if (store_begin(s) != 0 ||
	    store_first_epoch(s, 0x1234, "cilium/", 1, t0) != 0 ||
	    store_revision(s, 1, "snapshot", t0, t0) != 0)
		rc = -1;
	if (rc == 0)
		rc = feed(s, w, EVENTS, 2000, 0, &last);
	store_watermark(s, last, now - HOUR);
	if (rc == 0 && store_commit(s) != 0)
		rc = -1;
	store_close(s);
	workload_free(w);
	if (rc != 0)
		return -1;
	/*
	 * Revisions after now - 3h move to now - 1h and later.  Every 97th
	 * event's value is one that did not decode (the workload writes
	 * none), counted as the store counts one: some pruned, some kept.
	 */
	mid = t0 + 2 * HOUR;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	{
		char sql[1024];

		snprintf(sql, sizeof(sql),
		    "UPDATE revisions SET t_lo_us = t_lo_us + %lld, "
		    "t_hi_us = t_hi_us + %lld WHERE t_hi_us > %lld;"
		    "INSERT INTO decode_errors SELECT e.rev, e.seq, e.key_id, "
		    "k.kind, 'test' FROM events e JOIN keys k ON k.id = "
		    "e.key_id WHERE e.type = 0 AND e.rev %% 97 = 0;"
		    "UPDATE row_counts SET n = (SELECT count(*) FROM "
		    "decode_errors) WHERE name = 'decode_errors';"
		    "INSERT OR REPLACE INTO meta(name, value) SELECT "
		    "'decode_errors', count(*) FROM decode_errors",
		    2 * HOUR, 2 * HOUR, (long long)mid);
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK)
		printf("# %s\n", msg);
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
copy(const char *from, const char *to)
{
	char buf[1 << 16];
	FILE *a, *b;
	size_t n;
	int rc = 0;

	snprintf(buf, sizeof(buf), "%s-wal", to);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", to);
	unlink(buf);

	if ((a = fopen(from, "rb")) == NULL)
		return -1;
	if ((b = fopen(to, "wb")) == NULL) {
		fclose(a);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
		if (fwrite(buf, 1, n, b) != n)
			rc = -1;
	fclose(a);
	if (fclose(b) != 0)
		rc = -1;
	return rc;
}

/* Rounds run until one has finished through want (any, if 0). */
static const char *check_path;
static int64_t check_want;
static int finished;
/*
 * With fault_also: whether another connection could take the write lock
 * right after the second fault (1), could not (-1), or was not tried (0).
 */
static int lock_probe;

/* Whether a writer (the recorder) can begin a transaction on path now. */
static int
lock_free(const char *path)
{
	sqlite3 *db;
	int ok_ = 0;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
		ok_ =
		    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok_;
}

static void
check_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	int64_t through, open;

	(void)w;
	(void)revents;
	through = fault_int(check_path,
	    "SELECT value FROM meta WHERE name = 'pruned_through_rev'");
	open = fault_int(check_path,
	    "SELECT value FROM meta WHERE name = "
	    "'prune_open'");
	if (through > 0 && open <= 0 &&
	    (check_want == 0 || through == check_want)) {
		finished = 1;
		ev_break(loop, EVBREAK_ALL);
	}
}

/*
 * Before the loop waits again, right after the callback in which both
 * faults fired (before the next round's timer, unless it expired in the
 * same instant).
 */
static void
probe_cb(struct ev_loop *loop, struct ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (fault_also != NULL && fault_fired == 2 && lock_probe == 0)
		lock_probe = lock_free(check_path) ? 1 : -1;
}

static void
deadline_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int64_t keep_hours = 3; /* prune()'s --retain */

static int
prune(const char *path, int64_t want, double every)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ev_timer check, deadline;
	struct ev_prepare probe;
	struct retain *t;
	char err[256];

	fault_hook_next = 1;
	t = retain_start(
	    loop, path, keep_hours * HOUR, every, err, sizeof(err));
	fault_hook_next = 0;
	if (t == NULL) {
		printf("# %s\n", err);
		ev_loop_destroy(loop);
		return -1;
	}
	fault_n_stmt = 0;
	fault_counting = 1;
	check_path = path;
	check_want = want;
	finished = 0;
	ev_timer_init(&check, check_cb, 0.01, 0.01);
	ev_timer_start(loop, &check);
	ev_prepare_init(&probe, probe_cb);
	ev_prepare_start(loop, &probe);
	ev_timer_init(&deadline, deadline_cb, 30., 0.);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	fault_counting = 0;
	retain_stop(t);
	ev_loop_destroy(loop);
	return finished ? 0 : -1;
}

/* Stop the first round of path once a step of it has committed. */
static void
open_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (fault_int(check_path,
		"SELECT value FROM meta WHERE name = 'prune_open'") == 1) {
		finished = 1;
		ev_break(loop, EVBREAK_ALL);
	}
}

static int
stop_mid_round(const char *path)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ev_timer check, deadline;
	struct retain *t;
	char err[256];

	if ((t = retain_start(loop, path, 3 * HOUR, 0.005, err, sizeof(err))) ==
	    NULL) {
		printf("# %s\n", err);
		ev_loop_destroy(loop);
		return -1;
	}
	check_path = path;
	finished = 0;
	ev_timer_init(&check, open_cb, 0.001, 0.001);
	ev_timer_start(loop, &check);
	ev_timer_init(&deadline, deadline_cb, 30., 0.);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	retain_stop(t);
	ev_loop_destroy(loop);
	return finished ? 0 : -1;
}

/* The files, then the directory. */
static void
cleanup(void)
{
	static const char *const names[] = {"orig.db", "ref.db", "work.db"};
	static const char *const ends[] = {"", "-wal", "-shm", "-journal"};
	char p[320];
	size_t i, j;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(ends) / sizeof(ends[0]); j++) {
			snprintf(
			    p, sizeof(p), "%s/%s%s", dir, names[i], ends[j]);
			unlink(p);
		}
	rmdir(dir);
}

int
main(void)
{
	char orig[300], ref[300], work[300], sql[128];
	long mark;
	int64_t now = hs_now_us(), cut, rows_before, rows_after;
	long i, bad = 0, points = 0, total, last;
	uint64_t want;

	log_setup(LOG_WARN, 0); /* into a file: every fault must be said */
	if (fault_tmpdir(dir, sizeof(dir), "retain") != 0)
		return 1;
	snprintf(orig, sizeof(orig), "%s/orig.db", dir);
	snprintf(ref, sizeof(ref), "%s/ref.db", dir);
	snprintf(work, sizeof(work), "%s/work.db", dir);
	fault_install();
	if (fault_stderr_to(dir) != 0) {
		cleanup();
		return 1;
	}

	if (build(orig, now) != 0) {
		ok(0, "build the workload's db");
		cleanup();
		return done_testing();
	}
	cut = fault_int(orig,
	    "SELECT max(rev) FROM revisions WHERE t_hi_us <= "
	    "(SELECT max(t_hi_us) FROM revisions) - 2 * 3600000000");
	ok(cut > 20000,
	    "history to prune: through revision %lld (more than "
	    "one step)",
	    (long long)cut);

	/* The reference: no fault; its statements are the fault points. */
	fault_at = 0;
	fault_recording = 1;
	ok(copy(orig, ref) == 0 && prune(ref, 0, 0.005) == 0,
	    "a round without fault finishes");
	fault_recording = 0;
	total = fault_n_seen;
	is_int(fault_int(ref,
		   "SELECT value FROM meta WHERE name = "
		   "'pruned_through_rev'"),
	    cut, "it prunes through the last revision before the quiet hours");
	rows_before = fault_int(orig, "SELECT count(*) FROM ipcache");
	rows_after = fault_int(ref, "SELECT count(*) FROM ipcache");
	ok(rows_after > 0 && rows_after < rows_before,
	    "closed ipcache rows went, open ones stayed (%lld of %lld)",
	    (long long)rows_after, (long long)rows_before);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM events WHERE rev <= %lld", (long long)cut);
	ok(fault_int(ref, sql) < fault_int(orig, sql),
	    "events before the horizon went (%lld of %lld)",
	    (long long)fault_int(ref, sql), (long long)fault_int(orig, sql));
	/*
	 * The churn counts: minute rows before the horizon's minute go, the
	 * hour rows and the later minutes stay.
	 */
	for (i = 0; i < 3; i++) {
		static const char *const tab[] = {
		    "churn", "churn_pods", "churn_spans"};
		char q[300];
		int64_t m = fault_int(orig,
				"SELECT t_hi_us FROM revisions WHERE rev = "
				"(SELECT max(rev) FROM revisions WHERE t_hi_us "
				"<= (SELECT max(t_hi_us) FROM revisions) - "
				"2 * 3600000000)") /
		    60000000;

		snprintf(q, sizeof(q),
		    "SELECT count(*) FROM %s WHERE secs = 60 AND bucket < %lld",
		    tab[i], (long long)m);
		ok(fault_int(orig, q) > 0 && fault_int(ref, q) == 0,
		    "%s: the minute rows before the horizon went (%lld)",
		    tab[i], (long long)fault_int(orig, q));
		snprintf(q, sizeof(q),
		    "SELECT count(*) FROM %s WHERE secs = 3600 OR bucket >= "
		    "%lld",
		    tab[i], (long long)m);
		ok(fault_int(orig, q) > 0 &&
			fault_int(ref, q) == fault_int(orig, q),
		    "%s: its hours and the later minutes stayed (%lld)", tab[i],
		    (long long)fault_int(ref, q));
	}
	/*
	 * Decode errors of pruned events go with them; status shows
	 * row_counts, and meta decode_errors says the same.
	 */
	ok(fault_int(ref, "SELECT count(*) FROM decode_errors") > 0 &&
		fault_int(ref, "SELECT count(*) FROM decode_errors") <
		    fault_int(orig, "SELECT count(*) FROM decode_errors"),
	    "some decode errors went with their events (%lld of %lld left)",
	    (long long)fault_int(ref, "SELECT count(*) FROM decode_errors"),
	    (long long)fault_int(orig, "SELECT count(*) FROM decode_errors"));
	is_int(fault_int(ref,
		   "SELECT n FROM row_counts WHERE name = 'decode_errors'"),
	    fault_int(ref, "SELECT count(*) FROM decode_errors"),
	    "row_counts counts the decode errors left");
	is_int(fault_int(
		   ref, "SELECT value FROM meta WHERE name = 'decode_errors'"),
	    fault_int(ref, "SELECT count(*) FROM decode_errors"),
	    "…and so does meta decode_errors");
	ok(fault_differ(ref, orig) > 0 &&
		fault_digest(ref) != fault_digest(orig),
	    "the comparison sees what pruning removed");
	want = fault_digest(ref);
	ok(want != 0 && fault_digest(ref) == want, "the reference's digest");

	/*
	 * A round cut short by a stop: its committed steps pruned up to its
	 * cut, past pruned_through_rev (none yet), and the file says so.
	 */
	snprintf(sql, sizeof(sql),
	    "SELECT t_hi_us FROM revisions WHERE rev = %lld", (long long)cut);
	ok(copy(orig, work) == 0 && stop_mid_round(work) == 0 &&
		fault_int(work,
		    "SELECT value FROM meta WHERE name = 'prune_cut'") == cut &&
		fault_int(work,
		    "SELECT value FROM meta WHERE name = 'prune_cut_us'") ==
		    fault_int(orig, sql) &&
		fault_int(work,
		    "SELECT count(*) FROM meta WHERE name = "
		    "'pruned_through_rev'") == 0,
	    "a round stopped after a step: prune_open, prune_cut (%lld) and "
	    "its time in meta",
	    (long long)cut);

	/*
	 * Restarted with a longer --retain (4h: its own cut falls inside the
	 * history the stopped round had half pruned).  The rows gone stay
	 * gone: the horizon the file names must not fall back before them,
	 * so the round in progress is finished at its own cut first.
	 */
	keep_hours = 4;
	ok(prune(work, 0, 0.005) == 0 &&
		fault_int(work,
		    "SELECT value FROM meta WHERE name = "
		    "'pruned_through_rev'") >= cut &&
		fault_digest(work) == want,
	    "restarted with a longer --retain: the round cut short is "
	    "finished at its cut (%lld), not named as pruned through less",
	    (long long)cut);
	keep_hours = 3;

	/*
	 * Each statement text's first two runs and its last (the inserts of
	 * a step run thousands of times alike), up to the round's last
	 * COMMIT (after it, rounds find nothing to do).
	 */
	for (last = total; last > 0; last--)
		if (strcmp(fault_seen[last - 1], "COMMIT") == 0)
			break;
	for (i = 0; i < last; i++) {
		if (!fault_point(i, last))
			continue;
		points++;
		fault_at = i + 1;
		fault_fired = 0;
		mark = fault_stderr_mark();
		if (copy(orig, work) != 0 || prune(work, cut, 0.005) != 0) {
			printf("#   fault at statement %ld (%s): the rounds "
			       "after it did not finish through %lld\n",
			    i + 1, fault_seen[i], (long long)cut);
			bad++;
			continue;
		}
		if (fault_fired != 1) {
			printf("#   statement %ld (%s): no fault fired\n",
			    i + 1, fault_seen[i]);
			bad++;
		} else if (!fault_said(mark)) {
			printf(
			    "#   statement %ld (%s) failed: nothing logged\n",
			    i + 1, fault_seen[i]);
			bad++;
		} else if (fault_digest(work) != want &&
		    fault_differ(work, ref) != 0) {
			printf("#   fault at statement %ld: %s\n", i + 1,
			    fault_seen[i]);
			bad++;
		}
	}
	ok(points > 30, "%ld fault points of the round's %ld statements",
	    points, last);
	is_int(bad, 0,
	    "a statement failing at any point of a round is logged, and the "
	    "file ends as without the fault");

	/*
	 * A statement of a step fails, then the ROLLBACK of its handling too:
	 * the transaction must not stay open until the next round (every
	 * 50 ms here, 300 s by default) holding the write lock, or the
	 * recorder, finding the db busy, stops.  Each statement text that
	 * runs inside a step's transaction, at its first run.
	 */
	{
		long in_txn = 0, both = 0, held = 0, j;
		char *txn = calloc((size_t)last + 1, 1); /* ran inside one */
		int first;

		bad = points = 0;
		fault_also = "ROLLBACK";
		for (i = 0; txn != NULL && i < last; i++) {
			if (strcmp(fault_seen[i], "BEGIN IMMEDIATE") == 0)
				in_txn = 1;
			else if (strcmp(fault_seen[i], "COMMIT") == 0)
				in_txn = 0;
			txn[i] = (char)in_txn;
			/* The text's first run inside a transaction. */
			for (first = in_txn != 0, j = 0; first && j < i; j++)
				if (txn[j] &&
				    strcmp(fault_seen[j], fault_seen[i]) == 0)
					first = 0;
			if (first &&
			    strcmp(fault_seen[i], "BEGIN IMMEDIATE") != 0) {
				points++;
				fault_at = i + 1;
				fault_fired = 0;
				lock_probe = 0;
				mark = fault_stderr_mark();
				if (copy(orig, work) != 0 ||
				    prune(work, cut, 0.05) != 0) {
					printf("#   statement %ld (%s) and its "
					       "ROLLBACK failed: the rounds "
					       "after did not finish\n",
					    i + 1, fault_seen[i]);
					bad++;
					continue;
				}
				if (fault_fired == 2)
					both++;
				if (lock_probe < 0) {
					printf("#   statement %ld (%s) and its "
					       "ROLLBACK failed: the write "
					       "lock stayed held\n",
					    i + 1, fault_seen[i]);
					held++;
				}
				if (!fault_said(mark) ||
				    (fault_digest(work) != want &&
					fault_differ(work, ref) != 0)) {
					printf("#   statement %ld (%s) and its "
					       "ROLLBACK failed: not logged, "
					       "or another file\n",
					    i + 1, fault_seen[i]);
					bad++;
				}
			}
		}
		fault_also = NULL;
		free(txn);
		ok(both > 0,
		    "%ld of %ld statements of a step failed with the "
		    "transaction still open, and then its ROLLBACK",
		    both, points);
		is_int(held, 0,
		    "after a failed ROLLBACK the write lock is free at once");
		is_int(bad, 0,
		    "…logged, and the rounds after it end with the file as "
		    "without the faults");
	}

	fault_forget();
	fault_stderr_remove();
	cleanup();
	return done_testing();
}
