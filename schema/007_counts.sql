-- hindsight file format, version 7: row counts kept, so "hindsight status"
-- answers without reading the tables.
--
-- status counted the rows of events, vals, keys and the typed tables,
-- and the inferred events (a scan of events by origin) at every run: 1.3
-- s with the page cache warm on a db of 10M events, and above 10 s cold
-- (count(*) of vals reads every page of the values).  The recorder now
-- adds what each transaction inserts to these counts in the same
-- transaction, and --retain subtracts what it deletes.
--
--   row_counts: name (a table, or 'inferred_events': events with origin
--   2), n (its rows).

CREATE TABLE row_counts (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO row_counts(name, n)
SELECT 'events', count(*) FROM events
UNION ALL SELECT 'inferred_events', count(*) FROM events WHERE origin = 2
UNION ALL SELECT 'keys', count(*) FROM keys
UNION ALL SELECT 'vals', count(*) FROM vals
UNION ALL SELECT 'identities', count(*) FROM identities
UNION ALL SELECT 'identity_users', count(*) FROM identity_users
UNION ALL SELECT 'ipcache', count(*) FROM ipcache
UNION ALL SELECT 'nodes', count(*) FROM nodes
UNION ALL SELECT 'services', count(*) FROM services
UNION ALL SELECT 'decode_errors', count(*) FROM decode_errors;
