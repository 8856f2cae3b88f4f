"""Benchmark peer "seed-style": how the original Python sync service copied the graph.

One streamed read query per type (official `neo4j` driver), then one
`MERGE ... SET` query per item (official `falkordb` client), one round trip
each. Temporal values are converted with str() as the seed did, so they keep
nanosecond digits and differ from Graphiti's isoformat() text (falkorsync
verify reports those items as "different"). In its favour it gets Graphiti's
range indexes before the load and labelled endpoint matches, so no write
scans a label.

--fraction F < 1 samples: per node type the first F of the nodes in uuid order,
per relationship type the relationships among the sampled nodes; each type's
time is extrapolated to the whole type by its measured rate.

Prints one JSON line.
"""

import argparse
import math
import time

import common as c


def count_type(session, name, edge):
    q = (f"MATCH ()-[r:{c.ident(name)}]->() RETURN count(r)" if edge
         else f"MATCH (n:{c.ident(name)}) RETURN count(n)")
    return session.run(q).single()[0]


def node_query(label, extra_labels, emb_keys):
    q = f"MERGE (n:{c.ident(label)} {{uuid: $uuid}}) SET n += $props"
    for extra in extra_labels:
        q += f" SET n:{c.ident(extra)}"
    for i, key in enumerate(emb_keys):
        q += f" SET n.{c.ident(key)} = vecf32($e{i})"
    return q


def edge_query(etype, src, dst, emb_keys):
    q = (f"MATCH (a:{c.ident(src)} {{uuid: $s}}) MATCH (b:{c.ident(dst)} {{uuid: $t}}) "
         f"MERGE (a)-[r:{c.ident(etype)} {{uuid: $uuid}}]->(b) SET r += $props")
    for i, key in enumerate(emb_keys):
        q += f" SET r.{c.ident(key)} = vecf32($e{i})"
    return q


def split_props(entity):
    props = {}
    embs = []
    for key, value in entity.items():
        if key in c.EMBEDDINGS and isinstance(value, list):
            embs.append((key, [float(x) for x in value]))
        else:
            props[key] = c.convert_seed(value)
    return props, embs


def copy_nodes(session, graph, label, limit, stats):
    if limit is None:
        result = session.run(f"MATCH (n:{c.ident(label)}) RETURN n")
    else:
        result = session.run(f"MATCH (n:{c.ident(label)}) WITH n ORDER BY n.uuid LIMIT $k "
                             "RETURN n", k=limit)
    done = 0
    last = None
    for record in result:
        if not done:
            stats["first_record_seconds"] = time.monotonic() - stats["t0"]
        node = record["n"]
        props, embs = split_props(node)
        params = {"uuid": props.get("uuid"), "props": props}
        for i, (_, vec) in enumerate(embs):
            params[f"e{i}"] = vec
        extra = sorted(set(node.labels) - {label})
        graph.query(node_query(label, extra, [k for k, _ in embs]), params)
        done += 1
        if last is None or props.get("uuid", "") > last:
            last = props.get("uuid", "")
    stats["processed"] = done
    return last


def copy_edges(session, graph, etype, src, dsts, last_uuid, sampled, stats):
    where = " OR ".join(f"b:{c.ident(d)}" for d in dsts)
    params = {}
    if sampled:  # only relationships among the sampled nodes
        parts = []
        for i, d in enumerate(dsts):
            parts.append(f"(b:{c.ident(d)} AND b.uuid <= $m{i})")
            params[f"m{i}"] = last_uuid.get(d) or ""
        where = f"a.uuid <= $ms AND ({' OR '.join(parts)})"
        params["ms"] = last_uuid.get(src) or ""
    q = (f"MATCH (a:{c.ident(src)})-[r:{c.ident(etype)}]->(b) WHERE {where} "
         "RETURN r, a.uuid AS s, b.uuid AS t, labels(b) AS bl")
    done = 0
    for record in session.run(q, params):
        if not done:
            stats["first_record_seconds"] = time.monotonic() - stats["t0"]
        rel = record["r"]
        props, embs = split_props(rel)
        dst = next((d for d in dsts if d in record["bl"]), dsts[0])
        p = {"uuid": props.get("uuid"), "s": record["s"], "t": record["t"], "props": props}
        for i, (_, vec) in enumerate(embs):
            p[f"e{i}"] = vec
        graph.query(edge_query(etype, src, dst, [k for k, _ in embs]), p)
        done += 1
    stats["processed"] = done


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="sample this fraction of each node type (default 1: everything)")
    args = ap.parse_args()
    fraction = min(max(args.fraction, 0.0), 1.0)
    sampled = fraction < 1.0

    driver = c.neo4j_driver()
    _, graph = c.falkor_graph()
    types = {}
    t_start = time.monotonic()
    t = time.monotonic()
    c.create_indexes(graph, c.RANGE_INDEXES)
    index_s = time.monotonic() - t
    last_uuid = {}
    with driver.session(database=c.neo4j_database()) as session:
        for label in c.NODE_TYPES:
            st = {"count": count_type(session, label, False)}
            limit = math.ceil(st["count"] * fraction) if sampled else None
            st["t0"] = time.monotonic()
            last_uuid[label] = copy_nodes(session, graph, label, limit, st)
            st["seconds"] = time.monotonic() - st.pop("t0")
            types[label] = st
        for etype, src, dsts in c.EDGE_TYPES:
            st = {"count": count_type(session, etype, True)}
            st["t0"] = time.monotonic()
            copy_edges(session, graph, etype, src, dsts, last_uuid, sampled, st)
            st["seconds"] = time.monotonic() - st.pop("t0")
            types[etype] = st
    t = time.monotonic()
    c.create_indexes(graph, c.FULLTEXT_INDEXES)
    c.wait_indexes(graph)
    fulltext_s = time.monotonic() - t
    seconds = time.monotonic() - t_start
    driver.close()

    nodes = sum(types[n]["processed"] for n in c.NODE_TYPES)
    rels = sum(types[e[0]]["processed"] for e in c.EDGE_TYPES)
    total_items = sum(st["count"] for st in types.values())
    # Per type: the wait for the first record once, then the per-item time
    # (first record to the end) times the type's count.
    extrapolated = index_s
    edge_names = {e[0] for e in c.EDGE_TYPES}
    for st in types.values():
        st["startup_seconds"] = st.pop("first_record_seconds", st["seconds"])
        st["item_seconds"] = st["seconds"] - st["startup_seconds"]
    for kind in (set(c.NODE_TYPES), edge_names):
        done = [types[n] for n in kind if types[n]["processed"]]
        per_item = (sum(st["item_seconds"] for st in done) / sum(st["processed"] for st in done)
                    if done else 0.0)
        for name in kind:
            st = types[name]
            extrapolated += st["startup_seconds"]
            if st["processed"]:
                extrapolated += st["item_seconds"] * st["count"] / st["processed"]
            elif st["count"]:  # nothing sampled: the kind's average rate stands in
                st["rate_borrowed"] = True
                extrapolated += per_item * st["count"]
    # the full-text build grows with the items indexed
    extrapolated += fulltext_s * (total_items / max(nodes + rels, 1))
    c.emit({
        "peer": "seed_style",
        "fraction": fraction,
        "sampled": sampled,
        "nodes": nodes,
        "relationships": rels,
        "source_nodes": sum(types[n]["count"] for n in c.NODE_TYPES),
        "source_relationships": sum(types[e[0]]["count"] for e in c.EDGE_TYPES),
        "seconds": seconds,
        "extrapolated_seconds": extrapolated if sampled else seconds,
        "index_seconds": index_s,
        "fulltext_seconds": fulltext_s,
        "types": types,
    })


if __name__ == "__main__":
    main()
