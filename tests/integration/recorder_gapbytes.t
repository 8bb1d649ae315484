#!/bin/sh
# A gap's re-listing infers a DELETE for every key recorded as present that
# etcd no longer lists.  etcd keys are bytes: a key holding a NUL must be
# deleted whole.  (Cut at its NUL, the vanished cilium/x\0y deleted
# cilium/x, which etcd still held, or a key etcd never had, and stayed
# present in the db for good.)
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# b64 TEXT: TEXT with printf %b escapes (\000, \377), in base64.
b64() { printf %b "$1" | base64 -w0; }
# "hex(key)|hex(value)" of every key under cilium/, sorted: etcd's, and the
# db's latest state (each key's latest event a PUT).
etcd_hex() {
	curl -s "$ETCD_URL/v3/kv/range" -d '{"key":"Y2lsaXVtLw==","range_end":"Y2lsaXVtMA=="}' |
		$PY -c 'import base64, json, sys
for kv in json.load(sys.stdin).get("kvs", []):
    print("%s|%s" % (base64.b64decode(kv["key"]).hex().upper(),
                     base64.b64decode(kv.get("value", "")).hex().upper()))' | LC_ALL=C sort
}
db_hex() {
	q "$1" "SELECT hex(k.key) || '|' || hex(v.value) FROM events e
		JOIN keys k ON k.id = e.key_id JOIN vals v ON v.id = e.val_id
		WHERE e.type = 0 AND NOT EXISTS (SELECT 1 FROM events l
		WHERE l.key_id = e.key_id AND (l.rev > e.rev OR (l.rev = e.rev AND l.seq > e.seq)))" |
		LC_ALL=C sort
}

etcd_start gapbytes
$KV "$ETCD_URL" put cilium/x keep >/dev/null
$KV "$ETCD_URL" put "@b64:$(b64 'cilium/x\000y')" nul-gone >/dev/null
$KV "$ETCD_URL" put "@b64:$(b64 'cilium/y\000z')" nul-kept >/dev/null
$KV "$ETCD_URL" put "@b64:$(b64 'cilium/odd/\377\376')" odd-gone >/dev/null
db="$TMP/gapbytes.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "first snapshot"
is "$(db_hex "$db")" "$(etcd_hex)" "the snapshot holds etcd's keys byte for byte, NULs too"

# While the recorder is down: the NUL key and the odd one go, one comes,
# and the history is compacted past it all.
$KV "$ETCD_URL" del "@b64:$(b64 'cilium/x\000y')" >/dev/null
$KV "$ETCD_URL" del "@b64:$(b64 'cilium/odd/\377\376')" >/dev/null
head=$($KV "$ETCD_URL" put cilium/new 1)
$KV "$ETCD_URL" compact "$head"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>"$TMP/gap.log"
ok $? "restart after compaction: exit 0"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "a gap"
is "$(db_hex "$db")" "$(etcd_hex)" "after the gap, state equals etcd's byte for byte"
is "$(q "$db" "SELECT hex(k.key) FROM events e JOIN keys k ON k.id = e.key_id
	WHERE e.origin = 2 AND e.type = 1 ORDER BY k.key")" \
	"$(printf 'cilium/odd/\377\376' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
$(printf 'cilium/x\000y' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
	"the inferred deletes are exactly the vanished keys, whole"
is "$(q "$db" "SELECT count(*) FROM keys")" 5 "no key etcd never had"
is "$("$BIN/hindsight" --db "$db" --format json snapshot --at "rev:$head" | jq -r '.[] | .key // .key_base64' |
	grep -c .)" 3 "hindsight snapshot at the re-list revision: etcd's 3 keys"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok"
done_testing
