#!/usr/bin/env bash
# The generic profile against the real servers: any labels and relationship
# types (none, several, with spaces), keys from sync.key_property (strings,
# integers; items without one keep their element id as _neo4j_id) or element
# ids only. full -> verify 0; changes in Neo4j -> incremental -> verify 0;
# drift in the cache -> reconcile -> verify 0; kill -9 mid-sync -> resume;
# temporals as ISO text or as FalkorDB temporals (sync.temporal = native).
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_generic_$$"
# The binaries read NEO4J_URI, the server scripts NEO4J_PORT: one Neo4j for both.
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
export SYNC_PROFILE=generic
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { R GRAPH.QUERY "$FALKORDB_DATABASE" "$1" --raw | sed -n 2p; }
cypher() { "$GEN" --entities 0 --exec "$1" >/dev/null || fail "Neo4j statement failed: $1"; }
cleanup() {
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*"); do R GRAPH.DELETE "$k" >/dev/null || R DEL "$k" >/dev/null; done
  R DEL "falkorsync:ckpt:${FALKORDB_DATABASE}" "falkorsync:wm:${FALKORDB_DATABASE}" >/dev/null || true
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
}
trap cleanup EXIT
verify0() {
  local out
  out=$("$BIN" verify --json) || { echo "$out"; fail "$1"; }
  [[ "$out" == *'"differences":0'* ]] || { echo "$out"; fail "$1"; }
}

# A Graphiti-shaped graph is an arbitrary graph too; odd items are added by hand.
ODD="CREATE (p1:Person {id: 1, name: 'one', born: datetime('2001-02-03T04:05:06.789+02:00'), tags: ['x', 'y']}),
  (p2:Person:Admin {id: 2, day: date('2020-01-01'), at: datetime('2001-02-03T04:05:06+01:00'), lt: localtime('12:34:56'), du: duration('P2DT3S'), mo: duration('P1M')}),
  (w:\`Weird Label\`:\`another one\` {id: 'x y', \`odd key\`: 'v', q: 'it\'s \"quoted\" \\\\ \$x }'}),
  (t:Thing {id: 1.5, v: 3}),
  (n {name: 'no label, no key'}),
  (e1:Person {id: 'é'}), (e2:Person {id: '😀'}), (e3:Person {id: '\\uE000'}), (big:Person {id: 9223372036854775807}),
  (p1)-[:KNOWS {since: 2020}]->(p2), (p1)-[:KNOWS {since: 2021}]->(p2),
  (p2)-[:\`HAS SPACE\` {w: 1.5}]->(w), (n)-[:REL]->(p1), (p1)-[:KNOWS]->(p1),
  (t)-[:REL {id: 'r1'}]->(e2), (e3)-[:REL]->(n), (big)-[:REL {id: 7}]->(n),
  (bt:\`back\`\`tick\`:Kept {id: 'bt'}), (bt)-[:\`tick\`\`ed\`]->(n)"

run_profile() {
  local kp="$1"
  export SYNC_KEY_PROPERTY="$kp" SYNC_TEMPORAL="${2:-iso}"
  echo "== key property '${kp}', temporals ${SYNC_TEMPORAL}: generate, full, verify"
  "$GEN" --clear --entities 150 --groups 2 --dim 8 --seed 11 >/dev/null
  cypher "$ODD"
  # a start node with more relationships than one cache page holds (512)
  cypher "MATCH (p:Person {id: 1}) UNWIND range(1, 700) AS i CREATE (p)-[:HUB {i: i}]->(:Leaf {id: 'leaf' + i})"
  local out
  out=$("$BIN" full)
  echo "$out"
  [[ "$out" == *'"ok":true'* ]] || fail "generic full sync failed"
  [[ "$out" == *'"edges_missing_endpoint":0'* ]] || fail "relationships lost their endpoints"
  verify0 "verify after a generic full sync"
  out=$("$BIN" verify --json)
  [[ "$out" == *'"relationships":{'*'"unrepresentable":1,'* ]] || { echo "$out"; fail "a backtick type must count as unrepresentable"; }
  [[ "$(q 'MATCH (n:Kept) RETURN labels(n)')" == "[Kept]" ]] || fail "a node keeps the labels FalkorDB can name"
  [[ "$(q 'MATCH (n:`Weird Label`:`another one`) RETURN n.`odd key`')" == v ]] || fail "labels/keys with spaces"
  [[ "$(q 'MATCH ()-[r:`HAS SPACE`]->() RETURN r.w')" == 1.5 ]] || fail "relationship type with a space"
  [[ "$(q 'MATCH (n) WHERE n.name = "no label, no key" RETURN labels(n) = [] AND n._neo4j_id IS NOT NULL')" == true ]] \
    || fail "an unlabelled node without a key keeps its element id"
  if [[ -n "$kp" ]]; then
    [[ "$(q 'MATCH (n:Person {id: 1}) RETURN n._neo4j_id IS NULL')" == true ]] || fail "a keyed node got _neo4j_id"
    [[ "$(q 'MATCH (n:Thing) RETURN n._neo4j_id IS NOT NULL')" == true ]] || fail "a float key must fall back to the element id"
  else
    [[ "$(q 'MATCH (n) WHERE n._neo4j_id IS NULL RETURN count(n)')" == 0 ]] || fail "every node keeps its element id"
  fi
  local t='MATCH (p:Person {id: 2}) RETURN '
  if [[ "$SYNC_TEMPORAL" == native ]]; then
    [[ "$(q "$t"'p.day = date("2020-01-01") AND p.at = localdatetime("2001-02-03T03:05:06") AND p.lt = localtime("12:34:56") AND p.du = duration("P2DT3S")')" == true ]] \
      || fail "native temporals are not FalkorDB temporals"
    [[ "$(q "$t"'p.mo')" == P1M0DT0.000000000S ]] || fail "a duration with months must stay ISO text"
    [[ "$(q 'MATCH (p:Person {name: "one"}) RETURN p.born')" == 2001-02-03T02:05:06.789000+00:00 ]] \
      || fail "a datetime with a fraction must stay ISO text"
  else
    [[ "$(q "$t"'p.day')" == 2020-01-01 && "$(q "$t"'p.at')" == 2001-02-03T03:05:06+00:00 ]] \
      || fail "ISO temporals"
  fi

  echo "== changes in Neo4j, then incremental (generic: compare and fix)"
  cypher "MATCH (p:Person {id: 1}) SET p.name = 'changed', p:NewLabel"
  cypher "MATCH (p:Person:Admin) REMOVE p:Admin SET p.flag = true"
  cypher "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT 3 DETACH DELETE n"
  cypher "MATCH (:Person {id: 1})-[r:KNOWS {since: 2021}]->() DELETE r"
  cypher "MATCH (a:Person {id: 2}), (b:Thing) CREATE (a)-[:NEW {at: 1}]->(b), (:Fresh {id: 'fresh'})-[:REL]->(b)"
  cypher "MATCH ()-[r:REL {id: 'r1'}]->() SET r.weight = 0.25"
  cypher "MATCH (a)-[r:RELATES_TO]->(b) WITH a, r, b ORDER BY r.uuid LIMIT 2 MATCH (c:Entity) WHERE c <> a AND c <> b WITH r, a, c LIMIT 1 CREATE (a)-[r2:RELATES_TO]->(c) SET r2 = properties(r) DELETE r"
  out=$("$BIN" incremental)
  echo "$out"
  [[ "$out" == *'"ok":true'* ]] || fail "generic incremental failed"
  [[ "$out" != *'"upserted":0,'* && "$out" != *'"deleted":0,'* ]] || fail "incremental applied nothing"
  verify0 "verify after a generic incremental"
  [[ "$(q 'MATCH (n:Person:NewLabel {id: 1}) RETURN n.name')" == changed ]] || fail "label/property change not applied"
  [[ "$(q 'MATCH (n:Admin) RETURN count(n)')" == 0 ]] || fail "removed label still there"

  echo "== drift in the cache, then reconcile"
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n:Person {id: 2}) SET n.flag = false, n:Stale" >/dev/null
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n:Entity) WITH n LIMIT 2 DETACH DELETE n" >/dev/null
  R GRAPH.QUERY "$FALKORDB_DATABASE" "CREATE (:Ghost {id: 'ghost', _neo4j_id: 'ghost'})" >/dev/null
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n:Thing) CREATE (c:Thing) SET c = properties(n)" >/dev/null # a duplicate
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH ()-[r:KNOWS]->() WITH r LIMIT 1 SET r.since = 1999" >/dev/null
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH ()-[r:HUB]->() WHERE r.i IN [3, 650] DELETE r" >/dev/null
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH ()-[r:HUB {i: 600}]->() SET r.i = -1" >/dev/null
  if "$BIN" verify >/dev/null; then fail "verify missed drift"; fi
  out=$("$BIN" reconcile | tail -1)
  echo "$out"
  [[ "$out" == *'"ok":true'* ]] || fail "generic reconcile failed"
  verify0 "verify after a generic reconcile"
  [[ "$(q 'MATCH (n:Stale) RETURN count(n)')" == 0 ]] || fail "a stale label survived reconcile"
}

run_profile id
run_profile ""
run_profile id native

echo "== kill -9 in the middle of a generic full sync, then run again"
export SYNC_KEY_PROPERTY=uuid SYNC_TEMPORAL=iso
"$GEN" --clear --entities 400 --groups 2 --dim 8 --seed 5 >/dev/null
R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null
( SYNC_BATCH_SIZE=40 SYNC_PIPELINE_DEPTH=1 exec "$BIN" full >/dev/null 2>&1 ) &
pid=$!
for _ in $(seq 1 300); do
  t=$(R HGET "falkorsync:ckpt:${FALKORDB_DATABASE}" after)
  [[ -n "$t" ]] && break
  sleep 0.02
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[[ -n "$t" ]] || fail "no checkpoint seen before the kill"
out=$("$BIN" full)
echo "$out"
[[ "$out" == *'"resumed":true'* ]] || fail "the second run did not resume"
verify0 "verify after kill -9 + resume (generic)"

echo "== configuration errors are clear"
err=$(FALKORDB_LAYOUT=per_group "$BIN" verify 2>&1) && fail "per_group with generic accepted"
[[ "$err" == *"per_group needs sync.profile = graphiti"* ]] || fail "unclear error: $err"
err=$(SYNC_KEY_PROPERTY='a`b' "$BIN" verify 2>&1) && fail "a backtick key property accepted"
[[ "$err" == *"backtick"* ]] || fail "unclear error: $err"
err=$(SYNC_PROFILE=graphiti SYNC_TEMPORAL=native "$BIN" verify 2>&1) && fail "native temporals accepted for graphiti"
[[ "$err" == *"generic only"* ]] || fail "unclear error: $err"
echo PASS
