-- hindsight file format, version 9: ip_history's labels as the CLI has
-- them.
--
-- ip_history took the labels of the identity generation with the
-- address's identity number that began last at or before the interval
-- began, of any cluster, even one that had already ended.  An address of
-- one cluster then showed the labels another cluster (kvstoremesh's
-- cilium/cache/...) gave the same number, or those of a generation
-- garbage-collected before the address took the number; `hindsight ip`
-- shows the generation of the address's cluster valid when the interval
-- began (none if there is none).  Now the view does too.  Views only: no
-- data changes.

DROP VIEW ip_history;
CREATE VIEW ip_history AS
SELECT c.ip, c.prefix_len, c.cluster, c.identity,
	(SELECT ls.labels FROM identities i
	 JOIN labelsets ls ON ls.id = i.labelset_id
	 WHERE i.identity = c.identity AND i.cluster = c.cluster
	 AND i.from_rev <= c.from_rev
	 AND (i.to_rev IS NULL OR i.to_rev > c.from_rev)
	 ORDER BY i.from_rev DESC LIMIT 1) AS labels,
	c.namespace, c.pod, c.node, c.host_ip, c.encrypt_key,
	c.endpoint_id, c.service_account,
	c.from_rev, c.to_rev, tf.time AS from_time, tt.time AS to_time,
	CASE WHEN tf.time_lo < tf.time_hi THEN tf.time_lo END AS from_time_lo,
	CASE WHEN tt.time_lo < tt.time_hi THEN tt.time_lo END AS to_time_lo
FROM ipcache c
LEFT JOIN rev_times tf ON tf.rev = c.from_rev
LEFT JOIN rev_times tt ON tt.rev = c.to_rev;
