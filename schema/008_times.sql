-- hindsight file format, version 8: the views show when a moment is a
-- range.
--
-- A revision replayed after downtime was committed at some moment in
-- (time_lo, time]: the CLI shows both bounds (from_time_lo, to_time_lo,
-- time_lo), but the views showed only the upper one, so a notebook
-- reading ip_history took the moment the recorder came back for the
-- moment an address changed hands.  Now changes has time_lo after time,
-- and the history views end with from_time_lo and to_time_lo: each the
-- lower bound of its revision's moment, NULL when the moment is exact (a
-- revision seen live) or unknown, as in the CLI.  Views only: no data
-- changes.

DROP VIEW changes;
CREATE VIEW changes AS
SELECT e.rev, t.time,
	CASE WHEN t.time_lo < t.time_hi THEN t.time_lo END AS time_lo,
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

DROP VIEW identity_history;
CREATE VIEW identity_history AS
SELECT i.identity, i.cluster, i.create_rev AS generation, ls.labels,
	i.from_rev, i.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM identities i
JOIN labelsets ls ON ls.id = i.labelset_id
LEFT JOIN rev_times tf ON tf.rev = i.from_rev
LEFT JOIN rev_times tt ON tt.rev = i.to_rev;

DROP VIEW ip_history;
CREATE VIEW ip_history AS
SELECT c.ip, c.prefix_len, c.cluster, c.identity,
	(SELECT ls.labels FROM identities i
	 JOIN labelsets ls ON ls.id = i.labelset_id
	 WHERE i.identity = c.identity AND i.from_rev <= c.from_rev
	 ORDER BY i.from_rev DESC LIMIT 1) AS labels,
	c.namespace, c.pod, c.node, c.host_ip, c.encrypt_key,
	c.endpoint_id, c.service_account,
	c.from_rev, c.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM ipcache c
LEFT JOIN rev_times tf ON tf.rev = c.from_rev
LEFT JOIN rev_times tt ON tt.rev = c.to_rev;

DROP VIEW node_history;
CREATE VIEW node_history AS
SELECT n.cluster, n.name,
	(SELECT group_concat(a.type || '=' || a.ip, ',') FROM node_addresses a
	 WHERE a.node_row = n.rowid) AS addresses,
	n.ipv4_alloc_cidr, n.ipv6_alloc_cidr, n.ipv4_health_ip,
	n.ipv6_health_ip, n.ipv4_ingress_ip, n.ipv6_ingress_ip,
	n.encryption_key, n.boot_id, n.source,
	n.from_rev, n.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM nodes n
LEFT JOIN rev_times tf ON tf.rev = n.from_rev
LEFT JOIN rev_times tt ON tt.rev = n.to_rev;

DROP VIEW service_history;
CREATE VIEW service_history AS
SELECT s.cluster, s.namespace, s.name,
	(SELECT group_concat(p.ip || ':' || p.port || '/' || p.protocol, ',')
	 FROM service_ports p WHERE p.service_row = s.rowid
	 AND p.role = 'frontend') AS frontends,
	(SELECT group_concat(p.ip || ':' || p.port || '/' || p.protocol, ',')
	 FROM service_ports p WHERE p.service_row = s.rowid
	 AND p.role = 'backend') AS backends,
	s.from_rev, s.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM services s
LEFT JOIN rev_times tf ON tf.rev = s.from_rev
LEFT JOIN rev_times tt ON tt.rev = s.to_rev;
