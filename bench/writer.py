#!/usr/bin/env python3
"""writer.py: write the benchmark workload into a test etcd (127.0.0.1 only).

  writer.py URL txn FILE         the events of FILE ("P key value" / "D key",
                                 base64, from store_bench dump) in /v3/kv/txn
                                 requests of up to 128 ops: many events per
                                 revision (etcd-gateway.md section 7)
  writer.py URL single FILE [W]  the same, one request per event (one event
                                 per revision, the usual Cilium shape), over W
                                 keep-alive connections (default 4); a key's
                                 events stay in order
  writer.py URL keys N           N distinct ipcache keys, by txn (a snapshot)
  writer.py URL live RATE SECS OUT
                                 RATE events/s for SECS seconds, as txns of
                                 up to 128 puts at a steady pace; OUT gets
                                 "rev send_us ack_us" per txn: wall times
                                 just before sending and when etcd answered
                                 (it answers once the txn is committed)
Prints the last revision written.
"""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse

MAX_OPS = 128


def conn(url):
    u = urllib.parse.urlparse(url)
    if u.hostname != "127.0.0.1":
        sys.exit("writer.py: only 127.0.0.1")
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def post(c, path, body):
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit("writer.py: %s: HTTP %d %s" % (path, r.status, data[:200]))
    return int(json.loads(data)["header"]["revision"])


def op(line):
    f = line.split()
    if f[0] == "P":
        return f[1], {"request_put": {"key": f[1], "value": f[2] if len(f) > 2 else ""}}
    return f[1], {"request_delete_range": {"key": f[1]}}


def txn(url, lines):
    c = conn(url)
    rev, ops, keys = 0, [], set()
    for line in lines:
        k, o = op(line)
        if k in keys or len(ops) == MAX_OPS:  # etcd refuses a key twice
            rev = post(c, "/v3/kv/txn", {"success": ops})
            ops, keys = [], set()
        ops.append(o)
        keys.add(k)
    if ops:
        rev = post(c, "/v3/kv/txn", {"success": ops})
    return rev


def single(url, lines, workers):
    parts = [[] for _ in range(workers)]
    for line in lines:
        parts[hash(line.split()[1]) % workers].append(line)
    revs = [0] * workers

    def run(i):
        c = conn(url)
        for line in parts[i]:
            f = line.split()
            if f[0] == "P":
                revs[i] = post(c, "/v3/kv/put",
                               {"key": f[1], "value": f[2] if len(f) > 2 else ""})
            else:
                revs[i] = post(c, "/v3/kv/deleterange", {"key": f[1]})

    ts = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return max(revs)


def ipcache(i, stamp=0):
    ip = "10.%d.%d.%d" % (8 + i // 65536, i // 256 % 256, i % 256)
    key = "cilium/state/ip/v1/default/" + ip
    val = ('{"IP":"%s","Mask":null,"HostIP":"10.5.%d.%d","ID":%d,"Key":0,'
           '"Metadata":"cilium-global:default:k8s-node-%03d:%d",'
           '"K8sNamespace":"ns-%d","K8sPodName":"app-%d-6bdbdbf7dc-%05x",'
           '"K8sServiceAccount":"t%d"}'
           % (ip, i // 256 % 256, i % 256, 256 + i % 5000, i % 256, i % 4000,
              i % 40, i % 400, i, stamp))
    b = lambda s: base64.b64encode(s.encode()).decode()
    return b(key), b(val)


def keys(url, n):
    lines = []
    for i in range(n):
        k, v = ipcache(i)
        lines.append("P %s %s" % (k, v))
    return txn(url, lines)


def live(url, rate, secs, out):
    c = conn(url)
    # As few txns as the rate allows: etcd takes ~100 txns/s here at best.
    per = min(MAX_OPS, max(1, rate // 40))
    hz = rate / per
    n, rev, t0 = 0, 0, time.time()
    with open(out, "w") as f:
        for tick in range(int(secs * hz)):
            due = t0 + tick / hz
            d = due - time.time()
            if d > 0:
                time.sleep(d)
            us = int(time.time() * 1e6)
            ops = []
            for _ in range(per):
                k, v = ipcache(n % 5000, us)
                ops.append({"request_put": {"key": k, "value": v}})
                n += 1
            rev = post(c, "/v3/kv/txn", {"success": ops})
            f.write("%d %d %d\n" % (rev, us, int(time.time() * 1e6)))
    return rev


def main():
    url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd in ("txn", "single"):
        with open(args[0]) as f:
            lines = [l for l in f if l.strip()]
        if cmd == "txn":
            print(txn(url, lines))
        else:
            print(single(url, lines, int(args[1]) if len(args) > 1 else 4))
    elif cmd == "keys":
        print(keys(url, int(args[0])))
    elif cmd == "live":
        print(live(url, int(args[0]), float(args[1]), args[2]))
    else:
        sys.exit("writer.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
