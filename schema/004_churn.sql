-- hindsight file format, version 4: the churn report's counts, kept as
-- events are recorded.
--
-- "hindsight churn" classified every event of its window against the key's
-- previous event, about 5 us an event: a week of 10M events took most of a
-- minute.  The recorder now counts each event once, when it writes it,
-- into per-hour and per-minute rows; the report sums the hours inside its
-- window, the minutes inside the hours it cuts, and classifies only the
-- events of the (at most two) minutes it cuts.
-- These tables are derived from events, keys, vals and revisions; they
-- add no fact.  An event's time is its revision's t_hi_us; events found
-- by a snapshot (origin 1) are not churn and are not counted.
--
-- A PUT is "created" when etcd's version is 1 and it was watched, or when
-- the key had no event before or its previous event was a DELETE;
-- "lease_only" when it has the previous event's value (val_id) with
-- another lease; else "modified".  A DELETE is "deleted".  The namespace
-- and pod are hs_namespace()/hs_pod() of the kind, the key and the value
-- (for a DELETE, the previous event's value): see README.
--
-- Every count is kept twice: per hour (secs = 3600, bucket = t_hi_us /
-- 3600000000) and per minute (secs = 60, bucket = t_hi_us / 60000000).  A
-- week is 168 hour buckets; the minutes serve the hours a window cuts.

-- Per bucket, kind and namespace ('' when the change names none).
CREATE TABLE churn (
	secs       INTEGER NOT NULL CHECK (secs IN (60, 3600)),
	bucket     INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	namespace  TEXT NOT NULL,
	created    INTEGER NOT NULL,
	modified   INTEGER NOT NULL,
	lease_only INTEGER NOT NULL,
	deleted    INTEGER NOT NULL,
	PRIMARY KEY (secs, bucket, kind, namespace)
) STRICT, WITHOUT ROWID;

-- Per bucket and pod ("namespace/name", ipcache entries only).
CREATE TABLE churn_pods (
	secs       INTEGER NOT NULL CHECK (secs IN (60, 3600)),
	bucket     INTEGER NOT NULL,
	pod        TEXT NOT NULL,
	created    INTEGER NOT NULL,
	modified   INTEGER NOT NULL,
	lease_only INTEGER NOT NULL,
	deleted    INTEGER NOT NULL,
	PRIMARY KEY (secs, bucket, pod)
) STRICT, WITHOUT ROWID;

-- The revisions each bucket's counted events span: a bucket lies inside
-- a window (rev1, rev2] when rev_lo > rev1 and rev_hi <= rev2.
CREATE TABLE churn_spans (
	secs   INTEGER NOT NULL CHECK (secs IN (60, 3600)),
	bucket INTEGER NOT NULL,
	rev_lo INTEGER NOT NULL,
	rev_hi INTEGER NOT NULL,
	PRIMARY KEY (secs, bucket)
) STRICT, WITHOUT ROWID;

-- Count what is recorded already.  One pass over the events each, rows
-- added to as they come (no sort of the whole log in memory).
CREATE TEMP VIEW m4_ev AS
SELECT r.t_hi_us / 60000000 AS minute, k.kind AS kind, k.key AS key,
	CASE WHEN e.type = 1 THEN 3
		WHEN e.version = 1 AND e.origin = 0 THEN 0
		ELSE coalesce((SELECT CASE WHEN p.type = 1 THEN 0
			WHEN p.val_id IS e.val_id AND p.lease != e.lease THEN 2
			ELSE 1 END FROM events p WHERE p.key_id = e.key_id
			AND p.rev < e.rev ORDER BY p.rev DESC LIMIT 1), 0) END AS cls,
	coalesce(e.val_id, (SELECT p.val_id FROM events p WHERE p.key_id = e.key_id
		AND p.rev < e.rev ORDER BY p.rev DESC LIMIT 1)) AS val_id
FROM events e JOIN keys k ON k.id = e.key_id JOIN revisions r ON r.rev = e.rev
WHERE e.origin != 1;

INSERT INTO churn_spans(secs, bucket, rev_lo, rev_hi)
SELECT 60, r.t_hi_us / 60000000, min(e.rev), max(e.rev)
FROM events e JOIN revisions r ON r.rev = e.rev
WHERE e.origin != 1 GROUP BY 2;

INSERT INTO churn(secs, bucket, kind, namespace, created, modified, lease_only, deleted)
SELECT 60, minute, kind, coalesce(CASE
		WHEN kind IN ('ipcache', 'identity') THEN hs_namespace(kind, key,
			(SELECT CAST(v.value AS TEXT) FROM vals v WHERE v.id = m4_ev.val_id))
		WHEN kind IN ('identity_user', 'service', 'serviceexport',
			'endpointslice') THEN hs_namespace(kind, key, NULL) END, ''),
	cls = 0, cls = 1, cls = 2, cls = 3
FROM m4_ev WHERE true
ON CONFLICT (secs, bucket, kind, namespace) DO UPDATE SET
	created = created + excluded.created, modified = modified + excluded.modified,
	lease_only = lease_only + excluded.lease_only, deleted = deleted + excluded.deleted;

INSERT INTO churn_pods(secs, bucket, pod, created, modified, lease_only, deleted)
SELECT 60, minute, pod, cls = 0, cls = 1, cls = 2, cls = 3
FROM (SELECT minute, cls, hs_pod(kind, key,
		(SELECT CAST(v.value AS TEXT) FROM vals v WHERE v.id = m4_ev.val_id)) AS pod
	FROM m4_ev WHERE kind = 'ipcache')
WHERE pod IS NOT NULL
ON CONFLICT (secs, bucket, pod) DO UPDATE SET
	created = created + excluded.created, modified = modified + excluded.modified,
	lease_only = lease_only + excluded.lease_only, deleted = deleted + excluded.deleted;

DROP VIEW m4_ev;

-- The hours, from the minutes.
INSERT INTO churn_spans
SELECT 3600, bucket / 60, min(rev_lo), max(rev_hi) FROM churn_spans
WHERE secs = 60 GROUP BY 2;
INSERT INTO churn
SELECT 3600, bucket / 60, kind, namespace, sum(created), sum(modified),
	sum(lease_only), sum(deleted)
FROM churn WHERE secs = 60 GROUP BY 2, 3, 4;
INSERT INTO churn_pods
SELECT 3600, bucket / 60, pod, sum(created), sum(modified), sum(lease_only),
	sum(deleted)
FROM churn_pods WHERE secs = 60 GROUP BY 2, 3;
