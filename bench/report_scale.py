"""The scale-out section of the benchmark report (issue 16): bench/cluster.sh's 1-shard vs
3-shard full sync and bench/failover.sh's lease failover times, as bench/run.sh's run_scale
left them in the raw folder."""
import json
import os
import re


def scale_result(raw, missing):
    out = {}
    p = os.path.join(raw, "scale.cluster.json")
    if os.path.exists(p):
        with open(p) as f:
            out["cluster"] = json.loads(f.read().strip().splitlines()[-1])
    else:
        missing.append("scale.cluster")
    p = os.path.join(raw, "scale.failover.txt")
    runs, summary = [], None
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                m = re.match(r"run \d+: ([0-9.]+) s", line)
                if m:
                    runs.append(float(m.group(1)))
                m = re.match(r"failover: median ([0-9.]+) s, max ([0-9.]+) s over (\d+) runs", line)
                if m:
                    summary = {"median": float(m.group(1)), "max": float(m.group(2)),
                               "n": int(m.group(3))}
    if summary:
        out["failover"] = dict(summary, runs=runs)
    else:
        missing.append("scale.failover")
    return out or None


def scale_markdown(result):
    s = result.get("scale") or {}
    run = result["run"]
    L = ["## Scale-out", ""]
    L.append("From run %s (`%s`), on the machine above; other work may share it (load average "
             "%s at the end)." % (run["stamp"], run["command"], run.get("load_at_end", "?")))
    L.append("")
    c = s.get("cluster")
    if c:
        one, three = c["one_shard"], c["three_shards"]
        L.append("**Redis Cluster** (`bench/cluster.sh %s`): the same shape-(b) graph of %s "
                 "entities in %s groups (%s items), full sync in the `per_group` layout "
                 "(method %s) into one FalkorDB and into a 3-primary Redis Cluster of the same "
                 "build on the same machine; each run twice, the second counted; the cluster's "
                 "cache verified (0 differences), its graphs on %s shards." % (
                     c["entities"], "{:,}".format(c["entities"]), c["groups"],
                     "{:,}".format(c["items"]), one.get("method"),
                     three.get("shards_holding_graphs")))
        L.append("")
        L.append("| target | full sync s (report) | wall s |")
        L.append("|---|---:|---:|")
        L.append("| 1 shard | %.2f | %.2f |" % (one["seconds"], one["wall"]))
        L.append("| 3 shards, at once (a worker per shard) | %.2f | %.2f |" % (
            three["seconds"], three["wall"]))
        turn = c.get("three_shards_in_turn")
        if turn:
            L.append("| 3 shards, in turn (`SYNC_SHARD_WORKERS=1`) | %.2f | %.2f |" % (
                turn["seconds"], turn["wall"]))
        L.append("")
        L.append("With three shards `full` syncs the shards at once, one worker thread per "
                 "primary with its own connections (`sync.shard_workers`); all the servers share "
                 "this machine's cores, so the gain is bounded by them, not by the shards.")
        L.append("")
    f = s.get("failover")
    if f:
        L.append("**Lease failover** (`bench/failover.sh %d`): two `serve` on one cache (the "
                 "standby in its own pid namespace, so the TTL path is measured), kill -9 of "
                 "the active one, time until the standby's first successful run; default "
                 "`sync.lease_ttl_seconds` 15, renewal 5 s, interval 1 s: median **%.2f s**, "
                 "max %.2f s (runs: %s)." % (
                     f["n"], f["median"], f["max"], ", ".join("%.2f" % x for x in f["runs"])))
        L.append("")
    return L
