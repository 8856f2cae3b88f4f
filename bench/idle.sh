#!/usr/bin/env bash
# Idle cost of `falkorsync serve` (issue 15's "idle ≤ 5% of a core"): starts serve at a 1 s
# interval on the benchmark servers' graph, waits SETTLE seconds (so that a first reconcile
# pass can complete), then reads the CPU ticks of falkorsync, FalkorDB and Neo4j from /proc
# over T seconds. Extra arguments are NAME=value settings for serve.
#
#   SETTLE=150 T=60 bench/idle.sh SYNC_RECONCILE_PASS_SECONDS=600
#
# Environment: BUILD (build dir, default build), NEO4J_PORT (27687), FALKORDB_PORT (26379),
# FALKORDB_LAYOUT (single), SETTLE (15), T (20), IDLE_HEALTH_PORT (28090), IDLE_METRICS_PORT
# (28091). The graph must be synced already; the HTTP servers run as in production.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) BDIR="$BUILD" ;; *) BDIR="$ROOT/$BUILD" ;; esac
export NEO4J_PORT="${NEO4J_PORT:-27687}" FALKORDB_PORT="${FALKORDB_PORT:-26379}"
export NEO4J_URI="bolt://127.0.0.1:$NEO4J_PORT" FALKORDB_LAYOUT="${FALKORDB_LAYOUT:-single}"
SETTLE="${SETTLE:-15}" T="${T:-20}"
log=$(mktemp)
env "$@" SYNC_INTERVAL_SECONDS=1 SYNC_HEALTH_PORT="${IDLE_HEALTH_PORT:-28090}" SYNC_METRICS_PORT="${IDLE_METRICS_PORT:-28091}" LOG_FILE="$log" \
  "$BDIR/falkorsync" serve >/dev/null 2>&1 &
sp=$!
trap 'kill "$sp" 2>/dev/null || true; rm -f "$log"' EXIT
sleep "$SETTLE"
kill -0 "$sp" 2>/dev/null || { echo "idle: serve exited: $(tail -n 3 "$log")" >&2; exit 1; }
fdb=$(pgrep -f "redis-server.*:$FALKORDB_PORT" | head -n 1)
neo=$(pgrep -f "java.*--port $NEO4J_PORT" | head -n 1 || true)
[[ -n "$neo" ]] || neo=$(pgrep -f "java.*$NEO4J_PORT" | head -n 1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
a1=$(ticks "$sp"); b1=$(ticks "$fdb"); c1=$(ticks "$neo")
sleep "$T"
a2=$(ticks "$sp"); b2=$(ticks "$fdb"); c2=$(ticks "$neo")
hz=$(getconf CLK_TCK)
awk -v a=$((a2 - a1)) -v b=$((b2 - b1)) -v c=$((c2 - c1)) -v t="$T" -v hz="$hz" 'BEGIN {
  printf "idle over %d s: falkorsync %.2f s, FalkorDB %.2f s, Neo4j %.2f s of CPU; %.1f%% of a core\n",
    t, a / hz, b / hz, c / hz, 100 * (a + b + c) / hz / t }'
