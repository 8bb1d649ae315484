/*
 * test_state.c: what the recorder (store_open(), store_state()) and the
 * CLI (hq_open()) read when they open a db, while SQLite fails.
 *
 * A db recorded in two epochs (a replaced cluster: revisions offset), with
 * a decode error and a --retain horizon.  Opened without fault, it says
 * where recording stands; then each statement of opening it fails in turn
 * (SQLITE_INTERRUPT through fault.h).  Each time the opener must either
 * refuse (with a reason) or say exactly what it said without the fault.
 * A failed read taken for "absent" would have the recorder snapshot a
 * recorded db as new, start a new epoch for a cluster it knows, or number
 * revisions with the wrong offset; and the CLI answer before the pruning
 * horizon without a warning, or turn rev: times into the wrong revisions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "fault.h"
#include "hq.h"
#include "store.h"
#include "tap.h"

static char dir[256], path[300];

static int
ev(struct store *s, const char *key, const char *val, int64_t rev)
{
	struct store_event e = {0};

	e.key = key;
	e.keylen = strlen(key);
	e.value = val;
	e.vallen = strlen(val);
	e.mod_rev = rev;
	e.create_rev = rev;
	e.version = 1;
	return store_revision(s, rev, "watch", hs_now_us(), hs_now_us()) ||
	    store_event(s, &e);
}

static int
build(void)
{
	char err[256];
	struct store *s;
	int64_t now = hs_now_us();
	int rc;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	rc = store_begin(s) ||
	    store_first_epoch(s, 0x1234, "cilium/", 10, now) ||
	    store_revision(s, 10, "snapshot", now, now) ||
	    ev(s, "cilium/state/nodes/v1/default/n1", "{\"Name\":\"n1\"}",
		11) ||
	    ev(s, "cilium/state/ip/v1/default/10.0.0.1", "not json", 12);
	store_watermark(s, 12, now);
	rc = rc || store_commit(s) || store_begin(s) ||
	    store_new_epoch(s, 0x5678, 3, now + 1);
	rc = rc ||
	    ev(s, "cilium/state/nodes/v1/default/n2", "{\"Name\":\"n2\"}", 4);
	store_watermark(s, 4, now + 2);
	rc = rc || store_commit(s);
	store_close(s);
	if (rc)
		return -1;
	/* A --retain round's horizon (recorder/retain.c). */
	{
		sqlite3 *db;
		char sql[256];

		snprintf(sql, sizeof(sql),
		    "INSERT INTO meta VALUES ('pruned_through_rev', 11), "
		    "('pruned_us', %lld), ('pruned_rows', 1)",
		    (long long)now);
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			rc = -1;
		sqlite3_close(db);
	}
	return rc ? -1 : 0;
}

/* What an open store says, as one line. */
static int
describe_store(char *out, size_t size, char *err, size_t errlen)
{
	struct store_state st;
	struct store *s;

	if ((s = store_open(path, err, errlen)) == NULL)
		return -1;
	if (store_state(s, &st, err, errlen) != 0) {
		store_close(s);
		return -1;
	}
	snprintf(out, size,
	    "recorded=%d rev=%lld us=%lld epoch=%lld cluster=%llx "
	    "prefix=%s hs_rev(5)=%lld decode_errors=%lld",
	    st.recorded, (long long)st.recorded_rev, (long long)st.recorded_us,
	    (long long)st.epoch, (unsigned long long)st.cluster_id, st.prefix,
	    (long long)store_hs_rev(s, 5), (long long)store_decode_errors(s));
	store_close(s);
	return 0;
}

/* What the CLI takes from an open db, as one line. */
static int
describe_cli(char *out, size_t size, char *err, size_t errlen)
{
	struct hq q;
	long mark = fault_stderr_mark();
	int rc;

	memset(&q, 0, sizeof(q));
	q.dbs[0].path = path;
	q.ndb = 1;
	q.format = OUT_JSON;
	q.cmd = "test";
	q.keep_out = 1; /* nothing printed */
	if ((rc = hq_open(&q)) == 0)
		snprintf(out, size,
		    "first=%lld@%lld pruned=%d recorded=%lld@%lld (%d) "
		    "epoch=%lld offset=%lld",
		    (long long)q.first_rev, (long long)q.first_us, q.pruned,
		    (long long)q.recorded_rev, (long long)q.recorded_us,
		    q.have_recorded, (long long)q.epoch,
		    (long long)q.rev_offset);
	else if (fault_said(mark))
		snprintf(err, errlen, "exit %d (said on stderr)", rc);
	if (q.out != NULL)
		out_free(q.out);
	q.out = NULL;
	hq_close(&q, rc);
	return rc == 0 ? 0 : -1;
}

/*
 * Open the db with each statement failing in turn: a refusal with a
 * reason, or what it says without the fault (want, checked by match).
 */
static void
sweep(const char *who,
    int (*describe)(char *out, size_t size, char *err, size_t errlen),
    const char *const *match)
{
	char want[512], got[512], err[512];
	long i, total, refused = 0, same = 0, bad = 0;

	fault_hook_next = fault_counting = fault_recording = 1;
	fault_at = 0;
	fault_n_stmt = 0;
	ok(describe(want, sizeof(want), err, sizeof(err)) == 0,
	    "%s, without fault: %s", who, want);
	fault_recording = 0;
	total = fault_n_seen;
	for (i = 0; match[i] != NULL; i++)
		ok(strstr(want, match[i]) != NULL, "%s says %s", who, match[i]);
	ok(total > 10, "%s: %ld statements to fail", who, total);

	for (i = 1; i <= total; i++) {
		fault_at = i;
		fault_fired = 0;
		fault_n_stmt = 0;
		err[0] = '\0';
		if (describe(got, sizeof(got), err, sizeof(err)) != 0) {
			refused++;
			if (err[0] == '\0') {
				printf(
				    "#   statement %ld (%s): refused without "
				    "a reason\n",
				    i, fault_seen[i - 1]);
				bad++;
			}
		} else if (strcmp(got, want) == 0)
			same++;
		else {
			printf("#   statement %ld (%s) failing: %s\n", i,
			    fault_seen[i - 1], got);
			bad++;
		}
		if (fault_fired != 1) {
			printf("#   statement %ld (%s): no fault fired\n", i,
			    fault_seen[i - 1]);
			bad++;
		}
	}
	fault_hook_next = fault_counting = 0;
	is_int(bad, 0,
	    "%s, a statement failing: refused with a reason, or the same "
	    "answer (%ld refused, %ld the same)",
	    who, refused, same);
	ok(refused > 0, "%s: failures that matter are refused", who);
	fault_forget();
}

int
main(void)
{

	if (fault_tmpdir(dir, sizeof(dir), "state") != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	fault_install();
	if (fault_stderr_to(dir) != 0)
		return 1;
	ok(build() == 0, "a db recorded in two epochs");

	{
		static const char *const store[] = {"recorded=1 rev=4 ",
		    "epoch=2 cluster=5678 prefix=cilium/ ",
		    "hs_rev(5)=17 decode_errors=1", NULL};
		static const char *const cli[] = {"first=11@", " pruned=1 ",
		    "recorded=16@", "(1) epoch=2 offset=12", NULL};

		sweep("the recorder", describe_store, store);
		sweep("the CLI", describe_cli, cli);
	}
	fault_forget();
	{
		static const char *const ends[] = {"", "-wal", "-shm"};
		char p[320];
		size_t j;

		for (j = 0; j < sizeof(ends) / sizeof(ends[0]); j++) {
			snprintf(p, sizeof(p), "%s%s", path, ends[j]);
			unlink(p);
		}
	}
	fault_stderr_remove();
	rmdir(dir);
	return done_testing();
}
