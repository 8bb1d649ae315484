/*
 * cmd_status.c: "hindsight status" (what the db covers and how healthy
 * the recording is) and "hindsight sql" (read-only SQL for everything the
 * commands do not ask).
 *
 * sql runs on the read-only, query_only connection, and refuses each
 * statement sqlite3_stmt_readonly() does not vouch for; an authorizer
 * also refuses ATTACH, which is "read-only" to SQLite but would open (or
 * create) another file.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "hsdb.h"
#include "timespec.h"

static const char status_help[] =
    "usage: hindsight status\n"
    "\n"
    "Coverage (first snapshot, watermark), gaps, the etcd cluster, event\n"
    "and row counts, db size, and lag: how long ago the watermark was\n"
    "last advanced.  JSON: an array holding one object.\n";

static const char sql_help[] =
    "usage: hindsight sql 'SELECT ...'\n"
    "\n"
    "Run one read-only SQL statement over the db's tables and views\n"
    "(changes, rev_times, identity_history, ip_history, node_history,\n"
    "service_history, ...).  Anything that would write is refused.\n"
    "\n"
    "With several --db, every table and view name is the UNION ALL of it\n"
    "over every db, with a first column etcd_cluster naming the db; each\n"
    "db is also ATTACHed under its name (\"NAME\".ip_history).\n";

/* The integer sql yields (0 for no row), with ?1 bound to arg if given. */
static int
scalar(struct hq *q, const char *sql, const char *arg, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = hq_prepare(q, sql)) == NULL) {
		hq_fail(q, NULL);
		return -1;
	}
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	*v = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		hq_fail(q, "reading");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* A meta value as a cell, null when absent; -1 (said) when unreadable. */
static int
meta_cell(struct hq *q, const char *name, int as_time)
{
	char buf[256];
	int64_t v;
	int rc = as_time ? hsdb_meta_read_int(q->db, name, &v)
			 : hsdb_meta_read_text(q->db, name, buf, sizeof(buf));

	if (rc < 0) {
		hq_fail(q, "reading meta");
		return -1;
	}
	if (rc == 0)
		out_null(q->out);
	else if (as_time)
		out_time(q->out, v, 1);
	else
		out_str(q->out, buf);
	return 0;
}

/* The gaps as a JSON array and as text "from-to reason (t1..t2); ...". */
static int
gaps_cell(struct hq *q)
{
	sqlite3_stmt *st;
	cJSON *arr, *o;
	char *text = NULL, *t, a[40], b[40];
	int rc;

	if ((st = hq_prepare(q,
		 "SELECT from_rev, to_rev, from_us, to_us,"
		 " reason FROM gaps ORDER BY from_rev")) == NULL)
		return -1;
	arr = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			snprintf(a, sizeof(a), "unknown");
		else
			hs_rfc3339_format(
			    sqlite3_column_int64(st, 2), a, sizeof(a));
		hs_rfc3339_format(sqlite3_column_int64(st, 3), b, sizeof(b));
		if ((o = cJSON_CreateObject()) != NULL) {
			char n[32];

			snprintf(
			    n, sizeof(n), "%lld", sqlite3_column_int64(st, 0));
			cJSON_AddRawToObject(o, "from_rev", n);
			snprintf(
			    n, sizeof(n), "%lld", sqlite3_column_int64(st, 1));
			cJSON_AddRawToObject(o, "to_rev", n);
			if (sqlite3_column_type(st, 2) == SQLITE_NULL)
				cJSON_AddNullToObject(o, "from_time");
			else
				cJSON_AddStringToObject(o, "from_time", a);
			cJSON_AddStringToObject(o, "to_time", b);
			cJSON_AddStringToObject(o, "reason",
			    (const char *)sqlite3_column_text(st, 4));
			cJSON_AddItemToArray(arr, o);
		}
		t = sqlite3_mprintf("%s%s%lld-%lld %s (%s..%s)",
		    text ? text : "", text ? "; " : "",
		    sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_text(st, 4), a, b);
		sqlite3_free(text);
		text = t;
	}
	sqlite3_finalize(st);
	out_json(q->out, arr, text ? text : "none");
	sqlite3_free(text);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
cmd_status(struct hq *q, int argc, char **argv)
{
	const char *cols[] = {"db", "first_rev", "first_time", "recorded_rev",
	    "recorded_time", "lag_seconds", "newest_rev", "events", "gaps",
	    "etcd_cluster_id", "epoch", "prefix", "db_bytes", "keys", "vals",
	    "identities", "identity_users", "ipcache", "nodes", "services",
	    "decode_errors", "inferred_events", "pruned_through_rev",
	    "pruned_time", "pruned_rows", NULL};
	/* Kept by the recorder as it writes (schema/007_counts.sql). */
	static const char *const counts[] = {"events", "keys", "vals",
	    "identities", "identity_users", "ipcache", "nodes", "services",
	    "decode_errors", "inferred_events"};
	static const char count_sql[] =
	    "SELECT n FROM row_counts WHERE name = ?1";
	const char *pos[1];
	int64_t v, pages, psize, newest;
	int npos, rc;
	size_t i;

	if ((rc = hq_args(
		 q, argc, argv, NULL, pos, 0, 0, &npos, status_help)) != 0)
		return rc;
	if ((rc = hq_open(q)) != 0)
		return hq_close(q, rc);
	if (scalar(q, "PRAGMA page_count", NULL, &pages) != 0 ||
	    scalar(q, "PRAGMA page_size", NULL, &psize) != 0 ||
	    scalar(q, "SELECT coalesce(max(rev), 0) FROM revisions", NULL,
		&newest) != 0)
		return hq_close(q, HQ_NODB);
	out_vertical(q->out);
	out_columns(q->out, cols);
	out_row(q->out);
	out_str(q->out, q->dbpath);
	if (q->have_first) {
		/* The first snapshot: --retain's horizon is pruned_through_rev.
		 */
		out_int(q->out, q->snap_rev);
		out_time(q->out, q->snap_us, 1);
	} else {
		out_null(q->out);
		out_null(q->out);
	}
	if (q->have_recorded) {
		out_int(q->out, q->recorded_rev);
		out_time(q->out, q->recorded_us, 1);
		out_real(q->out, (double)(q->now_us - q->recorded_us) / 1e6);
	} else {
		out_null(q->out);
		out_null(q->out);
		out_null(q->out);
	}
	out_int(q->out, newest);
	if (scalar(q, count_sql, counts[0], &v) != 0)
		return hq_close(q, HQ_NODB);
	out_int(q->out, v);
	if (gaps_cell(q) != 0) {
		hq_fail(q, "reading gaps");
		return hq_close(q, HQ_NODB);
	}
	if (meta_cell(q, "etcd_cluster_id", 0) != 0)
		return hq_close(q, HQ_NODB);
	out_int(q->out, q->epoch);
	if (meta_cell(q, "prefix", 0) != 0)
		return hq_close(q, HQ_NODB);
	out_int(q->out, pages * psize);
	for (i = 1; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (scalar(q, count_sql, counts[i], &v) != 0)
			return hq_close(q, HQ_NODB);
		out_int(q->out, v);
	}
	/*
	 * What the recorder's --retain removed, if anything: the horizon as
	 * hq_open() found it (a round cut short counts up to its cut).
	 */
	if (q->prune_rev == 0) {
		out_null(q->out);
		out_null(q->out);
		out_null(q->out);
		return hq_close(q, 0);
	}
	out_int(q->out, q->prune_rev);
	out_time(q->out, q->prune_us, 1);
	if ((rc = hsdb_meta_read_int(q->db, "pruned_rows", &v)) < 0) {
		hq_fail(q, "reading meta");
		return hq_close(q, HQ_NODB);
	}
	if (rc == 1)
		out_int(q->out, v);
	else
		out_null(q->out);
	return hq_close(q, 0);
}

static int
deny_attach(void *arg, int action, const char *a, const char *b, const char *c,
    const char *d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY
								  : SQLITE_OK;
}

static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' &&
		    *s != ';')
			return 0;
	return 1;
}

static int
name_taken(const char *const *cols, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (cols[i] != NULL && strcmp(cols[i], name) == 0)
			return 1;
	return 0;
}

/*
 * A join's columns often share names (from_rev, labels): a JSON object
 * would keep only the last of each.  The second becomes name_2, and so
 * on (in csv and table too, so every format has the same columns).  New
 * names go to own[i] (sqlite3_free).  -1 when out of memory.
 */
static int
unique_names(const char **cols, char **own, int n)
{
	const char *name;
	int i, k;

	for (i = 1; i < n; i++) {
		if (!name_taken(cols, i, cols[i]))
			continue;
		name = cols[i];
		for (k = 2;; k++) {
			own[i] = sqlite3_mprintf("%s_%d", name, k);
			if (own[i] == NULL)
				return -1;
			if (!name_taken(cols, n, own[i]))
				break;
			sqlite3_free(own[i]);
			own[i] = NULL;
		}
		cols[i] = own[i];
	}
	return 0;
}

/*
 * Whether a failed step is the statement's fault (a usage error: exit 1),
 * not the db's.
 */
static int
sql_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_ERROR:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_NOMEM: /* a statement asking for too much */
		return 1;
	default:
		return 0;
	}
}

int
cmd_sql(struct hq *q, int argc, char **argv)
{
	const char *pos[1], *tail, **cols = NULL;
	sqlite3_stmt *st = NULL;
	char *b64, **own = NULL;
	int npos, rc, n = 0, i;

	if ((rc = hq_args(q, argc, argv, NULL, pos, 1, 1, &npos, sql_help)) !=
	    0)
		return rc;
	if (blank(pos[0]))
		return hq_usage(q, "empty statement");
	if ((rc = hq_name_dbs(q)) != 0)
		return rc;
	/* Several dbs: ATTACHed, with union views (hq_open_attached). */
	if ((rc = q->multi ? hq_open_attached(q) : hq_open(q)) != 0)
		return hq_close(q, rc);
	sqlite3_set_authorizer(q->db, deny_attach, NULL);
	if ((rc = sqlite3_prepare_v2(q->db, pos[0], -1, &st, &tail)) !=
	    SQLITE_OK) {
		/* Reading the schema can fail too: that is the db's. */
		rc = sql_error(rc) || (rc & 0xff) == SQLITE_AUTH
		    ? hq_usage(q, "%s", sqlite3_errmsg(q->db))
		    : hq_dberr(q, "preparing the statement");
		goto done;
	}
	if (st == NULL) {
		rc = hq_usage(q, "empty statement");
		goto done;
	}
	/* What follows may be comments: they prepare to no statement. */
	if (tail != NULL && !blank(tail)) {
		sqlite3_stmt *more = NULL;

		if (sqlite3_prepare_v2(q->db, tail, -1, &more, NULL) !=
			SQLITE_OK ||
		    more != NULL) {
			sqlite3_finalize(more);
			rc = hq_usage(q, "one statement at a time");
			goto done;
		}
	}
	if (!sqlite3_stmt_readonly(st)) {
		rc = hq_usage(q,
		    "refusing a statement that writes: the db is "
		    "opened read-only");
		goto done;
	}
	n = sqlite3_column_count(st);
	if ((cols = calloc((size_t)n + 1, sizeof(*cols))) == NULL ||
	    (own = calloc((size_t)n + 1, sizeof(*own))) == NULL) {
		rc = hq_usage(q, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		cols[i] = sqlite3_column_name(st, i);
	if (unique_names(cols, own, n) != 0) {
		rc = hq_usage(q, "out of memory");
		goto done;
	}
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		for (i = 0; i < n; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				out_int(q->out, sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				out_real(q->out, sqlite3_column_double(st, i));
				break;
			case SQLITE_TEXT:
				hq_str_col(q, st, i);
				break;
			case SQLITE_BLOB:
				/* Bytes as base64: JSON and CSV are text. */
				b64 = malloc(hs_b64_enclen(
				    (size_t)sqlite3_column_bytes(st, i)));
				if (b64 == NULL) {
					out_null(q->out);
					break;
				}
				hs_b64_encode(sqlite3_column_blob(st, i),
				    (size_t)sqlite3_column_bytes(st, i), b64);
				out_str(q->out, b64);
				free(b64);
				break;
			default:
				out_null(q->out);
			}
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_READONLY || rc == SQLITE_AUTH ||
	    (rc & 0xff) == SQLITE_READONLY)
		rc = hq_usage(q, "refused: %s", sqlite3_errmsg(q->db));
	else if (sql_error(rc))
		rc = hq_usage(q, "%s", sqlite3_errmsg(q->db));
	else /* the db failed (I/O, corrupt, busy, memory): exit 2 */
		rc = hq_dberr(q, "running the statement");
done:
	for (i = 0; own != NULL && i < n; i++)
		sqlite3_free(own[i]);
	free(own);
	free(cols);
	sqlite3_finalize(st);
	return hq_close(q, rc);
}
