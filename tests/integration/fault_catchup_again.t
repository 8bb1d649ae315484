#!/bin/sh
# A parallel catch-up that fails does not cost later ones.  The recorder
# (one endpoint, member m1 of a 3-member cluster) resumes with a backlog
# and replays it with several watches; SIGSTOP, then kill -9, of m1 fails
# that catch-up:
# the rest goes on with one watch (right: the cause may last).  Once that
# one watch has caught up, the next backlog (m1 killed again while the
# others commit, then restarted) is replayed with several watches again.
# fsync-bound writes: a big backlog quickly on a tmpfs, where there is one
# shellcheck disable=SC2034 # read by tap.sh
TAP_TMPFS=1
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

cluster_start
$FKV "$CL_URLS" writer 20 cilium/seed/ >/dev/null || bail "cannot write to the cluster"
db="$TMP/again.db"
log="$TMP/again.log"
flags="--catchup-min 2000 --catchup-dense 0 --catchup-streams 4"
# (cluster_start sets CL_URL1..3 through eval)
# shellcheck disable=SC2086,SC2153 # flags is a word list
"$BIN/hindsight-recorder" --db "$db" --endpoints "$CL_URL1" --once $flags 2>>"$log"
ok $? "snapshot"
first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")
# shellcheck disable=SC2153
others="$CL_URL2,$CL_URL3"
$FKV "$others" writer 20000 cilium/one/ >/dev/null
cu() { grep -c 'catching up on revisions .* with [0-9]* watches' "$log"; }
# shellcheck disable=SC2086
rec_run "$db" "$CL_URL1" "$log" $flags
cu_started() { [ "$(cu)" -ge 1 ]; }
wait_until 20 cu_started
ok $? "the first backlog is replayed with several watches"
# Paused at once (the replay takes a second or two), then killed.
kill -STOP "$CL_PID1"
member_kill 1
wait_until 20 grep -q "catch-up with several watches failed" "$log"
ok $? "kill -9 of m1: that catch-up fails"
member_start 1
wait_until 20 curl -sf "$CL_URL1/health" || bail "m1 did not restart"
head=$($FKV "$CL_URLS" rev)
wait_until 60 db_reached "$db" "$head"
ok $? "caught up with one watch (revision $head)"

# A second backlog, long after: m1 gone while the others commit.
member_kill 1
$FKV "$others" writer 20000 cilium/two/ >/dev/null
member_start 1
wait_until 20 curl -sf "$CL_URL1/health" || bail "m1 did not restart"
head=$($FKV "$CL_URLS" rev)
wait_until 60 db_reached "$db" "$head"
ok $? "the second backlog is recorded (revision $head)"
is "$(cu)" 2 "the second backlog was replayed with several watches again"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap"
hist_check "$db" "$CL_URLS" $((first + 1)) "recorded history equals etcd's, each event once"
rec_term
ok $? "SIGTERM: exit 0"
grep -E "warn|catch|watching" "$log" | sed 's/^/# rec: /' | head -30
done_testing
