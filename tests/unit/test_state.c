/*
 * test_state.c: what the recorder reads when it opens a db
 * (store_open(), store_state()) while SQLite fails.
 *
 * A db recorded in two epochs (a replaced cluster: revisions offset), with
 * a decode error.  Opened without fault, it says where recording stands;
 * then each statement of opening it fails in turn (SQLITE_INTERRUPT
 * through fault.h).  Each time the store must either refuse (store_open
 * NULL, or store_state -1, with a reason) or say exactly what it said
 * without the fault.  A failed read taken for "absent" would have the
 * recorder snapshot a recorded db as new, start a new epoch for a cluster
 * it knows, or number revisions with the wrong offset.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "fault.h"
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
	return rc ? -1 : 0;
}

/* What an open store says, as one line. */
static int
describe(char *out, size_t size, char *err, size_t errlen)
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

int
main(void)
{
	char want[512], got[512], err[512];
	long i, total, refused = 0, same = 0, bad = 0;

	if (fault_tmpdir(dir, sizeof(dir), "state") != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	fault_install();
	ok(build() == 0, "a db recorded in two epochs");

	fault_hook_next = fault_counting = fault_recording = 1;
	fault_n_stmt = 0;
	ok(describe(want, sizeof(want), err, sizeof(err)) == 0,
	    "opened without fault: %s", want);
	fault_recording = 0;
	total = fault_n_seen;
	ok(strstr(want, "recorded=1 rev=4 ") != NULL &&
		strstr(want, "epoch=2 cluster=5678 prefix=cilium/ ") != NULL &&
		strstr(want, "decode_errors=1") != NULL,
	    "it says where recording stands");
	ok(total > 10, "%ld statements to fail", total);

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
	    "a statement failing while opening: refused with a reason, or "
	    "the same answer (%ld refused, %ld the same)",
	    refused, same);
	ok(refused > 0, "failures that matter are refused");

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
	rmdir(dir);
	return done_testing();
}
