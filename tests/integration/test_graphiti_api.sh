#!/usr/bin/env bash
# Graphiti itself reads the cache, every falkorsync setting at its default:
# graphiti-core (pinned below, the one place its version is named) writes
# every node and edge type in three groups (one of them Neo4j's default group
# '') through its own save() on Neo4j, and the same objects through its
# FalkorDriver into FalkorDB database 1 (the "native" graphs). After `full`,
# and after `incremental` / `reconcile` of Graphiti-shaped changes, the
# public-API calls (search, search_ with every recipe, retrieve_episodes,
# get_nodes_and_edges_by_episode, get_by_uuid(s) and get_by_group_ids of every
# type) must answer on the cache as on Neo4j, apart from the named
# Graphiti-inherent differences (docs/graphiti-schema.md §9), which are proved
# on the native graphs each time; and the cache graphs must equal the native
# ones node by node, edge by edge, property by property and index by index.
# Then the layout switch both ways leaves no graph of the old layout behind,
# and the single layout serves readers that do not route by group.
set -euo pipefail
GRAPHITI_VERSION=0.31.2
# graphiti-core's clients, pinned too (httpx: graphiti-core imports it without declaring it)
PINS=(falkordb==1.8.1 neo4j==6.4.1 redis==8.2.0 httpx==0.29.0)
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BIN="${FALKORSYNC_BIN:-$ROOT/build/falkorsync}"
GEN="$(dirname "$BIN")/falkorsync-gen"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync"
VENV="$CACHE/venv-graphiti-$GRAPHITI_VERSION"
CHECK="$ROOT/tests/integration/graphiti_api.py"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export GRAPHITI_TELEMETRY_ENABLED=false
unset FALKORDB_DATABASE FALKORDB_LAYOUT SYNC_PROFILE # the defaults are what is tested
work=$(mktemp -d)
t0=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
py() { "$VENV/bin/python" "$CHECK" "$@" 2>>"$work/python.log"; }
cleanup() {
  py clean || true
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== graphiti-core $GRAPHITI_VERSION (venv in $VENV)"
if ! "$VENV/bin/python" -c "import graphiti_core, httpx, sys
from importlib.metadata import version
sys.exit(version('graphiti-core') != '$GRAPHITI_VERSION')" 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "graphiti-core[falkordb]==$GRAPHITI_VERSION" \
    "${PINS[@]}" || fail "pip install graphiti-core"
fi

# compare LABEL: the public-API comparison and the native-write diff.
compare() {
  if ! py compare "$1" >"$work/compare.txt"; then
    cat "$work/compare.txt"; tail -n 20 "$work/python.log" >&2
    fail "Graphiti's public API differs $1"
  fi
  grep -E '^(inherent|graph |== |total)' "$work/compare.txt"
  cp "$work/compare.txt" "$work/compare-$2.txt"
}
graph_exists() { [[ "$(R TYPE "$1")" == graphdata ]]; }

echo "== every node and edge type in three groups, through Graphiti's save() (Neo4j and native FalkorDB)"
py clean
"$GEN" --clear --entities 0 >/dev/null
py write || { tail -n 20 "$work/python.log" >&2; fail "writing through Graphiti"; }

echo "== full sync with the default settings"
"$BIN" config | grep -E '^falkordb\.(layout|database) '
"$BIN" full >"$work/full.json" || { cat "$work/full.json"; fail "full"; }
"$BIN" verify >/dev/null || fail "verify after full"
for g in fsg_alpha fsg-beta default_db; do graph_exists "$g" || fail "graph $g missing after full"; done
graph_exists graphiti_cache && fail "the single graph exists in layout per_group"
compare "after full" full
cat "$work/compare-full.txt" | sed -n '/^call /,/^inherent/p' | grep -v '^inherent'

echo "== the native-write diff notices a changed property and a missing index"
R GRAPH.QUERY fsg_alpha "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT 1 SET n.summary = n.summary + ' '" >/dev/null
R GRAPH.QUERY fsg_alpha "DROP INDEX ON :Community(uuid)" >/dev/null
py structure >"$work/structure.txt" && fail "a changed property and a dropped index were not noticed"
grep -q "\.summary" "$work/structure.txt" || fail "the changed property was not named"
grep -q "index only natively" "$work/structure.txt" || fail "the dropped index was not named"
"$BIN" full >/dev/null || fail "full"

echo "== layout switch: per_group -> single leaves no group graph"
FALKORDB_LAYOUT=single "$BIN" full >/dev/null || fail "full single"
graph_exists graphiti_cache || fail "no single graph"
for g in fsg_alpha default_db; do graph_exists "$g" && fail "graph $g of layout per_group left behind"; done
[[ "$(R EXISTS falkorsync:groups:graphiti_cache)" == 0 ]] || fail "the group list of per_group left behind"
FALKORDB_LAYOUT=single "$BIN" verify >/dev/null || fail "verify single"
if ! py single "layout single" >"$work/single.txt"; then cat "$work/single.txt"; fail "layout single"; fi
grep -E '^(== |inherent)' "$work/single.txt"

echo "== layout switch: single -> per_group (the default) leaves no single graph"
"$BIN" full >/dev/null || fail "full per_group"
graph_exists graphiti_cache && fail "the single graph left behind"
[[ "$(R EXISTS falkorsync:wm:graphiti_cache)" == 0 ]] || fail "the single graph's watermarks left behind"
"$BIN" verify >/dev/null || fail "verify per_group"
compare "after the switch back to per_group" switch

# change STAGE: applies a Graphiti-shaped change; incremental, and reconcile
# when incremental alone leaves a difference; then the comparison.
missed=()
change() {
  py change "$1" || { tail -n 20 "$work/python.log" >&2; fail "change $1"; }
  "$BIN" incremental >/dev/null || fail "incremental after $1"
  if "$BIN" verify >"$work/verify.txt"; then
    echo "-- $1: incremental alone converged"
    compare "after $1 + incremental" "$1"
  else
    missed+=("$1")
    echo "-- $1: incremental alone left differences (deletes are reconcile's):"
    grep -vE ' 0 +0 +0 +0 +0$' "$work/verify.txt" 
    "$BIN" reconcile >/dev/null || fail "reconcile after $1"
    "$BIN" verify >/dev/null || fail "verify after $1 + reconcile"
    compare "after $1 + reconcile" "$1"
  fi
}
change new_episode
change new_group
[[ "$(R SISMEMBER falkorsync:groups:graphiti_cache fsg_new)" == 1 ]] || fail "the new group's graph is not recorded"
change invalidate
change remove_episode
change communities
change delete_group
graph_exists fsg-beta && [[ "$(R GRAPH.QUERY fsg-beta "MATCH (n) RETURN count(n)" | sed -n 2p)" != 0 ]] &&
  fail "the deleted group's graph still answers"
echo "incremental alone missed: ${missed[*]:-nothing}"

echo "== reconcile alone also switches: single -> per_group by reconcile"
FALKORDB_LAYOUT=single "$BIN" full >/dev/null || fail "full single"
"$BIN" reconcile >/dev/null || fail "reconcile per_group"
graph_exists graphiti_cache && fail "reconcile left the single graph behind"
"$BIN" verify >/dev/null || fail "verify per_group"

echo "ok: Graphiti reads the cache as it reads Neo4j ($((SECONDS - t0)) s)"
