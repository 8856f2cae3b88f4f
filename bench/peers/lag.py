"""Change-to-cache lag: a steady writer into Neo4j and a poller of FalkorDB.

The writer creates one Graphiti-shaped Entity per 1/rate seconds for the
given seconds (auto-commit transactions, created_at = datetime() on the
server), each with a fresh uuid. The poller asks FalkorDB every --poll
seconds which of the written uuids it holds; an item's lag is the time from
its commit returning to the first poll that saw it (so the figures include
up to one poll interval of rounding). falkorsync serve does the syncing.

Prints one JSON line: p50, p90, p99, max lag in seconds, and how many items
never arrived within --timeout.
"""

import argparse
import threading
import time
import uuid

import common as c


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=20.0, help="changes per second")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the writer writes")
    ap.add_argument("--poll", type=float, default=0.05, help="FalkorDB poll interval")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="how long to wait for the last items after the writer stops")
    ap.add_argument("--group", default="group_a")
    args = ap.parse_args()

    driver = c.neo4j_driver()
    _, graph = c.falkor_graph()
    committed = {}  # uuid -> commit time
    seen = {}  # uuid -> first time seen in FalkorDB
    lock = threading.Lock()
    writer_done = threading.Event()
    run_tag = uuid.uuid4().hex[:8]

    def writer():
        period = 1.0 / args.rate
        n = int(args.rate * args.seconds)
        start = time.monotonic()
        with driver.session(database=c.neo4j_database()) as s:
            for i in range(n):
                wait = start + i * period - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                u = str(uuid.uuid4())
                s.run("CREATE (n:Entity {uuid: $u, name: $name, group_id: $g, summary: $summary, "
                      "labels: ['Entity'], created_at: datetime()})",
                      u=u, name=f"lag probe {run_tag} {i}", g=args.group,
                      summary="written by the lag benchmark").consume()
                with lock:
                    committed[u] = time.monotonic()
        writer_done.set()

    t = threading.Thread(target=writer, daemon=True)
    t0 = time.monotonic()
    t.start()
    deadline = None
    q = "UNWIND $u AS u MATCH (n:Entity {uuid: u}) RETURN n.uuid"
    while True:
        with lock:
            pending = [u for u in committed if u not in seen]
        if pending:
            found = graph.ro_query(q, {"u": pending}).result_set
            now = time.monotonic()
            with lock:
                for row in found:
                    seen.setdefault(row[0], now)
        if writer_done.is_set():
            if deadline is None:
                deadline = time.monotonic() + args.timeout
            with lock:
                if len(seen) == len(committed) or time.monotonic() > deadline:
                    break
        time.sleep(args.poll)
    t.join()
    wall = time.monotonic() - t0
    driver.close()

    lags = sorted(seen[u] - committed[u] for u in seen)
    c.emit({
        "rate": args.rate,
        "seconds": args.seconds,
        "poll_seconds": args.poll,
        "written": len(committed),
        "arrived": len(seen),
        "never_arrived": len(committed) - len(seen),
        "achieved_rate": len(committed) / args.seconds if args.seconds else 0,
        "wall_seconds": wall,
        "lag_p50": percentile(lags, 0.50),
        "lag_p90": percentile(lags, 0.90),
        "lag_p99": percentile(lags, 0.99),
        "lag_max": lags[-1] if lags else None,
        "lag_mean": sum(lags) / len(lags) if lags else None,
    })


if __name__ == "__main__":
    main()
