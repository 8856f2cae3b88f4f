#!/usr/bin/env bash
# Compatibility matrix: re-runs the core integration tests (ctest label
# `compat`: Bolt, smoke, full + verify, incremental + reconcile, generic) against
# each Neo4j in NEO4J_COMPAT_VERSIONS, every one started on its own ports and run
# folder beside whatever else runs, and stopped after. The LTS (5.26, servers.sh's
# default) is covered by the ordinary `make test` run.
#
#   scripts/compat.sh            # `make compat`; also run by scripts/test.sh
#
# Environment: BUILD (build), NEO4J_COMPAT_VERSIONS ("2026.09.0:25": VERSION[:CYPHER]
# entries, CYPHER the default language of the store, empty for the server's own),
# COMPAT_NEO4J_PORT (17687), COMPAT_FALKORDB_PORT (16379), COMPAT_HEALTH_PORT (18080),
# COMPAT_METRICS_PORT (18081), COMPAT_CTEST_ARGS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
# The newest Neo4j on Maven Central (resolved 2026-12-05), with Cypher 25 as the
# store's default language (2026.09 still creates stores with Cypher 5).
VERSIONS="${NEO4J_COMPAT_VERSIONS:-2026.09.0:25}"
NEO4J_PORT="${COMPAT_NEO4J_PORT:-17687}"
FALKORDB_PORT="${COMPAT_FALKORDB_PORT:-16379}"
# `falkorsync serve` in the incremental test: not the default 8080/8081,
# which the main run or a local service may hold.
HEALTH_PORT="${COMPAT_HEALTH_PORT:-18080}"
METRICS_PORT="${COMPAT_METRICS_PORT:-18081}"

[[ -x "$BUILD/falkorsync" ]] || { echo "compat: build first (make build)" >&2; exit 2; }

rc=0
summary=()
for entry in $VERSIONS; do
  version="${entry%%:*}"
  cypher=""; [[ "$entry" == *:* ]] && cypher="${entry#*:}"
  run="${FALKORSYNC_RUN:-$ROOT/.run}/compat-$version${cypher:+-cypher$cypher}"
  env=(FALKORSYNC_RUN="$run" NEO4J_VERSION="$version" NEO4J_CYPHER="$cypher" NEO4J_HEAP=1g
       NEO4J_PORT="$NEO4J_PORT" NEO4J_URI="bolt://127.0.0.1:$NEO4J_PORT"
       FALKORDB_PORT="$FALKORDB_PORT" FALKORDB_HOST=127.0.0.1
       SYNC_HEALTH_PORT="$HEALTH_PORT" SYNC_METRICS_PORT="$METRICS_PORT")
  echo "compat: Neo4j $version${cypher:+ (Cypher $cypher default)} on :$NEO4J_PORT, FalkorDB on :$FALKORDB_PORT"
  start=$SECONDS
  this=0
  if env "${env[@]}" scripts/servers.sh start; then
    # shellcheck disable=SC2086
    (cd "$BUILD" && env "${env[@]}" ctest -L compat --output-on-failure -j 1 ${COMPAT_CTEST_ARGS:-}) || this=$?
  else
    this=1
  fi
  env "${env[@]}" scripts/servers.sh stop || true
  [[ $this -eq 0 ]] || rc=1
  summary+=("Neo4j $version${cypher:+ cypher $cypher}: $([[ $this -eq 0 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s")
done
printf 'compat: %s\n' "${summary[@]}"
exit $rc
