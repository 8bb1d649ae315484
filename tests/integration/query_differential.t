#!/bin/sh
# Differential test: record a Cilium workload (tests/sim/cilium-sim) from a
# real etcd, then, for many revisions R, `hindsight snapshot --at rev:R`
# must equal etcd's own range over cilium/ at R (before compaction, etcd
# is the oracle), and `hindsight ip X --at rev:R` must name the identity
# and pod etcd's ipcache value says, and `hindsight identity N --at rev:R`
# the nodes etcd's slave keys of N name.  Meanwhile the CLI is run against the
# db while the recorder writes at full speed: WAL readers never fail.
. "$(dirname "$0")/../lib/tap.sh"
command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

[ -x "$BIN/hindsight-recorder" ] || bail "bin/hindsight-recorder not built"
etcd_start qdiff
db="$TMP/diff.db"
rec_start "$db"
wait_until 20 db_reached "$db" 1 || bail "recorder did not start: $(tail -3 "$TMP/rec.log")"

"$PY" "$TOP/tests/sim/cilium-sim" --endpoints "$ETCD_URL" --seed 11 \
	--steps 1500 --rate 0 --nodes 4 --pods-per-node 8 --ipv6 \
	--identity-pool 40 >"$TMP/sim.log" 2>&1 &
SIM=$!
CLEANUP_PIDS="$CLEANUP_PIDS $SIM"

# Query while the recorder writes: every run must answer (0, or 3 when
# "now" is past the watermark), never fail to read the db.
runs=0
fails=""
while kill -0 "$SIM" 2>/dev/null; do
	for c in "status" "ip 10.0.0.0/8 --at now" "snapshot --kind ipcache" \
		"changes --from -1m" "churn --last 1d"; do
		eval "set -- $c"
		"$BIN/hindsight" --db "$db" --format json "$@" >/dev/null 2>"$TMP/qerr"
		rc=$?
		runs=$((runs + 1))
		[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fails="$fails [$c: $rc $(head -1 "$TMP/qerr")]"
	done
done
wait "$SIM"
ok $? "the simulator ran ($(tail -1 "$TMP/sim.log"))"
is "$fails" "" "$runs CLI runs during recording all answered"

head=$(etcd_rev)
wait_until 30 db_reached "$db" "$head"
ok $? "the recorder reached etcd's revision $head"
# A live, caught-up recorder keeps the watermark fresh: "now" is the
# latest recorded state, with no warning (a stale watermark still warns:
# query_cli.t).
"$BIN/hindsight" --db "$db" --format json ip 10.0.0.0/8 --at now >"$TMP/now.json" 2>"$TMP/now.err"
is "$?:$(cat "$TMP/now.err")" "0:" "ip --at now against a live recorder: exit 0, no warning"
is "$(jq '[.[].at_rev] | unique | .[0]' "$TMP/now.json")" "$(db_recorded "$db")" \
	"…answered as of the watermark's revision"
"$BIN/hindsight" --db "$db" churn --from rev:1 --to now >"$TMP/churn.txt" 2>"$TMP/now.err"
is "$?:$(cat "$TMP/now.err")" "0:" "churn from the first snapshot to now: exit 0, no warning"
rec_stop
first=$(q "$db" "SELECT value FROM meta WHERE name = 'first_rev'")

cat >"$TMP/etcd.py" <<'PY'
import base64, json, sys
d = json.load(sys.stdin)
for kv in d.get("kvs", []):
    print(base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")).hex(),
          kv.get("create_revision", 0), kv.get("mod_revision", 0), kv.get("version", 0),
          kv.get("lease", 0), sep="|")
PY
cat >"$TMP/snap.py" <<'PY'
import base64, json, sys
for o in json.load(sys.stdin):
    v = o["value"].encode() if o["value"] is not None else base64.b64decode(o["value_base64"])
    print(o["key"], v.hex(), o["create_rev"], o["mod_rev"], o["version"], o["lease"], sep="|")
PY
# ipcache entries of etcd's state: "IP ID POD", from the values themselves.
cat >"$TMP/ips.py" <<'PY'
import base64, json, sys
n = 0
for kv in json.load(sys.stdin).get("kvs", []):
    k = base64.b64decode(kv["key"]).decode()
    if not k.startswith("cilium/state/ip/v1/") or n == 4:
        continue
    v = json.loads(base64.b64decode(kv["value"]))
    print(v["IP"], v["ID"], v.get("K8sPodName", ""))
    n += 1
PY

# Identities of etcd's state and the nodes using each: "ID NODE,NODE"
# (nodes sorted; "-" for none), from the master keys id/<N> and the slave
# keys value/<labels>/<node> whose value is N.
cat >"$TMP/users.py" <<'PY'
import base64, json, sys
ids, users = [], {}
pre = "cilium/state/identities/v1/"
for kv in json.load(sys.stdin).get("kvs", []):
    k = base64.b64decode(kv["key"]).decode()
    if k.startswith(pre + "id/"):
        ids.append(k[len(pre) + 3:])
    elif k.startswith(pre + "value/"):
        v = base64.b64decode(kv.get("value", "")).decode()
        users.setdefault(v, set()).add(k.rsplit("/", 1)[1])
for i in sorted(ids, key=int):
    print(i, ",".join(sorted(users.get(i, ()))) or "-")
PY

# The README's SQL for the nodes using an identity at a revision.
sed -n '/^-- The nodes using identity 12928 at revision 1234/,/;$/p' "$TOP/README.md" >"$TMP/readme.sql"
grep -q 'WITH RECURSIVE' "$TMP/readme.sql" || bail "README.md lost its identity users example"

# Revisions to check: the snapshot, the head, and random ones between.
revs=$("$PY" -c "import random; r = random.Random(7); print(' '.join(str(x) for x in sorted(set([$first, $head] + [r.randint($first, $head) for _ in range(20)]))))")
bad=""
badip=""
badrc=""
badid=""
badsql=""
nip=0
nid=0
for r in $revs; do
	ectl get --prefix cilium/ --rev="$r" -w json >"$TMP/etcd.json" || bail "etcdctl get --rev=$r failed"
	want=$("$PY" "$TMP/etcd.py" <"$TMP/etcd.json" | LC_ALL=C sort)
	"$BIN/hindsight" --db "$db" --format json snapshot --at "rev:$r" >"$TMP/snap.json"
	rc=$?
	[ "$rc" -eq 0 ] || badrc="$badrc $r:$rc"
	got=$("$PY" "$TMP/snap.py" <"$TMP/snap.json" | LC_ALL=C sort)
	if [ "$got" != "$want" ]; then
		bad="$bad $r"
		printf '%s\n' "$want" >"$TMP/want.$r"
		printf '%s\n' "$got" >"$TMP/got.$r"
		diff "$TMP/want.$r" "$TMP/got.$r" | head -5 | sed 's/^/# /'
	fi
	"$PY" "$TMP/ips.py" <"$TMP/etcd.json" >"$TMP/ips"
	while read -r ip id pod; do
		nip=$((nip + 1))
		g=$("$BIN/hindsight" --db "$db" --format json ip "$ip" --at "rev:$r" 2>/dev/null |
			jq -r '.[] | "\(.identity) \(.pod // "")"')
		[ "$g" = "$id $pod" ] || badip="$badip $ip@$r($g)"
	done <"$TMP/ips"
	"$PY" "$TMP/users.py" <"$TMP/etcd.json" >"$TMP/users"
	while read -r id want_nodes; do
		nid=$((nid + 1))
		g=$("$BIN/hindsight" --db "$db" --format json identity "$id" --at "rev:$r" 2>/dev/null |
			jq -r '[.[] | select(.cluster == "") | .nodes[]] | sort | join(",")')
		[ "${g:--}" = "$want_nodes" ] || badid="$badid $id@$r(${g:--} != $want_nodes)"
		g=$(sed "s/12928/$id/g; s/1234/$r/g" "$TMP/readme.sql" | sqlite3 "$db" |
			sed -n 's/^|//p' | sort | paste -sd, -)
		[ "${g:--}" = "$want_nodes" ] || badsql="$badsql $id@$r(${g:--} != $want_nodes)"
	done <"$TMP/users"
done
is "$bad" "" "snapshot --at rev:R equals etcd's range at R ($(echo "$revs" | wc -w) revisions)"
is "$badrc" "" "every R within coverage answers with exit 0"
is "$badip" "" "ip --at rev:R agrees with etcd's ipcache values ($nip lookups)"
is "$badid" "" "identity --at rev:R names the nodes etcd's slave keys name ($nid lookups)"
is "$badsql" "" "…and so does the README's SQL for it"
nk=$(ectl get --prefix cilium/ -w json | "$PY" "$TMP/etcd.py" | wc -l)
is "$("$BIN/hindsight" --db "$db" --format json snapshot | jq length)" "$nk" \
	"the latest snapshot has as many keys as etcd"
status_counts_check "$db"
done_testing
