#!/usr/bin/env bash
# Freshness: Graphiti's deletes reach the cache through `incremental` alone, before any
# reconcile, in both layouts: remove_episode (the episode, its MENTIONS, the edges it
# created, the entities only it mentioned), a community rebuild with new uuids, a deleted
# RELATES_TO, a deleted group. A second run with nothing changed deletes nothing.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_fresh_$$"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
X() { local args=(); for q in "$@"; do args+=(--exec "$q"); done; "$GEN" "${args[@]}" >/dev/null; }
fail() { echo "FAIL: $*" >&2; exit 1; }
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
work=$(mktemp -d)
serve_pid=""
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*") \
           $(R --scan --pattern "falkorsync:*group_[abn]*") $(R --scan --pattern "falkorsync:*default_db*") \
           group_a group_b group_c group_d group_e group_new default_db; do
    del_key "$k"
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The number a read-only query on graph $1 returns ("0" when the graph does not exist).
cache_count() {
  local out; out=$(R GRAPH.RO_QUERY "$1" "$2" 2>&1 | sed -n 2p)
  [[ "$out" =~ ^[0-9]+$ ]] && echo "$out" || echo 0
}
expect() { # $1 what, $2 graph, $3 query, $4 expected count
  local n; n=$(cache_count "$2" "$3")
  [[ "$n" == "$4" ]] || fail "$1: $n in $2, expected $4"
  echo "   $1: $n"
}
field() { sed "s/.*\"$2\":\\([0-9]*\\).*/\\1/" "$1"; }

# One layout ($1): a synced graph, Graphiti's deletes in Neo4j, one incremental, the cache read.
run_layout() {
  local layout=$1 ga gb
  export FALKORDB_LAYOUT=$layout
  if [[ $layout == single ]]; then ga=$FALKORDB_DATABASE; gb=$FALKORDB_DATABASE; else ga=group_a; gb=group_b; fi
  echo "== layout $layout: a Graphiti graph in three groups, synced"
  "$GEN" --clear --entities 300 --groups 3 --dim 8 --seed 5 >/dev/null
  "$BIN" full >/dev/null
  "$BIN" verify >"$work/v0.txt" 2>&1 || { cat "$work/v0.txt" >&2; fail "not in sync after the full sync"; }
  # What goes: an episode of group_a with what it alone holds; group_a's communities; one
  # RELATES_TO of group_a; every node of group_b.
  local ep rel old_comms orphans
  # An episode that mentions an entity no other episode mentions (read from the cache).
  local q_only="MATCH (e:Episodic {group_id:'group_a'})-[:MENTIONS]->(n) OPTIONAL MATCH (o:Episodic)-[:MENTIONS]->(n)
                WITH e, n, count(o) AS k WHERE k = 1"
  ep=$(R GRAPH.RO_QUERY "$ga" "$q_only RETURN e.uuid ORDER BY e.uuid LIMIT 1" | sed -n 2p)
  [[ -n "$ep" ]] || fail "no episode with an entity of its own in group_a"
  orphans=$(R GRAPH.RO_QUERY "$ga" "$q_only AND e.uuid = '$ep' RETURN n.uuid" | sed -n '2,$p' | grep -v -e '^Cached' -e '^Query' | sed "s/.*/'&'/" | paste -sd, -)
  [[ -n "$orphans" ]] || fail "no orphaned entity"
  rel=$(R GRAPH.RO_QUERY "$ga" "MATCH (:Entity {group_id:'group_a'})-[r:RELATES_TO]->() WHERE NOT '$ep' IN r.episodes RETURN r.uuid ORDER BY r.uuid DESC LIMIT 1" | sed -n 2p)
  old_comms=$(cache_count "$ga" "MATCH (c:Community {group_id:'group_a'}) RETURN count(c)")
  (( old_comms > 0 )) || fail "no community in group_a to rebuild"
  expect "entities only the episode mentions, before" "$ga" "MATCH (n:Entity) WHERE n.uuid IN [$orphans] RETURN count(n)" "$(tr ',' '\n' <<<"$orphans" | wc -l)"
  echo "-- deleting in Neo4j: episode $ep, relationship $rel, $old_comms communities rebuilt, group_b"
  # remove_episode
  X "MATCH (ep:Episodic {uuid:'$ep'})
     OPTIONAL MATCH ()-[r:RELATES_TO]->() WHERE r.episodes[0] = ep.uuid
     WITH ep, collect(r) AS rs FOREACH (r IN rs | DELETE r)
     WITH ep OPTIONAL MATCH (n:Entity) WHERE n.uuid IN [$orphans]
     WITH ep, collect(n) AS only FOREACH (n IN only | DETACH DELETE n) DETACH DELETE ep"
  # community rebuild: every community of the group and its HAS_MEMBER go, new uuids come
  X "MATCH (c:Community {group_id:'group_a'}) DETACH DELETE c" \
    "UNWIND range(1, 3) AS i
     CREATE (c:Community {uuid:'fresh-comm-'+i, name:'rebuilt '+i, group_id:'group_a', summary:'', created_at: datetime()})
     WITH c, i MATCH (e:Entity {group_id:'group_a'}) WITH c, i, e ORDER BY e.uuid
     WITH c, i, collect(e)[i*2..i*2+2] AS members UNWIND members AS e
     CREATE (c)-[:HAS_MEMBER {uuid: c.uuid + '-' + e.uuid, group_id:'group_a', created_at: datetime()}]->(e)"
  # a deleted edge, and a deleted group (clear_data)
  X "MATCH ()-[r:RELATES_TO {uuid:'$rel'}]->() DELETE r" \
    "MATCH (n) WHERE n.group_id = 'group_b' DETACH DELETE n"

  echo "-- incremental alone"
  "$BIN" incremental >"$work/inc.json"
  cat "$work/inc.json"
  grep -q '"ok":true' "$work/inc.json" || fail "incremental failed"
  expect "the removed episode" "$ga" "MATCH (e:Episodic {uuid:'$ep'}) RETURN count(e)" 0
  expect "its MENTIONS" "$ga" "MATCH (e:Episodic)-[m:MENTIONS]->() WHERE e.uuid = '$ep' RETURN count(m)" 0
  expect "relationships it created" "$ga" "MATCH ()-[r:RELATES_TO]->() WHERE r.episodes[0] = '$ep' RETURN count(r)" 0
  expect "entities only it mentioned" "$ga" "MATCH (n:Entity) WHERE n.uuid IN [$orphans] RETURN count(n)" 0
  expect "the deleted relationship" "$ga" "MATCH ()-[r:RELATES_TO {uuid:'$rel'}]->() RETURN count(r)" 0
  expect "communities of group_a, all rebuilt" "$ga" "MATCH (c:Community {group_id:'group_a'}) RETURN count(c)" 3
  expect "their old uuids" "$ga" "MATCH (c:Community {group_id:'group_a'}) WHERE NOT c.uuid STARTS WITH 'fresh-comm-' RETURN count(c)" 0
  expect "HAS_MEMBER of old communities" "$ga" "MATCH (c:Community {group_id:'group_a'})-[h:HAS_MEMBER]->() WHERE NOT h.uuid STARTS WITH 'fresh-comm-' RETURN count(h)" 0
  expect "HAS_MEMBER of the rebuilt ones" "$ga" "MATCH (c:Community {group_id:'group_a'})-[h:HAS_MEMBER]->() RETURN count(h)" 6
  expect "nodes of the deleted group_b" "$gb" "MATCH (n {group_id:'group_b'}) RETURN count(n)" 0
  if [[ $layout == per_group ]]; then
    [[ "$(R EXISTS group_b)" == 0 ]] || fail "the graph of the deleted group_b should be gone"
    echo "   graph group_b: gone"
  fi
  "$BIN" verify >"$work/verify.txt" 2>&1 || { cat "$work/verify.txt" >&2; fail "verify after incremental alone ($layout)"; }
  echo "   verify: 0 differences, before any reconcile"

  echo "-- a second incremental, nothing changed"
  "$BIN" incremental >"$work/inc2.json"
  cat "$work/inc2.json"
  [[ "$(field "$work/inc2.json" deleted)" == 0 ]] || fail "a run with nothing changed deleted something"

  echo "-- a member added to an older community (Graphiti's update_community): incremental alone"
  local gd=$FALKORDB_DATABASE
  [[ $layout == per_group ]] && gd=default_db
  X "MATCH (c:Community {group_id:''}) WITH c ORDER BY c.uuid LIMIT 1
     MATCH (e:Entity {group_id:''}) WHERE NOT (c)-[:HAS_MEMBER]->(e) WITH c, e ORDER BY e.uuid LIMIT 1
     CREATE (c)-[:HAS_MEMBER {uuid:'late-member', group_id:'', created_at: datetime()}]->(e)"
  "$BIN" incremental >"$work/inc3.json"
  expect "the new member of an older community" "$gd" "MATCH ()-[h:HAS_MEMBER {uuid:'late-member'}]->() RETURN count(h)" 1

  echo "-- a relationship deleted in each of two groups: incremental alone"
  # per_group: two groups' counts differ, and one Neo4j query counts both groups' keys
  local ra rd
  ra=$(R GRAPH.RO_QUERY "$ga" "MATCH (:Entity {group_id:'group_a'})-[r:RELATES_TO]->() RETURN r.uuid ORDER BY r.uuid LIMIT 1" | sed -n 2p)
  # (Neo4j's default group '' is Graphiti's '_' in the cache)
  rd=$(R GRAPH.RO_QUERY "$gd" "MATCH (n:Entity)-[r:RELATES_TO]->() WHERE n.group_id IN ['', '_'] RETURN r.uuid ORDER BY r.uuid DESC LIMIT 1" | sed -n 2p)
  [[ -n "$ra" && -n "$rd" ]] || fail "no RELATES_TO in group_a or the default group"
  X "MATCH ()-[r:RELATES_TO]->() WHERE r.uuid IN ['$ra', '$rd'] DELETE r"
  # no digest slices, so that the counts find these deletes (on a small graph a
  # slice is the whole type, and the digest check finds everything first), and the overlap
  # window passed, so that they are old items
  sleep 2
  SYNC_DELETE_DIGEST_KEYS=0 SYNC_OVERLAP_SECONDS=1 "$BIN" incremental >"$work/inc4.json"
  [[ "$(field "$work/inc4.json" deleted)" == 2 ]] || fail "expected 2 deletes: $(cat "$work/inc4.json")"
  expect "group_a's deleted relationship" "$ga" "MATCH ()-[r:RELATES_TO {uuid:'$ra'}]->() RETURN count(r)" 0
  expect "the default group's deleted relationship" "$gd" "MATCH ()-[r:RELATES_TO {uuid:'$rd'}]->() RETURN count(r)" 0
  "$BIN" verify >"$work/verify.txt" 2>&1 || { cat "$work/verify.txt" >&2; fail "verify after two groups' deletes ($layout)"; }

  echo "-- an old entity gone from group_a, another added to the default group, counts equal: incremental alone"
  # Both carry a created_at of 2020: no change query sees them, only the delete check. The
  # second change leaves Entity's count as it was: only the key histograms of the run's slice
  # see it. The slice is one of 16 key ranges (a budget of about a 16th of the entities), the
  # one of this hour (interval 3600 s), and the keys are made to fall in it.
  local ents hex c
  ents=$(( $(cache_count "$ga" "MATCH (n:Entity) RETURN count(n)") ))
  [[ $layout == per_group ]] && ents=$(( ents + $(cache_count "$gd" "MATCH (n:Entity) RETURN count(n)") ))
  (( $(date +%s) % 3600 < 3590 )) || sleep 12
  hex=0123456789abcdef
  c=${hex:$(( ($(date +%s) / 3600) % 16 )):1}
  local slice=(SYNC_INTERVAL_SECONDS=3600 SYNC_DELETE_DIGEST_KEYS=$(( (ents + 15) / 16 )))
  X "CREATE (:Entity {uuid:'${c}000-late-a', name:'late a', group_id:'group_a', summary:'', labels:['Entity'], created_at: datetime('2020-01-01T00:00:00Z')})"
  env "${slice[@]}" "$BIN" incremental >"$work/inc5.json"
  expect "an old entity no change query sees, in group_a" "$ga" "MATCH (n:Entity {uuid:'${c}000-late-a'}) RETURN count(n)" 1
  X "MATCH (n:Entity {uuid:'${c}000-late-a'}) DETACH DELETE n" \
    "CREATE (:Entity {uuid:'${c}000-late-b', name:'late b', group_id:'', summary:'', labels:['Entity'], created_at: datetime('2020-01-01T00:00:00Z')})"
  env "${slice[@]}" "$BIN" incremental >"$work/inc6.json"
  cat "$work/inc6.json"
  expect "the old entity gone from group_a" "$ga" "MATCH (n:Entity {uuid:'${c}000-late-a'}) RETURN count(n)" 0
  expect "the old entity added to the default group" "$gd" "MATCH (n:Entity {uuid:'${c}000-late-b'}) RETURN count(n)" 1
  "$BIN" verify >"$work/verify.txt" 2>&1 || { cat "$work/verify.txt" >&2; fail "verify after an equal-count swap ($layout)"; }
}

run_layout single
run_layout per_group

echo "== per_group in 6 groups: an equal-count swap of old entities, incremental alone"
# Past 4 graphs a small type's digest slice is one of 16 key ranges, not the whole type
# (src/sync/deletes.c, dc_slices): listed once for every group. The range of this hour
# (interval 3600 s) holds the keys.
"$GEN" --clear --entities 120 --groups 6 --dim 0 --seed 6 >/dev/null
"$BIN" full >/dev/null
(( $(date +%s) % 3600 < 3590 )) || sleep 12
hex=0123456789abcdef
c=${hex:$(( ($(date +%s) / 3600) % 16 )):1}
X "CREATE (:Entity {uuid:'${c}000-six-a', name:'six a', group_id:'group_c', summary:'', labels:['Entity'], created_at: datetime('2020-01-01T00:00:00Z')})"
SYNC_INTERVAL_SECONDS=3600 "$BIN" incremental >/dev/null
expect "an old entity no change query sees, in group_c" group_c "MATCH (n:Entity {uuid:'${c}000-six-a'}) RETURN count(n)" 1
X "MATCH (n:Entity {uuid:'${c}000-six-a'}) DETACH DELETE n" \
  "CREATE (:Entity {uuid:'${c}000-six-b', name:'six b', group_id:'group_e', summary:'', labels:['Entity'], created_at: datetime('2020-01-01T00:00:00Z')})"
SYNC_INTERVAL_SECONDS=3600 "$BIN" incremental >"$work/inc7.json"
cat "$work/inc7.json"
expect "the old entity gone from group_c" group_c "MATCH (n:Entity {uuid:'${c}000-six-a'}) RETURN count(n)" 0
expect "the old entity added to group_e" group_e "MATCH (n:Entity {uuid:'${c}000-six-b'}) RETURN count(n)" 1
"$BIN" verify >"$work/verify.txt" 2>&1 || { cat "$work/verify.txt" >&2; fail "verify after an equal-count swap in 6 groups"; }

echo "== continuous: each change written once, a late commit still arrives"
export FALKORDB_LAYOUT=single
"$GEN" --clear --entities 100 --groups 2 --dim 0 --seed 9 >/dev/null
"$BIN" full >/dev/null
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=0 LOG_LEVEL=INFO "$BIN" serve 2>"$work/serve.log" &
serve_pid=$!
inc_runs() { grep '"msg":"sync completed"' "$work/serve.log" | grep '"mode":"incremental"' || true; }
runs() { inc_runs | wc -l; }
wait_runs() { # until $1 more incremental runs completed (up to 20 s)
  local want=$(( $(runs) + $1 )) deadline=$((SECONDS + 20))
  while (( $(runs) < want )); do (( SECONDS < deadline )) || fail "no incremental run"; sleep 0.2; done
}
wait_runs 1 # the first run rewrites the window the full sync left (nothing remembered yet)
first=$(runs)
X "UNWIND range(1, 5) AS i CREATE (:Entity {uuid:'fresh-new-'+i, name:'n', group_id:'group_a', summary:'', created_at: datetime()})"
wait_runs 2
# A transaction that commits late: its created_at is older than the watermark (the entities
# above) but inside the overlap window.
X "CREATE (:Entity {uuid:'fresh-late', name:'late', group_id:'group_a', summary:'', created_at: datetime() - duration({seconds: 20})})"
wait_runs 2
kill -TERM "$serve_pid"; wait "$serve_pid" || true
serve_pid=""
expect "new entities" "$FALKORDB_DATABASE" "MATCH (n:Entity) WHERE n.uuid STARTS WITH 'fresh-new-' RETURN count(n)" 5
expect "the late commit" "$FALKORDB_DATABASE" "MATCH (n:Entity {uuid:'fresh-late'}) RETURN count(n)" 1
inc_runs | tail -n +$((first + 1)) >"$work/later.log"
written=$(grep -o '"upserted":[0-9]*' "$work/later.log" | cut -d: -f2 | paste -sd+ - | bc)
skipped=$(grep -o '"skipped_unchanged":[0-9]*' "$work/later.log" | cut -d: -f2 | paste -sd+ - | bc)
echo "   runs after the first: $(wc -l <"$work/later.log"), items written: $written, rows skipped as applied: $skipped"
[[ "$written" == 6 ]] || { cat "$work/later.log" >&2; fail "6 changes should have been written once each, not $written times"; }
(( skipped > 0 )) || fail "the overlap window should have been read again and skipped"

echo "== one run sends a row once, though two change queries read it"
# Graphiti's add_episode: an episode, a new entity and the MENTIONS between them in one
# transaction. The entity is read by the Entity query and again by the episode's (which finds
# the entities a new episode mentions, for their rewritten summaries); the same row is sent
# once. Two one-shot runs (no memory across them) over the same window, a long overlap
# keeping it still: the second writes the first's rows again, and the 3 new items.
once() { SYNC_OVERLAP_SECONDS=3600 "$BIN" incremental | sed 's/.*"upserted":\([0-9]*\).*/\1/'; }
before=$(once)
X "CREATE (ep:Episodic {uuid:'once-ep', name:'e', group_id:'group_a', content:'c', source:'text', source_description:'', valid_at: datetime(), created_at: datetime()})
   -[:MENTIONS {uuid:'once-m', group_id:'group_a', created_at: datetime()}]->
   (:Entity {uuid:'once-ent', name:'once', group_id:'group_a', summary:'s', created_at: datetime()})"
after=$(once)
echo "   rows sent: $before, then $after"
[[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] || fail "no upserted count from incremental"
(( after - before == 3 )) || fail "3 new items should have been sent once each, not $((after - before)) rows"
expect "the new entity" "$FALKORDB_DATABASE" "MATCH (n:Entity {uuid:'once-ent'})<-[:MENTIONS]-(:Episodic {uuid:'once-ep'}) RETURN count(n)" 1

echo "== continuous: deletes of old items reach the cache beside the runs, no reconcile behind"
# serve leaves deletes to its delete-check thread (its own connections): the incremental runs
# report no delete check of their own, and the deletes arrive anyway.
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=0 LOG_LEVEL=INFO "$BIN" serve 2>"$work/serve2.log" &
serve_pid=$!
old_ent=$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n:Entity) WHERE NOT n.uuid STARTS WITH 'fresh-' RETURN n.uuid ORDER BY n.uuid LIMIT 1" | sed -n 2p)
old_rel=$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (a)-[r:RELATES_TO]->(b) WHERE a.uuid <> '$old_ent' AND b.uuid <> '$old_ent' RETURN r.uuid ORDER BY r.uuid LIMIT 1" | sed -n 2p)
[[ -n "$old_ent" && -n "$old_rel" ]] || fail "no old entity or relationship to delete"
X "MATCH (n:Entity {uuid:'$old_ent'}) DETACH DELETE n" "MATCH ()-[r:RELATES_TO {uuid:'$old_rel'}]->() DELETE r"
deadline=$((SECONDS + 30))
until [[ "$(cache_count "$FALKORDB_DATABASE" "MATCH (n:Entity {uuid:'$old_ent'}) RETURN count(n)")" == 0 &&
         "$(cache_count "$FALKORDB_DATABASE" "MATCH ()-[r:RELATES_TO {uuid:'$old_rel'}]->() RETURN count(r)")" == 0 ]]; do
  (( SECONDS < deadline )) || { tail -20 "$work/serve2.log" >&2; fail "the deletes did not reach the cache within 30 s"; }
  sleep 0.2
done
echo "   entity $old_ent and relationship $old_rel gone from the cache after $((SECONDS - deadline + 30)) s"
# The check now remembers the cache's entity keys (a set read from the cache when the type
# first differed). A second delete is found through that memory; an old entity written into
# the cache behind falkorsync's back is not in it, yet goes too (the counts differ while no
# remembered range does: the keys are read again).
old_ent2=$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n:Entity) WHERE NOT n.uuid STARTS WITH 'fresh-' RETURN n.uuid ORDER BY n.uuid DESC LIMIT 1" | sed -n 2p)
X "MATCH (n:Entity {uuid:'$old_ent2'}) DETACH DELETE n"
R GRAPH.QUERY "$FALKORDB_DATABASE" "CREATE (:Entity {uuid:'behind-the-back', name:'x', group_id:'group_a', created_at:'2020-01-01T00:00:00.000000+00:00'})" >/dev/null
deadline=$((SECONDS + 30))
until [[ "$(cache_count "$FALKORDB_DATABASE" "MATCH (n:Entity) WHERE n.uuid IN ['$old_ent2', 'behind-the-back'] RETURN count(n)")" == 0 ]]; do
  (( SECONDS < deadline )) || { tail -20 "$work/serve2.log" >&2; fail "a second delete or the extra written behind the check's back stayed in the cache"; }
  sleep 0.2
done
echo "   a second deleted entity and an extra written into the cache directly: gone"
# the check logs once it has closed its connections, a moment after the deletes landed
deadline=$((SECONDS + 10))
until grep -q '"msg":"delete check applied"' "$work/serve2.log"; do
  (( SECONDS < deadline )) || fail "no delete check reported what it applied"
  sleep 0.2
done
inc2=$(grep '"msg":"sync completed"' "$work/serve2.log" | grep '"mode":"incremental"' || true)
[[ -n "$inc2" ]] || fail "no incremental run while the deletes arrived"
if grep -o '"delete_check_ms":[0-9]*' <<<"$inc2" | grep -qv ':0$'; then
  fail "an incremental run of serve checked deletes itself"
fi
kill -TERM "$serve_pid"; wait "$serve_pid" || true
serve_pid=""
# under the sanitizer build: the deleter thread and its memory leave no report behind
if grep -q "Sanitizer" "$work/serve2.log"; then grep -A20 "Sanitizer" "$work/serve2.log" >&2; fail "serve: a sanitizer report"; fi
"$BIN" verify >"$work/v9.txt" 2>&1 || { cat "$work/v9.txt" >&2; fail "not in sync after the deletes"; }

echo "== continuous, per_group: a new group arrives, a deleted group's graph goes (the group list kept across runs)"
export FALKORDB_LAYOUT=per_group
"$GEN" --clear --entities 100 --groups 2 --dim 0 --seed 11 >/dev/null
"$BIN" full >/dev/null
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=0 LOG_LEVEL=INFO "$BIN" serve 2>"$work/serve3.log" &
serve_pid=$!
X "CREATE (:Entity {uuid:'new-group-entity', name:'n', group_id:'group_new', summary:'', created_at: datetime()})"
deadline=$((SECONDS + 30))
until [[ "$(cache_count group_new "MATCH (n:Entity {uuid:'new-group-entity'}) RETURN count(n)")" == 1 ]]; do
  (( SECONDS < deadline )) || { tail -20 "$work/serve3.log" >&2; fail "the new group's entity did not reach graph group_new"; }
  sleep 0.2
done
echo "   new group: its graph holds the entity"
# runs look only at groups where something happened: a change in group_a is one
sleep 2
X "CREATE (:Entity {uuid:'group-a-later', name:'n', group_id:'group_a', summary:'', created_at: datetime()})"
deadline=$((SECONDS + 30))
until [[ "$(cache_count group_a "MATCH (n:Entity {uuid:'group-a-later'}) RETURN count(n)")" == 1 ]]; do
  (( SECONDS < deadline )) || { tail -20 "$work/serve3.log" >&2; fail "a change in group_a did not reach its graph"; }
  sleep 0.2
done
echo "   a later change in group_a: arrived"
X "MATCH (n) WHERE n.group_id = 'group_b' DETACH DELETE n"
deadline=$((SECONDS + 30))
until [[ "$(R EXISTS group_b)" == 0 ]]; do
  (( SECONDS < deadline )) || { tail -20 "$work/serve3.log" >&2; fail "graph group_b stayed after its group was deleted"; }
  sleep 0.2
done
echo "   deleted group: graph group_b gone"
kill -TERM "$serve_pid"; wait "$serve_pid" || true
serve_pid=""
if grep -q "Sanitizer" "$work/serve3.log"; then grep -A20 "Sanitizer" "$work/serve3.log" >&2; fail "serve: a sanitizer report"; fi
"$BIN" verify >"$work/v10.txt" 2>&1 || { cat "$work/v10.txt" >&2; fail "per_group: not in sync"; }
echo PASS
