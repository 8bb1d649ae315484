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

# Current state as "key|HEXVALUE", sorted like etcd sorts keys.
db_state() {
	q "$1" "SELECT k.key || '|' || hex(v.value) FROM events e
		JOIN keys k ON k.id = e.key_id JOIN vals v ON v.id = e.val_id
		WHERE e.to_rev IS NULL AND e.type = 0 ORDER BY k.key"
}

# Watched events from revision FROM on, in kv.py history's format.
db_history() {
	q "$1" "SELECT e.rev || '|' || CASE e.type WHEN 0 THEN 'PUT' ELSE 'DELETE' END
		|| '|' || k.key || '|' || coalesce(hex(v.value), '')
		FROM events e JOIN keys k ON k.id = e.key_id
		LEFT JOIN vals v ON v.id = e.val_id
		WHERE e.origin = 0 AND e.rev >= $2 ORDER BY e.rev, e.seq"
}
