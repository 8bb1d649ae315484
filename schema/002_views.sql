-- Readable views for the common questions: names instead of ids, RFC 3339
-- UTC times instead of microseconds, so a notebook needs no joins to start.
-- A *_time column is NULL when the moment is unknown (a key that already
-- existed when recording began) or, for to_time, when the row is current.
-- *_time is the moment the revision was observed; for a revision replayed
-- after downtime the commit happened in (rev_times.time_lo, time].
-- Times carry all six fractional digits, so a time copied from a view
-- resolves to the same revision when given back to the CLI.

CREATE VIEW rev_times AS
SELECT r.rev, r.etcd_rev, r.epoch, r.how,
	CASE WHEN r.t_lo_us IS NULL THEN NULL
	     ELSE strftime('%Y-%m-%dT%H:%M:%S', r.t_hi_us / 1000000, 'unixepoch')
		|| '.' || substr('00000' || (r.t_hi_us % 1000000), -6) || 'Z' END
		AS time,
	strftime('%Y-%m-%dT%H:%M:%S', r.t_lo_us / 1000000, 'unixepoch')
		|| '.' || substr('00000' || (r.t_lo_us % 1000000), -6) || 'Z'
		AS time_lo,
	strftime('%Y-%m-%dT%H:%M:%S', r.t_hi_us / 1000000, 'unixepoch')
		|| '.' || substr('00000' || (r.t_hi_us % 1000000), -6) || 'Z'
		AS time_hi
FROM revisions r;

CREATE VIEW changes AS
SELECT e.rev, t.time,
	CASE e.type WHEN 0 THEN 'PUT' ELSE 'DELETE' END AS type,
	k.key, k.kind,
	CAST(v.value AS TEXT) AS value,
	e.lease, e.create_rev, e.version,
	CASE e.origin WHEN 0 THEN 'watch' WHEN 1 THEN 'snapshot'
	     ELSE 'inferred' END AS origin,
	e.origin = 2 AS inferred,
	e.to_rev
FROM events e
JOIN keys k ON k.id = e.key_id
LEFT JOIN vals v ON v.id = e.val_id
LEFT JOIN rev_times t ON t.rev = e.rev;

CREATE VIEW identity_history AS
SELECT i.identity, i.cluster, i.create_rev AS generation, ls.labels,
	i.from_rev, i.to_rev, tf.time AS from_time, tt.time AS to_time
FROM identities i
JOIN labelsets ls ON ls.id = i.labelset_id
LEFT JOIN rev_times tf ON tf.rev = i.from_rev
LEFT JOIN rev_times tt ON tt.rev = i.to_rev;

CREATE VIEW ip_history AS
SELECT c.ip, c.prefix_len, c.cluster, c.identity,
	(SELECT ls.labels FROM identities i
	 JOIN labelsets ls ON ls.id = i.labelset_id
	 WHERE i.identity = c.identity AND i.from_rev <= c.from_rev
	 ORDER BY i.from_rev DESC LIMIT 1) AS labels,
	c.namespace, c.pod, c.node, c.host_ip, c.encrypt_key,
	c.endpoint_id, c.service_account,
	c.from_rev, c.to_rev, tf.time AS from_time, tt.time AS to_time
FROM ipcache c
LEFT JOIN rev_times tf ON tf.rev = c.from_rev
LEFT JOIN rev_times tt ON tt.rev = c.to_rev;

CREATE VIEW node_history AS
SELECT n.cluster, n.name,
	(SELECT group_concat(a.type || '=' || a.ip, ',') FROM node_addresses a
	 WHERE a.node_row = n.rowid) AS addresses,
	n.ipv4_alloc_cidr, n.ipv6_alloc_cidr, n.ipv4_health_ip,
	n.ipv6_health_ip, n.ipv4_ingress_ip, n.ipv6_ingress_ip,
	n.encryption_key, n.boot_id, n.source,
	n.from_rev, n.to_rev, tf.time AS from_time, tt.time AS to_time
FROM nodes n
LEFT JOIN rev_times tf ON tf.rev = n.from_rev
LEFT JOIN rev_times tt ON tt.rev = n.to_rev;

CREATE VIEW service_history AS
SELECT s.cluster, s.namespace, s.name,
	(SELECT group_concat(p.ip || ':' || p.port || '/' || p.protocol, ',')
	 FROM service_ports p WHERE p.service_row = s.rowid
	 AND p.role = 'frontend') AS frontends,
	(SELECT group_concat(p.ip || ':' || p.port || '/' || p.protocol, ',')
	 FROM service_ports p WHERE p.service_row = s.rowid
	 AND p.role = 'backend') AS backends,
	s.from_rev, s.to_rev, tf.time AS from_time, tt.time AS to_time
FROM services s
LEFT JOIN rev_times tf ON tf.rev = s.from_rev
LEFT JOIN rev_times tt ON tt.rev = s.to_rev;
