/*
 * hsdb.h: opening a hindsight .db file.  The recorder opens read-write and
 * brings the file to the current format; the CLI opens read-only and only
 * checks that the file is a hindsight db it understands.
 *
 * The format is the numbered SQL files in schema/, compiled in by
 * schema/embed.sh.  PRAGMA application_id marks the file as ours;
 * PRAGMA user_version is the number of the last migration applied.
 */
#ifndef HS_HSDB_H
#define HS_HSDB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HSDB_APPLICATION_ID 0x48534454 /* "HSDT" */

/* The release both binaries print with --version. */
#define HINDSIGHT_VERSION "0.1.0"

struct hsdb_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Terminated by an entry with version 0.  Generated from schema/ *.sql. */
extern const struct hsdb_migration hsdb_migrations[];

/* The format version this build writes (the last migration). */
int hsdb_version(void);

/*
 * Both opens register the SQL functions hs_namespace(kind, key, value) and
 * hs_pod(kind, key, value) (hs_churn_owner() in kinds.h), which migration
 * 4 and the churn report call.
 *
 * Open path for recording: create it if missing, set WAL,
 * synchronous=NORMAL, a short busy_timeout, SQLITE_DBCONFIG_DEFENSIVE, and
 * apply missing migrations in one transaction.  Refuses a file that is not
 * a hindsight db, or one written by a newer version.  On failure writes a
 * one-line reason into err (size errlen) and returns NULL.
 */
sqlite3 *hsdb_open_rw(const char *path, char *err, size_t errlen);

/*
 * Open path read-only (SQLITE_OPEN_READONLY, query_only, busy_timeout of a
 * few seconds) and check application_id and user_version.  A missing
 * file, a non-SQLite file, a SQLite file that is not ours, or a db from a
 * newer version gives NULL and a one-line reason saying what the file is.
 */
sqlite3 *hsdb_open_ro(const char *path, char *err, size_t errlen);

/*
 * Register hs_namespace() and hs_pod() on db (both opens do; a
 * connection that ATTACHes dbs needs them too).  -1 with "path: reason"
 * in err on failure.
 */
int hsdb_functions(sqlite3 *db, const char *path, char *err, size_t errlen);

/*
 * meta table helpers.  hsdb_meta_read_* return 1 and the value, 0 when
 * the name is absent (or NULL), -1 when the read failed: a failed read
 * is never "absent" (the recorder would snapshot a recorded db as new,
 * the CLI forget the --retain horizon).  hsdb_meta_set writes (INSERT OR
 * REPLACE); call it inside the caller's transaction.
 */
int hsdb_meta_read_int(sqlite3 *db, const char *name, int64_t *out);
int hsdb_meta_read_text(sqlite3 *db, const char *name, char *buf, size_t size);
int hsdb_meta_set_int(sqlite3 *db, const char *name, int64_t value);
int hsdb_meta_set_text(sqlite3 *db, const char *name, const char *value);

/*
 * Set meta decode_errors to the rows of decode_errors as row_counts has
 * them, inside the caller's transaction: both writers (the store, which
 * adds and decodes again, and --retain, which prunes) call it after
 * changing that count, so meta, row_counts and status agree.  0, or -1.
 */
int hsdb_meta_sync_decode_errors(sqlite3 *db);

/*
 * meta names the recorder maintains (README "The .db file"):
 *   prefix             recorded key prefix, e.g. "cilium/"
 *   etcd_cluster_id    cluster_id of the current epoch (decimal text)
 *   epoch              current epoch number
 *   first_rev          revision of the first snapshot
 *   first_us           when the first snapshot was taken
 *   recorded_rev       watermark: every revision <= this is recorded
 *   recorded_us        the watch was healthy up to this time
 *   decode_errors      values in the db that did not decode: the rows
 *                      of decode_errors (hsdb_meta_sync_decode_errors())
 *   decoder            generation of the decoder (recorder/decode.h)
 *   decoded_rev        that generation tried every value through it
 */

#endif
