#!/bin/sh
# recorder.sh: run hindsight-recorder in tests and read the db the way a
# user would.  Source after tap.sh and etcd.sh.
# shellcheck disable=SC2034

KV="$PY $TOP/tests/lib/kv.py"

# rec_start DB [flags...]: record $ETCD_URL into DB in the background;
# REC_PID, log in $TMP/rec.log (appended).
rec_start() {
	_db=$1
	shift
	"$BIN/hindsight-recorder" --db "$_db" --endpoints "$ETCD_URL" "$@" \
		>>"$TMP/rec.log" 2>&1 &
	REC_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $REC_PID"
}

# rec_stop: SIGTERM and the exit status.
rec_stop() {
	kill -TERM "$REC_PID"
	wait "$REC_PID"
}

# The watermark: every revision up to it is recorded.
db_recorded() { q "$1" "SELECT value FROM meta WHERE name = 'recorded_rev'" 2>/dev/null; }

# db_reached DB REV: the watermark is at REV or beyond.
db_reached() {
	_r=$(db_recorded "$1")
	[ -n "$_r" ] && [ "$_r" -ge "$2" ]
}

# db_horizon DB: how far --retain has pruned (0: not at all), as the CLI
# takes it: pruned_through_rev, or the cut of a round cut short (meta
# prune_open, prune_cut) when that is further.
db_horizon() {
	q "$1" "SELECT max(coalesce((SELECT value FROM meta WHERE name = 'pruned_through_rev'), 0),
		CASE WHEN (SELECT value FROM meta WHERE name = 'prune_open') = 1
		THEN coalesce((SELECT value FROM meta WHERE name = 'prune_cut'), 0) ELSE 0 END)"
}
# db_horizon_us DB: that horizon's time (pruned_us or prune_cut_us).
db_horizon_us() {
	q "$1" "SELECT value FROM meta WHERE name = CASE WHEN
		(SELECT value FROM meta WHERE name = 'prune_open') = 1 AND
		(SELECT value FROM meta WHERE name = 'prune_cut') >
		coalesce((SELECT value FROM meta WHERE name = 'pruned_through_rev'), 0)
		THEN 'prune_cut_us' ELSE 'pruned_us' END"
}

# db_state DB [REV]: the state as "key|HEXVALUE", sorted like etcd sorts
# keys, as of revision REV (default: the latest recorded).
db_state() {
	q "$1" "SELECT k.key || '|' || hex(v.value) FROM events e
		JOIN keys k ON k.id = e.key_id JOIN vals v ON v.id = e.val_id
		WHERE e.type = 0 AND e.rev = (SELECT max(l.rev) FROM events l
		WHERE l.key_id = e.key_id AND l.rev <= ${2:-9223372036854775807})
		ORDER BY k.key"
}

# Events superseded by a later event of their key at or before revision
# THROUGH (all revisions when omitted).
db_superseded() {
	q "$1" "SELECT count(*) FROM events e WHERE EXISTS (SELECT 1 FROM events n
		WHERE n.key_id = e.key_id AND n.rev > e.rev
		AND n.rev <= ${2:-9223372036854775807})"
}

# Revisions whose time is before an earlier revision's, or whose bounds
# are inverted (should be 0): a time query takes the last revision
# observed at or before a time, which needs times that grow with revisions.
db_times_back() {
	q "$1" "SELECT count(*) FROM (SELECT t_lo_us, t_hi_us, max(t_hi_us) OVER
		(ORDER BY rev ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev
		FROM revisions) WHERE t_hi_us < prev OR t_lo_us > t_hi_us"
}

# The typed rows, one relation: kind, rowid, key_id, from_rev, to_rev.
TYPED_ROWS="SELECT 'ipcache' AS kind, rowid AS r, key_id, from_rev, to_rev FROM ipcache
	UNION ALL SELECT 'identity', rowid, key_id, from_rev, to_rev FROM identities
	UNION ALL SELECT 'identity_user', rowid, key_id, from_rev, to_rev FROM identity_users
	UNION ALL SELECT 'node', rowid, key_id, from_rev, to_rev FROM nodes
	UNION ALL SELECT 'service', rowid, key_id, from_rev, to_rev FROM services"

# Events and typed rows whose revisions (from_rev, to_rev) have no
# revisions row, hence no time (should be 0).
db_timeless() {
	q "$1" "SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS
		(SELECT 1 FROM revisions r WHERE r.rev = e.rev)) + (SELECT count(*)
		FROM ($TYPED_ROWS) t WHERE NOT EXISTS (SELECT 1 FROM revisions r
		WHERE r.rev = t.from_rev) OR (t.to_rev IS NOT NULL AND NOT EXISTS
		(SELECT 1 FROM revisions r WHERE r.rev = t.to_rev)))"
}

# Events whose typed_row is not their key's typed row valid at their
# revision, plus typed rows the event that opened them does not point at
# (should be 0); and keys with more than one open typed row.
db_typed_bad() {
	q "$1" "SELECT (SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
		WHERE e.typed_row IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ($TYPED_ROWS) t
		WHERE t.kind = replace(k.kind, 'noderegister', 'node')
		AND t.r = e.typed_row AND t.key_id = e.key_id AND t.from_rev <= e.rev
		AND (t.to_rev IS NULL OR t.to_rev > e.rev)))
		+ (SELECT count(*) FROM ($TYPED_ROWS) t WHERE NOT EXISTS (SELECT 1
		FROM events e WHERE e.key_id = t.key_id AND e.rev = t.from_rev
		AND e.typed_row = t.r))"
}
db_typed_open_dups() {
	q "$1" "SELECT count(*) FROM (SELECT kind, key_id FROM ($TYPED_ROWS)
		WHERE to_rev IS NULL GROUP BY kind, key_id HAVING count(*) > 1)"
}

# The IPs of the open ipcache rows, and of etcd's ipcache entries now.
db_open_ips() { q "$1" "SELECT ip FROM ipcache WHERE to_rev IS NULL" | LC_ALL=C sort; }
etcd_ips() {
	$KV "$1" state cilium/state/ip/v1/ | sed 's|^cilium/state/ip/v1/[^/]*/||; s/|.*//' |
		LC_ALL=C sort
}
# ipcache_check DB URL: the ipcache table's open rows are etcd's entries.
ipcache_check() {
	_ips=$(etcd_ips "$2")
	[ -n "$_ips" ]
	ok $? "etcd holds ipcache entries ($(printf '%s\n' "$_ips" | wc -l))"
	is "$(db_open_ips "$1")" "$_ips" "the ipcache rows open at the end are exactly those entries"
}

# Watched events from revision FROM on, in kv.py history's format.
db_history() {
	q "$1" "SELECT e.rev || '|' || CASE e.type WHEN 0 THEN 'PUT' ELSE 'DELETE' END
		|| '|' || k.key || '|' || coalesce(hex(v.value), '')
		FROM events e JOIN keys k ON k.id = e.key_id
		LEFT JOIN vals v ON v.id = e.val_id
		WHERE e.origin = 0 AND e.rev >= $2 ORDER BY e.rev, e.seq"
}

# status_counts_check DB: the row counts `hindsight status` shows (kept by
# the recorder and --retain, schema/007_counts.sql) are the tables' own.
status_counts_check() {
	_got=$("$BIN/hindsight" --db "$1" --format json status 2>/dev/null | jq -r '.[0] |
		"\(.events) \(.inferred_events) \(.keys) \(.vals) \(.identities) \(.identity_users) \(.ipcache) \(.nodes) \(.services) \(.decode_errors)"')
	_want=$(q "$1" "SELECT (SELECT count(*) FROM events) || ' ' ||
		(SELECT count(*) FROM events WHERE origin = 2) || ' ' ||
		(SELECT count(*) FROM keys) || ' ' || (SELECT count(*) FROM vals) || ' ' ||
		(SELECT count(*) FROM identities) || ' ' || (SELECT count(*) FROM identity_users) || ' ' ||
		(SELECT count(*) FROM ipcache) || ' ' || (SELECT count(*) FROM nodes) || ' ' ||
		(SELECT count(*) FROM services) || ' ' || (SELECT count(*) FROM decode_errors)")
	is "$_got" "$_want" "status row counts equal the tables' ($_want)"
}
