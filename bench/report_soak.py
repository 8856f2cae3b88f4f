"""The soak section of the benchmark report (bench/run.sh --only soak): the figures
from the raw files and the "## Soak" Markdown. Used by bench/report.py."""

import json
import os

import report as r

SOAK_FLAT = 0.10  # issue 17: RSS, fds and threads flat within 10% from start to end


def soak_result(raw, missing):
    """The soak: serve at a 1 s interval under the Graphiti-like writer for SOAK_MINUTES;
    the service's RSS, fds and threads sampled from start to end; verify at the end."""
    m = r.load(raw, "soak")
    path = os.path.join(raw, "soak.samples.jsonl")
    samples = []
    if os.path.exists(path):
        with open(path) as f:
            samples = [json.loads(line) for line in f if line.strip()]
    end = r.load(raw, "soak.end") or {}
    if end.get("rss_kb"):
        samples.append(end)
    if not r.ok(m) or len(samples) < 2:
        missing.append("soak")
        return None
    o = m["output"]
    first, last = samples[0], samples[-1]
    flat = {}
    for key in ("rss_kb", "fds", "threads"):
        a, b = first.get(key), last.get(key)
        change = (b - a) / a if r.num(a) and r.num(b) and a > 0 else None
        flat[key] = {"start": a, "end": b, "max": max(x.get(key, 0) for x in samples),
                     "change": change,
                     "flat": change is not None and abs(change) <= SOAK_FLAT}
    # the last third of the window: whether RSS still grows at the end or has levelled off
    tail = [x for x in samples if (x.get("t") or 0) >= first.get("t", 0) + 2 * (
        (last.get("t") or 0) - first.get("t", 0)) / 3]
    late = None
    if len(tail) >= 2 and r.num(tail[0].get("rss_kb")) and tail[0]["rss_kb"] > 0:
        late = (tail[-1]["rss_kb"] - tail[0]["rss_kb"]) / tail[0]["rss_kb"]
    v = r.load(raw, "soak.verify") or {}
    stop = r.load(raw, "soak.stop") or {}
    t0 = first.get("t") or 0
    res = {
        "minutes": stop.get("minutes"),
        "entities": stop.get("entities"),
        "rate": o.get("rate"),
        "achieved_rate": o.get("achieved_rate"),
        "ops": o.get("ops"),
        "failed_writes": o.get("failed"),
        "never_visible": sum((k or {}).get("never_visible", 0)
                             for k in (o.get("kinds") or {}).values()),
        "runs": last.get("runs", 0) - first.get("runs", 0),
        "runs_failed": last.get("runs_failed", 0) - first.get("runs_failed", 0),
        "errors": last.get("errors", 0) - first.get("errors", 0),
        "runs_total": last.get("runs"),
        "warning_lines": stop.get("warning_lines"),
        "exit": stop.get("exit"),
        "flat": flat,
        "all_flat": all(x["flat"] for x in flat.values()),
        "rss_change_last_third": late,
        "verify_differences": v.get("differences"),
        "samples": [dict(x, minute=round(((x.get("t") or t0) - t0) / 60, 2)) for x in samples],
    }
    if not r.num(res["verify_differences"]):
        missing.append("soak.verify")
    return res


def soak_markdown(result):
    """The "## Soak" section."""
    s, run = result["soak"], result["run"]
    L = ["## Soak", ""]
    L.append("`%s` (%s): `falkorsync serve` with `SYNC_INTERVAL_SECONDS=1` and the default "
             "reconcile setting over a shape (b) graph of %s entities, while "
             "`bench/peers/freshness.py` writes Graphiti-like changes (adds, edge "
             "invalidation, summary rewrites, remove_episode, edge deletes) at %s changes/s "
             "for %s minutes. The service's RSS, open file descriptors and threads are read "
             "from `/proc` from its first completed run to the writer's end (and once more "
             "after the last change became visible); runs and errors from its `/metrics`; "
             "then `falkorsync verify`." % (
                 run["command"], run["stamp"], r.fint(s["entities"]), r.f1(s["rate"], 0),
                 r.f1(s["minutes"], 0)))
    L.append("")
    rows = []
    for key, label, scale in (("rss_kb", "RSS MB", 1024.0), ("fds", "open fds", 1),
                              ("threads", "threads", 1)):
        x = s["flat"][key]
        rows.append([label, r.f1(x["start"] / scale, 1 if scale > 1 else 0),
                     r.f1(x["end"] / scale, 1 if scale > 1 else 0),
                     r.f1(x["max"] / scale, 1 if scale > 1 else 0),
                     ("%+.1f%%" % (100 * x["change"])) if r.num(x["change"]) else "–",
                     "yes" if x["flat"] else "**no**"])
    L.append(r.md_table(["", "start", "end", "max", "change", "flat within 10%"], rows))
    L.append("")
    late = s.get("rss_change_last_third")
    mach = result.get("machine") or {}
    L.append("RSS over the last third of the window: %s. Machine: %s cores, load average %s at "
             "the start and %s at the end (1, 5, 15 min); other work shares it." % (
                 ("%+.1f%%" % (100 * late)) if r.num(late) else "–", mach.get("cores", "?"),
                 mach.get("load_at_start", "?"), run.get("load_at_end", "?")))
    L.append("")
    L.append("Runs in the window: %s (%s failed), errors counted: %s; writer: %s changes "
             "(%s changes/s achieved, %s failed, %s never visible); `verify` at the end: "
             "**%s differences**." % (
                 r.fint(s["runs"]), r.fint(s["runs_failed"]), r.fint(s["errors"]), r.fint(s["ops"]),
                 r.f1(s["achieved_rate"]), r.fint(s["failed_writes"]), r.fint(s["never_visible"]),
                 r.fint(s["verify_differences"])))
    L.append("")
    L.append(r.md_table(["minute", "RSS MB", "fds", "threads", "runs so far", "failed runs"],
                      [[r.f1(x["minute"], 1), r.f1(x.get("rss_kb", 0) / 1024.0, 1),
                        r.fint(x.get("fds")), r.fint(x.get("threads")), r.fint(x.get("runs")),
                        r.fint(x.get("runs_failed"))] for x in s["samples"]]))
    L.append("")
    return L
