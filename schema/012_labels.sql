-- hindsight file format, version 12: ip_history's labels also when the
-- identity key comes after the address.
--
-- ip_history took the labels of the identity generation valid when the
-- address's interval began, and had none when the id/<N> key the address
-- names was written after it: kvstoremesh and the clustermesh-apiserver
-- sync ipcache entries and identities independently, and a snapshot
-- starts each row at its key's latest write, so an identity re-put after
-- the address showed no labels for the address's whole history.  Now the
-- view takes the generation valid when the interval began, else the
-- first one to begin within the interval (query/cmds.h, LABELSET_AT_SQL,
-- is the CLI's).  Views only: no data changes.

DROP VIEW ip_history;
CREATE VIEW ip_history AS
SELECT c.ip, c.prefix_len, c.cluster, c.identity,
	(SELECT ls.labels FROM labelsets ls WHERE ls.id = coalesce(
		(SELECT i.labelset_id FROM identities i
		 WHERE i.identity = c.identity AND i.cluster = c.cluster
		 AND i.from_rev <= c.from_rev
		 AND (i.to_rev IS NULL OR i.to_rev > c.from_rev)
		 ORDER BY i.from_rev DESC LIMIT 1),
		(SELECT i.labelset_id FROM identities i
		 WHERE i.identity = c.identity AND i.cluster = c.cluster
		 AND i.from_rev > c.from_rev
		 AND (c.to_rev IS NULL OR i.from_rev < c.to_rev)
		 ORDER BY i.from_rev LIMIT 1))) AS labels,
	c.namespace, c.pod, c.node, c.host_ip, c.encrypt_key,
	c.endpoint_id, c.service_account,
	c.from_rev, c.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM ipcache c
LEFT JOIN rev_times tf ON tf.rev = c.from_rev
LEFT JOIN rev_times tt ON tt.rev = c.to_rev;
