#!/usr/bin/env bash
# Incremental + reconcile + continuous against the real servers: a Graphiti-like
# workload (adds, every kind of update, every kind of delete, several groups)
# converges to 0 differences; so does a continuous run through a FalkorDB
# restart, a Neo4j restart, a kill -9 of the service, and a steady writer.
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_inc_$$"
# The binaries read NEO4J_URI, the server scripts NEO4J_PORT: one Neo4j for both.
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
X() { local args=(); for q in "$@"; do args+=(--exec "$q"); done; "$GEN" "${args[@]}"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# redis-cli exits 0 on an error reply, so pick the command by the key's type.
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
work=$(mktemp -d)
serve_pid=""
writer_pid=""
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  [[ -n "$writer_pid" ]] && kill "$writer_pid" 2>/dev/null || true
  "$ROOT/scripts/servers.sh" start >/dev/null 2>&1 || true
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*") group_a group_b; do
    del_key "$k"
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits until verify reports 0 differences (up to $1 seconds).
converge() {
  local deadline=$((SECONDS + $1))
  while (( SECONDS < deadline )); do
    if "$BIN" verify >"$work/verify.txt" 2>&1; then return 0; fi
    sleep 1
  done
  cat "$work/verify.txt" >&2
  return 1
}

echo "== a Graphiti graph in three groups, synced"
"$GEN" --clear --entities 400 --groups 3 --dim 8 --seed 11 >/dev/null
"$BIN" full >/dev/null
"$BIN" verify >/dev/null || fail "not in sync after the full sync"

echo "== workload: adds"
X "MATCH (a:Entity {group_id:'group_a'}) WITH a ORDER BY a.uuid LIMIT 2
   WITH collect(a) AS es
   CREATE (ep:Episodic {uuid:'w-ep-1', name:'ep', group_id:'group_a', source:'text', content:'new episode',
          source_description:'test', entity_edges:[], created_at: datetime(), valid_at: datetime()})
   CREATE (n:Entity:Person {uuid:'w-ent-1', name:'Newcomer', group_id:'group_a', summary:'new',
          created_at: datetime(), name_embedding:[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]})
   CREATE (ep)-[:MENTIONS {uuid:'w-m-1', group_id:'group_a', created_at: datetime()}]->(n)
   WITH ep, n, es UNWIND range(0, size(es)-1) AS i WITH ep, n, es[i] AS a, i
   CREATE (ep)-[:MENTIONS {uuid:'w-m-a'+i, group_id:'group_a', created_at: datetime()}]->(a)
   CREATE (n)-[:RELATES_TO {uuid:'w-r-'+i, name:'KNOWS', fact:'newcomer knows', group_id:'group_a',
          episodes:['w-ep-1'], created_at: datetime(), fact_embedding:[1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0]}]->(a)" \
  "CREATE (c:Community {uuid:'w-comm-1', name:'new community', group_id:'group_a', summary:'s', created_at: datetime()})
   WITH c MATCH (n:Entity {uuid:'w-ent-1'}) CREATE (c)-[:HAS_MEMBER {uuid:'w-hm-1', group_id:'group_a', created_at: datetime()}]->(n)" \
  "CREATE (s:Saga {uuid:'w-saga-1', name:'saga', group_id:'group_a', summary:'a saga', created_at: datetime()})
   WITH s MATCH (ep:Episodic {uuid:'w-ep-1'}) CREATE (s)-[:HAS_EPISODE {uuid:'w-he-1', group_id:'group_a', created_at: datetime()}]->(ep)
   WITH ep MATCH (p:Episodic {group_id:'group_a'}) WHERE p.uuid <> 'w-ep-1' WITH ep, p ORDER BY p.created_at DESC LIMIT 1
   CREATE (p)-[:NEXT_EPISODE {uuid:'w-ne-1', group_id:'group_a', created_at: datetime()}]->(ep)"

echo "== workload: updates that keep created_at"
X "MATCH (:Entity {group_id:'group_b'})-[r:RELATES_TO]->() WITH r ORDER BY r.uuid LIMIT 3
   SET r.expired_at = datetime(), r.invalid_at = datetime('2021-03-04T05:06:07.000008Z')" \
  "MATCH (a:Entity {uuid:'w-ent-1'})-[r:RELATES_TO]->() SET r.episodes = r.episodes + ['w-ep-2']" \
  "MATCH ()-[r:RELATES_TO {group_id:'group_b'}]->() WITH r ORDER BY r.uuid DESC LIMIT 1 SET r.episodes = r.episodes + ['other']" \
  "MATCH (:Episodic {uuid:'w-ep-1'})-[:MENTIONS]->(a:Entity) WHERE a.uuid <> 'w-ent-1'
   SET a.summary = 'rewritten after a new episode', a.mood = 'curious', a.name_embedding = [0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]" \
  "MATCH (a:Entity {group_id:'group_b'}) WITH a ORDER BY a.uuid LIMIT 1 SET a.summary = 'quietly rewritten', a.rank = 7" \
  "MATCH (c:Community {group_id:'group_a'}) WHERE c.uuid <> 'w-comm-1' WITH c LIMIT 1
   SET c.summary = 'new summary', c.name = 'renamed', c.name_embedding = [1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0]" \
  "MATCH (s:Saga {group_id:'group_b'}) WITH s LIMIT 1 SET s.summary = 'saga summary rewritten'"

echo "== workload: deletes"
# remove_episode: the episode, the edges whose first episode it was, entities only it mentioned
X "MATCH (ep:Episodic {group_id:'group_b'}) WITH ep ORDER BY ep.uuid LIMIT 1
   OPTIONAL MATCH ()-[r:RELATES_TO]->() WHERE r.episodes[0] = ep.uuid
   WITH ep, collect(r) AS rs FOREACH (r IN rs | DELETE r)
   WITH ep OPTIONAL MATCH (ep)-[:MENTIONS]->(n:Entity) WHERE NOT EXISTS { MATCH (o:Episodic)-[:MENTIONS]->(n) WHERE o <> ep }
   WITH ep, collect(n) AS only FOREACH (n IN only | DETACH DELETE n) DETACH DELETE ep" \
  "MATCH (c:Community {group_id:'group_b'}) WITH collect(c) AS cs, count(c) AS k
   FOREACH (c IN cs | DETACH DELETE c)
   WITH k UNWIND range(1, k) AS i
   CREATE (c:Community {uuid:'w-rebuilt-'+i, name:'rebuilt '+i, group_id:'group_b', summary:'', created_at: datetime()})
   WITH c, i MATCH (e:Entity {group_id:'group_b'}) WITH c, i, e ORDER BY e.uuid
   WITH c, i, collect(e) AS es WITH c, es[i..i+3] AS members UNWIND members AS e
   CREATE (c)-[:HAS_MEMBER {uuid: c.uuid + '-' + e.uuid, group_id:'group_b', created_at: datetime()}]->(e)" \
  "MATCH (n:Entity {group_id:'group_a'}) WHERE n.uuid <> 'w-ent-1' WITH n ORDER BY n.uuid DESC LIMIT 1 DETACH DELETE n" \
  "MATCH (n) WHERE n.group_id = '' DETACH DELETE n"

echo "== incremental alone: what its change queries can see, read back from the cache"
# The adds (created_at is new), the edges expired by an update (expired_at is new), the
# entities an episode touched (reached through the new episode's MENTIONS) and the grown
# episodes list of a new edge; and every delete (its per-run delete check). Updates that keep
# every timestamp are left to reconcile (below).
added_nodes="['w-ep-1','w-ent-1','w-comm-1','w-saga-1']"
added_rels="['w-m-1','w-m-a0','w-m-a1','w-r-0','w-r-1','w-hm-1','w-he-1','w-ne-1']"
q_added_nodes="MATCH (n) WHERE n.uuid IN $added_nodes RETURN count(n)"
q_added_rels="MATCH ()-[r]->() WHERE r.uuid IN $added_rels RETURN count(r)"
q_touched="MATCH (n:Entity) WHERE n.summary = 'rewritten after a new episode' AND n.mood = 'curious'
           AND n.name_embedding IS NOT NULL RETURN count(n)"
q_expired="MATCH (:Entity {group_id:'group_b'})-[r:RELATES_TO]->()
           WHERE r.invalid_at = '2021-03-04T05:06:07.000008+00:00' AND r.expired_at IS NOT NULL RETURN count(r)"
q_episodes="MATCH ()-[r:RELATES_TO]->() WHERE r.uuid IN ['w-r-0','w-r-1'] AND size(r.episodes) = 2
            AND r.episodes[1] = 'w-ep-2' AND typeof(r.fact_embedding) = 'Vectorf32' RETURN count(r)"
cache_count() { R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "$1" | sed -n 2p; }
expect_count() { # $1 what, $2 query, $3 test operator, $4 number
  local n; n=$(cache_count "$2")
  [[ "$n" =~ ^[0-9]+$ ]] || fail "$1: no count from the cache ($n)"
  case "$3" in
    ==) [[ "$n" -eq "$4" ]] || fail "$1: $n in the cache, expected $3 $4" ;;
    '>=') [[ "$n" -ge "$4" ]] || fail "$1: $n in the cache, expected $3 $4" ;;
    *) fail "expect_count: unknown operator $3" ;;
  esac
  echo "   $1: $n"
}
echo "-- before: the full sync's cache has none of it"
expect_count "added nodes" "$q_added_nodes" == 0
expect_count "added relationships" "$q_added_rels" == 0
expect_count "entities touched by the new episode" "$q_touched" == 0
expect_count "relationships expired by an update" "$q_expired" == 0
"$BIN" incremental >"$work/inc.json"
cat "$work/inc.json"
grep -q '"ok":true' "$work/inc.json" || fail "incremental failed"
grep -q '"did_full":false' "$work/inc.json" || fail "incremental should not have run a full sync"
upserted=$(sed 's/.*"upserted":\([0-9]*\).*/\1/' "$work/inc.json")
(( upserted >= 12 )) || fail "incremental upserted $upserted items, expected at least the 12 added"
echo "-- after incremental"
expect_count "added nodes" "$q_added_nodes" == 4
expect_count "added relationships" "$q_added_rels" == 8
expect_count "entities touched by the new episode" "$q_touched" == 2
expect_count "relationships expired by an update" "$q_expired" ">=" 1
expect_count "new relationships with their grown episodes list" "$q_episodes" == 2
grep -q '"deleted":[1-9]' "$work/inc.json" || fail "incremental should have deleted what Neo4j no longer has"
"$BIN" verify --json >"$work/after_inc.json" || true
echo "differences left for reconcile: $(sed 's/.*"differences":\([0-9]*\).*/\1/' "$work/after_inc.json")"
grep -Eq '"(missing|extra)":[1-9]' "$work/after_inc.json" && fail "incremental left missing or extra items: $(cat "$work/after_inc.json")"

echo "== reconcile"
"$BIN" reconcile --json >"$work/rec.json"
cat "$work/rec.json"
"$BIN" verify || fail "incremental + reconcile did not converge"
grep -q '"upserted":[1-9]' "$work/rec.json" || fail "reconcile should have fixed the updates that keep every timestamp"

echo "== young items (born within sync.overlap_seconds): synced, then deleted, by incremental alone"
# The delete check compares old items by counts and key ranges and looks the cache's young
# ones up in Neo4j by key: these take the second path.
X "CREATE (:Entity {uuid:'young-1', name:'y', group_id:'group_a', summary:'', labels:['Entity'], created_at: datetime()})" \
  "MATCH (a:Entity {uuid:'young-1'}), (b:Entity {group_id:'group_a'}) WHERE b.uuid <> 'young-1'
   WITH a, b ORDER BY b.uuid LIMIT 1
   CREATE (a)-[:RELATES_TO {uuid:'young-r-1', group_id:'group_a', name:'Y', fact:'y', episodes:[], created_at: datetime()}]->(b)"
"$BIN" incremental >/dev/null || fail "incremental failed (young adds)"
expect_count "young entity in the cache" "MATCH (n:Entity {uuid:'young-1'}) RETURN count(n)" == 1
expect_count "young relationship in the cache" "MATCH ()-[r:RELATES_TO {uuid:'young-r-1'}]->() RETURN count(r)" == 1
X "MATCH ()-[r:RELATES_TO {uuid:'young-r-1'}]->() DELETE r"
"$BIN" incremental >"$work/young.json" || fail "incremental failed (young relationship deleted)"
expect_count "young relationship after its delete" "MATCH ()-[r:RELATES_TO {uuid:'young-r-1'}]->() RETURN count(r)" == 0
expect_count "its entity stays" "MATCH (n:Entity {uuid:'young-1'}) RETURN count(n)" == 1
# an old entity deleted and a new one added in the same interval leave the type's count
# equal: the old items' counts still differ
X "MATCH (n:Entity {uuid:'young-1'}) DETACH DELETE n" \
  "MATCH (n:Entity {group_id:'group_a'}) WHERE n.created_at < datetime() - duration('PT1H')
   WITH n ORDER BY n.uuid LIMIT 1 SET n:GoneMarker" \
  "CREATE (:Entity {uuid:'young-2', name:'y2', group_id:'group_a', summary:'', labels:['Entity'], created_at: datetime()})"
gone=$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n:Entity {group_id:'group_a'}) WHERE n.created_at < '2026' RETURN n.uuid ORDER BY n.uuid LIMIT 1" | sed -n 2p)
X "MATCH (n:GoneMarker) DETACH DELETE n"
"$BIN" incremental >/dev/null || fail "incremental failed (a delete and an add in one interval)"
expect_count "young entity after its delete" "MATCH (n:Entity {uuid:'young-1'}) RETURN count(n)" == 0
expect_count "the new entity" "MATCH (n:Entity {uuid:'young-2'}) RETURN count(n)" == 1
expect_count "the old entity deleted beside it ($gone)" "MATCH (n:Entity {uuid:'$gone'}) RETURN count(n)" == 0
"$BIN" verify || fail "young and old deletes did not converge"

echo "== per_group layout: the same graph, a group cleared"
FALKORDB_LAYOUT=per_group "$BIN" full >/dev/null
X "MATCH (n) WHERE n.group_id = 'group_b' DETACH DELETE n" \
  "MATCH (a:Entity {group_id:'group_a'}) WITH a LIMIT 1 SET a.summary = 'per-group update'"
FALKORDB_LAYOUT=per_group "$BIN" incremental >/dev/null
FALKORDB_LAYOUT=per_group "$BIN" reconcile --json >/dev/null
FALKORDB_LAYOUT=per_group "$BIN" verify || fail "per_group did not converge"
[[ "$(R EXISTS group_b)" == 0 ]] || fail "the graph of the cleared group_b should be gone"

echo "== continuous: interval 1 s, reconcile every 3 runs, with a steady writer"
export SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=3 SYNC_MAX_RETRIES=20 SYNC_RETRY_DELAY_SECONDS=1 \
       SYNC_RETRY_MAX_DELAY_SECONDS=2 LOG_LEVEL=INFO NEO4J_CONNECT_TIMEOUT=2 NEO4J_READ_TIMEOUT=20 \
       FALKORDB_CONNECT_TIMEOUT=2 FALKORDB_READ_TIMEOUT=20
"$BIN" serve 2>"$work/serve.log" &
serve_pid=$!
( i=0; while true; do
    X "CREATE (:Entity {uuid:'steady-$RANDOM-'+toString(timestamp()), name:'w', group_id:'group_a', summary:'', created_at: datetime()})" >/dev/null 2>&1 || true
    i=$((i + 1)); sleep 0.2
  done ) &
writer_pid=$!
sleep 3

echo "== FalkorDB stops and comes back (empty: no persistence)"
"$ROOT/scripts/servers.sh" stop-falkordb
sleep 3
"$ROOT/scripts/servers.sh" start-falkordb
sleep 4

echo "== Neo4j stops and comes back"
"$ROOT/scripts/servers.sh" stop-neo4j
sleep 2
"$ROOT/scripts/servers.sh" start-neo4j
sleep 3

echo "== kill -9 of the service, then a restart"
kill -9 "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
"$BIN" serve 2>>"$work/serve.log" &
serve_pid=$!
sleep 3
kill "$writer_pid"; wait "$writer_pid" 2>/dev/null || true
writer_pid=""
converge 60 || { tail -n 30 "$work/serve.log" >&2; fail "continuous sync did not converge"; }
grep -q '"msg":"sync failed, retrying"' "$work/serve.log" || fail "the outages should have shown as retries"

echo "== SIGTERM stops the service cleanly with exit 0"
kill -TERM "$serve_pid"
rc=0; wait "$serve_pid" || rc=$?
serve_pid=""
[[ $rc -eq 0 ]] || fail "serve exited $rc on SIGTERM"
grep -q '"msg":"stopped"' "$work/serve.log" || fail "no stop message"
echo "retries logged: $(grep -c 'sync failed, retrying' "$work/serve.log"), lag samples:"
grep -o '"lag_seconds":[0-9.]*' "$work/serve.log" | tail -n 5 | tr '\n' ' '; echo
echo PASS
