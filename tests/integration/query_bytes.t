#!/bin/sh
# Keys and values that are not UTF-8, end to end: etcd keys are bytes, and a
# forensic answer must give them back exactly.  Real etcd, keys put before
# the recorder starts (snapshot) and while it watches; then every output of
# the query CLI: JSON and CSV must stay valid UTF-8 and carry the bytes
# (key/key_base64, value/value_base64), the table must not hand raw bytes
# or control characters to the terminal.  The oracle is etcd itself.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# shellcheck disable=SC2059 # printf formats below are the bytes, on purpose
# b64 BYTES (printf format): the '@b64:' argument kv.py takes for them.
b64() { printf "@b64:%s" "$(printf "$1" | base64 -w0)"; }

# Byte-exact views from etcd and from the CLI's outputs, one
# "keyhex|valuehex" (state) or "rev|TYPE|keyhex|valuehex" (history) line
# each.  Output is read as strict UTF-8: invalid output fails here.
cat >"$TMP/bytes.py" <<'PY'
import base64, csv, http.client, json, sys, urllib.parse
sys.path.insert(0, sys.argv[1])
import kv

def pick(o, name):
    t, b = o[name], o[name + "_base64"]
    if t is not None and b is not None:
        sys.exit("both %s and %s_base64 set" % (name, name))
    if b is not None:
        return base64.b64decode(b, validate=True)
    return t.encode() if t is not None else b""

def rows(fmt):
    text = sys.stdin.buffer.read().decode("utf-8")  # strict
    if fmt == "json":
        return json.loads(text)
    return list(csv.DictReader(text.splitlines(keepends=True)))

def norm(o):
    # CSV has no null: an empty cell is null, and an empty text is ""
    return {k: (None if v == "" else v) for k, v in o.items()}

cmd = sys.argv[2]
if cmd == "etcd-state":
    for k, v in sorted(kv.Etcd(sys.argv[3]).state(b"cilium/")):
        print(k.hex(), v.hex(), sep="|")
elif cmd == "etcd-history":
    url, start = sys.argv[3], int(sys.argv[4])
    e = kv.Etcd(url)
    head = e.rev()
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("POST", "/v3/watch", json.dumps({"create_request": {
        "key": kv.b64(b"cilium/"), "range_end": kv.b64(kv.prefix_end(b"cilium/")),
        "start_revision": str(start)}}))
    r, last = c.getresponse(), 0
    while last < head:
        for ev in json.loads(r.readline()).get("result", {}).get("events", []):
            kvs = ev["kv"]
            last = int(kvs["mod_revision"])
            typ = ev.get("type", "PUT")
            val = base64.b64decode(kvs.get("value", "")) if typ == "PUT" else b""
            print(last, typ, base64.b64decode(kvs["key"]).hex(), val.hex(), sep="|")
elif cmd == "snapshot":
    for o in sorted((norm(o) for o in rows(sys.argv[3])), key=lambda o: pick(o, "key")):
        print(pick(o, "key").hex(), pick(o, "value").hex(), sep="|")
elif cmd == "changes":
    for o in map(norm, rows(sys.argv[3])):
        print(o["etcd_rev"], o["type"], pick(o, "key").hex(), pick(o, "value").hex(), sep="|")
elif cmd == "diff":
    for o in map(norm, rows(sys.argv[3])):
        print(o["change"], pick(o, "key").hex(), pick(o, "before").hex(), pick(o, "after").hex(), sep="|")
elif cmd == "sql-b64":
    for o in rows("json"):
        print(base64.b64decode(o["k"], validate=True).hex())
elif cmd == "utf8":
    sys.stdin.buffer.read().decode("utf-8")
PY
bytes() { "$PY" "$TMP/bytes.py" "$TOP/tests/lib" "$@"; }

etcd_start bytes
# Before the recorder: the snapshot.
$KV "$ETCD_URL" put "$(b64 'cilium/odd/\377\376')" "$(b64 '\000\001\377\200bin')" >/dev/null
$KV "$ETCD_URL" put "$(b64 'cilium/odd/caf\303\251')" ok >/dev/null   # UTF-8: text
$KV "$ETCD_URL" put "$(b64 'cilium/odd/nul\000byte')" x >/dev/null    # NUL
$KV "$ETCD_URL" put "$(b64 'cilium/odd/esc\033[31mred')" y >/dev/null # ESC: UTF-8
$KV "$ETCD_URL" put "$(b64 'cilium/odd/c1\302\233[2J')" y >/dev/null  # U+009B, CSI
$KV "$ETCD_URL" put "$(b64 'cilium/odd/lat\351')" z >/dev/null        # Latin-1
$KV "$ETCD_URL" put "$(b64 'cilium/odd/sur\355\240\200')" s >/dev/null # a surrogate
$KV "$ETCD_URL" put "$(b64 'cilium/state/ip/v1/default/10.0.0.\377')" \
	'{"IP":"10.0.0.1","ID":5}' >/dev/null
snap=$($KV "$ETCD_URL" rev)

db="$TMP/bytes.db"
rec_start "$db"
wait_until 15 grep -q ' info: watching ' "$TMP/rec.log"
ok $? "recorder snapshotted and is watching"
# While it watches.
$KV "$ETCD_URL" put "$(b64 'cilium/odd/\377\376')" "$(b64 '\377\377')" >/dev/null
$KV "$ETCD_URL" put "$(b64 'cilium/odd/new\200\201')" "$(b64 '\377')" >/dev/null
$KV "$ETCD_URL" del "$(b64 'cilium/odd/lat\351')" >/dev/null
$KV "$ETCD_URL" put "$(b64 'cilium/odd/nul\000byte')" x >/dev/null
# "y" and "z\0" once hashed alike in the store's value cache (the length
# mixed like the first byte), and "z\0" was taken for a re-put of "y".
# Then "y" again, so the diff below is unchanged.
$KV "$ETCD_URL" put "$(b64 'cilium/odd/esc\033[31mred')" "$(b64 'z\000')" >/dev/null
$KV "$ETCD_URL" put "$(b64 'cilium/odd/esc\033[31mred')" y >/dev/null
head=$($KV "$ETCD_URL" rev)
wait_until 15 db_reached "$db" "$head"
ok $? "recorded through revision $head"
rec_stop
ok $? "SIGTERM: exit 0"

# --- the db: byte-exact, kind other ---------------------------------------
is "$(q "$db" "SELECT hex(CAST(k.key AS BLOB)) || '|' || hex(v.value) FROM events e
	JOIN keys k ON k.id = e.key_id JOIN vals v ON v.id = e.val_id
	WHERE e.type = 0 AND e.rev = (SELECT max(l.rev) FROM events l WHERE l.key_id = e.key_id)
	ORDER BY CAST(k.key AS BLOB)" | tr 'A-F' 'a-f')" \
	"$(bytes etcd-state "$ETCD_URL")" "db state equals etcd's, keys and values byte for byte"
is "$(q "$db" "SELECT group_concat(DISTINCT kind) FROM keys")" other \
	"every key is kind other, also the one under ip/v1/ that is not UTF-8"

# --- JSON and CSV: valid, and the bytes come back -------------------------
H="$BIN/hindsight"
hs() { "$H" --db "$db" "$@"; }
want_state=$(bytes etcd-state "$ETCD_URL")
for f in json csv; do
	got=$(hs --format $f snapshot | bytes snapshot $f)
	is "$got" "$want_state" "$f snapshot: valid UTF-8, key/key_base64 and value/value_base64 give etcd's bytes"
	got=$(hs --format $f changes --from "rev:$snap" | bytes changes $f)
	is "$got" "$(bytes etcd-history "$ETCD_URL" $((snap + 1)))" \
		"$f changes: every watched event, keys and values byte-exact"
done
# shellcheck disable=SC2059
want=$(for k in 'cilium/odd/\377\376' 'cilium/odd/new\200\201' 'cilium/odd/nul\000byte' \
	'cilium/odd/sur\355\240\200' 'cilium/state/ip/v1/default/10.0.0.\377'; do
	printf "$k" | base64 -w0
	echo
done | sort | tr '\n' ' ')
is "$(hs --format json snapshot | jq -r '.[] | select(.key == null) | .key_base64' | sort | tr '\n' ' ')" \
	"$want" "key is null and key_base64 set exactly for the keys that are not UTF-8 or hold NUL"
is "$(hs --format json snapshot | jq -r '.[] | select(.key_base64 == null) | .key' | od -An -c | tr -s ' ' | tr -d '\n')" \
	"$(printf 'cilium/odd/c1\302\233[2J\ncilium/odd/caf\303\251\ncilium/odd/esc\033[31mred\n' | od -An -c | tr -s ' ' | tr -d '\n')" \
	"UTF-8 keys stay text, control characters included (JSON escapes them)"
k=$(printf 'cilium/odd/\377\376')
is "$(hs --format json key "$k" | jq -c '[.[] | [.origin, .key_base64, .value_base64]]')" \
	'[["snapshot","Y2lsaXVtL29kZC///g==","AAH/gGJpbg=="],["watch","Y2lsaXVtL29kZC///g==","//8="]]' \
	"key KEY with raw bytes: its history, key and values as base64"
# Every key_base64 an answer gives reads back with key --base64, NUL too.
bad=""
for k in $(hs --format json snapshot | jq -r '.[] | select(.key_base64 != null) | .key_base64'); do
	got=$(hs --format json key --base64 "$k" | jq -r '[.[].key_base64] | unique | join(" ")')
	[ "$got" = "$k" ] || bad="$bad [$k: $got]"
done
is "$bad" "" "key --base64 KEY_BASE64 gives the history of each such key"
nk=$(printf 'cilium/odd/nul\000byte' | base64 -w0)
is "$(hs --format json key --base64 "$nk" | jq length)" \
	"$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
		WHERE k.key = CAST(X'$(printf 'cilium/odd/nul\000byte' | od -An -tx1 | tr -d ' \n')' AS TEXT)")" \
	"key --base64: every event of the key with a NUL"
hs key --base64 'not base64!' >/dev/null 2>"$TMP/err"
is "$?:$(wc -l <"$TMP/err" | tr -d ' ')" "1:1" "key --base64 with bad base64: usage error, one line"
is "$(hs --format json changes --prefix "$(printf 'cilium/odd/\377')" | jq -r '.[].etcd_rev' | tr '\n' ' ')" \
	"$(q "$db" "SELECT e.rev FROM events e JOIN keys k ON k.id = e.key_id
		WHERE k.key = CAST(X'63696C69756D2F6F64642FFFFE' AS TEXT) ORDER BY e.rev" | tr '\n' ' ')" \
	"--prefix with a byte that is not UTF-8 selects byte-wise"
is "$(hs --format json diff "rev:$snap" "rev:$head" | bytes diff json | sort)" \
	"$(printf '%s\n' \
		"added|$(printf 'cilium/odd/new\200\201' | od -An -tx1 | tr -d ' \n')||ff" \
		"changed|$(printf 'cilium/odd/\377\376' | od -An -tx1 | tr -d ' \n')|0001ff8062696e|ffff" \
		"removed|$(printf 'cilium/odd/lat\351' | od -An -tx1 | tr -d ' \n')|7a|" | sort)" \
	"diff: added, changed, removed keys byte-exact (key_base64), the re-put NUL key unchanged"

# --- sql: any TEXT, always valid JSON/CSV ---------------------------------
hs --format json sql 'SELECT key FROM keys' | bytes utf8
ok $? "sql over keys.key: JSON is valid UTF-8 (bytes that are not become U+FFFD)"
hs --format json sql 'SELECT key FROM keys' | jq -e 'length == 9' >/dev/null
ok $? "…and parses, one row per key"
hs --format csv sql 'SELECT key FROM keys' | bytes utf8
ok $? "sql over keys.key: CSV is valid UTF-8"
is "$(hs --format json sql 'SELECT CAST(key AS BLOB) AS k FROM keys ORDER BY k' | bytes sql-b64)" \
	"$(q "$db" 'SELECT hex(CAST(key AS BLOB)) FROM keys ORDER BY CAST(key AS BLOB)' | tr 'A-F' 'a-f')" \
	"sql: CAST(key AS BLOB) gives every key's bytes as base64"
is "$(hs --format json sql "SELECT key AS \"$(printf 'k\377')\" FROM keys LIMIT 1" | jq -r '.[0] | keys[0]' | od -An -tx1 | tr -d ' \n')" \
	"6befbfbd0a" "sql: a column name that is not UTF-8 gets U+FFFD too"

# --- the table: nothing raw for the terminal ------------------------------
hs snapshot >"$TMP/table" && hs changes >>"$TMP/table" && hs diff "rev:$snap" "rev:$head" >>"$TMP/table" &&
	hs sql 'SELECT key FROM keys' >>"$TMP/table"
ok $? "table outputs: exit 0"
bytes utf8 <"$TMP/table"
ok $? "table output is valid UTF-8"
"$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(b < 0x20 and b != 0x0a or b == 0x7f for b in d) or b"\xc2\x9b" in d)' "$TMP/table"
ok $? "…without control characters (ESC, NUL, C1 CSI) but newlines"
grep -q 'cilium/odd/esc\\x1b\[31mred ' "$TMP/table" && grep -q 'cilium/odd/c1\\xc2\\x9b\[2J ' "$TMP/table"
ok $? "…they show as \\xHH in UTF-8 keys"
grep -Eq '^- +Y2lsaXVtL29kZC///g== +other +- +//8= ' "$TMP/table"
ok $? "…a key that is not UTF-8: key '-', key_base64, like values"
grep -q 'cilium/odd/\\xff\\xfe' "$TMP/table" && grep -q 'cilium/odd/nul\\x00byte' "$TMP/table"
ok $? "…and in sql text as \\xHH"
done_testing
