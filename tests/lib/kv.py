#!/usr/bin/env python3
"""kv.py: talk to a test etcd over its JSON gateway, for the shell tests.

It writes (one key, a JSONL file of keys, many keys fast over one
keep-alive connection) and reads etcd's own view as the oracle the
recorder is checked against: the state of a prefix at a revision, and the
history of every event under a prefix.

  kv.py URL put KEY VALUE            (KEY or VALUE '@b64:...' is base64 bytes)
  kv.py URL putfile KEY FILE         value = the bytes of FILE
  kv.py URL del KEY
  kv.py URL load FILE.jsonl          ({"key":..., "value":...} per line)
  kv.py URL many N PREFIX [SIZE]     N puts of PREFIX<i>, keys reused mod N/2
  kv.py URL random N PREFIX SIZE     N keys PREFIX<i>, values of SIZE random bytes
  kv.py URL txn N PREFIX PER [SIZE]  N txns of PER puts each (one revision each),
                                     values of SIZE bytes (default: a few)
  kv.py URL delprefix PREFIX         delete every key under PREFIX (one revision)
  kv.py URL rev                      current revision
  kv.py URL state PREFIX [REV]       "key|hexvalue" lines at REV (default now)
  kv.py URL history PREFIX FROM      "rev|PUT|key|hexvalue" / "rev|DELETE|key|"
                                     for every event from revision FROM on
  kv.py URL frags PREFIX FROM        how etcd fragments a watch from FROM (as
                                     the recorder asks): "M F C L":
                                     messages, fragments, fragment ends that
                                     cut a revision, and the most messages
                                     one revision spans
  kv.py URL compact REV

With auth enabled in etcd, set ETCD_TOKEN to a token (kv.py URL auth
USER PASSWORD prints one).
"""
import base64
import http.client
import json
import os
import sys
import urllib.parse


def b64(b):
    return base64.b64encode(b).decode()


def prefix_end(p):
    b = bytearray(p)
    while b and b[-1] == 0xFF:
        b.pop()
    if not b:
        return b"\0"
    b[-1] += 1
    return bytes(b)


class Etcd:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def post(self, path, body):
        self.conn.request("POST", path, json.dumps(body), headers())
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit("kv.py: %s: HTTP %d %s" % (path, r.status, data[:200]))
        return json.loads(data)

    def put(self, key, value):
        return int(self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)})
                   ["header"]["revision"])

    def delete(self, key):
        return int(self.post("/v3/kv/deleterange", {"key": b64(key)})
                   ["header"]["revision"])

    def rev(self):
        return int(self.post("/v3/kv/range", {"key": "AA==", "count_only": True})
                   ["header"]["revision"])

    def state(self, prefix, rev=0):
        req = {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}
        if rev:
            req["revision"] = str(rev)
        out = []
        for kv in self.post("/v3/kv/range", req).get("kvs", []):
            out.append((base64.b64decode(kv["key"]),
                        base64.b64decode(kv.get("value", ""))))
        return out


def headers():
    h = {"Content-Type": "application/json"}
    if os.environ.get("ETCD_TOKEN"):
        h["Authorization"] = os.environ["ETCD_TOKEN"]
    return h


def value_arg(v):
    if v.startswith("@b64:"):
        return base64.b64decode(v[5:])
    return v.encode()


key_arg = value_arg  # keys are bytes too: '@b64:...' for any of them


def read_history(resp, head):
    """The events of a watch response as "rev|PUT|key|HEX" / "rev|DELETE|key|"
    lines, read until an event at head has arrived: every revision up to
    head is under the prefix in these tests, so the stream is complete."""
    out = []
    last = 0
    while last < head:
        line = resp.readline()
        if not line:
            break
        msg = json.loads(line).get("result", {})
        for ev in msg.get("events", []):
            kv = ev["kv"]
            rev = int(kv["mod_revision"])
            key = base64.b64decode(kv["key"]).decode("utf-8", "replace")
            if ev.get("type") == "DELETE":
                out.append("%d|DELETE|%s|" % (rev, key))
            else:
                val = base64.b64decode(kv.get("value", ""))
                out.append("%d|PUT|%s|%s" % (rev, key, val.hex().upper()))
            last = max(last, rev)
    return out


def fragments(url, prefix, start):
    """Watch like the recorder does, fragment included, up to the current
    revision: (messages, fragments, cuts inside a revision)."""
    head = Etcd(url).rev()
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    req = {"create_request": {"key": b64(prefix), "range_end": b64(prefix_end(prefix)),
                              "start_revision": str(start), "fragment": True}}
    conn.request("POST", "/v3/watch", json.dumps(req), headers())
    resp = conn.getresponse()
    msgs = frags = cuts = 0
    last, open_rev = 0, None
    spans = {}
    while last < head:
        line = resp.readline()
        if not line:
            break
        msg = json.loads(line).get("result", {})
        evs = msg.get("events", [])
        if not evs:
            continue
        msgs += 1
        if open_rev is not None and int(evs[0]["kv"]["mod_revision"]) == open_rev:
            cuts += 1
        for rev in set(int(ev["kv"]["mod_revision"]) for ev in evs):
            spans[rev] = spans.get(rev, 0) + 1
        last = int(evs[-1]["kv"]["mod_revision"])
        open_rev = None
        if msg.get("fragment"):
            frags += 1
            open_rev = last
    conn.close()
    return msgs, frags, cuts, max(spans.values(), default=0)


def history(url, prefix, start):
    """Every event under prefix from start up to the current revision."""
    e = Etcd(url)
    head = e.rev()
    if head < start:
        return []
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    req = {"create_request": {"key": b64(prefix), "range_end": b64(prefix_end(prefix)),
                              "start_revision": str(start)}}
    conn.request("POST", "/v3/watch", json.dumps(req), headers())
    out = read_history(conn.getresponse(), head)
    conn.close()
    return out


def main():
    url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    e = Etcd(url)
    if cmd == "put":
        print(e.put(key_arg(args[0]), value_arg(args[1])))
    elif cmd == "putfile":
        with open(args[1], "rb") as f:
            print(e.put(key_arg(args[0]), f.read()))
    elif cmd == "del":
        print(e.delete(key_arg(args[0])))
    elif cmd == "load":
        rev = 0
        for line in open(args[0]):
            if line.strip():
                o = json.loads(line)
                rev = e.put(o["key"].encode(), o["value"].encode())
        print(rev)
    elif cmd == "many":
        n, prefix = int(args[0]), args[1]
        size = int(args[2]) if len(args) > 2 else 40
        rev = 0
        for i in range(n):
            key = ("%s%06d" % (prefix, i % max(1, n // 2))).encode()
            val = ("v%d-" % i).encode() + b"x" * size
            rev = e.put(key, val)
        print(rev)
    elif cmd == "random":
        n, prefix, size = int(args[0]), args[1], int(args[2])
        rev = 0
        for i in range(n):
            rev = e.put(("%s%06d" % (prefix, i)).encode(), os.urandom(size))
        print(rev)
    elif cmd == "txn":
        n, prefix, per = int(args[0]), args[1], int(args[2])
        size = int(args[3]) if len(args) > 3 else 0
        rev = 0
        for i in range(n):
            val = ("t%d" % i).encode()
            val += b"v" * max(0, size - len(val))
            ops = [{"request_put": {"key": b64(("%s%d-%d" % (prefix, i % 50, j)).encode()),
                                    "value": b64(val)}} for j in range(per)]
            rev = int(e.post("/v3/kv/txn", {"success": ops})["header"]["revision"])
        print(rev)
    elif cmd == "delprefix":
        p = args[0].encode()
        print(int(e.post("/v3/kv/deleterange", {"key": b64(p), "range_end": b64(prefix_end(p))})
                  ["header"]["revision"]))
    elif cmd == "rev":
        print(e.rev())
    elif cmd == "state":
        rev = int(args[1]) if len(args) > 1 else 0
        for k, v in e.state(args[0].encode(), rev):
            print("%s|%s" % (k.decode("utf-8", "replace"), v.hex().upper()))
    elif cmd == "history":
        for line in history(url, args[0].encode(), int(args[1])):
            print(line)
    elif cmd == "frags":
        print("%d %d %d %d" % fragments(url, args[0].encode(), int(args[1])))
    elif cmd == "auth":
        print(e.post("/v3/auth/authenticate", {"name": args[0], "password": args[1]})["token"])
    elif cmd == "compact":
        e.post("/v3/kv/compaction", {"revision": args[0], "physical": True})
    else:
        sys.exit("kv.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
