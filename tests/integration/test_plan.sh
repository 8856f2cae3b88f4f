#!/usr/bin/env bash
# falkorsync plan (issue 17): on a generated Graphiti graph the counts it prints per graph equal
# Neo4j's, in both layouts; its memory estimate is within PLAN_TOLERANCE (25%; measured: -3% to +14%) of what the
# cache really takes in FalkorDB after a full sync (INFO used_memory before and after, the
# figure maxmemory limits); with maxmemory too small for the shadow copy of a full sync it
# says "does not fit" and exits 3; read-only (it writes nothing on either side).
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_plan_$$"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
TOL="${PLAN_TOLERANCE:-0.25}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
old_max=$(R CONFIG GET maxmemory | sed -n 2p)
cleanup() {
  R CONFIG SET maxmemory "${old_max:-0}" >/dev/null || true
  for k in $(R --scan --pattern "*${FALKORDB_DATABASE}*") $(R --scan --pattern "fsplan_*"); do del_key "$k"; done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$TMPD"
}
TMPD=$(mktemp -d)
trap cleanup EXIT
used_memory() { R INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
J() { jq -e "$@" "$TMPD/plan.json" >/dev/null; }

echo "== a generated Graphiti graph: 2000 entities, 3 groups, 64-float embeddings"
"$GEN" --clear --entities 2000 --groups 3 --dim 64 --seed 17 --count >"$TMPD/gen.out" 2>&1 \
  || { cat "$TMPD/gen.out"; fail "the generator failed"; }
grep '"source":"neo4j"' "$TMPD/gen.out" | tail -n1 >"$TMPD/neo4j.json"
cat "$TMPD/neo4j.json"

echo "== single layout: counts equal Neo4j's, per type"
FALKORDB_LAYOUT=single "$BIN" plan --json >"$TMPD/plan.json" || fail "plan --json exited $?"
cat "$TMPD/plan.json"; echo
J '.ok == true and .layout == "single" and (.graphs | length) == 1' || fail "one graph expected"
J --arg g "$FALKORDB_DATABASE" '.graphs[0].graph == $g and .graphs[0].exists == false' \
  || fail "the graph is not the configured database, or exists before the test"
for t in Entity Episodic Community Saga RELATES_TO MENTIONS HAS_MEMBER HAS_EPISODE NEXT_EPISODE; do
  want=$(jq -r --arg t "$t" '.[$t] // 0' "$TMPD/neo4j.json")
  got=$(jq -r --arg t "$t" '.graphs[0].by_type[$t]' "$TMPD/plan.json")
  [[ "$got" == "$want" ]] || fail "$t: plan says $got, Neo4j holds $want"
done
J '.per_item_sample.Entity.embedding_floats == 64' || fail "Entity embeddings not seen as 64 floats"
[[ -z "$(R --scan --pattern "*${FALKORDB_DATABASE}*")" ]] || fail "plan wrote to FalkorDB"

echo "== the estimate against the memory the cache really takes after a full sync"
est=$(jq -r '.estimated_bytes' "$TMPD/plan.json")
before=$(used_memory)
FALKORDB_LAYOUT=single "$BIN" full >"$TMPD/full.json" || { cat "$TMPD/full.json"; fail "full failed"; }
sleep 1
after=$(used_memory)
real=$(( after - before ))
err=$(python3 -c "print(f'{($est - $real) / $real:+.3f}')")
echo "estimate $est bytes, real $real bytes (used_memory $before -> $after): error $err"
python3 -c "import sys; sys.exit(0 if abs($est - $real) <= $TOL * $real else 1)" \
  || fail "the estimate is off by $err, more than $TOL"

echo "== the graph exists now: the peak adds its shadow copy; maxmemory too small: exit 3"
FALKORDB_LAYOUT=single "$BIN" plan --json >"$TMPD/plan.json" || fail "plan exited $? with no maxmemory"
J '.graphs[0].exists == true and .full_sync_peak_bytes > .steady_bytes' || fail "peak: $(cat "$TMPD/plan.json")"
used=$(used_memory)
R CONFIG SET maxmemory $(( used + est / 2 )) >/dev/null
set +e
FALKORDB_LAYOUT=single "$BIN" plan --json >"$TMPD/plan.json"; rc=$?
FALKORDB_LAYOUT=single "$BIN" plan >"$TMPD/plan.txt"; rc_text=$?
set -e
cat "$TMPD/plan.txt"
[[ $rc == 3 && $rc_text == 3 ]] || fail "maxmemory too small: plan exited $rc (json) and $rc_text (text), expected 3"
J '.verdict == "does_not_fit" and .maxmemory > 0' || fail "verdict: $(cat "$TMPD/plan.json")"
grep -q 'does NOT fit' "$TMPD/plan.txt" || fail "the text does not say it does not fit"
grep -q 'set maxmemory to at least' "$TMPD/plan.txt" || fail "the text does not say what maxmemory to set"
R CONFIG SET maxmemory $(( used + 4 * est )) >/dev/null
FALKORDB_LAYOUT=single "$BIN" plan --json >"$TMPD/plan.json" || fail "enough maxmemory: plan exited $?"
J '.verdict == "fits"' || fail "verdict with room: $(cat "$TMPD/plan.json")"
R CONFIG SET maxmemory "${old_max:-0}" >/dev/null

echo "== per_group layout: one graph per group, counts per group add up to Neo4j's"
FALKORDB_LAYOUT=per_group "$BIN" plan --json >"$TMPD/plan.json" || fail "plan (per_group) exited $?"
J '.layout == "per_group" and (.graphs | length) == 3' || fail "three group graphs expected: $(jq -c '[.graphs[].graph]' "$TMPD/plan.json")"
for t in Entity Episodic RELATES_TO MENTIONS; do
  want=$(jq -r --arg t "$t" '.[$t] // 0' "$TMPD/neo4j.json")
  got=$(jq -r --arg t "$t" '[.graphs[].by_type[$t]] | add' "$TMPD/plan.json")
  [[ "$got" == "$want" ]] || fail "per_group $t: the groups add up to $got, Neo4j holds $want"
done
J '.items == ([.graphs[].items] | add)' || fail "per_group: the total is not the sum of the graphs"

echo "== a database that cannot be reached: exit 1 with a clear error"
set +e
NEO4J_URI=bolt://127.0.0.1:1 "$BIN" plan >"$TMPD/down.out" 2>"$TMPD/down.err"; rc=$?
set -e
[[ $rc == 1 ]] || fail "Neo4j down: plan exited $rc, expected 1"
grep -q 'plan failed' "$TMPD/down.err" || fail "Neo4j down: $(cat "$TMPD/down.err")"
echo PASS
