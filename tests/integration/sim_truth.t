#!/bin/sh
# End to end against the simulator's ground truth: hindsight-recorder
# records a cilium-sim run that does everything at once (crashes and their
# DELETE bursts, <=1.13 and >=1.14 restarts, identity GC with a pool small
# enough that numbers come back with other labels, a kvstoremesh-reflected
# second cluster, IPv6, a simulated clock 600 times real time), and is
# killed -9 and restarted in the middle of it.  Then hindsight must answer
# what the truth says, for questions drawn from the truth
# (tests/lib/simcheck.py): who held an address and with which identity,
# labels, node and host IP, just before, at and just after each kind of
# change, at random revisions (often "nobody") and at observed instants;
# the labels and nodes of an identity around its creation, GC and reuse;
# label selectors, pods, nodes and services.  query_differential.t takes
# etcd as the oracle; this test takes what the control plane did.
# shellcheck disable=SC2034 # read by tap.sh: etcd on a tmpfs, the run is fsync-bound
TAP_TMPFS=1
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

[ -x "$BIN/hindsight-recorder" ] || bail "bin/hindsight-recorder not built"
SIM="$TOP/tests/sim/cilium-sim"
truth() { "$SIM" truth "$TMP/t.jsonl" "$@"; }
# summary NAME: one count of `cilium-sim truth summary` (0 when absent).
summary() {
	truth summary | sed -n "s/^ \"$1\": \([0-9]*\),*$/\1/p" | grep . || echo 0
}

etcd_start truth
db="$TMP/t.db"
rev_reached() { [ "$(etcd_rev)" -ge "$1" ]; }

# Leases live 120 real seconds: none expires during the run (the simulator
# revokes them itself).  --rate 60 paces it to about 20 s (10 simulated
# seconds a step), so the recorder has a run to join.
"$SIM" --endpoints "$ETCD_URL" --seed 3 --steps 1200 --rate 60 --nodes 4 \
	--pods-per-node 10 --ipv6 --cluster cluster1 --cluster-id 1 \
	--kvstoremesh cluster2 --restart-style mixed --identity-pool 30 \
	--lease-ttl 120 --gc-interval 60 --truth "$TMP/t.jsonl" \
	2>"$TMP/sim.err" &
sim=$!
CLEANUP_PIDS="$CLEANUP_PIDS $sim"

# The recorder starts during the run (its first snapshot holds a live
# cluster's keys), is killed -9 once it has recorded some of it, and is
# restarted later: what etcd committed meanwhile is replayed from its
# history.  The run is held (SIGSTOP) while the recorder starts, so that
# it starts before the run ends however slow the machine; a short pause
# outlives no lease.
# rev_or_done N: etcd is at revision N, or the run is over.
rev_or_done() { ! kill -0 "$sim" 2>/dev/null || [ "$(etcd_rev)" -ge "$1" ]; }
wait_until 60 rev_or_done 800
kill -STOP "$sim"
rec_start "$db"
wait_until 20 db_reached "$db" 1 || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"
kill -CONT "$sim"
start=$(db_recorded "$db")
wait_until 60 db_reached "$db" $((start + 300))
kill -STOP "$sim"
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
down=$(db_recorded "$db")
kill -CONT "$sim"
wait_until 60 rev_or_done $((down + 800))
rec_start "$db"
wait "$sim"
ok $? "the simulator ran: $(cat "$TMP/sim.err")"
last=$(truth revisions | tail -1)
wait_until 60 db_reached "$db" "$last"
ok $? "the recorder reached the run's last revision $last"
first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")
replayed=$(q "$db" "SELECT count(*) FROM revisions WHERE how = 'replay'")
[ "$first" -gt 1 ] && [ "$first" -lt "$down" ] && [ "$down" -lt "$last" ] && [ "$replayed" -gt 0 ]
ok $? "...first snapshot at revision $first, killed at $down, $replayed revisions replayed after the restart"

# The run did everything this test is about.
for what in revoke_deletes lease_only_modifies identities_reused agent_crash \
	agent_lease_expired ips_reused; do
	[ "$(summary "$what")" -gt 0 ]
	ok $? "the run has $what ($(summary "$what"))"
done
for style in 1.13 1.14; do
	grep -q "\"fact\":\"agent_restart\".*\"style\":\"$style\"" "$TMP/t.jsonl"
	ok $? "the run restarts agents in the $style style"
done
grep -q '"fact":"ip","ip":"fd00:10:2:.*"cluster":"cluster2"' "$TMP/t.jsonl"
ok $? "the run has IPv6 addresses of the kvstoremesh-reflected cluster2"

"$PY" "$TOP/tests/lib/simcheck.py" "$TMP/t.jsonl" "$db" "$BIN/hindsight" \
	cluster1 3 >"$TMP/check" 2>&1
ok $? "simcheck.py ran"
grep '^#' "$TMP/check"
kinds=0
while IFS=$(printf '\t') read -r kind asked empty wrong; do
	case "$kind" in '#'*) continue ;; esac
	kinds=$((kinds + 1))
	[ "$asked" -gt 0 ] && [ "$wrong" -eq 0 ]
	ok $? "$kind: $asked questions ($empty answered 'nobody'), $wrong wrong"
done <"$TMP/check"
is "$kinds" 14 "every kind of question was asked"
[ "$(awk -F'\t' '/^ip at random/ { print $3 }' "$TMP/check")" -gt 0 ]
ok $? "some random IP questions have 'nobody' as their answer"
done_testing
