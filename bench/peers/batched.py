"""Benchmark peer "batched Python": what a careful user would write by hand.

The official `neo4j` driver streams each type (one query per type, the
driver's default fetch size); rows are grouped by label set (nodes) or
target label (relationships) into `UNWIND $rows` batches of 1000 written by
the official `falkordb` client: MERGE on uuid with labelled endpoint
matches, embeddings through vecf32(), datetimes as Graphiti's isoformat()
text. Graphiti's range indexes are created first, the full-text ones after
the load (as falkorsync does). Reading and writing alternate in one thread.

Prints one JSON line.
"""

import argparse
import time

import common as c


def node_query(labels, emb_keys):
    q = "UNWIND $rows AS r MERGE (n" + "".join(f":{c.ident(x)}" for x in labels)
    q += " {uuid: r.uuid}) SET n = r.p"
    for i, key in enumerate(emb_keys):
        q += f", n.{c.ident(key)} = vecf32(r.e{i})"
    return q + " RETURN count(n)"


def edge_query(etype, src, dst, emb_keys):
    q = (f"UNWIND $rows AS r MATCH (a:{c.ident(src)} {{uuid: r.s}}) "
         f"MATCH (b:{c.ident(dst)} {{uuid: r.t}}) "
         f"MERGE (a)-[e:{c.ident(etype)} {{uuid: r.uuid}}]->(b) SET e = r.p")
    for i, key in enumerate(emb_keys):
        q += f", e.{c.ident(key)} = vecf32(r.e{i})"
    return q + " RETURN count(e)"


def split_props(entity):
    props = {}
    embs = []
    for key, value in entity.items():
        if key in c.EMBEDDINGS and isinstance(value, list):
            embs.append((key, value))
        else:
            props[key] = c.convert_careful_prop(key, value)
    return props, embs


class Batcher:
    """Open batches by query text; a batch is written when it reaches the batch size."""

    def __init__(self, graph, size):
        self.graph = graph
        self.size = size
        self.open = {}
        self.written = 0

    def add(self, query, row):
        rows = self.open.setdefault(query, [])
        rows.append(row)
        if len(rows) >= self.size:
            self.flush(query)

    def flush(self, query):
        rows = self.open.pop(query, [])
        if rows:
            self.written += self.graph.query(query, {"rows": rows}).result_set[0][0]

    def flush_all(self):
        for query in list(self.open):
            self.flush(query)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1000, help="rows per UNWIND (default 1000)")
    args = ap.parse_args()

    driver = c.neo4j_driver()
    _, graph = c.falkor_graph()
    types = {}
    t_start = time.monotonic()
    c.create_indexes(graph, c.RANGE_INDEXES)
    with driver.session(database=c.neo4j_database()) as session:
        for label in c.NODE_TYPES:
            t = time.monotonic()
            b = Batcher(graph, args.batch)
            read = 0
            for record in session.run(f"MATCH (n:{c.ident(label)}) RETURN n"):
                node = record["n"]
                props, embs = split_props(node)
                row = {"uuid": props.get("uuid"), "p": props}
                for i, (_, vec) in enumerate(embs):
                    row[f"e{i}"] = vec
                labels = [label] + sorted(set(node.labels) - {label})
                b.add(node_query(labels, [k for k, _ in embs]), row)
                read += 1
            b.flush_all()
            types[label] = {"read": read, "written": b.written,
                            "seconds": time.monotonic() - t}
        for etype, src, dsts in c.EDGE_TYPES:
            t = time.monotonic()
            b = Batcher(graph, args.batch)
            read = 0
            where = " OR ".join(f"b:{c.ident(d)}" for d in dsts)
            q = (f"MATCH (a:{c.ident(src)})-[r:{c.ident(etype)}]->(b) WHERE {where} "
                 "RETURN r, a.uuid AS s, b.uuid AS t, labels(b) AS bl")
            for record in session.run(q):
                rel = record["r"]
                props, embs = split_props(rel)
                dst = next((d for d in dsts if d in record["bl"]), dsts[0])
                row = {"uuid": props.get("uuid"), "s": record["s"], "t": record["t"], "p": props}
                for i, (_, vec) in enumerate(embs):
                    row[f"e{i}"] = vec
                b.add(edge_query(etype, src, dst, [k for k, _ in embs]), row)
                read += 1
            b.flush_all()
            types[etype] = {"read": read, "written": b.written,
                            "seconds": time.monotonic() - t}
    t = time.monotonic()
    c.create_indexes(graph, c.FULLTEXT_INDEXES)
    c.wait_indexes(graph)
    fulltext_s = time.monotonic() - t
    seconds = time.monotonic() - t_start
    driver.close()
    c.emit({
        "peer": "batched",
        "batch": args.batch,
        "sampled": False,
        "nodes": sum(types[n]["written"] for n in c.NODE_TYPES),
        "relationships": sum(types[e[0]]["written"] for e in c.EDGE_TYPES),
        "seconds": seconds,
        "fulltext_seconds": fulltext_s,
        "types": types,
    })


if __name__ == "__main__":
    main()
