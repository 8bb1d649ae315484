-- hindsight file format, version 13: a frontend or backend IP listed with
-- no port.
--
-- A service's frontends and backends map each IP to its ports by name;
-- Cilium writes an IP whose port map is empty ("10.1.1.2": {}), e.g. for a
-- headless service's backend.  Such an IP got no service_ports row, so it
-- vanished from `service` and service_history with no decode error.  It
-- now gets one row with port_name, protocol and port NULL.  SQLite cannot
-- drop a NOT NULL, so the table is rebuilt; the rows such IPs should have
-- had are added from the raw value each service row was decoded from.

DROP VIEW service_history;
CREATE TABLE service_ports_13 (
	service_row INTEGER NOT NULL,   -- services.rowid
	role        TEXT NOT NULL CHECK (role IN ('frontend', 'backend')),
	ip          TEXT NOT NULL,
	port_name   TEXT,               -- NULL, with protocol and port: the IP
	protocol    TEXT,               -- is listed with no port
	port        INTEGER
) STRICT;
INSERT INTO service_ports_13
SELECT service_row, role, ip, port_name, protocol, port FROM service_ports;
DROP TABLE service_ports;
ALTER TABLE service_ports_13 RENAME TO service_ports;
CREATE INDEX service_ports_row ON service_ports(service_row);

-- An IP whose port map is empty, null, or holds only nulls (what the
-- recorder now decodes as listed with no port), from the value of the
-- row's first PUT still kept (every PUT within a row's interval has its
-- value; --retain may have pruned the opening one after a lease-only
-- re-put).
INSERT INTO service_ports(service_row, role, ip)
SELECT s.rowid, r.role, j.key
FROM services s
JOIN vals v ON v.id = (SELECT e.val_id FROM events e
	WHERE e.key_id = s.key_id AND e.type = 0 AND e.rev >= s.from_rev
	AND (s.to_rev IS NULL OR e.rev < s.to_rev) ORDER BY e.rev LIMIT 1)
JOIN (SELECT 'frontend' AS role, '$.frontends' AS path
      UNION ALL SELECT 'backend', '$.backends') r
JOIN json_each(CASE WHEN json_valid(CAST(v.value AS TEXT))
	THEN CAST(v.value AS TEXT) ELSE '{}' END, r.path) j
WHERE j.key IS NOT NULL
AND (j.type = 'null' OR (j.type = 'object' AND NOT EXISTS (
	SELECT 1 FROM json_each(j.value) p WHERE p.type <> 'null')));

-- The view lists them, in the order `hindsight service` does.
CREATE VIEW service_history AS
SELECT s.cluster, s.namespace, s.name,
	(SELECT group_concat(a, ',') FROM (
		SELECT p.ip || coalesce(':' || p.port || '/' || p.protocol, '')
		AS a FROM service_ports p WHERE p.service_row = s.rowid
		AND p.role = 'frontend'
		ORDER BY p.ip, p.port, p.protocol, p.port_name)) AS frontends,
	(SELECT group_concat(a, ',') FROM (
		SELECT p.ip || coalesce(':' || p.port || '/' || p.protocol, '')
		AS a FROM service_ports p WHERE p.service_row = s.rowid
		AND p.role = 'backend'
		ORDER BY p.ip, p.port, p.protocol, p.port_name)) AS backends,
	s.from_rev, s.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM services s
LEFT JOIN rev_times tf ON tf.rev = s.from_rev
LEFT JOIN rev_times tt ON tt.rev = s.to_rev;
