#!/usr/bin/env python3
"""simcheck.py: ask `hindsight` what a user would ask about a recorded
cilium-sim run, and compare every answer with the run's ground truth.

    simcheck.py TRUTH DB HINDSIGHT LOCAL_CLUSTER SEED

TRUTH is the --truth file of the run, DB the db hindsight-recorder wrote
while it ran (recorded through the run's last revision).  Questions are
drawn from the truth, deterministically from SEED: who held an IP at a
revision just before, at and just after every kind of change (a new holder,
a release, a DELETE burst of a crash or a <=1.13 restart, a >=1.14
restart's re-put), at random revisions (many answers are "nobody"), at the
instant the recorder observed a revision (`--at TIME`); which labels and
which nodes an identity had around its creation, its GC and its reuse with
other labels; the IPs a pod had; a node's addresses; a service's frontends
and backends.  Remote clusters reflected by kvstoremesh are asked too.

Prints one line per kind of question, "KIND<TAB>ASKED<TAB>EMPTY<TAB>WRONG"
(EMPTY: how many of the right answers were "nobody"/"none"), then the
first wrong answers of each kind as "# KIND: question: got ... want ...".
"""

import bisect
import datetime
import json
import random
import subprocess
import sys

STATE = "cilium/state/"
SLAVES = STATE + "identities/v1/value/"


def read_truth(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Intervals:
    """Per subject: sorted [from_rev, to_rev or None, value]."""

    def __init__(self):
        self.by = {}

    def open(self, subject, rev, value):
        rows = self.by.setdefault(subject, [])
        if rows and rows[-1][1] is None:
            rows[-1][1] = rev
        rows.append([rev, None, value])

    def close(self, subject, rev):
        rows = self.by.get(subject)
        if rows and rows[-1][1] is None:
            rows[-1][1] = rev

    def at(self, subject, rev):
        for start, end, value in self.by.get(subject, ()):
            if start <= rev and (end is None or rev < end):
                return value
        return None


class Truth:
    def __init__(self, lines, local):
        self.local = local
        self.ips = Intervals()      # (cluster, ip) -> holder fact
        self.ids = Intervals()      # (cluster, id) -> labels
        self.keys = Intervals()     # key -> value (every key)
        self.slaves = []            # (from, to, id, labels, node ip)
        self.events = []            # (rev, kind, subject)
        self.bursts = {}            # rev -> [keys]
        self.revs = sorted({ln["rev"] for ln in lines if "op" in ln})
        open_slaves = {}
        for ln in lines:
            rev = ln["rev"]
            if ln.get("op") == "put":
                self.keys.open(ln["key"], rev, ln["value"])
                if ln["key"].startswith(SLAVES):
                    old = open_slaves.pop(ln["key"], None)
                    if old:
                        self.slaves.append((old[0], rev) + old[1:])
                    labels, node = ln["key"][len(SLAVES):].rsplit("/", 1)
                    open_slaves[ln["key"]] = (rev, int(ln["value"]), labels, node)
                if ln["lease"] and rev > 1:
                    self.events.append((rev, "put", ln["key"]))
            elif ln.get("op") == "delete":
                self.keys.close(ln["key"], rev)
                old = open_slaves.pop(ln["key"], None)
                if old:
                    self.slaves.append((old[0], rev) + old[1:])
                if "lease" in ln:
                    self.bursts.setdefault(rev, []).append(ln["key"])
            elif ln.get("fact") == "ip":
                self.ips.open((ln["cluster"], ln["ip"]), rev, ln)
                self.events.append((rev, "ip", (ln["cluster"], ln["ip"])))
            elif ln.get("fact") == "ip_released":
                self.ips.close((ln["cluster"], ln["ip"]), rev)
                self.events.append((rev, "ip", (ln["cluster"], ln["ip"])))
            elif ln.get("fact") == "identity":
                self.ids.open((ln["cluster"], ln["id"]), rev, ln["labels"])
                self.events.append((rev, "id", (ln["cluster"], ln["id"])))
            elif ln.get("fact") == "identity_deleted":
                self.ids.close((ln["cluster"], ln["id"]), rev)
                self.events.append((rev, "id", (ln["cluster"], ln["id"])))
        for key, (start, ident, labels, node) in open_slaves.items():
            self.slaves.append((start, None, ident, labels, node))
        self.ip_of_key = {}
        for (cluster, ip), rows in self.ips.by.items():
            for row in rows:
                self.ip_of_key[row[2]["key"]] = (cluster, ip)

    def users(self, ident, labels, rev):
        """Node IPs whose slave key of labels names ident at rev."""
        return sorted({node for start, end, i, lab, node in self.slaves
                       if i == ident and lab == labels and start <= rev
                       and (end is None or rev < end)})

    def cluster_col(self, cluster):
        """The recorder's cluster column: "" for the local cilium/state keys."""
        return "" if cluster == self.local else cluster


class Checker:
    def __init__(self, truth, db, hindsight, seed):
        self.t = truth
        self.db = db
        self.bin = hindsight
        self.rng = random.Random(seed)
        self.asked = {}
        self.nobody = {}
        self.wrong = {}
        # A recorder started during the run knows from its first snapshot on.
        status = self.query("status")
        self.first = max(truth.revs[0], status[0]["first_rev"])
        self.last = truth.revs[-1]

    def query(self, *args):
        out = subprocess.run([self.bin, "--db", self.db, "--format", "json", *args],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return f"exit {out.returncode}: {out.stderr.strip()}"
        return json.loads(out.stdout)

    def verdict(self, kind, question, got, want):
        self.asked[kind] = self.asked.get(kind, 0) + 1
        self.nobody[kind] = self.nobody.get(kind, 0) + (want == [])
        if got != want:
            self.wrong.setdefault(kind, []).append(f"{question}: got {got} want {want}")

    def near(self, rev):
        return [r for r in (rev - 1, rev, rev + 1) if self.first <= r <= self.last]

    # ip ADDR --at T

    def want_ip(self, subject, rev):
        fact = self.t.ips.at(subject, rev)
        if fact is None:
            return []
        return [{"cluster": self.t.cluster_col(fact["cluster"]), "identity": fact["identity"],
                 "namespace": fact["namespace"], "pod": fact["pod"], "node": fact["node"],
                 "host_ip": fact["host_ip"], "labels": fact["labels"]}]

    @staticmethod
    def got_ip(rows):
        if isinstance(rows, str):
            return rows
        return [{"cluster": r["cluster"], "identity": r["identity"], "namespace": r["namespace"],
                 "pod": r["pod"], "node": r["node"], "host_ip": r["host_ip"],
                 "labels": "".join(lab + ";" for lab in r["labels"])} for r in rows]

    def ask_ip(self, kind, subject, rev, at=None):
        rows = self.query("ip", subject[1], "--at", at or f"rev:{rev}")
        if at and not isinstance(rows, str) and rows and rows[0].get("at_rev") != rev:
            self.verdict(kind, f"ip {subject[1]} --at {at}", f"at_rev {rows[0]['at_rev']}",
                         f"at_rev {rev}")
            return
        # Only the asked cluster's row: the same address in another
        # cluster is another question.
        got = self.got_ip(rows)
        if not isinstance(got, str):
            got = [g for g in got if g["cluster"] == self.t.cluster_col(subject[0])]
        self.verdict(kind, f"ip {subject[1]} ({subject[0]}) --at {at or f'rev:{rev}'}", got,
                     self.want_ip(subject, rev))

    # identity N --at T

    def want_id(self, subject, rev):
        labels = self.t.ids.at(subject, rev)
        if labels is None:
            return []
        users = self.t.users(subject[1], labels, rev) if subject[0] == self.t.local else []
        return [{"cluster": self.t.cluster_col(subject[0]), "labels": labels, "nodes": users}]

    def ask_id(self, kind, subject, rev):
        rows = self.query("identity", str(subject[1]), "--at", f"rev:{rev}")
        got = rows
        if not isinstance(rows, str):
            got = [{"cluster": r["cluster"], "labels": "".join(lab + ";" for lab in r["labels"]),
                    "nodes": sorted(r["nodes"])} for r in rows]
        self.verdict(kind, f"identity {subject[1]} ({subject[0]}) --at rev:{rev}", got,
                     self.want_id(subject, rev))

    # The questions.

    def sample(self, items, n):
        items = list(items)
        return items if len(items) <= n else self.rng.sample(items, n)

    def run(self):
        t = self.t
        # Changes the recorder saw: after its first snapshot.
        events = [(rev, kind, s) for rev, kind, s in t.events if rev > self.first]
        ip_events = [(rev, s) for rev, kind, s in events if kind == "ip"]
        for rev, subject in self.sample(ip_events, 90):
            for r in self.near(rev):
                self.ask_ip("ip around a change", subject, r)

        # A DELETE burst (crash expiry, <=1.13 restart): what it released,
        # just before and at it.
        for rev in self.sample([r for r in sorted(t.bursts) if r > self.first], 8):
            keys = t.bursts[rev]
            for key in self.sample([k for k in keys if k in t.ip_of_key], 8):
                for r in (rev - 1, rev):
                    self.ask_ip("ip around a DELETE burst", t.ip_of_key[key], r)
            for key in self.sample([k for k in keys if k.startswith(SLAVES)], 4):
                subject = (t.local, int(t.keys.at(key, rev - 1)))
                for r in (rev - 1, rev):
                    self.ask_id("identity users around a DELETE burst", subject, r)

        # A re-put on a new lease (>=1.14 restart): nothing changes.
        reputs = [(rev, key) for rev, kind, key in events
                  if kind == "put" and t.keys.at(key, rev - 1) is not None]
        for rev, key in self.sample([r for r in reputs if r[1] in t.ip_of_key], 30):
            for r in self.near(rev):
                self.ask_ip("ip around a re-put", t.ip_of_key[key], r)
        for rev, key in self.sample([r for r in reputs if r[1].startswith(SLAVES)], 15):
            for r in self.near(rev):
                self.ask_id("identity users around a re-put", (t.local, int(t.keys.at(key, rev))), r)

        subjects = sorted(t.ips.by)
        for _ in range(120):
            self.ask_ip("ip at random revisions", self.rng.choice(subjects),
                        self.rng.randint(self.first, self.last))

        # --at TIME: the instant the recorder observed a revision, and the
        # microsecond before it.
        times = self.query("sql", "SELECT etcd_rev, t_hi_us FROM revisions "
                                  "WHERE how = 'watch' ORDER BY rev")
        if isinstance(times, str):
            self.verdict("ip --at TIME", "revision times", times, "rows")
        else:
            when = {row["etcd_rev"]: row["t_hi_us"] for row in times}
            seen = [(rev, subject) for rev, subject in ip_events
                    if rev in when and rev - 1 in when and when[rev - 1] < when[rev]]
            for rev, subject in self.sample(seen, 30):
                self.ask_ip("ip --at TIME", subject, rev, at=self.rfc3339(when[rev]))
                self.ask_ip("ip --at TIME", subject, rev - 1, at=self.rfc3339(when[rev] - 1))

        id_events = [(rev, s) for rev, kind, s in events if kind == "id"]
        for rev, subject in self.sample(id_events, 45):
            for r in self.near(rev):
                self.ask_id("identity around a change", subject, r)
        reused = [s for s, rows in t.ids.by.items() if len({row[2] for row in rows}) > 1]
        for subject in self.sample(reused, 10):
            for start, end, _ in t.ids.by[subject]:
                for r in [start - 1, start] + ([end - 1, end] if end else []):
                    if self.first <= r <= self.last:
                        self.ask_id("identity reused with other labels", subject, r)
        id_subjects = sorted(t.ids.by)
        for _ in range(80):
            self.ask_id("identity at random revisions", self.rng.choice(id_subjects),
                        self.rng.randint(self.first, self.last))

        self.check_labels()
        self.check_pods()
        self.check_nodes()
        self.check_services()

    def check_labels(self):
        """labels K=V --at rev:R: the identities carrying the label, with
        the addresses that held each and the nodes using it."""
        pairs = sorted({lab.split(":", 1)[1] for rows in self.t.ids.by.values()
                        for row in rows for lab in row[2].split(";")
                        if lab.startswith("k8s:app")})
        for _ in range(40):
            pair = self.rng.choice(pairs)
            rev = self.rng.randint(self.first, self.last)
            want = []
            for (cluster, ident), rows in self.t.ids.by.items():
                labels = self.t.ids.at((cluster, ident), rev)
                if labels is None or f":{pair};" not in labels:
                    continue
                ips = sorted(ip for (c, ip) in self.t.ips.by
                             if c == cluster and (self.t.ips.at((c, ip), rev) or {}).get("identity") == ident)
                users = self.t.users(ident, labels, rev) if cluster == self.t.local else []
                want.append((self.t.cluster_col(cluster), ident, labels, ips, users))
            rows = self.query("labels", pair, "--at", f"rev:{rev}")
            got = rows if isinstance(rows, str) else sorted(
                (r["cluster"], r["identity"], "".join(lab + ";" for lab in r["labels"]),
                 sorted(r["ips"]), sorted(r["nodes"])) for r in rows)
            self.verdict("labels --at", f"labels {pair} --at rev:{rev}", got, sorted(want))

    @staticmethod
    def rfc3339(us):
        moment = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{us % 1000000:06d}Z"

    def check_pods(self):
        """pod NS/NAME: every address, identity and node it ever had."""
        pods = {}
        for (cluster, ip), rows in self.t.ips.by.items():
            for start, end, fact in rows:
                if end is not None and end <= self.first:
                    continue
                if start < self.first:
                    # Found by the first snapshot: from its last write.
                    start = self.last_put(fact["key"], self.first)
                pods.setdefault((fact["namespace"], fact["pod"]), []).append(
                    (ip, self.t.cluster_col(cluster), fact["identity"], fact["node"], start, end))
        for ns, name in self.sample(sorted(pods), 30):
            rows = self.query("pod", f"{ns}/{name}")
            # Leases the run left behind expire after it: not in the truth.
            got = rows if isinstance(rows, str) else sorted(
                (r["ip"], r["cluster"], r["identity"], r["node"], r["from_rev"],
                 r["to_rev"] if r["to_rev"] is None or r["to_rev"] <= self.last else None)
                for r in rows)
            self.verdict("pod history", f"pod {ns}/{name}", got, self.merge(pods[(ns, name)]))

    def last_put(self, key, rev):
        """The revision of key's last write at or before rev."""
        return max(start for start, _, _ in self.t.keys.by[key] if start <= rev)

    @staticmethod
    def merge(rows):
        """The truth logs no fact for an unchanged holder re-put, so its
        intervals already are maximal; just sort them."""
        return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[3], r[4], r[5] or 0))

    def check_nodes(self):
        """node NAME --at rev:R: health IPs, pod CIDRs, boot ID, or nothing."""
        nodes = [k for k in self.t.keys.by if "/nodes/v1/" in k]
        for _ in range(40):
            key = self.rng.choice(nodes)
            rev = self.rng.randint(self.first, self.last)
            value = self.t.keys.at(key, rev)
            want = []
            if value is not None:
                node = json.loads(value)
                want = [(node["Name"], node["Cluster"], node["IPv4HealthIP"],
                         node["IPv6HealthIP"] or None, node["BootID"])]
            rows = self.query("node", key.rsplit("/", 1)[1], "--at", f"rev:{rev}")
            got = rows if isinstance(rows, str) else [
                (r["name"], r["cluster"], r["ipv4_health_ip"], r["ipv6_health_ip"], r["boot_id"])
                for r in rows if r["key"] == key]
            self.verdict("node --at", f"node {key} --at rev:{rev}", got, want)

    def check_services(self):
        """service NS/NAME --at rev:R: the frontend and backend addresses."""
        services = [k for k in self.t.keys.by if "/services/v1/" in k]
        for _ in range(40):
            key = self.rng.choice(services)
            rev = self.rng.randint(self.first, self.last)
            value = self.t.keys.at(key, rev)
            want = []
            if value is not None:
                svc = json.loads(value)
                want = [(sorted(svc["frontends"]), sorted(svc["backends"]))]
            ns, name = key.rsplit("/", 2)[1:]
            cluster = key.rsplit("/", 3)[1]
            rows = self.query("service", f"{ns}/{name}", "--at", f"rev:{rev}")
            got = rows if isinstance(rows, str) else [
                (sorted({self.addr(a) for a in r["frontends"]}),
                 sorted({self.addr(a) for a in r["backends"]}))
                for r in rows if r["cluster"] == cluster]
            self.verdict("service --at", f"service {key} --at rev:{rev}", got, want)

    @staticmethod
    def addr(text):
        """The address of "10.0.0.1:80/TCP (http)" or "[fd00::1]:80/TCP"."""
        if text.startswith("["):
            return text[1:text.index("]")]
        return text.split(":", 1)[0]


def main(argv):
    truth_file, db, hindsight, local, seed = argv[1:6]
    checker = Checker(Truth(read_truth(truth_file), local), db, hindsight, int(seed))
    checker.run()
    for kind in checker.asked:
        print(f"{kind}\t{checker.asked[kind]}\t{checker.nobody[kind]}\t"
              f"{len(checker.wrong.get(kind, ()))}")
    for kind, wrong in checker.wrong.items():
        for line in wrong[:5]:
            print(f"# {kind}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
