-- hindsight file format, version 11: the first snapshot's own revision
-- has an unknown start time too.
--
-- Keys found by the first snapshot start at their mod_revision with an
-- unknown time (t_lo_us NULL: written before recording began), but the
-- revision etcd was at when the snapshot was taken got t_lo_us = t_hi_us
-- = the moment of the snapshot, as if observed then.  Whenever etcd's
-- last write before the snapshot was under the prefix (a heartbeat, an
-- ipcache entry: the usual case), that key's interval showed as begun
-- exactly when recording began, though it was written earlier.  Its
-- commit is bounded only from above, like every key the snapshot found.

UPDATE revisions SET t_lo_us = NULL
WHERE how = 'snapshot'
AND rev = (SELECT value FROM meta WHERE name = 'first_rev');
