"""Freshness under load: a steady Graphiti-like writer into Neo4j, FalkorDB polled by key.

While `falkorsync serve` keeps the cache, a writer makes --rate changes a
second for --seconds, mixing what Graphiti does to a graph:

  add             add_episode: a new Episodic, two new Entities, two MENTIONS
                  and a RELATES_TO between the entities (6 items, one statement)
  invalidate      edge invalidation: expired_at and invalid_at set on an
                  existing RELATES_TO (1 item)
  summary         a new episode that mentions an existing Entity and rewrites
                  its summary, as add_episode does (3 items)
  delete_episode  remove_episode: the episode, the RELATES_TO whose first
                  episode it is, the entities only it mentioned, and every
                  relationship those deletions take along (one transaction)
  delete_edge     one RELATES_TO deleted by uuid (Graphiti's Edge.delete)

The window is fixed: when Neo4j cannot take the rate, the changes not begun
by the end are not sent (counted), and the achieved rate says so.

A change is visible when FalkorDB shows all of it, polled by key: an added
item is there, a deleted one is gone, an update reads the new value
(summary text; expired_at no longer null). Its time is from the commit
returning to the first poll that saw it: items younger than --fast-window
seconds are polled every --poll seconds, older ones every --slow-poll, so a
figure above --fast-window is rounded up by at most --slow-poll.

Also measured: the items falkorsync wrote from the writer's start until every
change was visible (or the timeout), and within the writer's window alone (its
/metrics counter falkorsync_items_synced_total, upsert + delete; the run
history's per-run upserted + deleted alongside); over the window: the runs and
the largest gap between consecutive incremental runs (from
/api/sync/history), and the CPU seconds of the processes given with --pid
(from /proc/<pid>/stat); first the same over --idle-seconds with no writer.

Targets are sampled up front, untimed, and kept disjoint (no entity or edge
that a deleted episode takes along is updated); at most half of the
graph's episodes are removed. When the sample runs out (small graphs),
changes take what this run added, once visible: every other add's episode
may be removed, the others' edge and entities updated or deleted.

Prints one JSON line.
"""

import argparse
import datetime
import json
import math
import os
import random
import re
import resource
import threading
import time
import urllib.request
import uuid as uuidlib
from collections import deque

import common as c

KINDS = ["add", "invalidate", "summary", "delete_episode", "delete_edge"]
DEFAULT_MIX = "add=40,invalidate=15,summary=15,delete_episode=15,delete_edge=15"


def percentile(values, q):
    """Nearest-rank percentile; values may hold math.inf (never visible)."""
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(math.ceil(q * len(s))) - 1))
    return s[k]


def finite(x):
    return x if x is not None and math.isfinite(x) else None


def parse_mix(text):
    mix = {}
    for part in text.split(","):
        k, _, v = part.partition("=")
        k = k.strip()
        if k not in KINDS:
            raise SystemExit(f"freshness: unknown change kind {k!r} (one of {', '.join(KINDS)})")
        mix[k] = float(v)
    total = sum(mix.values())
    if total <= 0:
        raise SystemExit("freshness: the mix is empty")
    return {k: v / total for k, v in mix.items() if v > 0}


# ---- Processes, service ------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # fields 14, 15 of stat(5)
    except (OSError, IndexError, ValueError):
        return None


def cpu_snapshot(pids):
    snap = {name: cpu_seconds(pid) for name, pid in pids.items()}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    snap["writer"] = ru.ru_utime + ru.ru_stime
    return snap


def cpu_delta(a, b):
    return {k: (b[k] - a[k]) if a.get(k) is not None and b.get(k) is not None else None
            for k in a}


METRIC = re.compile(r'^falkorsync_items_synced_total\{type="([^"]+)",operation="([^"]+)"\} (\S+)$')
RUNNING = re.compile(r'^falkorsync_sync_running (\S+)$')


def metrics(url):
    """falkorsync's items counters from /metrics: {"upsert": n, "delete": n, ...}."""
    if not url:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        r = RUNNING.match(line)
        if r:
            out["running"] = float(r.group(1))
        m = METRIC.match(line)
        if m:
            out[f"{m.group(1)}_{m.group(2)}" if m.group(1) != "any" else m.group(2)] = float(
                m.group(3))
    return out


def history(url):
    try:
        with urllib.request.urlopen(url + "/api/sync/history?limit=1000", timeout=5) as r:
            return json.load(r).get("runs", [])
    except (OSError, ValueError):
        return []


def wall_of(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class HistoryWatch(threading.Thread):
    """Collects /api/sync/history every few seconds (it keeps the last 200 runs)."""

    def __init__(self, url, every=2.0):
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.runs = {}
        self.stop = threading.Event()

    def collect(self):
        for r in history(self.url):
            self.runs[r["run_id"]] = r

    def run(self):
        while not self.stop.wait(self.every):
            self.collect()


def runs_summary(runs, t0, t1):
    """Runs that started in [t0, t1] (wall clock): counts, items, the largest gaps."""
    inside = []
    for r in runs.values():
        start = wall_of(r["started_at"])
        if t0 <= start <= t1:
            inside.append(dict(r, start=start, end=start + r["duration_seconds"]))
    inside.sort(key=lambda r: r["start"])
    inc = [r for r in inside if r["mode"] == "incremental"]
    starts = [t0] + [r["start"] for r in inc] + [t1]
    gap_start = max(b - a for a, b in zip(starts, starts[1:])) if inc else t1 - t0
    # idle gap: from one incremental run's end to the next one's start
    ends = [t0] + [r["end"] for r in inc]
    gap_idle = max((b - a for a, b in zip(ends, [r["start"] for r in inc] + [t1])), default=None)
    by_mode = {}
    for r in inside:
        m = by_mode.setdefault(r["mode"], {"runs": 0, "failed": 0, "seconds": 0.0,
                                           "upserted": 0, "deleted": 0, "max_seconds": 0.0})
        m["runs"] += 1
        m["failed"] += r["result"] != "success"
        m["seconds"] += r["duration_seconds"]
        m["max_seconds"] = max(m["max_seconds"], r["duration_seconds"])
        m["upserted"] += r["upserted"]
        m["deleted"] += r["deleted"]
    failed = [r for r in inside if r["result"] != "success"]
    return {
        "runs": len(inside),
        "by_mode": by_mode,
        "failed_runs": [{"mode": r["mode"], "started_at": r["started_at"],
                         "seconds": r["duration_seconds"], "error": r.get("error")}
                        for r in failed],
        "written": sum(r["upserted"] + r["deleted"] for r in inside),
        "max_gap_between_incremental_starts_s": gap_start,
        "max_idle_between_incremental_runs_s": gap_idle,
        "incremental_run_p50_s": percentile([r["duration_seconds"] for r in inc], 0.5),
        "incremental_run_max_s": max((r["duration_seconds"] for r in inc), default=None),
    }


# ---- Targets ------------------------------------------------------------------------

def sample_targets(driver, needs, rng):
    """Disjoint update/delete targets: episodes to remove, entities to rewrite, edges."""
    db = c.neo4j_database()
    with driver.session(database=db) as s:
        episodes = [r[0] for r in s.run("MATCH (e:Episodic) RETURN e.uuid")]
        groups = [r[0] for r in s.run(
            "MATCH (n:Entity) WITH n LIMIT 1000 RETURN DISTINCT n.group_id")] or ["group_a"]
        rng.shuffle(episodes)
        del_eps = episodes[:min(needs.get("delete_episode", 0), max(1, len(episodes) // 2))]
        # What removing them can delete: the edges they list (entity_edges), the entities
        # every mentioning episode of which is being removed, and those entities' edges.
        del_set = set(del_eps)
        touched_nodes, touched_edges = set(), set()
        for i in range(0, len(del_eps), 500):
            chunk = del_eps[i:i + 500]
            for row in s.run("UNWIND $u AS u MATCH (ep:Episodic {uuid: u}) "
                             "RETURN ep.entity_edges", u=chunk):
                touched_edges.update(row[0] or [])
            for row in s.run("UNWIND $u AS u MATCH (:Episodic {uuid: u})-[:MENTIONS]->(n:Entity) "
                             "WITH DISTINCT n MATCH (e:Episodic)-[:MENTIONS]->(n) "
                             "RETURN n.uuid, collect(e.uuid)", u=chunk):
                if set(row[1]) <= del_set:
                    touched_nodes.add(row[0])
        nodes = sorted(touched_nodes)
        for i in range(0, len(nodes), 500):
            for row in s.run("UNWIND $u AS u MATCH (:Entity {uuid: u})-[r:RELATES_TO]-() "
                             "RETURN r.uuid", u=nodes[i:i + 500]):
                touched_edges.add(row[0])
        entities = [r[0] for r in s.run("MATCH (n:Entity) RETURN n.uuid")]
        entities = [u for u in entities if u not in touched_nodes]
        edges = [r[0] for r in s.run(
            "MATCH ()-[r:RELATES_TO]->() WHERE r.expired_at IS NULL RETURN r.uuid")]
        edges = [u for u in edges if u not in touched_edges]
    rng.shuffle(entities)
    rng.shuffle(edges)
    n_inv, n_del = needs.get("invalidate", 0), needs.get("delete_edge", 0)
    targets = {
        "delete_episode": deque(del_eps),
        "summary": deque(entities[:needs.get("summary", 0)]),
        "invalidate": deque(edges[:n_inv]),
        "delete_edge": deque(edges[n_inv:n_inv + n_del]),
    }
    return targets, groups


# ---- The writer --------------------------------------------------------------------

def new_uuid():
    return str(uuidlib.uuid4())


class Op:
    __slots__ = ("kind", "i", "due", "commit", "checks", "items", "visible", "error", "own",
                 "remaining")

    def __init__(self, kind, i, due):
        self.kind, self.i, self.due = kind, i, due
        self.commit = None
        self.checks = []  # (check kind, label or type, uuid, expected)
        self.items = 0
        self.visible = None
        self.error = None
        self.own = None  # an add's (episode, edge, entity a, entity b)
        self.remaining = set()


Q_ADD = """
CREATE (ep:Episodic {uuid: $ep, name: $ep_name, group_id: $g, source: 'message',
  source_description: 'freshness benchmark', content: $content, entity_edges: [$r],
  created_at: datetime(), valid_at: datetime()})
CREATE (a:Entity {uuid: $a, name: $a_name, group_id: $g, summary: $a_summary,
  labels: ['Entity'], created_at: datetime()})
CREATE (b:Entity {uuid: $b, name: $b_name, group_id: $g, summary: $b_summary,
  labels: ['Entity'], created_at: datetime()})
CREATE (ep)-[:MENTIONS {uuid: $m1, group_id: $g, created_at: datetime()}]->(a)
CREATE (ep)-[:MENTIONS {uuid: $m2, group_id: $g, created_at: datetime()}]->(b)
CREATE (a)-[r:RELATES_TO {uuid: $r, group_id: $g, name: 'MET', fact: $fact, episodes: [$ep],
  source_node_uuid: $a, target_node_uuid: $b, created_at: datetime(), valid_at: datetime()}]->(b)
"""
Q_ADD_EMB = Q_ADD + """
WITH a, b, r
CALL db.create.setNodeVectorProperty(a, 'name_embedding', $va)
CALL db.create.setNodeVectorProperty(b, 'name_embedding', $vb)
CALL db.create.setRelationshipVectorProperty(r, 'fact_embedding', $vr)
"""
Q_ADD += "RETURN 1"
Q_ADD_EMB += "RETURN 1"

Q_INVALIDATE = ("MATCH ()-[r:RELATES_TO {uuid: $u}]->() "
                "SET r.expired_at = datetime(), r.invalid_at = datetime() RETURN count(r)")

Q_SUMMARY = """
MATCH (n:Entity {uuid: $u})
CREATE (ep:Episodic {uuid: $ep, name: $ep_name, group_id: n.group_id, source: 'message',
  source_description: 'freshness benchmark', content: $content, entity_edges: [],
  created_at: datetime(), valid_at: datetime()})
CREATE (ep)-[:MENTIONS {uuid: $m, group_id: n.group_id, created_at: datetime()}]->(n)
SET n.summary = $summary
RETURN count(n)
"""

Q_DELETE_EDGE = "MATCH ()-[r:RELATES_TO {uuid: $u}]->() DELETE r RETURN count(*)"


def remove_episode(tx, ep_uuid):
    """Graphiti's remove_episode in one transaction; returns the (label/type, uuid, is_rel)
    of every item it deletes, or None when the episode is gone."""
    row = tx.run("MATCH (ep:Episodic {uuid: $u}) RETURN ep.entity_edges", u=ep_uuid).single()
    if row is None:
        return None
    entity_edges = row[0] or []
    edges = [r[0] for r in tx.run(
        "MATCH ()-[r:RELATES_TO]->() WHERE r.uuid IN $uu AND r.episodes[0] = $ep RETURN r.uuid",
        uu=entity_edges, ep=ep_uuid)]
    nodes = [r[0] for r in tx.run(
        "MATCH (ep:Episodic {uuid: $u})-[:MENTIONS]->(n:Entity) "
        "WHERE COUNT { (:Episodic)-[:MENTIONS]->(n) } = 1 RETURN n.uuid", u=ep_uuid)]
    gone = {("Episodic", ep_uuid, False)}
    gone.update(("RELATES_TO", u, True) for u in edges)
    gone.update(("Entity", u, False) for u in nodes)
    for r in tx.run(
            "MATCH (n:Entity) WHERE n.uuid IN $nodes MATCH (n)-[r]-() RETURN type(r), r.uuid "
            "UNION MATCH (ep:Episodic {uuid: $u})-[r]-() RETURN type(r), r.uuid",
            nodes=nodes, u=ep_uuid):
        if r[1] is not None:
            gone.add((r[0], r[1], True))
    tx.run("MATCH ()-[r:RELATES_TO]->() WHERE r.uuid IN $uu DELETE r", uu=edges).consume()
    tx.run("MATCH (n:Entity) WHERE n.uuid IN $uu DETACH DELETE n", uu=nodes).consume()
    tx.run("MATCH (ep:Episodic {uuid: $u}) DETACH DELETE ep", u=ep_uuid).consume()
    return gone


class Writer:
    def __init__(self, args, driver, targets, groups, rng):
        self.args, self.driver, self.targets, self.groups = args, driver, targets, groups
        self.rng = rng
        self.lock = threading.Lock()
        # what this run added, once visible: targets when the sample runs out
        self.own = {"delete_episode": deque(), "invalidate": deque(), "delete_edge": deque(),
                    "summary": deque()}
        self.tag = uuidlib.uuid4().hex[:8]
        self.reused = {k: 0 for k in self.own}
        self.sampled = {k: len(v) for k, v in targets.items()}
        self.vectors = [[rng.uniform(-1, 1) for _ in range(args.dim)] for _ in range(16)] \
            if args.dim else []

    def vec(self):
        return self.vectors[self.rng.randrange(len(self.vectors))]

    def on_visible(self, op):
        """An add became visible: every other one's episode may be removed, the others'
        edge invalidated or deleted and entities rewritten (never both, so that no update
        waits on an item a removal took)."""
        if op.kind != "add":
            return
        ep, r, a, b = op.own
        with self.lock:
            if op.i % 2 == 0:
                self.own["delete_episode"].append(ep)
            else:
                edges = "invalidate" if len(self.own["invalidate"]) <= len(
                    self.own["delete_edge"]) else "delete_edge"
                self.own[edges].append(r)
                self.own["summary"].extend((a, b))

    def take(self, kind):
        with self.lock:
            q = self.targets.get(kind)
            if q:
                return q.popleft()
            q = self.own.get(kind)
            if q:
                self.reused[kind] += 1
                return q.popleft()
        return None

    def do(self, session, op, i):
        k, g = op.kind, self.groups[i % len(self.groups)]
        if k == "add":
            ep, a, b, r, m1, m2 = (new_uuid() for _ in range(6))
            params = dict(ep=ep, a=a, b=b, r=r, m1=m1, m2=m2, g=g,
                          ep_name=f"freshness {self.tag} {i}",
                          content=f"freshness benchmark episode {i}: {a} met {b}",
                          a_name=f"fresh {self.tag} {i} a", b_name=f"fresh {self.tag} {i} b",
                          a_summary=f"Written by the freshness benchmark ({i}, a).",
                          b_summary=f"Written by the freshness benchmark ({i}, b).",
                          fact=f"{a} met {b} in episode {i}")
            if self.args.dim:
                params.update(va=self.vec(), vb=self.vec(), vr=self.vec())
            session.run(Q_ADD_EMB if self.args.dim else Q_ADD, **params).consume()
            op.checks = [("present", "Episodic", ep, None), ("present", "Entity", a, None),
                         ("present", "Entity", b, None), ("present", "MENTIONS", m1, None),
                         ("present", "MENTIONS", m2, None), ("present", "RELATES_TO", r, None)]
            op.own = (ep, r, a, b)
            op.items = 6
        elif k == "invalidate":
            u = self.take(k)
            if u is None:
                raise RuntimeError("invalidate: no edge left to invalidate")
            if session.run(Q_INVALIDATE, u=u).single()[0] != 1:
                raise RuntimeError(f"invalidate: edge {u} not found")
            op.checks = [("expired", "RELATES_TO", u, None)]
            op.items = 1
        elif k == "summary":
            u = self.take(k)
            ep, m = new_uuid(), new_uuid()
            text = f"Summary rewritten by the freshness benchmark ({self.tag} {i})."
            if u is None:
                raise RuntimeError("summary: no entity left to rewrite")
            if session.run(Q_SUMMARY, u=u, ep=ep, m=m, summary=text,
                                        ep_name=f"freshness {self.tag} {i}",
                                        content=f"freshness benchmark episode {i} about {u}"
                                        ).single()[0] != 1:
                raise RuntimeError(f"summary: entity {u} not found")
            op.checks = [("summary", "Entity", u, text), ("present", "Episodic", ep, None),
                         ("present", "MENTIONS", m, None)]
            op.items = 3
        elif k == "delete_episode":
            u = self.take(k)
            if u is None:
                raise RuntimeError("delete_episode: no episode left to remove")
            gone = session.execute_write(remove_episode, u)
            if gone is None:
                raise RuntimeError(f"delete_episode: episode {u} not found")
            op.checks = [("absent", label, key, None) for label, key, _ in sorted(gone)]
            op.items = len(gone)
        elif k == "delete_edge":
            u = self.take(k)
            if u is None:
                raise RuntimeError("delete_edge: no edge left to delete")
            if session.run(Q_DELETE_EDGE, u=u).single()[0] != 1:
                raise RuntimeError(f"delete_edge: edge {u} not found")
            op.checks = [("absent", "RELATES_TO", u, None)]
            op.items = 1


# ---- The poller ---------------------------------------------------------------------

REL_TYPES = {t for t, _, _ in c.EDGE_TYPES}


def poll_query(kind, label):
    if label in REL_TYPES:
        m = f"MATCH ()-[x:{c.ident(label)} {{uuid: k.u}}]->()"
    else:
        m = f"MATCH (x:{c.ident(label)} {{uuid: k.u}})"
    where = {"present": "", "absent": "", "expired": " WHERE x.expired_at IS NOT NULL",
             "summary": " WHERE x.summary = k.v"}[kind]
    return f"UNWIND $keys AS k {m}{where} RETURN k.u"


class Poller:
    def __init__(self, args, graphs, on_visible):
        # graphs: where a reader finds the items (one graph; or, per_group, every group's:
        # a key is found in its group's graph, and uuids are unique across groups)
        self.args, self.graphs, self.on_visible = args, graphs, on_visible
        self.pending = {}  # (kind, label, uuid, expected) -> [ops waiting, next due]
        self.lock = threading.Lock()
        self.queries = 0
        self.keys_polled = 0
        self.errors = 0

    def add(self, op):
        op.visible = None
        with self.lock:
            for ch in op.checks:
                self.pending.setdefault(ch, [[], 0.0])[0].append(op)
            op.remaining = set(op.checks)

    def cycle(self):
        now = time.monotonic()
        groups = {}
        with self.lock:
            for ch, (ops, due) in self.pending.items():
                if due <= now:
                    groups.setdefault((ch[0], ch[1]), []).append(ch)
        for (kind, label), checks in groups.items():
            keys = [{"u": ch[2], "v": ch[3]} for ch in checks]
            found = set()
            try:
                for graph in self.graphs:
                    rows = graph.ro_query(poll_query(kind, label), {"keys": keys}).result_set
                    found.update(r[0] for r in rows)
                    self.queries += 1
            except Exception:  # a busy or restarting server: poll again next cycle
                self.errors += 1
                continue
            self.keys_polled += len(keys)
            t = time.monotonic()
            newly = []
            with self.lock:
                for ch in checks:
                    done = (ch[2] not in found) if kind == "absent" else (ch[2] in found)
                    entry = self.pending.get(ch)
                    if entry is None:
                        continue
                    if done:
                        for op in entry[0]:
                            op.remaining.discard(ch)
                            if not op.remaining:
                                op.visible = t
                                newly.append(op)
                        del self.pending[ch]
                    else:
                        young = min(t - op.commit for op in entry[0]) < self.args.fast_window
                        entry[1] = t + (self.args.poll if young else self.args.slow_poll)
            for op in newly:
                self.on_visible(op)

    def left(self):
        with self.lock:
            return len(self.pending)


# ---- Main ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="changes per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the writer writes")
    ap.add_argument("--mix", default=DEFAULT_MIX, help="kind=weight,... (default %(default)s)")
    ap.add_argument("--dim", type=int, default=0, help="embedding size of added items (0: none)")
    ap.add_argument("--threads", type=int, default=16,
                    help="writer sessions (Neo4j commits Graphiti-indexed episodes slowly per "
                         "session: measured 14/s with one, 38/s with eight on a loaded 2-core box)")
    ap.add_argument("--poll", type=float, default=0.05)
    ap.add_argument("--slow-poll", type=float, default=0.5)
    ap.add_argument("--fast-window", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="how long to wait for the last changes after the writer stops")
    ap.add_argument("--idle-seconds", type=float, default=10.0,
                    help="CPU and runs measured first with no writer")
    ap.add_argument("--service", default="", help="falkorsync's HTTP base URL (history)")
    ap.add_argument("--metrics", default="", help="falkorsync's /metrics URL")
    ap.add_argument("--pid", action="append", default=[], help="NAME=PID whose CPU to measure")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--graphs", default="",
                    help="FalkorDB graphs to poll, comma-separated (per_group: every group's "
                         "graph); default FALKORDB_DATABASE")
    args = ap.parse_args()

    mix = parse_mix(args.mix)
    rng = random.Random(args.seed)
    n_ops = int(round(args.rate * args.seconds))
    kinds = [k for k in mix for _ in range(int(round(mix[k] * n_ops)))]
    while len(kinds) < n_ops:
        kinds.append(max(mix, key=mix.get))
    kinds = kinds[:n_ops]
    rng.shuffle(kinds)
    needs = {k: kinds.count(k) for k in mix}
    pids = {}
    for p in args.pid:
        name, _, pid = p.partition("=")
        if pid:
            pids[name] = int(pid)

    driver = c.neo4j_driver()
    db, graph = c.falkor_graph()
    graphs = [db.select_graph(n) for n in args.graphs.split(",") if n] or [graph]
    targets, groups = sample_targets(driver, needs, rng)
    watch = HistoryWatch(args.service) if args.service else None

    # Idle window: the service alone.
    idle = None
    if args.idle_seconds > 0:
        w0, c0 = time.time(), cpu_snapshot(pids)
        time.sleep(args.idle_seconds)
        w1, c1 = time.time(), cpu_snapshot(pids)
        idle = {"seconds": w1 - w0, "cpu_s": cpu_delta(c0, c1)}
        if watch:
            watch.collect()
            idle["service"] = runs_summary(watch.runs, w0, w1)
    if watch:
        watch.start()

    writer = Writer(args, driver, targets, groups, rng)
    poller = Poller(args, graphs, writer.on_visible)
    ops = []
    errors = []
    period = 1.0 / args.rate if args.rate > 0 else 0
    next_i = [0]
    i_lock = threading.Lock()
    m0 = metrics(args.metrics)
    c0 = cpu_snapshot(pids)
    w0 = time.time()
    t0 = time.monotonic()

    end = t0 + args.seconds  # the window is fixed: changes not started by then are not sent

    def work():
        with driver.session(database=c.neo4j_database()) as s:
            while True:
                with i_lock:
                    i = next_i[0]
                    if i >= n_ops or time.monotonic() >= end:
                        return
                    next_i[0] += 1
                op = Op(kinds[i], i, t0 + i * period)
                wait = op.due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    writer.do(s, op, i)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    op.error = str(exc)[:200]
                    errors.append(op)
                    continue
                op.commit = time.monotonic()
                poller.add(op)
                with writer.lock:
                    ops.append(op)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        poller.cycle()
        time.sleep(args.poll)
    for t in threads:
        t.join()
    t1 = time.monotonic()
    w1 = time.time()
    c1 = cpu_snapshot(pids)
    m1 = metrics(args.metrics)
    deadline = t1 + args.timeout
    while poller.left() and time.monotonic() < deadline:
        poller.cycle()
        time.sleep(args.poll)
    t2 = time.monotonic()
    w2 = time.time()
    # falkorsync adds a run's items to its counters when the run ends: wait for the run
    # in progress (the one that made the last change visible) to finish.
    m2 = metrics(args.metrics)
    wait_until = time.monotonic() + args.timeout
    while m2 and m2.get("running") and time.monotonic() < wait_until:
        time.sleep(0.1)
        m2 = metrics(args.metrics)
    if watch:
        watch.stop.set()
        watch.collect()
    driver.close()

    per_kind = {}
    for k in KINDS:
        mine = [op for op in ops if op.kind == k]
        failed = [op for op in errors if op.kind == k]
        if not mine and not failed:
            continue
        lags = [(op.visible - op.commit) if op.visible is not None else math.inf for op in mine]
        vis = [x for x in lags if math.isfinite(x)]
        per_kind[k] = {
            "ops": len(mine),
            "items": sum(op.items for op in mine),
            "visible": len(vis),
            "never_visible": len(mine) - len(vis),
            "failed": len(failed),
            "first_error": failed[0].error if failed else None,
            "p50": finite(percentile(lags, 0.50)),
            "p90": finite(percentile(lags, 0.90)),
            "p99": finite(percentile(lags, 0.99)),
            "max": finite(max(lags)) if lags else None,
            "max_visible": max(vis) if vis else None,
            # what kept a few of them from being visible: (check, label or type, key)
            "never_visible_sample": [sorted(op.remaining)[0][:3] for op in mine
                                     if op.visible is None and op.remaining][:5],
            # the slowest ones: (lag, seconds from the writer's start to the commit, the
            # first of what it waited for), to find what held them
            "slowest": [[round(lag, 3), round(op.commit - t0, 3), [list(c[:3]) for c in op.checks[:2]]]
                        for lag, op in sorted(((x, op) for x, op in zip(lags, mine)
                                               if math.isfinite(x)), key=lambda p: -p[0])[:3]],
        }
    changed = sum(op.items for op in ops)
    def written_between(a, b):
        if not (a and b):
            return None
        return (b.get("upsert", 0) - a.get("upsert", 0)) + (b.get("delete", 0) - a.get("delete", 0))
    written = written_between(m0, m2)
    written_window = written_between(m0, m1)
    window = t1 - t0
    out = {
        "rate": args.rate,
        "seconds": args.seconds,
        "mix": mix,
        "dim": args.dim,
        "threads": args.threads,
        "poll_seconds": args.poll,
        "slow_poll_seconds": args.slow_poll,
        "fast_window_seconds": args.fast_window,
        "timeout_seconds": args.timeout,
        "ops": len(ops),
        "failed": len(errors),
        "planned": n_ops,
        "not_sent": n_ops - min(next_i[0], n_ops),
        "achieved_rate": len(ops) / window if window > 0 else None,
        "window_seconds": window,
        "drain_seconds": t2 - t1,
        "items_changed": changed,
        "kinds": per_kind,
        "written_metrics": written,
        "written_metrics_window": written_window,
        "metrics": {"start": m0, "writer_end": m1, "end": m2},
        "write_amplification": (written / changed) if written is not None and changed else None,
        "write_amplification_window": (written_window / changed)
        if written_window is not None and changed else None,
        "write_amplification_source": "/metrics falkorsync_items_synced_total (upsert + delete) "
                                      "from the writer's start until every change was visible",
        "cpu_s": cpu_delta(c0, c1),
        "idle": idle,
        "poll": {"queries": poller.queries, "keys": poller.keys_polled, "errors": poller.errors,
                 "left": poller.left()},
        "sampled_targets": writer.sampled,
        "own_targets": writer.reused,
        "episodes_reused": writer.reused["delete_episode"],
    }
    if watch:
        svc = runs_summary(watch.runs, w0, w1)
        until = runs_summary(watch.runs, w0, w2)
        svc["written_until_visible"] = until["written"]
        svc["until_visible"] = {k: until[k] for k in (
            "runs", "by_mode", "failed_runs", "max_gap_between_incremental_starts_s")}
        out["service"] = svc
        out["write_amplification_history"] = (svc["written"] / changed) if changed else None
    c.emit(out)


if __name__ == "__main__":
    main()
