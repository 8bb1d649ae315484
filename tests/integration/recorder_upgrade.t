#!/bin/sh
# Upgrading a db: a file written in format 2 (events carry to_rev, values
# a global hash index, typed tables partial "open" indexes, no churn
# counts) is migrated to format 3 (schema/003_lean.sql) and 4
# (004_churn.sql) by the recorder when it opens it, and recording goes on:
# changes to keys recorded before the upgrade close the right typed rows,
# a re-put of an unchanged value does not split its interval, churn counts
# the events of both formats, and history and state equal etcd's.
#
# There is no format-2 recorder in this tree, so the test records a db
# with this one and turns it back into format 2 with SQL (the inverse of
# the migration), then lets the recorder upgrade it.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"
. "$TOP/tests/lib/fault.sh"

ip() { # ip IP ID POD
	printf '{"IP":"%s","Mask":null,"HostIP":"10.5.1.132","ID":%s,"Key":0,"Metadata":"cilium-global:default:k8s-node1:7","K8sNamespace":"ns1","K8sPodName":"%s"}' "$1" "$2" "$3"
}

# A service whose backends include IPs listed with no port (a headless
# service's, say): format 13 keeps them (NULL port), earlier ones dropped
# them.
svc() { # svc NAME BACKENDS
	printf '{"cluster":"default","namespace":"ns1","name":"%s","frontends":{"10.96.0.9":{"http":{"Protocol":"TCP","Port":80}}},"backends":%s,"labels":{},"selector":{},"includeExternal":false,"shared":true}' "$1" "$2"
}
# What `service` should list for a value, from the value alone: each IP in
# order with its ports, the bare IP when its port map has none.
svc_want() { # svc_want VALUE ROLE(frontends|backends)
	printf '%s' "$1" | jq -r --arg r "$2" '.[$r] // {} | to_entries | sort_by(.key) | .[] |
		.key as $ip | (.value // {} | with_entries(select(.value != null))) as $p |
		if ($p | length) == 0 then $ip
		else $p | to_entries[] | "\(if ($ip | contains(":")) then "[\($ip)]" else $ip end):\(.value.Port)/\(.value.Protocol) (\(.key))" end' |
		tr '\n' ' '
}
svc_got() { # svc_got NAME ROLE
	"$BIN/hindsight" --db "$db" --format json service "ns1/$1" |
		jq -r --arg r "$2" '.[-1][$r][]' | tr '\n' ' '
}
SVC_OLD=$(svc headless '{"10.1.1.2":{},"10.1.1.3":{"http":{"Protocol":"TCP","Port":8080}},"10.1.1.4":null,"fd00::5":{"x":null}}')
SVC_NEW=$(svc headless2 '{"fd00::6":{"http":{"Protocol":"TCP","Port":8080}},"10.1.1.7":{}}')

etcd_start upgrade
$KV "$ETCD_URL" load "$TOP/tests/fixtures/cilium-1.7-seed.jsonl" >/dev/null
$KV "$ETCD_URL" put cilium/state/services/v1/default/ns1/headless "$SVC_OLD" >/dev/null
# Labels with no source, a "reserved." prefix and an empty key: format 14
# reads them as Cilium does (unspec:, reserved:, dropped).
ODD_LABELS='app=web;:tier=db;reserved.health;:=;k8s:a=b;'
$KV "$ETCD_URL" put cilium/state/identities/v1/id/777 "$ODD_LABELS" >/dev/null
for i in 1 2 3 4; do
	$KV "$ETCD_URL" put "cilium/state/ip/v1/default/10.9.0.$i" "$(ip "10.9.0.$i" 100 "a-$i")" >/dev/null
done
db="$TMP/up.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "snapshot recorded with --once"
first=$(q "$db" "SELECT value FROM meta WHERE name='first_rev'")
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.9.0.1 "$(ip 10.9.0.1 101 a-1b)" >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "a change recorded with --once"

# Back to format 2: what a db recorded by the previous release holds.
view=$(awk '/^CREATE VIEW changes/,/;$/' "$TOP/schema/002_views.sql")
svcview=$(awk '/^CREATE VIEW service_history/,/;$/' "$TOP/schema/002_views.sql")
ls777=$(q "$db" "SELECT labelset_id FROM identities WHERE identity = 777")
q "$db" "BEGIN;
DROP TABLE churn;
DROP TABLE churn_pods;
DROP TABLE churn_spans;
DROP TABLE churn_pod_totals;
DROP TABLE row_counts;
DROP VIEW changes;
ALTER TABLE events ADD COLUMN to_rev INTEGER;
UPDATE events SET to_rev = (SELECT min(n.rev) FROM events n
	WHERE n.key_id = events.key_id AND n.rev > events.rev);
ALTER TABLE events DROP COLUMN typed_row;
ALTER TABLE events DROP COLUMN mod_rev;
CREATE INDEX events_open ON events(key_id) WHERE to_rev IS NULL;
ALTER TABLE vals ADD COLUMN hash INTEGER NOT NULL DEFAULT 0;
UPDATE vals SET hash = id * 7919;
CREATE INDEX vals_hash ON vals(hash);
CREATE INDEX identities_open ON identities(key_id) WHERE to_rev IS NULL;
CREATE INDEX identity_users_open ON identity_users(key_id) WHERE to_rev IS NULL;
CREATE INDEX ipcache_open ON ipcache(key_id) WHERE to_rev IS NULL;
CREATE INDEX nodes_open ON nodes(key_id) WHERE to_rev IS NULL;
CREATE INDEX services_open ON services(key_id) WHERE to_rev IS NULL;
DROP INDEX identity_users_key;
CREATE INDEX identity_users_id ON identity_users(identity, from_rev);
UPDATE revisions SET t_lo_us = t_hi_us WHERE rev = $first;
$view
DROP VIEW service_history;
CREATE TABLE service_ports_2 (service_row INTEGER NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('frontend', 'backend')),
	ip TEXT NOT NULL, port_name TEXT NOT NULL, protocol TEXT NOT NULL,
	port INTEGER NOT NULL) STRICT;
INSERT INTO service_ports_2 SELECT * FROM service_ports WHERE port IS NOT NULL;
DROP TABLE service_ports;
ALTER TABLE service_ports_2 RENAME TO service_ports;
CREATE INDEX service_ports_row ON service_ports(service_row);
$svcview
UPDATE labels SET source = '' WHERE source = 'unspec';
UPDATE labels SET source = '', key = 'reserved.' || key
	WHERE key = 'health' AND labelset_id = $ls777;
INSERT INTO labels VALUES ($ls777, 99, '', '', '');
PRAGMA user_version = 2;
COMMIT;"
# Format 2's CHECKs, with IN lists (format 5 rewrites them in place).
sv=$(q "$db" "PRAGMA schema_version")
q "$db" "PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (origin BETWEEN 0 AND 2)',
	'CHECK (origin IN (0, 1, 2))') WHERE name = 'events';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (how = ''snapshot'' OR how = ''watch'' OR how = ''replay'' OR how = ''resync'')',
	'CHECK (how IN (''snapshot'', ''watch'', ''replay'', ''resync''))') WHERE name = 'revisions';
PRAGMA schema_version = $((sv + 1)); PRAGMA writable_schema = OFF"
is "$(q "$db" "SELECT count(*) FROM sqlite_schema WHERE sql GLOB '*origin IN (0, 1, 2)*'
	OR sql GLOB '*how IN (*'")" 2 "the db has format 2's CHECKs"
is "$(q "$db" "PRAGMA user_version")" 2 "the db is in format 2"
is "$(q "$db" "SELECT group_concat(source || ':' || key || '=' || value, ' ') FROM
	(SELECT * FROM labels WHERE labelset_id = $ls777 ORDER BY pos)")" \
	":app=web :tier=db :reserved.health= k8s:a=b :=" "…whose labels were split the old way"
is "$(q "$db" "SELECT count(*) FROM service_ports WHERE role = 'backend'")" 1 \
	"…whose service rows had only the backend IP with a port"
before=$(q "$db" "SELECT ip || ' ' || pod || ' ' || from_rev || ' ' || coalesce(to_rev, '-')
	FROM ipcache ORDER BY rowid")
"$BIN/hindsight" --db "$db" ip 10.9.0.1 >/dev/null 2>"$TMP/err"
is $? 2 "the CLI does not read a format-2 db (exit 2)…"
grep -q "upgrade it with 'hindsight-recorder --db FILE --upgrade'" "$TMP/err"
ok $? "…and says how to upgrade it"

# Changes while the old-format db waits for the upgrade.
r_mod=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.9.0.2 "$(ip 10.9.0.2 102 a-2b)")
r_del=$($KV "$ETCD_URL" del cilium/state/ip/v1/default/10.9.0.3)
r_same=$($KV "$ETCD_URL" put cilium/state/ip/v1/default/10.9.0.4 "$(ip 10.9.0.4 100 a-4)")
$KV "$ETCD_URL" put cilium/state/ip/v1/default/10.9.0.5 "$(ip 10.9.0.5 100 a-5)" >/dev/null
$KV "$ETCD_URL" put cilium/state/services/v1/default/ns1/headless2 "$SVC_NEW" >/dev/null
$KV "$ETCD_URL" put cilium/state/identities/v1/id/778 'x=1;:=;reserved:=host;' >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "the recorder opens the format-2 db and records"
version=$("$BIN/hindsight-recorder" --version | sed 's/.*db format \([0-9]*\).*/\1/')
is "$(q "$db" "PRAGMA user_version")" "$version" "…upgrading it to format $version"
is "$(q "$db" "SELECT coalesce(t_lo_us, 'NULL') || ' ' || how FROM revisions WHERE rev = $first")" \
	"NULL snapshot" "…the first snapshot's revision gets an unknown start time (format 11)"
is "$(q "$db" "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'to_rev'")" 0 \
	"…events.to_rev is gone"
is "$(q "$db" "SELECT count(*) FROM sqlite_schema WHERE name GLOB '*_open' OR name = 'vals_hash'")" 0 \
	"…and so are the open-row and value-hash indexes"
is "$(q "$db" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema
	WHERE tbl_name = 'identity_users' AND type = 'index' ORDER BY name)")" \
	"identity_users_key" "…identity_users is indexed by (identity, key_id, from_rev) only"
is "$(q "$db" "SELECT ip || ' ' || pod || ' ' || from_rev || ' ' || coalesce(to_rev, '-')
	FROM ipcache WHERE rowid <= (SELECT count(*) FROM ipcache) - 2 ORDER BY rowid" |
	grep -v '^10.9.0.[23] ')" "$(echo "$before" | grep -v '^10.9.0.[23] ')" \
	"rows recorded before the upgrade are unchanged"
is "$(q "$db" "SELECT pod || ' ' || coalesce(to_rev, '-') FROM ipcache WHERE ip = '10.9.0.2' ORDER BY from_rev" | tr '\n' ' ')" \
	"a-2 $r_mod a-2b - " "a change after the upgrade closes the row recorded before it"
is "$(q "$db" "SELECT coalesce(to_rev, '-') FROM ipcache WHERE ip = '10.9.0.3'")" "$r_del" \
	"a DELETE after the upgrade closes its row"
is "$(q "$db" "SELECT count(*) || ' ' || coalesce(max(to_rev), '-') FROM ipcache WHERE ip = '10.9.0.4'")" \
	"1 -" "re-putting an unchanged value does not split the interval ($r_same)"
is "$("$BIN/hindsight" --db "$db" --format json ip 10.9.0.1 | jq -r '.[] | "\(.identity) \(.pod)"' | tr '\n' ' ')" \
	"100 a-1 101 a-1b " "the CLI answers from the upgraded db"
want=$(svc_want "$SVC_OLD" backends)
is "$want" "10.1.1.2 10.1.1.3:8080/TCP (http) 10.1.1.4 fd00::5 " "(the oracle reads the value)"
is "$(svc_got headless backends)" "$want" \
	"backend IPs listed with no port, recorded before the upgrade, are back (format 13)"
is "$(svc_got headless frontends)" "$(svc_want "$SVC_OLD" frontends)" "…its frontend is unchanged"
is "$(svc_got headless2 backends)" "$(svc_want "$SVC_NEW" backends)" \
	"a backend IP listed with no port, recorded after the upgrade, is kept"
lbl() { "$BIN/hindsight" --db "$db" --format json identity "$1" | jq -r '.[-1].labels | join(" ")'; }
is "$(lbl 777)" "unspec:app=web unspec:tier=db reserved:health= k8s:a=b" \
	"labels recorded before the upgrade are read as Cilium reads them (format 14)"
is "$(lbl 778)" "unspec:x=1 reserved:host=" "…and so are labels recorded after it"
is "$("$BIN/hindsight" --db "$db" --format json labels unspec:tier=db,reserved:health= | jq -r '.[].identity')" \
	777 "labels finds them by source"
is "$(q "$db" "SELECT backends FROM service_history WHERE name = 'headless'")" \
	"10.1.1.2,10.1.1.3:8080/TCP,10.1.1.4,fd00::5" "service_history lists them too"
hist_check "$db" "$ETCD_URL" $((first + 1)) "history equals etcd's"
is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "state equals etcd's"
is "$(db_typed_open_dups "$db")" 0 "every key has at most one open typed row"
is "$(db_typed_bad "$db")" 0 "every event points at its key's typed row valid at its revision"
# Since the snapshot: 10.9.0.1 changed before the downgrade; 10.9.0.2
# changed, 10.9.0.3 deleted, 10.9.0.4 re-put unchanged (same lease: a
# modification), 10.9.0.5 created after it.
is "$("$BIN/hindsight" --db "$db" --format json churn --from "rev:$first" --to now |
	jq -r '.[] | select(.kind == "ipcache") | "\(.created) \(.modified) \(.lease_only) \(.deleted)"')" \
	"1 3 0 1" "churn counts the events recorded in both formats"
is "$(q "$db" "SELECT count(*) FROM sqlite_schema WHERE sql GLOB '*origin IN (*'
	OR sql GLOB '*how IN (*'")" 0 "the CHECKs on how and origin are rewritten without IN lists"
for bad in "INSERT INTO revisions(rev, epoch, etcd_rev, t_hi_us, how) VALUES (99999, 1, 1, 1, 'bogus')" \
	"UPDATE events SET origin = 3 WHERE rev = $first" \
	"UPDATE events SET type = 2 WHERE rev = $first"; do
	q "$db" "$bad" 2>"$TMP/err"
	grep -q "CHECK constraint failed" "$TMP/err"
	ok $? "…and still enforced: $(echo "$bad" | cut -c1-40)…"
done
is "$(q "$db" "SELECT count(*) FROM churn_pod_totals")" \
	"$(q "$db" "SELECT count(DISTINCT pod) FROM churn_pods WHERE secs = 3600")" \
	"churn_pod_totals has a row per pod"
status_counts_check "$db"
is "$(db_integrity "$db")" ok "integrity_check ok"
done_testing
