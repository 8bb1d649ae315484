#!/bin/sh
# Failover on a real 3-member etcd cluster on loopback (issue 4, item 2).
# The recorder gets all three endpoints; a writer puts keys through any live
# member.  kill -9 the member the recorder watches, mid-stream; restart it;
# then kill -9 the leader and restart it.  At the end the recorded history
# equals etcd's own, each event exactly once, and the log shows the move.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

cluster_start
$FKV "$CL_URLS" writer 20 cilium/seed/ >/dev/null || bail "cannot write to the cluster"
db="$TMP/failover.db"
log="$TMP/failover.log"
rec_run "$db" "$CL_URLS" "$log"
wait_until 15 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "snapshot of the 3-member cluster committed"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")

# A steady writer through any live member (about 25 s of puts).
$FKV "$CL_URLS" writer 1500 cilium/fo/ 60 >"$TMP/writer.out" 2>"$TMP/writer.err" &
writer=$!
CLEANUP_PIDS="$CLEANUP_PIDS $writer"
wait_until 20 db_reached "$db" $((first + 60))
ok $? "recording the writer live"

# 1. kill -9 the member being watched, mid-stream.
w1=$(watched_url "$log")
m1=$(member_of "$w1")
ok $? "the log names the watched endpoint ($w1)"
n=$(watch_count "$log")
member_kill "$m1"
diag "killed m$m1 ($w1), the member being watched, at recorded revision $(db_recorded "$db")"
moved() { [ "$(watch_count "$log")" -gt "$n" ] && [ "$(watched_url "$log")" != "$w1" ]; }
wait_until 20 moved
ok $? "a new watch on another endpoint within 20 s ($(watched_url "$log"))"
after=$(($($FKV "$CL_URLS" rev) + 30))
wait_until 20 db_reached "$db" "$after"
ok $? "recording goes on after the failover (revision $after)"
member_start "$m1"
wait_until 20 curl -sf "$w1/health"
ok $? "m$m1 restarted and healthy"

# 2. kill -9 the leader (the recorder may or may not be watching it).
leader=$($FKV "$CL_URLS" leader)
ml=$(member_of "$leader")
ok $? "found the leader ($leader)"
member_kill "$ml"
diag "killed the leader m$ml ($leader); recorder watches $(watched_url "$log")"
after=$(($($FKV "$CL_URLS" rev) + 30))
wait_until 30 db_reached "$db" "$after"
ok $? "recording goes on after the leader died (revision $after)"
member_start "$ml"
wait_until 20 curl -sf "$leader/health"
ok $? "m$ml restarted and healthy"

# 3. Quorum lost under the watched member: kill -9 the other two.  With
# Grpc-Metadata-Hasleader etcd ends the watch ("no leader") after about
# 3 election timeouts; the recorder must keep trying and resume once
# the members are back.
w3=$(watched_url "$log")
m3=$(member_of "$w3")
others=""
for i in 1 2 3; do [ "$i" = "$m3" ] || others="$others $i"; done
for i in $others; do member_kill "$i"; done
diag "killed m$(echo "$others" | sed 's/^ //' | sed 's/ / and m/'): m$m3 ($w3), the watched member, has no quorum"
wait_until 20 grep -q "watch on $w3 ended: .*no leader" "$log"
ok $? "the watch on the member without quorum ends with 'no leader'"
alive "$REC_PID"
ok $? "the recorder keeps running without a quorum"
for i in $others; do member_start "$i"; done
wait_until 30 curl -sf "$w3/health"
ok $? "quorum is back"
after=$(($($FKV "$CL_URLS" rev) + 30))
wait_until 30 db_reached "$db" "$after"
ok $? "recording goes on after the quorum came back (revision $after)"

reap "$writer"
ok $? "writer finished ($(cat "$TMP/writer.out"))"
head=$($FKV "$CL_URLS" rev)
wait_until 30 db_reached "$db" "$head"
ok $? "recording caught up to etcd's revision $head"
rec_term
ok $? "SIGTERM: exit 0"

hist_check "$db" "$CL_URLS" $((first + 1)) "recorded history equals etcd's, in order, each event once"
is "$(db_state "$db")" "$($FKV "$CL_URLS" state cilium/)" "final state equals etcd's"
is "$(db_dups "$db")" 0 "no (revision, key) recorded twice"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap recorded: failover lost nothing"
is "$(q "$db" "SELECT count(*) FROM epochs")" 1 "still one epoch (the same cluster)"
urls=$(sed -n 's/.* info: watching .* on \([^ ]*\) (etcd at .*/\1/p' "$log" | sort -u | wc -l)
[ "$urls" -ge 2 ]
ok $? "the log shows watches on $urls different endpoints"
grep -q "watch on $w1 ended" "$log"
ok $? "the log says the watch on the killed member ended"
is "$(db_integrity "$db")" ok "integrity_check ok"
sed 's/^/# rec: /' "$log" | head -60
done_testing
