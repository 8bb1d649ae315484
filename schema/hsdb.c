/*
 * hsdb.c: open a hindsight db, check that it is one, and bring it to the
 * format this build writes.  Migrations run in one IMMEDIATE transaction,
 * so a crash mid-migration leaves the old format intact.
 */
#include "hsdb.h"

#include "kinds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
hsdb_version(void)
{
	int i, v = 0;

	for (i = 0; hsdb_migrations[i].version != 0; i++)
		v = hsdb_migrations[i].version;
	return v;
}

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * What is this file?  Fills err with a description a user can act on and
 * returns -1 when it is not a db this build can use.  *version gets the
 * file's format version (0 for a new, empty file).
 */
static int
check_identity(
    sqlite3 *db, const char *path, int *version, char *err, size_t errlen)
{
	int64_t appid, uv, ntables;

	if (pragma_int(db, "PRAGMA application_id", &appid) != 0) {
		/* SQLITE_NOTADB surfaces here, on the first read. */
		if ((sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB)
			snprintf(
			    err, errlen, "%s: not a SQLite database", path);
		else if ((sqlite3_errcode(db) & 0xff) != SQLITE_CANTOPEN)
			/* Corrupt, I/O: no hint that would send one astray. */
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    sqlite3_errmsg(db));
		else
			snprintf(err, errlen,
			    "%s: cannot read: %s (is its directory read-only? "
			    "a WAL db needs it writable for the -wal and -shm "
			    "files)",
			    path, sqlite3_errmsg(db));
		return -1;
	}
	if (pragma_int(db, "PRAGMA user_version", &uv) != 0 ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_schema", &ntables) !=
		0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	if (appid == 0 && ntables == 0) {
		*version = 0;
		return 0;
	}
	if (appid != HSDB_APPLICATION_ID) {
		snprintf(err, errlen,
		    "%s: a SQLite database, but not a hindsight db "
		    "(application_id %lld)",
		    path, (long long)appid);
		return -1;
	}
	if (uv > hsdb_version()) {
		snprintf(err, errlen,
		    "%s: hindsight db format %lld is newer than this build "
		    "understands (%d); upgrade hindsight",
		    path, (long long)uv, hsdb_version());
		return -1;
	}
	*version = (int)uv;
	return 0;
}

/* hs_namespace(kind, key, value) and hs_pod(...): hs_churn_owner(). */
static void
sql_owner(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *kind = (const char *)sqlite3_value_text(argv[0]);
	const char *key = (const char *)sqlite3_value_text(argv[1]);
	const char *value = NULL;
	int pod = *(const int *)sqlite3_user_data(ctx);
	char *r;

	(void)argc;
	if (kind == NULL || key == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	if (sqlite3_value_type(argv[2]) != SQLITE_NULL)
		value = (const char *)sqlite3_value_text(argv[2]);
	r = hs_churn_owner(kind, key, (size_t)sqlite3_value_bytes(argv[1]),
	    value, value ? (size_t)sqlite3_value_bytes(argv[2]) : 0, pod);
	if (r == NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_text(ctx, r, -1, free);
}

int
hsdb_functions(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	static int is_pod[2] = {0, 1};
	const int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

	if (sqlite3_create_function(db, "hs_namespace", 3, fl, &is_pod[0],
		sql_owner, NULL, NULL) == SQLITE_OK &&
	    sqlite3_create_function(db, "hs_pod", 3, fl, &is_pod[1], sql_owner,
		NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	return -1;
}

/*
 * A migration that edits sqlite_schema (SQLite's documented way to change
 * a CHECK without copying the table) runs with the defensive flag off,
 * bumps schema_version itself, and ends the transaction: the connection
 * still holds the old schema, so the caller reopens it (returns 1) before
 * any further migration.
 */
static int
edits_schema(const struct hsdb_migration *m)
{
	return strstr(m->sql, "writable_schema") != NULL;
}

static int
migrate(sqlite3 *db, int from, char *err, size_t errlen)
{
	char *msg = NULL, sql[128];
	int i, rc, to = from, reopen = 0;
	int64_t sv;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	for (i = 0; hsdb_migrations[i].version != 0 && !reopen; i++) {
		const struct hsdb_migration *m = &hsdb_migrations[i];

		if (m->version <= from)
			continue;
		if ((reopen = edits_schema(m)) != 0)
			sqlite3_db_config(
			    db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
		if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %s: %s", m->name,
			    msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			sqlite3_db_config(
			    db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
			return -1;
		}
		to = m->version;
	}
	if (reopen) {
		/* Defensive mode refuses this pragma too: set it first. */
		if (pragma_int(db, "PRAGMA schema_version", &sv) != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA schema_version=%lld",
		    (long long)sv + 1);
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA application_id=%d; PRAGMA user_version=%d",
	    HSDB_APPLICATION_ID, to);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	return reopen;
fail:
	snprintf(err, errlen, "migrating: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	return -1;
}

/* Can files be created beside path?  (errno-free answer for messages.) */
static int
dir_writable(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return access(".", W_OK) == 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return access(dir[0] ? dir : "/", W_OK) == 0;
}

sqlite3 *
hsdb_open_rw(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int version;

	/*
	 * No memory statistics: they take a global mutex on every
	 * allocation.  Takes effect before SQLite's first initialization
	 * only (SQLITE_MISUSE after it, harmlessly).
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* One thread uses a connection: no mutex around every call. */
	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s%s", path,
		    db ? sqlite3_errmsg(db) : "out of memory",
		    dir_writable(path)
			? ""
			: " (its directory is missing, read-only "
			  "or not writable)");
		goto err0;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	/* The recorder must not stall its loop behind a reader for long. */
	sqlite3_busy_timeout(db, 200);
	if (check_identity(db, path, &version, err, errlen) != 0 ||
	    hsdb_functions(db, path, err, errlen) != 0)
		goto err0;
	/* SQLite silently falls back to read-only; a recorder cannot. */
	if (sqlite3_db_readonly(db, "main") == 1) {
		snprintf(err, errlen,
		    "%s: cannot be written (read-only file, "
		    "directory or file system)",
		    path);
		goto err0;
	}
	/*
	 * Readers holding old snapshots keep checkpoints from resetting the
	 * WAL; when it is reset, it is truncated to this size.
	 */
	if (sqlite3_exec(db,
		"PRAGMA journal_size_limit=16777216;"
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		"PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY",
		NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto err0;
	}
	if (version < hsdb_version()) {
		switch (migrate(db, version, err, errlen)) {
		case 0:
			break;
		case 1:
			sqlite3_close(db);
			return hsdb_open_rw(path, err, errlen);
		default:
			goto err0;
		}
	}
	return db;
err0:
	sqlite3_close(db);
	return NULL;
}

sqlite3 *
hsdb_open_ro(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct stat sb;
	int version;

	/* SQLite would report a missing file as "unable to open"; say it. */
	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto err0;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	if (check_identity(db, path, &version, err, errlen) != 0 ||
	    hsdb_functions(db, path, err, errlen) != 0)
		goto err0;
	if (version == 0) {
		snprintf(err, errlen,
		    "%s: an empty SQLite database, not a "
		    "hindsight db",
		    path);
		goto err0;
	}
	if (version < hsdb_version()) {
		snprintf(err, errlen,
		    "%s: hindsight db format %d is older "
		    "than this build's %d; upgrade it with "
		    "'hindsight-recorder --db FILE --upgrade' (no etcd needed)",
		    path, version, hsdb_version());
		goto err0;
	}
	sqlite3_exec(db, "PRAGMA query_only=ON", NULL, NULL, NULL);
	return db;
err0:
	sqlite3_close(db);
	return NULL;
}

/* The meta value name as a row of st (prepared by the caller); see hsdb.h. */
static int
meta_read(sqlite3 *db, const char *name, sqlite3_stmt **st)
{
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = ?", -1,
		st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(*st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(*st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_type(*st, 0) != SQLITE_NULL;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
hsdb_meta_read_int(sqlite3 *db, const char *name, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = meta_read(db, name, &st);

	if (rc == 1)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int
hsdb_meta_read_text(sqlite3 *db, const char *name, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = meta_read(db, name, &st);

	if (rc == 1) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (v != NULL)
			snprintf(buf, size, "%s", v);
		else
			rc = -1; /* out of memory */
	}
	sqlite3_finalize(st);
	return rc;
}

static int
meta_set(sqlite3 *db, const char *name, const char *text, int64_t value)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db,
		"INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", -1,
		&st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, value);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
hsdb_meta_set_int(sqlite3 *db, const char *name, int64_t value)
{
	return meta_set(db, name, NULL, value);
}

int
hsdb_meta_set_text(sqlite3 *db, const char *name, const char *value)
{
	return meta_set(db, name, value, 0);
}

int
hsdb_meta_sync_decode_errors(sqlite3 *db)
{
	return sqlite3_exec(db,
		   "INSERT INTO meta(name, value) SELECT 'decode_errors', n "
		   "FROM row_counts WHERE name = 'decode_errors' "
		   "ON CONFLICT (name) DO UPDATE SET value = excluded.value "
		   "WHERE value IS NOT excluded.value",
		   NULL, NULL, NULL) == SQLITE_OK
	    ? 0
	    : -1;
}
