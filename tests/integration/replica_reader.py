"""A reader on a FalkorDB replica, through the official falkordb client, for test_replica.sh.

Polls the live graph on the replica as fast as it can until the file STOP exists (or 120 s
pass), each time with one query that counts nodes and relationships together (one query reads
one graph, so a swap cannot fall between the two counts). It also counts the shadow graph, to
show that the poll overlapped the build. Prints one JSON line per state seen, in order of first
sight: {"graph": "live"|"shadow", "nodes": n, "relationships": m, "polls": k}, with
"nodes": null when the graph was absent; a line {"ready": true} after the first poll of the
live graph; and a last line {"done": true, "polls": total}.

Usage: replica_reader.py HOST PORT LIVE_GRAPH STOP_FILE [PASSWORD]
"""
import json
import os
import sys
import time

from falkordb import FalkorDB

COUNTS = "MATCH (n) WITH count(n) AS nodes OPTIONAL MATCH ()-[r]->() RETURN nodes, count(r)"


def counts(graph):
    """(nodes, relationships) of graph, or (None, None) when the key is absent."""
    try:
        row = graph.ro_query(COUNTS).result_set[0]
        return row[0], row[1]
    except Exception as e:  # the client raises its ResponseError for an absent graph
        text = str(e).lower()
        if "empty key" in text or "does not exist" in text or "invalid graph operation" in text:
            return None, None
        raise


def main():
    host, port, live, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    password = sys.argv[5] if len(sys.argv) > 5 else None
    db = FalkorDB(host=host, port=port, password=password)
    graphs = {"live": db.select_graph(live), "shadow": db.select_graph(live + "__falkorsync_shadow")}
    seen = {}
    polls = 0
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        for name, g in graphs.items():
            state = (name,) + counts(g)
            polls += 1
            if state not in seen:
                seen[state] = polls
                print(json.dumps({"graph": name, "nodes": state[1], "relationships": state[2],
                                  "polls": polls}), flush=True)
            if polls == 1:
                print(json.dumps({"ready": True}), flush=True)
    print(json.dumps({"done": True, "polls": polls}), flush=True)


if __name__ == "__main__":
    main()
