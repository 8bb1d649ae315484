/*
 * store.c: events in, rows out (see store.h).
 *
 * Per event: intern the key (kind from decode.c), store the value (a new
 * vals row unless it equals the key's previous value), bring the typed
 * table of the key's kind up to date (close the open row, insert the
 * decoded value) and insert the event with the rowid of its typed row.
 * A PUT that leaves the value unchanged (a lease-only re-put, as Cilium
 * >= 1.14 does after a restart) is a raw event but does not split the
 * typed interval.  A value that does not decode is kept raw, noted in
 * decode_errors and logged once per key kind.
 *
 * Speed (bench/store_bench.c, format 3 in schema/003_lean.sql): nothing
 * in the file is updated in place but the typed row an event closes, and
 * most events touch a key seen shortly before, so a bounded cache
 * remembers, per recently used key, its id, its latest event (rev, seq,
 * value and the value's hashes) and its open typed row.  A hit saves the
 * key lookup and the latest-event lookup.  A new revision above every
 * recorded one starts at seq 0 without asking the db.  The cache holds
 * what the open transaction wrote, so a rollback empties it.
 *
 * Churn (schema/004_churn.sql): each event but a snapshot's is classified
 * against the cached previous event and counted in memory per hour and
 * minute, kind and namespace (and pod); the counts are added to the churn
 * tables at commit, a few upserts per commit when events are dense.  The
 * namespace and pod come from the decoded value; the cache keeps them for
 * the key's next DELETE (else the previous value is read back and parsed).
 */
#include "store.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "decode.h"
#include "hsdb.h"
#include "log.h"

enum {
	S_KEY_GET,
	S_KEY_INS,
	S_VAL_INS,
	S_OPEN_GET,
	S_SEQ,
	S_EV_INS,
	S_REV_INS,
	S_DERR,
	S_LS_GET,
	S_LS_INS,
	S_LBL_INS,
	S_IDENT_INS,
	S_IUSER_INS,
	S_IPC_INS,
	S_IPCPORT_INS,
	S_NODE_INS,
	S_NODEADDR_INS,
	S_SVC_INS,
	S_SVCPORT_INS,
	S_HB_INS,
	S_META,
	S_EPOCH_INS,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_CLOSE_IDENT,
	S_CLOSE_IUSER,
	S_CLOSE_IPC,
	S_CLOSE_NODE,
	S_CLOSE_SVC,
	S_OPEN_LAST,
	S_SEEN_INS,
	S_UNSEEN,
	S_GAP_INS,
	S_TOP_REV,
	S_DATA_VERSION,
	S_REV_T,
	S_LATEST_T,
	S_VAL_GET,
	S_CHURN_UP,
	S_CHURN_POD_UP,
	S_CHURN_SPAN_UP,
	S_CHURN_TOTAL_UP,
	S_ROWS_UP,
	S_DERR_COUNT,
	S_COUNT
};

/* The row counts kept in row_counts (schema/007_counts.sql). */
enum {
	R_EVENTS,
	R_INFERRED,
	R_KEYS,
	R_VALS,
	R_IDENT,
	R_IUSER,
	R_IPC,
	R_NODE,
	R_SVC,
	R_DERR,
	R_COUNT
};
static const char *const row_names[R_COUNT] = {"events", "inferred_events",
    "keys", "vals", "identities", "identity_users", "ipcache", "nodes",
    "services", "decode_errors"};

static const char *const sqls[S_COUNT] = {
    [S_KEY_GET] = "SELECT id, kind FROM keys WHERE key = ?",
    [S_KEY_INS] = "INSERT INTO keys(key, kind) VALUES (?, ?) "
		  "ON CONFLICT (key) DO NOTHING",
    [S_VAL_INS] = "INSERT INTO vals(value) VALUES (?)",
    /* The key's latest event, through events_key. */
    [S_OPEN_GET] = "SELECT e.rev, e.seq, e.val_id, e.typed_row, v.value, "
		   "e.lease, e.create_rev "
		   "FROM events e LEFT JOIN vals v ON v.id = e.val_id "
		   "WHERE e.key_id = ? ORDER BY e.rev DESC, e.seq DESC "
		   "LIMIT 1",
    [S_SEQ] = "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE rev = ?",
    [S_EV_INS] = "INSERT INTO events(rev, seq, type, key_id, val_id, "
		 "lease, create_rev, version, origin, typed_row, mod_rev) "
		 "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [S_REV_INS] = "INSERT OR IGNORE INTO revisions(rev, epoch, etcd_rev, "
		  "t_lo_us, t_hi_us, how) VALUES (?,?,?,?,?,?)",
    [S_DERR] = "INSERT INTO decode_errors(rev, seq, key_id, family, "
	       "message) VALUES (?,?,?,?,?)",
    [S_LS_GET] = "SELECT id FROM labelsets WHERE labels = ?",
    [S_LS_INS] = "INSERT INTO labelsets(labels) VALUES (?)",
    [S_LBL_INS] = "INSERT INTO labels(labelset_id, pos, source, key, "
		  "value) VALUES (?,?,?,?,?)",
    [S_IDENT_INS] = "INSERT INTO identities(key_id, cluster, identity, "
		    "create_rev, labelset_id, from_rev) VALUES (?,?,?,?,?,?)",
    [S_IUSER_INS] = "INSERT INTO identity_users(key_id, cluster, "
		    "labelset_id, node_ip, identity, lease, from_rev) "
		    "VALUES (?,?,?,?,?,?,?)",
    [S_IPC_INS] =
	"INSERT INTO ipcache(key_id, cluster, ip, ip_bin, "
	"prefix_len, identity, host_ip, encrypt_key, namespace, pod, node, "
	"endpoint_id, service_account, from_rev) "
	"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_IPCPORT_INS] = "INSERT INTO ipcache_ports(ipcache_row, name, port, "
		      "protocol) VALUES (?,?,?,?)",
    [S_NODE_INS] =
	"INSERT INTO nodes(key_id, cluster, name, cluster_id, "
	"ipv4_alloc_cidr, ipv4_alloc_len, ipv6_alloc_cidr, ipv6_alloc_len, "
	"ipv4_health_ip, ipv6_health_ip, ipv4_ingress_ip, ipv6_ingress_ip, "
	"encryption_key, boot_id, source, from_rev) "
	"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_NODEADDR_INS] = "INSERT INTO node_addresses(node_row, type, ip) "
		       "VALUES (?,?,?)",
    [S_SVC_INS] = "INSERT INTO services(key_id, cluster, namespace, name, "
		  "cluster_id, include_external, shared, from_rev) "
		  "VALUES (?,?,?,?,?,?,?,?)",
    [S_SVCPORT_INS] = "INSERT INTO service_ports(service_row, role, ip, "
		      "port_name, protocol, port) VALUES (?,?,?,?,?,?)",
    [S_HB_INS] = "INSERT OR REPLACE INTO heartbeats(rev, value, time_us) "
		 "VALUES (?,?,?)",
    [S_META] = "INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)",
    [S_EPOCH_INS] = "INSERT INTO epochs(epoch, cluster_id, rev_offset, "
		    "started_rev, started_us) VALUES (?,?,?,?,?)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_CLOSE_IDENT] = "UPDATE identities SET to_rev = ? WHERE rowid = ?",
    [S_CLOSE_IUSER] = "UPDATE identity_users SET to_rev = ? WHERE rowid = ?",
    [S_CLOSE_IPC] = "UPDATE ipcache SET to_rev = ? WHERE rowid = ?",
    [S_CLOSE_NODE] = "UPDATE nodes SET to_rev = ? WHERE rowid = ?",
    [S_CLOSE_SVC] = "UPDATE services SET to_rev = ? WHERE rowid = ?",
    /* Resync: the key's latest event, and which keys were listed. */
    [S_OPEN_LAST] = "SELECT e.type, coalesce(e.mod_rev, e.rev), e.val_id, "
		    "e.lease, e.create_rev, e.version, v.value FROM keys k "
		    "JOIN events e ON e.key_id = k.id "
		    "LEFT JOIN vals v ON v.id = e.val_id WHERE k.key = ? "
		    "ORDER BY e.rev DESC, e.seq DESC LIMIT 1",
    [S_SEEN_INS] = "INSERT OR IGNORE INTO temp.resync_seen(key) VALUES (?)",
    [S_UNSEEN] = "SELECT k.key FROM keys k WHERE (SELECT e.type FROM events e "
		 "WHERE e.key_id = k.id ORDER BY e.rev DESC, e.seq DESC "
		 "LIMIT 1) = 0 AND k.key NOT IN "
		 "(SELECT key FROM temp.resync_seen) ORDER BY k.key",
    [S_GAP_INS] = "INSERT INTO gaps(from_rev, to_rev, from_us, to_us, "
		  "reason) VALUES (?,?,?,?,?)",
    [S_TOP_REV] = "SELECT coalesce(max(rev), 0) FROM events",
    /* Changes when another connection committed: the caches are stale. */
    [S_DATA_VERSION] = "PRAGMA data_version",
    /* The churn tables (schema/004_churn.sql), added to at each commit. */
    [S_REV_T] = "SELECT t_hi_us FROM revisions WHERE rev = ?",
    [S_LATEST_T] = "SELECT coalesce(max(t_hi_us), 0) FROM revisions",
    [S_VAL_GET] = "SELECT value FROM vals WHERE id = ?",
    [S_CHURN_UP] = "INSERT INTO churn(secs, bucket, kind, namespace, "
		   "created, modified, lease_only, deleted) "
		   "VALUES (?,?,?,?,?,?,?,?) "
		   "ON CONFLICT (secs, bucket, kind, namespace) DO UPDATE SET "
		   "created = created + excluded.created, "
		   "modified = modified + excluded.modified, "
		   "lease_only = lease_only + excluded.lease_only, "
		   "deleted = deleted + excluded.deleted",
    [S_CHURN_POD_UP] = "INSERT INTO churn_pods(secs, bucket, pod, "
		       "created, modified, lease_only, deleted) "
		       "VALUES (?,?,?,?,?,?,?) "
		       "ON CONFLICT (secs, bucket, pod) DO UPDATE SET "
		       "created = created + excluded.created, "
		       "modified = modified + excluded.modified, "
		       "lease_only = lease_only + excluded.lease_only, "
		       "deleted = deleted + excluded.deleted",
    [S_CHURN_SPAN_UP] = "INSERT INTO churn_spans(secs, bucket, rev_lo, "
			"rev_hi) VALUES (?,?,?,?) "
			"ON CONFLICT (secs, bucket) DO UPDATE SET "
			"rev_lo = min(rev_lo, excluded.rev_lo), "
			"rev_hi = max(rev_hi, excluded.rev_hi)",
    /* Format 5: each pod's changes over the whole recording. */
    [S_CHURN_TOTAL_UP] = "INSERT INTO churn_pod_totals(pod, changes) "
			 "VALUES (?, ?) ON CONFLICT (pod) DO UPDATE SET "
			 "changes = changes + excluded.changes",
    /* Format 7: the rows a transaction added, at its commit. */
    [S_ROWS_UP] = "UPDATE row_counts SET n = n + ? WHERE name = ?",
    [S_DERR_COUNT] = "SELECT n FROM row_counts WHERE name = 'decode_errors'",
};

static void churn_clear(struct store *s);
static int churn_flush(struct store *s);
static char *dup_col(sqlite3_stmt *st, int i, size_t *n);
static int redecode(struct store *s);

/*
 * The key cache: KC_SETS sets of KC_WAYS entries, the least recently used
 * way of a set replaced on a miss.  About 2.3 MiB when full (32k keys),
 * whatever the number of keys in the db.  A key is found by two
 * independent 64-bit hashes of its bytes (the key itself would cost 100
 * bytes and more per entry); mistaking one key for another takes a
 * 128-bit coincidence (for keys not crafted to collide: the hashes are
 * fast, not cryptographic).
 */
#define KC_SETS (1u << 13)
#define KC_WAYS 4

struct kc_ent {
	uint64_t h1, h2;
	uint64_t vh1, vh2; /* the two hashes of the latest event's value */
	int64_t key_id;
	int64_t last_rev; /* the key's latest event; 0 when it has none */
	int64_t last_val; /* its val_id; -1 for a DELETE or none */
	int64_t typed_row; /* rowid of the key's open typed row; 0: none */
	int64_t last_lease; /* the latest event's lease */
	int64_t last_create; /* the latest PUT's create_rev as stored (with
				the offset); -1 when none (NULL, a DELETE) */
	int32_t last_seq;
	int32_t kind; /* keys.kind as stored (an older build may have had
			 another classifier), for the churn counts */
	uint32_t used; /* tick of the last use; 0: an empty way */
	/*
	 * The churn owners of the latest value of an ipcache or identity key
	 * (a DELETE is counted under them): "namespace\0pod\0", "" for none;
	 * NULL when not known (read the value back).
	 */
	char *own;
};

/*
 * Label sets already in labelsets, by the two hashes of their string:
 * direct-mapped, LC_SIZE entries (96 KiB); a cluster has a few hundred to
 * a few thousand.  Emptied with the key cache.
 */
#define LC_SIZE 4096

struct lc_ent {
	uint64_t h1, h2;
	int64_t id; /* 0: an empty entry */
};

/*
 * Churn counts of the open transaction, added to the churn tables at its
 * commit: one entry per (secs, bucket, kind, namespace), or per (secs,
 * bucket, pod) when pod is set.  Few entries per commit but for pods.
 */
struct churn_ent {
	int64_t secs, bucket; /* an hour (secs 3600) or a minute (60) */
	const char *kind; /* static (hs_kind_name) */
	char *name; /* namespace or pod, a copy; "" for none */
	uint64_t nh; /* hash1() of name */
	int pod;
	int64_t n[4]; /* created, modified, lease_only, deleted */
};

#define CHURN_KEEP 65536 /* entries (3.5 MiB) kept allocated */

struct churn_span { /* the revisions counted in a bucket */
	int64_t secs, bucket, lo, hi;
};

struct store {
	sqlite3 *db;
	int lock_fd; /* holds flock(LOCK_EX) on the db file; -1 if none */
	sqlite3_stmt *st[S_COUNT];
	int in_txn;
	int broken; /* a commit failed: memory and file disagree, no more */
	int64_t epoch;
	int64_t offset; /* rev_offset of the current epoch */
	int64_t wm_rev; /* watermark to write at commit (etcd rev) */
	int64_t wm_us;
	int wm_dirty;
	int unsynced; /* commits the last store_sync() did not cover */
	int64_t committed_wm; /* watermark of the last commit */
	int64_t synced_wm; /* watermark a power loss keeps */
	int64_t t_rev, t_us; /* the last revision looked up, its t_hi_us */
	int64_t listed_rev; /* store_resync_key(): etcd's mod_revision, or 0 */
	struct churn_ent *ch; /* open addressing, ch_cap a power of 2 */
	size_t ch_n, ch_cap;
	struct churn_span *sp;
	size_t sp_n, sp_cap;
	int64_t seq_rev; /* revision of the last event written */
	int64_t seq_next;
	int64_t top_rev; /* no event above this revision is recorded */
	int64_t data_version;
	struct kc_ent *kc; /* KC_SETS * KC_WAYS entries, allocated on use */
	uint32_t kc_tick;
	int key_new; /* >= 0: uncached keys were new lately (-8..8) */
	struct lc_ent *lc; /* LC_SIZE entries, allocated on use */
	int64_t rows[R_COUNT]; /* rows inserted by the open transaction */
	int64_t events;
	int64_t decode_errors;
	int derr_synced; /* meta decode_errors follows row_counts (a commit) */
	char why[256]; /* the error a rollback ended (its own clears it) */
	int64_t decode_errors_kind[HS_KIND_COUNT]; /* since open, for metrics */
	/* The three counts above at store_begin(): a rollback goes back. */
	int64_t events0, decode_errors0, decode_errors_kind0[HS_KIND_COUNT];
	unsigned logged_kinds; /* decode errors already logged, by kind */
};

/* The row_counts entry an INSERT statement adds to; -1 for none. */
static int
row_kind(int which)
{
	switch (which) {
	case S_KEY_INS:
		return R_KEYS;
	case S_VAL_INS:
		return R_VALS;
	case S_EV_INS:
		return R_EVENTS;
	case S_DERR:
		return R_DERR;
	case S_IDENT_INS:
		return R_IDENT;
	case S_IUSER_INS:
		return R_IUSER;
	case S_IPC_INS:
		return R_IPC;
	case S_NODE_INS:
		return R_NODE;
	case S_SVC_INS:
		return R_SVC;
	default:
		return -1;
	}
}

/*
 * Run a prepared statement that returns no row (or ignore its rows); an
 * INSERT's rows are counted for row_counts.
 */
static int
exec_st(struct store *s, int which)
{
	sqlite3_stmt *st = s->st[which];
	int rc = sqlite3_step(st), r;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_err("db: %s: %s", sqls[which], sqlite3_errmsg(s->db));
		return -1;
	}
	if ((r = row_kind(which)) >= 0)
		s->rows[r] += sqlite3_changes(s->db);
	return 0;
}

/* Add the open transaction's inserted rows to row_counts. */
static int
rows_flush(struct store *s)
{
	int i;

	for (i = 0; i < R_COUNT; i++) {
		if (s->rows[i] == 0)
			continue;
		sqlite3_bind_int64(s->st[S_ROWS_UP], 1, s->rows[i]);
		sqlite3_bind_text(
		    s->st[S_ROWS_UP], 2, row_names[i], -1, SQLITE_STATIC);
		if (exec_st(s, S_ROWS_UP) != 0)
			return -1;
		s->rows[i] = 0;
	}
	return 0;
}

/* Step a statement expecting at most one row: 1 row, 0 none, -1 error. */
static int
row_st(struct store *s, int which)
{
	int rc = sqlite3_step(s->st[which]);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s->st[which]);
	sqlite3_clear_bindings(s->st[which]);
	if (rc == SQLITE_DONE)
		return 0;
	log_err("db: %s: %s", sqls[which], sqlite3_errmsg(s->db));
	return -1;
}

static void
done_st(struct store *s, int which)
{
	sqlite3_reset(s->st[which]);
	sqlite3_clear_bindings(s->st[which]);
}

static void
bind_str(sqlite3_stmt *st, int i, struct hs_str v)
{
	if (v.p == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v.p, (int)v.n, SQLITE_STATIC);
}

static void
bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static void
bind_cstr(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/*
 * Two 64-bit hashes of p in one pass, 8 bytes a step.  The caches match
 * keys, values and label sets by both (keeping the bytes would cost 100+
 * bytes an entry).  Each lane has its own constants and shifts, and each
 * step is a bijection of the lane's state, so inputs of one length that
 * differ in one word never collide.  (Byte-at-a-time FNV-1a was 2% of a
 * catch-up's instructions, and a multiply chained through every byte.)
 */
static void
hash_pair(const void *v, size_t n, uint64_t *h1, uint64_t *h2)
{
	const char *p = v;
	uint64_t a = 0xcbf29ce484222325ull, b = 0x9e3779b97f4a7c15ull;
	uint64_t w, len = n;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		a = (a ^ w) * 0x9fb21c651e98df25ull;
		a ^= a >> 29;
		b = (b ^ w) * 0xff51afd7ed558ccdull;
		b ^= b >> 32;
	}
	/* The tail's length in its free top byte: "" and "\0" differ. */
	w = (uint64_t)n << 56;
	memcpy(&w, p, n);
	a = (a ^ w) * 0x9fb21c651e98df25ull;
	a = (a ^ (a >> 33) ^ len) * 0xc4ceb9fe1a85ec53ull;
	*h1 = a ^ (a >> 33);
	b = (b ^ w) * 0xc4ceb9fe1a85ec53ull;
	b = (b ^ (b >> 29) ^ (len << 7)) * 0xbf58476d1ce4e5b9ull;
	*h2 = b ^ (b >> 32);
}

/* One hash (the churn table's, which compares the names too). */
static uint64_t
hash1(const char *p, size_t n)
{
	uint64_t h1, h2;

	hash_pair(p, n, &h1, &h2);
	return h1;
}

/* Forget every cached key and label set (after a rollback, another writer). */
static void
kc_clear(struct store *s)
{
	size_t i;

	if (s->lc != NULL)
		memset(s->lc, 0, LC_SIZE * sizeof(*s->lc));
	if (s->kc == NULL)
		return;
	for (i = 0; i < KC_SETS * KC_WAYS; i++)
		free(s->kc[i].own);
	memset(s->kc, 0, KC_SETS * KC_WAYS * sizeof(*s->kc));
	s->kc_tick = 0;
}

/* The cached entry of a key, or NULL. */
static struct kc_ent *
kc_find(struct store *s, uint64_t h1, uint64_t h2)
{
	struct kc_ent *set;
	int i;

	if (s->kc == NULL)
		return NULL;
	set = &s->kc[(h1 & (KC_SETS - 1)) * KC_WAYS];
	for (i = 0; i < KC_WAYS; i++) {
		if (set[i].used && set[i].h1 == h1 && set[i].h2 == h2) {
			set[i].used = ++s->kc_tick;
			return &set[i];
		}
	}
	return NULL;
}

/* A way for a new entry: an empty one, else the least recently used. */
static struct kc_ent *
kc_slot(struct store *s, uint64_t h1, uint64_t h2)
{
	struct kc_ent *set, *e;
	int i;

	if (s->kc == NULL &&
	    (s->kc = calloc(KC_SETS * KC_WAYS, sizeof(*s->kc))) == NULL)
		return NULL;
	if (s->kc_tick > UINT32_MAX - 2)
		kc_clear(s); /* the ticks wrap: start over */
	set = &s->kc[(h1 & (KC_SETS - 1)) * KC_WAYS];
	e = &set[0];
	for (i = 0; i < KC_WAYS; i++) {
		if (!set[i].used) {
			e = &set[i];
			break;
		}
		if (set[i].used < e->used)
			e = &set[i];
	}
	free(e->own);
	memset(e, 0, sizeof(*e));
	e->h1 = h1;
	e->h2 = h2;
	e->used = ++s->kc_tick;
	return e;
}

/* One integer from a statement returning one row. */
static int
query_int(struct store *s, int which, int64_t *out)
{
	int rc;

	if ((rc = row_st(s, which)) < 0)
		return -1;
	*out = rc == 1 ? sqlite3_column_int64(s->st[which], 0) : 0;
	if (rc == 1)
		done_st(s, which);
	return 0;
}

/*
 * The current epoch and its offset, as committed; -1 when they cannot be
 * read (revisions written with a wrong offset would be wrong for good).
 */
static int
load_epoch(struct store *s)
{
	sqlite3_stmt *st;
	int rc;

	s->epoch = 0;
	s->offset = 0;
	if ((rc = hsdb_meta_read_int(s->db, "epoch", &s->epoch)) <= 0)
		return rc;
	if (sqlite3_prepare_v2(s->db,
		"SELECT rev_offset FROM epochs "
		"WHERE epoch = ?",
		-1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, s->epoch);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->offset = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/*
 * One recorder per db: two would each write every event (SQLite's own
 * locks serialize their transactions, nothing more).  An flock() on the
 * db file, held until store_close(), tells a second one at start; the
 * kernel drops it when the holder dies, kill -9 included.  flock and
 * SQLite's fcntl() locks do not see each other on a local file system.
 * Taken before the db is opened (a second recorder of a newer build must
 * not migrate the file under the first), or, for a db that does not
 * exist yet, as soon as SQLite has made it.
 */
static int
lock_db(struct store *s, const char *path, char *err, size_t errlen)
{
	if (s->lock_fd != -1)
		return 0;
	/* O_NONBLOCK: a FIFO named as the db must not hang the start. */
	if ((s->lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		if (s->db == NULL)
			return 0; /* a new db (or no db: SQLite says why) */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		snprintf(err, errlen,
		    "%s: another hindsight-recorder is recording into this db "
		    "(one recorder per db: stop it first)",
		    path);
	else
		snprintf(
		    err, errlen, "%s: cannot lock: %s", path, strerror(errno));
	return -1;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->lock_fd = -1;
	if (lock_db(s, path, err, errlen) != 0 ||
	    (s->db = hsdb_open_rw(path, err, errlen)) == NULL ||
	    lock_db(s, path, err, errlen) != 0)
		goto err0;
	/*
	 * A 4 MiB page cache (SQLite's default is 2) holds the index pages
	 * most events touch; checkpoints every 16 MiB of WAL instead of 4
	 * write each hot page back less often (bench/RESULTS.md).
	 */
	if (sqlite3_exec(s->db,
		"PRAGMA cache_size=-4096; PRAGMA wal_autocheckpoint=4000", NULL,
		NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto err0;
	}
	/* Keys listed by a resync; per connection, never in the file. */
	if (sqlite3_exec(s->db,
		"CREATE TEMP TABLE IF NOT EXISTS resync_seen "
		"(key TEXT PRIMARY KEY) WITHOUT ROWID",
		NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto err0;
	}
	for (i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, sqls[i], -1,
			SQLITE_PREPARE_PERSISTENT, &s->st[i],
			NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statements: %s",
			    path, sqlite3_errmsg(s->db));
			goto err0;
		}
	}
	if (load_epoch(s) != 0 ||
	    query_int(s, S_DERR_COUNT, &s->decode_errors) != 0 ||
	    query_int(s, S_TOP_REV, &s->top_rev) != 0 ||
	    query_int(s, S_DATA_VERSION, &s->data_version) != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto err0;
	}
	if (redecode(s) != 0) {
		snprintf(err, errlen,
		    "%s: cannot decode again the values an older build could "
		    "not decode: %s",
		    path, s->why[0] ? s->why : sqlite3_errmsg(s->db));
		goto err0;
	}
	return s;
err0:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	if (s->in_txn)
		store_rollback(s);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	/* Only now: closing any descriptor of the file drops the process's
	 * POSIX locks on it, SQLite's own among them. */
	if (s->lock_fd != -1)
		close(s->lock_fd);
	kc_clear(s);
	free(s->kc);
	free(s->lc);
	churn_clear(s);
	free(s->ch);
	free(s->sp);
	free(s);
}

int
store_state(struct store *s, struct store_state *out, char *err, size_t errlen)
{
	char buf[64];
	int64_t rev;
	int rc;

	memset(out, 0, sizeof(*out));
	buf[0] = '\0';
	/* A read that fails is not "nothing recorded": that would snapshot. */
	if ((rc = hsdb_meta_read_int(s->db, "recorded_rev", &rev)) == 0)
		return 0;
	if (rc < 0 ||
	    hsdb_meta_read_int(s->db, "recorded_us", &out->recorded_us) < 0 ||
	    hsdb_meta_read_text(s->db, "etcd_cluster_id", buf, sizeof(buf)) <
		0 ||
	    hsdb_meta_read_text(
		s->db, "prefix", out->prefix, sizeof(out->prefix)) < 0) {
		snprintf(err, errlen, "cannot read where recording stands: %s",
		    sqlite3_errmsg(s->db));
		memset(out, 0, sizeof(*out));
		return -1;
	}
	/* A replayed revision's time is when it arrived: past the watermark. */
	if (query_int(s, S_LATEST_T, &out->latest_us) != 0) {
		snprintf(err, errlen,
		    "cannot read the latest time recorded: %s",
		    sqlite3_errmsg(s->db));
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (out->latest_us < out->recorded_us)
		out->latest_us = out->recorded_us;
	out->recorded = 1;
	out->recorded_rev = rev - s->offset;
	out->epoch = s->epoch;
	if (buf[0] != '\0')
		hs_parse_u64(buf, strlen(buf), &out->cluster_id);
	return 0;
}

int
store_in_txn(const struct store *s)
{
	return s->in_txn;
}

/*
 * BEGIN IMMEDIATE, waiting out another writer.  The connection's busy
 * timeout is short (the loop must not stall on every transaction), but
 * a db held longer (a --retain step, a sqlite3 shell in BEGIN IMMEDIATE
 * or running VACUUM) is transient trouble, not a broken db: wait for it,
 * up to STORE_BUSY_MAX_US, before giving up as before.  The loop stands
 * still meanwhile; etcd keeps what it has not sent.
 */
#define STORE_BUSY_MAX_US (60 * 1000000LL)

static int
begin_immediate(struct store *s)
{
	sqlite3_stmt *st = s->st[S_BEGIN];
	int64_t t0 = 0;
	int rc;

	for (;;) {
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			break;
		if ((rc & 0xff) != SQLITE_BUSY ||
		    (t0 != 0 && hs_mono_us() - t0 > STORE_BUSY_MAX_US)) {
			log_err("db: %s: %s%s", sqls[S_BEGIN],
			    sqlite3_errmsg(s->db),
			    t0 != 0 ? " (another writer held it for over "
				      "60 s)"
				    : "");
			return -1;
		}
		if (t0 == 0) {
			t0 = hs_mono_us();
			log_warn("db: another writer holds the db (a sqlite3 "
				 "shell, VACUUM?); waiting for it, up to 60 s");
		}
	}
	if (t0 != 0)
		log_info("db: the other writer let go after %.1f s; "
			 "recording goes on",
		    (double)(hs_mono_us() - t0) / 1e6);
	return 0;
}

int
store_begin(struct store *s)
{
	int64_t dv;

	if (s->in_txn)
		return 0;
	if (s->broken || begin_immediate(s) != 0)
		return -1;
	s->in_txn = 1;
	s->why[0] = '\0';
	s->seq_rev = -1;
	s->events0 = s->events;
	s->decode_errors0 = s->decode_errors;
	memcpy(s->decode_errors_kind0, s->decode_errors_kind,
	    sizeof(s->decode_errors_kind));
	if (query_int(s, S_DATA_VERSION, &dv) != 0)
		goto fail;
	if (dv != s->data_version) {
		/* Someone else wrote the db: trust nothing remembered. */
		s->data_version = dv;
		kc_clear(s);
		if (query_int(s, S_TOP_REV, &s->top_rev) != 0)
			goto fail;
	}
	return 0;
fail:
	store_rollback(s);
	return -1;
}

static int
meta_int(struct store *s, const char *name, int64_t v)
{
	sqlite3_bind_text(s->st[S_META], 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->st[S_META], 2, v);
	return exec_st(s, S_META);
}

static int
meta_text(struct store *s, const char *name, const char *v)
{
	sqlite3_bind_text(s->st[S_META], 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->st[S_META], 2, v, -1, SQLITE_STATIC);
	return exec_st(s, S_META);
}

int
store_commit(struct store *s)
{
	int derr;

	if (!s->in_txn)
		return 0;
	derr = s->rows[R_DERR] != 0 || !s->derr_synced;
	if (churn_flush(s) != 0 || rows_flush(s) != 0)
		goto fail;
	/*
	 * decoded_rev: this decoder tried every value through the watermark
	 * (redecode() checks it against recorded_rev, which a build from
	 * before the generations advances alone).
	 */
	if (s->wm_dirty) {
		if (meta_int(s, "recorded_rev", s->wm_rev + s->offset) != 0 ||
		    meta_int(s, "recorded_us", s->wm_us) != 0 ||
		    meta_int(s, "decoded_rev", s->wm_rev + s->offset) != 0)
			goto fail;
	}
	/*
	 * meta decode_errors is the rows of decode_errors, as status shows
	 * them: derived from row_counts in SQL, since --retain lowers that
	 * count on its own connection (a count kept here would undo it).
	 */
	if (derr && hsdb_meta_sync_decode_errors(s->db) != 0) {
		log_err(
		    "db: counting decode errors: %s", sqlite3_errmsg(s->db));
		goto fail;
	}
	if (exec_st(s, S_COMMIT) != 0)
		goto fail;
	s->in_txn = 0;
	s->derr_synced = 1;
	if (s->wm_dirty)
		s->committed_wm = s->wm_rev;
	s->wm_dirty = 0;
	s->unsynced = 1;
	return 0;
fail:
	store_rollback(s);
	s->broken = 1;
	return -1;
}

/*
 * With synchronous=NORMAL SQLite syncs the WAL only when it checkpoints.
 * Syncing it here makes every commit so far durable: after a power loss
 * SQLite replays each committed frame whose checksum holds.  The WAL is
 * ours alone to write (readers open the db read-only), so its file
 * handle, which SQLITE_FCNTL_JOURNAL_POINTER hands out for this, is ours
 * to sync.
 */
int
store_sync(struct store *s)
{
	sqlite3_file *wal = NULL;
	int rc;

	if (!s->unsynced || s->in_txn)
		return 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
		&wal) != SQLITE_OK ||
	    wal == NULL || wal->pMethods == NULL)
		return 0; /* no WAL open: nothing committed to it */
	if ((rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		log_err("cannot sync the WAL of %s: %s",
		    sqlite3_db_filename(s->db, "main"), sqlite3_errstr(rc));
		return -1;
	}
	s->unsynced = 0;
	s->synced_wm = s->committed_wm;
	return 0;
}

int64_t
store_synced_rev(const struct store *s)
{
	return s->synced_wm;
}

void
store_rollback(struct store *s)
{
	int rc = sqlite3_errcode(s->db);

	if (s->in_txn && rc != SQLITE_OK && rc != SQLITE_ROW &&
	    rc != SQLITE_DONE)
		snprintf(s->why, sizeof(s->why), "%s", sqlite3_errmsg(s->db));
	/* After SQLITE_FULL SQLite may have rolled back already. */
	if (!sqlite3_get_autocommit(s->db))
		exec_st(s, S_ROLLBACK);
	/*
	 * What it wrote was not written: /metrics must not count it (a
	 * snapshot started over would count its keys twice).
	 */
	if (s->in_txn) {
		s->events = s->events0;
		s->decode_errors = s->decode_errors0;
		memcpy(s->decode_errors_kind, s->decode_errors_kind0,
		    sizeof(s->decode_errors_kind));
	}
	/* A new epoch may have been rolled back; unknown, nothing is safe. */
	if (s->in_txn && load_epoch(s) != 0) {
		log_err("db: cannot read the epoch after a rollback: %s; "
			"stopping",
		    sqlite3_errmsg(s->db));
		s->broken = 1;
	}
	kc_clear(s); /* it may hold rows that are gone */
	churn_clear(s);
	memset(s->rows, 0, sizeof(s->rows));
	s->t_rev = 0; /* the revision row may be gone too */
	s->in_txn = 0;
	s->wm_dirty = 0;
}

int
store_first_epoch(struct store *s, uint64_t cluster_id, const char *prefix,
    int64_t snap_rev, int64_t now_us)
{
	char cid[32];
	sqlite3_stmt *st = s->st[S_EPOCH_INS];

	snprintf(cid, sizeof(cid), "%llu", (unsigned long long)cluster_id);
	s->epoch = 1;
	s->offset = 0;
	sqlite3_bind_int64(st, 1, 1);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, 0);
	sqlite3_bind_int64(st, 4, snap_rev);
	sqlite3_bind_int64(st, 5, now_us);
	if (exec_st(s, S_EPOCH_INS) != 0 || meta_int(s, "epoch", 1) != 0 ||
	    meta_text(s, "etcd_cluster_id", cid) != 0 ||
	    meta_text(s, "prefix", prefix) != 0 ||
	    meta_int(s, "first_rev", snap_rev) != 0 ||
	    meta_int(s, "first_us", now_us) != 0)
		return -1;
	return 0;
}

int
store_revision(struct store *s, int64_t rev, const char *how, int64_t t_lo_us,
    int64_t t_hi_us)
{
	sqlite3_stmt *st = s->st[S_REV_INS];

	sqlite3_bind_int64(st, 1, rev + s->offset);
	sqlite3_bind_int64(st, 2, s->epoch);
	sqlite3_bind_int64(st, 3, rev);
	bind_opt_i64(st, 4, t_lo_us);
	sqlite3_bind_int64(st, 5, t_hi_us);
	sqlite3_bind_text(st, 6, how, -1, SQLITE_STATIC);
	if (exec_st(s, S_REV_INS) != 0)
		return -1;
	/* Its events are counted under this time (an older row's if any). */
	s->t_rev = sqlite3_changes(s->db) > 0 ? rev + s->offset : 0;
	s->t_us = t_hi_us;
	return 0;
}

void
store_watermark(struct store *s, int64_t rev, int64_t us)
{
	s->wm_rev = rev;
	s->wm_us = us;
	s->wm_dirty = 1;
}

int64_t
store_events_written(const struct store *s)
{
	return s->events;
}

int64_t
store_decode_errors(const struct store *s)
{
	return s->decode_errors;
}

int64_t
store_decode_errors_kind(const struct store *s, int kind)
{
	return kind >= 0 && kind < HS_KIND_COUNT ? s->decode_errors_kind[kind]
						 : 0;
}

/* Insert ev's key: 1 inserted (*id set), 0 it was there, -1 error. */
static int
insert_key(struct store *s, const struct store_event *ev,
    const struct hs_key *k, int64_t *id)
{
	sqlite3_stmt *st = s->st[S_KEY_INS];

	sqlite3_bind_text(st, 1, ev->key, (int)ev->keylen, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hs_kind_name(k->kind), -1, SQLITE_STATIC);
	if (exec_st(s, S_KEY_INS) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	*id = sqlite3_last_insert_rowid(s->db);
	return 1;
}

/*
 * The cache entry of the event's key: its id, latest event and typed row
 * state, from the db on a miss (inserting a new key).  NULL on error.
 */
static struct kc_ent *
lookup_key(struct store *s, const struct store_event *ev, struct hs_key *k)
{
	uint64_t h1, h2;
	sqlite3_stmt *st = s->st[S_KEY_GET];
	struct kc_ent *e;
	int64_t id = 0;
	int rc = 0, kind, stored;

	hs_key_parse(ev->key, ev->keylen, k);
	kind = k->kind;
	hash_pair(ev->key, ev->keylen, &h1, &h2);
	if ((e = kc_find(s, h1, h2)) != NULL)
		return e;
	/*
	 * A key the cache lacks is looked up, and inserted if new.  While
	 * the last ones were new (a first recording, pods starting), the
	 * INSERT goes first: one statement instead of two, and the lookup
	 * only when the key was there after all.  rc: 1 the key was there.
	 */
	if (s->key_new < 0 || (rc = insert_key(s, ev, k, &id)) == 0) {
		sqlite3_bind_text(
		    st, 1, ev->key, (int)ev->keylen, SQLITE_STATIC);
		if ((rc = row_st(s, S_KEY_GET)) < 0)
			return NULL;
		if (rc == 1) {
			id = sqlite3_column_int64(st, 0);
			if ((stored = hs_kind_from_name((
				 const char *)sqlite3_column_text(st, 1))) >= 0)
				kind = stored;
			done_st(s, S_KEY_GET);
		} else if (s->key_new >= 0 || insert_key(s, ev, k, &id) != 1) {
			log_err("db: cannot find or insert key %.*s",
			    (int)ev->keylen, ev->key);
			return NULL;
		}
	} else if (rc < 0)
		return NULL;
	else
		rc = 0; /* inserted */
	if (rc == 1 && s->key_new > -8)
		s->key_new--;
	else if (rc == 0 && s->key_new < 8)
		s->key_new++;
	if ((e = kc_slot(s, h1, h2)) == NULL) {
		log_err("db: out of memory for the key cache");
		return NULL;
	}
	e->key_id = id;
	e->kind = kind;
	e->last_val = -1;
	if (rc == 0)
		return e; /* a new key: no event, no typed row */
	st = s->st[S_OPEN_GET];
	sqlite3_bind_int64(st, 1, id);
	if ((rc = row_st(s, S_OPEN_GET)) < 0) {
		e->used = 0;
		return NULL;
	}
	if (rc == 1) {
		e->last_rev = sqlite3_column_int64(st, 0);
		e->last_seq = (int32_t)sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
			const char *p = sqlite3_column_blob(st, 4);
			size_t n = (size_t)sqlite3_column_bytes(st, 4);

			e->last_val = sqlite3_column_int64(st, 2);
			hash_pair(p ? p : "", n, &e->vh1, &e->vh2);
		}
		e->typed_row = sqlite3_column_int64(st, 3);
		e->last_lease = sqlite3_column_int64(st, 5);
		e->last_create = sqlite3_column_type(st, 6) == SQLITE_NULL
		    ? -1
		    : sqlite3_column_int64(st, 6);
		done_st(s, S_OPEN_GET);
	}
	return e;
}

/*
 * The value of a PUT: the key's previous value again when it is the same
 * (a lease-only re-put; matched by two independent 64-bit hashes, like
 * keys), else a new vals row.  *same says which.
 */
static int
intern_val(struct store *s, struct kc_ent *e, const char *v, size_t n,
    int64_t *id, int *same)
{
	uint64_t h1, h2;

	if (v == NULL)
		v = "";
	hash_pair(v, n, &h1, &h2);
	*same = e->last_val > 0 && e->vh1 == h1 && e->vh2 == h2;
	if (*same) {
		*id = e->last_val;
		return 0;
	}
	sqlite3_bind_blob(s->st[S_VAL_INS], 1, v, (int)n, SQLITE_STATIC);
	if (exec_st(s, S_VAL_INS) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	e->vh1 = h1;
	e->vh2 = h2;
	return 0;
}

static int
intern_labels(struct store *s, struct hs_str labels,
    const struct hs_labels *parsed, int64_t *id)
{
	sqlite3_stmt *st = s->st[S_LS_GET];
	struct hs_labels own = {0, NULL};
	uint64_t h1, h2;
	struct lc_ent *c = NULL;
	size_t i;
	int rc;

	hash_pair(labels.p, labels.n, &h1, &h2);
	if (s->lc != NULL ||
	    (s->lc = calloc(LC_SIZE, sizeof(*s->lc))) != NULL) {
		c = &s->lc[h1 & (LC_SIZE - 1)];
		if (c->id != 0 && c->h1 == h1 && c->h2 == h2) {
			*id = c->id;
			return 0;
		}
	}
	sqlite3_bind_text(st, 1, labels.p, (int)labels.n, SQLITE_STATIC);
	if ((rc = row_st(s, S_LS_GET)) < 0)
		return -1;
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		done_st(s, S_LS_GET);
		goto found;
	}
	st = s->st[S_LS_INS];
	sqlite3_bind_text(st, 1, labels.p, (int)labels.n, SQLITE_STATIC);
	if (exec_st(s, S_LS_INS) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	if (parsed == NULL) {
		if (hs_labels_parse(labels.p, labels.n, &own) != 0)
			return -1;
		parsed = &own;
	}
	st = s->st[S_LBL_INS];
	for (i = 0; i < parsed->n; i++) {
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		bind_str(st, 3, parsed->v[i].source);
		bind_str(st, 4, parsed->v[i].key);
		bind_str(st, 5, parsed->v[i].value);
		if (exec_st(s, S_LBL_INS) != 0) {
			hs_labels_release(&own);
			return -1;
		}
	}
	hs_labels_release(&own);
found:
	if (c != NULL) {
		c->h1 = h1;
		c->h2 = h2;
		c->id = *id;
	}
	return 0;
}

/* The UPDATE that closes the open row of a kind's typed table, if any. */
static int
close_stmt(enum hs_kind kind)
{
	switch (kind) {
	case HS_KIND_IDENTITY:
		return S_CLOSE_IDENT;
	case HS_KIND_IDENTITY_USER:
		return S_CLOSE_IUSER;
	case HS_KIND_IPCACHE:
		return S_CLOSE_IPC;
	case HS_KIND_NODE:
	case HS_KIND_NODEREGISTER:
		return S_CLOSE_NODE;
	case HS_KIND_SERVICE:
		return S_CLOSE_SVC;
	default:
		return -1;
	}
}

static int
insert_ipcache(struct store *s, int64_t key_id, const struct hs_key *k,
    const struct hs_value *v, int64_t rev, int64_t *rowp)
{
	sqlite3_stmt *st = s->st[S_IPC_INS];
	int64_t row;
	size_t i;

	sqlite3_bind_int64(st, 1, key_id);
	bind_str(st, 2, k->cluster);
	bind_str(st, 3, v->u.ipcache.ip);
	sqlite3_bind_blob(st, 4, v->u.ipcache.ip_bin, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, v->u.ipcache.prefix_len);
	sqlite3_bind_int64(st, 6, v->u.ipcache.identity);
	if (v->u.ipcache.host_ip.p)
		bind_str(st, 7, v->u.ipcache.host_ip);
	else
		sqlite3_bind_text(st, 7, "", 0, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, v->u.ipcache.encrypt_key);
	bind_str(st, 9, v->u.ipcache.namespace);
	bind_str(st, 10, v->u.ipcache.pod);
	bind_str(st, 11, v->u.ipcache.node);
	bind_opt_i64(st, 12, v->u.ipcache.endpoint_id);
	bind_str(st, 13, v->u.ipcache.service_account);
	sqlite3_bind_int64(st, 14, rev);
	if (exec_st(s, S_IPC_INS) != 0)
		return -1;
	row = *rowp = sqlite3_last_insert_rowid(s->db);
	st = s->st[S_IPCPORT_INS];
	for (i = 0; i < v->u.ipcache.nports; i++) {
		sqlite3_bind_int64(st, 1, row);
		bind_str(st, 2, v->u.ipcache.ports[i].name);
		sqlite3_bind_int(st, 3, v->u.ipcache.ports[i].port);
		bind_str(st, 4, v->u.ipcache.ports[i].protocol);
		if (exec_st(s, S_IPCPORT_INS) != 0)
			return -1;
	}
	return 0;
}

static int
insert_node(struct store *s, int64_t key_id, const struct hs_key *k,
    const struct hs_value *v, int64_t rev, int64_t *rowp)
{
	sqlite3_stmt *st = s->st[S_NODE_INS];
	int64_t row;
	size_t i;

	sqlite3_bind_int64(st, 1, key_id);
	/* noderegister keys name no cluster: take the value's. */
	bind_str(st, 2,
	    k->cluster.p && k->cluster.n ? k->cluster
		: v->u.node.cluster.p	 ? v->u.node.cluster
					 : k->cluster);
	bind_str(st, 3, v->u.node.name);
	bind_opt_i64(st, 4, v->u.node.cluster_id);
	bind_cstr(st, 5, v->u.node.ipv4_alloc_cidr);
	bind_opt_i64(st, 6, v->u.node.ipv4_alloc_len);
	bind_cstr(st, 7, v->u.node.ipv6_alloc_cidr);
	bind_opt_i64(st, 8, v->u.node.ipv6_alloc_len);
	bind_str(st, 9, v->u.node.ipv4_health_ip);
	bind_str(st, 10, v->u.node.ipv6_health_ip);
	bind_str(st, 11, v->u.node.ipv4_ingress_ip);
	bind_str(st, 12, v->u.node.ipv6_ingress_ip);
	bind_opt_i64(st, 13, v->u.node.encryption_key);
	bind_str(st, 14, v->u.node.boot_id);
	bind_str(st, 15, v->u.node.source);
	sqlite3_bind_int64(st, 16, rev);
	if (exec_st(s, S_NODE_INS) != 0)
		return -1;
	row = *rowp = sqlite3_last_insert_rowid(s->db);
	st = s->st[S_NODEADDR_INS];
	for (i = 0; i < v->u.node.naddresses; i++) {
		sqlite3_bind_int64(st, 1, row);
		bind_str(st, 2, v->u.node.addresses[i].type);
		bind_str(st, 3, v->u.node.addresses[i].ip);
		if (exec_st(s, S_NODEADDR_INS) != 0)
			return -1;
	}
	return 0;
}

static int
insert_service(struct store *s, int64_t key_id, const struct hs_key *k,
    const struct hs_value *v, int64_t rev, int64_t *rowp)
{
	sqlite3_stmt *st = s->st[S_SVC_INS];
	const struct hs_svc_port *p;
	int64_t row;
	size_t i;

	sqlite3_bind_int64(st, 1, key_id);
	bind_str(st, 2, k->cluster.p ? k->cluster : v->u.service.cluster);
	bind_str(st, 3, v->u.service.namespace);
	bind_str(st, 4, v->u.service.name);
	bind_opt_i64(st, 5, v->u.service.cluster_id);
	bind_opt_i64(st, 6, v->u.service.include_external);
	bind_opt_i64(st, 7, v->u.service.shared);
	sqlite3_bind_int64(st, 8, rev);
	if (exec_st(s, S_SVC_INS) != 0)
		return -1;
	row = *rowp = sqlite3_last_insert_rowid(s->db);
	st = s->st[S_SVCPORT_INS];
	for (i = 0; i < v->u.service.nports; i++) {
		p = &v->u.service.ports[i];
		sqlite3_bind_int64(st, 1, row);
		sqlite3_bind_text(st, 2, p->backend ? "backend" : "frontend",
		    -1, SQLITE_STATIC);
		bind_str(st, 3, p->ip);
		if (p->port < 0) { /* an IP listed with no port */
			sqlite3_bind_null(st, 4);
			sqlite3_bind_null(st, 5);
			sqlite3_bind_null(st, 6);
		} else {
			bind_str(st, 4, p->port_name);
			bind_str(st, 5, p->protocol);
			sqlite3_bind_int(st, 6, p->port);
		}
		if (exec_st(s, S_SVCPORT_INS) != 0)
			return -1;
	}
	return 0;
}

/* Insert the decoded value; *row gets the typed row's rowid, if any. */
static int
insert_typed(struct store *s, int64_t key_id, const struct hs_key *k,
    const struct hs_value *v, const struct store_event *ev, int64_t rev,
    int64_t *row)
{
	sqlite3_stmt *st;
	int64_t ls;
	int rc;

	switch (k->kind) {
	case HS_KIND_IDENTITY:
		if (intern_labels(s, v->u.identity.labels,
			&v->u.identity.parsed, &ls) != 0)
			return -1;
		st = s->st[S_IDENT_INS];
		sqlite3_bind_int64(st, 1, key_id);
		bind_str(st, 2, k->cluster);
		sqlite3_bind_int64(st, 3, (int64_t)k->identity);
		sqlite3_bind_int64(st, 4,
		    (ev->create_rev > 0 ? ev->create_rev : ev->mod_rev) +
			s->offset);
		sqlite3_bind_int64(st, 5, ls);
		sqlite3_bind_int64(st, 6, rev);
		if ((rc = exec_st(s, S_IDENT_INS)) == 0)
			*row = sqlite3_last_insert_rowid(s->db);
		return rc;
	case HS_KIND_IDENTITY_USER:
		if (intern_labels(s, k->labels, NULL, &ls) != 0)
			return -1;
		st = s->st[S_IUSER_INS];
		sqlite3_bind_int64(st, 1, key_id);
		bind_str(st, 2, k->cluster);
		sqlite3_bind_int64(st, 3, ls);
		bind_str(st, 4, k->node);
		sqlite3_bind_int64(st, 5, (int64_t)v->u.identity_user.identity);
		sqlite3_bind_int64(st, 6, ev->lease);
		sqlite3_bind_int64(st, 7, rev);
		if ((rc = exec_st(s, S_IUSER_INS)) == 0)
			*row = sqlite3_last_insert_rowid(s->db);
		return rc;
	case HS_KIND_IPCACHE:
		return insert_ipcache(s, key_id, k, v, rev, row);
	case HS_KIND_NODE:
	case HS_KIND_NODEREGISTER:
		return insert_node(s, key_id, k, v, rev, row);
	case HS_KIND_SERVICE:
		return insert_service(s, key_id, k, v, rev, row);
	case HS_KIND_HEARTBEAT:
		st = s->st[S_HB_INS];
		sqlite3_bind_int64(st, 1, rev);
		bind_str(st, 2, v->u.heartbeat.text);
		sqlite3_bind_int64(st, 3, v->u.heartbeat.time_us);
		return exec_st(s, S_HB_INS);
	default:
		return 0;
	}
}

static int
note_decode_error(struct store *s, int64_t rev, int64_t seq, int64_t key_id,
    const struct hs_key *k, const struct store_event *ev, const char *msg)
{
	sqlite3_stmt *st = s->st[S_DERR];
	const char *family = hs_kind_name(k->kind);

	s->decode_errors++;
	s->decode_errors_kind[k->kind]++;
	if (!(s->logged_kinds & (1u << k->kind))) {
		/* Once per kind: a broken writer must not flood the log. */
		s->logged_kinds |= 1u << k->kind;
		log_warn("value of %.*s at revision %lld does not decode (%s); "
			 "kept raw, further %s decode errors are counted, not "
			 "logged",
		    (int)(ev->keylen > 200 ? 200 : ev->keylen), ev->key,
		    (long long)ev->mod_rev, msg, family);
	}
	sqlite3_bind_int64(st, 1, rev);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int64(st, 3, key_id);
	sqlite3_bind_text(st, 4, family, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, msg, -1, SQLITE_TRANSIENT);
	return exec_st(s, S_DERR);
}

static int
next_seq(struct store *s, int64_t rev, int64_t *seq)
{
	int rc;

	if (rev == s->seq_rev) {
		*seq = s->seq_next++;
		return 0;
	}
	if (rev > s->top_rev) {
		/* Above every recorded revision: nothing to count. */
		s->seq_rev = rev;
		s->seq_next = 1;
		*seq = 0;
		return 0;
	}
	sqlite3_bind_int64(s->st[S_SEQ], 1, rev);
	if ((rc = row_st(s, S_SEQ)) < 0)
		return -1;
	*seq = rc == 1 ? sqlite3_column_int64(s->st[S_SEQ], 0) : 0;
	done_st(s, S_SEQ);
	s->seq_rev = rev;
	s->seq_next = *seq + 1;
	return 0;
}

/*
 * Churn owners packed as "namespace\0pod\0" ("" for none): ns, then the
 * pod, which is p1 "/" p2 when p2 is set, else p1.  NULL when out of
 * memory.
 */
static char *
own_pack(const char *ns, size_t nsn, const char *p1, size_t n1, const char *p2,
    size_t n2)
{
	char *o = malloc(nsn + n1 + (p2 != NULL ? n2 + 1 : 0) + 2), *q;

	if (o == NULL) {
		log_err("db: out of memory for the churn counts");
		return NULL;
	}
	memcpy(o, ns, nsn);
	q = o + nsn;
	*q++ = '\0';
	memcpy(q, p1, n1);
	q += n1;
	if (p2 != NULL) {
		*q++ = '/';
		memcpy(q, p2, n2);
		q += n2;
	}
	*q = '\0';
	return o;
}

/* The owners of a decoded ipcache value, as hs_churn_owners() has them. */
static char *
own_ipcache(const struct hs_value *v)
{
	struct hs_str ns = v->u.ipcache.namespace, pod = v->u.ipcache.pod;

	if (ns.p == NULL || ns.n == 0)
		return own_pack("", 0, "", 0, NULL, 0);
	if (pod.p == NULL || pod.n == 0)
		return own_pack(ns.p, ns.n, "", 0, NULL, 0);
	return own_pack(ns.p, ns.n, ns.p, ns.n, pod.p, pod.n);
}

/* hs_churn_owners(), packed. */
static char *
own_find(
    const char *kind, const struct store_event *ev, const char *v, size_t n)
{
	char *ns = NULL, *pod = NULL, *o;

	hs_churn_owners(kind, ev->key, ev->keylen, v, n, &ns,
	    strcmp(kind, "ipcache") == 0 ? &pod : NULL);
	o = own_pack(ns ? ns : "", ns ? strlen(ns) : 0, pod ? pod : "",
	    pod ? strlen(pod) : 0, NULL, 0);
	free(ns);
	free(pod);
	return o;
}

/*
 * Bring the key's typed table up to date for an event that changes its
 * value: close the open row, then insert the decoded value of a PUT.
 * *row gets the new row (0: none); *own the owners of a decoded ipcache
 * value (else left NULL).
 */
static int
write_typed(struct store *s, const struct store_event *ev, struct kc_ent *e,
    const struct hs_key *k, int64_t rev, int64_t seq, int64_t *row, char **own)
{
	struct hs_value v;
	char err[256];
	int cl, rc;

	*row = 0;
	if (e->typed_row != 0 && (cl = close_stmt(k->kind)) >= 0) {
		sqlite3_bind_int64(s->st[cl], 1, rev);
		sqlite3_bind_int64(s->st[cl], 2, e->typed_row);
		if (exec_st(s, cl) != 0)
			return -1;
	}
	e->typed_row = 0;
	if (ev->type != 0)
		return 0;
	memset(&v, 0, sizeof(v));
	rc = hs_value_decode(
	    k, ev->value ? ev->value : "", ev->vallen, &v, err, sizeof(err));
	if (rc < 0)
		return note_decode_error(s, rev, seq, e->key_id, k, ev, err);
	if (rc > 0)
		return 0;
	rc = insert_typed(s, e->key_id, k, &v, ev, rev, row);
	if (rc == 0 && k->kind == HS_KIND_IPCACHE &&
	    e->kind == (int32_t)k->kind)
		*own = own_ipcache(&v);
	hs_value_release(&v);
	return rc;
}

/* --- values decoded again by a newer decoder --------------------------- */

/*
 * The interval a decoded-again value held: the PUT at (rev, seq) and the
 * key's re-puts of the same value and generation after it (lease-only,
 * as write_event() lets them share the typed row) point at row; the
 * key's next other event closes it.  No such event: the row stays open.
 * The walk starts at the PUT itself, the first to match.
 */
static int
redecode_span(struct store *s, sqlite3_stmt *next, sqlite3_stmt *mark, int kind,
    int64_t key_id, int64_t rev, int64_t seq, int64_t val_id, int64_t create,
    int64_t row)
{
	int rc, cl = close_stmt(kind), done = 0, failed = 0;

	sqlite3_bind_int64(next, 1, key_id);
	sqlite3_bind_int64(next, 2, rev);
	sqlite3_bind_int64(next, 3, seq);
	while (!done && (rc = sqlite3_step(next)) == SQLITE_ROW) {
		int64_t r = sqlite3_column_int64(next, 0);

		if (sqlite3_column_int(next, 2) == 0 &&
		    sqlite3_column_type(next, 3) != SQLITE_NULL &&
		    sqlite3_column_int64(next, 3) == val_id &&
		    sqlite3_column_int64(next, 4) == create) {
			sqlite3_bind_int64(mark, 1, row);
			sqlite3_bind_int64(mark, 2, r);
			sqlite3_bind_int64(
			    mark, 3, sqlite3_column_int64(next, 1));
			rc = sqlite3_step(mark);
			sqlite3_reset(mark);
			if (rc != SQLITE_DONE)
				break;
			continue;
		}
		done = 1;
		if (cl >= 0) {
			sqlite3_bind_int64(s->st[cl], 1, r);
			sqlite3_bind_int64(s->st[cl], 2, row);
			failed = exec_st(s, cl) != 0;
		}
	}
	/* Left as it is on failure: a reset would clear the error's text. */
	if (failed || (!done && rc != SQLITE_DONE))
		return -1;
	sqlite3_reset(next);
	return 0;
}

/*
 * One recorded decode error: 1 it decodes now (typed row written, the
 * error row deleted), 0 it still does not, -1 a db error.  The columns of
 * cur: d.rev, d.seq, d.key_id, k.key, e.type, e.val_id, e.lease,
 * e.create_rev, e.version, e.origin, v.value.  With del NULL, a PUT
 * that lost its decode_errors row to --retain (redecode()): the same,
 * but only for a kind with a typed table, as keys.kind (column 11) has
 * it, and no row to delete.
 */
static int
redecode_one(struct store *s, sqlite3_stmt *cur, sqlite3_stmt *next,
    sqlite3_stmt *mark, sqlite3_stmt *del, sqlite3_stmt *epoch)
{
	struct store_event ev;
	struct hs_key k;
	struct hs_value v;
	char err[256];
	int64_t rev = sqlite3_column_int64(cur, 0);
	int64_t seq = sqlite3_column_int64(cur, 1);
	int64_t key_id = sqlite3_column_int64(cur, 2);
	int64_t create = sqlite3_column_int64(cur, 7);
	int64_t row = 0, offset, now = s->offset;
	int rc;

	if (sqlite3_column_int(cur, 4) != 0 ||
	    sqlite3_column_type(cur, 5) == SQLITE_NULL)
		return 0; /* not a PUT: nothing was decoded */
	/* The offset of the epoch the PUT was recorded in. */
	sqlite3_bind_int64(epoch, 1, rev);
	rc = sqlite3_step(epoch);
	offset = sqlite3_column_int64(epoch, 0);
	sqlite3_reset(epoch);
	if (rc != SQLITE_ROW)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.key = (const char *)sqlite3_column_text(cur, 3);
	ev.keylen = (size_t)sqlite3_column_bytes(cur, 3);
	ev.value = sqlite3_column_blob(cur, 10);
	ev.vallen = (size_t)sqlite3_column_bytes(cur, 10);
	/*
	 * etcd's revisions, as write_event() had them: insert_typed() tells
	 * a create_revision etcd gave (> 0) from none by them, and adds the
	 * offset back (that epoch's, not the current one's, under which an
	 * earlier epoch's create_revision would look like none).
	 */
	ev.mod_rev = rev - offset;
	ev.create_rev = create - offset;
	ev.version = sqlite3_column_int64(cur, 8);
	ev.lease = sqlite3_column_int64(cur, 6);
	ev.origin = sqlite3_column_int(cur, 9);
	if (ev.key == NULL)
		return 0;
	hs_key_parse(ev.key, ev.keylen, &k);
	/* Not a key an older classifier put elsewhere, nor a heartbeat. */
	if (del == NULL &&
	    (close_stmt(k.kind) < 0 || sqlite3_column_text(cur, 11) == NULL ||
		strcmp((const char *)sqlite3_column_text(cur, 11),
		    hs_kind_name(k.kind)) != 0))
		return 0;
	memset(&v, 0, sizeof(v));
	rc = hs_value_decode(
	    &k, ev.value ? ev.value : "", ev.vallen, &v, err, sizeof(err));
	if (rc < 0 || (rc > 0 && del == NULL))
		return 0;
	if (rc == 0) {
		s->offset = offset;
		rc = insert_typed(s, key_id, &k, &v, &ev, rev, &row);
		s->offset = now;
		hs_value_release(&v);
		if (rc != 0)
			return -1;
	}
	if (row != 0 &&
	    redecode_span(s, next, mark, k.kind, key_id, rev, seq,
		sqlite3_column_int64(cur, 5), create, row) != 0)
		return -1;
	if (del != NULL) {
		sqlite3_bind_int64(del, 1, rev);
		sqlite3_bind_int64(del, 2, seq);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		if (rc != SQLITE_DONE)
			return -1;
		s->rows[R_DERR]--;
		s->decode_errors--;
	}
	return 1;
}

/*
 * Values an older build could not decode, decoded again when the db was
 * written by an older decoder (meta.decoder below HS_DECODER_GEN), or
 * when one recorded into it after this generation did (a rollback to a
 * build from before the generations, which leaves meta.decoder as it
 * was but moves recorded_rev past meta.decoded_rev: only the errors
 * above decoded_rev are tried then): each
 * that decodes now gets the typed row a recording by this build would
 * have given it, over the interval it held, and leaves decode_errors; the
 * rest stay.  The churn counts stay as they are: their namespace and pod
 * come from the raw value (hs_churn_owners()), decoded or not.
 * One transaction, committed with the new generation: a stop before it
 * leaves the work whole for the next open.
 */
static int
redecode(struct store *s)
{
	static const char q_cur[] =
	    "SELECT d.rev, d.seq, d.key_id, k.key, e.type, e.val_id, "
	    "e.lease, e.create_rev, e.version, e.origin, v.value "
	    "FROM decode_errors d JOIN keys k ON k.id = d.key_id "
	    "JOIN events e ON e.rev = d.rev AND e.seq = d.seq "
	    "LEFT JOIN vals v ON v.id = e.val_id "
	    "WHERE (d.rev, d.seq) > (?1, ?2) "
	    "ORDER BY d.rev, d.seq LIMIT 1";
	static const char q_next[] =
	    "SELECT rev, seq, type, val_id, create_rev FROM events "
	    "WHERE key_id = ?1 AND rev >= ?2 AND NOT (rev = ?2 AND seq < ?3) "
	    "ORDER BY rev, seq";
	static const char q_mark[] =
	    "UPDATE events SET typed_row = ?1 WHERE rev = ?2 AND seq = ?3";
	static const char q_del[] =
	    "DELETE FROM decode_errors WHERE rev = ? AND seq = ?";
	/* An epoch's revisions are above its offset (store_new_epoch()). */
	static const char q_epoch[] =
	    "SELECT coalesce(max(rev_offset), 0) FROM epochs "
	    "WHERE rev_offset < ?";
	/* Each key's first event, after --retain (see below). */
	static const char q_keys[] = "SELECT id FROM keys ORDER BY id";
	static const char q_first[] =
	    "SELECT e.rev, e.seq, e.key_id, k.key, e.type, e.val_id, "
	    "e.lease, e.create_rev, e.version, e.origin, v.value, k.kind "
	    "FROM events e JOIN keys k ON k.id = e.key_id "
	    "LEFT JOIN vals v ON v.id = e.val_id "
	    "WHERE e.key_id = ?1 AND e.typed_row IS NULL "
	    "AND e.rev = (SELECT min(rev) FROM events WHERE key_id = ?1)";
	sqlite3_stmt *cur = NULL, *next = NULL, *mark = NULL, *del = NULL;
	sqlite3_stmt *epoch = NULL, *keys = NULL, *first = NULL;
	int64_t gen = 0, rev = -1, seq = -1, tried = 0, fixed = 0, x = 0;
	int64_t rec = 0;
	int rc = -1, r, pruned = 0;

	if (hsdb_meta_read_int(s->db, "decoder", &gen) < 0)
		return -1;
	if (hsdb_meta_read_int(s->db, "recorded_rev", &rec) < 0)
		return -1;
	if (gen == HS_DECODER_GEN) {
		/*
		 * A db this generation wrote before decoded_rev was kept has
		 * none: its errors are tried once.
		 */
		if (hsdb_meta_read_int(s->db, "decoded_rev", &rev) < 0 ||
		    hsdb_meta_read_int(s->db, "decode_errors", &x) < 0)
			return -1;
		seq = INT64_MAX; /* from the first error above rev */
		if (rev >= rec) {
			/*
			 * An older build's --retain left meta decode_errors
			 * counting errors whose rows it pruned: set it right
			 * now (any commit would; --upgrade makes none).
			 */
			if (x == s->decode_errors)
				return 0;
			if (store_begin(s) != 0)
				return -1;
			return store_commit(s);
		}
	}
	/*
	 * A db a newer build wrote: this one's errors are to be tried again
	 * by that build, so the generation goes down to this one's.
	 */
	if (gen > HS_DECODER_GEN) {
		if (store_begin(s) != 0 ||
		    meta_int(s, "decoder", HS_DECODER_GEN) != 0)
			goto out;
		rc = store_commit(s);
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, q_cur, -1, &cur, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, q_next, -1, &next, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, q_mark, -1, &mark, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, q_del, -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, q_epoch, -1, &epoch, NULL) != SQLITE_OK ||
	    store_begin(s) != 0)
		goto out;
	/* A fresh cursor past each error: the loop deletes what it read. */
	for (;;) {
		sqlite3_bind_int64(cur, 1, rev);
		sqlite3_bind_int64(cur, 2, seq);
		if ((r = sqlite3_step(cur)) == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW)
			goto out;
		rev = sqlite3_column_int64(cur, 0);
		seq = sqlite3_column_int64(cur, 1);
		tried++;
		if ((r = redecode_one(s, cur, next, mark, del, epoch)) < 0)
			goto out;
		fixed += r;
		sqlite3_reset(cur);
	}
	sqlite3_reset(cur);
	/*
	 * Under --retain, a value that did not decode and was put again
	 * alike (lease-only) loses its first event, and that event's
	 * decode_errors row, once the re-put is before the horizon: the
	 * re-put left, now the key's first event, holds the value with no
	 * typed row.  Only in a pruned db: one look at each key's first
	 * event (events_key).  Its interval begins there, not at the PUT
	 * pruned (before the horizon, where the CLI warns).
	 */
	if (gen < HS_DECODER_GEN &&
	    ((pruned = hsdb_meta_read_int(s->db, "pruned_through_rev", &x)) <
		    0 ||
		(!pruned &&
		    (pruned = hsdb_meta_read_int(s->db, "prune_cut", &x)) < 0)))
		goto out;
	if (pruned &&
	    (sqlite3_prepare_v2(s->db, q_keys, -1, &keys, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(s->db, q_first, -1, &first, NULL) !=
		    SQLITE_OK))
		goto out;
	while (pruned && (r = sqlite3_step(keys)) != SQLITE_DONE) {
		if (r != SQLITE_ROW)
			goto out;
		sqlite3_bind_int64(first, 1, sqlite3_column_int64(keys, 0));
		if ((r = sqlite3_step(first)) == SQLITE_ROW) {
			if ((r = redecode_one(
				 s, first, next, mark, NULL, epoch)) < 0)
				goto out;
			tried += r;
			fixed += r;
		} else if (r != SQLITE_DONE)
			goto out;
		sqlite3_reset(first);
	}
	if (meta_int(s, "decoder", HS_DECODER_GEN) != 0 ||
	    meta_int(s, "decoded_rev", rec) != 0 || store_commit(s) != 0)
		goto out;
	if (fixed > 0)
		log_info("decoded %lld of %lld values that an older hindsight "
			 "could not decode; %lld still do not",
		    (long long)fixed, (long long)tried,
		    (long long)(tried - fixed));
	rc = 0;
out:
	if (rc != 0 && s->in_txn)
		store_rollback(s);
	sqlite3_finalize(cur);
	sqlite3_finalize(next);
	sqlite3_finalize(mark);
	sqlite3_finalize(del);
	sqlite3_finalize(epoch);
	sqlite3_finalize(keys);
	sqlite3_finalize(first);
	return rc;
}

/* --- the churn tables ------------------------------------------------- */

static void
churn_clear(struct store *s)
{
	size_t i;

	for (i = 0; i < s->ch_cap; i++)
		free(s->ch[i].name);
	s->ch_n = 0;
	s->sp_n = 0;
	/* A big transaction (a resync, a deleted prefix) need not stay. */
	if (s->ch_cap > CHURN_KEEP) {
		free(s->ch);
		s->ch = NULL;
		s->ch_cap = 0;
	} else if (s->ch != NULL)
		memset(s->ch, 0, s->ch_cap * sizeof(*s->ch));
}

static size_t
churn_slot(const struct store *s, int64_t secs, int64_t bucket,
    const char *kind, const char *name, uint64_t nh, int pod)
{
	size_t i =
	    (size_t)(nh ^ ((uint64_t)(bucket + secs) * 0x9e3779b97f4a7c15ULL) ^
		(uint64_t)(uintptr_t)kind ^ (uint64_t)pod) &
	    (s->ch_cap - 1);
	const struct churn_ent *c;

	for (;; i = (i + 1) & (s->ch_cap - 1)) {
		c = &s->ch[i];
		if (c->name == NULL ||
		    (c->nh == nh && c->bucket == bucket && c->secs == secs &&
			c->kind == kind && c->pod == pod &&
			strcmp(c->name, name) == 0))
			return i;
	}
}

/* Count one change (name: namespace or pod; nh: its hash1()). */
static int
churn_add(struct store *s, int64_t secs, int64_t bucket, const char *kind,
    const char *name, uint64_t nh, int pod, int cls)
{
	struct churn_ent *c, *old = s->ch;
	size_t i, n = s->ch_cap;

	if ((s->ch_n + 1) * 2 > s->ch_cap) {
		s->ch_cap = n ? n * 2 : 256;
		if ((s->ch = calloc(s->ch_cap, sizeof(*s->ch))) == NULL) {
			s->ch = old;
			s->ch_cap = n;
			return -1;
		}
		for (i = 0; i < n; i++)
			if (old[i].name != NULL)
				s->ch[churn_slot(s, old[i].secs, old[i].bucket,
				    old[i].kind, old[i].name, old[i].nh,
				    old[i].pod)] = old[i];
		free(old);
	}
	c = &s->ch[churn_slot(s, secs, bucket, kind, name, nh, pod)];
	if (c->name == NULL) {
		if ((c->name = strdup(name)) == NULL)
			return -1;
		c->nh = nh;
		c->secs = secs;
		c->bucket = bucket;
		c->kind = kind;
		c->pod = pod;
		s->ch_n++;
	}
	c->n[cls]++;
	return 0;
}

/*
 * Widen the bucket's span to rev.  Only the last few buckets are looked
 * at (times move forward): a bucket seen again after them gets a second
 * entry, which the upsert in churn_flush() merges.
 */
static int
churn_span(struct store *s, int64_t secs, int64_t bucket, int64_t rev)
{
	struct churn_span *m;
	size_t i;

	for (i = s->sp_n; i > 0 && i + 4 > s->sp_n; i--) {
		m = &s->sp[i - 1];
		if (m->bucket == bucket && m->secs == secs) {
			if (rev < m->lo)
				m->lo = rev;
			if (rev > m->hi)
				m->hi = rev;
			return 0;
		}
	}
	if (s->sp_n == s->sp_cap) {
		size_t cap = s->sp_cap ? s->sp_cap * 2 : 8;

		if ((m = realloc(s->sp, cap * sizeof(*m))) == NULL)
			return -1;
		s->sp = m;
		s->sp_cap = cap;
	}
	m = &s->sp[s->sp_n++];
	m->secs = secs;
	m->bucket = bucket;
	m->lo = m->hi = rev;
	return 0;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* The order of the churn tables' primary keys (BINARY text order). */
static int
churn_cmp(const void *a, const void *b)
{
	const struct churn_ent *x = a, *y = b;
	int c;

	if (x->pod != y->pod)
		return x->pod - y->pod;
	if ((c = cmp_i64(x->secs, y->secs)) != 0 ||
	    (c = cmp_i64(x->bucket, y->bucket)) != 0)
		return c;
	if (!x->pod && x->kind != y->kind && (c = strcmp(x->kind, y->kind)))
		return c;
	return strcmp(x->name, y->name);
}

/* churn_pod_totals' order: by pod. */
static int
churn_pod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct churn_ent *)a)->name,
	    ((const struct churn_ent *)b)->name);
}

/*
 * The open transaction's counts into the churn tables.  The counts are
 * written in each table's key order: a transaction's rows then fall
 * together in the B-trees (a few pages each) instead of one random page
 * per row.  That empties the hash table's layout: churn_clear() follows,
 * here or at the rollback of a failure.
 */
static int
churn_flush(struct store *s)
{
	sqlite3_stmt *st;
	size_t i, n = 0, p0;
	int j, k, which;

	for (i = 0; i < s->ch_cap && n < s->ch_n; i++)
		if (s->ch[i].name != NULL && i != n++) {
			s->ch[n - 1] = s->ch[i];
			s->ch[i].name = NULL;
		}
	if (n > 0) /* s->ch may be NULL */
		qsort(s->ch, n, sizeof(*s->ch), churn_cmp);
	for (i = 0, p0 = n; i < n; i++) {
		const struct churn_ent *c = &s->ch[i];

		which = c->pod ? S_CHURN_POD_UP : S_CHURN_UP;
		st = s->st[which];
		j = 1;
		sqlite3_bind_int64(st, j++, c->secs);
		sqlite3_bind_int64(st, j++, c->bucket);
		if (!c->pod)
			sqlite3_bind_text(st, j++, c->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, j++, c->name, -1, SQLITE_STATIC);
		for (k = 0; k < 4; k++)
			sqlite3_bind_int64(st, j++, c->n[k]);
		if (exec_st(s, which) != 0)
			return -1;
		if (c->pod && c->secs == 3600 && p0 == n)
			p0 = i; /* the hourly pod counts run to the end */
	}
	/* Each pod's total, from its hourly counts. */
	if (n > p0)
		qsort(s->ch + p0, n - p0, sizeof(*s->ch), churn_pod_cmp);
	for (i = p0; i < n; i++) {
		const struct churn_ent *c = &s->ch[i];

		st = s->st[S_CHURN_TOTAL_UP];
		sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(
		    st, 2, c->n[0] + c->n[1] + c->n[2] + c->n[3]);
		if (exec_st(s, S_CHURN_TOTAL_UP) != 0)
			return -1;
	}
	for (i = 0; i < s->sp_n; i++) {
		st = s->st[S_CHURN_SPAN_UP];
		sqlite3_bind_int64(st, 1, s->sp[i].secs);
		sqlite3_bind_int64(st, 2, s->sp[i].bucket);
		sqlite3_bind_int64(st, 3, s->sp[i].lo);
		sqlite3_bind_int64(st, 4, s->sp[i].hi);
		if (exec_st(s, S_CHURN_SPAN_UP) != 0)
			return -1;
	}
	churn_clear(s);
	return 0;
}

/* The revision's t_hi_us; -1 when it has no revisions row. */
static int
rev_time(struct store *s, int64_t rev, int64_t *us)
{
	int rc;

	if (rev != s->t_rev) {
		sqlite3_bind_int64(s->st[S_REV_T], 1, rev);
		if ((rc = row_st(s, S_REV_T)) < 0)
			return -1;
		s->t_us =
		    rc == 1 ? sqlite3_column_int64(s->st[S_REV_T], 0) : -1;
		if (rc == 1)
			done_st(s, S_REV_T);
		s->t_rev = rev;
	}
	*us = s->t_us;
	return 0;
}

/* Whether a DELETE of the kind is counted under its previous value. */
static int
owned_by_value(int kind_id)
{
	return kind_id == HS_KIND_IPCACHE || kind_id == HS_KIND_IDENTITY;
}

/*
 * The packed owners of a DELETE's previous value, prev_val, read back
 * from vals.  NULL on error.
 */
static char *
own_of_val(struct store *s, const char *kind, const struct store_event *ev,
    int64_t prev_val)
{
	sqlite3_stmt *st = s->st[S_VAL_GET];
	char *copy, *o;
	int rc;
	size_t n;

	sqlite3_bind_int64(st, 1, prev_val);
	if ((rc = row_st(s, S_VAL_GET)) < 0)
		return NULL;
	if (rc == 0)
		return own_find(kind, ev, NULL, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if ((copy = malloc(n + 1)) != NULL) {
		const char *p = sqlite3_column_blob(st, 0);

		memcpy(copy, p ? p : "", n);
		copy[n] = '\0';
	}
	done_st(s, S_VAL_GET);
	if (copy == NULL)
		return NULL;
	o = own_find(kind, ev, copy, n);
	free(copy);
	return o;
}

/*
 * Count an event written at revision rev (cls: 0 created, 1 modified,
 * 2 lease-only, 3 deleted) under its minute, kind, namespace and pod.
 * A DELETE is attributed by the key's previous value, prev_val, whose
 * owners are prev_own when known.  A PUT is attributed by its value, whose
 * owners are *own when known (else prev_own when it has the previous
 * value, same); when neither, they are found and left in *own.
 */
static int
count_churn(struct store *s, const struct store_event *ev, int kind_id,
    int64_t rev, int cls, int64_t prev_val, const char *prev_own, int same,
    char **own)
{
	const char *kind = hs_kind_name((enum hs_kind)kind_id);
	const char *use, *ns, *pod;
	char *found = NULL;
	uint64_t nsh, podh;
	int64_t t, minute;
	int rc;

	if (rev_time(s, rev, &t) != 0)
		return -1;
	if (t < 0)
		return 0; /* not in the report's join either */
	minute = t / 60000000;
	if (ev->type == 0) {
		if ((use = *own) == NULL && same)
			use = prev_own;
		if (use == NULL)
			use = *own = found = own_find(
			    kind, ev, ev->value ? ev->value : "", ev->vallen);
	} else if (prev_val > 0 && owned_by_value(kind_id)) {
		if ((use = prev_own) == NULL)
			use = found = own_of_val(s, kind, ev, prev_val);
	} else
		use = found = own_find(kind, ev, NULL, 0);
	if (use == NULL)
		return -1; /* logged */
	ns = use;
	nsh = hash1(ns, strlen(ns));
	pod = use + strlen(use) + 1;
	podh = hash1(pod, strlen(pod));
	/* Per minute and per hour. */
	rc = 0;
	if (churn_add(s, 60, minute, kind, ns, nsh, 0, cls) != 0 ||
	    churn_add(s, 3600, minute / 60, kind, ns, nsh, 0, cls) != 0)
		rc = -1;
	else if (pod[0] != '\0' &&
	    (churn_add(s, 60, minute, kind, pod, podh, 1, cls) != 0 ||
		churn_add(s, 3600, minute / 60, kind, pod, podh, 1, cls) != 0))
		rc = -1;
	else if (churn_span(s, 60, minute, rev) != 0 ||
	    churn_span(s, 3600, minute / 60, rev) != 0)
		rc = -1;
	if (ev->type != 0)
		free(found); /* *own is a PUT's */
	if (rc != 0)
		log_err("db: out of memory for the churn counts");
	return rc;
}

/* store_event() but for the cache: it may be wrong after a failure. */
static int
write_event(struct store *s, const struct store_event *ev)
{
	struct hs_key k;
	struct kc_ent *e;
	sqlite3_stmt *st;
	int64_t val_id = 0, seq, row, prev_rev, prev_val, prev_lease;
	int64_t rev = ev->mod_rev + s->offset;
	int64_t create = ev->create_rev + s->offset;
	int same = 0, recreated, cls, rc = 0;
	char *own = NULL;

	if ((e = lookup_key(s, ev, &k)) == NULL)
		return -1;
	prev_rev = e->last_rev;
	prev_val = e->last_val;
	prev_lease = e->last_lease;
	if (next_seq(s, rev, &seq) != 0)
		return -1;
	if (ev->type == 0 &&
	    intern_val(s, e, ev->value, ev->vallen, &val_id, &same) != 0)
		return -1;
	/*
	 * A lease-only re-put leaves the decoded state as it was.  A key
	 * deleted and put again alike in a gap (an identity reallocated with
	 * the same labels) comes back as one inferred PUT of the same value:
	 * only its create_revision tells it is another generation.
	 */
	recreated = ev->type == 0 && prev_val > 0 && e->last_create >= 0 &&
	    create != e->last_create;
	if (same && !recreated)
		row = e->typed_row;
	else if (write_typed(s, ev, e, &k, rev, seq, &row, &own) != 0)
		return -1;

	st = s->st[S_EV_INS];
	sqlite3_bind_int64(st, 1, rev);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int(st, 3, ev->type);
	sqlite3_bind_int64(st, 4, e->key_id);
	if (ev->type == 0)
		sqlite3_bind_int64(st, 5, val_id);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, ev->lease);
	if (ev->type == 0) {
		sqlite3_bind_int64(st, 7, create);
		sqlite3_bind_int64(st, 8, ev->version);
	}
	sqlite3_bind_int(st, 9, ev->origin);
	if (row != 0)
		sqlite3_bind_int64(st, 10, row);
	/* A PUT inferred after a gap: when etcd says it happened. */
	if (ev->type == 0 && ev->origin == 2 && s->listed_rev != 0 &&
	    s->listed_rev != rev)
		sqlite3_bind_int64(st, 11, s->listed_rev);
	if (exec_st(s, S_EV_INS) != 0) {
		free(own);
		return -1;
	}
	s->events++;
	if (ev->origin == 2)
		s->rows[R_INFERRED]++;
	e->last_rev = rev;
	e->last_seq = (int32_t)seq;
	e->last_val = ev->type == 0 ? val_id : -1;
	e->last_lease = ev->lease;
	e->last_create = ev->type == 0 ? create : -1;
	e->typed_row = row;
	if (rev > s->top_rev)
		s->top_rev = rev;
	/* Found by a snapshot (origin 1): not churn. */
	if (ev->origin != 1) {
		/*
		 * Like query/cmd_churn.c's classification, no query: that of
		 * schema/004_churn.sql, but a PUT with another create_rev than
		 * the key's previous PUT (re-created in a gap) is created.
		 */
		if (ev->type != 0)
			cls = 3;
		else if (ev->version == 1 && ev->origin == 0)
			cls = 0;
		else if (prev_rev == 0 || prev_val < 0 || recreated)
			cls = 0; /* none before, a DELETE, a new create_rev */
		else if (prev_val == val_id && prev_lease != ev->lease)
			cls = 2;
		else
			cls = 1;
		rc = count_churn(
		    s, ev, e->kind, rev, cls, prev_val, e->own, same, &own);
	}
	/*
	 * The owners of the key's value now, for its next DELETE; not for a
	 * snapshot's keys (all of them at once: memory), whose DELETE reads
	 * the value back.
	 */
	if (!owned_by_value(e->kind) || ev->origin == 1) {
		free(own);
		free(e->own);
		e->own = NULL;
	} else if (ev->type == 0 && own == NULL && same)
		; /* the same value: the same owners */
	else {
		free(e->own);
		e->own = own;
	}
	return rc;
}

int
store_event(struct store *s, const struct store_event *ev)
{
	if (write_event(s, ev) == 0)
		return 0;
	kc_clear(s);
	return -1;
}

int
store_new_epoch(
    struct store *s, uint64_t cluster_id, int64_t etcd_rev, int64_t now_us)
{
	sqlite3_stmt *st = s->st[S_EPOCH_INS];
	char cid[32];
	int64_t top = s->wm_rev + s->offset;
	sqlite3_stmt *q;
	int rc;

	/*
	 * Past every revision recorded so far, whatever the watermark says;
	 * not knowing that is no epoch (its revisions could collide).
	 */
	if (sqlite3_prepare_v2(s->db, "SELECT max(rev) FROM revisions", -1, &q,
		NULL) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else {
		if ((rc = sqlite3_step(q)) == SQLITE_ROW &&
		    sqlite3_column_int64(q, 0) > top)
			top = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	if (rc != SQLITE_ROW) {
		log_err("db: reading the last revision for a new epoch: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	snprintf(cid, sizeof(cid), "%llu", (unsigned long long)cluster_id);
	s->epoch++;
	s->offset = top;
	sqlite3_bind_int64(st, 1, s->epoch);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, s->offset);
	sqlite3_bind_int64(st, 4, etcd_rev);
	sqlite3_bind_int64(st, 5, now_us);
	if (exec_st(s, S_EPOCH_INS) != 0 ||
	    meta_int(s, "epoch", s->epoch) != 0 ||
	    meta_text(s, "etcd_cluster_id", cid) != 0)
		return -1;
	return 0;
}

int
store_resync_begin(struct store *s)
{
	if (sqlite3_exec(s->db, "DELETE FROM temp.resync_seen", NULL, NULL,
		NULL) != SQLITE_OK) {
		log_err("db: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_resync_key(struct store *s, const struct store_event *listed, int64_t rev)
{
	struct store_event ev = *listed;
	sqlite3_stmt *st = s->st[S_OPEN_LAST];
	int rc, same = 0;

	sqlite3_bind_text(s->st[S_SEEN_INS], 1, listed->key,
	    (int)listed->keylen, SQLITE_STATIC);
	if (exec_st(s, S_SEEN_INS) != 0)
		return -1;
	/*
	 * Unchanged when the latest recorded event is a PUT at the listed
	 * mod_revision (same epoch): nothing happened to it in the gap.  An
	 * inferred PUT sits at its re-list revision, with the listed one in
	 * mod_rev: a key inferred after an earlier gap is not again.  The
	 * value, create_revision and version must be the listed ones too:
	 * an etcd recreated alike (same cluster_id) and compacted past the
	 * watermark is re-listed in the same epoch, and its history may
	 * have put the key at the same revision with another value.
	 */
	sqlite3_bind_text(
	    st, 1, listed->key, (int)listed->keylen, SQLITE_STATIC);
	if ((rc = row_st(s, S_OPEN_LAST)) < 0)
		return -1;
	if (rc == 1) {
		const void *v = sqlite3_column_blob(st, 6);
		size_t n = (size_t)sqlite3_column_bytes(st, 6);

		same = sqlite3_column_int(st, 0) == 0 &&
		    sqlite3_column_int64(st, 1) ==
			listed->mod_rev + s->offset &&
		    (sqlite3_column_type(st, 4) == SQLITE_NULL ||
			sqlite3_column_int64(st, 4) ==
			    listed->create_rev + s->offset) &&
		    (sqlite3_column_type(st, 5) == SQLITE_NULL ||
			sqlite3_column_int64(st, 5) == listed->version) &&
		    n == listed->vallen &&
		    (n == 0 || memcmp(v, listed->value, n) == 0);
		done_st(s, S_OPEN_LAST);
	}
	if (same)
		return 0;
	ev.mod_rev = rev;
	ev.origin = 2;
	s->listed_rev = listed->mod_rev + s->offset;
	rc = store_event(s, &ev);
	s->listed_rev = 0;
	return rc;
}

int
store_resync_finish(struct store *s, int64_t rev, int64_t gap_from_rev,
    int64_t gap_from_us, int64_t now_us, const char *reason, long *puts,
    long *deletes)
{
	sqlite3_stmt *st = s->st[S_UNSEEN], *q;
	struct store_event ev;
	char **gone = NULL, **ng = NULL;
	size_t n = 0, i, *lens = NULL, *nl;
	int rc = 0;

	/*
	 * Collect first: store_event() writes the table being read.  Keys
	 * are etcd's bytes, a NUL among them: each with its length (a key
	 * cut at a NUL would delete another key, or one never seen).
	 */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nl = realloc(lens, (n + 1) * sizeof(*lens))) != NULL)
			lens = nl;
		if (nl == NULL ||
		    (ng = realloc(gone, (n + 1) * sizeof(*gone))) == NULL ||
		    (ng[n] = dup_col(st, 0, &lens[n])) == NULL) {
			gone = nl && ng ? ng : gone;
			rc = SQLITE_NOMEM;
			break;
		}
		gone = ng;
		n++;
	}
	done_st(s, S_UNSEEN);
	if (rc != SQLITE_DONE) {
		log_err("db: listing vanished keys: %s", sqlite3_errmsg(s->db));
		rc = -1;
		goto out;
	}
	rc = 0;
	for (i = 0; i < n && rc == 0; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = 1;
		ev.key = gone[i];
		ev.keylen = lens[i];
		ev.mod_rev = rev;
		ev.origin = 2;
		rc = store_event(s, &ev);
	}
	*deletes = (long)n;
	*puts = 0;
	if (rc == 0) {
		if (sqlite3_prepare_v2(s->db,
			"SELECT count(*) FROM events WHERE rev = ? "
			"AND origin = 2 AND type = 0",
			-1, &q, NULL) != SQLITE_OK)
			rc = -1;
		else {
			sqlite3_bind_int64(q, 1, rev + s->offset);
			if (sqlite3_step(q) == SQLITE_ROW)
				*puts = (long)sqlite3_column_int64(q, 0);
			else
				rc = -1;
			sqlite3_finalize(q);
		}
		if (rc != 0)
			log_err("db: counting inferred puts: %s",
			    sqlite3_errmsg(s->db));
	}
	if (rc == 0) {
		st = s->st[S_GAP_INS];
		sqlite3_bind_int64(st, 1, gap_from_rev);
		sqlite3_bind_int64(st, 2, rev + s->offset);
		sqlite3_bind_int64(st, 3, gap_from_us);
		sqlite3_bind_int64(st, 4, now_us);
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_TRANSIENT);
		rc = exec_st(s, S_GAP_INS);
	}
out:
	for (i = 0; i < n; i++)
		free(gone[i]);
	free(gone);
	free(lens);
	return rc;
}

/* The hindsight revision of the watermark (for gap rows). */
int64_t
store_hs_rev(const struct store *s, int64_t etcd_rev)
{
	return etcd_rev + s->offset;
}

static char *
dup_col(sqlite3_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(st, i);
	char *d;

	*n = (size_t)sqlite3_column_bytes(st, i);
	if ((d = malloc(*n + 1)) != NULL) {
		if (*n > 0)
			memcpy(d, p, *n);
		d[*n] = '\0';
	}
	return d;
}

int
store_last_live(struct store *s, char **key, size_t *keylen, int64_t *mod_rev,
    char **val, size_t *vallen)
{
	sqlite3_stmt *st;
	int rc;

	*key = *val = NULL;
	/*
	 * The newest PUT that is still its key's latest event; not one
	 * inferred before format 10, whose mod_revision is unknown.
	 */
	if (sqlite3_prepare_v2(s->db,
		"SELECT k.key, coalesce(e.mod_rev, e.rev), v.value "
		"FROM events e JOIN keys k ON k.id = e.key_id "
		"JOIN vals v ON v.id = e.val_id WHERE e.type = 0 "
		"AND e.rev > ?1 AND (e.origin != 2 OR e.mod_rev IS NOT NULL) "
		"AND NOT EXISTS (SELECT 1 FROM events n "
		"WHERE n.key_id = e.key_id AND n.rev > e.rev) "
		"ORDER BY e.rev DESC, e.seq DESC LIMIT 1",
		-1, &st, NULL) != SQLITE_OK) {
		log_err("db: reading the last key recorded: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, s->offset);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*mod_rev = sqlite3_column_int64(st, 1) - s->offset;
		*key = dup_col(st, 0, keylen);
		*val = dup_col(st, 2, vallen);
		if (*key == NULL || *val == NULL) {
			free(*key);
			free(*val);
			*key = *val = NULL;
			rc = SQLITE_NOMEM;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_err("db: reading the last key recorded: %s",
		    rc == SQLITE_NOMEM ? "out of memory"
				       : sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
