#!/bin/sh
# A change made while several watches catch up is dated honestly.  The
# last segment's watch also receives live changes; it is spilled while the
# segments before it are written, and written after them, so the moment
# its lines are written, or even read, is not the moment etcd committed
# them.  Its revisions must carry bounds that hold the moment of the put,
# never an exact time after it (a time query between the two would answer
# with the old state and no warning).
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start cu3
$KV "$ETCD_URL" put cilium/x 1 >/dev/null
db="$TMP/cu3.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "snapshot recorded with --once"
# A backlog whose first revisions are heavy (etcd streams them slowly to
# the head segment) and whose last are outside the prefix (the last
# segment is soon at etcd's head, waiting for live changes).
$KV "$ETCD_URL" many 2000 cilium/a/ 20000 >/dev/null
$KV "$ETCD_URL" put cilium/b 1 >/dev/null
$KV "$ETCD_URL" many 4000 other/ 5 >/dev/null
: >"$TMP/rec.log"
rec_start "$db" --catchup-streams 2 --catchup-min 100 --catchup-dense 0
wait_until 30 grep -q 'catching up on revisions' "$TMP/rec.log"
ok $? "the recorder catches up with several watches"
t0=$(date +%s%6N)
live=$($KV "$ETCD_URL" put cilium/live 1)
t1=$(date +%s%6N)
wait_until 60 db_reached "$db" "$live"
ok $? "the change put during the catch-up (revision $live) is recorded"
rec_stop
ok $? "SIGTERM: exit 0"
IFS='|' read -r how lo hi <<EOT
$(q "$db" "SELECT how, coalesce(t_lo_us, 0), t_hi_us FROM revisions WHERE etcd_rev = $live")
EOT
diag "revision $live: $how ($lo, $hi]; put between $t0 and $t1"
[ "$lo" -le "$t1" ] && [ "$hi" -ge "$t0" ]
ok $? "its recorded bounds hold the moment of the put"
is "$(db_times_back "$db")" 0 "no revision's time goes back, no bounds inverted"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "the state equals etcd's"
done_testing
