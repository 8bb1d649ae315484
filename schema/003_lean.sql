-- hindsight file format, version 3: fewer B-tree writes per event.
--
-- Format 1 wrote about 17 B-tree entries per ipcache event, several of
-- them on random old pages (closing the previous event's to_rev, the
-- partial "open row" indexes, the global value-hash index), so the store
-- slowed down as the file grew (bench/RESULTS.md).  This migration keeps
-- every fact and drops what can be found another way:
--
--   * events.to_rev and its index events_open: a key's next event is the
--     next entry of events_key (key_id, rev).  The changes view still
--     shows to_rev, computed through that index.
--   * events.typed_row (new): the rowid of the typed-table row (ipcache,
--     identities, identity_users, nodes, services, by the key's kind) that
--     holds the event's decoded value; NULL for a DELETE, a value that did
--     not decode and kinds without a typed table.  A lease-only re-put
--     points at the row it left unchanged.  It replaces the *_open partial
--     indexes: the recorder closes a typed row by its rowid.
--   * vals.hash and vals_hash: a value is shared only between consecutive
--     events of one key (a lease-only re-put), which the recorder sees
--     without a global index; other equal values are stored again.
--
-- Typed tables keep their [from_rev, to_rev) intervals.

DROP VIEW changes;

ALTER TABLE events ADD COLUMN typed_row INTEGER;

-- Fill typed_row for the events already recorded: the typed row of the
-- event's key valid at the event's revision.  Temporary indexes keep this
-- linear in the size of the file.
CREATE INDEX m3_ipcache ON ipcache(key_id, from_rev);
CREATE INDEX m3_identities ON identities(key_id, from_rev);
CREATE INDEX m3_identity_users ON identity_users(key_id, from_rev);
CREATE INDEX m3_nodes ON nodes(key_id, from_rev);
CREATE INDEX m3_services ON services(key_id, from_rev);
CREATE TEMP VIEW m3_typed AS
	SELECT 'ipcache' AS kind, rowid AS r, key_id, from_rev, to_rev
	FROM ipcache
	UNION ALL SELECT 'identity', rowid, key_id, from_rev, to_rev
	FROM identities
	UNION ALL SELECT 'identity_user', rowid, key_id, from_rev, to_rev
	FROM identity_users
	UNION ALL SELECT 'node', rowid, key_id, from_rev, to_rev FROM nodes
	UNION ALL SELECT 'service', rowid, key_id, from_rev, to_rev
	FROM services;
UPDATE events SET typed_row = (
	SELECT t.r FROM m3_typed t, keys k
	WHERE k.id = events.key_id
	AND t.kind = replace(k.kind, 'noderegister', 'node')
	AND t.key_id = events.key_id AND t.from_rev <= events.rev
	AND (t.to_rev IS NULL OR t.to_rev > events.rev)
	ORDER BY t.from_rev DESC LIMIT 1)
WHERE type = 0;
DROP VIEW m3_typed;
DROP INDEX m3_ipcache;
DROP INDEX m3_identities;
DROP INDEX m3_identity_users;
DROP INDEX m3_nodes;
DROP INDEX m3_services;

DROP INDEX events_open;
ALTER TABLE events DROP COLUMN to_rev;
DROP INDEX vals_hash;
ALTER TABLE vals DROP COLUMN hash;
DROP INDEX identities_open;
DROP INDEX identity_users_open;
DROP INDEX ipcache_open;
DROP INDEX nodes_open;
DROP INDEX services_open;

CREATE VIEW changes AS
SELECT e.rev, t.time,
	CASE e.type WHEN 0 THEN 'PUT' ELSE 'DELETE' END AS type,
	k.key, k.kind,
	CAST(v.value AS TEXT) AS value,
	e.lease, e.create_rev, e.version,
	CASE e.origin WHEN 0 THEN 'watch' WHEN 1 THEN 'snapshot'
	     ELSE 'inferred' END AS origin,
	e.origin = 2 AS inferred,
	(SELECT n.rev FROM events n WHERE n.key_id = e.key_id
	 AND n.rev > e.rev ORDER BY n.rev LIMIT 1) AS to_rev
FROM events e
JOIN keys k ON k.id = e.key_id
LEFT JOIN vals v ON v.id = e.val_id
LEFT JOIN rev_times t ON t.rev = e.rev;

-- Values recorded so far may be shared between keys; --retain removes
-- only values above this id once unused (recorder/retain.c).
INSERT OR REPLACE INTO meta(name, value)
SELECT 'vals_shared_through', coalesce(max(id), 0) FROM vals;
