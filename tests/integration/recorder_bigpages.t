#!/bin/sh
# A snapshot of a prefix with many values near etcd's 1.5 MiB limit: its
# pages are sized by bytes, not only by keys (5000 keys of 1 MiB would be
# gigabytes in the recorder's memory), and the listing stays whole and
# byte-exact, also where big values come after thousands of small ones.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# What the recorder holds at its peak (KiB), while it runs.
peak_kib() { sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }

etcd_start big # etcd's default --max-request-bytes: 1.5 MiB
# 30 values of 1 MB before 4000 small keys, 30 after them.
$KV "$ETCD_URL" random 30 cilium/a/ 1000000 >/dev/null
$KV "$ETCD_URL" txn 40 cilium/m/ 100 >/dev/null # 4000 keys
$KV "$ETCD_URL" random 30 cilium/z/ 1000000 >/dev/null
head=$($KV "$ETCD_URL" rev)

db="$TMP/big.db"
rec_start "$db" -v
wait_until 120 db_reached "$db" "$head"
ok $? "the snapshot of 60 MB of values is recorded"
peak=$(peak_kib "$REC_PID")
# About 18 MiB for small keys alone; pages of 4 MiB at most add some 15.
# Listed by keys only, the 60 MB come in one page of 80 MB of JSON, held
# as text, parse tree and values: some 250 MiB.
# A SANITIZE= build holds ASan's shadow memory and freed-block
# quarantine besides (some 340 MiB here): no bound to check there.
if ldd "$BIN/hindsight-recorder" | grep -q libasan; then
	ok 0 "# SKIP peak RSS under ASan (${peak:-?} KiB)"
else
	[ -n "$peak" ] && [ "$peak" -le $((40 * 1024)) ]
	ok $? "the recorder's peak RSS stays under 40 MiB (${peak:-?} KiB)"
fi
rec_stop
ok $? "SIGTERM: exit 0"
is "$(db_state "$db" | md5sum)" "$($KV "$ETCD_URL" state cilium/ | md5sum)" \
	"db state equals etcd's range over cilium/, byte for byte"
is "$(q "$db" "SELECT count(*) FROM keys")" 4060 "every key, once"
is "$(q "$db" "SELECT count(*) FROM events")" 4060 "one event per key"
grep -q 'snapshot: a page of [0-9]* keys: response longer than' "$TMP/rec.log"
ok $? "the page reaching the big values after the small ones was asked again with fewer keys"
is "$(sed -n 's/.* debug: snapshot: \([0-9]*\) keys listed so far$/\1/p' "$TMP/rec.log" |
	awk 'NR > 1 && $1 <= prev { print "from " prev " back to " $1 } { prev = $1 }')" "" \
	"…going on after the last key listed, never starting over"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
