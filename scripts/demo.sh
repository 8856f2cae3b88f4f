#!/usr/bin/env bash
# `make demo`: build, start the real servers, and show that falkorsync talks to both.
# (The sync itself arrives with the full-sync issue; until then this is what runs.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
scripts/servers.sh start
echo
echo "demo: Neo4j 5.26 listens on bolt://127.0.0.1:${NEO4J_PORT:-7687} (neo4j / ${NEO4J_PASSWORD:-graphiti123})"
echo "demo: FalkorDB listens on 127.0.0.1:${FALKORDB_PORT:-6379}"
build/falkorsync ping
echo
echo "demo: the sync commands are not built yet; stop the servers with 'make servers-stop'."
