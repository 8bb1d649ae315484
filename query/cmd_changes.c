/*
 * cmd_changes.c: the raw change log: "key KEY" (one key's history),
 * "changes" (every event in a window), "diff T1 T2" (what differs between
 * two states) and "snapshot" (the whole state at a revision).
 *
 * All four read events, the exactly-once log, so they work for every key
 * whether or not its kind decodes.  A key's state at R is its latest
 * event at or before R (one probe of events_key (key_id, rev)): present
 * when that is a PUT.  Keys and values are printed byte-exact: as text
 * when they are UTF-8 (without NUL), else as key_base64 / value_base64.
 */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "timespec.h"

static const char key_help[] =
    "usage: hindsight key KEY | key --base64 B64\n"
    "\n"
    "Every recorded event on KEY (known kind or not): revision, time,\n"
    "PUT/DELETE, value (value_base64 when not UTF-8), lease, create_rev,\n"
    "version, and whether the event was seen, found by the first\n"
    "snapshot, or inferred after a gap.  KEY is matched byte for byte;\n"
    "--base64 takes it as an answer's key_base64 gives it (any bytes,\n"
    "NUL included).\n";

static const char changes_help[] =
    "usage: hindsight changes [--from T1] [--to T2] [--kind K] "
    "[--prefix P]\n"
    "\n"
    "Every change after T1 up to and including T2 (default: from the\n"
    "beginning to the watermark), optionally only keys of kind K or keys\n"
    "starting with P.  Changes reconstructed after a gap are marked\n"
    "inferred.  A key or value that is not UTF-8 comes as key_base64 or\n"
    "value_base64.\n";

static const char diff_help[] =
    "usage: hindsight diff T1 T2 [--kind K] [--prefix P]\n"
    "\n"
    "Keys whose value differs between the state as of T1 and as of T2:\n"
    "added, removed or changed, per kind, with the value before and\n"
    "after (key_base64, before_base64, after_base64 when not UTF-8).\n";

static const char snapshot_help[] =
    "usage: hindsight snapshot [--at T] [--kind K] [--prefix P]\n"
    "\n"
    "Every key present as of T (default: the latest recorded state), with\n"
    "its value byte-exact (key_base64, value_base64 when not UTF-8),\n"
    "create_rev, mod_rev, version and lease.\n";

/*
 * Validate --kind and turn --prefix into a half-open key range [P, P+),
 * P+ being P with its last byte incremented (keys compare as bytes).
 */
static int
filters(struct hq *q, const char *kind, const char *prefix, char **upper)
{
	size_t n;

	*upper = NULL;
	if (kind != NULL && !hq_kind_valid(kind))
		return hq_usage(
		    q, "unknown kind '%s' (kinds: %s)", kind, hq_kind_list());
	if (prefix == NULL || prefix[0] == '\0')
		return 0;
	n = strlen(prefix);
	if ((*upper = strdup(prefix)) == NULL)
		return hq_usage(q, "out of memory");
	while (n > 0 && (unsigned char)(*upper)[n - 1] == 0xff)
		(*upper)[--n] = '\0';
	if (n > 0)
		(*upper)[n - 1]++;
	return 0;
}

static char *
filter_sql(const char *kind, const char *upper, int kidx)
{
	char *k, *p, *r = NULL;

	k = kind != NULL ? sqlite3_mprintf(" AND k.kind = ?%d", kidx)
			 : sqlite3_mprintf("%s", "");
	if (upper == NULL)
		p = sqlite3_mprintf("%s", "");
	else if (upper[0] != '\0')
		p = sqlite3_mprintf(
		    " AND k.key >= ?%d AND k.key < ?%d", kidx + 1, kidx + 2);
	else
		p = sqlite3_mprintf(" AND k.key >= ?%d", kidx + 1);
	if (k != NULL && p != NULL)
		r = sqlite3_mprintf("%s%s", k, p);
	sqlite3_free(k);
	sqlite3_free(p);
	return r;
}

static void
bind_filters(sqlite3_stmt *st, const char *kind, const char *prefix,
    const char *upper, int kidx)
{
	if (kind != NULL)
		sqlite3_bind_text(st, kidx, kind, -1, SQLITE_STATIC);
	if (upper != NULL) {
		sqlite3_bind_text(st, kidx + 1, prefix, -1, SQLITE_STATIC);
		if (upper[0] != '\0')
			sqlite3_bind_text(
			    st, kidx + 2, upper, -1, SQLITE_STATIC);
	}
}

/* The event columns shared by key and changes, and their SELECT list. */
#define EVENT_COLS                                                             \
	"rev", "etcd_rev", "time", "time_lo", "type", "key", "key_base64",     \
	    "kind", "value", "value_base64", "lease", "create_rev", "version", \
	    "origin", "inferred"

static const char event_select[] =
    "SELECT e.rev, r.etcd_rev,"
    " CASE WHEN r.t_lo_us IS NULL THEN NULL ELSE r.t_hi_us END,"
    " CASE WHEN r.t_lo_us < r.t_hi_us THEN r.t_lo_us END,"
    " e.type, k.key, k.kind, v.value, e.lease, e.create_rev, e.version,"
    " e.origin"
    " FROM events e JOIN keys k ON k.id = e.key_id"
    " LEFT JOIN vals v ON v.id = e.val_id"
    " LEFT JOIN revisions r ON r.rev = e.rev";

static void
event_cells(struct hq *q, sqlite3_stmt *st)
{
	static const char *const origins[] = {"watch", "snapshot", "inferred"};
	int64_t origin = sqlite3_column_int64(st, 11);

	out_row(q->out);
	out_int(q->out, sqlite3_column_int64(st, 0));
	hq_int_col(q, st, 1);
	hq_time_col(q, st, 2);
	hq_time_col(q, st, 3);
	out_str(q->out, sqlite3_column_int64(st, 4) == 0 ? "PUT" : "DELETE");
	hq_bytes_cells(q, st, 5);
	hq_str_col(q, st, 6);
	hq_bytes_cells(q, st, 7);
	out_int(q->out, sqlite3_column_int64(st, 8));
	hq_int_col(q, st, 9);
	hq_int_col(q, st, 10);
	out_str(q->out, origin >= 0 && origin <= 2 ? origins[origin] : "?");
	out_bool(q->out, origin == 2);
}

int
cmd_key(struct hq *q, int argc, char **argv)
{
	const char *pos[1];
	const char *cols[] = {EVENT_COLS, TS_AT_COLS, NULL};
	int b64 = 0;
	const struct hq_opt opts[] = {
	    {"base64", 0, NULL, &b64}, {NULL, 0, NULL, NULL}};
	struct ts_point pt;
	sqlite3_stmt *st;
	unsigned char *key = NULL;
	long keylen;
	char *sql;
	int npos, rc;

	if ((rc = hq_args(q, argc, argv, opts, pos, 1, 1, &npos, key_help)) !=
	    0)
		return rc;
	keylen = (long)strlen(pos[0]);
	if (b64) {
		if ((key = malloc(hs_b64_declen(strlen(pos[0])) + 1)) == NULL)
			return hq_usage(q, "out of memory");
		if ((keylen = hs_b64_decode(pos[0], strlen(pos[0]), key)) < 0) {
			free(key);
			return hq_usage(
			    q, "--base64: '%s' is not base64", pos[0]);
		}
	}
	if ((rc = hq_open(q)) != 0 || (rc = ts_latest(q, &pt)) != 0 ||
	    (rc = ts_history_gaps(q, &pt)) != 0) {
		free(key);
		return hq_close(q, rc);
	}
	/* keys.key is UNIQUE, then events_key (key_id, rev). */
	sql = sqlite3_mprintf(
	    "%s WHERE k.key = ?1 ORDER BY e.rev, e.seq", event_select);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL) {
		free(key);
		return hq_close(q, HQ_NODB);
	}
	sqlite3_bind_text(st, 1, key != NULL ? (const char *)key : pos[0],
	    (int)keylen, SQLITE_STATIC);
	ts_echo_at(q, "history through", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		event_cells(q, st);
		ts_cells_at(q, &pt);
	}
	sqlite3_finalize(st);
	free(key);
	return hq_close(
	    q, rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading events"));
}

int
cmd_changes(struct hq *q, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *kind = NULL, *prefix = NULL;
	const char *pos[1];
	const struct hq_opt opts[] = {{"from", 1, &from, NULL},
	    {"to", 1, &to, NULL}, {"kind", 1, &kind, NULL},
	    {"prefix", 1, &prefix, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {EVENT_COLS, TS_WINDOW_COLS, NULL};
	struct ts_spec s1, s2;
	struct ts_point p1, p2;
	sqlite3_stmt *st = NULL;
	char *upper = NULL, *f, *sql;
	int npos, rc;

	if ((rc = hq_args(
		 q, argc, argv, opts, pos, 0, 0, &npos, changes_help)) != 0)
		return rc;
	if ((rc = filters(q, kind, prefix, &upper)) != 0 ||
	    (rc = ts_window_args(q, from, to, &s1, &s2)) != 0 ||
	    (rc = hq_open(q)) != 0)
		goto done;
	if (from != NULL) {
		if ((rc = ts_point(q, &s1, &p1)) != 0)
			goto done;
	} else
		ts_beginning(q, &p1);
	if ((rc = ts_point(q, &s2, &p2)) != 0 ||
	    (rc = ts_window_gaps(q, &p1, &p2)) != 0)
		goto done;
	f = filter_sql(kind, upper, 3);
	sql = sqlite3_mprintf("%s WHERE e.rev > ?1 AND e.rev <= ?2%s"
			      " ORDER BY e.rev, e.seq",
	    event_select, f ? f : "");
	sqlite3_free(f);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, p1.rev);
	sqlite3_bind_int64(st, 2, p2.rev);
	bind_filters(st, kind, prefix, upper, 3);
	ts_echo_window(q, &p1, &p2);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		event_cells(q, st);
		ts_cells_window(q, &p1, &p2);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading events");
done:
	sqlite3_finalize(st);
	free(upper);
	return hq_close(q, rc);
}

int
cmd_snapshot(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *kind = NULL, *prefix = NULL, *pos[1];
	const struct hq_opt opts[] = {{"at", 1, &at, NULL},
	    {"kind", 1, &kind, NULL}, {"prefix", 1, &prefix, NULL},
	    {NULL, 0, NULL, NULL}};
	const char *cols[] = {"key", "key_base64", "kind", "value",
	    "value_base64", "create_rev", "mod_rev", "version", "lease",
	    TS_AT_COLS, NULL};
	struct ts_spec spec;
	struct ts_point pt;
	sqlite3_stmt *st = NULL;
	char *upper = NULL, *f, *sql;
	int npos, rc;

	if ((rc = hq_args(
		 q, argc, argv, opts, pos, 0, 0, &npos, snapshot_help)) != 0)
		return rc;
	if ((rc = filters(q, kind, prefix, &upper)) != 0 ||
	    (rc = ts_arg(q, "at", at, &spec)) != 0 || (rc = hq_open(q)) != 0 ||
	    (rc = ts_point(q, &spec, &pt)) != 0)
		goto done;
	f = filter_sql(kind, upper, 2);
	/*
	 * Per key (in key order, through keys' unique index) its latest
	 * event at or before R (one events_key probe), if a PUT.
	 */
	sql = sqlite3_mprintf(
	    "SELECT k.key, k.kind, v.value, e.create_rev,"
	    " coalesce(e.mod_rev, e.rev), e.version,"
	    " e.lease FROM keys k CROSS JOIN events e INDEXED BY events_key"
	    " ON e.key_id = k.id"
	    " AND e.rev = (SELECT max(l.rev) FROM events l"
	    " WHERE l.key_id = k.id AND l.rev <= ?1)"
	    " LEFT JOIN vals v ON v.id = e.val_id"
	    " WHERE e.type = 0%s ORDER BY k.key",
	    f ? f : "");
	sqlite3_free(f);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, pt.rev);
	bind_filters(st, kind, prefix, upper, 2);
	ts_echo_at(q, "as of", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_bytes_cells(q, st, 0);
		hq_str_col(q, st, 1);
		hq_bytes_cells(q, st, 2);
		hq_int_col(q, st, 3);
		out_int(q->out, sqlite3_column_int64(st, 4));
		hq_int_col(q, st, 5);
		out_int(q->out, sqlite3_column_int64(st, 6));
		ts_cells_at(q, &pt);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading events");
done:
	sqlite3_finalize(st);
	free(upper);
	return hq_close(q, rc);
}

/*
 * The state of one key at a revision: the latest event at or before it
 * (events_key lookup).  Fills the value columns of out into *present.
 */
static int
state_at(sqlite3_stmt *ev, int64_t key_id, int64_t rev, int *present)
{
	int rc;

	sqlite3_reset(ev);
	sqlite3_bind_int64(ev, 1, key_id);
	sqlite3_bind_int64(ev, 2, rev);
	rc = sqlite3_step(ev);
	*present = rc == SQLITE_ROW && sqlite3_column_int64(ev, 1) == 0;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
cmd_diff(struct hq *q, int argc, char **argv)
{
	const char *kind = NULL, *prefix = NULL, *pos[2];
	const struct hq_opt opts[] = {{"kind", 1, &kind, NULL},
	    {"prefix", 1, &prefix, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"change", "kind", "key", "key_base64", "before",
	    "before_base64", "after", "after_base64", "before_rev", "after_rev",
	    TS_WINDOW_COLS, NULL};
	struct ts_spec s1, s2;
	struct ts_point p1, p2;
	sqlite3_stmt *st = NULL, *e1 = NULL, *e2 = NULL;
	char *upper = NULL, *f, *sql;
	int npos, rc, had, has, same;
	int64_t key_id;

	if ((rc = hq_args(q, argc, argv, opts, pos, 2, 2, &npos, diff_help)) !=
	    0)
		return rc;
	if ((rc = filters(q, kind, prefix, &upper)) != 0 ||
	    (rc = ts_arg(q, NULL, pos[0], &s1)) != 0 ||
	    (rc = ts_arg(q, NULL, pos[1], &s2)) != 0 ||
	    (rc = hq_open(q)) != 0 || (rc = ts_point(q, &s1, &p1)) != 0 ||
	    (rc = ts_point(q, &s2, &p2)) != 0)
		goto done;
	/* Only keys with an event between the two points can differ. */
	f = filter_sql(kind, upper, 3);
	sql =
	    sqlite3_mprintf("SELECT k.id, k.kind, k.key FROM keys k"
			    " WHERE k.id IN (SELECT key_id FROM events"
			    " WHERE rev > min(?1, ?2) AND rev <= max(?1, ?2))%s"
			    " ORDER BY k.kind, k.key",
		f ? f : "");
	sqlite3_free(f);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
#define STATE_SQL                                                              \
	"SELECT e.rev, e.type, v.value FROM events e"                          \
	" LEFT JOIN vals v ON v.id = e.val_id"                                 \
	" WHERE e.key_id = ?1 AND e.rev <= ?2 ORDER BY e.rev DESC LIMIT 1"
	e1 = hq_prepare(q, STATE_SQL);
	e2 = hq_prepare(q, STATE_SQL);
	if (st == NULL || e1 == NULL || e2 == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, p1.rev);
	sqlite3_bind_int64(st, 2, p2.rev);
	bind_filters(st, kind, prefix, upper, 3);
	ts_echo_window(q, &p1, &p2);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		key_id = sqlite3_column_int64(st, 0);
		if (state_at(e1, key_id, p1.rev, &had) != 0 ||
		    state_at(e2, key_id, p2.rev, &has) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
		if (!had && !has)
			continue;
		same = had && has &&
		    sqlite3_column_bytes(e1, 2) ==
			sqlite3_column_bytes(e2, 2) &&
		    memcmp(sqlite3_column_blob(e1, 2)
			    ? sqlite3_column_blob(e1, 2)
			    : "",
			sqlite3_column_blob(e2, 2) ? sqlite3_column_blob(e2, 2)
						   : "",
			(size_t)sqlite3_column_bytes(e1, 2)) == 0;
		if (same)
			continue;
		out_row(q->out);
		out_str(q->out, !had ? "added" : !has ? "removed" : "changed");
		hq_str_col(q, st, 1);
		hq_bytes_cells(q, st, 2);
		if (had)
			hq_bytes_cells(q, e1, 2);
		else {
			out_null(q->out);
			out_null(q->out);
		}
		if (has)
			hq_bytes_cells(q, e2, 2);
		else {
			out_null(q->out);
			out_null(q->out);
		}
		if (had)
			out_int(q->out, sqlite3_column_int64(e1, 0));
		else
			out_null(q->out);
		if (has)
			out_int(q->out, sqlite3_column_int64(e2, 0));
		else
			out_null(q->out);
		ts_cells_window(q, &p1, &p2);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading events");
done:
	sqlite3_finalize(st);
	sqlite3_finalize(e1);
	sqlite3_finalize(e2);
	free(upper);
	return hq_close(q, rc);
}
