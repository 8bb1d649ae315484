-- hindsight file format, version 6: the nodes using an identity at a
-- moment without reading the identity's whole history.
--
-- "hindsight identity N --at T" found the users at T through
-- identity_users_id (identity, from_rev): every row of the identity that
-- began at or before T, so the lookup grew with the recording (a slave key
-- gets a new row each time it is re-created: an agent crash lets its
-- lease expire, a restart of Cilium 1.13 or older revokes it).
-- The rows of one slave key are consecutive intervals, so at most one of
-- them holds at T: the latest that began at or before T.  With the index
-- by (identity, key_id, from_rev) the CLI walks the identity's distinct
-- keys (one probe each) and takes that row of each: the cost follows the
-- nodes that ever used the identity, not the events recorded.  The same
-- index serves "users of a generation" by its identity prefix.

DROP INDEX identity_users_id;
CREATE INDEX identity_users_key ON identity_users(identity, key_id, from_rev);
