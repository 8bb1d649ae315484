#!/bin/sh
# tap.sh: TAP helpers and bounded waiting for the shell scenarios in
# tests/integration.  Source it; end the script with done_testing.
# shellcheck disable=SC2034

TAP_N=0
TAP_FAIL=0
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${HINDSIGHT_BIN:-$TOP/bin}
PY=${PYTHON:-python3}

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

is() { # is GOT WANT DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2" | head -40
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

diag() { echo "# $*"; }

bail() { echo "Bail out! $*"; exit 1; }

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAIL" -eq 0 ]
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.05 s until it succeeds;
# fail (return 1) when SECONDS pass first.  The bound is the test's verdict,
# not a sleep: a condition that holds returns at once.
wait_until() {
	_limit=$1
	shift
	_end=$(($(date +%s%N) / 1000000 + _limit * 1000))
	while ! "$@" >/dev/null 2>&1; do
		[ $(($(date +%s%N) / 1000000)) -lt "$_end" ] || return 1
		sleep 0.05
	done
	return 0
}

# A scratch directory removed at exit.  TAP_TMPFS=1 before sourcing: on
# a tmpfs (/dev/shm) where there is one and TMPDIR is not set, for tests
# whose etcd members must write fast (fsync-bound).
if [ -n "${TAP_TMPFS:-}" ] && [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] &&
	[ -w /dev/shm ]; then
	TMPDIR=/dev/shm
	export TMPDIR
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hindsight-test.XXXXXX")
CLEANUP_PIDS=""
# ours PID: PID is still a child of this shell.  A PID already reaped may
# have been reused by an unrelated process, which must not be killed.
ours() {
	[ -r "/proc/$1/stat" ] &&
		[ "$(sed 's/^.*) [A-Za-z] \([0-9]*\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = "$$" ]
}
cleanup() {
	for _p in $CLEANUP_PIDS; do
		if ours "$_p"; then
			kill -9 "$_p" 2>/dev/null
			wait "$_p" 2>/dev/null
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# q DB SQL: one value from the db, by the sqlite3 shell.  A write (a test
# adding or dropping a trigger) waits for the recorder's transaction
# instead of failing at once with "database is locked".
q() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$1" "$2"; }
