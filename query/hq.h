/*
 * hq.h: what every query command shares: the parsed global options, the
 * open db and the facts read from its meta table, the output printer, the
 * exit status so far, option parsing, and cell helpers for the values
 * every command prints the same way (values, labels, revision times).
 *
 * Exit statuses (PRODUCT.md): 0 answered, 1 usage error, 2 the db cannot
 * be read, 3 answered but a time lies outside coverage or in a gap.
 */
#ifndef HQ_HQ_H
#define HQ_HQ_H

#include <sqlite3.h>
#include <stdint.h>

#include "out.h"

#define HQ_OK 0
#define HQ_USAGE 1
#define HQ_NODB 2
#define HQ_COVERAGE 3
/* Returned by hq_args when --help was printed: exit 0. */
#define HQ_HELPED 100

/* The CLI's version (the recorder's is in recorder/main.c: keep equal). */

/* At most this many --db options. */
#define HQ_MAXDB 16

/* One --db: the file and the name its rows carry (NAME=FILE, or meta). */
struct hq_db {
	const char *path;
	char name[64]; /* "" until hq_name_dbs */
	int named; /* given as NAME=FILE */
};

struct hq {
	/* global options */
	const char *dbpath; /* the db being read now */
	struct hq_db dbs[HQ_MAXDB]; /* every --db, in order */
	int ndb;
	/*
	 * Several dbs (more than one --db, or NAME=FILE): every row starts
	 * with an etcd_cluster column naming its db, and the command runs
	 * once per db into one shared printer (keep_out: hq_close leaves
	 * q->out open for the next db; hq_finish closes it).
	 */
	int multi;
	const char *dbname; /* the current db's name, when multi */
	int cur; /* index in dbs of the db being read */
	int dbs_named; /* hq_name_dbs ran: dbs is fixed */
	int keep_out;
	int all_dbs_done; /* the command answered for every db at once */
	enum out_format format;
	const char *tz; /* NULL: UTC */
	const char *cmd; /* the command being run, for messages */
	int64_t now_us; /* one "now" per run, so -90m and now agree */

	sqlite3 *db;
	struct out *out;
	int status; /* HQ_OK or HQ_COVERAGE so far */
	int failed; /* a read under the rows failed (said): exit HQ_NODB */

	/* meta (hsdb.h), read by hq_open; have_* say which were present */
	int64_t first_rev, first_us, recorded_rev, recorded_us;
	int have_first, have_recorded;
	int pruned; /* first_rev/first_us are the --retain horizon */
	int64_t snap_rev, snap_us; /* the first snapshot, pruned or not */
	int64_t prune_rev,
	    prune_us; /* that horizon (0: none), as hq_open found it */
	int64_t epoch, rev_offset;
	int64_t epoch_started; /* etcd rev this epoch's recording began at */

	char echo[256]; /* the resolution, for empty answers */
	sqlite3_stmt *labels_st; /* hq_labels_cell, prepared once */
	int labels_failed; /* ...and that failed (said once) */
};

/*
 * One command option.  has_arg: 0 a flag (*flag set to 1), 1 takes a
 * value (*val points into argv).  Global options (--db, --format, --tz)
 * are accepted by every command without being listed.
 */
struct hq_opt {
	const char *name; /* without the leading "--" */
	int has_arg;
	const char **val;
	int *flag;
};

/*
 * Parse argv[0..argc) (the words after the command name): options from
 * opts, the globals, "--help"/"-h" (prints help and returns HQ_HELPED),
 * "--" ends options.  Positional words go to pos[] (at most maxpos);
 * fewer than minpos or more than maxpos is a usage error.  Returns 0,
 * HQ_USAGE (message printed) or HQ_HELPED.
 */
int hq_args(struct hq *q, int argc, char **argv, const struct hq_opt *opts,
    const char **pos, int minpos, int maxpos, int *npos, const char *help);

/* Set a global option (name without "--"); HQ_USAGE on a bad value. */
int hq_global(struct hq *q, const char *name, const char *val);

/* Print "hindsight: CMD: message" to stderr; returns HQ_USAGE. */
int hq_usage(struct hq *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Print "hindsight: message" to stderr, on one line whatever the message
 * quotes (an argument, a file name: hs_oneline).
 */
void hq_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A coverage warning on stderr; the run will exit 3. */
void hq_warn(struct hq *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report a SQLite failure with sqlite3_errmsg; returns HQ_NODB. */
int hq_dberr(struct hq *q, const char *what);

/*
 * Open the db read-only (hsdb_open_ro), read meta, create the output
 * printer and register the SQL helper functions.  Returns 0 or HQ_NODB
 * with the one-line reason printed.
 */
int hq_open(struct hq *q);

/* Finish the output, close the db.  Returns the exit status. */
int hq_close(struct hq *q, int status);

/*
 * Finish and free q->out (kept open across dbs when multi); prints the
 * "no rows" note.  Returns the exit status.
 */
int hq_finish(struct hq *q, int status);

/* A printer for q's format, with the etcd_cluster column when multi. */
struct out *hq_new_out(struct hq *q);

/*
 * Give every --db its name: NAME of NAME=FILE, else the db's
 * meta etcd_cluster_id, else the file name without ".db".  Opens each
 * db read-only once, so an unreadable db fails before any output.
 * Returns 0, HQ_USAGE (duplicate names) or HQ_NODB (printed).
 */
int hq_name_dbs(struct hq *q);

/*
 * For sql over several dbs: an in-memory main db with every db ATTACHed
 * read-only under its name, and a TEMP view per table and view of the
 * format that is the UNION ALL of it over every db, with etcd_cluster
 * as first column.  Returns 0 or HQ_NODB.
 */
int hq_open_attached(struct hq *q);

/* sqlite3_prepare_v2, reporting failure; NULL on error. */
sqlite3_stmt *hq_prepare(struct hq *q, const char *sql);

/*
 * Two cells for stored bytes, a value or a key ("value", "value_base64";
 * "key", "key_base64"): the text when the bytes are UTF-8 without NUL,
 * else their base64 (text cannot carry them); the other one is null.
 * Column idx of st, BLOB or TEXT; a NULL column gives two nulls.
 */
void hq_bytes_cells(struct hq *q, sqlite3_stmt *st, int idx);

/* A time cell from an integer column of st: null when the column is. */
void hq_time_col(struct hq *q, sqlite3_stmt *st, int idx);

/* The four INTERVAL_TIMES_SQL columns of st from idx on (cmds.h). */
void hq_interval_times(struct hq *q, sqlite3_stmt *st, int idx);

/* A nullable integer cell from a column of st. */
void hq_int_col(struct hq *q, sqlite3_stmt *st, int idx);

/* A nullable text cell from a column of st. */
void hq_str_col(struct hq *q, sqlite3_stmt *st, int idx);

/*
 * A list cell holding the labels of labelset id as "source:key=value",
 * in stored order.
 */
void hq_labels_cell(struct hq *q, int64_t labelset_id);

/*
 * sqlite3_step(st) for the rows of a cell or a row's sub-query: 1 for a
 * row, 0 at the end, and also 0 when the step failed: then hq_fail (a
 * cell must never look empty because its read failed).
 */
int hq_row(struct hq *q, sqlite3_stmt *st);
/*
 * A read under the rows failed: say so once (hq_dberr "what", unless
 * NULL: said already), drop the row being printed, and make the run
 * exit HQ_NODB.  Rows printed before and after are whole.
 */
void hq_fail(struct hq *q, const char *what);

/* Whether s names a key kind the recorder stores (keys.kind). */
int hq_kind_valid(const char *s);
const char *hq_kind_list(void);

#endif
