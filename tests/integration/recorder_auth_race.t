#!/bin/sh
# A read of the watched member answered late, with the token refused,
# while the recorder already authenticates again for its next watch: the
# authentication goes on with the resume, not with the read (which needs
# nothing done after it), or no watch would ever start again.
#
# A fake gateway (inline below) orders it: the first watch runs until the
# first liveness read (keys_only) arrives, then ends; the resume's
# lineage read is refused the token (401), so the resume authenticates
# again; only once that authentication has arrived does the liveness
# read get its answer, a 401 as well; the authentication is answered a
# second later.  Then the recorder must resume: read the lineage again
# and start a second watch.
. "$(dirname "$0")/../lib/tap.sh"

cat >"$TMP/fake.py" <<'PYEOF'
import base64, json, socket, socketserver, sys, threading, time
b = lambda s: base64.b64encode(s.encode()).decode()
hdr = lambda rev: {"cluster_id": "7", "member_id": "1", "revision": str(rev),
                   "raft_term": "2"}
kv = {"key": b("cilium/a"), "create_revision": "5", "mod_revision": "5",
      "version": "1", "value": b("one")}
refused = {"error": "etcdserver: invalid auth token", "code": 16,
           "message": "etcdserver: invalid auth token"}
lock = threading.Lock()
count = {"auth": 0, "alive": 0, "lineage": 0, "watch": 0}
alive_in = threading.Event()
auth2_in = threading.Event()
LOG = sys.argv[2]


def note(what):
    with lock:
        count[what] += 1
        n = count[what]
        with open(LOG, "a") as f:
            f.write("%s %d\n" % (what, n))
    return n


class H(socketserver.StreamRequestHandler):
    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.wfile.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (status, len(data), data))
        self.wfile.flush()

    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split()[1].decode()
            n = 0
            while True:
                h = self.rfile.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode().partition(":")
                if k.lower() == "content-length":
                    n = int(v.strip())
            body = json.loads(self.rfile.read(n) or b"{}")
            if path == "/v3/auth/authenticate":
                if note("auth") > 1:
                    auth2_in.set()
                    time.sleep(1.0)
                self.reply(200, {"header": hdr(10), "token": "tok"})
            elif path == "/v3/watch":
                self.watch()
                return
            elif body.get("keys_only"):
                if note("alive") == 1:
                    alive_in.set()
                    auth2_in.wait(20)
                    time.sleep(0.2)
                    self.reply(401, refused)
                else:
                    self.reply(200, {"header": hdr(10)})
            elif "revision" in body:
                if note("lineage") == 1:
                    self.reply(401, refused)
                else:
                    self.reply(200, {"header": hdr(10), "kvs": [kv], "count": "1"})
            else:
                self.reply(200, {"header": hdr(10), "kvs": [kv], "count": "1"})

    def watch(self):
        n = note("watch")
        s = self.connection
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        data = (json.dumps({"result": {"header": hdr(10), "created": True}})
                + "\n").encode()
        s.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        if n == 1:
            alive_in.wait(20)
            s.sendall(b"0\r\n\r\n")
            return
        while s.recv(4096):
            pass


class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
PYEOF
"$PY" "$TMP/fake.py" "$TMP/port" "$TMP/fake.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_until 10 test -s "$TMP/port" || bail "fake etcd did not start"
printf 'secret\n' >"$TMP/pw"
"$BIN/hindsight-recorder" --db "$TMP/r.db" --catchup-streams 1 \
	--endpoints "http://127.0.0.1:$(cat "$TMP/port")" \
	--user root --password-file "$TMP/pw" >"$TMP/rec.log" 2>&1 &
rec=$!
CLEANUP_PIDS="$CLEANUP_PIDS $rec"
wait_until 20 grep -q '^auth 2$' "$TMP/fake.log"
r=$?; ok $r "the resume authenticates again"; [ $r -eq 0 ] || diag "$(cat "$TMP/fake.log")"
wait_until 20 grep -q '^alive 1$' "$TMP/fake.log"
wait_until 10 grep -q '^watch 2$' "$TMP/fake.log"
r=$?; ok $r "…and a second watch starts, the late refused read notwithstanding"; [ $r -eq 0 ] ||
	diag "$(cat "$TMP/fake.log" "$TMP/rec.log")"
grep -q '^lineage 2$' "$TMP/fake.log"
ok $? "…after the lineage read asked again"
kill -TERM "$rec"
wait "$rec"
ok $? "SIGTERM: exit 0"
done_testing
