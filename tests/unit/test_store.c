/*
 * test_store.c: the store's write path (recorder/store.c) when SQLite
 * fails in the middle of a batch.
 *
 * The benchmark's workload (bench/workload.c) is written through the
 * store in batches, as the recorder writes a watch: store_revision() per
 * revision, store_event() per event, a commit every BATCH events with the
 * watermark; then the cluster replaced (a new epoch: its keys listed, the
 * old ones inferred deleted, a gap) and a few events of the new one.
 * Then again from scratch with one statement failing
 * (SQLITE_INTERRUPT through fault.h), at each point worth failing in turn.
 * After a failure the writer does what the recorder does: roll back, and
 * go on from the committed watermark, with the same store while it still
 * begins transactions, else with the db opened again (a restart).  Each
 * failure must have been logged, and the file must end as it did
 * without the fault: the store's caches (keys,
 * open events, churn counts, row counts, the latest revision) must
 * forget whatever the rollback took back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "fault.h"
#include "feed.h"
#include "kinds.h"
#include "store.h"
#include "tap.h"
#include "workload.h"

#define EVENTS 1500
#define BATCH 150
#define T0 1790000000000000LL
#define DAY 86400000000LL
#define RESYNC 40 /* the new cluster's revision when listed */

static char dir[256], path[300];

static struct store *
reopen(struct store *s)
{
	char err[256];

	store_close(s);
	if ((s = store_open(path, err, sizeof(err))) == NULL)
		printf("#   %s\n", err);
	return s;
}

/*
 * The first cluster: the workload, after revision from (committed
 * before), in batches; its last revision into *end.  0, or -1.
 */
static int
first_cluster(struct store *s, int64_t from, int64_t *end)
{
	struct workload *w = workload_new(11, 2, T0, 1000000);
	int64_t last = 0;
	int rc = 0;

	if (from == 0 &&
	    (store_first_epoch(s, 0x1234, "cilium/", 1, T0) != 0 ||
		store_revision(s, 1, "snapshot", T0, T0) != 0))
		rc = -1;
	if (rc == 0)
		rc = feed(s, w, EVENTS, BATCH, from, &last);
	workload_free(w);
	if (rc == 0 && last > from) {
		store_watermark(s, last, T0 + DAY);
		if (store_commit(s) != 0 || store_begin(s) != 0)
			rc = -1;
	}
	*end = last;
	return rc;
}

static void
node(struct store_event *e, char *key, size_t size, char *val, size_t vsize,
    int n, int64_t rev)
{
	snprintf(key, size, "cilium/state/nodes/v1/default/k%d", n);
	snprintf(val, vsize, "{\"Name\":\"k%d\",\"Cluster\":\"x\"}", n);
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->keylen = strlen(key);
	e->value = val;
	e->vallen = strlen(val);
	e->mod_rev = rev;
	e->create_rev = rev;
	e->version = 1;
}

/*
 * The cluster replaced (recorder.c resync_first/resync_done): a new
 * epoch, the new cluster's keys listed at its revision RESYNC, every key
 * of the first one inferred deleted, a gap after the first's last
 * revision end.
 */
static int
replaced(struct store *s, int64_t end)
{
	struct store_event e;
	char key[64], val[64];
	long puts, dels;
	int64_t gap_from = store_hs_rev(s, end);
	int k, rc;

	rc = store_new_epoch(s, 0x5678, RESYNC, T0 + DAY + 1) ||
	    store_revision(s, RESYNC, "resync", T0 + DAY, T0 + DAY + 1) ||
	    store_resync_begin(s);
	for (k = 0; k < 100 && rc == 0; k++) {
		node(&e, key, sizeof(key), val, sizeof(val), k, 5 + k % 30);
		e.origin = 1;
		rc = store_resync_key(s, &e, RESYNC);
	}
	rc = rc ||
	    store_resync_finish(s, RESYNC, gap_from, T0 + DAY, T0 + DAY + 1,
		"test: cluster replaced", &puts, &dels);
	store_watermark(s, RESYNC, T0 + DAY + 1);
	return rc || store_commit(s) || store_begin(s) ? -1 : 0;
}

/* The new cluster's watch after revision from: 20 more puts. */
static int
new_cluster(struct store *s, int64_t from)
{
	struct store_event e;
	char key[64], val[64];
	int64_t rev;
	int rc = 0;

	for (rev = RESYNC + 1; rev <= RESYNC + 20 && rc == 0; rev++) {
		if (rev <= from)
			continue;
		node(&e, key, sizeof(key), val, sizeof(val), (int)rev % 7, rev);
		e.create_rev = 5;
		e.version = rev;
		rc = store_revision(
			 s, rev, "watch", T0 + DAY + rev, T0 + DAY + rev) ||
		    store_event(s, &e);
	}
	store_watermark(s, RESYNC + 20, T0 + DAY + RESYNC + 20);
	return rc || store_commit(s) ? -1 : 0;
}

/*
 * Everything into path; after a failure, roll back and go on after the
 * committed watermark.  0, or -1 when the store could not go on.
 */
static int
record(int *failures, int *silent)
{
	struct store_state st;
	struct store *s = NULL;
	int64_t end;
	char err[256];
	int rc, tries;

	*failures = *silent = 0;
	for (tries = 0; tries < 6; tries++) {
		long mark = fault_stderr_mark();

		/* No store, or one that cannot begin: a restart. */
		if (s == NULL && (s = reopen(NULL)) == NULL) {
			++*failures;
			continue;
		}
		if (store_state(s, &st, err, sizeof(err)) != 0 ||
		    store_begin(s) != 0) {
			++*failures;
			s = reopen(s);
			continue;
		}
		if (st.recorded && st.epoch >= 2) /* the first cluster done */
			rc = new_cluster(s, st.recorded_rev);
		else
			rc = first_cluster(
				 s, st.recorded ? st.recorded_rev : 0, &end) ||
			    replaced(s, end) || new_cluster(s, 0);
		if (rc == 0) {
			store_close(s);
			return 0;
		}
		/* Roll back; the same store goes on if it can begin. */
		++*failures;
		if (!fault_said(mark))
			++*silent;
		store_rollback(s);
	}
	store_close(s);
	return -1;
}

/*
 * The counts /metrics shows (events recorded, decode errors per kind)
 * are of what was committed: a batch rolled back (a snapshot that failed
 * part way and starts over) and written again counts once.
 */
static void
check_counts(void)
{
	struct store_event e;
	struct store *s;
	char err[256], key[64], val[64];
	int i, rc = 0;

	fault_db_remove(path);
	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("#   %s\n", err);
		ok(0, "counts: the db");
		return;
	}
	for (i = 0; i < 2 && rc == 0; i++) {
		rc = store_begin(s) ||
		    store_first_epoch(s, 1, "cilium/", 2, T0) ||
		    store_revision(s, 2, "snapshot", T0, T0);
		node(&e, key, sizeof(key), val, sizeof(val), 1, 2);
		e.origin = 1;
		rc = rc || store_event(s, &e);
		node(&e, key, sizeof(key), val, sizeof(val), 2, 2);
		e.value = "{";
		e.vallen = 1;
		e.origin = 1;
		rc = rc || store_event(s, &e);
		if (i == 0)
			store_rollback(s);
	}
	store_watermark(s, 2, T0);
	rc = rc || store_commit(s);
	ok(rc == 0, "counts: a snapshot rolled back, then written again");
	is_int(store_events_written(s), 2, "counts: events written, once");
	is_int(store_decode_errors_kind(s, HS_KIND_NODE), 1,
	    "counts: node decode errors, once");
	is_int(store_decode_errors(s), 1, "counts: decode errors, once");
	store_close(s);
	fault_db_remove(path);
}

int
main(void)
{
	char ref[320];
	uint64_t want;
	long i, total, last, points = 0, bad = 0, recovered = 0;
	int failures, silent;

	if (fault_tmpdir(dir, sizeof(dir), "store") != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(ref, sizeof(ref), "%s/ref.db", dir);
	fault_install();
	/* The store's log, to see every failure said. */
	if (fault_stderr_to(dir) != 0)
		return 1;

	/* The reference: no fault; its statements are the fault points. */
	fault_hook_next = fault_counting = fault_recording = 1;
	fault_at = 0;
	fault_n_stmt = 0;
	ok(record(&failures, &silent) == 0 && failures == 0,
	    "the workload recorded without fault");
	fault_recording = 0;
	total = fault_n_seen;
	want = fault_digest(path);
	is_int(fault_int(path, "SELECT count(*) FROM epochs"), 2, "two epochs");
	is_int(fault_int(path, "SELECT count(*) FROM gaps"), 1, "one gap");
	ok(fault_int(path,
	       "SELECT count(*) FROM events WHERE origin = 2 AND "
	       "type = 1") > 100,
	    "the first cluster's keys inferred deleted");
	is_int(fault_int(path,
		   "SELECT count(*) FROM nodes WHERE to_rev IS NULL "
		   "AND name GLOB 'k[0-9]*'"),
	    100, "the new cluster's nodes open");
	ok(want != 0 && rename(path, ref) == 0, "the reference file");
	fault_db_remove(path);
	/* Up to the last COMMIT (after it, only closing). */
	for (last = total; last > 0; last--)
		if (strcmp(fault_seen[last - 1], "COMMIT") == 0)
			break;
	ok(last > 1000, "%ld statements", last);

	for (i = 0; i < last; i++) {
		if (!fault_point(i, last))
			continue;
		points++;
		fault_db_remove(path);
		fault_at = i + 1;
		fault_fired = 0;
		fault_n_stmt = 0;
		if (record(&failures, &silent) != 0) {
			printf(
			    "#   statement %ld (%s) failing: the store could "
			    "not go on\n",
			    i + 1, fault_seen[i]);
			bad++;
			continue;
		}
		if (silent > 0) {
			printf("#   statement %ld (%s): %d failures logged no "
			       "error\n",
			    i + 1, fault_seen[i], silent);
			bad++;
		} else if (fault_fired != 1 || failures < 1) {
			printf("#   statement %ld (%s): %ld faults fired, %d "
			       "failures seen\n",
			    i + 1, fault_seen[i], fault_fired, failures);
			bad++;
		} else if (fault_digest(path) != want &&
		    fault_differ(path, ref) != 0) {
			printf("#   statement %ld failing: %s\n", i + 1,
			    fault_seen[i]);
			bad++;
		} else
			recovered++;
	}
	fault_hook_next = fault_counting = 0;
	ok(points > 40, "%ld fault points", points);
	is_int(bad, 0,
	    "a statement failing anywhere in a batch: rolled back and "
	    "written again, the file ends as without the fault (%ld)",
	    recovered);

	check_counts();
	fault_forget();
	fault_db_remove(path);
	unlink(ref);
	fault_stderr_remove();
	rmdir(dir);
	return done_testing();
}
