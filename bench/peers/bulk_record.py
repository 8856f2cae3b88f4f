"""Second write reference: the same nodes and relationships as GRAPH.BULK commands, recorded.

Reads every Graphiti type from Neo4j (official `neo4j` driver; not timed),
encodes them in FalkorDB's GRAPH.BULK binary format (the format of the PyPI
`falkordb-bulk-loader`, written directly instead of through CSV files) and
appends the commands, followed by Graphiti's range and full-text index
statements, as RESP to a file that falkorsync-replay sends and times.

GRAPH.BULK has no vector type: embeddings become arrays of doubles (FalkorDB
arrays, not vecf32), so verify reports the items that carry one as
"different". Datetimes become the same isoformat() text falkorsync writes.

Prints one JSON line.
"""

import argparse
import array
import struct
import time

import common as c

T_NULL, T_BOOL, T_DOUBLE, T_STRING, T_LONG, T_ARRAY = 0, 1, 2, 3, 4, 5
MAX_COMMAND_BYTES = 64 * 1000 * 1000  # the bulk loader's default buffer


def encode_value(value, out):
    if value is None:
        out.append(struct.pack("=B", T_NULL))
    elif isinstance(value, bool):
        out.append(struct.pack("=B?", T_BOOL, value))
    elif isinstance(value, int):
        out.append(struct.pack("=Bq", T_LONG, value))
    elif isinstance(value, float):
        out.append(struct.pack("=Bd", T_DOUBLE, value))
    elif isinstance(value, str):
        data = value.encode()
        out.append(struct.pack("=B%ds" % (len(data) + 1), T_STRING, data))
    elif isinstance(value, list):
        if value and isinstance(value[0], float):  # embeddings (lists are homogeneous), at C speed
            n = len(value)
            raw = array.array("d", value).tobytes()  # native byte order, as GRAPH.BULK wants
            cells = bytearray(9 * n)
            cells[0::9] = bytes([T_DOUBLE]) * n
            for k in range(8):
                cells[1 + k::9] = raw[k::8]
            out.append(struct.pack("=Bq", T_ARRAY, n))
            out.append(bytes(cells))
        else:
            out.append(struct.pack("=Bq", T_ARRAY, len(value)))
            for x in value:
                encode_value(x, out)
    else:
        raise TypeError("cannot bulk-encode %r" % type(value))


def token_header(name, keys):
    fmt = "=%dsI" % (len(name.encode()) + 1)
    args = [name.encode(), len(keys)]
    for k in keys:
        fmt += "%ds" % (len(k.encode()) + 1)
        args.append(k.encode())
    return struct.pack(fmt, *args)


class Recorder:
    """Open tokens per (label string or type, property keys); commands written as RESP."""

    def __init__(self, out, graph, ids):
        self.out = out
        self.ids = ids  # uuid -> bulk node id, given in the order FalkorDB creates them
        self.next_id = 0
        self.keys = {}  # node token -> uuids in row order
        self.graph = graph
        self.begin = True
        self.tokens = {}  # (is_edge, name, keys) -> [parts]
        self.counts = {False: 0, True: 0}
        self.size = 0
        self.commands = 0
        self.bytes = 0

    def resp(self, args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            parts += [b"$%d\r\n" % len(a), a, b"\r\n"]
            self.bytes += len(a)
        self.out.write(b"".join(parts))
        self.commands += 1

    def add(self, edge, name, props, prefix=b""):
        keys = tuple(sorted(props))
        key = (edge, name, keys)
        if not edge:
            self.keys.setdefault(key, []).append(props.get("uuid"))
        if key not in self.tokens:
            header = token_header(name, keys)
            self.tokens[key] = [header]
            self.size += len(header)
        parts = [prefix]
        for k in keys:
            encode_value(props[k], parts)
        row = b"".join(parts)
        self.tokens[key].append(row)
        self.size += len(row)
        self.counts[edge] += 1
        if self.size >= MAX_COMMAND_BYTES:
            self.flush()

    def flush(self):
        if not self.tokens:
            return
        labels = [b"".join(p) for (e, _, _), p in self.tokens.items() if not e]
        for key in self.tokens:  # FalkorDB numbers nodes token by token, row by row
            for u in self.keys.get(key, ()):
                self.ids[u] = self.next_id
                self.next_id += 1
        self.keys = {}
        rels = [b"".join(p) for (e, _, _), p in self.tokens.items() if e]
        args = ["GRAPH.BULK", self.graph]
        if self.begin:
            args.append("BEGIN")
            self.begin = False
        args += [str(self.counts[False]), str(self.counts[True]), str(len(labels)),
                 str(len(rels))]
        self.resp(args + labels + rels)
        self.tokens = {}
        self.counts = {False: 0, True: 0}
        self.size = 0


def props_of(entity):
    return {k: c.convert_careful_prop(k, v) for k, v in entity.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="RESP file to write")
    ap.add_argument("--graph", default=c.env("FALKORDB_DATABASE", "graphiti_cache"))
    args = ap.parse_args()

    t0 = time.monotonic()
    driver = c.neo4j_driver()
    ids = {}
    queued = set()
    nodes = rels = 0
    with open(args.out, "wb") as out, driver.session(database=c.neo4j_database()) as s:
        rec = Recorder(out, args.graph, ids)
        for label in c.NODE_TYPES:
            for record in s.run(f"MATCH (n:{c.ident(label)}) RETURN n"):
                n = record["n"]
                props = props_of(n)
                if props.get("uuid") in queued:
                    continue  # a node with two of our labels: once is enough
                queued.add(props.get("uuid"))
                name = ":".join([label] + sorted(set(n.labels) - {label}))
                rec.add(False, name, props)
                nodes += 1
        rec.flush()  # every node exists before a relationship names it
        for etype, src, dsts in c.EDGE_TYPES:
            where = " OR ".join(f"b:{c.ident(d)}" for d in dsts)
            q = (f"MATCH (a:{c.ident(src)})-[r:{c.ident(etype)}]->(b) WHERE {where} "
                 "RETURN r, a.uuid AS s, b.uuid AS t")
            for record in s.run(q):
                if record["s"] not in ids or record["t"] not in ids:
                    continue
                prefix = struct.pack("=QQ", ids[record["s"]], ids[record["t"]])
                rec.add(True, etype, props_of(record["r"]), prefix)
                rels += 1
        rec.flush()
        for q in c.RANGE_INDEXES + c.FULLTEXT_INDEXES:
            rec.resp(["GRAPH.QUERY", args.graph, q])
    driver.close()
    c.emit({
        "reference": "graph_bulk",
        "nodes": nodes,
        "relationships": rels,
        "commands": rec.commands,
        "bytes": rec.bytes,
        "encode_seconds": time.monotonic() - t0,
        "vectors": "arrays of doubles (GRAPH.BULK has no vecf32)",
    })


if __name__ == "__main__":
    main()
