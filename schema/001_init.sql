-- hindsight file format, version 1.
--
-- Conventions (README "The .db file" documents them for users):
--   * rev columns are hindsight revisions: the etcd revision plus the
--     rev_offset of its epoch (0 for the first etcd cluster recorded), so
--     revisions of different etcd clusters never mix and always increase.
--   * Intervals are half-open [from_rev, to_rev); to_rev IS NULL while the
--     row is current.
--   * *_us columns are microseconds since the Unix epoch, UTC.
--   * Keys, values and label sets are interned: stored once, referred to by
--     id.
-- Every table is STRICT so notebooks see stable types.

CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value ANY
) STRICT, WITHOUT ROWID;

-- One epoch per etcd cluster incarnation (cluster_id) recorded.
CREATE TABLE epochs (
	epoch       INTEGER PRIMARY KEY,
	cluster_id  TEXT NOT NULL,
	rev_offset  INTEGER NOT NULL,
	started_rev INTEGER NOT NULL,
	started_us  INTEGER NOT NULL
) STRICT;

-- Every revision that carried recorded events (and every snapshot
-- revision), with when it was observed.  t_lo_us/t_hi_us bound the moment
-- etcd committed it: equal for a revision seen live; (stop, restart] for a
-- revision replayed after downtime; t_lo_us NULL when unknown (keys that
-- existed before the first snapshot).
CREATE TABLE revisions (
	rev     INTEGER PRIMARY KEY,
	epoch   INTEGER NOT NULL REFERENCES epochs(epoch),
	etcd_rev INTEGER NOT NULL,
	t_lo_us INTEGER,
	t_hi_us INTEGER NOT NULL,
	how     TEXT NOT NULL CHECK (how IN ('snapshot', 'watch', 'replay', 'resync'))
) STRICT;
CREATE INDEX revisions_t_hi ON revisions(t_hi_us);

CREATE TABLE keys (
	id   INTEGER PRIMARY KEY,
	key  TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL
) STRICT;

CREATE TABLE vals (
	id    INTEGER PRIMARY KEY,
	hash  INTEGER NOT NULL,
	value BLOB NOT NULL
) STRICT;
CREATE INDEX vals_hash ON vals(hash);

-- The raw change log: one row per etcd event, exactly once.  The primary
-- key (rev, seq) makes a duplicate impossible.  to_rev is the revision of
-- the next event on the same key (NULL while this event is the latest), so
-- a PUT row is also the validity interval of that value.
--   type:   0 PUT, 1 DELETE
--   origin: 0 watch, 1 snapshot (key found by the first snapshot; rev is its
--           mod_revision), 2 inferred (reconstructed after a gap)
--   create_rev: etcd's create_revision as a hindsight revision (epoch
--           offset added, like rev); version and lease are etcd's own.
CREATE TABLE events (
	rev        INTEGER NOT NULL,
	seq        INTEGER NOT NULL,
	type       INTEGER NOT NULL CHECK (type IN (0, 1)),
	key_id     INTEGER NOT NULL REFERENCES keys(id),
	val_id     INTEGER REFERENCES vals(id),
	lease      INTEGER NOT NULL DEFAULT 0,
	create_rev INTEGER,
	version    INTEGER,
	origin     INTEGER NOT NULL DEFAULT 0 CHECK (origin IN (0, 1, 2)),
	to_rev     INTEGER,
	PRIMARY KEY (rev, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX events_key ON events(key_id, rev);
CREATE INDEX events_open ON events(key_id) WHERE to_rev IS NULL;

-- Values whose kind is known but whose content did not decode.  The raw
-- event is always in events; this says why the typed tables lack it.
CREATE TABLE decode_errors (
	rev     INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	key_id  INTEGER NOT NULL REFERENCES keys(id),
	family  TEXT NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (rev, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE gaps (
	id         INTEGER PRIMARY KEY,
	from_rev   INTEGER NOT NULL,
	to_rev     INTEGER NOT NULL,
	from_us    INTEGER,
	to_us      INTEGER NOT NULL,
	reason     TEXT NOT NULL
) STRICT;

-- Label sets as Cilium writes them ("src:key=value;..."), and their labels.
CREATE TABLE labelsets (
	id     INTEGER PRIMARY KEY,
	labels TEXT NOT NULL UNIQUE
) STRICT;
CREATE TABLE labels (
	labelset_id INTEGER NOT NULL REFERENCES labelsets(id),
	pos         INTEGER NOT NULL,
	source      TEXT NOT NULL,
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (labelset_id, pos)
) STRICT, WITHOUT ROWID;
CREATE INDEX labels_kv ON labels(key, value);

-- Typed interval tables.  Each row is one decoded value of one key, valid
-- over [from_rev, to_rev).  cluster is '' for this cluster's own
-- cilium/state keys of kinds whose key names no cluster, else the cluster
-- named by the key (kvstoremesh cilium/cache/... mirrors included).

-- Identity master keys id/<N>.  A generation is (identity, create_rev).
CREATE TABLE identities (
	key_id      INTEGER NOT NULL REFERENCES keys(id),
	cluster     TEXT NOT NULL,
	identity    INTEGER NOT NULL,
	create_rev  INTEGER NOT NULL,
	labelset_id INTEGER NOT NULL REFERENCES labelsets(id),
	from_rev    INTEGER NOT NULL,
	to_rev      INTEGER
) STRICT;
CREATE INDEX identities_id ON identities(identity, from_rev);
CREATE INDEX identities_labelset ON identities(labelset_id);
CREATE INDEX identities_open ON identities(key_id) WHERE to_rev IS NULL;

-- Identity slave keys value/<labels>/<node>: per-node usage.
CREATE TABLE identity_users (
	key_id      INTEGER NOT NULL REFERENCES keys(id),
	cluster     TEXT NOT NULL,
	labelset_id INTEGER NOT NULL REFERENCES labelsets(id),
	node_ip     TEXT NOT NULL,
	identity    INTEGER NOT NULL,
	lease       INTEGER NOT NULL,
	from_rev    INTEGER NOT NULL,
	to_rev      INTEGER
) STRICT;
CREATE INDEX identity_users_id ON identity_users(identity, from_rev);
CREATE INDEX identity_users_open ON identity_users(key_id) WHERE to_rev IS NULL;

-- ipcache entries ip/v1/<space>/<ip>[/<len>].
--   ip_bin: 16 bytes, IPv4 as ::ffff:a.b.c.d, so CIDR lookups are ranges.
CREATE TABLE ipcache (
	key_id          INTEGER NOT NULL REFERENCES keys(id),
	cluster         TEXT NOT NULL,
	ip              TEXT NOT NULL,
	ip_bin          BLOB NOT NULL,
	prefix_len      INTEGER NOT NULL,
	identity        INTEGER NOT NULL,
	host_ip         TEXT NOT NULL,
	encrypt_key     INTEGER NOT NULL,
	namespace       TEXT,
	pod             TEXT,
	node            TEXT,
	endpoint_id     INTEGER,
	service_account TEXT,
	from_rev        INTEGER NOT NULL,
	to_rev          INTEGER
) STRICT;
CREATE INDEX ipcache_ip ON ipcache(ip_bin, from_rev);
CREATE INDEX ipcache_pod ON ipcache(namespace, pod);
CREATE INDEX ipcache_identity ON ipcache(identity, from_rev);
CREATE INDEX ipcache_open ON ipcache(key_id) WHERE to_rev IS NULL;

CREATE TABLE ipcache_ports (
	ipcache_row INTEGER NOT NULL,   -- ipcache.rowid
	name        TEXT NOT NULL,
	port        INTEGER NOT NULL,
	protocol    TEXT NOT NULL
) STRICT;
CREATE INDEX ipcache_ports_row ON ipcache_ports(ipcache_row);

-- Nodes nodes/v1/<cluster>/<name> (and noderegister/v1/<name>).
CREATE TABLE nodes (
	key_id          INTEGER NOT NULL REFERENCES keys(id),
	cluster         TEXT NOT NULL,
	name            TEXT NOT NULL,
	cluster_id      INTEGER,
	ipv4_alloc_cidr TEXT,
	ipv4_alloc_len  INTEGER,
	ipv6_alloc_cidr TEXT,
	ipv6_alloc_len  INTEGER,
	ipv4_health_ip  TEXT,
	ipv6_health_ip  TEXT,
	ipv4_ingress_ip TEXT,
	ipv6_ingress_ip TEXT,
	encryption_key  INTEGER,
	boot_id         TEXT,
	source          TEXT,
	from_rev        INTEGER NOT NULL,
	to_rev          INTEGER
) STRICT;
CREATE INDEX nodes_name ON nodes(name, from_rev);
CREATE INDEX nodes_open ON nodes(key_id) WHERE to_rev IS NULL;

CREATE TABLE node_addresses (
	node_row INTEGER NOT NULL,      -- nodes.rowid
	type     TEXT NOT NULL,
	ip       TEXT NOT NULL
) STRICT;
CREATE INDEX node_addresses_row ON node_addresses(node_row);
CREATE INDEX node_addresses_ip ON node_addresses(ip);

-- Services services/v1/<cluster>/<namespace>/<name>.
CREATE TABLE services (
	key_id           INTEGER NOT NULL REFERENCES keys(id),
	cluster          TEXT NOT NULL,
	namespace        TEXT NOT NULL,
	name             TEXT NOT NULL,
	cluster_id       INTEGER,
	include_external INTEGER,
	shared           INTEGER,
	from_rev         INTEGER NOT NULL,
	to_rev           INTEGER
) STRICT;
CREATE INDEX services_name ON services(namespace, name, from_rev);
CREATE INDEX services_open ON services(key_id) WHERE to_rev IS NULL;

--   role: 'frontend' or 'backend'
CREATE TABLE service_ports (
	service_row INTEGER NOT NULL,   -- services.rowid
	role        TEXT NOT NULL CHECK (role IN ('frontend', 'backend')),
	ip          TEXT NOT NULL,
	port_name   TEXT NOT NULL,
	protocol    TEXT NOT NULL,
	port        INTEGER NOT NULL
) STRICT;
CREATE INDEX service_ports_row ON service_ports(service_row);

-- cilium/.heartbeat values: the time the operator wrote, as it wrote it.
CREATE TABLE heartbeats (
	rev     INTEGER PRIMARY KEY,
	value   TEXT NOT NULL,
	time_us INTEGER
) STRICT;
