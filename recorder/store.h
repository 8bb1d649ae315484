/*
 * store.h: the recorder's writer.  Turns etcd events into rows of the
 * hindsight format (schema/001_init.sql): the raw change log, interned
 * keys and values, validity intervals, the typed Cilium tables, and the
 * watermark.  Statements are prepared once.  The recorder opens a
 * transaction, feeds whole revisions, and commits; the watermark is
 * written in the same transaction as the events it covers.
 *
 * Revisions passed in are etcd revisions; the store adds the current
 * epoch's rev_offset.
 */
#ifndef HS_STORE_H
#define HS_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* What the db says about where recording stands. */
struct store_state {
	int recorded; /* 0: nothing recorded yet (take a snapshot) */
	int64_t
	    recorded_rev; /* etcd revision of the watermark (current epoch) */
	int64_t recorded_us;
	int64_t latest_us; /* the latest time written (recorded_us or later) */
	int64_t epoch;
	uint64_t cluster_id;
	char prefix[256];
};

struct store_event {
	int type; /* 0 PUT, 1 DELETE */
	const char *key;
	size_t keylen;
	const char *value; /* PUT only; may be NULL when vallen is 0 */
	size_t vallen;
	int64_t mod_rev; /* etcd revision */
	int64_t create_rev;
	int64_t version;
	int64_t lease;
	int origin; /* 0 watch, 1 snapshot, 2 inferred */
};

/* Open (create, migrate) the db.  NULL with a one-line reason in err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Where recording stands (out->recorded 0: a new db).  -1 with a one-line
 * reason in err when it cannot be read.
 */
int store_state(
    struct store *s, struct store_state *out, char *err, size_t errlen);

/*
 * Transactions.  store_begin() is a no-op inside one.  store_commit()
 * writes the watermark set by store_watermark() and commits; a failure
 * (disk full, I/O error) is logged and returns -1 with the transaction
 * rolled back: the caller must stop.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
int store_in_txn(const struct store *s);

/*
 * Make every commit so far survive a power loss (fsync the WAL); a no-op
 * inside a transaction or when nothing was committed since the last call.
 * -1 (logged) when the sync fails: the caller must stop.
 */
int store_sync(struct store *s);
/* The watermark the last store_sync() made durable (0: none yet). */
int64_t store_synced_rev(const struct store *s);

/*
 * First recording of an etcd cluster: epoch 1 with offset 0; prefix and
 * first snapshot revision/time go to meta.
 */
int store_first_epoch(struct store *s, uint64_t cluster_id, const char *prefix,
    int64_t snap_rev, int64_t now_us);

/*
 * The revision's observed time: how is "snapshot", "watch", "replay" or
 * "resync"; t_lo_us < 0 stores NULL (unknown).  Idempotent per revision:
 * the first call wins.
 */
int store_revision(struct store *s, int64_t rev, const char *how,
    int64_t t_lo_us, int64_t t_hi_us);

/* One event, inside a transaction, in revision order. */
int store_event(struct store *s, const struct store_event *ev);

/*
 * Re-listing after a gap (compacted history, replaced cluster).  Inside
 * one transaction: store_resync_begin(), then store_resync_key() for every
 * key etcd lists at revision rev, then store_resync_finish().  Keys whose
 * latest recorded event differs from the listing get an inferred PUT at
 * rev, recorded keys the listing lacks an inferred DELETE at rev, and the
 * gap (watermark, rev] is recorded with its times and reason.
 *
 * store_new_epoch() first, when etcd is another cluster (or its revisions
 * went backwards): later revisions are offset past everything recorded.
 */
int store_new_epoch(
    struct store *s, uint64_t cluster_id, int64_t etcd_rev, int64_t now_us);
int store_resync_begin(struct store *s);
int store_resync_key(
    struct store *s, const struct store_event *listed, int64_t rev);
int store_resync_finish(struct store *s, int64_t rev, int64_t gap_from_rev,
    int64_t gap_from_us, int64_t now_us, const char *reason, long *puts,
    long *deletes);

/* The hindsight revision (etcd revision + epoch offset) of etcd_rev. */
int64_t store_hs_rev(const struct store *s, int64_t etcd_rev);

/*
 * The newest key recorded as present in the current epoch (of those whose
 * etcd mod_revision is known): its bytes, its
 * etcd mod_revision and value (malloc'd, *key and *val NUL-terminated
 * besides).  1 found, 0 none, -1 the read failed (logged).
 */
int store_last_live(struct store *s, char **key, size_t *keylen,
    int64_t *mod_rev, char **val, size_t *vallen);

/* Everything up to rev is recorded and the watch was healthy at us. */
void store_watermark(struct store *s, int64_t rev, int64_t us);

/* Events written since open, and values that did not decode. */
int64_t store_events_written(const struct store *s);
int64_t store_decode_errors(const struct store *s);
/* Decode errors since open for one key kind (kinds.h). */
int64_t store_decode_errors_kind(const struct store *s, int kind);

#endif
