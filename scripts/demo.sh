#!/usr/bin/env bash
# `make demo`: build, start the real servers, load a sample Graphiti graph into
# Neo4j, run a full sync into FalkorDB, verify it, and show how to look at it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ENTITIES="${DEMO_ENTITIES:-2000}"
scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
scripts/servers.sh start
echo
build/falkorsync ping
echo
echo "demo: loading a Graphiti-shaped graph ($ENTITIES entities, 1024-float embeddings) into Neo4j"
build/falkorsync-gen --clear --entities "$ENTITIES" --seed 1
echo
echo "demo: full sync Neo4j -> FalkorDB, one graph per group_id (group_a, group_b; the default group in default_db)"
build/falkorsync full
echo
echo "demo: verify, item by item"
build/falkorsync verify
cat <<MSG

demo: done. Look at the cache with, for example:
  redis-cli -p ${FALKORDB_PORT:-6379} GRAPH.QUERY group_a "MATCH (e:Entity)-[r:RELATES_TO]->(f:Entity) RETURN e.name, r.fact, f.name LIMIT 5"
or through Graphiti: README.md, "Use with Graphiti".
Run 'build/falkorsync --help' for the other commands; stop the servers with 'make servers-stop'.
MSG
