#!/usr/bin/env python3
"""lag.py: live lag for bench/run.sh.

  lag.py poll DB OUT        until killed: every 2 ms read the
                            watermark (meta.recorded_rev) of DB, read-only;
                            OUT gets "rev us" each time it moves (us: wall
                            clock when it was first seen)
  lag.py lag WRITES TIMES   WRITES: "rev send_us ack_us" per write (from
                            writer.py live); TIMES: "rev us" in rising
                            order, the moment everything up to rev was seen
                            (a poll) or received (drain).  Prints "p50 p99"
                            of the lag in ms, from etcd's answer (the commit
                            is just before it) to the first TIMES entry at
                            or above the write's revision.
"""
import bisect
import sqlite3
import sys
import time


def poll(db, out):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    last = None
    with open(out, "w", buffering=1) as f:
        while True:
            row = con.execute(
                "SELECT value FROM meta WHERE name = 'recorded_rev'").fetchone()
            if row and row[0] != last:
                last = row[0]
                f.write("%d %d\n" % (last, int(time.time() * 1e6)))
            time.sleep(0.002)


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2:
                out.append((int(p[0]), int(p[-1])))
    return out


def lag(writes, times):
    w, t = load(writes), load(times)
    revs = [r for r, _ in t]
    lags = []
    for rev, us in w:
        i = bisect.bisect_left(revs, rev)
        if i < len(t):
            lags.append((t[i][1] - us) / 1000.0)
    if not lags:
        print("nan nan")
        return
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    print("%.1f %.1f" % (pick(0.5), pick(0.99)))


if __name__ == "__main__":
    if sys.argv[1] == "poll":
        try:
            poll(sys.argv[2], sys.argv[3])
        except KeyboardInterrupt:
            pass
    else:
        lag(sys.argv[2], sys.argv[3])
