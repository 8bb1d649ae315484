#!/bin/sh
# Stream faults a real etcd cannot produce on demand, from a scripted fake
# gateway (tests/lib/fake_etcd.py): messages in 1-byte chunks, a
# connection cut in the middle of a message, garbage on the stream.  Never
# a wrong row; a broken stream means a reconnect from the right revision.
# (Compaction and replaced clusters are tested on real etcd: recorder_gaps.t.)
. "$(dirname "$0")/../lib/tap.sh"
. "$TOP/tests/lib/recorder.sh"

# script NAME: writes $TMP/NAME.json from the Python below.
mkscript() {
	"$PY" - "$TMP/$1.json" "$1" <<'PYEOF'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
hdr = lambda rev, cid="7": {"cluster_id": cid, "member_id": "1", "revision": str(rev), "raft_term": "2"}
def line(o): return json.dumps(o) + "\n"
def put(rev, key, val):
    return {"kv": {"key": b(key), "create_revision": str(rev), "mod_revision": str(rev),
                   "version": "1", "value": b(val)}}
def dele(rev, key):
    return {"type": "DELETE", "kv": {"key": b(key), "mod_revision": str(rev)}}
created = lambda: line({"result": {"header": hdr(13), "created": True}})
events = lambda rev, *evs: line({"result": {"header": hdr(rev), "events": list(evs)}})
rng = {"header": hdr(10), "kvs": [{"key": b("cilium/a"), "create_revision": "5",
       "mod_revision": "5", "version": "1", "value": b("one")}], "count": "1"}
ev12 = events(12, put(12, "cilium/c", "three"))
name = sys.argv[2]
if name == "chunks":
    watches = [
        [{"send": created(), "chunk": 1}, {"send": events(11, put(11, "cilium/b", "two")), "chunk": 1},
         {"cut": ev12[:len(ev12) // 2]}],
        [{"send": created()}, {"send": "{\"result\": nope\n"}, {"hold": True}],
        [{"send": created(), "chunk": 3},
         {"send": events(13, put(12, "cilium/c", "three"), dele(13, "cilium/a")), "chunk": 3},
         {"hold": True}],
    ]
if name == "stall":
    # Silent after one event (a half-open connection); then a stream that
    # etcd ends with its error object, unterminated (etcd-gateway.md 4.6).
    err = {"error": {"grpc_code": 14, "http_code": 503, "message": "etcdserver: no leader",
                     "http_status": "Service Unavailable"}}
    watches = [
        [{"send": created()}, {"send": events(11, put(11, "cilium/b", "two"))}, {"hold": True}],
        [{"send": created()}, {"send": ev12}, {"send": json.dumps(err)}, {"end": True}],
        [{"send": created()}, {"send": events(13, dele(13, "cilium/a"))}, {"hold": True}],
    ]
extra = {}
if name == "lineage":
    # Another history with the same cluster_id, past the watermark: the
    # newest key recorded, cilium/b at 11, holds another value there.
    # The first connection (the read that would tell) gets no reply.
    rng = {"header": hdr(20), "kvs": [{"key": b("cilium/b"), "create_revision": "11",
           "mod_revision": "11", "version": "1", "value": b("other")}], "count": "1"}
    watches = [[{"send": line({"result": {"header": hdr(20), "created": True}})},
                {"send": events(21, put(21, "cilium/c", "new"))}, {"hold": True}]]
    extra = {"empty": 1}
if name == "empty":
    watches = [[{"send": created()}, {"send": events(11, put(11, "cilium/b", "two"))}, {"hold": True}]]
    extra = {"empty": 3}
json.dump(dict(range=rng, watches=watches, **extra), open(sys.argv[1], "w"))
PYEOF
}

# fake NAME: start the fake gateway with script NAME; sets FAKE_URL.
fake() {
	rm -f "$TMP/port" "$TMP/$1.log"
	"$PY" "$TOP/tests/lib/fake_etcd.py" "$TMP/$1.json" "$TMP/port" "$TMP/$1.log" &
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	wait_until 10 test -s "$TMP/port" || bail "fake etcd did not start"
	FAKE_URL="http://127.0.0.1:$(cat "$TMP/port")"
}

mkscript chunks
fake chunks
db="$TMP/chunks.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$FAKE_URL" >"$TMP/chunks.rec" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
wait_until 20 db_reached "$db" 13
ok $? "recorded through revision 13 despite a cut and garbage"
starts=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["create_request"]["start_revision"])' "$TMP/chunks.log" | head -3 | tr '\n' ' ')
is "$starts" "11 12 12 " "watches resumed at 11, then 12 after the cut, 12 after the garbage"
is "$(db_history "$db" 0)" "11|PUT|cilium/b|74776F
12|PUT|cilium/c|7468726565
13|DELETE|cilium/a|" "each event exactly once, nothing from the partial or the garbage"
is "$(db_state "$db")" "cilium/b|74776F
cilium/c|7468726565" "state after revision 13"
grep -q 'malformed message' "$TMP/chunks.rec"
ok $? "the garbage line is logged as a malformed message"
kill -TERM "$rec"
wait "$rec"
ok $? "SIGTERM: exit 0"

# A stream that goes silent is left after --stall-timeout; one that etcd
# ends with an error object and no newline is over once that is read.
# Each resumes at the next revision, and the log says why it ended.
mkscript stall
fake stall
db="$TMP/stall.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$FAKE_URL" --stall-timeout 2 \
	>"$TMP/stall.rec" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
wait_until 20 db_reached "$db" 13
ok $? "a silent stream and an ended one: recorded through revision 13"
starts=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["create_request"]["start_revision"])' "$TMP/stall.log" | head -3 | tr '\n' ' ')
is "$starts" "11 12 13 " "…watches resumed at 12 after the stall, 13 after etcd's error"
is "$(db_history "$db" 0)" "11|PUT|cilium/b|74776F
12|PUT|cilium/c|7468726565
13|DELETE|cilium/a|" "…each event exactly once"
is "$(sed -n 's/^[^ ]* warn: watch on [^ ]* ended: //p' "$TMP/stall.rec" | head -2)" \
	"no data from etcd within the stall timeout (HTTP 0)
etcd ended the watch: etcd error 14: etcdserver: no leader (HTTP 200)" \
	"…one line for each end, saying why"
kill -TERM "$rec"
wait "$rec"
ok $? "SIGTERM: exit 0"

# A plain etcd that is restarting closes connections without a reply, like
# a TLS port does to a plain request (fault_tls.t): the recorder tries TLS
# once, gets HTTP back, and keeps retrying until etcd answers.
mkscript empty
fake empty
db="$TMP/empty.db"
"$BIN/hindsight-recorder" --db "$db" --endpoints "$FAKE_URL" -v >"$TMP/empty.rec" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
wait_until 20 db_reached "$db" 11
ok $? "empty replies: retried, then recorded through revision 11"
is "$(grep -c ' warn: .*Empty reply from server' "$TMP/empty.rec")" 3 "…a warn line for each of the 3 empty replies"
is "$(grep -v http "$TMP/empty.log.conns" | sort | uniq -c | awk '{printf "%s %s ", $2, $1}')" "empty 3 tls 1 " \
	"…one TLS probe for the whole streak of 3"
! grep -q ' error: ' "$TMP/empty.rec"
ok $? "…no error line"
kill -TERM "$rec"
wait "$rec"
ok $? "SIGTERM: exit 0"

# Resuming, the recorder asks etcd for the newest key recorded, to tell a
# cluster recreated with the same cluster_id (recorder_lineage.t).  When
# that read gets no answer, it is asked again before the watch: the new
# history is found, re-listed, and the gap recorded.
mkscript lineage
fake lineage
"$BIN/hindsight-recorder" --db "$db" --endpoints "$FAKE_URL" --catchup-streams 1 >"$TMP/lineage.rec" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
# (The watermark alone would not do: after the re-listing it counts in
# the new epoch, past 21 at once.)
c_recorded() { [ "$(q "$db" "SELECT count(*) FROM events e JOIN keys k ON k.id = e.key_id
	WHERE k.key = 'cilium/c'")" = 1 ]; }
wait_until 20 c_recorded
ok $? "lineage: recorded revision 21 of the other history"
grep -q ' warn: .*failed the read that tells whether it still holds the history recorded' "$TMP/lineage.rec"
ok $? "…the read with no reply is logged"
grep -q 'etcd holds another history' "$TMP/lineage.rec"
ok $? "…asked again, it finds the other history"
is "$(q "$db" "SELECT count(*) FROM gaps")" 1 "…and records the gap"
is "$(db_state "$db")" "cilium/b|6F74686572
cilium/c|6E6577" "state: the other history's"
kill -TERM "$rec"
wait "$rec"
ok $? "SIGTERM: exit 0"

done_testing
