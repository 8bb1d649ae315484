/*
 * cmd_identity.c: "hindsight identity ID" and "hindsight labels SELECTOR".
 *
 * A numeric identity is reused after garbage collection, so an identity
 * row is one generation, keyed by (identity, create_rev): both commands
 * print generations, never merge them.  Lookups go through
 * identities_id (identity, from_rev) and labels_kv (key, value).
 */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "timespec.h"

static const char identity_help[] =
    "usage: hindsight identity ID [--at T]\n"
    "\n"
    "The labels and lifetime [from_rev, to_rev) of each generation of a\n"
    "numeric identity (a number reused after garbage collection is a new\n"
    "generation, shown separately), with the node IPs that used it.\n"
    "Without --at: every generation ever recorded.\n";

static const char labels_help[] =
    "usage: hindsight labels SELECTOR [--at T]\n"
    "\n"
    "Identities whose labels match every k=v of SELECTOR\n"
    "(e.g. 'k8s:app=web,io.kubernetes.pod.namespace=default'; a source\n"
    "prefix like k8s: is optional), with the IPs that held each one.\n"
    "Without --at: as of the latest recorded state.\n";

/*
 * The node IPs using a generation: with the users_at statement those at
 * revision from (to ignored), else those over [from, to) (to NULL: open).
 */
static void
users_cell(struct hq *q, sqlite3_stmt *us, int64_t identity,
    const char *cluster, int64_t from, int64_t to, int to_open)
{
	sqlite3_reset(us);
	sqlite3_bind_int64(us, 1, identity);
	sqlite3_bind_text(us, 2, cluster, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(us, 3, from);
	if (sqlite3_bind_parameter_count(us) >= 4) {
		if (to_open)
			sqlite3_bind_null(us, 4);
		else
			sqlite3_bind_int64(us, 4, to);
	}
	out_list_begin(q->out);
	while (hq_row(q, us))
		out_list_add(q->out, (const char *)sqlite3_column_text(us, 0));
	out_list_end(q->out);
	sqlite3_reset(us);
}

static const char gen_cols_sql[] =
    "SELECT i.identity, i.cluster, i.create_rev, i.labelset_id,"
    " i.from_rev, i.to_rev," INTERVAL_TIMES_SQL " FROM identities i"
    " LEFT JOIN revisions rf ON rf.rev = i.from_rev"
    " LEFT JOIN revisions rt ON rt.rev = i.to_rev";

/* Users valid somewhere in [?3, ?4): the identity's rows, by prefix. */
static const char users_sql[] =
    "SELECT DISTINCT node_ip FROM identity_users"
    " WHERE identity = ?1 AND cluster = ?2 AND (to_rev IS NULL OR"
    " to_rev > ?3) AND (?4 IS NULL OR from_rev < ?4) ORDER BY node_ip";

/*
 * Users at revision ?3.  A slave key's rows are consecutive intervals, so
 * only its latest row that began at or before ?3 can hold then: walk the
 * identity's distinct keys through identity_users_key (identity, key_id,
 * from_rev), one probe each, and keep the rows still open at ?3.  The
 * cost follows the keys (nodes) that used the identity, not its history
 * (schema/006_users.sql).
 */
static const char users_at_sql[] =
    "WITH RECURSIVE slave_keys(id) AS ("
    " SELECT min(key_id) FROM identity_users WHERE identity = ?1"
    " UNION ALL"
    " SELECT (SELECT min(key_id) FROM identity_users"
    "  WHERE identity = ?1 AND key_id > slave_keys.id)"
    " FROM slave_keys WHERE slave_keys.id IS NOT NULL)"
    " SELECT DISTINCT u.node_ip FROM slave_keys JOIN identity_users u"
    " ON u.rowid = (SELECT rowid FROM identity_users"
    "  WHERE identity = ?1 AND key_id = slave_keys.id AND from_rev <= ?3"
    "  ORDER BY from_rev DESC LIMIT 1)"
    " WHERE u.cluster = ?2 AND (u.to_rev IS NULL OR u.to_rev > ?3)"
    " ORDER BY u.node_ip";

/*
 * Print the generation in the current row of st.  With a point (pt not
 * NULL) the users are those at pt->rev, else over the generation.
 */
static void
gen_row(
    struct hq *q, sqlite3_stmt *st, sqlite3_stmt *us, const struct ts_point *pt)
{
	int64_t id = sqlite3_column_int64(st, 0);
	const char *cluster = (const char *)sqlite3_column_text(st, 1);

	out_row(q->out);
	out_int(q->out, id);
	out_str(q->out, cluster);
	out_int(q->out, sqlite3_column_int64(st, 2));
	hq_labels_cell(q, sqlite3_column_int64(st, 3));
	if (pt != NULL)
		users_cell(q, us, id, cluster, pt->rev, 0, 0);
	else
		users_cell(q, us, id, cluster, sqlite3_column_int64(st, 4),
		    sqlite3_column_int64(st, 5),
		    sqlite3_column_type(st, 5) == SQLITE_NULL);
}

int
cmd_identity(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *pos[1];
	const struct hq_opt opts[] = {
	    {"at", 1, &at, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"identity", "cluster", "generation", "labels",
	    "nodes", "from_rev", "to_rev", INTERVAL_TIMES_COLS, TS_AT_COLS,
	    NULL};
	struct ts_spec spec;
	struct ts_point pt;
	sqlite3_stmt *st, *us;
	char *sql;
	int64_t id;
	int npos, rc;

	if ((rc = hq_args(
		 q, argc, argv, opts, pos, 1, 1, &npos, identity_help)) != 0)
		return rc;
	if (hs_parse_i64(pos[0], strlen(pos[0]), &id) != 0 || id < 0 ||
	    pos[0][0] == '-' || pos[0][0] == '+')
		return hq_usage(q, "'%s' is not a numeric identity", pos[0]);
	if ((rc = ts_arg(q, "at", at, &spec)) != 0)
		return rc;
	if ((rc = hq_open(q)) != 0)
		return hq_close(q, rc);
	if ((rc = ts_point(q, &spec, &pt)) != 0 ||
	    (at == NULL && (rc = ts_history_gaps(q, &pt)) != 0))
		return hq_close(q, rc);
	sql = sqlite3_mprintf("%s WHERE i.identity = ?1%s"
			      " ORDER BY i.from_rev, i.cluster",
	    gen_cols_sql,
	    at == NULL ? ""
		       : " AND i.from_rev <= ?2 AND (i.to_rev IS NULL OR "
			 "i.to_rev > ?2)");
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	us = hq_prepare(q, at != NULL ? users_at_sql : users_sql);
	if (st == NULL || us == NULL) {
		sqlite3_finalize(st);
		sqlite3_finalize(us);
		return hq_close(q, HQ_NODB);
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, pt.rev);
	ts_echo_at(q, at != NULL ? "as of" : "history through", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gen_row(q, st, us, at != NULL ? &pt : NULL);
		hq_int_col(q, st, 4);
		hq_int_col(q, st, 5);
		hq_interval_times(q, st, 6);
		ts_cells_at(q, &pt);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(us);
	if (rc != SQLITE_DONE)
		return hq_close(q, hq_dberr(q, "reading identities"));
	return hq_close(q, 0);
}

#define MAX_TERMS 16

struct term {
	char *source; /* NULL: any source */
	char *key;
	char *value;
};

/*
 * Split "k=v[,k=v]" with an optional "source:" before k into terms.
 * Modifies s.  Returns the number of terms, or -1 when malformed.
 */
static int
parse_selector(char *s, struct term *t)
{
	char *part, *save = NULL, *eq, *colon;
	int n = 0;

	/* strtok_r would skip empty pieces: ",a=b", "a=b,,c=d", "a=b,". */
	if (*s == '\0' || *s == ',' || s[strlen(s) - 1] == ',' ||
	    strstr(s, ",,") != NULL)
		return -1;
	for (part = strtok_r(s, ",", &save); part != NULL;
	     part = strtok_r(NULL, ",", &save)) {
		if (n == MAX_TERMS || (eq = strchr(part, '=')) == NULL ||
		    eq == part)
			return -1;
		*eq = '\0';
		t[n].value = eq + 1;
		colon = strchr(part, ':');
		if (colon != NULL && colon != part) {
			*colon = '\0';
			t[n].source = strcmp(part, "any") == 0 ? NULL : part;
			t[n].key = colon + 1;
		} else {
			t[n].source = NULL;
			t[n].key = colon != NULL ? colon + 1 : part;
		}
		if (t[n].key[0] == '\0')
			return -1;
		n++;
	}
	return n;
}

int
cmd_labels(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *pos[1];
	const struct hq_opt opts[] = {
	    {"at", 1, &at, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"identity", "cluster", "generation", "labels",
	    "ips", "nodes", "from_rev", "to_rev", INTERVAL_TIMES_COLS,
	    TS_AT_COLS, NULL};
	struct term terms[MAX_TERMS];
	struct ts_spec spec;
	struct ts_point pt;
	sqlite3_stmt *st = NULL, *us = NULL, *ips = NULL;
	char *sel, *sql = NULL, *tmp;
	int npos, rc, n, i;

	if ((rc = hq_args(
		 q, argc, argv, opts, pos, 1, 1, &npos, labels_help)) != 0)
		return rc;
	if ((sel = strdup(pos[0])) == NULL)
		return hq_usage(q, "out of memory");
	if ((n = parse_selector(sel, terms)) <= 0) {
		free(sel);
		return hq_usage(q,
		    "bad selector '%s' (want k=v[,k=v], "
		    "e.g. k8s:app=web)",
		    pos[0]);
	}
	if ((rc = ts_arg(q, "at", at, &spec)) != 0 || (rc = hq_open(q)) != 0 ||
	    (rc = ts_point(q, &spec, &pt)) != 0) {
		free(sel);
		return hq_close(q, rc);
	}
	/* Every term is an index probe on labels_kv; INTERSECT joins them. */
	sql = sqlite3_mprintf("%s WHERE i.labelset_id IN (", gen_cols_sql);
	for (i = 0; i < n && sql != NULL; i++) {
		tmp = sqlite3_mprintf("%s%sSELECT labelset_id FROM labels "
				      "WHERE key = ?%d AND value = ?%d",
		    sql, i > 0 ? " INTERSECT " : "", 3 * i + 2, 3 * i + 3);
		sqlite3_free(sql);
		sql = tmp;
		if (sql != NULL && terms[i].source != NULL) {
			tmp = sqlite3_mprintf(
			    "%s AND source = ?%d", sql, 3 * i + 4);
			sqlite3_free(sql);
			sql = tmp;
		}
	}
	if (sql != NULL) {
		tmp = sqlite3_mprintf("%s) AND i.from_rev <= ?1 AND "
				      "(i.to_rev IS NULL OR i.to_rev > ?1) "
				      "ORDER BY i.identity, i.from_rev",
		    sql);
		sqlite3_free(sql);
		sql = tmp;
	}
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	us = hq_prepare(q, users_at_sql);
	/*
	 * Every ipcache row of the identity, namespace or not: values of
	 * Cilium before 1.7 name none (ipcache_identity lookup).
	 */
	ips = hq_prepare(q,
	    "SELECT ip FROM ipcache"
	    " WHERE identity = ?1"
	    " AND from_rev <= ?2 AND (to_rev IS NULL OR to_rev > ?2)"
	    " ORDER BY ip_bin");
	if (st == NULL || us == NULL || ips == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, pt.rev);
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(
		    st, 3 * i + 2, terms[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		    st, 3 * i + 3, terms[i].value, -1, SQLITE_STATIC);
		if (terms[i].source != NULL)
			sqlite3_bind_text(
			    st, 3 * i + 4, terms[i].source, -1, SQLITE_STATIC);
	}
	ts_echo_at(q, "as of", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		out_int(q->out, sqlite3_column_int64(st, 0));
		hq_str_col(q, st, 1);
		out_int(q->out, sqlite3_column_int64(st, 2));
		hq_labels_cell(q, sqlite3_column_int64(st, 3));
		sqlite3_reset(ips);
		sqlite3_bind_int64(ips, 1, sqlite3_column_int64(st, 0));
		sqlite3_bind_int64(ips, 2, pt.rev);
		out_list_begin(q->out);
		while (hq_row(q, ips))
			out_list_add(
			    q->out, (const char *)sqlite3_column_text(ips, 0));
		out_list_end(q->out);
		users_cell(q, us, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), pt.rev, 0, 0);
		hq_int_col(q, st, 4);
		hq_int_col(q, st, 5);
		hq_interval_times(q, st, 6);
		ts_cells_at(q, &pt);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading identities");
done:
	sqlite3_finalize(st);
	sqlite3_finalize(us);
	sqlite3_finalize(ips);
	free(sel);
	return hq_close(q, rc);
}
