#!/usr/bin/env bash
# Cluster row of issue 16: the same shape-(b) data (no embeddings) in 9 groups,
# full sync (layout per_group) into one FalkorDB (1 shard) and into a 3-primary
# Redis Cluster of the same build on the same machine. Prints one JSON line.
#
#   bench/cluster.sh [ENTITIES]      (default 2000; items ~ 5.1 x ENTITIES)
#
# Each is run twice (one, three, turn, turn, three, one); the second run of each counts.
# "three" syncs the shards at once (sync.shard_workers 0: a worker per primary), "turn" one
# after another (SYNC_SHARD_WORKERS=1, as before the workers). BENCH_CLUSTER_TURN=0 leaves
# "turn" out.
# Uses the servers in the environment: NEO4J_URI (or NEO4J_PORT), FALKORDB_PORT
# (the one server) and FALKORDB_CLUSTER_PORTS (the cluster; started with
# scripts/servers.sh cluster-start when not running). Neo4j is cleared and
# refilled; the 9 group graphs are deleted from both caches afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
BIN="$BUILD/falkorsync"
GEN="$BUILD/falkorsync-gen"
N="${1:-2000}"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
read -r -a PORTS <<<"${FALKORDB_CLUSTER_PORTS:-7000 7001 7002}"
export FALKORDB_CLUSTER_PORTS="${PORTS[*]}"
ONE="${FALKORDB_PORT:-6379}"
export FALKORDB_LAYOUT=per_group FALKORDB_DATABASE="bench_cluster"
redis-cli -p "${PORTS[0]}" CLUSTER INFO 2>/dev/null | grep -q cluster_state:ok \
  || "$ROOT/scripts/servers.sh" cluster-start
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$GEN" --clear --entities "$N" --groups 9 --dim 0 --seed 42 >/dev/null 2>&1
graphs=$(printf 'group_%s ' a b c d e f g h default_db)
clean() { # $1: port, $2: cluster or not
  for p in "$@"; do
    for g in $graphs; do redis-cli -p "$p" GRAPH.DELETE "$g" >/dev/null 2>&1 || true; done
    for k in $(redis-cli -p "$p" --scan --pattern 'falkorsync:*' 2>/dev/null); do
      redis-cli -p "$p" DEL "$k" >/dev/null 2>&1 || true
    done
  done
}
run() { # $1: label; env follows
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  env "$@" "$BIN" full >"$work/$label.json"
  t1=$(date +%s.%N)
  echo "$t0 $t1" >"$work/$label.t"
}
TURN="${BENCH_CLUSTER_TURN:-1}"
# Each twice, in the order one, three, turn, turn, three, one (a warm Neo4j for all); the
# second of each counts.
clean "$ONE"; clean "${PORTS[@]}"
run one FALKORDB_PORT="$ONE" FALKORDB_CLUSTER=false
run three FALKORDB_PORT="${PORTS[0]}" FALKORDB_CLUSTER=true
if [[ $TURN == 1 ]]; then
  for _ in 1 2; do
    clean "${PORTS[@]}"
    run turn FALKORDB_PORT="${PORTS[0]}" FALKORDB_CLUSTER=true SYNC_SHARD_WORKERS=1
  done
fi
clean "${PORTS[@]}"
run three FALKORDB_PORT="${PORTS[0]}" FALKORDB_CLUSTER=true
clean "$ONE"
run one FALKORDB_PORT="$ONE" FALKORDB_CLUSTER=false
shards=0
for p in "${PORTS[@]}"; do
  n=$(redis-cli -p "$p" GRAPH.LIST | grep -cxE "$(echo "$graphs" | sed 's/ $//; s/ /|/g')" || true)
  (( n > 0 )) && shards=$((shards + 1))
done
FALKORDB_PORT="${PORTS[0]}" FALKORDB_CLUSTER=true "$BIN" verify >"$work/verify.txt" 2>&1 \
  || { cat "$work/verify.txt" >&2; echo "bench: the cluster cache does not verify" >&2; exit 1; }
clean "$ONE"; clean "${PORTS[@]}"
turn_json=null turn_t=""
if [[ $TURN == 1 ]]; then turn_json=$(cat "$work/turn.json"); turn_t=$(cat "$work/turn.t"); fi
jq -cn --argjson one "$(cat "$work/one.json")" --argjson three "$(cat "$work/three.json")" \
  --arg t1 "$(cat "$work/one.t")" --arg t3 "$(cat "$work/three.t")" --argjson shards "$shards" \
  --argjson turn "$turn_json" --arg tt "$turn_t" --argjson n "$N" '
  def wall($t): ($t | split(" ") | map(tonumber) | .[1] - .[0] | . * 1000 | round / 1000);
  {entities: $n, groups: 9, items: ($one.nodes + $one.relationships),
   one_shard: {seconds: $one.seconds, wall: wall($t1), method: $one.method},
   three_shards: {seconds: $three.seconds, wall: wall($t3), method: $three.method,
                  shards_holding_graphs: $shards}}
  + (if $turn == null then {} else
     {three_shards_in_turn: {seconds: $turn.seconds, wall: wall($tt), method: $turn.method}} end)'
