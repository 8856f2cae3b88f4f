#!/usr/bin/env python3
"""Turns the raw figures of bench/run.sh into a table, a result JSON and BENCHMARKS.md.

    bench/report.py --raw DIR --result FILE [--markdown FILE --history DIR]

DIR holds one JSON file per measurement (bench/run.sh's measure()). The
result JSON keeps every raw figure next to the derived ones; "missing" lists
any figure that could not be computed (the smoke test requires it empty).
Python standard library only.
"""

import argparse
import glob
import json
import math
import os
import statistics
import sys

NODE_TYPES = ["Entity", "Episodic", "Community", "Saga"]
EDGE_TYPES = ["RELATES_TO", "MENTIONS", "HAS_MEMBER", "HAS_EPISODE", "NEXT_EPISODE"]
SHAPES = {"a": "Graphiti as it is (1024-float embeddings on entities, communities and "
               "RELATES_TO)",
          "b": "the same graph without embeddings"}
CONTENDERS = [
    ("falkorsync", "falkorsync full"),
    ("falkorsync_query", "falkorsync full, query method"),
    ("seed_style", "seed-style Python (MERGE per item)"),
    ("batched", "batched Python (UNWIND 1000)"),
    ("read_limit", "read limit (Bolt drain)"),
    ("write_limit", "write limit (replay, depth 4)"),
    ("write_limit_pipe", "write limit (redis-cli --pipe)"),
    ("graph_bulk", "GRAPH.BULK (replay)"),
]


def load(raw, name):
    path = os.path.join(raw, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def rate(items, seconds):
    return items / seconds if num(items) and num(seconds) and seconds > 0 else None


def ok(m):
    return m is not None and m.get("rc") == 0 and m.get("output") is not None


def contender(name, seconds, nodes, rels, m, cpu=None, note=""):
    """One row: wall seconds, items/s, client CPU and RSS, server CPU."""
    items = nodes + rels if num(nodes) and num(rels) else None
    row = {
        "name": name,
        "seconds": seconds,
        "nodes": nodes,
        "relationships": rels,
        "nodes_per_s": rate(nodes, seconds),
        "relationships_per_s": rate(rels, seconds),
        "items_per_s": rate(items, seconds),
        "cpu_s": cpu if cpu is not None else (m or {}).get("cpu_s"),
        "max_rss_mb": (m["max_rss_kb"] / 1024.0) if m and num(m.get("max_rss_kb")) else None,
        "falkordb_cpu_s": (m or {}).get("falkordb_cpu_s"),
        "neo4j_cpu_s": (m or {}).get("neo4j_cpu_s"),
        "measured_wall_s": (m or {}).get("wall_s"),
        "note": note,
    }
    return row


def verify_summary(raw, name):
    v = load(raw, name + ".verify")
    if v is None:
        return None
    out = {"differences": v.get("differences"), "ok": v.get("ok"), "exit": v.get("exit")}
    per = {}
    for t, c in (v.get("types") or {}).items():
        d = {k: c[k] for k in ("missing", "extra", "different", "duplicate") if c.get(k)}
        if d:
            per[t] = d
    out["by_type"] = per
    if v.get("error"):
        out["error"] = v["error"]
    return out


def shape_result(raw, shape, run, missing):
    src = load(raw, shape + ".source") or {}
    nodes = sum(src.get(t, 0) for t in NODE_TYPES)
    rels = sum(src.get(t, 0) for t in EDGE_TYPES)
    res = {"description": SHAPES[shape], "source": src, "nodes": nodes, "relationships": rels,
           "items": nodes + rels, "contenders": {}, "verify": {}, "notes": []}
    gen = load(raw, shape + ".generate")
    res["generate_seconds"] = gen["wall_s"] if gen else None
    C = res["contenders"]

    # falkorsync: the median of the runs around the peers.
    runs = [load(raw, f"{shape}.falkorsync.{i}") for i in (1, 2, 3)]
    good = [m for m in runs if ok(m) and m["output"].get("ok")]
    if good:
        secs = statistics.median(m["output"]["seconds"] for m in good)
        row = contender("falkorsync", secs, good[0]["output"]["nodes"],
                        good[0]["output"]["relationships"], None,
                        note="median of %d runs (%s s)" % (
                            len(good), ", ".join("%.2f" % m["output"]["seconds"] for m in good)))
        row["cpu_s"] = statistics.median(m["cpu_s"] for m in good)
        row["max_rss_mb"] = max(m["max_rss_kb"] for m in good) / 1024.0
        row["falkordb_cpu_s"] = statistics.median(m["falkordb_cpu_s"] for m in good)
        row["neo4j_cpu_s"] = statistics.median(m["neo4j_cpu_s"] for m in good)
        row["measured_wall_s"] = statistics.median(m["wall_s"] for m in good)
        row["runs"] = [m["output"]["seconds"] for m in good]
        C["falkorsync"] = row
    m = load(raw, f"{shape}.falkorsync_query")
    if ok(m) and m["output"].get("ok"):
        o = m["output"]
        C["falkorsync_query"] = contender(
            "falkorsync_query", o["seconds"], o["nodes"], o["relationships"], m,
            note="SYNC_FULL_METHOD=query (UNWIND batches of parameter text, endpoints matched "
                 "by uuid), the method before GRAPH.BULK; one run")
    rec = load(raw, f"{shape}.falkorsync.recording")
    if ok(rec):
        res["recording_run_seconds"] = rec["output"].get("seconds")

    m = load(raw, f"{shape}.seed_style")
    if ok(m):
        o = m["output"]
        sampled = o.get("sampled")
        secs = o["extrapolated_seconds"] if sampled else o["seconds"]
        scale = secs / o["seconds"] if o["seconds"] else 1.0
        note = ("sampled %.0f%% of each node type and the relationships among them; "
                "%d of %d items written in %.1f s, time extrapolated per type by rate"
                % (100 * o["fraction"], o["nodes"] + o["relationships"],
                   o["source_nodes"] + o["source_relationships"], o["seconds"])
                if sampled else "complete run")
        row = contender("seed_style", secs, o["source_nodes"], o["source_relationships"], m,
                        cpu=m["cpu_s"] * scale, note=note)
        if sampled:
            row["falkordb_cpu_s"] = m["falkordb_cpu_s"] * scale
            row["neo4j_cpu_s"] = m["neo4j_cpu_s"] * scale
        C["seed_style"] = row

    m = load(raw, f"{shape}.batched")
    if ok(m):
        o = m["output"]
        C["batched"] = contender("batched", o["seconds"], o["nodes"], o["relationships"], m)

    m = load(raw, f"{shape}.read_limit")
    if ok(m):
        o = m["output"]
        row = contender("read_limit", o["seconds"], None, None, m,
                        note="%d queries drained, %.0f MB of records; sum of query times"
                             % (o["queries"], o["payload_bytes"] / 1e6))
        # the extract queries return one row per item, in the source's proportions
        row["items_per_s"] = rate(o["items"], o["seconds"])
        row["nodes"], row["relationships"] = nodes, rels
        row["nodes_per_s"] = rate(nodes, o["seconds"])
        row["relationships_per_s"] = rate(rels, o["seconds"])
        row["max_rss_mb"] = o["max_rss_kb"] / 1024.0
        C["read_limit"] = row

    cmd = load(raw, f"{shape}.commands") or {}
    m = load(raw, f"{shape}.write_limit")
    if ok(m):
        o = m["output"]
        C["write_limit"] = contender(
            "write_limit", o["seconds"], nodes, rels, m,
            note="falkorsync full's %s-method stream: %d commands (%s GRAPH.BULK, %s vecf32 "
                 "conversions, %s other graph queries), %.0f MB, falkorsync-replay, at most %d "
                 "in flight, then index wait"
                 % (cmd.get("method", "?"), o["commands"], o.get("graph_bulk", "?"),
                    o.get("vecf32_queries", "?"), o.get("other_graph_queries", "?"),
                    o["bytes"] / 1e6, o["depth"]))
        C["write_limit"]["method"] = cmd.get("method")
        C["write_limit"]["graph_bulk_commands"] = o.get("graph_bulk")
        C["write_limit"]["vecf32_queries"] = o.get("vecf32_queries")
    m = load(raw, f"{shape}.write_limit_pipe")
    if m and m.get("rc") == 0:
        C["write_limit_pipe"] = contender(
            "write_limit_pipe", m["wall_s"], nodes, rels, m,
            note="the same %.0f MB through redis-cli --pipe (unbounded), then index wait"
                 % (cmd.get("bytes", 0) / 1e6))
    m = load(raw, f"{shape}.graph_bulk")
    enc = load(raw, f"{shape}.bulk_encode")
    if ok(m) and ok(enc):
        o = m["output"]
        C["graph_bulk"] = contender(
            "graph_bulk", o["seconds"], enc["output"]["nodes"], enc["output"]["relationships"], m,
            note="%d commands, %.0f MB incl. Graphiti's indexes; encoding (Python, untimed) took "
                 "%.1f s" % (o["commands"], o["bytes"] / 1e6, enc["wall_s"]))

    for name, _ in CONTENDERS:
        if name not in C:
            missing.append(f"{shape}.{name}")
            continue
        for field in ("seconds", "items_per_s", "cpu_s", "max_rss_mb"):
            if not num(C[name].get(field)):
                missing.append(f"{shape}.{name}.{field}")

    # Ratios: throughput of falkorsync over each peer's, and over the binding limit.
    f = C.get("falkorsync")
    ratios = {}
    if f:
        for peer in ("seed_style", "batched"):
            if peer in C:
                ratios[f"falkorsync_vs_{peer}"] = C[peer]["seconds"] / f["seconds"]
        writes = [C[k]["seconds"] for k in ("write_limit", "write_limit_pipe") if k in C]
        if "read_limit" in C and writes:
            read_s, write_s = C["read_limit"]["seconds"], min(writes)
            ratios["read_limit_seconds"] = read_s
            ratios["write_limit_seconds"] = write_s
            ratios["binding_limit"] = "write" if write_s >= read_s else "read"
            ratios["falkorsync_vs_limit"] = max(read_s, write_s) / f["seconds"]
        if "graph_bulk" in C:
            ratios["falkorsync_vs_graph_bulk"] = C["graph_bulk"]["seconds"] / f["seconds"]
        if "seed_style" in C and num(ratios.get("write_limit_seconds")):
            # what even a sync running at the write limit would reach
            ratios["write_limit_vs_seed_style"] = (C["seed_style"]["seconds"]
                                                   / ratios["write_limit_seconds"])
        wall = f.get("measured_wall_s")
        if num(wall) and wall > 0:
            res["busy"] = {"falkorsync": f["cpu_s"] / wall, "falkordb": f["falkordb_cpu_s"] / wall,
                           "neo4j": f["neo4j_cpu_s"] / wall}
    for key in ("falkorsync_vs_seed_style", "falkorsync_vs_batched", "falkorsync_vs_limit"):
        if not num(ratios.get(key)):
            missing.append(f"{shape}.ratio.{key}")
    res["ratios"] = ratios

    verify_this = shape == "b" or run.get("verify_shape_a")
    for name in ("falkorsync.1", "batched", "seed_style", "write_limit", "graph_bulk"):
        v = verify_summary(raw, f"{shape}.{name}")
        if v is not None:
            res["verify"][name.split(".")[0]] = v
        elif verify_this:
            missing.append(f"{shape}.verify.{name}")
    return res


def lag_result(raw):
    m = load(raw, "lag")
    if not ok(m):
        return None
    out = dict(m["output"])
    out["service"] = load(raw, "lag.service") or {}
    return out


FRESH_KINDS = [
    ("add", "add: add_episode (Episodic, 2 Entity, 2 MENTIONS, RELATES_TO)", 2.0),
    ("invalidate", "update: edge invalidated (expired_at, invalid_at)", 2.0),
    ("summary", "update: a new episode rewrites an entity's summary", 2.0),
    ("delete_episode", "delete: remove_episode (its edges, orphaned entities)", 3.0),
    ("delete_edge", "delete: one RELATES_TO", 3.0),
]
FRESH_TARGETS = {"write_amplification": 1.1, "max_gap_s": 2.0, "idle_core_share": 0.05,
                 "full_pass_s": 600.0, "stop_s": 2.0}
SERVERS = ("falkorsync", "neo4j", "falkordb")


def freshness_result(raw, shape, missing):
    """One shape's freshness figures (bench/peers/freshness.py under falkorsync serve)."""
    name = "fresh." + shape
    m = load(raw, name)
    if not ok(m):
        missing.append(name)
        return None
    o = m["output"]
    src = load(raw, name + ".source") or {}
    rec, full, stop = load(raw, name + ".reconcile"), load(raw, name + ".full"), load(raw, name + ".stop")
    svc = o.get("service") or {}
    window = o.get("window_seconds") or 0
    cpu = o.get("cpu_s") or {}
    idle = o.get("idle") or {}
    idle_cpu = idle.get("cpu_s") or {}
    idle_s = idle.get("seconds") or 0
    idle_sum = (sum(idle_cpu[k] for k in SERVERS if num(idle_cpu.get(k)))
                if idle_s > 0 and any(num(idle_cpu.get(k)) for k in SERVERS) else None)
    res = {
        "entities": src.get("Entity"),
        "items": sum(src.get(t, 0) for t in NODE_TYPES + EDGE_TYPES),
        "dim": o.get("dim"),
        "threads": o.get("threads"),
        "rate": o.get("rate"),
        "achieved_rate": o.get("achieved_rate"),
        "seconds": o.get("seconds"),
        "ops": o.get("ops"),
        "failed": o.get("failed"),
        "planned": o.get("planned"),
        "not_sent": o.get("not_sent"),
        "kinds": o.get("kinds") or {},
        "items_changed": o.get("items_changed"),
        "written": o.get("written_metrics"),
        "write_amplification": o.get("write_amplification"),
        "write_amplification_history": o.get("write_amplification_history"),
        "write_amplification_window": o.get("write_amplification_window"),
        "written_window": o.get("written_metrics_window"),
        "max_gap_s": svc.get("max_gap_between_incremental_starts_s"),
        "max_idle_gap_s": svc.get("max_idle_between_incremental_runs_s"),
        "runs": svc.get("by_mode") or {},
        "incremental_run_p50_s": svc.get("incremental_run_p50_s"),
        "failed_runs": svc.get("failed_runs"),
        "until_visible": svc.get("until_visible"),
        "window_seconds": window,
        "cpu_s": cpu,
        "idle_seconds": idle_s,
        "idle_cpu_s": idle_cpu,
        "idle_core_share": idle_sum / idle_s if num(idle_sum) and idle_s else None,
        "idle_runs": (idle.get("service") or {}).get("by_mode"),
        "poll": o.get("poll"),
        "episodes_reused": o.get("episodes_reused"),
        "own_targets": o.get("own_targets"),
        "sampled_targets": o.get("sampled_targets"),
        "full_sync_seconds": (full["output"] or {}).get("seconds") if ok(full) else None,
        "full_pass_s": rec["wall_s"] if ok(rec) else None,
        "full_pass_output": rec["output"] if ok(rec) else None,
        "full_pass_cpu": {"falkorsync": rec["cpu_s"], "neo4j": rec["neo4j_cpu_s"],
                          "falkordb": rec["falkordb_cpu_s"]} if ok(rec) else None,
        "stop_s": (stop or {}).get("stop_seconds"),
        "timeout_seconds": o.get("timeout_seconds"),
        "slow_poll_seconds": o.get("slow_poll_seconds"),
        "fast_window_seconds": o.get("fast_window_seconds"),
    }
    for k, _, _ in FRESH_KINDS:
        x = res["kinds"].get(k)
        if x is None or not x.get("ops"):
            missing.append(f"{name}.{k}")
    for key in ("write_amplification", "max_gap_s", "full_pass_s", "idle_core_share"):
        if not num(res.get(key)):
            missing.append(f"{name}.{key}")
    for k in SERVERS:
        if not num(cpu.get(k)) and not (k == "neo4j" and cpu.get(k) is None):
            missing.append(f"{name}.cpu.{k}")
    res["targets"] = freshness_targets(res)
    return res


def freshness_targets(res):
    """Each target of issue 15 with the measured figure and whether it is met."""
    out = []
    for k, label, limit in FRESH_KINDS:
        x = res["kinds"].get(k) or {}
        p99 = x.get("p99")
        met = num(p99) and p99 <= limit
        out.append({"target": "p99 visible, %s" % k, "limit": limit, "measured": p99,
                    "met": bool(met)})
    for key, label in (("write_amplification", "write amplification"),
                       ("max_gap_s", "largest gap between incremental runs, s"),
                       ("full_pass_s", "full content pass, s"),
                       ("stop_s", "SIGTERM answered, s")):
        v = res.get(key)
        out.append({"target": label, "limit": FRESH_TARGETS[key], "measured": v,
                    "met": bool(num(v) and v <= FRESH_TARGETS[key])})
    return out



def reconcile_result(raw):
    r0, r1 = load(raw, "rec.reconcile_0"), load(raw, "rec.reconcile_1")
    if not (ok(r0) and ok(r1)):
        return None
    src = load(raw, "rec.source") or {}
    full = load(raw, "rec.falkorsync")
    res = {
        "entities": src.get("Entity"),
        "items": sum(src.get(t, 0) for t in NODE_TYPES + EDGE_TYPES),
        "full_sync_seconds": full["output"]["seconds"] if ok(full) else None,
        "full_sync_max_rss_mb": full["max_rss_kb"] / 1024.0 if full else None,
        "drift": load(raw, "rec.drift"),
        "no_drift": {"seconds": r0["wall_s"], "cpu_s": r0["cpu_s"],
                     "max_rss_mb": r0["max_rss_kb"] / 1024.0, "output": r0["output"],
                     "falkordb_cpu_s": r0["falkordb_cpu_s"], "neo4j_cpu_s": r0["neo4j_cpu_s"]},
        "one_percent": {"seconds": r1["wall_s"], "cpu_s": r1["cpu_s"],
                        "max_rss_mb": r1["max_rss_kb"] / 1024.0, "output": r1["output"],
                        "falkordb_cpu_s": r1["falkordb_cpu_s"], "neo4j_cpu_s": r1["neo4j_cpu_s"]},
        "verify_after": verify_summary(raw, "rec.after"),
    }
    return res


# ---- Formatting --------------------------------------------------------------------

def f1(x, digits=1):
    return ("%.*f" % (digits, x)) if num(x) else "–"


def fint(x):
    return "{:,}".format(int(round(x))) if num(x) else "–"


def fx(x):
    return ("%.1f×" % x) if num(x) else "–"


def table_rows(shape_res):
    rows = []
    for name, label in CONTENDERS:
        c = shape_res["contenders"].get(name)
        if not c:
            rows.append([label] + ["–"] * 8)
            continue
        rows.append([label, f1(c["seconds"], 2), fint(c["nodes_per_s"]),
                     fint(c["relationships_per_s"]), fint(c["items_per_s"]), f1(c["cpu_s"]),
                     f1(c["max_rss_mb"]), f1(c["falkordb_cpu_s"]), f1(c["neo4j_cpu_s"])])
    return rows


HEAD = ["contender", "wall s", "nodes/s", "rels/s", "items/s", "CPU s", "peak RSS MB",
        "FalkorDB CPU s", "Neo4j CPU s"]


def text_table(rows):
    widths = [max(len(str(r[i])) for r in [HEAD] + rows) for i in range(len(HEAD))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [HEAD] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(head, rows, left=1):
    """A Markdown table: the first `left` columns left-aligned, the rest (figures) right."""
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def print_summary(result):
    run = result["run"]
    print("falkorsync benchmarks: %s entities, %s" % (run["entities"], run["mode"]))
    for shape, res in result["shapes"].items():
        print("\nshape (%s): %s; %s nodes + %s relationships" % (
            shape, res["description"], fint(res["nodes"]), fint(res["relationships"])))
        print(text_table(table_rows(res)))
        r = res["ratios"]
        print("falkorsync is %s the seed-style peer, %s the batched peer, %.0f%% of "
              "min(read, write limit) (binding: %s); GRAPH.BULK is %s faster than falkorsync" % (
                  fx(r.get("falkorsync_vs_seed_style")), fx(r.get("falkorsync_vs_batched")),
                  100 * r.get("falkorsync_vs_limit", float("nan")), r.get("binding_limit", "?"),
                  fx(1 / r["falkorsync_vs_graph_bulk"]) if num(r.get("falkorsync_vs_graph_bulk"))
                  else "–"))
    lag = result.get("lag")
    if lag:
        print("\nincremental lag at %s changes/s for %s s: p50 %s s, p99 %s s, max %s s "
              "(%d written, %d never arrived)" % (
                  lag["rate"], lag["seconds"], f1(lag["lag_p50"], 3), f1(lag["lag_p99"], 3),
                  f1(lag["lag_max"], 3), lag["written"], lag["never_arrived"]))
    rec = result.get("reconcile")
    if rec:
        print("reconcile on %s entities (%s items): %s s with no drift, %s s with 1%% drift" % (
            fint(rec["entities"]), fint(rec["items"]), f1(rec["no_drift"]["seconds"], 2),
            f1(rec["one_percent"]["seconds"], 2)))
    for shape, res in (result.get("freshness") or {}).items():
        if not res:
            continue
        print("\nfreshness, shape (%s), %s items, %s changes/s achieved:" % (
            shape, fint(res["items"]), f1(res["achieved_rate"])))
        for k, label, _ in FRESH_KINDS:
            x = res["kinds"].get(k)
            if x:
                t = res.get("timeout_seconds")
                print("  %-15s %5d changes, p50 %s s, p99 %s s, max %s s, %d never visible" % (
                    k, x["ops"], lag_cell(x, "p50", t), lag_cell(x, "p99", t),
                    lag_cell(x, "max", t), x["never_visible"]))
        print("  write amplification %s, largest gap %s s, full pass %s s, after the writer %s%% of a core"
              % (f1(res["write_amplification"], 2), f1(res["max_gap_s"], 2),
                 f1(res["full_pass_s"], 1),
                 f1(100 * res["idle_core_share"] if num(res.get("idle_core_share")) else None)))
        print("  CPU over %s s: %s" % (f1(res["window_seconds"]), ", ".join(
            "%s %s s" % (k, f1(v, 1)) for k, v in res["cpu_s"].items())))
    s = result.get("soak")
    if s:  # see bench/report_soak.py
        fl = s["flat"]
        print("\nsoak, %s min at %s changes/s: RSS %s -> %s MB, fds %s -> %s, threads %s -> %s "
              "(%s); %s runs, %s failed, %s errors; verify %s differences" % (
                  f1(s["minutes"], 1), f1(s["rate"], 0), f1(fl["rss_kb"]["start"] / 1024.0),
                  f1(fl["rss_kb"]["end"] / 1024.0), fl["fds"]["start"], fl["fds"]["end"],
                  fl["threads"]["start"], fl["threads"]["end"],
                  "flat within 10%" if s["all_flat"] else "NOT flat within 10%",
                  s["runs"], s["runs_failed"], s["errors"], s["verify_differences"]))
    if result["missing"]:
        print("\nmissing figures: " + ", ".join(result["missing"]))


def history_rows(history_dir, current):
    """falkorsync peak RSS by size, from every stored result and the current one."""
    seen = {}
    files = sorted(glob.glob(os.path.join(history_dir, "*.json"))) if history_dir else []
    results = []
    for path in files:
        try:
            with open(path) as f:
                results.append(json.load(f))
        except (OSError, ValueError):
            continue
    results.append(current)
    for r in results:
        stamp = r.get("run", {}).get("stamp", "?")
        for shape, res in (r.get("shapes") or {}).items():
            c = res.get("contenders", {}).get("falkorsync")
            if c and num(c.get("max_rss_mb")):
                seen[(stamp, shape, res["items"])] = (c["max_rss_mb"], c["items_per_s"])
        rec = r.get("reconcile")
        if rec and num(rec.get("full_sync_max_rss_mb")):
            secs = rec.get("full_sync_seconds")
            seen[(stamp, "b", rec["items"])] = (rec["full_sync_max_rss_mb"],
                                                rate(rec["items"], secs))
    rows = []
    for (stamp, shape, items), (rss, ips) in sorted(seen.items(), key=lambda kv: (kv[0][1],
                                                                                   kv[0][2])):
        rows.append([stamp, "(%s)" % shape, fint(items), f1(rss), fint(ips)])
    return rows


def fs(x, digits=2):
    return f1(x, digits)


def lag_cell(x, key, timeout):
    v = x.get(key)
    if num(v):
        return fs(v)
    if x.get("never_visible"):
        return "> %s" % fs(timeout, 0)  # some never became visible within the timeout
    return "–"


def freshness_markdown(result, history_dir):
    """The "## Freshness" section: this run's tables, then every stored run's headline."""
    run = result["run"]
    fr = result["freshness"]
    L = ["## Freshness", ""]
    L.append("From run %s%s (`%s`; raw figures `bench/results/%s.json`, commit %s; load "
             "average %s at the start, %s at the end)." % (
                 run.get("stamp"), (" — “%s”" % run["label"]) if run.get("label") else "",
                 run.get("command"), run.get("stamp"),
                 result.get("machine", {}).get("commit", "?"),
                 result.get("machine", {}).get("load_at_start", "?"), run.get("load_at_end", "?")))
    L.append("")
    layout = (run.get("freshness") or {}).get("layout") or "single"
    L.append("`falkorsync serve` with `SYNC_INTERVAL_SECONDS=1`%s keeps the cache (layout "
             "`%s`%s) while "
             "`bench/peers/freshness.py` writes Graphiti-like changes into Neo4j at a steady "
             "rate (%s writer sessions, auto-commit; remove_episode in one transaction) and "
             "polls FalkorDB by key: an added item is there, a deleted one is gone, an update "
             "reads the new value. Time = commit returned → first poll that saw the whole "
             "change (every 0.05 s while it is younger than 5 s, then every 0.5 s, so figures "
             "above 5 s are rounded up by at most 0.5 s); a change not visible within the "
             "timeout after the writer stopped counts as infinite (`> T`). Write amplification "
             "= items falkorsync wrote from the writer's start until every change was visible "
             "(its `/metrics` counter `falkorsync_items_synced_total`, upsert + delete) ÷ items "
             "the writer changed; "
             "runs and gaps come from `/api/sync/history`; CPU from `/proc/<pid>/stat` over "
             "the writer's window. The full pass is `falkorsync reconcile` on the idle graph "
             "afterwards (a whole pass on demand; `serve` runs its pass in slices)." % (
                 (" and `%s`" % run["freshness"]["serve_env"])
                 if (run.get("freshness") or {}).get("serve_env") else
                 " (the default reconcile: a slice after every run, passes paced by "
                 "`sync.reconcile_pass_seconds`)",
                 layout, ": a graph per group, every one polled" if layout == "per_group" else
                 ": one graph",
                 next((str(r["threads"]) for r in fr.values() if r and r.get("threads")), "?")))
    L.append("")
    for shape, res in fr.items():
        if not res:
            continue
        L.append("### Shape (%s): %s entities, %s items%s" % (
            shape, fint(res["entities"]), fint(res["items"]),
            ", %d-float embeddings (added items get them too)" % res["dim"] if res.get("dim") else
            ", no embeddings"))
        L.append("")
        L.append("%s changes/s asked for %s s, %s achieved (%s changes, %s items changed, "
                 "%s failed, %s of the %s planned not sent: Neo4j took no more)." % (
                     fs(res["rate"], 0), fs(res["seconds"], 0), fs(res["achieved_rate"], 1),
                     fint(res["ops"]), fint(res["items_changed"]), fint(res["failed"]),
                     fint(res.get("not_sent")), fint(res.get("planned"))))
        L.append("")
        rows = []
        for k, label, limit in FRESH_KINDS:
            x = res["kinds"].get(k)
            if not x:
                continue
            t = res.get("timeout_seconds")
            # a failed change was not made (e.g. no target left); its error is in the JSON
            rows.append([label, fint(x["ops"]), fint(x["items"]), fint(x["visible"]),
                         fint(x["never_visible"]), fint(x.get("failed")),
                         lag_cell(x, "p50", t), lag_cell(x, "p90", t),
                         lag_cell(x, "p99", t), lag_cell(x, "max", t), "≤ %s" % fs(limit, 0)])
        L.append(md_table(["change", "changes", "items", "visible", "never", "failed", "p50 s",
                           "p90 s",
                           "p99 s", "max s", "target p99"], rows))
        L.append("")
        cpu, w = res["cpu_s"], res["window_seconds"] or 0
        def cpu_cell(k):
            v = cpu.get(k)
            return "%s s (%.0f%%)" % (fs(v, 1), 100 * v / w) if num(v) and w else "–"
        runs = res["runs"]
        inc, recr = runs.get("incremental") or {}, runs.get("reconcile") or {}
        idle_cpu = res.get("idle_cpu_s") or {}
        srows = [
            ["write amplification: items falkorsync wrote from the writer's start until every "
             "change was visible ÷ items changed (/metrics)",
             fs(res["write_amplification"]) + " (%s ÷ %s; within the writer's window alone: "
             "%s, from /metrics; %s from the run history)" % (
                 fint(res["written"]), fint(res["items_changed"]),
                 fs(res.get("write_amplification_window")),
                 fs(res.get("write_amplification_history"))), "≤ 1.1"],
            ["largest gap between incremental runs (start to start)",
             "%s s (end to start %s s)" % (fs(res["max_gap_s"]), fs(res["max_idle_gap_s"])),
             "≤ 2 s"],
            ["runs in the window",
             "%s incremental (p50 %s s, max %s s), %s" % (
                 fint(inc.get("runs", 0)), fs(res.get("incremental_run_p50_s")),
                 fs(inc.get("max_seconds")),
                 ("%s reconcile (longest %s s)" % (fint(recr["runs"]), fs(recr["max_seconds"])))
                 if recr.get("runs") else "no reconcile")
             + ("; %d failed (%s)" % (len(res["failed_runs"]), "; ".join(sorted({
                 "%s: %s" % (f["mode"], f.get("error") or "no error text")
                 for f in res["failed_runs"]}))) if res.get("failed_runs") else ""), ""],
            ["CPU over the window (share of one core): falkorsync", cpu_cell("falkorsync"), ""],
            ["… Neo4j", cpu_cell("neo4j"), ""],
            ["… FalkorDB (includes the poller's reads)", cpu_cell("falkordb"), ""],
            ["… the writer and poller (Python)", cpu_cell("writer"), ""],
            ["the first seconds after the writer stopped: falkorsync + Neo4j + FalkorDB (the "
             "reconcile pass and the delete check catch up; not the steady idle state)",
             ("%.1f%% of a core over %s s (falkorsync %s, Neo4j %s, FalkorDB %s s)" % (
                 100 * res["idle_core_share"], fs(res["idle_seconds"], 0),
                 fs(idle_cpu.get("falkorsync")), fs(idle_cpu.get("neo4j")),
                 fs(idle_cpu.get("falkordb"))))
             if num(res.get("idle_core_share")) else "–",
             "steady idle ≤ 5%: `bench/idle.sh` (BENCHMARKS.md)"],
            ["full content pass: `falkorsync reconcile`, idle graph",
             "%s s (upserted %s, deleted %s)" % (
                 fs(res["full_pass_s"], 1),
                 fint((res.get("full_pass_output") or {}).get("upserted")),
                 fint((res.get("full_pass_output") or {}).get("deleted"))), "≤ 600 s"],
            ["SIGTERM to exit of `serve` after the run", "%s s" % fs(res.get("stop_s")), "≤ 2 s"],
        ]
        L.append(md_table(["figure", "measured", "target"], srows, left=3))
        L.append("")
        poll = res.get("poll") or {}
        L.append("The poller sent %s queries for %s keys.%s The full sync before the run "
                 "took %s s." % (fint(poll.get("queries")), fint(poll.get("keys")),
                                 (" The sample ran out, so some changes took items this run "
                                  "had added: %s." % ", ".join(
                                      "%s %s" % (fint(v), k)
                                      for k, v in sorted(res["own_targets"].items()) if v))
                                 if any((res.get("own_targets") or {}).values()) else "",
                                 fs(res.get("full_sync_seconds"))))
        L.append("")
    L.append("### Freshness runs so far")
    L.append("")
    L.append("Every run in `bench/results/` with a freshness section, plus this one (p99 in "
             "seconds; `> T`: some changes never became visible within the timeout). Targets "
             "(issue 15, on the 508k-item shape (b) graph at 200 changes/s): p99 ≤ 2 s for "
             "adds and updates, ≤ 3 s for deletes, write amplification ≤ 1.1, no gap over "
             "2 intervals, idle ≤ 5% of a core (steady state: `bench/idle.sh`; the column here is the "
             "first seconds after the writer, while the service catches up), full pass ≤ 10 min.")
    L.append("")
    L.append(md_table(["run", "commit", "shape", "items", "changes/s", "add", "invalidate",
                       "summary", "remove_episode", "delete_edge", "write ampl.", "max gap s",
                       "after writer % core", "full pass s"],
                      freshness_history_rows(history_dir, result), left=3))
    L.append("")
    return L


def freshness_history_rows(history_dir, current):
    results = []
    for path in sorted(glob.glob(os.path.join(history_dir, "*.json"))) if history_dir else []:
        try:
            with open(path) as f:
                results.append(json.load(f))
        except (OSError, ValueError):
            continue
    stamps = {r.get("run", {}).get("stamp") for r in results}
    if current.get("run", {}).get("stamp") not in stamps:
        results.append(current)
    rows = []
    for r in results:
        for shape, res in sorted((r.get("freshness") or {}).items()):
            if not res:
                continue
            t = res.get("timeout_seconds")
            cells = [lag_cell(res["kinds"].get(k) or {}, "p99", t) for k, _, _ in FRESH_KINDS]
            rows.append([r["run"].get("stamp", "?") + (" (%s)" % r["run"]["label"]
                                                         if r["run"].get("label") else ""),
                         r.get("machine", {}).get("commit", "?"),
                         "(%s)%s" % (shape, ", per_group" if (r["run"].get("freshness") or {})
                                     .get("layout") == "per_group" else ""),
                         fint(res.get("items")), fs(res.get("achieved_rate"), 0)]
                        + cells + [fs(res.get("write_amplification")), fs(res.get("max_gap_s")),
                                   ("%.1f" % (100 * res["idle_core_share"]))
                                   if num(res.get("idle_core_share")) else "–",
                                   fs(res.get("full_pass_s"), 1)])
    return rows


def splice_section(text, heading, block):
    """Replaces the "## heading" section of text (up to the next "## ") with block, or
    inserts it before the peak-RSS section (or at the end)."""
    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines) if l == heading), None)
    if start is None:
        at = next((i for i, l in enumerate(lines) if l.startswith("## falkorsync peak RSS")),
                  len(lines))
        return "\n".join(lines[:at] + block + lines[at:])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "\n".join(lines[:start] + block + lines[end:])


def markdown(result, history_dir):
    run, mach = result["run"], result["machine"]
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append("Regenerated by `bench/run.sh` (`%s`) on %s; do not edit by hand. Raw figures: "
             "`bench/results/%s.json`." % (run["command"], run["stamp"], run["stamp"]))
    L.append("")
    L.append("Reproduce: `%s` (this run: %s entities, %d minutes here); any size with "
             "`make bench SIZE=<entities>`; `bench/run.sh --smoke` is the tiny version "
             "`make test` runs. Knobs: see `bench/run.sh --help`." % (
                 run["command"], fint(run["entities"]), max(1, round(run["bench_seconds"] / 60))))
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(md_table(["", ""], [
        ["CPU", "%s, %d cores" % (mach["cpu"], mach["cores"])],
        ["memory", "%.1f GiB" % (mach["memory_kb"] / 1048576)],
        ["OS", "%s, %s" % (mach["os"], mach["kernel"])],
        ["falkorsync", "%s (commit %s, CMake build type %s, %s)" % (
            mach["falkorsync"], mach["commit"], mach["build_type"] or "?", mach["compiler"])],
        ["Neo4j", mach["neo4j"]],
        ["FalkorDB", "module version %s on Redis %s" % (mach["falkordb_module"], mach["redis"])],
        ["Python peers", "%s; %s" % (mach["python"], mach["peer_packages"].strip())],
        ["load average", "%s at the start, %s at the end (1, 5, 15 min)" % (
            mach["load_at_start"], run["load_at_end"])],
    ], left=2))
    L.append("")
    L.append("Everything runs on this one machine: Neo4j (Java, 3 GB heap), FalkorDB and the "
             "contender share its cores, so a figure is the whole system's speed, not the "
             "client's alone. The load average says how busy the machine was with other work. "
             "Before the contenders of a shape run, untimed: a Neo4j checkpoint, the read-limit "
             "queries twice and one falkorsync full, so that no contender is the only one to "
             "meet a cold Neo4j (its JIT compiler was still at work in the first timed run). "
             "Each contender starts once both servers use under a tenth of a core.")
    L.append("")
    L.append("## Dataset")
    L.append("")
    L.append("`falkorsync-gen --entities %d --seed %d` (bench/generate.c): Graphiti's Neo4j "
             "shape with N entities, N/5 episodes, 2N RELATES_TO, 3 MENTIONS per episode, N/50 "
             "communities, sagas; three groups." % (run["entities"], run["seed"]))
    L.append("")
    rows = []
    for shape, res in result["shapes"].items():
        src = res["source"]
        rows.append(["(%s) %s" % (shape, res["description"])]
                    + [fint(src.get(t)) for t in NODE_TYPES + EDGE_TYPES]
                    + [fint(res["items"])])
    L.append(md_table(["shape"] + NODE_TYPES + EDGE_TYPES + ["items"], rows))
    L.append("")
    for shape, res in result["shapes"].items():
        L.append("## Full sync, shape (%s): %s" % (shape, res["description"]))
        L.append("")
        L.append("%s nodes + %s relationships = %s items, into an empty FalkorDB." % (
            fint(res["nodes"]), fint(res["relationships"]), fint(res["items"])))
        L.append("")
        L.append(md_table(HEAD, table_rows(res)))
        L.append("")
        r = res["ratios"]
        L.append(md_table(["ratio", "measured", "target"], left=3, rows=[
            ["falkorsync ÷ seed-style peer (throughput)", fx(r.get("falkorsync_vs_seed_style")),
             "≥ 20× on (a)" if shape == "a" else ""],
            ["falkorsync ÷ batched Python peer", fx(r.get("falkorsync_vs_batched")),
             "≥ 3× on (a)" if shape == "a" else ""],
            ["falkorsync ÷ min(read limit, write limit)",
             ("%.0f%% (binding: %s limit, read %s s, write %s s)" % (
                 100 * r["falkorsync_vs_limit"], r["binding_limit"],
                 f1(r["read_limit_seconds"], 2), f1(r["write_limit_seconds"], 2)))
             if num(r.get("falkorsync_vs_limit")) else "–", "≥ 70%"],
            ["falkorsync ÷ GRAPH.BULK", ("%.0f%%" % (100 * r["falkorsync_vs_graph_bulk"]))
             if num(r.get("falkorsync_vs_graph_bulk")) else "–", ""],
            ["write limit ÷ seed-style peer (the most any sync writing these commands reaches)",
             fx(r.get("write_limit_vs_seed_style")), ""],
        ]))
        busy = res.get("busy")
        if busy:
            L.append("")
            L.append("While falkorsync ran, CPU busy as a share of its wall time (2 cores = "
                     "200%%): falkorsync %.0f%%, FalkorDB %.0f%%, Neo4j %.0f%%." % (
                         100 * busy["falkorsync"], 100 * busy["falkordb"], 100 * busy["neo4j"]))
        L.append("")
        L.append("Notes:")
        L.append("")
        for name, label in CONTENDERS:
            c = res["contenders"].get(name)
            if c and c.get("note"):
                L.append("- %s: %s." % (label, c["note"]))
        if res.get("generate_seconds"):
            L.append("- Generating the data took %s s." % f1(res["generate_seconds"]))
        L.append("")
        if res["verify"]:
            L.append("`falkorsync verify` of the cache each writer left:")
            L.append("")
            vrows = []
            for name, v in res["verify"].items():
                detail = "; ".join("%s: %s" % (t, ", ".join("%s %s" % (n, k) for k, n in d.items()))
                                   for t, d in v["by_type"].items()) or "identical"
                if v.get("error"):
                    detail = v["error"]
                vrows.append([name, fint(v.get("differences")), detail])
            L.append(md_table(["writer", "differences", "detail"], vrows, left=1).replace(
                "|---|---:|---:|", "|---|---:|---|"))
            L.append("")
        elif shape == "a":
            L.append("Shape (a) caches are verified only for small sizes (verify reads every "
                     "vector back; `BENCH_VERIFY_A=1` forces it); the smoke run does.")
            L.append("")
    L.append("### Where the peers differ from falkorsync's cache")
    L.append("")
    L.append("- Seed-style: temporal values are `str()` of the driver's DateTime "
             "(`2025-01-01T00:00:00.554047000+00:00`, nanosecond digits), not Graphiti's "
             "`isoformat()` text, so verify counts every item with a timestamp as different; "
             "sampled runs leave the rest missing. It gets Graphiti's range indexes first and "
             "labelled endpoint matches (without them every MERGE scans a label).")
    L.append("- Batched: the same properties, labels, vecf32 embeddings and isoformat() text "
             "as falkorsync; it writes into the live graph (no shadow graph and swap).")
    L.append("- GRAPH.BULK: no vector type, so embeddings are arrays of doubles (verify "
             "reports those items as different); Graphiti's indexes are built after the load.")
    L.append("- falkorsync full writes with its default method, `GRAPH.BULK` (binary "
             "values, relationships addressed by node id, each command followed by a query "
             "turning its embedding arrays into vecf32); the "
             "query-method row is the same binary with `SYNC_FULL_METHOD=query`.")
    L.append("- Write limit: falkorsync's own commands as `falkorsync full` sends them now, "
             "the bulk method pinned (`SYNC_FULL_METHOD=bulk`: shadow graph, GRAPH.BULK, the "
             "vecf32 conversion after each command with embeddings, indexes, checkpoints, the "
             "MULTI/RENAME swap), recorded with `FALKORSYNC_RECORD_COMMANDS` and replayed "
             "with no Neo4j in the loop, both with `falkorsync-replay` (falkorsync's pipelining: "
             "at most 4 commands in flight) and with `redis-cli --pipe`; the faster is the write "
             "limit.")
    L.append("- Read limit: the same Neo4j queries falkorsync runs, drained by "
             "`falkorsync-drain` with falkorsync's Bolt client, records skipped.")
    L.append("")
    lag = result.get("lag")
    if lag:
        svc = lag.get("service") or {}
        L.append("## Incremental lag")
        L.append("")
        L.append("`falkorsync serve` with `SYNC_INTERVAL_SECONDS=1` (reconcile off) over the "
                 "shape (b) cache; a writer creates %s Entity nodes per second for %s s in Neo4j "
                 "(created_at = datetime()); a poller asks FalkorDB every %s s for them. Lag = "
                 "first poll that sees the item − its commit." % (
                     lag["rate"], lag["seconds"], lag["poll_seconds"]))
        L.append("")
        L.append(md_table(["written", "arrived", "p50 s", "p90 s", "p99 s", "max s",
                           "service runs", "run p50 ms"], [[
            fint(lag["written"]), fint(lag["arrived"]), f1(lag["lag_p50"], 3),
            f1(lag["lag_p90"], 3), f1(lag["lag_p99"], 3), f1(lag["lag_max"], 3),
            fint(svc.get("runs")), fint(svc.get("run_ms_p50"))]]))
        L.append("")
    rec = result.get("reconcile")
    if rec:
        d = rec.get("drift") or {}
        L.append("## Reconcile")
        L.append("")
        L.append("%s entities without embeddings (%s items) fully synced, then `falkorsync "
                 "reconcile` with no drift, and again after drifting 1%% of the entities in "
                 "FalkorDB directly (%s changed, %s deleted with their relationships, %s "
                 "added)." % (fint(rec["entities"]), fint(rec["items"]), d.get("changed"),
                              d.get("deleted"), d.get("added")))
        L.append("")
        out0, out1 = rec["no_drift"]["output"], rec["one_percent"]["output"]
        rrows = []
        for label, key, out in (("0%", "no_drift", out0), ("1%", "one_percent", out1)):
            x = rec[key]
            rrows.append([label, f1(x["seconds"], 2), f1(x["cpu_s"]), f1(x["max_rss_mb"]),
                          f1(x.get("falkordb_cpu_s")), f1(x.get("neo4j_cpu_s")),
                          fint(out.get("upserted")), fint(out.get("deleted"))])
        L.append(md_table(["drift", "wall s", "CPU s", "peak RSS MB", "FalkorDB CPU s",
                           "Neo4j CPU s", "upserted", "deleted"], rrows))
        v = rec.get("verify_after")
        L.append("")
        if v:
            L.append("Verify afterwards: %s differences." % fint(v.get("differences")))
        L.append("The full sync of this graph took %s s (peak RSS %s MB)." % (
            f1(rec["full_sync_seconds"], 2), f1(rec["full_sync_max_rss_mb"])))
        L.append("")
    if result.get("freshness"):
        L.extend(freshness_markdown(result, history_dir))
    if result.get("soak"):
        import report_soak
        L.extend(report_soak.soak_markdown(result))
    if result.get("scale"):
        import report_scale
        L.extend(report_scale.scale_markdown(result))
    L.append("## falkorsync peak RSS by size")
    L.append("")
    L.append("Every run in `bench/results/` plus this one (target: flat with size, under "
             "64 MB).")
    L.append("")
    L.append(md_table(["run", "shape", "items", "peak RSS MB", "items/s"],
                      history_rows(history_dir, result), left=2))
    L.append("")
    if result["missing"]:
        L.append("Missing figures: " + ", ".join(result["missing"]))
        L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--history")
    args = ap.parse_args()

    run = load(args.raw, "run") or {}
    missing = []
    result = {
        "run": run,
        "machine": load(args.raw, "machine") or {},
        "shapes": {},
        "missing": missing,
    }
    sections = run.get("sections") or ["full", "lag", "reconcile"]
    if "full" in sections:
        for shape in ("a", "b"):
            result["shapes"][shape] = shape_result(args.raw, shape, run, missing)
    if run.get("mode") == "full":
        if "lag" in sections:
            result["lag"] = lag_result(args.raw)
            if result["lag"] is None:
                missing.append("lag")
        if "reconcile" in sections:
            result["reconcile"] = reconcile_result(args.raw)
            if result["reconcile"] is None and run.get("reconcile_entities", 0) > 0:
                missing.append("reconcile")
    if "freshness" in sections:
        result["freshness"] = {shape: freshness_result(args.raw, shape, missing)
                               for shape in (run.get("freshness") or {}).get("shapes", [])}
    if "soak" in sections:
        import report_soak
        result["soak"] = report_soak.soak_result(args.raw, missing)
    if "scale" in sections and run.get("mode") == "full":
        import report_scale
        result["scale"] = report_scale.scale_result(args.raw, missing)
    result["raw"] = {os.path.basename(p)[:-5]: json.load(open(p))
                     for p in sorted(glob.glob(os.path.join(args.raw, "*.json")))}
    result["complete"] = not missing

    print_summary(result)
    tmp = args.result + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, args.result)
    if args.markdown and "full" not in sections and os.path.exists(args.markdown):
        # a partial run replaces only its own sections of the report
        with open(args.markdown) as f:
            text = f.read()
        if result.get("freshness"):
            text = splice_section(text, "## Freshness", freshness_markdown(result, args.history))
        if result.get("soak"):
            import report_soak
            text = splice_section(text, "## Soak", report_soak.soak_markdown(result))
        if result.get("scale"):
            import report_scale
            text = splice_section(text, "## Scale-out", report_scale.scale_markdown(result))
        with open(args.markdown + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.markdown + ".tmp", args.markdown)
    elif args.markdown:
        text = markdown(result, args.history)
        with open(args.markdown + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.markdown + ".tmp", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
