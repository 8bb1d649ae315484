#!/bin/sh
# The worked notebook of examples/ (Debian's python3-pandas and
# python3-matplotlib) on a db recorded live from the Cilium simulator: it
# writes a PNG churn plot, and its as-of join over flow-log rows names,
# for every row, the holder `hindsight ip ADDR --at TIME` names.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

# Debian's pandas and matplotlib are installed for the system interpreter.
NB=/usr/bin/python3
if ! "$NB" -c 'import matplotlib' 2>/dev/null; then
	echo "1..0 # SKIP python3-matplotlib is not installed (Debian package python3-matplotlib)"
	exit 0
fi
"$NB" -c 'import pandas' 2>/dev/null || bail "python3-pandas is not installed (tests/lib/deps.sh)"
command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
H="$BIN/hindsight"
db="$TMP/cilium.db"

etcd_start a
rec_start "$db" --batch-ms 5
wait_until 20 db_reached "$db" 1 || true
"$TOP/tests/sim/cilium-sim" --endpoints "$ETCD_URL" --seed 5 --steps 600 \
	--nodes 3 --pods-per-node 6 --identity-pool 30 --rate 300 \
	2>"$TMP/sim.err"
ok $? "the simulator ran against etcd while the recorder recorded"
rev=$(etcd_rev)
wait_until 30 db_reached "$db" "$rev"
ok $? "the db is recorded through etcd's revision $rev"
rec_stop

# Flow-log rows at the instants that matter: the moment a holder appears,
# a microsecond before, the moment it goes (the next holder, or nobody),
# and in between; over addresses that changed hands.
"$NB" - "$db" >"$TMP/flows.csv" <<'PY'
import sqlite3, sys
from datetime import datetime, timedelta, timezone

con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = con.execute(
    "SELECT ip, from_time, to_time FROM ip_history WHERE from_time IS NOT NULL"
    " AND ip IN (SELECT ip FROM ipcache GROUP BY ip HAVING count(*) >= 3)"
    " ORDER BY ip, from_rev LIMIT 9").fetchall()
def t(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
def f(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
ips = sorted({r[0] for r in rows})
print("time,src_ip,dst_ip,dst_port,verdict")
n = 0
for ip, a, b in rows:
    times = [t(a), t(a) - timedelta(microseconds=1)]
    if b is not None:
        times += [t(b), t(a) + (t(b) - t(a)) / 2]
    for x in times:
        other = ips[n % len(ips)]
        src, dst = (ip, other) if n % 2 == 0 else (other, ip)
        print(f"{f(x)},{src},{dst},{8080 + n % 3},FORWARDED")
        n += 1
PY
rows=$(($(wc -l <"$TMP/flows.csv") - 1))
[ "$rows" -ge 12 ]
ok $? "$rows flow rows around the holder changes of reused addresses"

out=$(cd "$TMP" && "$NB" "$TOP/examples/notebook.py" "$db" flows.csv "$TMP" 2>&1)
ok $? "examples/notebook.py runs"
[ -n "$out" ] || diag "no output"
is "$(od -An -tx1 -N8 "$TMP/churn.png" 2>/dev/null | tr -d ' ')" "89504e470d0a1a0a" \
	"churn.png is a PNG"
[ "$(wc -c <"$TMP/churn.png")" -gt 2000 ]
ok $? "with a plot in it ($(wc -c <"$TMP/churn.png") bytes)"
is "$(($(wc -l <"$TMP/who_held.csv") - 1))" "$rows" "who_held.csv: one row per flow"

# Every flow row, both ends, against the CLI.
bad=""
held=0
free=0
# Columns: time,src_ip,dst_ip,dst_port,verdict,src_namespace,src_pod,
# src_identity,src_node,dst_namespace,dst_pod,dst_identity,dst_node
sed 1d "$TMP/who_held.csv" >"$TMP/nb.rows"
while IFS=, read -r tm sip dip _port _v sns spod sid snode dns dpod did dnode; do
	for side in src dst; do
		if [ $side = src ]; then
			ip=$sip nb="$sns|$spod|$sid|$snode"
		else
			ip=$dip nb="$dns|$dpod|$did|$dnode"
		fi
		cli=$("$H" --db "$db" --format json ip "$ip" --at "$tm" 2>/dev/null |
			jq -r 'if length == 0 then "|||" else .[0] |
				"\(.namespace)|\(.pod)|\(.identity)|\(.node)" end')
		[ "$cli" = "$nb" ] || bad="$bad $ip@$tm(nb:$nb cli:$cli)"
		if [ "$cli" = "|||" ]; then free=$((free + 1)); else held=$((held + 1)); fi
	done
done <"$TMP/nb.rows"
is "$bad" "" "every as-of join answer equals hindsight ip ADDR --at TIME ($held held, $free free)"
[ "$held" -gt 0 ] && [ "$free" -gt 0 ]
ok $? "the rows cover both held and free addresses"
pods=$(cut -d, -f7 "$TMP/nb.rows" | grep . | sort -u | wc -l)
[ "$pods" -ge 3 ]
ok $? "and several holders ($pods distinct source pods)"

# The shipped example flows run on the fixture, as examples/README.md says.
sh "$TOP/tests/query/mkfixture.sh" "$TMP/fixture.db" >/dev/null 2>&1
mkdir -p "$TMP/fx"
"$NB" "$TOP/examples/notebook.py" "$TMP/fixture.db" "$TOP/examples/flows.csv" "$TMP/fx" >/dev/null 2>&1
ok $? "examples/flows.csv runs on the fixture db"
is "$(cut -d, -f2,7 "$TMP/fx/who_held.csv" | sed 1d | tr '\n' ' ')" \
	"10.6.6.43,ai-ingressgateway-6bdbdbf7dc-jz85c 10.6.6.43, 10.6.6.43,web-2 fd00::1:2,web-2 " \
	"the fixture's 10.6.6.43 changes hands as the README tells"
done_testing
