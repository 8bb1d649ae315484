#!/bin/sh
# Failover onto a member that lags.  A 3-member cluster; the recorder
# watches the leader, with --catchup-streams 1 (as after a failed parallel
# catch-up: no range before the watch).  The next endpoint is paused
# (SIGSTOP) while writes go on, resumed (SIGCONT), and the leader is
# killed at once: the recorder moves onto a member still applying what
# the new leader sends it, whose watch begins below the revisions already
# recorded.  That is a member behind, not etcd going backwards: no gap, no
# inferred change, every event recorded once.  Several rounds: the
# moment is a race.
# fsync-bound writes: a big lag quickly on a tmpfs, where there is one
# shellcheck disable=SC2034 # read by tap.sh
TAP_TMPFS=1
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

ROUNDS=${FAULT_ROUNDS:-3}
cluster_start
$FKV "$CL_URLS" writer 20 cilium/seed/ >/dev/null || bail "cannot write to the cluster"
db="$TMP/lag.db"
log="$TMP/lag.log"
rec_run "$db" "$CL_URLS" "$log" --catchup-streams 1
wait_until 15 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "snapshot of the 3-member cluster"
first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")

# hexid URL: the member ID of the member at URL, in hex (etcdctl's form).
hexid() {
	$FKV "$1" members | "$PY" -c 'import sys; print("%x" % int(sys.stdin.read().split()[1]))'
}

round=1
while [ "$round" -le "$ROUNDS" ]; do
	w=$(watched_url "$log")
	mw=$(member_of "$w")
	mb=$((mw % 3 + 1)) # the next endpoint: where the recorder goes
	mc=$((mb % 3 + 1))
	eval "B=\$CL_URL$mb C=\$CL_URL$mc PB=\$CL_PID$mb"
	# The watched member leads: its death costs an election.
	leader=$($FKV "$CL_URLS" leader)
	if [ "$leader" != "$w" ]; then
		ETCDCTL_API=3 etcdctl --endpoints "$leader" move-leader "$(hexid "$w")" >/dev/null 2>&1
	fi
	[ "$($FKV "$CL_URLS" leader)" = "$w" ]
	ok $? "round $round: the watched member m$mw leads"
	$FKV "$C,$w" writer 1000000 "cilium/lag$round/" 0 200 >/dev/null 2>&1 &
	writer=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $writer"
	sleep 1
	kill -STOP "$PB"
	sleep 4
	kill -CONT "$PB"
	member_kill "$mw"
	diag "round $round: m$mb paused 4 s, resumed; killed the leader m$mw at recorded revision $(db_recorded "$db")"
	moved() { [ "$(watched_url "$log")" != "$w" ]; }
	wait_until 30 moved
	ok $? "round $round: watching another member ($(watched_url "$log"))"
	sleep 2
	kill "$writer"
	reap "$writer"
	head=$($FKV "$B,$C" rev)
	wait_until 30 db_reached "$db" "$head"
	ok $? "round $round: recording goes on (revision $head)"
	member_start "$mw"
	wait_until 20 curl -sf "$w/health"
	ok $? "round $round: m$mw restarted"
	round=$((round + 1))
done

head=$($FKV "$CL_URLS" rev)
wait_until 30 db_reached "$db" "$head"
ok $? "caught up to etcd's revision $head"
if grep -q "was behind" "$log"; then
	diag "the recorder met a member behind: $(grep -c 'was behind' "$log") time(s)"
fi
! grep -q "went backwards" "$log"
ok $? "no 'revisions went backwards'"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap"
is "$(q "$db" "SELECT count(*) FROM events WHERE origin = 2")" 0 "no inferred change"
is "$(q "$db" "SELECT count(*) FROM epochs")" 1 "one epoch"
hist_check "$db" "$CL_URLS" $((first + 1)) "recorded history equals etcd's, each event once"
is "$(db_state "$db")" "$($FKV "$CL_URLS" state cilium/)" "the state equals etcd's"
rec_term
ok $? "SIGTERM: exit 0"
grep -E "warn|behind|watching" "$log" | sed 's/^/# rec: /' | head -40
done_testing
