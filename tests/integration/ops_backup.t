#!/bin/sh
# hindsight backup while the recorder writes: each copy is a hindsight db
# as of one commit, and answers exactly what the source answers at the
# copy's watermark; an existing file is never replaced without --force;
# nothing is left behind; the recorder can resume recording into a copy.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
H="$BIN/hindsight"
SIM="$TOP/tests/sim/cilium-sim"
src="$TMP/cilium.db"
mkdir -p "$TMP/bk"

etcd_start a
rec_start "$src" --batch-ms 5
wait_until 20 db_reached "$src" 1 || true
# A paced workload, so the backups below race real commits.
"$SIM" --endpoints "$ETCD_URL" --seed 11 --steps 100000 --duration 6 \
	--rate 150 --nodes 4 --pods-per-node 10 --identity-pool 40 \
	--truth "$TMP/truth.jsonl" 2>"$TMP/sim.err" &
SIM_PID=$!
CLEANUP_PIDS="$CLEANUP_PIDS $SIM_PID"
wait_until 20 db_reached "$src" 20
ok $? "the recorder is recording the simulated cluster"

# as_of DB REV: what a user would compare, as of one revision.
# shellcheck disable=SC2016
as_of() {
	"$H" --db "$1" --format csv snapshot --at "rev:$2" &&
		"$H" --db "$1" --format csv changes --to "rev:$2" &&
		"$H" --db "$1" --format csv sql \
			"SELECT ip, cluster, identity, labels, namespace, pod, node,
			 host_ip, from_rev, from_time,
			 CASE WHEN to_rev <= $2 THEN to_rev END,
			 CASE WHEN to_rev <= $2 THEN to_time END
			 FROM ip_history WHERE from_rev <= $2
			 ORDER BY ip, from_rev, cluster" &&
		for ip in $("$H" --db "$1" --format csv sql \
			"SELECT DISTINCT ip FROM ipcache WHERE from_rev <= $2
			 ORDER BY ip LIMIT 8" | sed 1d); do
			# What the source knows of later (an interval's end
			# after R) the copy cannot: compare as of R.
			"$H" --db "$1" --format json ip "$ip" --at "rev:$2" |
				jq -c '.[] | if .to_rev != null and .to_rev > .at_rev
					then .to_rev = null | .to_time = null | .to_time_lo = null else . end'
		done
}

i=0
revs=""
while [ $i -lt 4 ]; do
	i=$((i + 1))
	bk="$TMP/bk/copy$i.db"
	"$H" --db "$src" --format json backup "$bk" >"$TMP/bk$i.json" 2>"$TMP/bk$i.err"
	rc=$?
	rev=$(jq '.[0].recorded_rev' "$TMP/bk$i.json" 2>/dev/null)
	revs="$revs $rev"
	is "$rc:$(jq -r '.[0].backup' "$TMP/bk$i.json" 2>/dev/null)" "0:$bk" \
		"backup $i while recording exits 0 and names the copy (watermark $rev)"
	is "$(q "$bk" 'PRAGMA integrity_check')|$(q "$bk" 'PRAGMA journal_mode')|$(q "$bk" 'PRAGMA application_id')" \
		"ok|wal|1213416532" "copy $i: intact, WAL, a hindsight db"
	is "$("$H" --db "$bk" --format json status | jq '.[0].recorded_rev')" "$rev" \
		"copy $i opens with the CLI; its watermark is the reported one"
	as_of "$src" "$rev" >"$TMP/src$i.txt" 2>"$TMP/src$i.err"
	rs=$?
	as_of "$bk" "$rev" >"$TMP/copy$i.txt" 2>"$TMP/copy$i.err"
	rcp=$?
	cmp -s "$TMP/src$i.txt" "$TMP/copy$i.txt" && [ "$rs" -eq 0 ] && [ "$rcp" -eq 0 ] &&
		[ "$(wc -l <"$TMP/copy$i.txt")" -gt 10 ]
	r=$?
	ok $r "copy $i answers like the source as of rev $rev (snapshot, changes, ip_history, ip --at)"
	[ $r -eq 0 ] || { cat "$TMP/src$i.err" "$TMP/copy$i.err"; diff "$TMP/src$i.txt" "$TMP/copy$i.txt" | head -20; } | sed 's/^/# /'
	# The next copy after the recorder's next commit.
	[ $i -lt 4 ] && wait_until 10 db_reached "$src" $((${rev:-0} + 1))
done
distinct=$(echo "$revs" | tr ' ' '\n' | grep . | sort -u | wc -l)
[ "$distinct" -ge 2 ]
ok $? "the recorder committed between backups (watermarks:$revs)"

wait "$SIM_PID"
ok $? "the workload ran to its end"

# Refusals.
sum=$(md5sum <"$TMP/bk/copy1.db")
"$H" --db "$src" backup "$TMP/bk/copy1.db" >"$TMP/out" 2>"$TMP/err"
is "$?:$(md5sum <"$TMP/bk/copy1.db")" "1:$sum" "an existing file is not replaced: exit 1, file unchanged"
grep -q "exists" "$TMP/err"
ok $? "and says so: $(cat "$TMP/err")"
"$H" --db "$src" backup --force "$src" >/dev/null 2>"$TMP/err"
is "$?" 1 "--force onto the db itself is refused"
"$H" --db "$src" --db "$TMP/bk/copy1.db" backup "$TMP/bk/x.db" >/dev/null 2>&1
is "$?" 1 "backup of several dbs at once is a usage error"
"$H" --db "$TMP/none.db" backup "$TMP/bk/y.db" >/dev/null 2>&1
is "$?:$(find "$TMP/bk" -name 'y*' | wc -l)" "2:0" "an unreadable db: exit 2, no file"
"$H" --db "$src" backup "$TMP/no/such/dir/z.db" >/dev/null 2>&1
is "$?" 2 "an unwritable target: exit 2"

# --force replaces, with a newer watermark.
old=$(q "$TMP/bk/copy1.db" "SELECT value FROM meta WHERE name = 'recorded_rev'")
"$H" --db "$src" --format json backup --force "$TMP/bk/copy1.db" >"$TMP/f.json" 2>&1
rc=$?
new=$(q "$TMP/bk/copy1.db" "SELECT value FROM meta WHERE name = 'recorded_rev'")
[ "$rc" -eq 0 ] && [ "$new" -ge "$old" ] && [ "$new" = "$(jq '.[0].recorded_rev' "$TMP/f.json")" ]
ok $? "--force replaces the copy (rev $old -> $new)"

# (-wal and -shm beside a copy come from reading it, above.)
is "$(find "$TMP/bk" -mindepth 1 | sed 's|.*/||' | grep -Ev '^copy[1-4]\.db(-wal|-shm)?$')" "" \
	"no scratch file is left beside the copies"

# The copy is a hindsight db the recorder resumes: catch up from its
# watermark to etcd's revision, then it equals the source.
final=$(etcd_rev)
wait_until 30 db_reached "$src" "$final"
ok $? "the source reached etcd's revision $final"
"$BIN/hindsight-recorder" --db "$TMP/bk/copy2.db" --endpoints "$ETCD_URL" --once \
	>"$TMP/resume.log" 2>&1
ok $? "the recorder resumes into copy 2 with --once"
is "$(db_state "$TMP/bk/copy2.db")" "$(db_state "$src")" \
	"copy 2, caught up, holds the source's state"
is "$(db_history "$TMP/bk/copy2.db" 1 | md5sum)" "$(db_history "$src" 1 | md5sum)" \
	"and the same change log, every event once"

rec_stop
ok $? "the recorder stopped cleanly after the backups (exit 0)"
done_testing
