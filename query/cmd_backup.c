/*
 * cmd_backup.c: "hindsight backup [--force] FILE": a consistent copy of
 * the db, also while the recorder writes.
 *
 * VACUUM INTO runs on the CLI's read-only connection in one read
 * transaction, so the copy is the db as of one commit: every revision up
 * to its watermark, nothing of a later one (WAL readers see a snapshot).
 * It writes a compact file next to FILE (mkstemp, mode 0600), which is
 * checked (quick_check, opened as a hindsight db), switched to WAL like
 * the recorder's files, synced, and only then put in place: link(2),
 * which never replaces a file, or rename(2) with --force.  An
 * interrupted or failed backup leaves FILE as it was and no scratch file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "hsdb.h"

static const char help[] =
    "usage: hindsight backup [--force] FILE\n"
    "\n"
    "Write a consistent copy of the db to FILE, also while the recorder\n"
    "is writing: the db as of one commit, compacted (VACUUM INTO from the\n"
    "read-only connection).  The copy is a hindsight db: the CLI reads it,\n"
    "the recorder can resume recording into it.  Refuses to replace an\n"
    "existing FILE (exit 1) unless --force; FILE appears whole or not at\n"
    "all.  Prints the copy's watermark.\n";

static sqlite3 *volatile busy_db;

static void
on_signal(int sig)
{
	(void)sig;
	if (busy_db != NULL)
		sqlite3_interrupt(busy_db);
}

/* fsync a file, or a directory (the rename or link in it). */
static int
sync_path(const char *path, int dir)
{
	int fd, rc;

	if ((fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDWR)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Check the copy and make it a file like the recorder's (WAL).  Fills
 * *rev, *us (watermark) and *events.  Returns 0, or -1 with err set.
 */
static int
finish_copy(const char *tmp, int64_t *rev, int64_t *us, int64_t *events,
    char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *r;
	int rc = -1;

	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "opening the copy: %s",
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	/* A check that cannot run is not a check that failed. */
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "cannot check the copy: %s",
		    sqlite3_errmsg(db));
		goto done;
	}
	if (strcmp((r = (const char *)sqlite3_column_text(st, 0)) ? r : "",
		"ok") != 0) {
		snprintf(err, errlen, "the copy fails quick_check: %s",
		    r ? r : "(no result)");
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "setting WAL on the copy: %s",
		    sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_close(db);
	db = NULL;
	/* The copy must open as what it is: a hindsight db. */
	if ((db = hsdb_open_ro(tmp, err, errlen)) == NULL)
		goto done;
	*rev = *us = -1;
	if (hsdb_meta_read_int(db, "recorded_rev", rev) < 0 ||
	    hsdb_meta_read_int(db, "recorded_us", us) < 0 ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st,
		NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(
		    err, errlen, "reading the copy: %s", sqlite3_errmsg(db));
		goto done;
	}
	*events = sqlite3_column_int64(st, 0);
	rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int
cmd_backup(struct hq *q, int argc, char **argv)
{
	const char *pos[1], *file;
	int force = 0;
	const struct hq_opt opts[] = {
	    {"force", 0, NULL, &force}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"db", "backup", "bytes", "recorded_rev",
	    "recorded_time", "events", NULL};
	struct sigaction sa, old_int, old_term;
	struct stat sf, sd;
	char *tmp = NULL, err[512];
	sqlite3_stmt *st = NULL;
	int64_t rev, us, events;
	int npos, rc, fd;

	if ((rc = hq_args(q, argc, argv, opts, pos, 1, 1, &npos, help)) != 0)
		return rc;
	file = pos[0];
	if ((rc = hq_name_dbs(q)) != 0)
		return rc;
	if (q->ndb > 1)
		return hq_usage(q, "copies one db: give one --db");
	if (file[0] == '\0')
		return hq_usage(q, "empty file name");
	if (!force && lstat(file, &sf) == 0)
		return hq_usage(q,
		    "%s exists; not replacing it (--force replaces it)", file);
	if ((rc = hq_open(q)) != 0)
		return hq_close(q, rc);
	/* --force on the db itself would replace the file being recorded. */
	if (stat(file, &sf) == 0 && stat(q->dbpath, &sd) == 0 &&
	    sf.st_dev == sd.st_dev && sf.st_ino == sd.st_ino)
		return hq_close(q, hq_usage(q, "%s is the db itself", file));
	if (asprintf(&tmp, "%s.XXXXXX", file) < 0) {
		tmp = NULL;
		return hq_close(q, hq_usage(q, "out of memory"));
	}
	/* An empty file is what VACUUM INTO accepts besides none. */
	if ((fd = mkstemp(tmp)) < 0) {
		hq_error("backup: %s: %s", file, strerror(errno));
		free(tmp);
		return hq_close(q, HQ_NODB);
	}
	close(fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	busy_db = q->db;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/*
	 * query_only forbids VACUUM INTO (it writes the new file); the
	 * connection itself stays SQLITE_OPEN_READONLY, so the db cannot be
	 * written either way.  VACUUM runs in a read transaction of its own,
	 * not inside hq_open()'s: end that one first.
	 */
	rc = sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    q->db, "PRAGMA query_only=OFF", NULL, NULL, NULL);
	if (rc == SQLITE_OK &&
	    (rc = sqlite3_prepare_v2(q->db, "VACUUM INTO ?1", -1, &st, NULL)) ==
		SQLITE_OK) {
		sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		snprintf(
		    err, sizeof(err), "copying: %s", sqlite3_errmsg(q->db));
	sqlite3_finalize(st);
	sqlite3_exec(q->db, "PRAGMA query_only=ON", NULL, NULL, NULL);
	busy_db = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);

	if (rc == SQLITE_OK &&
	    finish_copy(tmp, &rev, &us, &events, err, sizeof(err)) != 0)
		rc = SQLITE_ERROR;
	if (rc == SQLITE_OK && sync_path(tmp, 0) != 0) {
		snprintf(
		    err, sizeof(err), "syncing the copy: %s", strerror(errno));
		rc = SQLITE_ERROR;
	}
	/* No -wal or -shm may stay behind next to the scratch name. */
	if (rc == SQLITE_OK) {
		char side[4096];

		snprintf(side, sizeof(side), "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmp);
		unlink(side);
	}
	if (rc == SQLITE_OK) {
		if (force) {
			if (rename(tmp, file) != 0) {
				snprintf(err, sizeof(err), "%s: %s", file,
				    strerror(errno));
				rc = SQLITE_ERROR;
			}
		} else if (link(tmp, file) != 0) {
			if (errno == EEXIST) {
				unlink(tmp);
				free(tmp);
				return hq_close(q,
				    hq_usage(q,
					"%s appeared meanwhile; not "
					"replacing it (--force replaces it)",
					file));
			}
			snprintf(
			    err, sizeof(err), "%s: %s", file, strerror(errno));
			rc = SQLITE_ERROR;
		} else
			unlink(tmp);
	}
	if (rc != SQLITE_OK) {
		char side[4096];

		unlink(tmp);
		snprintf(side, sizeof(side), "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmp);
		unlink(side);
		hq_error("backup: %s", err);
		free(tmp);
		return hq_close(q, HQ_NODB);
	}
	free(tmp);
	{
		char *dir = strdup(file), *slash;

		if (dir != NULL) {
			slash = strrchr(dir, '/');
			if (slash == NULL)
				strcpy(dir, ".");
			else if (slash == dir)
				slash[1] = '\0';
			else
				*slash = '\0';
			sync_path(dir, 1);
			free(dir);
		}
	}
	if (stat(file, &sf) != 0)
		sf.st_size = 0;
	out_vertical(q->out);
	out_columns(q->out, cols);
	out_row(q->out);
	out_str(q->out, q->dbpath);
	out_str(q->out, file);
	out_int(q->out, (int64_t)sf.st_size);
	if (rev >= 0)
		out_int(q->out, rev);
	else
		out_null(q->out);
	out_time(q->out, us, us >= 0);
	out_int(q->out, events);
	return hq_close(q, 0);
}
