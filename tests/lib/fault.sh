#!/bin/sh
# fault.sh: helpers for the failure-mode tests (tests/integration/fault_*.t).
# Source after tap.sh (and etcd.sh, recorder.sh for the helpers using them).
# shellcheck disable=SC2034,SC2154

FKV="$PY $TOP/tests/lib/faultkv.py"

# todo WHAT: a behaviour the recorder does not have yet.  tests/run.sh
# counts every "not ok" (TODO or not) as a failure, so it is reported as a
# diagnostic line, never as an assertion; the fault tests' README lists them.
todo() { echo "# TODO (not asserted): $*"; }

# skip_all REASON: a TAP skip of the whole file (passes in run.sh).
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# cluster_start: three members m1..m3 on random loopback ports (as in
# etcd-gateway.md section 9).  Sets CL_URL1..3, CL_URLS (comma-separated)
# and, through member_start, CL_PID1..3.
cluster_start() {
	_cl=""
	for _i in 1 2 3; do
		eval "CL_CPORT$_i=$(free_port)"
		eval "CL_PPORT$_i=$(free_port)"
		eval "_pp=\$CL_PPORT$_i"
		_cl="$_cl${_cl:+,}m$_i=http://127.0.0.1:$_pp"
	done
	CL_INITIAL=$_cl
	CL_URLS=""
	for _i in 1 2 3; do
		eval "_cp=\$CL_CPORT$_i"
		eval "CL_URL$_i=http://127.0.0.1:$_cp"
		CL_URLS="$CL_URLS${CL_URLS:+,}http://127.0.0.1:$_cp"
		member_start "$_i"
	done
	for _i in 1 2 3; do
		eval "_u=\$CL_URL$_i"
		wait_until 20 curl -sf "$_u/health" ||
			bail "member m$_i did not become healthy: $(tail -3 "$TMP/m$_i.log")"
	done
}

# member_start I: start (or restart, with its data dir) member mI.  A new
# $CL_TOKEN on emptied data dirs makes a new cluster (another cluster_id)
# on the same URLs.
member_start() {
	eval "_cp=\$CL_CPORT$1 _pp=\$CL_PPORT$1"
	etcd --name "m$1" --data-dir "$TMP/m$1" \
		--listen-client-urls "http://127.0.0.1:$_cp" \
		--advertise-client-urls "http://127.0.0.1:$_cp" \
		--listen-peer-urls "http://127.0.0.1:$_pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$_pp" \
		--initial-cluster "$CL_INITIAL" --initial-cluster-token "${CL_TOKEN:-fault-$$}" \
		--initial-cluster-state new --log-level error --logger zap \
		>>"$TMP/m$1.log" 2>&1 &
	eval "CL_PID$1=$!"
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
}

# member_kill I: kill -9 member mI and reap it.
member_kill() {
	eval "_p=\$CL_PID$1"
	kill -9 "$_p"
	reap "$_p" 2>/dev/null
}

# reap PID: wait for it and drop it from CLEANUP_PIDS, returning its exit
# status.  tap.sh's cleanup kills every PID in that list at exit; a PID
# reaped long ago may belong to another process by then (pid_max is 32768
# here, and these tests start thousands of processes).
reap() {
	wait "$1"
	_rc=$?
	forget "$1"
	return $_rc
}
forget() {
	_keep=""
	for _p in $CLEANUP_PIDS; do [ "$_p" = "$1" ] || _keep="$_keep $_p"; done
	CLEANUP_PIDS=$_keep
}

# rec_term: SIGTERM the recorder; its exit status.
rec_term() {
	kill -TERM "$REC_PID"
	reap "$REC_PID"
}

# member_of URL: the member number (1..3) serving client URL.
member_of() {
	for _i in 1 2 3; do
		eval "_u=\$CL_URL$_i"
		[ "$_u" = "$1" ] && echo "$_i" && return 0
	done
	return 1
}

# rec_run DB ENDPOINTS LOG [flags...]: the recorder in the background;
# REC_PID.
rec_run() {
	_db=$1 _ep=$2 _log=$3
	shift 3
	"$BIN/hindsight-recorder" --db "$_db" --endpoints "$_ep" "$@" >>"$_log" 2>&1 &
	REC_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $REC_PID"
}

# watched_url LOG: the endpoint of the last "watching ... on URL" line.
watched_url() {
	sed -n 's/.* info: watching .* on \([^ ]*\) (etcd at .*/\1/p' "$1" | tail -n 1
}

# watch_count LOG: how many watches were created so far.
watch_count() { grep -c ' info: watching ' "$1"; }

# alive PID: the process still runs.
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

# hist_check DB URLS FROM DESC: one assertion: the recorded watch history
# from revision FROM equals etcd's history (faultkv.py history), in order,
# each event once.  Shows the first differences on failure.
hist_check() {
	$FKV "$2" history cilium/ "$3" >"$TMP/h.etcd"
	db_history "$1" "$3" >"$TMP/h.db"
	if cmp -s "$TMP/h.etcd" "$TMP/h.db"; then
		ok 0 "$4 ($(wc -l <"$TMP/h.etcd") events)"
	else
		ok 1 "$4"
		echo "# etcd $(wc -l <"$TMP/h.etcd") events, db $(wc -l <"$TMP/h.db")"
		diff "$TMP/h.etcd" "$TMP/h.db" | head -10 | sed 's/^/# /'
	fi
}

# db_integrity DB: PRAGMA integrity_check, read-only.
db_integrity() { sqlite3 -batch -noheader "file:$1?mode=ro" "PRAGMA integrity_check" 2>&1; }

# db_dups DB: revisions/keys recorded more than once (0 when exact).
db_dups() {
	q "$1" "SELECT count(*) FROM (SELECT rev, key_id FROM events
		GROUP BY rev, key_id HAVING count(*) > 1)"
}

# powercut_preload: PRELOAD, what LD_PRELOAD must hold to run the recorder
# under tests/lib/powercut.c (make check builds the shim; a test run alone
# builds it; a sanitized recorder needs its runtime first).
powercut_preload() {
	SO=$TOP/build/tests/powercut.so
	if [ ! -r "$SO" ]; then
		SO=$TMP/powercut.so
		${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -fPIC -shared -o "$SO" \
			"$TOP/tests/lib/powercut.c" -ldl -pthread || bail "cannot build powercut.so"
	fi
	asan=$(ldd "$BIN/hindsight-recorder" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p')
	PRELOAD="${asan:+$asan }$SO"
}

# sqlfault_preload PROGRAM: PRELOAD, what LD_PRELOAD must hold to run
# PROGRAM under tests/lib/sqlfault.c (make check builds the shim; a test
# run alone builds it; a sanitized program needs its runtime first).
sqlfault_preload() {
	SO=$TOP/build/tests/sqlfault.so
	if [ ! -r "$SO" ]; then
		SO=$TMP/sqlfault.so
		${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -fPIC -shared -o "$SO" \
			"$TOP/tests/lib/sqlfault.c" -lsqlite3 || bail "cannot build sqlfault.so"
	fi
	asan=$(ldd "$1" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p')
	PRELOAD="${asan:+$asan }$SO"
}

# two_clusters: cluster A (cluster_start, seeded) and an unrelated
# single-member cluster B at $B holding 40 ipcache keys of its own: an
# endpoint of another cluster among --endpoints (fault_foreign*.t).
two_clusters() {
	cluster_start
	etcd_start other
	B=$ETCD_URL
	$KV "$B" many 40 cilium/state/ip/v1/b/ >/dev/null || bail "cannot write to cluster B"
	$FKV "$CL_URLS" writer 20 cilium/seed/ >/dev/null || bail "cannot write to cluster A"
}
