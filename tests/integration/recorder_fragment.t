#!/bin/sh
# Fragmented watch responses.  The recorder asks etcd to fragment big
# responses (a backlog of 128-put txns comes 1000 revisions per response,
# tens of MB), and a fragment boundary may fall inside a revision.  With a
# small --max-request-bytes etcd fragments at about 576 KiB: the backlogs
# here are cut inside txns, and one revision (a deleted prefix of 6400
# keys) spans 4 messages.  Whatever the cut and whenever the recorder
# stops (--once, several catch-up watches, kill -9, live), every revision
# is recorded once and whole, in one commit with the watermark.
# Then a scripted fake gateway cuts a connection after a fragment, and
# sends a progress notification between fragments.
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/etcd.sh"
. "$TOP/tests/lib/recorder.sh"

etcd_start frag --max-request-bytes=65536
$KV "$ETCD_URL" put cilium/x 1 >/dev/null
db="$TMP/frag.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once 2>>"$TMP/rec.log"
first=$(db_recorded "$db")

# backlog TAG [TXNS]: TXNS (60) txns of 128 puts of 300 bytes under
# cilium/TAG/ (6400 keys of 140 bytes: a DELETE carries only its key), one
# revision deleting them all, 40 more txns.
backlog() {
	_from=$(($($KV "$ETCD_URL" rev) + 1))
	_long=$(printf '%0120d' 0)
	$KV "$ETCD_URL" txn "${2:-60}" "cilium/$1/$_long/" 128 300 >/dev/null ||
		bail "cannot write the txns"
	$KV "$ETCD_URL" delprefix "cilium/$1/" >/dev/null ||
		bail "cannot delete the prefix"
	$KV "$ETCD_URL" txn 40 "cilium/$1z/" 128 300 >/dev/null ||
		bail "cannot write the txns"
}

# fragmented WHAT: etcd does cut this backlog inside revisions.
fragmented() {
	# shellcheck disable=SC2046 # four numbers
	set -- "$1" $($KV "$ETCD_URL" frags cilium/ "$_from")
	[ "$3" -ge 4 ] && [ "$4" -ge 2 ] && [ "$5" -ge 3 ]
	ok $? "$1: etcd sends the backlog in fragments ($2 messages, $3 fragments, $4 cut inside a revision, one revision in $5)"
}

check() { # check WHAT [FROM]: the db equals etcd from FROM (the first snapshot) on
	head=$($KV "$ETCD_URL" rev)
	is "$(db_recorded "$db")" "$head" "$1: watermark at etcd's revision"
	h_etcd=$($KV "$ETCD_URL" history cilium/ "${2:-$((first + 1))}")
	h_db=$(db_history "$db" "${2:-$((first + 1))}")
	is "$(echo "$h_db" | wc -l)" "$(echo "$h_etcd" | wc -l)" \
		"$1: as many events as etcd has"
	[ "$h_db" = "$h_etcd" ]
	ok $? "$1: history equals etcd's, each event once, in order, byte for byte"
	is "$(db_state "$db")" "$($KV "$ETCD_URL" state cilium/)" "$1: state equals etcd's"
	is "$(q "$db" "PRAGMA integrity_check")" ok "$1: integrity_check ok"
}

# The quiet limit is made long: these tests write only under cilium/, so
# --once always ends by reaching etcd's revision, however slowly etcd cuts
# its fragments on a busy machine.
backlog a
fragmented "one watch"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--once-quiet 60 --catchup-streams 1 2>"$TMP/f1.log"
ok $? "--once over a fragmented backlog exits 0"
check "one watch" "$_from"

# Several catch-up watches: segment ends fall inside fragmented responses,
# and later segments spill fragments to replay them in order.  (128 events
# a revision would keep the recorder on one watch: --catchup-dense 0.)
backlog b
fragmented "several watches"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--once-quiet 60 --catchup-min 50 --catchup-streams 3 --catchup-dense 0 \
	2>"$TMP/f2.log"
ok $? "--once with 3 catch-up watches exits 0"
grep -q 'catching up on revisions .* with 3 watches' "$TMP/f2.log"
ok $? "the backlog was split over 3 watches"
check "several watches" "$_from"

# The one watch's sample in fragments: a long backlog's first response
# (1000 revisions) is judged once whole, here 3.5 events a revision (20
# txns of 128 puts, 1.2 MB, among 980 single puts): the rest goes to
# several watches from the revision after the sample.
_from=$(($($KV "$ETCD_URL" rev) + 1))
$KV "$ETCD_URL" many 500 cilium/s1/ >/dev/null || bail "cannot write the puts"
$KV "$ETCD_URL" txn 20 "cilium/s2/$(printf '%0120d' 0)/" 128 300 >/dev/null ||
	bail "cannot write the txns"
$KV "$ETCD_URL" many 2500 cilium/s3/ >/dev/null || bail "cannot write the puts"
# shellcheck disable=SC2046 # four numbers
set -- $($KV "$ETCD_URL" frags cilium/ "$_from")
[ "$2" -ge 2 ]
ok $? "etcd sends this backlog in fragments ($1 messages, $2 fragments, $3 cut inside a revision)"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--once-quiet 60 --catchup-min 50 --catchup-streams 3 2>"$TMP/f4.log"
ok $? "--once, a sample in fragments, then 3 watches: exit 0"
# (What the one watch receives after the judgement is left to them.)
cu=$(sed -n 's/.*catching up on revisions \([0-9]*\)\.\.[0-9]* with 3 watches.*/\1/p' "$TMP/f4.log")
is "$cu" $((_from + 1000)) "…the catch-up began right after the 1000 revisions of the sample"
check "sample in fragments" "$_from"

# kill -9 in the middle of a fragmented catch-up.  Small batches commit
# after nearly every fragment, so the kill finds revisions held across a
# fragment boundary, and a commit just made.  What was committed must be
# whole revisions up to the watermark and nothing beyond it.
backlog c 200
end=$($KV "$ETCD_URL" rev)
start=$(db_recorded "$db")
rec_start "$db" --catchup-streams 1 --batch-events 50
wait_until 60 db_reached "$db" $((start + 1))
ok $? "catch-up committed its first fragments"
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
wm=$(db_recorded "$db")
[ "$wm" -lt "$end" ]
ok $? "killed in the middle of the catch-up (watermark $wm of $end)"
is "$(q "$db" "PRAGMA integrity_check")" ok "integrity_check ok after kill -9"
is "$(q "$db" "SELECT count(*) FROM events WHERE origin = 0 AND rev > $wm")" 0 \
	"no event committed beyond the watermark"
h_etcd=$($KV "$ETCD_URL" history cilium/ $((start + 1)) | awk -F'|' -v wm="$wm" '$1 <= wm')
h_db=$(db_history "$db" $((start + 1)))
[ "$h_db" = "$h_etcd" ]
ok $? "every revision up to the watermark whole: the db equals etcd up to $wm"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$ETCD_URL" --once \
	--once-quiet 60 --catchup-streams 1 2>"$TMP/f3.log"
ok $? "resume after kill -9 exits 0"
grep -q "resuming .* after revision $wm\$" "$TMP/f3.log"
ok $? "resumed after the watermark"
check "after kill -9" $((start + 1))

# Live: a catch-up, then a backlog written while recording, the deleted
# prefix arriving live as one revision in 4 fragments.
backlog d
rec_start "$db" --catchup-streams 1
wait_until 60 db_reached "$db" "$($KV "$ETCD_URL" rev)"
ok $? "caught up"
backlog e
rev=$($KV "$ETCD_URL" put cilium/live yes)
wait_until 60 db_reached "$db" "$rev"
ok $? "live: the backlog written while recording is recorded"
rec_stop
ok $? "SIGTERM: exit 0"
check "live, and all before"
grep -q 'malformed\|inside a fragmented' "$TMP/rec.log"
is $? 1 "no stream error on a real etcd"

# --- the fake gateway ------------------------------------------------------
# 1: revision 11 whole, then a fragment of revision 12 and the connection
#    cut in the middle of the next part: 12 must not be committed.
# 2: a fragment of 12, then a message without events (a progress
#    notification) where the rest should be: a broken response.
# 3: revision 12 in three messages (fragment after the events in one, in
#    3-byte chunks), the last also holding 13.
"$PY" - "$TMP/fake.json" <<'PYEOF'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
hdr = lambda rev: {"cluster_id": "7", "member_id": "1", "revision": str(rev), "raft_term": "2"}
def line(o): return json.dumps(o) + "\n"
def put(rev, key, val):
    return {"kv": {"key": b(key), "create_revision": str(rev), "mod_revision": str(rev),
                   "version": "1", "value": b(val)}}
def dele(rev, key):
    return {"type": "DELETE", "kv": {"key": b(key), "mod_revision": str(rev)}}
created = line({"result": {"header": hdr(13), "created": True}})
def msg(frag, *evs):
    r = {"header": hdr(13)}
    if frag:
        r["fragment"] = True
    r["events"] = list(evs)
    return line({"result": r})
last = msg(False, put(12, "cilium/c3", "3"), dele(13, "cilium/a"))
late = json.dumps({"result": {"header": hdr(13), "events": [put(12, "cilium/c2", "2")],
                              "fragment": True}}) + "\n"
rng = {"header": hdr(10), "kvs": [{"key": b("cilium/a"), "create_revision": "5",
       "mod_revision": "5", "version": "1", "value": b("one")}], "count": "1"}
watches = [
    [{"send": created}, {"send": msg(False, put(11, "cilium/b", "two"))},
     {"send": msg(True, put(12, "cilium/c1", "1")), "chunk": 1}, {"cut": last[:len(last) // 2]}],
    [{"send": created}, {"send": msg(True, put(12, "cilium/c1", "1"))},
     {"send": line({"result": {"header": hdr(20)}})}, {"hold": True}],
    [{"send": created}, {"send": msg(True, put(12, "cilium/c1", "1"))},
     {"send": late, "chunk": 3}, {"send": last}, {"hold": True}],
]
json.dump({"range": rng, "watches": watches}, open(sys.argv[1], "w"))
PYEOF
"$PY" "$TOP/tests/lib/fake_etcd.py" "$TMP/fake.json" "$TMP/port" "$TMP/fake.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_until 10 test -s "$TMP/port" || bail "fake etcd did not start"
fdb="$TMP/fake.db"
"$BIN/hindsight-recorder" --db "$fdb" --endpoints "http://127.0.0.1:$(cat "$TMP/port")" \
	>"$TMP/fake.rec" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
wait_until 20 db_reached "$fdb" 13
ok $? "fake: recorded through revision 13"
starts=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    c = json.loads(l)["create_request"]
    print(c["start_revision"], c.get("fragment"))' "$TMP/fake.log" | head -3 | tr '\n' ' ')
is "$starts" "11 True 12 True 12 True " \
	"fake: every watch asks for fragments; resumed at 12 after the cut and after the broken response"
is "$(db_history "$fdb" 0)" "11|PUT|cilium/b|74776F
12|PUT|cilium/c1|31
12|PUT|cilium/c2|32
12|PUT|cilium/c3|33
13|DELETE|cilium/a|" "fake: revision 12 whole and once, nothing from the cut or the broken response"
is "$(q "$fdb" "SELECT count(*) FROM revisions WHERE etcd_rev = 12")" 1 \
	"fake: revision 12 has one revisions row"
grep -q 'without events inside a fragmented response' "$TMP/fake.rec"
ok $? "fake: the progress notification between fragments is logged as a broken stream"
kill -TERM "$rec"
wait "$rec"
ok $? "fake: SIGTERM: exit 0"

done_testing
