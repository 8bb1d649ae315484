/*
 * test_redecode.c: values an older decoder could not read, decoded again
 * when a newer store opens the db (recorder/store.c, redecode()).
 *
 * A recording through the store, over two epochs (the second with a
 * revision offset), of identities and services: re-puts of the same
 * value (lease-only), a DELETE and a put again, a key re-created with the
 * same value and another create_revision, values of the first epoch
 * changed in the second.  Then the file is turned into what an older
 * decoder would have written had it failed on chosen values: their typed
 * rows gone (the events pointing at them NULL), a decode_errors row at
 * the PUT that began each, the counts raised, no meta.decoder.  Opening
 * it again must give back the typed rows and intervals of the recording,
 * with the counts.  The same after --retain pruned the older db (every
 * key's latest value).  And with each statement of that open failing in
 * turn: the open fails and leaves the older file as it was.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "store.h"
#include "tap.h"

#define T0 1790000000000000LL

static char dir[256], path[300];

static const char *const svc_v1 =
    "{\"cluster\":\"default\",\"namespace\":\"ns1\",\"name\":\"a\","
    "\"frontends\":{\"10.96.0.1\":{\"http\":{\"Protocol\":\"TCP\","
    "\"Port\":80}}},\"backends\":{},\"labels\":{},\"selector\":{},"
    "\"includeExternal\":false,\"shared\":true}";
static const char *const svc_v2 =
    "{\"cluster\":\"default\",\"namespace\":\"ns1\",\"name\":\"a\","
    "\"frontends\":{\"10.96.0.2\":{\"http\":{\"Protocol\":\"TCP\","
    "\"Port\":81}}},\"backends\":{},\"labels\":{},\"selector\":{},"
    "\"includeExternal\":false,\"shared\":true}";

#define SVC_A "cilium/state/services/v1/default/ns1/a"
#define SVC_B "cilium/state/services/v1/default/ns1/b"
#define SVC_C "cilium/state/services/v1/default/ns1/c"
#define ID_7 "cilium/state/identities/v1/id/70000"
#define ID_8 "cilium/state/identities/v1/id/80000"

static int
put(struct store *s, const char *key, const char *val, int64_t rev,
    int64_t create, int64_t version, int64_t lease)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	e.key = key;
	e.keylen = strlen(key);
	e.value = val;
	e.vallen = strlen(val);
	e.mod_rev = rev;
	e.create_rev = create;
	e.version = version;
	e.lease = lease;
	return store_revision(s, rev, "watch", T0 + rev, T0 + rev) ||
	    store_event(s, &e);
}

static int
del(struct store *s, const char *key, int64_t rev)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	e.type = 1;
	e.key = key;
	e.keylen = strlen(key);
	e.mod_rev = rev;
	return store_revision(s, rev, "watch", T0 + rev, T0 + rev) ||
	    store_event(s, &e);
}

static int
record(void)
{
	struct store *s;
	char err[256];
	int rc;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("#   %s\n", err);
		return -1;
	}
	rc = store_begin(s) || store_first_epoch(s, 1, "cilium/", 1, T0) ||
	    /* an identity modified after its creation: create_rev 3 */
	    put(s, ID_7, "k8s:app=a;", 5, 3, 2, 0) ||
	    put(s, SVC_A, svc_v1, 6, 6, 1, 0) ||
	    put(s, SVC_A, svc_v1, 7, 6, 2, 9) || /* lease-only */
	    put(s, SVC_A, svc_v2, 8, 6, 3, 9) ||
	    put(s, SVC_B, svc_v1, 9, 9, 1, 0) || del(s, SVC_B, 10) ||
	    put(s, SVC_B, svc_v1, 11, 11, 1, 0) ||
	    put(s, ID_8, "k8s:app=b;", 12, 12, 1, 0) ||
	    put(s, SVC_C, svc_v1, 13, 13, 1, 0) ||
	    put(s, SVC_C, svc_v1, 14, 13, 2, 5); /* lease-only */
	store_watermark(s, 14, T0 + 14);
	rc = rc || store_commit(s) || store_begin(s) ||
	    /* another cluster: offset 14 */
	    store_new_epoch(s, 2, 4, T0 + 100) ||
	    /* re-created alike: the same value, another create_rev */
	    put(s, SVC_A, svc_v2, 5, 5, 1, 0) ||
	    put(s, ID_8, "k8s:app=c;", 6, 2, 2, 0) ||
	    put(s, SVC_B, svc_v2, 7, 7, 1, 0);
	store_watermark(s, 7, T0 + 200);
	rc = rc || store_commit(s);
	store_close(s);
	return rc ? -1 : 0;
}

/*
 * The rows of query q (ncol columns) on the db as text: a line a row,
 * columns apart by '|', NULL as NULL; NULL if q cannot run (said).
 */
static char *
rows_text(const char *q, int ncol)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL, *n;
	size_t len = 0;
	int i;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
		printf("#   %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < ncol; i++) {
			const char *c =
			    (const char *)sqlite3_column_text(st, i);
			size_t cn = c ? strlen(c) : 4;

			if ((n = realloc(out, len + cn + 2)) == NULL)
				abort();
			out = n;
			memcpy(out + len, c ? c : "NULL", cn);
			len += cn;
			out[len++] = i == ncol - 1 ? '\n' : '|';
			out[len] = '\0';
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out ? out : strdup("");
}

/* Everything the redecoding must give back, as text. */
static char *
dump(void)
{
	static const char q[] =
	    "SELECT 'i', k.key, i.identity, i.create_rev, i.labelset_id, "
	    "i.from_rev, coalesce(i.to_rev, '-') FROM identities i "
	    "JOIN keys k ON k.id = i.key_id "
	    "UNION ALL SELECT 's', k.key, s.name, (SELECT group_concat("
	    "p.role || p.ip || p.port) FROM service_ports p "
	    "WHERE p.service_row = s.rowid), 0, s.from_rev, "
	    "coalesce(s.to_rev, '-') FROM services s "
	    "JOIN keys k ON k.id = s.key_id "
	    "UNION ALL SELECT 'e', e.rev, e.seq, k.kind, 0, coalesce("
	    "CASE k.kind WHEN 'service' THEN (SELECT from_rev FROM services "
	    "WHERE rowid = e.typed_row) ELSE (SELECT from_rev FROM "
	    "identities WHERE rowid = e.typed_row) END, '-'), 0 "
	    "FROM events e JOIN keys k ON k.id = e.key_id "
	    "UNION ALL SELECT 'c', name, n, 0, 0, 0, 0 FROM row_counts "
	    "UNION ALL SELECT 'd', count(*), 0, 0, 0, 0, 0 FROM decode_errors "
	    "UNION ALL SELECT 'm', value, 0, 0, 0, 0, 0 FROM meta "
	    "WHERE name = 'decode_errors' ORDER BY 1, 2, 3, 6";

	return rows_text(q, 7);
}

/* Run sql on the db; 0, or -1 (said). */
static int
run_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		printf("#   %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * What an older decoder wrote had it failed on the typed rows chosen by
 * where (over services s and identities i): no row, a decode error at
 * the PUT that began it.
 */
static int
as_older(const char *svc_where, const char *id_where)
{
	char sql[4096];

	snprintf(sql, sizeof(sql),
	    "BEGIN;"
	    "CREATE TEMP TABLE gone(tbl TEXT, row INTEGER, key_id INTEGER, "
	    "rev INTEGER);"
	    "INSERT INTO gone SELECT 'services', rowid, key_id, from_rev "
	    "FROM services s WHERE %s;"
	    "INSERT INTO gone SELECT 'identities', rowid, key_id, from_rev "
	    "FROM identities i WHERE %s;"
	    "INSERT INTO decode_errors SELECT e.rev, e.seq, e.key_id, "
	    "g.tbl, 'older' FROM gone g JOIN events e ON e.rev = g.rev AND "
	    "e.key_id = g.key_id;"
	    "UPDATE events SET typed_row = NULL WHERE EXISTS (SELECT 1 FROM "
	    "gone g WHERE g.key_id = events.key_id AND g.row = "
	    "events.typed_row);"
	    "DELETE FROM service_ports WHERE service_row IN (SELECT row FROM "
	    "gone WHERE tbl = 'services');"
	    "DELETE FROM services WHERE rowid IN (SELECT row FROM gone WHERE "
	    "tbl = 'services');"
	    "DELETE FROM identities WHERE rowid IN (SELECT row FROM gone "
	    "WHERE tbl = 'identities');"
	    "UPDATE row_counts SET n = n - (SELECT count(*) FROM gone g "
	    "WHERE g.tbl = row_counts.name) WHERE name IN ('services', "
	    "'identities');"
	    "UPDATE row_counts SET n = n + (SELECT count(*) FROM gone) "
	    "WHERE name = 'decode_errors';"
	    "UPDATE meta SET value = value + (SELECT count(*) FROM gone) "
	    "WHERE name = 'decode_errors';"
	    "DELETE FROM meta WHERE name = 'decoder';"
	    "COMMIT",
	    svc_where, id_where);
	return run_sql(sql);
}

/*
 * Open the db with the store (decoding again) and close it: whether view()
 * then gives want, said as "WHAT: MSG"; the diff on stdout when not.
 */
static int
reopened_as(
    const char *what, const char *msg, char *(*view)(void), const char *want)
{
	struct store *s;
	char err[256], *got;
	int good;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("#   %s\n", err);
		return ok(0, "%s: opened again", what);
	}
	store_close(s);
	got = view();
	if (!(good = ok(
		  got != NULL && strcmp(got, want) == 0, "%s: %s", what, msg)))
		printf("# want:\n%s# got:\n%s", want, got ? got : "");
	free(got);
	return good;
}

/* Record, break the rows chosen, open again: as recorded? */
static void
check(const char *what, const char *svc_where, const char *id_where)
{
	char *want = NULL, *mid = NULL;

	fault_db_remove(path);
	if (record() != 0 || (want = dump()) == NULL ||
	    as_older(svc_where, id_where) != 0 || (mid = dump()) == NULL) {
		ok(0, "%s: the older db", what);
		goto out;
	}
	ok(strcmp(want, mid) != 0, "%s: the older db differs", what);
	reopened_as(what, "decoded again as recorded", dump, want);
	is_int(fault_int(
		   path, "SELECT value FROM meta WHERE name = 'decoder'") > 0,
	    1, "%s: meta.decoder set", what);
out:
	free(want);
	free(mid);
}

/*
 * This generation recorded the first epoch (through revision 14), then a
 * build from before the generations (a rollback) recorded the second and
 * failed on its values: it left meta.decoder as it was, knows nothing of
 * decoded_rev, and moved recorded_rev on.  Opened again by this build,
 * the errors it left are decoded, and decoded_rev marks them done.
 */
static void
check_rollback(void)
{
	char *want = NULL;

	fault_db_remove(path);
	if (record() != 0 || (want = dump()) == NULL ||
	    as_older("s.from_rev > 14", "i.from_rev > 14") != 0 ||
	    run_sql("INSERT OR REPLACE INTO meta(name, value) VALUES "
		    "('decoder', 2), ('decoded_rev', 14)") != 0) {
		ok(0, "rollback: the db");
		goto out;
	}
	ok(fault_int(path, "SELECT count(*) FROM decode_errors") > 0,
	    "rollback: the older build left decode errors (%lld)",
	    (long long)fault_int(path, "SELECT count(*) FROM decode_errors"));
	reopened_as("rollback",
	    "what the older build recorded is decoded again", dump, want);
	is_int(fault_int(path,
		   "SELECT (SELECT value FROM meta WHERE name = "
		   "'decoded_rev') = (SELECT value FROM meta WHERE name = "
		   "'recorded_rev')"),
	    1, "rollback: decoded_rev is the watermark");
out:
	free(want);
}

/*
 * What --retain left of the db through revision cut (retain.c): events
 * superseded at or before it, their decode errors, closed typed rows;
 * the row counts as retain.c keeps them.
 */
static int
pruned(int64_t cut)
{
	char sql[4096];

	snprintf(sql, sizeof(sql),
	    "BEGIN;"
	    "DELETE FROM events WHERE rev <= %1$lld AND coalesce((SELECT "
	    "n.rev <= %1$lld FROM events n WHERE n.key_id = events.key_id "
	    "AND n.rev > events.rev ORDER BY n.rev LIMIT 1), type = 1);"
	    "DELETE FROM decode_errors WHERE NOT EXISTS (SELECT 1 FROM events "
	    "e WHERE e.rev = decode_errors.rev AND e.seq = decode_errors.seq);"
	    "DELETE FROM service_ports WHERE service_row IN (SELECT rowid "
	    "FROM services WHERE to_rev <= %1$lld);"
	    "DELETE FROM services WHERE to_rev <= %1$lld;"
	    "DELETE FROM identities WHERE to_rev <= %1$lld;"
	    "UPDATE row_counts SET n = CASE name "
	    "WHEN 'events' THEN (SELECT count(*) FROM events) "
	    "WHEN 'decode_errors' THEN (SELECT count(*) FROM decode_errors) "
	    "WHEN 'services' THEN (SELECT count(*) FROM services) "
	    "WHEN 'identities' THEN (SELECT count(*) FROM identities) "
	    "ELSE n END;"
	    "INSERT OR REPLACE INTO meta(name, value) VALUES "
	    "('pruned_through_rev', %1$lld), ('pruned_us', %2$lld);"
	    "COMMIT",
	    (long long)cut, (long long)(T0 + cut));
	return run_sql(sql);
}

/* Each key's latest event and the value its typed row holds, as text. */
static char *
latest(void)
{
	static const char q[] =
	    "SELECT k.key, e.rev, coalesce((SELECT group_concat(p.role || "
	    "p.ip || p.port) FROM service_ports p WHERE p.service_row = "
	    "s.rowid) || '|' || coalesce(s.to_rev, '-'), i.create_rev || '|' "
	    "|| i.labelset_id || '|' || coalesce(i.to_rev, '-'), '-') "
	    "FROM keys k JOIN events e ON e.key_id = k.id AND e.rev = "
	    "(SELECT max(rev) FROM events WHERE key_id = k.id) "
	    "LEFT JOIN services s ON k.kind = 'service' AND s.rowid = "
	    "e.typed_row LEFT JOIN identities i ON k.kind = 'identity' AND "
	    "i.rowid = e.typed_row ORDER BY k.key";

	return rows_text(q, 3);
}

/*
 * A db pruned by --retain before the newer decoder opened it: a value
 * that did not decode and was put again alike (lease-only) may have lost
 * its first event, hence its decode error, to the pruning; the re-put
 * left holds it all the same, and is decoded again.
 */
static void
check_pruned(void)
{
	char *want = NULL;

	fault_db_remove(path);
	if (record() != 0 || (want = latest()) == NULL ||
	    as_older("1", "1") != 0 || pruned(14) != 0) {
		ok(0, "pruned: the older db");
		goto out;
	}
	is_int(fault_int(path,
		   "SELECT count(*) FROM events e JOIN keys k ON k.id = "
		   "e.key_id WHERE k.key = '" SVC_C "'"),
	    1, "pruned: the lease-only re-put is what is left of its value");
	reopened_as("pruned",
	    "every key's latest value decoded again as recorded", latest, want);
	is_int(fault_int(path,
		   "SELECT (SELECT n FROM row_counts WHERE name = 'services') "
		   "- (SELECT count(*) FROM services)"),
	    0, "pruned: row_counts counts the services");
	is_int(fault_int(path, "SELECT count(*) FROM decode_errors"), 0,
	    "pruned: no decode error left");
	/*
	 * meta counted 6 (an older --retain left it so): the errors whose
	 * rows were pruned are no values of the db any more, and the value
	 * left at c's re-put is no error now.  meta counts the rows, as
	 * row_counts and status do.
	 */
	is_int(fault_int(
		   path, "SELECT value FROM meta WHERE name = 'decode_errors'"),
	    0, "pruned: meta.decode_errors counts the errors left (none)");
out:
	free(want);
}

/*
 * The churn counts are no decoded state: a change is counted under the
 * namespace and pod hs_namespace()/hs_pod() read from its raw value (as
 * the report reads the minutes a window cuts), whether the value decodes
 * or not.  So decoding a value again has no count to move: an ipcache
 * value that does not decode (no ID) is counted under its namespace and
 * pod all the same, and a DELETE under its previous value's.
 */
static void
check_churn(void)
{
	static const char bad[] = "{\"IP\":\"10.0.0.9\",\"K8sNamespace\":"
				  "\"ns9\",\"K8sPodName\":\"p9\"}";
	static const char key[] = "cilium/state/ip/v1/default/10.0.0.9";
	struct store *s;
	char err[256];
	int rc;

	fault_db_remove(path);
	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		printf("#   %s\n", err);
		ok(0, "churn: the db");
		return;
	}
	rc = store_begin(s) || store_first_epoch(s, 1, "cilium/", 1, T0) ||
	    put(s, key, bad, 5, 5, 1, 0) || del(s, key, 6);
	store_watermark(s, 6, T0 + 6);
	rc = rc || store_commit(s);
	store_close(s);
	ok(rc == 0, "churn: an ipcache value that does not decode, deleted");
	is_int(fault_int(path, "SELECT count(*) FROM decode_errors"), 1,
	    "churn: …a decode error");
	is_int(fault_int(path,
		   "SELECT sum(created) || sum(deleted) FROM churn WHERE "
		   "secs = 60 AND kind = 'ipcache' AND namespace = 'ns9'"),
	    11, "churn: counted under the namespace of its raw value");
	is_int(fault_int(path,
		   "SELECT sum(created) || sum(deleted) FROM churn_pods WHERE "
		   "secs = 60 AND pod = 'ns9/p9'"),
	    11, "churn: …and its pod");
}

/* Copy file from to file to; 0, or -1. */
static int
copy(const char *from, const char *to)
{
	char buf[65536];
	FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
	size_t n;
	int rc = f != NULL && t != NULL ? 0 : -1;

	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, t) != n)
			rc = -1;
	if (f != NULL)
		fclose(f);
	if (t != NULL && fclose(t) != 0)
		rc = -1;
	return rc;
}

/*
 * Each statement of the open that decodes again failing in turn: the open
 * fails and leaves the older file as it was (one transaction), and the
 * next open without the fault decodes it all.
 */
static void
check_faults(int prune)
{
	char *(*view)(void) = prune ? latest : dump;
	struct store *s;
	char err[256], older[320], *want = NULL, *got;
	uint64_t before;
	long n, i, bad = 0, failed = 0, vague = 0;

	snprintf(older, sizeof(older), "%s/older.db", dir);
	fault_db_remove(path);
	if (record() != 0 || (want = view()) == NULL ||
	    as_older("1", "1") != 0 || (prune && pruned(14) != 0) ||
	    copy(path, older) != 0 || (before = fault_digest(path)) == 0) {
		ok(0, "faults: the older db");
		free(want);
		return;
	}
	fault_hook_next = fault_counting = 1;
	fault_at = 0;
	fault_n_stmt = 0;
	if ((s = store_open(path, err, sizeof(err))) != NULL)
		store_close(s);
	n = fault_n_stmt;
	for (i = 1; i <= n; i++) {
		if (copy(older, path) != 0) {
			bad++;
			break;
		}
		fault_counting = 1;
		fault_at = i;
		fault_fired = 0;
		fault_n_stmt = 0;
		s = store_open(path, err, sizeof(err));
		store_close(s);
		fault_counting = 0;
		if (s == NULL) {
			failed++;
			/* The reason, not what the rollback left. */
			if (strstr(err, "interrupted") == NULL) {
				printf(
				    "#   statement %ld failing: %s\n", i, err);
				vague++;
			}
			if (fault_digest(path) != before) {
				printf("#   statement %ld failing: the older "
				       "db changed\n",
				    i);
				bad++;
				continue;
			}
			if ((s = store_open(path, err, sizeof(err))) == NULL) {
				printf("#   statement %ld: %s\n", i, err);
				bad++;
				continue;
			}
			store_close(s);
		}
		got = view();
		if (got == NULL || strcmp(got, want) != 0) {
			printf(
			    "#   statement %ld failing: not as recorded\n", i);
			bad++;
		}
		free(got);
	}
	fault_hook_next = 0;
	ok(n > 20 && failed > 10, "faults%s: %ld statements, %ld opens failed",
	    prune ? " (pruned)" : "", n, failed);
	is_int(bad, 0,
	    "faults%s: a failed open leaves the older db, the next decodes it",
	    prune ? " (pruned)" : "");
	is_int(vague, 0, "faults%s: …and says why (interrupted)",
	    prune ? " (pruned)" : "");
	unlink(older);
	free(want);
}

int
main(void)
{
	if (fault_tmpdir(dir, sizeof(dir), "redecode") != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/r.db", dir);
	fault_install();
	if (fault_stderr_to(dir) != 0)
		return 1;

	check("every service value", "1", "0");
	check("every identity value", "0", "1");
	check(
	    "the first epoch's values", "s.from_rev <= 12", "i.from_rev <= 12");
	check(
	    "the second epoch's values", "s.from_rev > 12", "i.from_rev > 12");
	check("every value", "1", "1");
	check_pruned();
	check_rollback();
	check_churn();
	check_faults(0);
	check_faults(1);

	fault_stderr_remove();
	fault_db_remove(path);
	rmdir(dir);
	return done_testing();
}
