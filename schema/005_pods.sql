-- hindsight file format, version 5: the top churning pods without reading
-- every pod's counts, and cheaper CHECKs.
--
-- The churn report's top-pods section summed churn_pods over its window:
-- at 10M events a week with 2M distinct pods, 3M hourly rows grouped by
-- pod (7 s).  Format 5 keeps each pod's count over the whole recording:
-- a pod cannot change more often inside a window than in all, so the
-- report visits pods by descending total and stops as soon as the next
-- total is below the tenth best count it found (query/cmd_churn.c).
--
--   * churn_pod_totals: per pod ("namespace/name"), its changes (created +
--     modified + lease_only + deleted) in all hourly churn_pods rows.
--     A visited pod is counted in the window's whole hours by primary-key
--     lookups (secs, bucket, pod): an index by pod would cost 5% of the
--     file for a report of ten rows.
--
-- And two CHECKs a row at a time: SQLite evaluated "x IN (a, b, c)" by
-- building a temporary table for every row written, a third of the
-- recorder's time per event.  They now say the same with = and BETWEEN;
-- the rows are untouched (SQLite's documented way to change a CHECK:
-- hsdb.c bumps schema_version and reopens).

CREATE TABLE churn_pod_totals (
	pod     TEXT PRIMARY KEY,
	changes INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO churn_pod_totals(pod, changes)
SELECT pod, sum(created + modified + lease_only + deleted) FROM churn_pods
WHERE secs = 3600 GROUP BY pod;

CREATE INDEX churn_pod_totals_changes ON churn_pod_totals(changes DESC, pod);

PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (how IN (''snapshot'', ''watch'', ''replay'', ''resync''))',
	'CHECK (how = ''snapshot'' OR how = ''watch'' OR how = ''replay'' OR how = ''resync'')')
WHERE type = 'table' AND name = 'revisions';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (origin IN (0, 1, 2))', 'CHECK (origin BETWEEN 0 AND 2)')
WHERE type = 'table' AND name = 'events';
PRAGMA writable_schema = OFF;
