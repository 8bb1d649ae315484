/*
 * hq.c: the plumbing shared by the query commands (hq.h): options, the
 * read-only db, messages and exit statuses, and the cells every command
 * prints alike.
 */
#include "hq.h"
#include "kinds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "codec.h"
#include "hsdb.h"
#include "timespec.h"

/* "hindsight: HEADWHO: message", one line whatever the message quotes. */
static void __attribute__((format(printf, 3, 0)))
say(const char *head, const char *who, const char *fmt, va_list ap)
{
	char raw[2048], msg[8192];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	fprintf(stderr, "hindsight: %s%s%s%s\n", head, who != NULL ? who : "",
	    who != NULL ? ": " : "", hs_oneline(raw, msg, sizeof(msg)));
}

int
hq_usage(struct hq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", q->cmd, fmt, ap);
	va_end(ap);
	return HQ_USAGE;
}

void
hq_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", NULL, fmt, ap);
	va_end(ap);
}

void
hq_warn(struct hq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning: ", q->dbname, fmt, ap);
	va_end(ap);
	q->status = HQ_COVERAGE;
}

int
hq_dberr(struct hq *q, const char *what)
{
	hq_error("%s: %s: %s", q->dbpath, what,
	    q->db != NULL ? sqlite3_errmsg(q->db) : "not open");
	return HQ_NODB;
}

/*
 * "NAME=FILE" names the db, when NAME is a plain word and the whole
 * argument is not itself an existing file (write ./a=b.db for a file
 * whose name has '=').
 */
static int
db_arg(struct hq *q, const char *val)
{
	struct hq_db *d;
	const char *eq = strchr(val, '='), *p;
	struct stat sb;
	int named =
	    eq != NULL && eq > val && eq - val < 64 && stat(val, &sb) != 0;

	for (p = val; named && p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			*p == '.'))
			named = 0;
	if (q->dbs_named)
		return 0; /* a later db's run parses the same words again */
	if (q->ndb == HQ_MAXDB)
		return hq_usage(q, "at most %d --db", HQ_MAXDB);
	d = &q->dbs[q->ndb++];
	memset(d, 0, sizeof(*d));
	d->path = named ? eq + 1 : val;
	if (named) {
		snprintf(
		    d->name, sizeof(d->name), "%.*s", (int)(eq - val), val);
		d->named = 1;
	}
	if (d->path[0] == '\0')
		return hq_usage(q, "--db: empty file name");
	return 0;
}

int
hq_global(struct hq *q, const char *name, const char *val)
{
	if (strcmp(name, "db") == 0)
		return db_arg(q, val);
	else if (strcmp(name, "format") == 0) {
		if (out_format_parse(val, &q->format) != 0)
			return hq_usage(q,
			    "--format must be table, json or "
			    "csv, not '%s'",
			    val);
	} else if (strcmp(name, "tz") == 0) {
		char err[256];

		if (ts_tz_check(val, err, sizeof(err)) != 0)
			return hq_usage(q, "--tz: %s", err);
		q->tz = val;
	} else
		return hq_usage(q, "unknown option --%s", name);
	return 0;
}

static int
is_global(const char *name)
{
	return strcmp(name, "db") == 0 || strcmp(name, "format") == 0 ||
	    strcmp(name, "tz") == 0;
}

/*
 * Whether arg is a word, not an option: "-" alone, a time such as "-90m"
 * or "-2h" (only "-h" is a short option), SQL that begins with a comment
 * ("-- who held ...\nSELECT": no option name holds white space).
 */
static int
is_word(const char *arg)
{
	if (arg[0] != '-' || arg[1] == '\0')
		return 1;
	if (arg[1] != '-')
		return strcmp(arg, "-h") != 0;
	return strcspn(arg + 2, " \t\r\n") < strcspn(arg + 2, "=");
}

int
hq_args(struct hq *q, int argc, char **argv, const struct hq_opt *opts,
    const char **pos, int minpos, int maxpos, int *npos, const char *help)
{
	const struct hq_opt *o;
	const char *arg, *val, *eq;
	char name[64];
	int i, n = 0, rc, opts_done = 0;

	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (opts_done || is_word(arg)) {
			if (n >= maxpos)
				return hq_usage(
				    q, "unexpected argument '%s'", arg);
			pos[n++] = arg;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(help, stdout);
			return HQ_HELPED;
		}
		if (arg[2] == '\0') {
			opts_done = 1;
			continue;
		}
		eq = strchr(arg + 2, '=');
		snprintf(name, sizeof(name), "%.*s",
		    (int)(eq ? (size_t)(eq - arg - 2) : strlen(arg + 2)),
		    arg + 2);
		for (o = opts; o != NULL && o->name != NULL; o++)
			if (strcmp(o->name, name) == 0)
				break;
		if ((o == NULL || o->name == NULL) && !is_global(name))
			return hq_usage(q,
			    "unknown option --%s (see "
			    "'hindsight %s --help')",
			    name, q->cmd);
		if (o != NULL && o->name != NULL && !o->has_arg) {
			if (eq != NULL)
				return hq_usage(q, "--%s takes no value", name);
			*o->flag = 1;
			continue;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return hq_usage(q, "--%s needs a value", name);
		if (o != NULL && o->name != NULL)
			*o->val = val;
		else if ((rc = hq_global(q, name, val)) != 0)
			return rc;
	}
	if (n < minpos)
		return hq_usage(q,
		    "missing argument (see 'hindsight %s "
		    "--help')",
		    q->cmd);
	*npos = n;
	return 0;
}

/*
 * The meta values hq_open reads: present or not, or -1 when one could not
 * be read (an answer that forgot the --retain horizon or the epoch's
 * revision offset would be wrong, not just incomplete).
 */
static int
read_meta(struct hq *q, int64_t *through, int64_t *pruned_us, int *have_pruned,
    int *have_epoch)
{
	int64_t open = 0, cut = 0, cut_us = 0;
	int f1, f2, p1, p2, r1, r2, e, o, c1, c2;

	if ((f1 = hsdb_meta_read_int(q->db, "first_rev", &q->first_rev)) < 0 ||
	    (f2 = hsdb_meta_read_int(q->db, "first_us", &q->first_us)) < 0 ||
	    (p1 = hsdb_meta_read_int(q->db, "pruned_through_rev", through)) <
		0 ||
	    (p2 = hsdb_meta_read_int(q->db, "pruned_us", pruned_us)) < 0 ||
	    (r1 = hsdb_meta_read_int(q->db, "recorded_rev", &q->recorded_rev)) <
		0 ||
	    (r2 = hsdb_meta_read_int(q->db, "recorded_us", &q->recorded_us)) <
		0 ||
	    (e = hsdb_meta_read_int(q->db, "epoch", &q->epoch)) < 0 ||
	    (o = hsdb_meta_read_int(q->db, "prune_open", &open)) < 0 ||
	    (c1 = hsdb_meta_read_int(q->db, "prune_cut", &cut)) < 0 ||
	    (c2 = hsdb_meta_read_int(q->db, "prune_cut_us", &cut_us)) < 0)
		return -1;
	q->have_first = f1 && f2;
	*have_pruned = p1 && p2;
	/*
	 * A pruning round cut short (the recorder stopped) has pruned, in
	 * the steps it committed, what ended before its cut: that is the
	 * horizon until a round finishes.
	 */
	if (o && open != 0 && c1 && c2 && (!*have_pruned || cut > *through)) {
		*through = cut;
		*pruned_us = cut_us;
		*have_pruned = 1;
	}
	q->prune_rev = *have_pruned ? *through : 0;
	q->prune_us = *have_pruned ? *pruned_us : 0;
	q->have_recorded = r1 && r2;
	*have_epoch = e;
	return 0;
}

/* The file name without directories and a ".db" ending. */
static void
base_name(const char *path, char *buf, size_t size)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".db") == 0)
		n -= 3;
	snprintf(buf, size, "%.*s", (int)n, b);
}

/*
 * Names are schema names in sql over several dbs (ATTACH ... AS "NAME"),
 * which SQLite compares without case and where main and temp are its
 * own: two names that differ only in case, or main or temp, would make
 * sql fail to attach.
 */
static int
name_reserved(const char *name)
{
	return strcasecmp(name, "main") == 0 || strcasecmp(name, "temp") == 0;
}

static int
name_taken(const struct hq *q, int upto, const char *name)
{
	int i;

	if (name_reserved(name))
		return 1;
	for (i = 0; i < upto; i++)
		if (strcasecmp(q->dbs[i].name, name) == 0)
			return 1;
	return 0;
}

/* A name given with --db NAME=FILE to a file after upto. */
static int
named_elsewhere(const struct hq *q, int upto, const char *name)
{
	int i;

	for (i = upto + 1; i < q->ndb; i++)
		if (q->dbs[i].named && strcasecmp(q->dbs[i].name, name) == 0)
			return 1;
	return 0;
}

int
hq_name_dbs(struct hq *q)
{
	char err[512], name[64], cand[64], by_file[HQ_MAXDB];
	sqlite3 *db;
	int i, j, k, rc;

	if (q->dbs_named)
		return 0;
	q->dbs_named = 1;
	if (q->ndb == 0) {
		/* No --db: $HINDSIGHT_DB or ./cilium.db, as main set it. */
		q->dbs[0].path = q->dbpath;
		q->dbs[0].name[0] = '\0';
		q->dbs[0].named = 0;
		q->ndb = 1;
	}
	q->multi = q->ndb > 1 || q->dbs[0].named;
	q->dbpath = q->dbs[0].path;
	if (!q->multi)
		return 0;
	for (i = 0; i < q->ndb; i++) {
		if (q->dbs[i].named && name_reserved(q->dbs[i].name))
			return hq_usage(q,
			    "--db: the name '%s' is SQLite's own (main, "
			    "temp): choose another",
			    q->dbs[i].name);
		for (j = 0; j < i; j++)
			if (q->dbs[i].named && q->dbs[j].named &&
			    strcasecmp(q->dbs[i].name, q->dbs[j].name) == 0)
				return hq_usage(q,
				    "--db: the name '%s' is given twice",
				    q->dbs[i].name);
	}
	for (i = 0; i < q->ndb; i++) {
		/* Opened once now, so a bad db fails before any output. */
		if ((db = hsdb_open_ro(q->dbs[i].path, err, sizeof(err))) ==
		    NULL) {
			hq_error("%s", err);
			return HQ_NODB;
		}
		rc = q->dbs[i].named
		    ? 1
		    : hsdb_meta_read_text(db, "etcd_cluster_id", q->dbs[i].name,
			  sizeof(q->dbs[i].name));
		if (rc < 0) {
			hq_error("%s: reading meta: %s", q->dbs[i].path,
			    sqlite3_errmsg(db));
			sqlite3_close(db);
			return HQ_NODB;
		}
		if (!q->dbs[i].named && (rc == 0 || q->dbs[i].name[0] == '\0'))
			base_name(q->dbs[i].path, q->dbs[i].name,
			    sizeof(q->dbs[i].name));
		sqlite3_close(db);
	}
	/*
	 * Two files of one etcd cluster (a backup and its source): each is
	 * named by its file, neither by the cluster.
	 */
	for (i = 0; i < q->ndb; i++) {
		by_file[i] = 0;
		if (q->dbs[i].named)
			continue;
		for (j = 0; j < q->ndb; j++)
			if (j != i &&
			    strcmp(q->dbs[j].name, q->dbs[i].name) == 0)
				by_file[i] = 1;
	}
	for (i = 0; i < q->ndb; i++) {
		if (q->dbs[i].named)
			continue;
		if (by_file[i])
			base_name(q->dbs[i].path, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", q->dbs[i].name);
		/* Still taken (same file names): -2, -3, ... */
		snprintf(cand, sizeof(cand), "%s", name);
		for (k = 2;
		     name_taken(q, i, cand) || named_elsewhere(q, i, cand); k++)
			snprintf(cand, sizeof(cand), "%.50s-%d", name, k);
		snprintf(q->dbs[i].name, sizeof(q->dbs[i].name), "%s", cand);
	}
	return 0;
}

struct out *
hq_new_out(struct hq *q)
{
	struct out *o = out_new(q->format, stdout);

	if (o != NULL && q->multi && q->dbname != NULL &&
	    out_source(o, "etcd_cluster", q->dbname) != 0) {
		out_free(o);
		o = NULL;
	}
	return o;
}

int
hq_open(struct hq *q)
{
	char err[512];
	int64_t v = 0, us = 0;
	sqlite3_stmt *st;
	int rc, have_pruned, have_epoch;

	if ((rc = hq_name_dbs(q)) != 0)
		return rc;
	q->dbpath = q->dbs[q->cur].path;
	q->dbname = q->multi ? q->dbs[q->cur].name : NULL;
	if ((q->db = hsdb_open_ro(q->dbpath, err, sizeof(err))) == NULL) {
		hq_error("%s", err);
		return HQ_NODB;
	}
	/*
	 * One read transaction for the whole answer: the coverage read here
	 * (the --retain horizon, the watermark) and every row read later come
	 * from one snapshot, though the recorder commits (and prunes) in
	 * between.  Ended by hq_close().
	 */
	if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    read_meta(q, &v, &us, &have_pruned, &have_epoch) != 0)
		return hq_dberr(q, "reading meta");
	/*
	 * History pruned by the recorder's --retain: coverage starts at the
	 * pruning horizon, since intervals that ended before it are gone.
	 */
	q->pruned = 0;
	q->snap_rev = q->first_rev;
	q->snap_us = q->first_us;
	if (q->have_first && have_pruned && v > q->first_rev) {
		q->first_rev = v;
		q->first_us = us;
		q->pruned = 1;
	}
	if (!q->have_recorded) {
		/* A db that never committed a revision: nothing is covered. */
		q->recorded_rev = 0;
		q->recorded_us = 0;
	}
	q->rev_offset = 0;
	q->epoch_started = 0;
	if (have_epoch) {
		st = hq_prepare(q,
		    "SELECT rev_offset, started_rev FROM epochs WHERE epoch = "
		    "?");
		if (st == NULL)
			return HQ_NODB;
		sqlite3_bind_int64(st, 1, q->epoch);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			q->rev_offset = sqlite3_column_int64(st, 0);
			q->epoch_started = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return hq_dberr(q, "reading the epoch");
	}
	if (q->out != NULL) {
		/* The next db's rows, into the printer of the first. */
		if (q->multi &&
		    out_source(q->out, "etcd_cluster", q->dbname) != 0) {
			fprintf(stderr, "hindsight: out of memory\n");
			return HQ_NODB;
		}
	} else if ((q->out = hq_new_out(q)) == NULL) {
		fprintf(stderr, "hindsight: out of memory\n");
		return HQ_NODB;
	}
	return 0;
}

int
hq_finish(struct hq *q, int status)
{
	if (q->out != NULL) {
		if (out_nrows(q->out) == 0 && q->format != OUT_TABLE &&
		    q->echo[0] != '\0' && status == 0 && !q->failed)
			fprintf(stderr, "hindsight: no rows, %s\n", q->echo);
		/* A failed command prints its error, not an empty table. */
		if ((status == 0 || out_nrows(q->out) > 0 ||
			out_started(q->out)) &&
		    out_finish(q->out) != 0 && status == 0) {
			fprintf(stderr, "hindsight: writing output failed\n");
			status = HQ_NODB;
		}
		out_free(q->out);
		q->out = NULL;
	}
	if (status == 0)
		status = q->status;
	if (q->failed && (status == 0 || status == HQ_COVERAGE))
		status = HQ_NODB;
	return status;
}

int
hq_close(struct hq *q, int status)
{
	if (!q->keep_out)
		status = hq_finish(q, status);
	sqlite3_finalize(q->labels_st);
	q->labels_st = NULL;
	if (q->db != NULL) {
		sqlite3_close(q->db);
		q->db = NULL;
	}
	if (status == 0)
		status = q->status;
	if (q->failed && (status == 0 || status == HQ_COVERAGE))
		status = HQ_NODB;
	return status;
}

/*
 * HINDSIGHT_EXPLAIN=1 prints every query's plan to stderr, so tests can
 * hold the lookups to indexes (tests/integration/query_plan.t).
 */
static void
explain(struct hq *q, const char *sql)
{
	sqlite3_stmt *st;
	char *x;

	if ((x = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql)) == NULL)
		return;
	if (sqlite3_prepare_v2(q->db, x, -1, &st, NULL) == SQLITE_OK) {
		fprintf(stderr, "plan: %.60s\n", sql);
		while (sqlite3_step(st) == SQLITE_ROW)
			fprintf(stderr, "plan:   %s\n",
			    (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
	}
	sqlite3_free(x);
}

sqlite3_stmt *
hq_prepare(struct hq *q, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		hq_dberr(q, "preparing a query");
		return NULL;
	}
	if (getenv("HINDSIGHT_EXPLAIN") != NULL)
		explain(q, sql);
	return st;
}

void
hq_bytes_cells(struct hq *q, sqlite3_stmt *st, int idx)
{
	const unsigned char *p;
	char *b64;
	int n;

	if (sqlite3_column_type(st, idx) == SQLITE_NULL) {
		out_null(q->out);
		out_null(q->out);
		return;
	}
	p = sqlite3_column_blob(st, idx);
	n = sqlite3_column_bytes(st, idx);
	if (p == NULL)
		p = (const unsigned char *)"";
	if (hs_utf8_valid(p, (size_t)n) && memchr(p, '\0', (size_t)n) == NULL) {
		out_strn(q->out, (const char *)p, (size_t)n);
		out_null(q->out);
		return;
	}
	if ((b64 = malloc(hs_b64_enclen((size_t)n))) == NULL) {
		out_null(q->out);
		out_null(q->out);
		return;
	}
	hs_b64_encode(p, (size_t)n, b64);
	out_null(q->out);
	out_str(q->out, b64);
	free(b64);
}

void
hq_time_col(struct hq *q, sqlite3_stmt *st, int idx)
{
	if (sqlite3_column_type(st, idx) == SQLITE_NULL)
		out_null(q->out);
	else
		out_time(q->out, sqlite3_column_int64(st, idx), 1);
}

void
hq_interval_times(struct hq *q, sqlite3_stmt *st, int idx)
{
	int i;

	for (i = idx; i < idx + 4; i++)
		hq_time_col(q, st, i);
}

void
hq_int_col(struct hq *q, sqlite3_stmt *st, int idx)
{
	if (sqlite3_column_type(st, idx) == SQLITE_NULL)
		out_null(q->out);
	else
		out_int(q->out, sqlite3_column_int64(st, idx));
}

void
hq_str_col(struct hq *q, sqlite3_stmt *st, int idx)
{
	if (sqlite3_column_type(st, idx) == SQLITE_NULL)
		out_null(q->out);
	else
		out_strn(q->out, (const char *)sqlite3_column_text(st, idx),
		    (size_t)sqlite3_column_bytes(st, idx));
}

void
hq_fail(struct hq *q, const char *what)
{
	if (!q->failed && what != NULL)
		hq_dberr(q, what);
	q->failed = 1;
	if (q->out != NULL)
		out_drop_row(q->out);
}

int
hq_row(struct hq *q, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		hq_fail(q, "reading");
	return 0;
}

void
hq_labels_cell(struct hq *q, int64_t labelset_id)
{
	sqlite3_stmt *st;
	char buf[1024];

	/* Prepared once: a listing prints labels for every row. */
	if (q->labels_st == NULL &&
	    (q->labels_failed ||
		(q->labels_st = hq_prepare(q,
		     "SELECT source, key, value FROM labels WHERE "
		     "labelset_id = ? ORDER BY pos")) == NULL)) {
		q->labels_failed = 1; /* hq_prepare said why, once */
		hq_fail(q, NULL);
		out_null(q->out);
		return;
	}
	st = q->labels_st;
	sqlite3_bind_int64(st, 1, labelset_id);
	out_list_begin(q->out);
	while (hq_row(q, st)) {
		snprintf(buf, sizeof(buf), "%s:%s=%s",
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
		out_list_add(q->out, buf);
	}
	out_list_end(q->out);
	sqlite3_reset(st);
}

int
hq_kind_valid(const char *s)
{
	return hs_kind_from_name(s) >= 0;
}

const char *
hq_kind_list(void)
{
	return hs_kind_list();
}

/* "file:" URI of path, for ATTACH with ?mode=ro (RFC 3986 escapes). */
static char *
file_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *u, *w;

	if ((u = malloc(strlen(path) * 3 + 32)) == NULL)
		return NULL;
	w = u + sprintf(u, "%s", path[0] == '/' ? "file://" : "file:");
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' ||
		    *p >= 0x7f) {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		} else
			*w++ = (char)*p;
	}
	strcpy(w, "?mode=ro");
	return u;
}

/* One TEMP view: the UNION ALL of object name over every db. */
static int
union_view(struct hq *q, const char *name)
{
	char *sql, *t;
	int i, rc;

	sql = sqlite3_mprintf("CREATE TEMP VIEW \"%w\" AS ", name);
	for (i = 0; i < q->ndb && sql != NULL; i++) {
		t = sqlite3_mprintf("%s%sSELECT %Q AS etcd_cluster, * FROM "
				    "\"%w\".\"%w\"",
		    sql, i > 0 ? " UNION ALL " : "", q->dbs[i].name,
		    q->dbs[i].name, name);
		sqlite3_free(sql);
		sql = t;
	}
	if (sql == NULL)
		return -1;
	rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

int
hq_open_attached(struct hq *q)
{
	sqlite3_stmt *st;
	char *uri, *sql, *names[128], err[256];
	int i, rc, nnames = 0;

	if ((rc = hq_name_dbs(q)) != 0)
		return rc;
	q->dbpath = ":memory:";
	if (sqlite3_open_v2(":memory:", &q->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		return hq_dberr(q, "opening");
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, 5000);
	if (hsdb_functions(q->db, q->dbpath, err, sizeof(err)) != 0)
		return hq_dberr(q, "opening");
	for (i = 0; i < q->ndb; i++) {
		q->dbpath = q->dbs[i].path;
		if ((uri = file_uri(q->dbs[i].path)) == NULL)
			return hq_dberr(q, "out of memory");
		sql =
		    sqlite3_mprintf("ATTACH %Q AS \"%w\"", uri, q->dbs[i].name);
		free(uri);
		rc = sql != NULL ? sqlite3_exec(q->db, sql, NULL, NULL, NULL)
				 : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return hq_dberr(q, "attaching");
	}
	/* Every db has this build's format (hq_name_dbs checked). */
	sql = sqlite3_mprintf("SELECT name FROM \"%w\".sqlite_schema"
			      " WHERE type IN ('table', 'view')"
			      " AND name NOT LIKE 'sqlite%%' ORDER BY name",
	    q->dbs[0].name);
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	if (st == NULL)
		return HQ_NODB;
	/* Names first: no schema change while the schema is being read. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && nnames < 128)
		if ((names[nnames] = strdup(
			 (const char *)sqlite3_column_text(st, 0))) != NULL)
			nnames++;
	sqlite3_finalize(st);
	for (i = 0; i < nnames; i++) {
		if (rc != SQLITE_ERROR && union_view(q, names[i]) != 0)
			rc = SQLITE_ERROR;
		free(names[i]);
	}
	q->dbpath = q->dbs[0].path;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return hq_dberr(q, "creating the union views");
	if (sqlite3_exec(q->db, "PRAGMA query_only=ON", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return hq_dberr(q, "setting query_only");
	q->all_dbs_done = 1;
	if ((q->out = out_new(q->format, stdout)) == NULL) {
		fprintf(stderr, "hindsight: out of memory\n");
		return HQ_NODB;
	}
	return 0;
}
