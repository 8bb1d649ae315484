#!/bin/sh
# --retain, differentially: one etcd, fed by the Cilium simulator (crashes,
# restarts, identity GC, services), recorded into two dbs at once, one
# with a short --retain (killed -9 twice, once with a pruning round left
# open) and one without.  After the retained db's horizon every answer the
# CLI gives is the full db's (but for the times each recorder observed);
# before it the retained db says so (exit 3), never answers wrongly.  A
# copy of the full db pruned while etcd is quiet keeps the same times:
# there time questions and the churn report are compared byte for byte.
# fsync-bound writes: the simulator's pace on a tmpfs, where there is one
# shellcheck disable=SC2034 # read by tap.sh
TAP_TMPFS=1
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
H="$BIN/hindsight"
SIM="$TOP/tests/sim/cilium-sim"
full="$TMP/full.db"
ret="$TMP/ret.db"

etcd_start ret3
start_full() {
	"$BIN/hindsight-recorder" --db "$full" --endpoints "$ETCD_URL" \
		>>"$TMP/full.log" 2>&1 &
	FULL_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $FULL_PID"
}
start_ret() {
	"$BIN/hindsight-recorder" --db "$ret" --endpoints "$ETCD_URL" \
		--retain 4s --retain-every 0.2 >>"$TMP/ret.log" 2>&1 &
	RET_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $RET_PID"
}
start_full
start_ret
wait_until 20 db_reached "$full" 1 || bail "no snapshot (full)"
wait_until 20 db_reached "$ret" 1 || bail "no snapshot (retained)"
# About 10 s of a busy cluster: 4 s of --retain leave most of it behind
# the horizon and a few seconds of it ahead.
"$SIM" --endpoints "$ETCD_URL" --seed 11 --steps 100000 --duration 10 \
	--rate 250 --nodes 4 --pods-per-node 8 --identity-pool 24 \
	--gc-interval 60 --lease-ttl 300 --truth "$TMP/truth.jsonl" \
	2>"$TMP/sim.err" &
SIM_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $SIM_PID"

# kill -9 while a round is open: a trigger makes the revisions pass
# fail, so the round stops after the events, typed rows and churn minutes
# went, with meta prune_open set, and stays so until the trigger goes.
horizon_moved() { [ "$(db_horizon "$ret")" -gt "$1" ]; }
wait_until 20 horizon_moved 0
ok $? "a pruning round ran while the simulator writes"
q "$ret" "CREATE TRIGGER t_no_prune BEFORE DELETE ON revisions
	BEGIN SELECT RAISE(ABORT, 'test: no pruning of revisions'); END"
opened() {
	[ "$(q "$ret" "SELECT value FROM meta WHERE name = 'prune_open'")" = 1 ] &&
		grep -q 'test: no pruning of revisions' "$TMP/ret.log"
}
wait_until 20 opened
ok $? "a round is left open (prune_open) part way"
kill -9 "$RET_PID"
wait "$RET_PID" 2>/dev/null
cut=$(q "$ret" "SELECT value FROM meta WHERE name = 'prune_cut'")
q "$ret" "DROP TRIGGER t_no_prune"
start_ret
wait_until 20 horizon_moved "$cut"
ok $? "after kill -9 and a restart, rounds go on past the open round's cut ($cut)"
# And once more at any moment, while it prunes and records.
h=$(db_horizon "$ret")
wait_until 20 horizon_moved "$h"
kill -9 "$RET_PID"
wait "$RET_PID" 2>/dev/null
start_ret
# Stopped while the simulator still writes, once a round has run since
# the restart and a few hundred revisions lie ahead of its horizon: what
# is compared is up to its watermark ($end), the rest the full db's only.
h=$(db_horizon "$ret")
ahead() {
	_h=$(db_horizon "$ret")
	[ "$_h" -gt "$h" ] && [ "$(db_recorded "$ret")" -ge $((_h + 300)) ]
}
wait_until 20 ahead
ok $? "after a second kill -9, a round ran with history ahead of it"
kill -TERM "$RET_PID"
wait "$RET_PID"
ok $? "retained recorder: SIGTERM, exit 0"
wait "$SIM_PID"
ok $? "the simulator ran: $(tail -1 "$TMP/sim.err")"
last=$($KV "$ETCD_URL" rev)
wait_until 30 db_reached "$full" "$last"
ok $? "the full db recorded through $last"
kill -TERM "$FULL_PID"
wait "$FULL_PID"
ok $? "full recorder: SIGTERM, exit 0"
end=$(db_recorded "$ret")
hz=$(db_horizon "$ret")
first=$(q "$full" "SELECT value FROM meta WHERE name = 'first_rev'")
[ "$hz" -gt "$first" ] && [ "$hz" -lt $((end - 50)) ]
ok $? "the horizon ($hz) lies between the first snapshot ($first) and the watermark ($end)"
diag "retained db: horizon $hz, prune_open $(q "$ret" "SELECT value FROM meta WHERE name = 'prune_open'")"

# What to ask about.  Addresses: the most reused, and live ones whose
# last change is older than the horizon.  Identities: generations whose
# master key is older than the horizon, and reused numbers.  Pods whose
# intervals straddle the horizon.  Every node, every service.
IPS=$(q "$full" "SELECT ip FROM (SELECT ip, count(*) n FROM ipcache GROUP BY ip
	ORDER BY n DESC, ip LIMIT 4) UNION SELECT ip FROM (SELECT ip FROM ipcache
	WHERE to_rev IS NULL AND from_rev < $hz ORDER BY from_rev LIMIT 3)")
IDS=$(q "$full" "SELECT identity FROM (SELECT identity FROM identities GROUP BY identity
	ORDER BY count(*) DESC, identity LIMIT 3) UNION SELECT identity FROM
	(SELECT identity FROM identities WHERE from_rev < $hz AND
	(to_rev IS NULL OR to_rev > $hz) ORDER BY from_rev LIMIT 3)")
PODS=$(q "$full" "SELECT namespace || '/' || pod FROM ipcache WHERE pod != ''
	AND from_rev < $hz AND (to_rev IS NULL OR to_rev > $hz)
	GROUP BY 1 ORDER BY 1 LIMIT 3")
NODES=$(q "$full" "SELECT DISTINCT name FROM nodes ORDER BY 1")
SVCS=$(q "$full" "SELECT namespace || '/' || name FROM services GROUP BY 1
	ORDER BY count(*) DESC, 1 LIMIT 4")
SELS=$(q "$full" "SELECT DISTINCT 'k8s:io.kubernetes.pod.namespace=' || namespace
	FROM ipcache WHERE namespace != '' ORDER BY 1 LIMIT 2")
oneline() { printf '%s' "$1" | tr '\n' ' '; }
diag "ips: $(oneline "$IPS"); ids: $(oneline "$IDS"); pods: $(oneline "$PODS")"
diag "nodes: $(oneline "$NODES"); services: $(oneline "$SVCS"); selectors: $(oneline "$SELS")"
[ -n "$IPS" ] && [ -n "$IDS" ] && [ -n "$PODS" ] && [ -n "$NODES" ] && [ -n "$SVCS" ]
ok $? "there is something of each kind to ask about"
# The horizon, the next revision, and revisions spread up to the end.
REVS=$(q "$full" "SELECT rev FROM (SELECT rev, ntile(3) OVER (ORDER BY rev) b
	FROM revisions WHERE rev > $hz AND rev <= $end) GROUP BY b
	UNION SELECT min(rev) FROM revisions WHERE rev > $hz UNION SELECT $hz
	UNION SELECT $end ORDER BY 1")

# Each recorder observed its own times (and the retained one replayed
# what it missed while killed, so its revisions of then have bounds):
# leave out every time, keep the rest.
# shellcheck disable=SC2016
notimes='walk(if type == "object" then with_entries(select(.key |
	test("time|^at$|^window_(from|to)$") | not)) else . end)'
# What the retained db cannot know, an end after its watermark, is left
# out of the full db's answers too.
# shellcheck disable=SC2016
pastend='walk(if type == "object" and (.to_rev | type) == "number" and
	.to_rev > $top then .to_rev = null else . end)'
# ask DB ARGS...: the JSON answer without times, the exit status, stderr.
ask() {
	_db=$1
	shift
	"$H" --db "$_db" --format json "$@" >"$TMP/a.json" 2>"$TMP/a.err"
	_rc=$?
	jq -cS --argjson top "$end" "$notimes | $pastend" "$TMP/a.json"
	echo "exit $_rc"
	sed 's/, committed at an unknown moment after [^)]*)/)/g
		s/[0-9]\{4\}-[0-9-]*T[0-9:.]*Z/TIME/g' "$TMP/a.err"
}
# differ ARGS...: the question, when the two dbs answer it differently.
differ() {
	ask "$full" "$@" >"$TMP/want"
	ask "$ret" "$@" >"$TMP/got"
	if ! cmp -s "$TMP/want" "$TMP/got"; then
		printf ' [%s]' "$*"
		[ -s "$TMP/first.diff" ] ||
			diff "$TMP/want" "$TMP/got" | head -8 >"$TMP/first.diff"
	fi
}
at_rev() {
	_r=$1
	differ snapshot --at "rev:$_r"
	for _ip in $IPS; do differ ip "$_ip" --at "rev:$_r"; done
	for _id in $IDS; do differ identity "$_id" --at "rev:$_r"; done
	for _s in $SELS; do differ labels "$_s" --at "rev:$_r"; done
	for _n in $NODES; do differ node "$_n" --at "rev:$_r"; done
	for _s in $SVCS; do differ service "$_s" --at "rev:$_r"; done
	for _p in $PODS; do differ pod "$_p" --from "rev:$_r" --to "rev:$end"; done
	differ ip 10.0.0.0/8 --from "rev:$_r" --to "rev:$end"
	differ changes --from "rev:$_r" --to "rev:$end"
	differ diff "rev:$_r" "rev:$end"
}
out=""
for r in $REVS; do out="$out$(at_rev "$r")"; done
is "$out" "" "at the horizon and after it, every answer is the full db's"
[ -s "$TMP/first.diff" ] && diag "$(cut -c1-300 "$TMP/first.diff")"

# Before the horizon: a warning and exit 3, never a silent answer.
before=$((hz - 1))
warned() {
	"$H" --db "$ret" "$@" >/dev/null 2>"$TMP/w.err"
	_rc=$?
	[ "$_rc" = 3 ] && grep -q 'retention horizon' "$TMP/w.err" ||
		printf ' [%s: %s %s]' "$*" "$_rc" "$(head -1 "$TMP/w.err")"
}
first() { printf '%s\n' "$1" | head -1; }
bad=""
ip1=$(first "$IPS")
bad="$bad$(warned ip "$ip1" --at "rev:$before")"
bad="$bad$(warned snapshot --at "rev:$before")"
bad="$bad$(warned changes --from "rev:$before")"
bad="$bad$(warned diff "rev:$before" "rev:$end")"
bad="$bad$(warned ip "$ip1")"
bad="$bad$(warned identity "$(first "$IDS")")"
bad="$bad$(warned identity "$(first "$IDS")" --at "rev:$before")"
bad="$bad$(warned pod "$(first "$PODS")")"
bad="$bad$(warned node "$(first "$NODES")" --at "rev:$before")"
bad="$bad$(warned service "$(first "$SVCS")" --at "rev:$before")"
bad="$bad$(warned churn --from "rev:$before" --to "rev:$end")"
is "$bad" "" "before the horizon, and over whole histories, the retained db warns (exit 3)"

status_counts_check "$ret"
is "$(q "$ret" "PRAGMA integrity_check")" ok "integrity_check ok"
is "$(db_state "$ret")" "$(db_state "$full" "$end")" "the latest state is the full db's at that revision"
is "$(db_timeless "$ret")" 0 "every event and interval left keeps its revision's time"

# A copy of the full db pruned while etcd is quiet: its revisions keep
# the full db's times, so questions by time and the churn report (hours,
# minutes and raw events cut by the window) must come out byte for byte
# alike after the horizon.  --retain is chosen to cut about half way.
copy="$TMP/copy.db"
"$H" --db "$full" backup "$copy" >/dev/null 2>&1
ok $? "a copy of the full db"
mid=$(q "$full" "SELECT t_hi_us FROM revisions WHERE rev > $first
	ORDER BY rev LIMIT 1 OFFSET (SELECT count(*) / 2 FROM revisions WHERE rev > $first)")
now_us=$(($(date +%s%N) / 1000))
keep=$(((now_us - mid) / 1000000)).$(printf '%06d' $(((now_us - mid) % 1000000)))
"$BIN/hindsight-recorder" --db "$copy" --endpoints "$ETCD_URL" \
	--retain "${keep}s" --retain-every 0.2 >>"$TMP/copy.log" 2>&1 &
COPY_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $COPY_PID"
copy_pruned() { [ "$(db_horizon "$copy")" -gt 0 ]; }
wait_until 20 copy_pruned
ok $? "the copy is pruned (--retain ${keep}s)"
kill -TERM "$COPY_PID"
wait "$COPY_PID"
ok $? "SIGTERM: exit 0"
chz=$(db_horizon "$copy")
chz_us=$(db_horizon_us "$copy")
end_us=$(q "$full" "SELECT value FROM meta WHERE name = 'recorded_us'")
[ "$chz" -lt $((last - 50)) ]
ok $? "revisions after the copy's horizon ($chz) are left to compare"
# at SECS: @UNIX with microseconds.
at() { echo "@$(($1 / 1000000)).$(printf '%06d' $(($1 % 1000000)))"; }
TIMES="$chz_us $(q "$full" "SELECT t_hi_us FROM (SELECT rev, t_hi_us, ntile(3) OVER
	(ORDER BY rev) b FROM revisions WHERE rev > $chz AND rev <= $last) GROUP BY b")"
# alike ARGS...: the question, when the full db and the copy answer it
# differently (stdout, exit status or stderr).
alike() {
	"$H" --db "$full" "$@" >"$TMP/want" 2>&1
	echo "exit $?" >>"$TMP/want"
	"$H" --db "$copy" "$@" >"$TMP/got" 2>&1
	echo "exit $?" >>"$TMP/got"
	if ! cmp -s "$TMP/want" "$TMP/got"; then
		printf ' [%s]' "$*"
		[ -s "$TMP/first2.diff" ] ||
			diff "$TMP/want" "$TMP/got" | head -8 >"$TMP/first2.diff"
	fi
}
at_time() {
	_t=$(at "$1")
	_e=$(at "$end_us")
	alike --format json snapshot --at "$_t"
	for _ip in $IPS; do alike --format json ip "$_ip" --at "$_t"; done
	for _id in $IDS; do alike --format json identity "$_id" --at "$_t"; done
	alike --format json ip 10.0.0.0/8 --from "$_t" --to "$_e"
	alike --format json changes --from "$_t" --to "$_e"
	alike --format json diff "$_t" "$_e"
	alike churn --from "$_t" --to "$_e"
	alike --format json churn --from "$_t" --to "$_e" --by hour --by-namespace
}
out=""
for t in $TIMES; do out="$out$(at_time "$t")"; done
is "$out" "" "at times at and after the horizon, answers and churn are the full db's"
[ -s "$TMP/first2.diff" ] && diag "$(cut -c1-300 "$TMP/first2.diff")"
"$H" --db "$copy" churn --from "$(at $((chz_us - 1)))" --to "$(at "$end_us")" \
	>/dev/null 2>"$TMP/w.err"
is "$? $(grep -c 'retention horizon' "$TMP/w.err")" "3 1" \
	"a churn window that starts before the horizon warns (exit 3)"
status_counts_check "$copy"
minutes=$(q "$copy" "SELECT count(*) FROM churn WHERE secs = 60
	AND bucket < $chz_us / 60000000")
hours=$(q "$copy" "SELECT group_concat(n) FROM (SELECT sum(created) || '/' || sum(modified)
	|| '/' || sum(deleted) n FROM churn WHERE secs = 3600 GROUP BY bucket ORDER BY bucket)")
diag "churn minute rows before the copy's horizon: $(q "$full" "SELECT count(*) FROM churn
	WHERE secs = 60 AND bucket < $chz_us / 60000000") in the full db, $minutes in the copy"
is "$minutes $hours" "0 $(q "$full" "SELECT group_concat(n) FROM (SELECT sum(created) || '/' ||
	sum(modified) || '/' || sum(deleted) n FROM churn WHERE secs = 3600 GROUP BY bucket
	ORDER BY bucket)")" "churn: minute rows before the horizon pruned, hour rows kept"

# Readers while rounds prune: the copy's horizon, started just before a
# few revisions, passes them one after the other within seconds.  Each
# answer is read in one transaction: the full db's, or a warning that the
# revision is before the horizon (exit 3), never something in between.
RREVS=$(q "$full" "SELECT rev FROM (SELECT rev, ntile(4) OVER (ORDER BY rev) b
	FROM revisions WHERE rev > $chz AND t_hi_us <= (SELECT t_hi_us FROM revisions
	WHERE rev > $chz ORDER BY rev LIMIT 1) + 3000000) GROUP BY b")
for r in $RREVS; do
	"$H" --db "$full" --format json snapshot --at "rev:$r" >"$TMP/snap.$r"
	"$H" --db "$full" --format json ip 10.0.0.0/8 --from "rev:$r" --to "rev:$last" >"$TMP/ips.$r"
done
r0=$(first "$RREVS")
t0=$(q "$full" "SELECT t_hi_us FROM revisions WHERE rev = $r0")
now_us=$(($(date +%s%N) / 1000))
keep=$(((now_us - t0) / 1000000 + 1))
"$BIN/hindsight-recorder" --db "$copy" --endpoints "$ETCD_URL" \
	--retain "${keep}s" --retain-every 0.1 >>"$TMP/copy.log" 2>&1 &
COPY_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $COPY_PID"
rlast=$(printf '%s\n' "$RREVS" | tail -1)
# read_once: every revision asked once; what differs, in $TMP/readers.
read_once() {
	for _r in $RREVS; do
		for _c in snap ips; do
			if [ $_c = snap ]; then
				"$H" --db "$copy" --format json snapshot --at "rev:$_r" >"$TMP/r.out" 2>"$TMP/r.err"
			else
				"$H" --db "$copy" --format json ip 10.0.0.0/8 --from "rev:$_r" \
					--to "rev:$last" >"$TMP/r.out" 2>"$TMP/r.err"
			fi
			_rc=$?
			case $_rc in
			0) cmp -s "$TMP/r.out" "$TMP/$_c.$_r" && echo 0 >>"$TMP/r.codes" ||
				echo "$_c $_r: another answer" >>"$TMP/readers" ;;
			3) grep -q 'retention horizon' "$TMP/r.err" && echo 3 >>"$TMP/r.codes" ||
				echo "$_c $_r: exit 3, $(cat "$TMP/r.err")" >>"$TMP/readers" ;;
			*) echo "$_c $_r: exit $_rc, $(cat "$TMP/r.err")" >>"$TMP/readers" ;;
			esac
		done
	done
	[ "$(db_horizon "$copy")" -gt "$rlast" ]
}
: >"$TMP/readers"
: >"$TMP/r.codes"
wait_until 30 read_once
ok $? "the horizon passed the revisions asked about"
kill -TERM "$COPY_PID"
wait "$COPY_PID"
is "$(cat "$TMP/readers")" "" \
	"readers during pruning: the full db's answer or a warning ($(grep -c 0 "$TMP/r.codes") answers, $(grep -c 3 "$TMP/r.codes") warnings)"
status_counts_check "$copy"
done_testing
