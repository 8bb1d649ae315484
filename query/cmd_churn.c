/*
 * cmd_churn.c: "hindsight churn", the weekly report: per period (day or
 * hour, UTC) and kind, how many keys were created, modified and deleted;
 * lease-only modifications (same value as the key's previous event, new
 * lease: an agent restart, not a change) are counted apart.  The table
 * format adds identities allocated/released and the top churning
 * namespaces and pods.
 *
 * The recorder keeps the counts per hour and per minute (churn,
 * churn_pods; see schema/004_churn.sql): the report sums the hours that
 * lie wholly inside its window (churn_spans says which revisions each
 * bucket spans), the whole minutes of the hours it cuts, and classifies
 * only the events of the minutes it cuts, from the raw log, the way the
 * recorder does: a PUT with etcd version 1 that was
 * seen live is a create; any other PUT needs its previous event (one
 * events_key probe) to tell a modification from a lease-only re-put.
 * Namespace and pod are hs_namespace()/hs_pod() (schema/kinds.c).
 * Events found by the first snapshot are not churn and are left out.
 * The top pods of a big window come from a threshold scan over each pod's
 * total (schema/005_pods.sql, top_pods_bounded()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "timespec.h"

static const char help[] =
    "usage: hindsight churn [--from T1 --to T2 | --last 7d] [--by day|hour]\n"
    "                       [--by-namespace]\n"
    "\n"
    "Per period (UTC day or hour) and kind: keys created, modified,\n"
    "modified only in their lease (lease_only), and deleted, after T1 up\n"
    "to T2 (default: the last 7 days up to now).  --by-namespace splits\n"
    "the rows by Kubernetes namespace.  The table also lists identities\n"
    "allocated and released and the top churning namespaces and pods.\n";

static int
duration(const char *s, int64_t *us)
{
	return hs_parse_duration(s, strlen(s), us) != 0 || *us <= 0 ? -1 : 0;
}

/*
 * The window (rev1, rev2] = (?1, ?2].  h: the hours with counted events
 * in it, whole when all of their events are inside; m: the minutes of the
 * other hours, alike; ev: the events of the minutes that are not whole
 * but inside the window, classified (cls: 0 created, 1 modified,
 * 2 lease-only, 3 deleted), with namespace and pod when %s asks.
 */
static const char ev_cte[] =
    "WITH h AS (SELECT bucket AS hour,"
    "  rev_lo > ?1 AND rev_hi <= ?2 AS whole FROM churn_spans"
    "  WHERE secs = 3600 AND rev_hi > ?1 AND rev_lo <= ?2),"
    " m AS (SELECT s.bucket AS minute, s.rev_lo, s.rev_hi,"
    "  s.rev_lo > ?1 AND s.rev_hi <= ?2 AS whole FROM h"
    "  JOIN churn_spans s ON s.secs = 60"
    "  AND s.bucket BETWEEN h.hour * 60 AND h.hour * 60 + 59"
    "  WHERE NOT h.whole AND s.rev_hi > ?1 AND s.rev_lo <= ?2),"
    /*
     * Each event classified once, starting from the few minutes (CROSS
     * JOIN keeps SQLite's planner from scanning every revision instead).
     */
    " ev AS MATERIALIZED (SELECT r.t_hi_us AS t, k.kind AS kind,"
    " CASE WHEN e.type = 1 THEN 3"
    /* etcd's version is 1 on a create: no lookup for most events. */
    "  WHEN e.version = 1 AND e.origin = 0 THEN 0"
    "  ELSE coalesce((SELECT CASE WHEN p.type = 1 THEN 0"
    /* Re-created in a gap: another create_revision (recorder/store.c). */
    "   WHEN p.create_rev != e.create_rev THEN 0"
    "   WHEN p.val_id IS e.val_id AND p.lease != e.lease THEN 2"
    "   ELSE 1 END FROM events p WHERE p.key_id = e.key_id"
    "   AND p.rev < e.rev ORDER BY p.rev DESC LIMIT 1), 0) END AS cls%s"
    " FROM m CROSS JOIN events e ON e.rev > max(m.rev_lo - 1, ?1)"
    "  AND e.rev <= min(m.rev_hi, ?2)"
    " CROSS JOIN keys k ON k.id = e.key_id"
    " CROSS JOIN revisions r ON r.rev = e.rev%s"
    " WHERE NOT m.whole AND e.origin != 1"
    "  AND r.t_hi_us / 60000000 = m.minute) ";

/*
 * Namespace and pod, from the value (a DELETE carries none: then from the
 * key's previous value).
 */
static const char ns_select[] =
    ", hs_namespace(k.kind, k.key, CAST(v.value AS TEXT)) AS ns,"
    " hs_pod(k.kind, k.key, CAST(v.value AS TEXT)) AS pod";
static const char ns_join[] =
    " LEFT JOIN vals v ON v.id = coalesce(e.val_id,"
    "  (SELECT p.val_id FROM events p WHERE p.key_id = e.key_id"
    "   AND p.rev < e.rev ORDER BY p.rev DESC LIMIT 1))";
static const char no_ns[] = ", NULL AS ns, NULL AS pod";

/*
 * The window's counts, one relation: whole hours, whole minutes of the
 * other hours, then raw events.  cols name the bucket's columns (c.secs
 * is its length) as the raw events' ev_cols do.
 */
#define ROWS(tbl, cols, ev_cols, ev_where)                                     \
	", rows AS (SELECT " cols ", c.created AS c0, c.modified AS c1,"       \
	" c.lease_only AS c2, c.deleted AS c3 FROM h JOIN " tbl " c"           \
	" ON c.secs = 3600 AND c.bucket = h.hour WHERE h.whole"                \
	" UNION ALL SELECT " cols ", c.created, c.modified, c.lease_only,"     \
	" c.deleted FROM m JOIN " tbl " c"                                     \
	" ON c.secs = 60 AND c.bucket = m.minute WHERE m.whole"                \
	" UNION ALL SELECT " ev_cols ", cls = 0, cls = 1, cls = 2, cls = 3"    \
	" FROM ev" ev_where ") "

#define SUMS "sum(c0), sum(c1), sum(c2), sum(c3)"

/* Print the table so far and start a new one below it. */
static int
next_section(struct hq *q)
{
	if (out_finish(q->out) != 0)
		return HQ_NODB;
	out_free(q->out);
	if ((q->out = hq_new_out(q)) == NULL)
		return HQ_NODB;
	fputc('\n', stdout);
	return 0;
}

/* The ten namespaces or pods (pod) with most changes. */
static int
top_section(struct hq *q, const char *title, int pod, const struct ts_point *p1,
    const struct ts_point *p2)
{
	const char *cols[] = {title, "changes", "created", "modified",
	    "lease_only", "deleted", NULL};
	sqlite3_stmt *st;
	char *cte, *sql = NULL;
	int rc, i;

	if ((cte = sqlite3_mprintf(ev_cte, ns_select, ns_join)) != NULL)
		sql = sqlite3_mprintf(
		    "%s%s SELECT o, sum(c0 + c1 + c2 + c3), " SUMS
		    " FROM rows WHERE o != '' GROUP BY o"
		    " ORDER BY 2 DESC, o LIMIT 10",
		    cte,
		    pod ? ROWS("churn_pods", "c.pod AS o", "pod",
			      " WHERE pod IS NOT NULL")
			: ROWS("churn", "c.namespace AS o", "ns",
			      " WHERE ns IS NOT NULL"));
	sqlite3_free(cte);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, p1->rev);
	sqlite3_bind_int64(st, 2, p2->rev);
	out_note(q->out, "top %ss by changes", title);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_str_col(q, st, 0);
		for (i = 1; i <= 5; i++)
			out_int(q->out, sqlite3_column_int64(st, i));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading events");
}

/*
 * The top pods of a big window without grouping all of its pod rows
 * (format 5): a pod changes inside a window at most as often as in the
 * whole recording (churn_pod_totals), so pods are visited by descending
 * total, each counted in the window, until the next total cannot beat the
 * tenth best.  The window is cut as the report cuts it: the pod's hourly
 * rows of the whole hours (a primary-key lookup each), and one pass over the
 * minutes and raw events of the hours it cuts (edge, sorted by pod).
 */
#define TOP_N 10
/*
 * Below this many ipcache changes the window's rows are grouped: a
 * trivial cost either way (and query_churn.t sees both ways).
 */
#define TOP_DIRECT 200

/* Gave up the scan: group the window instead. */
#define TOP_GAVE_UP (-1)

struct pod_count {
	char *pod;
	int64_t c[5]; /* changes, created, modified, lease_only, deleted */
};

static int
oom(struct hq *q)
{
	hq_error("%s: out of memory", q->dbpath);
	return HQ_NODB;
}

static int
pod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pod_count *)a)->pod,
	    ((const struct pod_count *)b)->pod);
}

/* Does a come before b in the report (more changes, then by name)? */
static int
ranks_before(const struct pod_count *a, const struct pod_count *b)
{
	if (a->c[0] != b->c[0])
		return a->c[0] > b->c[0];
	return strcmp(a->pod, b->pod) < 0;
}

static void
pods_free(struct pod_count *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].pod);
	free(v);
}

/* Rows of (pod, created, modified, lease_only, deleted) from sql. */
static int
load_rows(struct hq *q, const char *sql, const struct ts_point *p1,
    const struct ts_point *p2, struct pod_count **out, size_t *n)
{
	struct pod_count *v = NULL, *t;
	size_t cap = 0;
	sqlite3_stmt *st = sql != NULL ? hq_prepare(q, sql) : NULL;
	int rc, i;

	*n = 0;
	if (st == NULL)
		return HQ_NODB;
	sqlite3_bind_int64(st, 1, p1->rev);
	sqlite3_bind_int64(st, 2, p2->rev);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((t = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = t;
		}
		t = &v[*n];
		if ((t->pod = strdup(
			 (const char *)sqlite3_column_text(st, 0))) == NULL)
			break;
		for (i = 1; i <= 4; i++)
			t->c[i] = sqlite3_column_int64(st, i);
		t->c[0] = t->c[1] + t->c[2] + t->c[3] + t->c[4];
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		pods_free(v, *n);
		*n = 0;
		return rc == SQLITE_ROW ? oom(q)
					: hq_dberr(q, "reading events");
	}
	*out = v;
	return 0;
}

/*
 * Fill top[] (*ntop of TOP_N) by the threshold scan.  Returns TOP_GAVE_UP
 * after max_probes lookups (a pod's row in each whole hour) without an
 * answer (the caller groups instead), 0 when top[] is the answer, else an
 * exit status.
 */
static int
top_pods_bounded(struct hq *q, const struct ts_point *p1,
    const struct ts_point *p2, int64_t max_probes, struct pod_count *top,
    size_t *ntop)
{
	struct pod_count *edge = NULL, key, cand = {NULL, {0}}, *e;
	int64_t *hours = NULL, probes = 0, total;
	size_t nedge = 0, nhours = 0, caph = 0, namecap = 0, len = 0, i, j, h;
	const char *name;
	sqlite3_stmt *tot = NULL, *mine = NULL, *st;
	char *cte, *sql;
	int rc = 0, gave_up = 0;

	*ntop = 0;
	cte = sqlite3_mprintf(ev_cte, ns_select, ns_join);
	/* Whole hours. */
	sql = cte ? sqlite3_mprintf("%s SELECT hour FROM h WHERE whole", cte)
		  : NULL;
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL) {
		sqlite3_free(cte);
		return HQ_NODB;
	}
	sqlite3_bind_int64(st, 1, p1->rev);
	sqlite3_bind_int64(st, 2, p2->rev);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nhours == caph) {
			int64_t *t;

			caph = caph ? caph * 2 : 256;
			if ((t = realloc(hours, caph * sizeof(*t))) == NULL)
				break;
			hours = t;
		}
		hours[nhours++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sqlite3_free(cte);
		free(hours);
		return rc == SQLITE_ROW ? oom(q)
					: hq_dberr(q, "reading events");
	}
	/* The edge: whole minutes of cut hours, raw events of cut minutes. */
	sql = cte ? sqlite3_mprintf(
			"%s, rows AS (SELECT c.pod AS o, c.created AS c0,"
			" c.modified AS c1, c.lease_only AS c2, c.deleted AS c3"
			" FROM m JOIN churn_pods c ON c.secs = 60"
			" AND c.bucket = m.minute WHERE m.whole"
			" UNION ALL SELECT pod, cls = 0, cls = 1, cls = 2,"
			" cls = 3 FROM ev WHERE pod IS NOT NULL)"
			" SELECT o, " SUMS " FROM rows GROUP BY o",
			cte)
		  : NULL;
	sqlite3_free(cte);
	rc = load_rows(q, sql, p1, p2, &edge, &nedge);
	sqlite3_free(sql);
	if (rc != 0) {
		free(hours);
		return rc;
	}
	if (nedge > 0)
		qsort(edge, nedge, sizeof(*edge), pod_cmp);
	tot = hq_prepare(q,
	    "SELECT pod, changes FROM churn_pod_totals"
	    " ORDER BY changes DESC, pod");
	mine = hq_prepare(q,
	    "SELECT created, modified, lease_only, deleted FROM churn_pods"
	    " WHERE secs = 3600 AND bucket = ?1 AND pod = ?2");
	if (tot == NULL || mine == NULL) {
		rc = HQ_NODB;
		goto out;
	}
	while ((rc = sqlite3_step(tot)) == SQLITE_ROW) {
		const struct pod_count *last = &top[TOP_N - 1];

		name = (const char *)sqlite3_column_text(tot, 0);
		total = sqlite3_column_int64(tot, 1);
		if (name == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		if ((len = strlen(name)) >= namecap) {
			char *t = realloc(cand.pod, len + 1);

			if (t == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			cand.pod = t;
			namecap = len + 1;
		}
		memcpy(cand.pod, name, len + 1);
		/* Nothing further down can rank among the first TOP_N. */
		if (*ntop == TOP_N &&
		    (total < last->c[0] ||
			(total == last->c[0] &&
			    strcmp(cand.pod, last->pod) > 0)))
			break;
		if ((probes += (int64_t)nhours + 1) > max_probes) {
			gave_up = 1;
			break;
		}
		memset(cand.c, 0, sizeof(cand.c));
		sqlite3_bind_text(mine, 2, cand.pod, -1, SQLITE_STATIC);
		for (h = 0; h < nhours; h++) {
			sqlite3_bind_int64(mine, 1, hours[h]);
			if ((rc = sqlite3_step(mine)) == SQLITE_ROW)
				for (i = 1; i <= 4; i++)
					cand.c[i] += sqlite3_column_int64(
					    mine, (int)i - 1);
			sqlite3_reset(mine);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				break;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		key.pod = cand.pod;
		if (nedge > 0 &&
		    (e = bsearch(&key, edge, nedge, sizeof(*edge), pod_cmp)) !=
			NULL)
			for (i = 1; i <= 4; i++)
				cand.c[i] += e->c[i];
		cand.c[0] = cand.c[1] + cand.c[2] + cand.c[3] + cand.c[4];
		if (cand.c[0] == 0 ||
		    (*ntop == TOP_N && !ranks_before(&cand, last)))
			continue;
		/* Insert in rank order; the last one falls off. */
		if (*ntop == TOP_N)
			free(top[--(*ntop)].pod);
		for (j = *ntop; j > 0 && ranks_before(&cand, &top[j - 1]); j--)
			top[j] = top[j - 1];
		if ((top[j].pod = strdup(cand.pod)) == NULL) {
			memmove(
			    &top[j], &top[j + 1], (*ntop - j) * sizeof(*top));
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(top[j].c, cand.c, sizeof(cand.c));
		(*ntop)++;
	}
	if (gave_up)
		rc = TOP_GAVE_UP;
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = 0;
	else
		rc =
		    rc == SQLITE_NOMEM ? oom(q) : hq_dberr(q, "reading events");
out:
	free(cand.pod);
	sqlite3_finalize(tot);
	sqlite3_finalize(mine);
	pods_free(edge, nedge);
	free(hours);
	return rc;
}

/* The pods' section: threshold scan for big windows, else grouping. */
static int
top_pods(struct hq *q, const struct ts_point *p1, const struct ts_point *p2,
    int64_t n_ipcache)
{
	const char *cols[] = {"pod", "changes", "created", "modified",
	    "lease_only", "deleted", NULL};
	struct pod_count top[TOP_N];
	size_t ntop = 0, i;
	int rc, k;

	if (n_ipcache <= TOP_DIRECT)
		return top_section(q, "pod", 1, p1, p2);
	/* Past n/2 lookups, grouping the window would be as quick. */
	rc = top_pods_bounded(q, p1, p2, n_ipcache / 2, top, &ntop);
	if (rc == 0) {
		out_note(q->out, "top pods by changes");
		out_columns(q->out, cols);
		for (i = 0; i < ntop; i++) {
			out_row(q->out);
			out_str(q->out, top[i].pod);
			for (k = 0; k <= 4; k++)
				out_int(q->out, top[i].c[k]);
		}
	}
	for (i = 0; i < ntop; i++)
		free(top[i].pod);
	return rc == TOP_GAVE_UP ? top_section(q, "pod", 1, p1, p2) : rc;
}

int
cmd_churn(struct hq *q, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *last = NULL, *by = "day";
	const char *pos[1];
	int by_ns = 0;
	const struct hq_opt opts[] = {{"from", 1, &from, NULL},
	    {"to", 1, &to, NULL}, {"last", 1, &last, NULL},
	    {"by", 1, &by, NULL}, {"by-namespace", 0, NULL, &by_ns},
	    {NULL, 0, NULL, NULL}};
	const char *cols[] = {"period", "kind", "created", "modified",
	    "lease_only", "deleted", TS_WINDOW_COLS, NULL};
	const char *ns_cols[] = {"period", "namespace", "kind", "created",
	    "modified", "lease_only", "deleted", TS_WINDOW_COLS, NULL};
	struct ts_spec s1, s2;
	struct ts_point p1, p2;
	sqlite3_stmt *st = NULL;
	char *sql = NULL, *full, lastbuf[32], lastdesc[64];
	const char *fmt;
	int64_t dur, start, secs, alloc = 0, rel = 0, lease_only = 0, n_ipc = 0;
	int npos, rc, i, c;

	if ((rc = hq_args(q, argc, argv, opts, pos, 0, 0, &npos, help)) != 0)
		return rc;
	if (strcmp(by, "day") == 0)
		fmt = "%Y-%m-%d", secs = 86400;
	else if (strcmp(by, "hour") == 0)
		fmt = "%Y-%m-%dT%H:00Z", secs = 3600;
	else
		return hq_usage(q, "--by must be day or hour, not '%s'", by);
	if (last != NULL && (from != NULL || to != NULL))
		return hq_usage(q, "give --last or --from/--to, not both");
	if (from == NULL && to == NULL) {
		if (last == NULL)
			last = "7d";
		if (duration(last, &dur) != 0)
			return hq_usage(q,
			    "--last: bad duration '%s' (want "
			    "e.g. 7d, 24h, 2w, 1d12h)",
			    last);
		/* To the microsecond: (now - dur, now], as --from -7d. */
		start = q->now_us - dur;
		if (start < TS_MIN_US)
			return hq_usage(q,
			    "--last: '%s' reaches back before the year 0000",
			    last);
		snprintf(lastbuf, sizeof(lastbuf), "@%s%lld.%06lld",
		    start < 0 ? "-" : "", llabs((long long)(start / 1000000)),
		    llabs((long long)(start % 1000000)));
		from = lastbuf;
		to = "now";
	}
	if ((rc = ts_window_args(q, from, to, &s1, &s2)) != 0 ||
	    (rc = hq_open(q)) != 0)
		return hq_close(q, rc);
	if (last != NULL) {
		/* Warnings name what the user typed, not "@1795096949". */
		snprintf(
		    lastdesc, sizeof(lastdesc), "the start of --last %s", last);
		s1.text = lastdesc;
		s2.text = "now";
	}
	if (from != NULL) {
		if ((rc = ts_point(q, &s1, &p1)) != 0)
			return hq_close(q, rc);
	} else
		ts_beginning(q, &p1);
	if ((rc = ts_point(q, &s2, &p2)) != 0 ||
	    (rc = ts_window_gaps(q, &p1, &p2)) != 0)
		return hq_close(q, rc);
	sql = sqlite3_mprintf(
	    ev_cte, by_ns ? ns_select : no_ns, by_ns ? ns_join : "");
	full = sql == NULL
	    ? NULL
	    : sqlite3_mprintf(
		  /* Group on an integer bucket; format only the groups. */
		  "%s" ROWS("churn",
		      "c.bucket * c.secs * 1000000 AS t,"
		      " c.kind AS kind, c.namespace AS ns",
		      "t, kind, coalesce(ns, '')",
		      "") "SELECT strftime('%q', b * %lld, 'unixepoch'),%s "
			  "kind,"
			  " c0, c1, c2, c3 FROM (SELECT t / %lld AS b,%s kind,"
			  " sum(c0) AS c0, sum(c1) AS c1, sum(c2) AS c2, "
			  "sum(c3) AS c3"
			  " FROM rows GROUP BY b,%s kind) ORDER BY b,%s kind",
		  sql, fmt, (long long)secs, by_ns ? " ns," : "",
		  (long long)secs * 1000000, by_ns ? " ns," : "",
		  by_ns ? " ns," : "", by_ns ? " ns," : "");
	sqlite3_free(sql);
	st = full != NULL ? hq_prepare(q, full) : NULL;
	sqlite3_free(full);
	if (st == NULL)
		return hq_close(q, HQ_NODB);
	sqlite3_bind_int64(st, 1, p1.rev);
	sqlite3_bind_int64(st, 2, p2.rev);
	ts_echo_window(q, &p1, &p2);
	out_columns(q->out, by_ns ? ns_cols : cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		c = 0;
		hq_str_col(q, st, c++);
		if (by_ns)
			hq_str_col(q, st, c++);
		hq_str_col(q, st, c);
		if (strcmp((const char *)sqlite3_column_text(st, c),
			"identity") == 0) {
			alloc += sqlite3_column_int64(st, c + 1);
			rel += sqlite3_column_int64(st, c + 4);
		}
		if (strcmp((const char *)sqlite3_column_text(st, c),
			"ipcache") == 0)
			for (i = 1; i <= 4; i++)
				n_ipc += sqlite3_column_int64(st, c + i);
		lease_only += sqlite3_column_int64(st, c + 3);
		for (i = 1; i <= 4; i++)
			out_int(q->out, sqlite3_column_int64(st, c + i));
		ts_cells_window(q, &p1, &p2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return hq_close(q, hq_dberr(q, "reading events"));
	if (q->format == OUT_TABLE) {
		if ((rc = next_section(q)) != 0)
			return hq_close(q, rc);
		if (q->multi)
			printf("%s: ", q->dbname);
		printf("identities: %lld allocated, %lld released\n"
		       "lease-only modifications: %lld (same value, new lease; "
		       "not counted in modified)\n\n",
		    (long long)alloc, (long long)rel, (long long)lease_only);
		if ((rc = top_section(q, "namespace", 0, &p1, &p2)) != 0 ||
		    (rc = next_section(q)) != 0 ||
		    (rc = top_pods(q, &p1, &p2, n_ipc)) != 0)
			return hq_close(q, rc);
		/* Several dbs: each its own report, one after the other. */
		if (q->multi && q->cur + 1 < q->ndb) {
			if ((rc = next_section(q)) != 0)
				return hq_close(q, rc);
			out_free(q->out);
			q->out = NULL;
		}
	}
	return hq_close(q, 0);
}
