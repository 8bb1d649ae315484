#!/usr/bin/env python3
"""A worked notebook over a hindsight db: pandas on the documented views.

    python3 notebook.py cilium.db flows.csv [OUTDIR]

1. Churn: changes per hour (or per day, for more than three days of
   recording) and key kind, as a stacked bar chart: OUTDIR/churn.png.
2. Who held the IP: every flow-log row (time, src_ip, dst_ip, ...) gets the
   pod, namespace, identity and node that held its source and destination
   address at that moment, by an as-of join (pandas.merge_asof) against
   ip_history: OUTDIR/who_held.csv.  A row answers what
   `hindsight ip ADDR --at TIME` answers.

Each cell below works as it is in Jupyter; the db is opened read-only, so
this runs while the recorder writes.  Needs Debian's python3-pandas and
python3-matplotlib.
"""
import os
import sqlite3
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed: write a PNG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

db, flows_csv = sys.argv[1], sys.argv[2]
outdir = sys.argv[3] if len(sys.argv) > 3 else "."
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

# --- 1. Churn per hour (or day) and kind ---------------------------------
# Changes seen live or inferred after a gap; what the first snapshot found
# is the starting state, not churn.
changes = pd.read_sql(
    "SELECT time, kind, type FROM changes"
    " WHERE origin != 'snapshot' AND time IS NOT NULL", con)
changes["time"] = pd.to_datetime(changes["time"], utc=True)
span = changes["time"].max() - changes["time"].min()
freq, label = ("D", "day") if span > pd.Timedelta(days=3) else ("h", "hour")
churn = (changes.set_index("time")
         .groupby([pd.Grouper(freq=freq), "kind"]).size()
         .unstack("kind", fill_value=0))
ax = churn.plot(kind="bar", stacked=True, figsize=(10, 4), width=0.9)
ax.set_xticklabels([t.strftime("%m-%d %H:%M" if freq == "h" else "%Y-%m-%d")
                    for t in churn.index], rotation=45, ha="right")
ax.set_xlabel(f"{label} (UTC)")
ax.set_ylabel("changes")
ax.set_title(f"kvstore churn per {label} and kind")
plt.tight_layout()
plt.savefig(os.path.join(outdir, "churn.png"), dpi=80)
print(churn.sum().to_string())

# --- 2. Who held the IP: an as-of join of flow logs on ip_history --------
flows = pd.read_csv(flows_csv)
flows["time"] = pd.to_datetime(flows["time"], utc=True)

# One row per holder interval [from_time, to_time).  A NULL from_time is a
# holder found by the first snapshot: it held the address since before
# recording began.
held = pd.read_sql(
    "SELECT ip, namespace, pod, identity, node, from_time, to_time"
    " FROM ip_history", con)
held["from_time"] = pd.to_datetime(
    held["from_time"], utc=True).fillna(
        pd.Timestamp("1970-01-01", tz="UTC"))
held["to_time"] = pd.to_datetime(held["to_time"], utc=True)
held = held.sort_values("from_time")


def who_held(side):
    """The holder of flows[side + '_ip'] at each flow's time."""
    left = (flows[["time", side + "_ip"]].reset_index()
            .rename(columns={side + "_ip": "ip"}).sort_values("time"))
    # The latest interval that began at or before the flow, per address...
    m = pd.merge_asof(left, held, left_on="time", right_on="from_time",
                      by="ip", direction="backward")
    # ...counts only if it had not ended by then (else the IP was free).
    ended = m["to_time"].notna() & (m["to_time"] <= m["time"])
    cols = ["namespace", "pod", "identity", "node"]
    m.loc[ended, cols] = None
    m["identity"] = m["identity"].astype("Int64")
    return (m.set_index("index")[cols].sort_index()
            .add_prefix(side + "_"))


answer = pd.concat([flows, who_held("src"), who_held("dst")], axis=1)
answer["time"] = answer["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
answer.to_csv(os.path.join(outdir, "who_held.csv"), index=False)
print(answer[["time", "src_ip", "src_pod", "dst_ip", "dst_pod"]]
      .fillna("-").to_string(index=False))
