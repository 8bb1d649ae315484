#!/bin/sh
# Several clusters: two etcds, two recorders, two simulated clusters (a
# clustermesh).  hindsight --db a --db b answers over both files, each row
# naming its cluster; per cluster the rows are exactly the single-db
# answer; sql sees every db ATTACHed and union views over them.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

command -v jq >/dev/null || bail "jq is needed (Debian package jq; tests/lib/deps.sh)"
H="$BIN/hindsight"
SIM="$TOP/tests/sim/cilium-sim"
A="$TMP/c1.db"
B="$TMP/c2.db"

# cluster N NAME DB: an etcd, a recorder on it, and a simulated cluster.
cluster() {
	etcd_start "$2"
	eval "URL$1=\$ETCD_URL"
	rec_start "$3" --batch-ms 5
	eval "REC$1=\$REC_PID"
	"$SIM" --endpoints "$ETCD_URL" --seed "$1" --steps 400 --nodes 3 \
		--pods-per-node 8 --identity-pool 30 --cluster "$2" \
		--cluster-id "$1" --truth "$TMP/$2.jsonl" 2>"$TMP/$2.sim.err"
	ok $? "cluster $2: the simulated workload ran"
	_rev=$(etcd_rev)
	wait_until 30 db_reached "$3" "$_rev"
	ok $? "cluster $2: its recorder reached etcd's revision $_rev"
}
cluster 1 c1 "$A"
cluster 2 c2 "$B"
id1=$(q "$A" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")
id2=$(q "$B" "SELECT value FROM meta WHERE name = 'etcd_cluster_id'")
[ -n "$id1" ] && [ -n "$id2" ] && [ "$id1" != "$id2" ]
ok $? "two etcd clusters: $id1 and $id2"

# While both recorders write.
"$H" --db "$A" --db "$B" --format json status >"$TMP/st.json"
ok $? "status over both dbs while recording: exit 0"
is "$(jq -r '[.[] | .etcd_cluster + "=" + .db] | join(" ")' "$TMP/st.json")" \
	"$id1=$A $id2=$B" "one row per db, named by its etcd cluster ID, in --db order"
is "$("$H" --db c1="$A" --db c2="$B" --format csv status | cut -d, -f1 | tr '\n' ' ')" \
	"etcd_cluster c1 c2 " "--db NAME=FILE names the rows (csv)"

# Stop recording: the comparisons below must not race the watermark time.
REC_PID=$REC1 rec_stop
REC_PID=$REC2 rec_stop

# per NAME JSON: the rows of one cluster, without the etcd_cluster column.
per() { jq -c --arg n "$1" '[.[] | select(.etcd_cluster == $n) | del(.etcd_cluster)]' "$2"; }
# same DESC ARGS...: the two-db answer, split by cluster, is each db's own.
same() {
	_d=$1
	shift
	"$H" --db c1="$A" --db c2="$B" --format json "$@" >"$TMP/m.json" 2>"$TMP/m.err"
	_rm=$?
	"$H" --db "$A" --format json "$@" >"$TMP/a.json" 2>/dev/null
	_ra=$?
	"$H" --db "$B" --format json "$@" >"$TMP/b.json" 2>/dev/null
	_rb=$?
	_want=$_ra
	[ "$_rb" -gt "$_want" ] && _want=$_rb
	[ "$_rm" -eq "$_want" ] &&
		[ "$(per c1 "$TMP/m.json")" = "$(jq -c . "$TMP/a.json")" ] &&
		[ "$(per c2 "$TMP/m.json")" = "$(jq -c . "$TMP/b.json")" ] &&
		[ "$(jq 'length' "$TMP/m.json")" -eq \
			$(($(jq length "$TMP/a.json") + $(jq length "$TMP/b.json"))) ]
	ok $? "$_d: per cluster, exactly each db's own answer ($(jq length "$TMP/m.json") rows, exit $_rm)"
}

ip1=$(q "$A" "SELECT ip FROM ipcache GROUP BY ip ORDER BY count(*) DESC, ip LIMIT 1")
ip2=$(q "$B" "SELECT ip FROM ipcache GROUP BY ip ORDER BY count(*) DESC, ip LIMIT 1")
idn1=$(q "$A" "SELECT identity FROM identities ORDER BY identity LIMIT 1")
idn2=$(q "$B" "SELECT identity FROM identities ORDER BY identity LIMIT 1")
same "ip $ip1 (all history)" ip "$ip1"
same "ip $ip2 (all history)" ip "$ip2"
same "ip 10.0.0.0/8 --at rev:900" ip 10.0.0.0/8 --at rev:900
same "identity $idn1" identity "$idn1"
same "identity $idn2 --at rev:700" identity "$idn2" --at rev:700
same "changes --from rev:100 --to rev:160" changes --from rev:100 --to rev:160
same "changes --kind node" changes --kind node
same "snapshot" snapshot
same "snapshot --kind ipcache --at rev:200" snapshot --kind ipcache --at rev:200
same "labels app.kubernetes.io/name=web" labels app.kubernetes.io/name=web
same "churn --from rev:1 --to rev:1000 --by hour" churn --from rev:1 --to rev:1000 --by hour
same "diff rev:100 rev:300 --kind ipcache" diff rev:100 rev:300 --kind ipcache
"$H" --db c1="$A" --db c2="$B" --format json status | jq 'map(del(.lag_seconds))' >"$TMP/m.json"
"$H" --db "$A" --format json status | jq 'map(del(.lag_seconds))' >"$TMP/a.json"
"$H" --db "$B" --format json status | jq 'map(del(.lag_seconds))' >"$TMP/b.json"
[ "$(per c1 "$TMP/m.json")" = "$(jq -c . "$TMP/a.json")" ] &&
	[ "$(per c2 "$TMP/m.json")" = "$(jq -c . "$TMP/b.json")" ]
ok $? "status: per cluster, each db's own"

# Who held the two addresses: one answer naming both clusters.
"$H" --db c1="$A" --db c2="$B" --format csv ip "$ip1" >"$TMP/ip.csv"
is "$(sed 1d "$TMP/ip.csv" | cut -d, -f1 | sort -u | tr '\n' ' ')" \
	"$([ "$ip1" = "$ip2" ] && echo "c1 c2 " || echo "c1 ")" "ip $ip1: rows of the clusters that held it"

# Table: the column and the notes name the cluster.
"$H" --db c1="$A" --db c2="$B" ip 10.0.0.0/8 --at now >"$TMP/t.txt" 2>/dev/null
head -1 "$TMP/t.txt" | grep -q '^c1: as of ' && sed -n 2p "$TMP/t.txt" | grep -q '^c2: as of ' &&
	sed -n 3p "$TMP/t.txt" | grep -q '^etcd_cluster  ip '
ok $? "table: a note per db, then one table with an etcd_cluster column"

# sql: union views over every db, and each db ATTACHed under its name.
got=$("$H" --db c1="$A" --db c2="$B" --format csv sql \
	"SELECT etcd_cluster, count(*) FROM events GROUP BY 1 ORDER BY 1")
is "$got" "etcd_cluster,count(*)
c1,$(q "$A" 'SELECT count(*) FROM events')
c2,$(q "$B" 'SELECT count(*) FROM events')" "sql: events is the union of both dbs' events"
got=$("$H" --db c1="$A" --db c2="$B" --format csv sql \
	"SELECT count(*) FROM \"c2\".ip_history")
is "$got" "count(*)
$(q "$B" 'SELECT count(*) FROM ip_history')" "sql: \"c2\".ip_history is c2's own view"
got=$("$H" --db c1="$A" --db c2="$B" --format json sql \
	"SELECT etcd_cluster, ip, pod, from_rev FROM ip_history WHERE ip = '$ip1' ORDER BY etcd_cluster, from_rev" | jq -c 'map([.etcd_cluster, .pod, .from_rev])')
want=$("$H" --db c1="$A" --db c2="$B" --format json ip "$ip1" | jq -c 'map([.etcd_cluster, .pod, .from_rev])')
is "$got" "$want" "sql over ip_history agrees with ip across both dbs"
# The SQL functions of one db (README) work over several too.
got=$("$H" --db c1="$A" --db c2="$B" --format csv sql "SELECT
	hs_namespace('ipcache', 'cilium/state/ip/v1/default/10.9.0.1', '{\"K8sNamespace\":\"ns1\"}') AS ns,
	hs_pod('ipcache', 'cilium/state/ip/v1/default/10.9.0.1', '{\"K8sNamespace\":\"ns1\",\"K8sPodName\":\"p1\"}') AS pod" | sed 1d)
is "$got" "ns1,ns1/p1" "sql over several dbs has hs_namespace() and hs_pod()"
"$H" --db "$A" --db "$B" --format csv sql "SELECT DISTINCT etcd_cluster FROM meta ORDER BY rowid" >"$TMP/n.csv"
is "$(sed 1d "$TMP/n.csv" | sort | tr '\n' ' ')" "$(printf '%s\n%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" \
	"sql: without names, the schemas are the etcd cluster IDs"
sum=$(cat "$A" "$B" | md5sum)
"$H" --db c1="$A" --db c2="$B" sql "DELETE FROM \"c1\".events" >/dev/null 2>&1
is "$?" 1 "sql over several dbs still refuses writes"
"$H" --db c1="$A" --db c2="$B" sql "ATTACH '$TMP/x.db' AS x" >/dev/null 2>&1
is "$?:$([ -e "$TMP/x.db" ] && echo created)" "1:" "and ATTACH"
is "$(cat "$A" "$B" | md5sum)" "$sum" "no command changed either db"

# Coverage and failures.
"$H" --db c1="$A" --db c2="$B" --format json ip "$ip1" --at @1000000000 >"$TMP/o.json" 2>"$TMP/e"
is "$?:$(grep -c 'warning: c[12]: ' "$TMP/e")" "3:2" \
	"a time before both recordings: exit 3, a warning naming each db"
"$H" --db c1="$A" --db c2="$TMP/missing.db" ip "$ip1" >"$TMP/o" 2>"$TMP/e"
is "$?:$(wc -c <"$TMP/o" | tr -d ' ')" "2:0" "one unreadable db: exit 2 before any output"
"$H" --db x="$A" --db x="$B" status >/dev/null 2>&1
is "$?" 1 "two dbs with one name: usage error"
cp "$A" "$TMP/backup.db"
"$H" --db "$A" --db "$TMP/backup.db" --db "$B" --format csv status | cut -d, -f1 >"$TMP/o"
is "$(sed 1d "$TMP/o" | tr '\n' ' ')" "c1 backup $id2 " \
	"two files of one etcd cluster: each is named by its file, the other by its cluster"
"$H" --db "$A" --db "$A" --format csv status | cut -d, -f1 >"$TMP/o"
is "$(sed 1d "$TMP/o" | tr '\n' ' ')" "c1 c1-2 " \
	"one file given twice: the names still differ"
"$H" --db "$A" --db c1="$B" --format csv status | cut -d, -f1 >"$TMP/o"
is "$(sed 1d "$TMP/o" | tr '\n' ' ')" "$id1 c1 " \
	"a name given with NAME= is never taken by another file"
"$H" --db "$A" --db "$TMP/backup.db" --db c1="$B" --format csv status | cut -d, -f1 >"$TMP/o"
is "$(sed 1d "$TMP/o" | tr '\n' ' ')" "c1-2 backup c1 " \
	"…not even by a file name"
done_testing
