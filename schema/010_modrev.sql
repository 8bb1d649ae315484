-- hindsight file format, version 10: the mod_revision of an inferred
-- change.
--
-- A change inferred after a gap (origin 2) sits at the revision of the
-- re-listing that found it, though etcd's listing says at which revision
-- inside the gap the key was last written.  That revision was dropped:
-- `hindsight snapshot` showed the re-list revision as the key's mod_rev
-- (with create_rev and version from the listing: a version 1 key whose
-- mod_rev was not its create_rev), and the recorder, comparing the
-- listing of a later gap with the re-list revision, inferred the key
-- again although nothing had happened to it.  mod_rev keeps etcd's
-- mod_revision (a hindsight revision, epoch offset added) of an inferred
-- PUT; it is NULL for every other event, whose mod_revision is rev, and
-- for changes inferred before this format.

ALTER TABLE events ADD COLUMN mod_rev INTEGER;
