#!/usr/bin/env bash
# What verify and incremental's delete check see, against the real servers:
# - an extra and a missing Entity in one graph (planted in the cache, so every count stays
#   equal) are found and fixed by `incremental` alone (the delete check's key histograms);
# - a 1024-float embedding that differs in one element by one float32 ULP is reported by
#   verify, and a float64 that rounds to the cached float32 is not (vecf32 keeps float32);
# - the cache side is read ahead while Neo4j streams (sync/prefetch.c): a difference in the
#   first and in the last type of the last graph is found, and reconcile reads ahead again
#   after a fix: a cache-only Entity's delete takes its cache-only RELATES_TO with it, so that
#   relationship is not found (and deleted) a second time from a stale read-ahead;
# - per_group with 20 groups (two sets of graphs, each read from Neo4j in one stream per type):
#   drift in both sets is found and fixed, and a key cached in the wrong group's graph is an
#   extra there, not a match for the other group's item.
set -euo pipefail
: "${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_vx_$$"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
work=$(mktemp -d)
cleanup() {
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*") group_a group_b; do
    del_key "$k"
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# "<different>" of a type in verify's JSON.
count_of() { jq -r ".types.$1.$2" "$work/v.json"; }

for layout in per_group single; do
  export FALKORDB_LAYOUT=$layout
  echo "== $layout: an extra and a missing Entity in one graph, counts equal"
  "$GEN" --clear --entities 300 --groups 2 --dim 0 --seed 5 >/dev/null
  "$BIN" full >/dev/null
  "$BIN" verify >/dev/null || fail "not in sync after the full sync"
  graph=group_a
  [[ $layout == single ]] && graph=$FALKORDB_DATABASE
  # The cache's copy of one entity gets a key Neo4j does not have: one extra (the new key),
  # one missing (the old key), every type's count unchanged.
  old=$(R GRAPH.QUERY "$graph" "MATCH (n:Entity) RETURN n.uuid ORDER BY n.uuid LIMIT 1" | sed -n 2p)
  [[ -n "$old" ]] || fail "no Entity in $graph"
  R GRAPH.QUERY "$graph" "MATCH (n:Entity {uuid: '$old'}) SET n.uuid = 'zz-not-in-neo4j'" >/dev/null
  "$BIN" verify --json >"$work/v.json" || true
  [[ "$(count_of Entity extra)" == 1 && "$(count_of Entity missing)" == 1 ]] ||
    fail "the planted pair is not what verify sees: $(jq -c .types.Entity "$work/v.json")"
  [[ "$(count_of Entity source)" == "$(count_of Entity cache)" ]] || fail "counts differ"
  "$BIN" incremental >"$work/inc.json"
  if ! "$BIN" verify --json >"$work/v.json"; then
    fail "incremental left $(jq -r .differences "$work/v.json") difference(s): $(jq -c .types.Entity "$work/v.json")"
  fi
  echo "   incremental: $(jq -c '{upserted, deleted, seconds}' "$work/inc.json")"
done
unset FALKORDB_LAYOUT

echo "== read ahead: differences in the first and the last type of the last graph"
export FALKORDB_LAYOUT=per_group
"$GEN" --clear --entities 300 --groups 3 --dim 0 --seed 5 >/dev/null
"$BIN" full >/dev/null
# graphs in group order: default_db (Neo4j's ''), group_a, group_b; group_b is the last
R GRAPH.QUERY group_b "MATCH (n:Entity) WITH n ORDER BY n.uuid DESC LIMIT 1 SET n.summary = 'drifted'" >/dev/null
R GRAPH.QUERY group_b "MATCH ()-[r:NEXT_EPISODE]->() WITH r ORDER BY r.uuid LIMIT 1 SET r.extra = 1" >/dev/null
"$BIN" verify --json >"$work/v.json" && fail "verify missed the drift in group_b"
[[ "$(count_of Entity different)" == 1 && "$(count_of NEXT_EPISODE different)" == 1 &&
   "$(jq -r .differences "$work/v.json")" == 2 ]] ||
  fail "expected Entity and NEXT_EPISODE different once each: $(jq -c '{differences, e: .types.Entity.different, n: .types.NEXT_EPISODE.different}' "$work/v.json")"
echo "== reconcile: a cache-only Entity's delete takes its cache-only RELATES_TO"
R GRAPH.QUERY group_a "MATCH (b:Entity) WITH b ORDER BY b.uuid LIMIT 1
  CREATE (:Entity {uuid: 'zz-cache-only', name: 'x', group_id: 'group_a'})-[:RELATES_TO {uuid: 'zz-cache-only-edge', group_id: 'group_a'}]->(b)" >/dev/null
"$BIN" verify --json >"$work/v.json" && fail "verify missed the cache-only items"
[[ "$(count_of Entity extra)" == 1 && "$(count_of RELATES_TO extra)" == 1 ]] ||
  fail "expected one extra Entity and one extra RELATES_TO: $(jq -c '.types | {Entity, RELATES_TO}' "$work/v.json")"
"$BIN" reconcile >"$work/rec.json" 2>"$work/rec.table" || fail "reconcile failed: $(cat "$work/rec.table")"
# the table reconcile prints: type neo4j falkordb missing extra different ...
rel_extra=$(awk '$1 == "RELATES_TO" {print $5}' "$work/rec.table")
ent_extra=$(awk '$1 == "Entity" {print $5}' "$work/rec.table")
echo "   reconcile found: Entity extra $ent_extra, RELATES_TO extra $rel_extra; $(jq -c '{upserted, deleted}' "$work/rec.json")"
[[ "$ent_extra" == 1 && "$rel_extra" == 0 ]] ||
  fail "reconcile compared RELATES_TO with a cache read before the Entity's delete (extra $rel_extra)"
"$BIN" verify >/dev/null || fail "not in sync after reconcile"
unset FALKORDB_LAYOUT

echo "== per_group, 20 groups: Neo4j streams each type once for 16 graphs, then for the other 4"
export FALKORDB_LAYOUT=per_group
"$GEN" --clear --entities 200 --groups 20 --dim 0 --seed 9 >/dev/null
"$BIN" full >/dev/null
"$BIN" verify --json >"$work/v.json" || fail "not in sync after the full sync: $(jq -c .differences "$work/v.json")"
[[ "$(jq -r .graphs "$work/v.json")" == 20 ]] || fail "verify saw $(jq -r .graphs "$work/v.json") graphs, not 20"
# graphs in group order: default_db (''), group_a .. group_s; the first set ends at group_o
R GRAPH.QUERY group_o "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT 1 SET n.summary = 'drifted'" >/dev/null
R GRAPH.QUERY group_p "MATCH ()-[r:RELATES_TO]->() WITH r ORDER BY r.uuid DESC LIMIT 1 DELETE r" >/dev/null
R GRAPH.QUERY group_s "CREATE (:Entity {uuid: 'zz-extra-s', name: 'x', group_id: 'group_s'})" >/dev/null
# a copy in group_a of an Entity of group_b: extra in group_a, although Neo4j streams that key
# in the same query (it belongs to group_b's merge)
key_b=$(R GRAPH.QUERY group_b "MATCH (n:Entity) RETURN n.uuid ORDER BY n.uuid LIMIT 1" | sed -n 2p)
R GRAPH.QUERY group_a "CREATE (:Entity {uuid: '$key_b', name: 'copy', group_id: 'group_a'})" >/dev/null
"$BIN" verify --json >"$work/v.json" && fail "verify missed the drift in 4 graphs"
echo "   verify: $(jq -c '{differences, e: .types.Entity | {different, extra}, r: .types.RELATES_TO.missing}' "$work/v.json")"
[[ "$(count_of Entity different)" == 1 && "$(count_of Entity extra)" == 2 &&
   "$(count_of RELATES_TO missing)" == 1 && "$(jq -r .differences "$work/v.json")" == 4 ]] ||
  fail "expected 1 different and 2 extra Entities, 1 missing RELATES_TO: $(jq -c .types "$work/v.json")"
"$BIN" reconcile >"$work/rec.json" 2>/dev/null || fail "reconcile failed"
"$BIN" verify --json >"$work/v.json" || fail "not in sync after reconcile: $(jq -c .types "$work/v.json")"
[[ "$(R GRAPH.QUERY group_b "MATCH (n:Entity {uuid: '$key_b'}) RETURN count(n)" | sed -n 2p)" == 1 ]] ||
  fail "reconcile touched group_b's copy of the key it deleted from group_a"
for k in $(R --scan --pattern "group_*") default_db; do del_key "$k"; done
unset FALKORDB_LAYOUT

echo "== a 1024-float embedding: one float32 ULP is a difference, float64 noise below it is not"
export FALKORDB_LAYOUT=single
"$GEN" --clear --entities 10 --groups 1 --dim 0 --seed 6 >/dev/null
# Every element 0.25 but one; 0.500000059604644775390625 is a float32 (0.5 + 2^-24).
set_emb() {
  "$GEN" --exec "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT 1
    SET n.name_embedding = [i IN range(0, 1023) | CASE WHEN i = 700 THEN $1 ELSE 0.25 END]" >/dev/null
}
set_emb 0.500000059604644775390625
"$BIN" full >/dev/null
"$BIN" verify --json >"$work/v.json" || fail "not in sync after the full sync: $(jq -c .types.Entity "$work/v.json")"
# 0.5000000596055543 (= 0.5 + 2^-24 + 2^-40) is no float32: vecf32 rounds it to the cached value.
set_emb 0.5000000596055543
"$BIN" verify --json >"$work/v.json" ||
  fail "a float64 equal after float32 rounding was reported: $(jq -c .types.Entity "$work/v.json")"
# 0.5 is one float32 ULP below the cached element.
set_emb 0.5
if "$BIN" verify --json >"$work/v.json"; then fail "one float32 ULP in one element was not found"; fi
[[ "$(count_of Entity different)" == 1 ]] || fail "expected 1 different Entity: $(jq -c .types.Entity "$work/v.json")"
"$BIN" reconcile >/dev/null
"$BIN" verify >/dev/null || fail "reconcile did not fix the embedding"
echo "PASS"
