/*
 * retain.c: prune old history in small steps (see retain.h).
 *
 * A round fixes the cutoff revision R (the last revision observed at or
 * before now - keep), then walks the tables in ranges, one short
 * transaction per range, chained by a zero-delay timer so the loop keeps
 * serving the watch between steps: the events, the typed tables, the
 * churn counts' minute rows, then the revisions and the keys that nothing
 * left refers to.
 */
#include "retain.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "hsdb.h"
#include "log.h"

#define STEP 20000 /* revisions or rowids per transaction */
#define MINUTE 60000000LL
#define CHURN_STEP 60 /* minutes of churn rows per transaction */

/* The typed interval tables and their child rows (schema/001_init.sql). */
static const struct {
	const char *table, *child, *child_col;
} typed[] = {
    {"identities", NULL, NULL},
    {"identity_users", NULL, NULL},
    {"ipcache", "ipcache_ports", "ipcache_row"},
    {"nodes", "node_addresses", "node_row"},
    {"services", "service_ports", "service_row"},
};
#define NTYPED (sizeof(typed) / sizeof(typed[0]))

/*
 * The churn counts (schema/004_churn.sql) keep a row per hour and per
 * minute.  The hours stay, so that `hindsight churn` still reports on
 * whole hours past the horizon; the minute rows before it go, or they
 * would grow with all history (up to 60 an hour for every pod that
 * changes).
 */
static const char *const churn_tables[] = {
    "churn", "churn_pods", "churn_spans"};
#define NCHURN ((int)(sizeof(churn_tables) / sizeof(churn_tables[0])))

/* Passes of a round after the typed tables (t->table values). */
#define PASS_CHURN ((int)NTYPED) /* to PASS_CHURN + NCHURN - 1 */
#define PASS_REVS ((int)NTYPED + NCHURN)
#define PASS_KEYS ((int)NTYPED + NCHURN + 1)
#define PASS_END ((int)NTYPED + NCHURN + 2)

static int
is_churn(int table)
{
	return table >= PASS_CHURN && table < PASS_CHURN + NCHURN;
}

struct retain {
	struct ev_loop *loop;
	char *path;
	sqlite3 *db; /* NULL after a failed rollback: reopened by a round */
	int64_t keep_us;
	double every;
	struct ev_timer round; /* every `every` seconds */
	struct ev_timer step; /* the next range of a round in progress */
	/* the round in progress */
	int active;
	int64_t cut; /* prune what ended at or before this */
	int64_t cut_us; /* its revision's t_hi_us */
	int table; /* -1: events, 0..NTYPED-1: typed[], then PASS_* */
	int64_t cut_minute; /* churn minute rows before it go */
	int64_t lo, hi; /* the next range, and where the table ends */
	int64_t removed;
	int64_t changed; /* rows the last exec3() statement deleted */
	int64_t shared; /* values up to this id may be shared between keys */
	int marked; /* meta prune_open set in a committed step of this round */
};

int64_t
retain_parse(const char *s)
{
	int64_t us;

	if (hs_parse_duration(s, strlen(s), &us) != 0 || us <= 0)
		return -1;
	return us;
}

/*
 * The first column of sql's first row, with ?1 bound to arg, or to name
 * when it is not NULL: 1 and *out set; 0 when there is no row or it is
 * NULL (*out untouched); -1 when the read failed.  A failed read is never
 * taken for "nothing there": a pass that ended early would leave rows
 * behind, and one that skipped a typed table would let the revisions
 * pass delete the times of the rows it left.
 */
static int
read_int(struct retain *t, const char *sql, int64_t arg, const char *name,
    int64_t *out)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, arg);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		rc = 1;
	} else if (s == SQLITE_ROW || s == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

static int
one_int(struct retain *t, const char *sql, int64_t arg, int64_t *out)
{
	return read_int(t, sql, arg, NULL, out);
}

/* A meta value, as read_int(). */
static int
meta_int(struct retain *t, const char *name, int64_t *out)
{
	return read_int(
	    t, "SELECT value FROM meta WHERE name = ?1", 0, name, out);
}

/* Run sql with ?1..?3 bound (a statement using fewer ignores the rest). */
static int
run3(struct retain *t, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	sqlite3_bind_int64(st, 3, c);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	t->changed = sqlite3_changes(t->db);
	return 0;
}

/* run3() a DELETE, counting what it removed. */
static int
exec3(struct retain *t, const char *sql, int64_t a, int64_t b, int64_t c)
{
	if (run3(t, sql, a, b, c) != 0)
		return -1;
	t->removed += t->changed;
	return 0;
}

/*
 * Take n deleted rows off the table's row count (schema/007_counts.sql),
 * in the transaction that deleted them.
 */
static int
count_down(struct retain *t, const char *name, int64_t n)
{
	sqlite3_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	if (sqlite3_prepare_v2(t->db,
		"UPDATE row_counts SET n = n - ?1 WHERE name = ?2", -1, &st,
		NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Add n to meta pruned_rows in the transaction that removed them, so the
 * total stays true when a round is given up half way.
 */
static int
count_pruned(struct retain *t, int64_t n)
{
	return n == 0 ? 0
		      : run3(t,
			    "INSERT INTO meta(name, value) VALUES "
			    "('pruned_rows', ?1) ON CONFLICT(name) DO UPDATE "
			    "SET value = value + ?1",
			    n, 0, 0);
}

/*
 * The first key of the current pass (a revision, a key id or a rowid) at
 * or after from, into *out; *out stays as it is when there is none.  0, or
 * -1 when the read failed.
 */
static int
pass_next(struct retain *t, int64_t from, int64_t *out)
{
	char sql[128];

	if (t->table < 0)
		snprintf(sql, sizeof(sql),
		    "SELECT min(rev) FROM events WHERE rev >= ?1");
	else if (t->table == PASS_REVS)
		snprintf(sql, sizeof(sql),
		    "SELECT min(rev) FROM revisions WHERE rev >= ?1");
	else if (t->table == PASS_KEYS)
		snprintf(sql, sizeof(sql),
		    "SELECT min(id) FROM temp.gone_keys WHERE id >= ?1");
	else if (is_churn(t->table))
		snprintf(sql, sizeof(sql),
		    "SELECT min(bucket) FROM %s WHERE secs = 60 AND "
		    "bucket >= ?1",
		    churn_tables[t->table - PASS_CHURN]);
	else
		snprintf(sql, sizeof(sql),
		    "SELECT min(rowid) FROM %s WHERE rowid >= ?1",
		    typed[t->table].table);
	return one_int(t, sql, from, out) < 0 ? -1 : 0;
}

/* Where the next table's ranges start and end; 0, or -1 when a read failed. */
static int
table_bounds(struct retain *t)
{
	char sql[128];

	t->lo = 0;
	t->hi = -1;
	if (t->table >= PASS_END)
		return 0;
	if (pass_next(t, INT64_MIN, &t->lo) != 0)
		return -1;
	if (t->table < 0)
		t->hi = t->cut;
	else if (t->table == PASS_REVS)
		t->hi = t->cut - 1; /* the cutoff's own time is pruned_us */
	else if (is_churn(t->table))
		t->hi = t->cut_minute - 1; /* the horizon's minute stays */
	else {
		if (t->table == PASS_KEYS)
			snprintf(sql, sizeof(sql),
			    "SELECT max(id) FROM temp.gone_keys");
		else
			snprintf(sql, sizeof(sql), "SELECT max(rowid) FROM %s",
			    typed[t->table].table);
		if (one_int(t, sql, 0, &t->hi) < 0)
			return -1;
	}
	return 0;
}

/*
 * The pruning connection: never waits for the recorder's lock (step_cb
 * retries instead).  Values of pruned events, per step; per round, the
 * revisions that rows left begin at (as many as the live typed rows: on
 * disk) and the keys whose DELETE was pruned.  Never in the file.
 */
static sqlite3 *
open_db(const char *path, char *err, size_t errlen)
{
	sqlite3 *db;

	if ((db = hsdb_open_rw(path, err, errlen)) == NULL)
		return NULL;
	if (sqlite3_exec(db,
		"PRAGMA temp_store=FILE;"
		"CREATE TEMP TABLE pruned_vals(key_id INTEGER, val_id INTEGER);"
		"CREATE TEMP TABLE keep_revs(rev INTEGER PRIMARY KEY);"
		"CREATE TEMP TABLE gone_keys(id INTEGER PRIMARY KEY)",
		NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 0);
	return db;
}

/*
 * Give the round up after a failure: what its steps committed stays, and
 * the next round starts over (meta prune_open makes it look for the keys
 * this one may have left without events).
 */
static void
abandon(struct retain *t)
{
	log_warn("retention: %s; trying again later", sqlite3_errmsg(t->db));
	if (!sqlite3_get_autocommit(t->db))
		sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
	t->active = 0;
	/*
	 * A transaction left open would hold the write lock until the next
	 * round, and the recorder, finding the db busy, would stop.  Closing
	 * the connection rolls it back (every statement is finalized by now);
	 * the next round opens another.
	 */
	if (!sqlite3_get_autocommit(t->db)) {
		log_warn("retention: cannot roll back (%s); closing its "
			 "connection to %s",
		    sqlite3_errmsg(t->db), t->path);
		sqlite3_close(t->db);
		t->db = NULL;
	}
}

/*
 * Delete the pruned events of revisions [lo, end), then the values no
 * event refers to any more.  A value is shared only by consecutive events
 * of one key (format 3; schema/003_lean.sql), so it is unused once no
 * remaining event of that key refers to it.  Values of files recorded in
 * format 2 (ids up to meta vals_shared_through) may be shared between
 * keys and are kept.
 */
static int
prune_events(struct retain *t, int64_t end)
{
	sqlite3_stmt *del = NULL, *ins = NULL, *gone = NULL;
	int64_t val, n = 0, inferred = 0;
	int rc = -1, s;

	/*
	 * Superseded at or before the cutoff (the key's next event is at or
	 * before it), or a DELETE before it that is the key's last event.
	 */
	if (sqlite3_exec(t->db, "DELETE FROM temp.pruned_vals", NULL, NULL,
		NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(t->db,
		"DELETE FROM events WHERE rev >= ?1 AND rev < ?2 "
		"AND rev <= ?3 AND coalesce((SELECT n.rev <= ?3 "
		"FROM events n WHERE n.key_id = events.key_id "
		"AND n.rev > events.rev ORDER BY n.rev LIMIT 1), "
		"type = 1) RETURNING key_id, val_id, origin, type",
		-1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(t->db,
		"INSERT INTO temp.pruned_vals(key_id, val_id) VALUES (?, ?)",
		-1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(t->db,
		"INSERT OR IGNORE INTO temp.gone_keys(id) VALUES (?)", -1,
		&gone, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(del, 1, t->lo);
	sqlite3_bind_int64(del, 2, end);
	sqlite3_bind_int64(del, 3, t->cut);
	while ((s = sqlite3_step(del)) == SQLITE_ROW) {
		t->removed++;
		n++;
		if (sqlite3_column_int64(del, 2) == 2)
			inferred++;
		/* A key whose DELETE goes may have no event left. */
		if (sqlite3_column_int64(del, 3) == 1) {
			sqlite3_bind_int64(
			    gone, 1, sqlite3_column_int64(del, 0));
			s = sqlite3_step(gone);
			sqlite3_reset(gone);
			if (s != SQLITE_DONE)
				goto out;
		}
		val = sqlite3_column_int64(del, 1);
		if (sqlite3_column_type(del, 1) == SQLITE_NULL ||
		    val <= t->shared)
			continue;
		sqlite3_bind_int64(ins, 1, sqlite3_column_int64(del, 0));
		sqlite3_bind_int64(ins, 2, val);
		s = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (s != SQLITE_DONE)
			goto out;
	}
	if (s != SQLITE_DONE || count_down(t, "events", n) != 0 ||
	    count_down(t, "inferred_events", inferred) != 0)
		goto out;
	if (exec3(t,
		"DELETE FROM vals WHERE id IN (SELECT p.val_id FROM "
		"temp.pruned_vals p WHERE NOT EXISTS (SELECT 1 FROM events e "
		"WHERE e.key_id = p.key_id AND e.val_id = p.val_id))",
		0, 0, 0) == 0 &&
	    count_down(t, "vals", t->changed) == 0)
		rc = 0;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	sqlite3_finalize(gone);
	return rc;
}

/* Revisions, rowids or minutes in one step of the current pass. */
static int64_t
step_size(const struct retain *t)
{
	return is_churn(t->table) ? CHURN_STEP : STEP;
}

/* Delete one range of the current table; 0, or -1 when busy or failing. */
static int
prune_range(struct retain *t)
{
	char sql[512];
	int64_t end = t->lo + step_size(t);

	if (is_churn(t->table)) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM %s WHERE secs = 60 AND bucket >= ?1 AND "
		    "bucket < ?2 AND bucket < ?3",
		    churn_tables[t->table - PASS_CHURN]);
		return exec3(t, sql, t->lo, end, t->cut_minute);
	}

	if (t->table < 0) {
		if (prune_events(t, end) != 0 ||
		    exec3(t,
			"DELETE FROM decode_errors WHERE rev >= ?1 AND "
			"rev < ?2 AND rev <= ?3 AND NOT EXISTS (SELECT 1 "
			"FROM events e WHERE e.rev = decode_errors.rev AND "
			"e.seq = decode_errors.seq)",
			t->lo, end, t->cut) != 0 ||
		    count_down(t, "decode_errors", t->changed) != 0 ||
		    (t->changed > 0 &&
			hsdb_meta_sync_decode_errors(t->db) != 0))
			return -1;
		return 0;
	}
	if (t->table == PASS_REVS) {
		/*
		 * A revision before the cutoff stays while an event or a typed
		 * row that is left begins at it: its time is that row's.
		 */
		return exec3(t,
		    "DELETE FROM revisions WHERE rev >= ?1 AND rev < ?2 AND "
		    "rev < ?3 AND NOT EXISTS (SELECT 1 FROM events e WHERE "
		    "e.rev = revisions.rev) AND NOT EXISTS (SELECT 1 FROM "
		    "temp.keep_revs k WHERE k.rev = revisions.rev)",
		    t->lo, end, t->cut);
	}
	if (t->table == PASS_KEYS) {
		/*
		 * Deleted before the cutoff and not put again: no event is
		 * left, hence no typed row or decode error either.
		 */
		if (exec3(t,
			"DELETE FROM keys WHERE id IN (SELECT g.id FROM "
			"temp.gone_keys g WHERE g.id >= ?1 AND g.id < ?2) "
			"AND NOT EXISTS (SELECT 1 FROM events e WHERE "
			"e.key_id = keys.id)",
			t->lo, end, 0) != 0)
			return -1;
		return count_down(t, "keys", t->changed);
	}
	snprintf(sql, sizeof(sql),
	    "DELETE FROM %s WHERE rowid >= ?1 AND "
	    "rowid < ?2 AND to_rev IS NOT NULL AND to_rev <= ?3",
	    typed[t->table].table);
	if (exec3(t, sql, t->lo, end, t->cut) != 0 ||
	    count_down(t, typed[t->table].table, t->changed) != 0)
		return -1;
	/* The rows left that began before the cutoff keep their revision. */
	snprintf(sql, sizeof(sql),
	    "INSERT OR IGNORE INTO temp.keep_revs SELECT from_rev FROM %s "
	    "WHERE rowid >= ?1 AND rowid < ?2 AND from_rev < ?3",
	    typed[t->table].table);
	if (run3(t, sql, t->lo, end, t->cut) != 0)
		return -1;
	if (typed[t->table].child == NULL)
		return 0;
	snprintf(sql, sizeof(sql),
	    "DELETE FROM %s WHERE %s >= ?1 AND %s < ?2 "
	    "AND %s NOT IN (SELECT rowid FROM %s WHERE rowid >= ?1 AND "
	    "rowid < ?2)",
	    typed[t->table].child, typed[t->table].child_col,
	    typed[t->table].child_col, typed[t->table].child_col,
	    typed[t->table].table);
	return exec3(t, sql, t->lo, end, t->cut);
}

/*
 * BEGIN IMMEDIATE: 0; 1 when busy (the recorder holds the write lock:
 * come back in a moment); -1 on any other failure (abandon the round).
 */
static int
begin(struct retain *t)
{
	int rc = sqlite3_exec(t->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	return (rc & 0xff) == SQLITE_BUSY ? 1 : -1;
}

static void
finish_round(struct retain *t)
{
	int64_t before = t->removed, cut_us = clock_now_us() - t->keep_us;
	char when[40];
	int rc;

	t->active = 0;
	if ((rc = begin(t)) != 0) {
		if (rc < 0) {
			abandon(t);
			return;
		}
		ev_timer_set(&t->step, 0.05, 0.);
		ev_timer_start(t->loop, &t->step);
		t->active = 1; /* try the bookkeeping again */
		return;
	}
	if (exec3(t, "DELETE FROM heartbeats WHERE rev <= ?1", t->cut, 0, 0) !=
		0 ||
	    count_pruned(t, t->removed - before) != 0 ||
	    one_int(t, "SELECT t_hi_us FROM revisions WHERE rev = ?1", t->cut,
		&cut_us) < 0 ||
	    hsdb_meta_set_int(t->db, "pruned_through_rev", t->cut) != 0 ||
	    hsdb_meta_set_int(t->db, "prune_open", 0) != 0 ||
	    hsdb_meta_set_int(t->db, "pruned_us", cut_us) != 0 ||
	    sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		abandon(t);
		return;
	}
	hs_rfc3339_format(cut_us, when, sizeof(when));
	log_info("retention: pruned %lld rows that ended before %s (revision "
		 "%lld)",
	    (long long)t->removed, when, (long long)t->cut);
}

static void
step_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct retain *t = w->data;
	int64_t next, before = t->removed;
	int rc;

	(void)loop;
	(void)revents;
	if (!t->active)
		return;
	if (t->table >= PASS_END) {
		finish_round(t);
		return;
	}
	if (t->lo > t->hi) { /* this table is done */
		t->table++;
		if (table_bounds(t) != 0) {
			abandon(t);
			return;
		}
		ev_timer_set(&t->step, 0., 0.);
		ev_timer_start(t->loop, &t->step);
		return;
	}
	/* Busy: the recorder is committing; come back in a moment. */
	if ((rc = begin(t)) != 0) {
		if (rc < 0) {
			abandon(t);
			return;
		}
		ev_timer_set(&t->step, 0.05, 0.);
		ev_timer_start(t->loop, &t->step);
		return;
	}
	/*
	 * Marked open with the round's first deletions, cleared at its end;
	 * its cut beside (a round cut short has pruned past
	 * pruned_through_rev: the CLI takes the cut as the horizon).
	 */
	if ((!t->marked &&
		(hsdb_meta_set_int(t->db, "prune_open", 1) != 0 ||
		    hsdb_meta_set_int(t->db, "prune_cut", t->cut) != 0 ||
		    hsdb_meta_set_int(t->db, "prune_cut_us", t->cut_us) !=
			0)) ||
	    prune_range(t) != 0 || count_pruned(t, t->removed - before) != 0 ||
	    sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		abandon(t);
		return;
	}
	t->marked = 1;
	/* Keys are sparse (revisions below the cutoff): skip to the next. */
	next = t->hi + 1;
	if (pass_next(t, t->lo + step_size(t), &next) != 0) {
		abandon(t);
		return;
	}
	t->lo = next > t->lo + step_size(t) ? next : t->lo + step_size(t);
	ev_timer_set(&t->step, 0., 0.);
	ev_timer_start(t->loop, &t->step);
}

static void
round_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct retain *t = w->data;
	int64_t cut, done = 0, open = 0, pcut = 0;

	(void)loop;
	(void)revents;
	if (t->active)
		return;
	if (t->db == NULL) {
		char err[512];

		if ((t->db = open_db(t->path, err, sizeof(err))) == NULL) {
			log_warn("retention: %s; trying again later", err);
			return;
		}
	}
	switch (one_int(t, "SELECT max(rev) FROM revisions WHERE t_hi_us <= ?1",
	    clock_now_us() - t->keep_us, &cut)) {
	case 0:
		return; /* nothing that old */
	case 1:
		break;
	default:
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	t->shared = 0;
	if (meta_int(t, "pruned_through_rev", &done) < 0 ||
	    meta_int(t, "prune_open", &open) < 0 ||
	    meta_int(t, "vals_shared_through", &t->shared) < 0) {
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	/*
	 * A round cut short pruned, in the steps it committed, what ended
	 * before its cut: finish it there, though a longer --retain now asks
	 * for less.  A round through less would end with pruned_through_rev
	 * before rows already gone, and the CLI would answer between the two
	 * without a warning.
	 */
	if (open != 0 && meta_int(t, "prune_cut", &pcut) < 0) {
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	if (open != 0 && pcut > cut)
		cut = pcut;
	if (cut <= done)
		return;
	t->cut_us = clock_now_us() - t->keep_us;
	if (one_int(t, "SELECT t_hi_us FROM revisions WHERE rev = ?1", cut,
		&t->cut_us) < 0) {
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	if (sqlite3_exec(t->db,
		"DELETE FROM temp.keep_revs; DELETE FROM temp.gone_keys", NULL,
		NULL, NULL) != SQLITE_OK) {
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	/*
	 * An earlier round cut short (the recorder stopped, or a step
	 * failed) may have pruned the last event of keys before its keys
	 * pass ran: this round prunes no event of theirs, so they would
	 * never be seen again.  Only then (meta prune_open), every key
	 * without an event is a candidate: one read of keys, not each round.
	 */
	if (open != 0 &&
	    sqlite3_exec(t->db,
		"INSERT INTO temp.gone_keys SELECT k.id FROM keys k WHERE "
		"NOT EXISTS (SELECT 1 FROM events e WHERE e.key_id = k.id)",
		NULL, NULL, NULL) != SQLITE_OK) {
		log_warn(
		    "retention: %s; trying again later", sqlite3_errmsg(t->db));
		return;
	}
	t->marked = 0;
	t->active = 1;
	t->cut = cut;
	t->cut_minute = t->cut_us / MINUTE;
	t->removed = 0;
	t->table = -1;
	if (table_bounds(t) != 0) {
		abandon(t);
		return;
	}
	ev_timer_set(&t->step, 0., 0.);
	ev_timer_start(t->loop, &t->step);
}

struct retain *
retain_start(struct ev_loop *loop, const char *db_path, int64_t keep_us,
    double every, char *err, size_t errlen)
{
	struct retain *t;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->path = strdup(db_path)) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((t->db = open_db(db_path, err, errlen)) == NULL) {
		free(t->path);
		free(t);
		return NULL;
	}
	t->loop = loop;
	t->keep_us = keep_us;
	t->every = every;
	ev_timer_init(&t->round, round_cb, every, every);
	t->round.data = t;
	ev_timer_start(loop, &t->round);
	ev_timer_init(&t->step, step_cb, 0., 0.);
	t->step.data = t;
	return t;
}

void
retain_stop(struct retain *t)
{
	if (t == NULL)
		return;
	ev_timer_stop(t->loop, &t->round);
	ev_timer_stop(t->loop, &t->step);
	/* Closing rolls back what a step left open. */
	if (t->db != NULL && t->active)
		sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(t->db);
	free(t->path);
	free(t);
}
