#!/usr/bin/env python3
"""faultkv.py: etcd gateway helpers for the failure-mode tests (fault_*.t).

Like kv.py, but for several members, TLS and heavy writers.  URLS is a
comma-separated list of client URLs; https:// uses the files named by
FAULT_CACERT, FAULT_CERT and FAULT_KEY.

  faultkv.py URLS writer N PREFIX [RATE] [SIZE]
        N puts of PREFIX<i mod N/2> at up to RATE puts/s (0: flat out)
        through any live member (under cilium/state/ip/v1/..., ipcache
        entries of IPs 10.*): a failed put moves to the next member and
        is retried there (it may then be applied twice: etcd's history is
        the oracle, so that is fine).  Prints "puts=N retries=N rev=R".
  faultkv.py URLS txn T OPS PREFIX [SIZE [del]]
        T transactions of OPS puts each (etcd allows 128), flat out; with
        "del", every tenth operation deletes its key instead.  Under
        cilium/state/ip/v1/..., ipcache entries of IPs 172.16.*.
  faultkv.py URLS rev                    current revision (first live member)
  faultkv.py URLS state PREFIX           "key|hexvalue" lines, now
  faultkv.py URLS history PREFIX FROM    like kv.py history
  faultkv.py URLS leader                 the client URL of the leader
  faultkv.py URLS members                "URL member_id" per live member
"""
import base64
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kv import b64, prefix_end, read_history  # noqa: E402  (one copy each)


def connect(url, timeout=10):
    u = urllib.parse.urlparse(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=os.environ.get("FAULT_CACERT"))
        if os.environ.get("FAULT_CERT"):
            ctx.load_cert_chain(os.environ["FAULT_CERT"], os.environ.get("FAULT_KEY"))
        return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


HDRS = {"Content-Type": "application/json", "Grpc-Metadata-Hasleader": "true"}


class Member:
    def __init__(self, url, timeout=10):
        self.url = url
        self.timeout = timeout
        self.conn = None

    def post(self, path, body):
        if self.conn is None:
            self.conn = connect(self.url, self.timeout)
        try:
            self.conn.request("POST", path, json.dumps(body), HDRS)
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if r.status != 200:
            raise IOError("%s%s: HTTP %d %s" % (self.url, path, r.status, data[:200]))
        return json.loads(data)


class Cluster:
    """Requests to the first member that answers; on failure, the next."""

    def __init__(self, urls, timeout=10):
        self.members = [Member(u, timeout) for u in urls.split(",")]
        self.cur = 0
        self.retries = 0

    def post(self, path, body, patience=60):
        last = None
        end = time.time() + patience
        while time.time() < end:
            m = self.members[self.cur]
            try:
                return m.post(path, body)
            except Exception as e:  # connection refused, 503 no leader, timeout
                last = e
                self.retries += 1
                self.cur = (self.cur + 1) % len(self.members)
                time.sleep(0.05)
        sys.exit("faultkv.py: %s: giving up: %s" % (path, last))

    def rev(self):
        return int(self.post("/v3/kv/range", {"key": "AA==", "count_only": True})
                   ["header"]["revision"])


def history(urls, prefix, start):
    c = Cluster(urls)
    head = c.rev()
    if head < start:
        return []
    url = c.members[c.cur].url
    conn = connect(url, 30)
    req = {"create_request": {"key": b64(prefix), "range_end": b64(prefix_end(prefix)),
                              "start_revision": str(start)}}
    conn.request("POST", "/v3/watch", json.dumps(req), HDRS)
    out = read_history(conn.getresponse(), head)
    conn.close()
    return out


def members(urls):
    out = []
    for u in urls.split(","):
        try:
            st = Member(u, 2).post("/v3/maintenance/status", {})
            out.append((u, st["header"]["member_id"], st.get("leader")))
        except Exception:
            pass
    return out


IPCACHE = "cilium/state/ip/v1/"


def ipcache_value(ip, tag, size):
    """An ipcache entry as Cilium writes it, SIZE bytes of pod name."""
    return json.dumps({"IP": ip, "Mask": None, "HostIP": "192.168.0.1",
                       "ID": 1000 + len(tag) % 7, "Key": 0, "Metadata": tag,
                       "K8sNamespace": "default",
                       "K8sPodName": "pod-" + "x" * size}).encode()


def main():
    urls, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "writer":
        n, prefix = int(args[0]), args[1]
        rate = float(args[2]) if len(args) > 2 else 0
        size = int(args[3]) if len(args) > 3 else 40
        c = Cluster(urls, timeout=3)
        t0 = time.time()
        rev = 0
        for i in range(n):
            if rate > 0:
                d = t0 + i / rate - time.time()
                if d > 0:
                    time.sleep(d)
            k = i % max(1, n // 2)
            if prefix.startswith(IPCACHE):
                ip = "10.%d.%d.%d" % (1 + (k >> 16) % 250, (k >> 8) & 255, k & 255)
                key = (prefix + ip).encode()
                val = ipcache_value(ip, "v%d" % i, size)
            else:
                key = ("%s%06d" % (prefix, k)).encode()
                val = ("v%d-" % i).encode() + b"x" * size
            rev = int(c.post("/v3/kv/put", {"key": b64(key), "value": b64(val)})
                      ["header"]["revision"])
        print("puts=%d retries=%d rev=%d" % (n, c.retries, rev))
    elif cmd == "txn":
        t, ops, prefix = int(args[0]), int(args[1]), args[2]
        size = int(args[3]) if len(args) > 3 else 40
        dels = len(args) > 4 and args[4] == "del"
        c = Cluster(urls, timeout=30)
        rev = 0
        for i in range(t):
            succ = []
            for j in range(ops):
                if prefix.startswith(IPCACHE):
                    ip = "172.16.%d.%d" % (i % 50, j)
                    key = (prefix + ip).encode()
                else:
                    key = ("%s%04d/%03d" % (prefix, i % 50, j)).encode()
                if dels and (i // 50 + j) % 10 == 9:
                    succ.append({"request_delete_range": {"key": b64(key)}})
                    continue
                if prefix.startswith(IPCACHE):
                    val = ipcache_value(ip, "t%d-%d" % (i, j), size)
                else:
                    val = ("t%d-%d-" % (i, j)).encode() + b"x" * size
                succ.append({"request_put": {"key": b64(key), "value": b64(val)}})
            rev = int(c.post("/v3/kv/txn", {"success": succ})["header"]["revision"])
        print(rev)
    elif cmd == "rev":
        print(Cluster(urls).rev())
    elif cmd == "state":
        p = args[0].encode()
        res = Cluster(urls).post("/v3/kv/range", {"key": b64(p), "range_end": b64(prefix_end(p))})
        for kv in res.get("kvs", []):
            print("%s|%s" % (base64.b64decode(kv["key"]).decode("utf-8", "replace"),
                             base64.b64decode(kv.get("value", "")).hex().upper()))
    elif cmd == "history":
        for line in history(urls, args[0].encode(), int(args[1])):
            print(line)
    elif cmd == "members":
        for u, mid, _ in members(urls):
            print(u, mid)
    elif cmd == "leader":
        ms = members(urls)
        for u, mid, leader in ms:
            if leader is not None and any(leader == m2 for _, m2, _ in ms) and leader == mid:
                print(u)
                return
        sys.exit("faultkv.py: no leader among live members")
    else:
        sys.exit("faultkv.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
