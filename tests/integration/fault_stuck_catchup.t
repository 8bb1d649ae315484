#!/bin/sh
# A member that hangs (SIGSTOP: a paused VM, a hung disk) while the
# recorder replays a backlog from it.  The other two members commit on.
# The recorder must leave it within seconds (a read it does not answer),
# as it does for an idle caught-up watch, not wait for --stall-timeout.
# fsync-bound writes: a big backlog quickly on a tmpfs, where there is one
# shellcheck disable=SC2034 # read by tap.sh
TAP_TMPFS=1
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

cluster_start
$FKV "$CL_URLS" writer 200 cilium/seed/ >/dev/null || bail "cannot write to the cluster"
db="$TMP/stuck.db"
log="$TMP/stuck.log"
rec_run "$db" "$CL_URLS" "$log" --catchup-streams 1
wait_until 15 db_reached "$db" "$($FKV "$CL_URLS" rev)"
ok $? "snapshot"
rec_term
$FKV "$CL_URLS" writer 30000 cilium/backlog/ >/dev/null
n=$(watch_count "$log")
rec_run "$db" "$CL_URLS" "$log" --catchup-streams 1
newwatch() { [ "$(watch_count "$log")" -gt "$n" ]; }
wait_until 20 newwatch
ok $? "catching up"
w=$(watched_url "$log")
m=$(member_of "$w")
sp=""
eval "sp=\$CL_PID$m"
kill -STOP "$sp"
diag "SIGSTOP m$m ($w) at recorded revision $(db_recorded "$db")"
others=""
for i in 1 2 3; do [ "$i" = "$m" ] || { eval "_u=\$CL_URL$i"; others="$others${others:+,}$_u"; }; done
head=$($FKV "$others" rev)
wait_until 30 db_reached "$db" "$head"
ok $? "caught up through the other members within 30 s (revision $head)"
grep -q "did not answer a read within 5 s; watching elsewhere" "$log"
ok $? "the log says the member was left"
kill -CONT "$sp"
hist_check "$db" "$others" "$(($(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'") + 1))" \
	"recorded history equals etcd's"
is "$(q "$db" "SELECT count(*) FROM gaps")" 0 "no gap"
rec_term
ok $? "SIGTERM: exit 0"
done_testing
