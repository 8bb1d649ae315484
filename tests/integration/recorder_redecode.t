#!/bin/sh
# Values an older decoder could not read, read again by a newer recorder:
# a db written by a decoder of an earlier generation (meta.decoder) has its
# decode_errors decoded again when a newer recorder opens it (or runs
# --upgrade).  What decodes now gets the typed rows a recording by this
# build would have given it, over the interval it held (re-puts of the
# same value share the row, the key's next change closes it, a live value
# stays open and the next change recorded closes it); what still does not
# decode stays a decode error.
#
# There is no older decoder in this tree, so the test records with this
# one and turns the rows of the values the previous generation rejected (a
# service frontend keyed "<nil>", generation 2) back into what that
# generation wrote: no typed row, a decode_errors row, no meta.decoder.
# (Checked by hand against a db recorded by da7ba0c's recorder: the same
# decode_errors, services, events' typed rows, row_counts and meta.)
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

svc() { # svc NAME FRONTEND-IP PORT
	printf '{"cluster":"default","namespace":"ns1","name":"%s","frontends":{"%s":{"http":{"Protocol":"TCP","Port":%s}}},"backends":{"10.1.1.2":{"http":{"Protocol":"TCP","Port":8080}}},"labels":{},"selector":{},"includeExternal":false,"shared":true}' "$1" "$2" "$3"
}
K=cilium/state/services/v1/default/ns1

etcd_start redecode
db="$TMP/r.db"
$KV "$ETCD_URL" put cilium/.heartbeat 2026-11-29T16:00:00Z >/dev/null
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "the first snapshot recorded with --once"
# The changes, recorded one by one from the watch.
r_a=$($KV "$ETCD_URL" put "$K/hl" "$(svc hl 10.96.0.9 80)")
r_b=$($KV "$ETCD_URL" put "$K/hl" "$(svc hl '<nil>' 81)")
r_b2=$($KV "$ETCD_URL" put "$K/hl" "$(svc hl '<nil>' 81)")
r_c=$($KV "$ETCD_URL" put "$K/hl" "$(svc hl 10.96.0.10 82)")
r_d=$($KV "$ETCD_URL" put "$K/live" "$(svc live '<nil>' 83)")
r_e=$($KV "$ETCD_URL" put "$K/bad" "$(svc bad bogus 84)")
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "recorded with --once"

# Everything a user reads of the services, and the events' typed rows.
rows() {
	q "$db" "SELECT k.key, s.from_rev, coalesce(s.to_rev, '-'), p.role, p.ip, p.port
		FROM services s JOIN keys k ON k.id = s.key_id
		JOIN service_ports p ON p.service_row = s.rowid
		ORDER BY k.key, s.from_rev, p.role, p.ip"
	q "$db" "SELECT e.rev, coalesce(s.from_rev, '-') FROM events e
		LEFT JOIN services s ON s.rowid = e.typed_row ORDER BY e.rev"
}
answers() {
	for at in "$r_a" "$r_b" "$r_b2" "$r_c" "$r_e"; do
		"$BIN/hindsight" --db "$db" --format csv service ns1/hl --at "rev:$at"
		"$BIN/hindsight" --db "$db" --format csv service ns1/live --at "rev:$at"
	done 2>/dev/null
}
want_rows=$(rows)
want=$(answers)
is "$(q "$db" "SELECT count(*) FROM services")" 4 \
	"this build decodes the <nil> frontends (4 service rows)"
is "$(q "$db" "SELECT k.key FROM decode_errors d JOIN keys k ON k.id = d.key_id")" \
	"$K/bad" "…and only the bogus one is a decode error"
printf '%s\n' "$want" | grep -q '<nil>'
ok $? "service answers name the <nil> frontend"

# What generation 1 wrote for the <nil> values: no typed row, an error.
# (The re-put of the same value at r_b2 was no second error: it shared
# the error's missing row.)
nil_revs="$r_b, $r_b2, $r_d"
q "$db" "BEGIN;
INSERT INTO decode_errors SELECT e.rev, e.seq, e.key_id, 'service',
	'service: frontends key #0 is not an IP address' FROM events e WHERE e.rev IN ($r_b, $r_d);
DELETE FROM service_ports WHERE service_row IN
	(SELECT typed_row FROM events WHERE rev IN ($nil_revs));
DELETE FROM services WHERE rowid IN
	(SELECT typed_row FROM events WHERE rev IN ($nil_revs));
UPDATE events SET typed_row = NULL WHERE rev IN ($nil_revs);
UPDATE row_counts SET n = n - 2 WHERE name = 'services';
UPDATE row_counts SET n = n + 2 WHERE name = 'decode_errors';
UPDATE meta SET value = value + 2 WHERE name = 'decode_errors';
DELETE FROM meta WHERE name = 'decoder';
COMMIT;"
is "$(q "$db" "SELECT to_rev FROM services WHERE from_rev = $r_a")" "$r_b" \
	"the old db: the value before the error closed at its revision"
old=$(answers)
! printf '%s\n' "$old" | grep -q '<nil>'
ok $? "the old db answers no <nil> frontend"

"$BIN/hindsight-recorder" --db "$db" --upgrade >"$TMP/up.out" 2>"$TMP/up.err"
ok $? "--upgrade exits 0"
grep -q "decoded 2 of 3 values that an older hindsight could not decode; 1 still do not" "$TMP/up.err"
ok $? "…and says what it decoded again" || diag "$(cat "$TMP/up.err")"
is "$(rows)" "$want_rows" "the typed rows and intervals are those this build records"
is "$(answers)" "$want" "service answers at every revision are those of this build"
is "$(q "$db" "SELECT k.key FROM decode_errors d JOIN keys k ON k.id = d.key_id")" \
	"$K/bad" "what still does not decode stays a decode error"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'decode_errors'")" 1 "meta.decode_errors counts it"
is "$(q "$db" "SELECT group_concat(r.name || '=' || (r.n = c.n), ' ') FROM row_counts r
	JOIN (SELECT 'services' AS name, count(*) AS n FROM services
	UNION ALL SELECT 'decode_errors', count(*) FROM decode_errors) c ON c.name = r.name")" \
	"services=1 decode_errors=1" "row_counts agree with the tables"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'decoder'")" \
	"$(sed -n 's/^#define HS_DECODER_GEN \([0-9]*\).*/\1/p' "$TOP/recorder/decode.h")" \
	"meta.decoder is this build's generation"
"$BIN/hindsight" --db "$db" status >"$TMP/status" 2>&1
ok $? "status reads the upgraded db"

# Once is enough: a second open decodes nothing again.
"$BIN/hindsight-recorder" --db "$db" --upgrade >/dev/null 2>"$TMP/up2.err"
ok $? "a second --upgrade exits 0"
! grep -q "decoded" "$TMP/up2.err"
ok $? "…and decodes nothing again"
is "$(rows)" "$want_rows" "…nor changes a row"

# The live <nil> value's row is open: the next change recorded closes it.
r_f=$($KV "$ETCD_URL" put "$K/live" "$(svc live 10.96.0.11 85)")
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
ok $? "recording goes on"
is "$(q "$db" "SELECT from_rev || '-' || coalesce(to_rev, '') FROM services s
	JOIN keys k ON k.id = s.key_id WHERE k.key = '$K/live' ORDER BY from_rev")" \
	"$r_d-$r_f
$r_f-" "the decoded-again live value is closed by the next change"

# A db from a newer build: its generation comes down to this build's, so
# that build tries again the errors this one writes.
q "$db" "UPDATE meta SET value = 99 WHERE name = 'decoder'"
"$BIN/hindsight-recorder" --db "$db" --upgrade >/dev/null 2>&1
ok $? "--upgrade on a db of a newer decoder exits 0"
is "$(q "$db" "SELECT value FROM meta WHERE name = 'decoder'")" \
	"$(sed -n 's/^#define HS_DECODER_GEN \([0-9]*\).*/\1/p' "$TOP/recorder/decode.h")" \
	"…and sets the generation to this build's"

etcd_stop
done_testing
