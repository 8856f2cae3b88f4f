#!/usr/bin/env bash
# One writer per cache (issue 16): the writer lease and its fencing.
# - two one-shot full syncs at once: one runs, the other refuses naming it (no "empty key");
# - two `serve`: one active, one standby (health, status, metrics say which); a one-shot
#   `full` is refused naming the serve, `--force` runs with a warning;
# - kill -9 of the active: the standby takes over and syncs a change;
# - SIGSTOP of the active: the standby takes over; SIGCONT: the old one writes nothing, goes
#   standby; a clean stop releases the lease (the standby takes over at once);
# - a paused one-shot full whose lease was taken over writes nothing after SIGCONT
#   (FalkorDB's own command counters) and the cache verifies at 0;
# - the same in a 3-node Redis Cluster (per_group layout), paused while it holds writer
#   connections to two or more nodes and builds a graph on a node other than the lease key's:
#   0 write commands on any node after SIGCONT (scripts/servers.sh cluster-start, ports
#   FALKORDB_CLUSTER_PORTS; started and stopped here when not running); and again with the node
#   the old one writes to stopped (SIGSTOP of its redis-server) during the takeover: the new
#   holder sweeps that node when its run first connects there.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_lease_$$" FALKORDB_LAYOUT=single
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
TTL=4 RENEW=1
export SYNC_LEASE_TTL_SECONDS=$TTL SYNC_LEASE_RENEW_SECONDS=$RENEW SYNC_INTERVAL_SECONDS=1
export SYNC_RECONCILE_EVERY=0 SYNC_RETRY_DELAY_SECONDS=1 SYNC_RETRY_MAX_DELAY_SECONDS=2
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
LEASE="falkorsync:lease:{$FALKORDB_DATABASE}"
work=$(mktemp -d)
declare -A pid hp mp
cleanup() {
  for n in "${!pid[@]}"; do kill -CONT "${pid[$n]}" 2>/dev/null || true; kill -9 "${pid[$n]}" 2>/dev/null || true; done
  for g in $(R GRAPH.LIST 2>/dev/null | grep -F "$FALKORDB_DATABASE" || true); do
    R GRAPH.DELETE "$g" >/dev/null 2>&1 || true
  done
  for k in $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do R DEL "$k" >/dev/null; done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s.%N; }
status() { curl -s "http://127.0.0.1:${hp[$1]}/api/sync/status"; }
role() { status "$1" | jq -r '.role // "down"' 2>/dev/null || echo down; }
start_serve() { # NAME: a serve with its own ports and log
  hp[$1]=$(free_port); mp[$1]=$(free_port)
  SYNC_HEALTH_PORT=${hp[$1]} SYNC_METRICS_PORT=${mp[$1]} LOG_LEVEL=INFO \
    "$BIN" serve 2>"$work/$1.log" &
  pid[$1]=$!
}
wait_role() { # NAME ROLE SECONDS
  local end; end=$(echo "$(now) + $3" | bc)
  while (( $(echo "$(now) < $end" | bc) )); do
    [[ "$(role "$1")" == "$2" ]] && return 0
    sleep 0.1
  done
  fail "$1 is $(role "$1"), not $2, after $3 s: $(tail -3 "$work/$1.log")"
}
in_cache() { R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n:Entity {uuid:'$1'}) RETURN count(n)" | sed -n 2p; }
wait_cache() { # UUID SECONDS
  for _ in $(seq 1 $(($2 * 10))); do [[ "$(in_cache "$1")" == 1 ]] && return 0; sleep 0.1; done
  fail "$1 did not reach the cache within $2 s"
}
marker() {
  "$GEN" --exec "CREATE (:Entity {uuid:'$1', name:'$1', group_id:'group_a', summary:'m', created_at: datetime()})" >/dev/null
}
# Every command that changes data, counted by FalkorDB itself (INFO commandstats).
writes() {
  R INFO commandstats | tr -d '\r' | awk -F'[:=,]' '
    tolower($1) ~ /^cmdstat_(graph\.query|graph\.bulk|graph\.delete|set|del|unlink|hset|hdel|sadd|srem|rename|exec)$/ { n += $3 }
    END { print n + 0 }'
}
# Tolerance of the time bounds below: this 2-core machine runs other builds and tests.
SLACK=6

"$GEN" --clear --entities 300 --groups 2 --dim 0 --seed 16 >/dev/null 2>&1

echo "== two one-shot full syncs at once: one writes, the other refuses and names it"
SYNC_BATCH_SIZE=100 "$BIN" full >"$work/f1.out" 2>"$work/f1.err" & p1=$!
SYNC_BATCH_SIZE=100 "$BIN" full >"$work/f2.out" 2>"$work/f2.err" & p2=$!
r1=0; wait $p1 || r1=$?
r2=0; wait $p2 || r2=$?
cat "$work/f1.err" "$work/f2.err"
! grep -qi 'empty key' "$work/f1.err" "$work/f2.err" || fail "a concurrent full failed with 'empty key'"
(( (r1 == 0) + (r2 == 0) == 1 )) || fail "want exactly one full to run, got exit codes $r1 and $r2"
grep -q "refused.*being written by another falkorsync: full on " "$work/f1.err" "$work/f2.err" ||
  fail "the refused full does not name the holder"
"$BIN" verify >/dev/null || fail "the cache differs after the one full that ran"

echo "== two serve: one active, one standby"
start_serve A
wait_role A active 20
start_serve B
wait_role B standby 10
A_holder=$(status A | jq -r .lease.holder)
[[ "$A_holder" == *":${pid[A]}:"* ]] || fail "A's lease holder '$A_holder' does not name its pid ${pid[A]}"
[[ "$(status B | jq -r .lease.holder)" == "$A_holder" ]] || fail "B does not name A as the holder"
[[ "$(status B | jq -r .lease.token)" == "$(status A | jq -r .lease.token)" ]] || fail "tokens differ"
code=$(curl -s -o "$work/ready" -w '%{http_code}' "http://127.0.0.1:${hp[B]}/health/ready")
[[ $code == 200 && "$(jq -r .role "$work/ready")" == standby ]] || fail "standby /health/ready: $code $(cat "$work/ready")"
[[ "$(curl -s "http://127.0.0.1:${hp[B]}/health" | jq -r .role)" == standby ]] || fail "/health role"
# (the page is read whole first: `curl | grep -q` fails under pipefail when grep quits early)
metrics_b=$(curl -s "http://127.0.0.1:${mp[B]}/metrics")
metrics_a=$(curl -s "http://127.0.0.1:${mp[A]}/metrics")
grep -qx 'falkorsync_lease_active 0' <<<"$metrics_b" || fail "B's metric"
grep -qx 'falkorsync_lease_active 1' <<<"$metrics_a" || fail "A's metric"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${hp[B]}/api/sync/incremental")
[[ $code == 409 ]] || fail "a run asked of the standby: $code, want 409"

echo "== one-shot commands while serve holds the lease: refused naming it; --force runs, warned"
for cmd in full incremental reconcile; do
  rc=0; "$BIN" $cmd >/dev/null 2>"$work/oneshot.err" || rc=$?
  cat "$work/oneshot.err"
  [[ $rc -ne 0 ]] || fail "$cmd ran while serve held the lease"
  grep -q "serve on $A_holder" "$work/oneshot.err" || fail "$cmd's refusal does not name the serve"
done
"$BIN" verify >/dev/null || fail "verify (read only) must run beside serve"
rc=0; "$BIN" full --force >/dev/null 2>"$work/force.err" || rc=$?
cat "$work/force.err"
[[ $rc -eq 0 ]] || fail "full --force exited $rc"
grep -q '"level":"WARNING","msg":"lease taken over from its holder"' "$work/force.err" ||
  fail "--force was not logged as a warning"
grep -q "$A_holder" "$work/force.err" || fail "the --force warning does not name the previous holder"
# A notices at its next renewal or write, whichever comes first (a fast full may be over first)
for _ in $(seq 1 100); do grep -q '"msg":"lease lost' "$work/A.log" && break; sleep 0.1; done
grep -q '"msg":"lease lost' "$work/A.log" || fail "A did not notice that it lost the lease"
# after the one-shot released it, one of the two serves takes it again
for _ in $(seq 1 $(((TTL + SLACK) * 10))); do
  [[ "$(role A)$(role B)" == activestandby || "$(role A)$(role B)" == standbyactive ]] && break
  sleep 0.1
done
[[ "$(role A)$(role B)" == activestandby || "$(role A)$(role B)" == standbyactive ]] ||
  fail "after --force: A is $(role A), B is $(role B)"
if [[ "$(role A)" == active ]]; then act=A sb=B; else act=B sb=A; fi

echo "== kill -9 of the active ($act): $sb takes over within TTL + one interval and syncs a change"
t0=$(now)
kill -9 "${pid[$act]}"; wait "${pid[$act]}" 2>/dev/null || true; unset "pid[$act]"
marker lease-marker-1
wait_role $sb active $((TTL + RENEW + SLACK))
took=$(echo "$(now) - $t0" | bc)
wait_cache lease-marker-1 20
echo "   $sb active $took s after the kill (TTL $TTL s, renew $RENEW s)"

echo "== SIGSTOP of the active ($sb): a new standby C takes over; SIGCONT: $sb writes nothing"
start_serve C
wait_role C standby 10
old_token=$(status $sb | jq -r .lease.token)
kill -STOP "${pid[$sb]}"
wait_role C active $((TTL + RENEW + SLACK))
marker lease-marker-2
wait_cache lease-marker-2 20
lines=$(wc -l <"$work/$sb.log")
kill -CONT "${pid[$sb]}"
wait_role $sb standby $((RENEW + SLACK))
sleep 1
tail -n +"$((lines + 1))" "$work/$sb.log" >"$work/woke.log"
grep -q '"msg":"lease lost' "$work/woke.log" || fail "$sb did not say it lost the lease"
! grep -q '"msg":"sync completed"' "$work/woke.log" || fail "$sb completed a sync after waking up"
! R CLIENT LIST | grep -q "name=falkorsync-writer:$FALKORDB_DATABASE:$old_token " ||
  fail "a writer connection of the old token is still open"
[[ "$(status C | jq -r .lease.token)" -gt "$old_token" ]] || fail "the fencing token did not grow"
"$BIN" verify >/dev/null || fail "the cache differs after the takeover"

echo "== a clean stop releases the lease: the standby takes over within one interval"
t0=$(now)
kill -TERM "${pid[C]}"; wait "${pid[C]}" || fail "C did not stop cleanly"; unset "pid[C]"
wait_role $sb active $((RENEW + SLACK))
echo "   $sb active $(echo "$(now) - $t0" | bc) s after C stopped"
kill -TERM "${pid[$sb]}"; wait "${pid[$sb]}" || fail "$sb did not stop cleanly"; unset "pid[$sb]"
[[ "$(R EXISTS "$LEASE")" == 0 ]] || fail "the lease outlived a clean stop"

echo "== a paused one-shot full that lost its lease writes nothing when it wakes up"
R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null
SYNC_BATCH_SIZE=2 SYNC_PIPELINE_DEPTH=1 SYNC_FULL_METHOD=query "$BIN" full >/dev/null 2>"$work/paused.err" &
pid[P]=$!
for _ in $(seq 1 300); do
  R CLIENT LIST | grep -q "name=falkorsync-writer:$FALKORDB_DATABASE:" &&
    [[ -n "$(R --scan --pattern "*${FALKORDB_DATABASE}*" | grep -i ckpt || true)" ]] && break
  kill -0 "${pid[P]}" 2>/dev/null || fail "the full to pause ended first: $(cat "$work/paused.err")"
  sleep 0.05
done
kill -STOP "${pid[P]}"
sleep $((TTL + 1))
"$BIN" full >/dev/null 2>"$work/new.err" || fail "the new full failed: $(cat "$work/new.err")"
before=$(writes)
kill -CONT "${pid[P]}"
rc=0; wait "${pid[P]}" || rc=$?; unset "pid[P]"
after=$(writes)
cat "$work/paused.err"
echo "   FalkorDB write commands while the old full ran on: $((after - before))"
[[ $rc -ne 0 ]] || fail "the paused full reported success after losing its lease"
[[ $after -eq $before ]] || fail "the paused full wrote $((after - before)) commands after it lost the lease"
grep -q "lost the cache's writer lease" "$work/paused.err" || fail "the paused full does not say why it stopped"
"$BIN" verify >/dev/null || fail "the cache differs after the paused full woke up"

echo "== Redis Cluster: a paused full with writers on several nodes writes nothing on any node"
read -r -a CPORTS <<<"${FALKORDB_CLUSTER_PORTS:-7000 7001 7002}"
C() { local p=$1; shift; redis-cli -p "$p" "$@"; }
cluster_started=0
cluster_cleanup() {
  [[ ! -f "$work/stopped-node.pid" ]] || kill -CONT "$(cat "$work/stopped-node.pid")" 2>/dev/null || true
  for p in "${CPORTS[@]}"; do
    for g in group_a group_b default_db; do C "$p" GRAPH.DELETE "$g" >/dev/null 2>&1 || true; done
    for g in $(C "$p" GRAPH.LIST 2>/dev/null | grep falkorsync_ || true); do C "$p" GRAPH.DELETE "$g" >/dev/null 2>&1 || true; done
    for k in $(C "$p" --scan --pattern "*falkorsync*" 2>/dev/null | grep -E "group_a|group_b|default_db|itest_lease_$$" || true); do
      C "$p" DEL "$k" >/dev/null 2>&1 || true
    done
  done
  [[ $cluster_started == 0 ]] || FALKORDB_CLUSTER_PORTS="${CPORTS[*]}" "$ROOT/scripts/servers.sh" cluster-stop >/dev/null 2>&1 || true
}
trap 'cluster_cleanup; cleanup' EXIT
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
if ! C "${CPORTS[0]}" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok'; then
  cluster_started=1
  FALKORDB_CLUSTER_PORTS="${CPORTS[*]}" "$ROOT/scripts/servers.sh" cluster-start
fi
cluster_cleanup_keys() { local s=$cluster_started; cluster_started=0; cluster_cleanup; cluster_started=$s; }
cluster_cleanup_keys
# Every command that changes data, on every node.
cwrites() { local n=0 p; for p in "${CPORTS[@]}"; do n=$((n + $(FALKORDB_PORT=$p writes))); done; echo $n; }
slot_node() { # the port of the primary owning the slot of key $1 (another node answers MOVED)
  local r; r=$(C "${CPORTS[0]}" GET "$1" 2>&1 || true)
  if [[ "$r" == MOVED* ]]; then echo "${r##*:}"; else echo "${CPORTS[0]}"; fi
}
(
  export FALKORDB_CLUSTER=true FALKORDB_HOST=127.0.0.1 FALKORDB_PORT="${CPORTS[1]}" FALKORDB_LAYOUT=per_group
  "$GEN" --clear --entities 600 --groups 3 --dim 0 --seed 17 >/dev/null 2>&1
  # a cache name whose lease key lives on another node than graph group_a (whatever earlier
  # tests did to the slot map), so that a graph is built off the lease key's node
  ga_node=$(slot_node group_a)
  for k in $(seq 0 60); do
    export FALKORDB_DATABASE="itest_lease_$$_c$k"
    LEASE="falkorsync:lease:{$FALKORDB_DATABASE}"
    [[ "$(slot_node "$LEASE")" != "$ga_node" ]] && break
  done
  lease_node=$(slot_node "$LEASE")
  echo "   the lease key lives on $lease_node"
  SYNC_BATCH_SIZE=2 SYNC_PIPELINE_DEPTH=1 SYNC_FULL_METHOD=query "$BIN" full >/dev/null 2>"$work/cpaused.err" &
  echo $! >"$work/cpaused.pid"
  cp=$(cat "$work/cpaused.pid")
  building="" writer_nodes=0
  for _ in $(seq 1 400); do
    kill -0 "$cp" 2>/dev/null || fail "the cluster full to pause ended first: $(cat "$work/cpaused.err")"
    building=""
    for p in "${CPORTS[@]}"; do
      [[ $p == "$lease_node" ]] && continue
      [[ -n "$(C "$p" --scan --pattern '*__falkorsync_shadow' 2>/dev/null)" ]] && building=$p
    done
    writer_nodes=0
    for p in "${CPORTS[@]}"; do
      C "$p" CLIENT LIST | grep -q "name=falkorsync-writer:$FALKORDB_DATABASE:" && writer_nodes=$((writer_nodes + 1))
    done
    [[ -n "$building" && $writer_nodes -ge 2 ]] && break
    sleep 0.05
  done
  kill -STOP "$cp"
  old_token=$(C "$lease_node" GET "$LEASE" | jq -r .token)
  [[ -n "$building" && $writer_nodes -ge 2 ]] || { kill -9 "$cp"; fail "the full never built a graph off the lease's node $lease_node"; }
  echo "   paused while building a graph on $building, with writer connections on $writer_nodes nodes"
  sleep $((TTL + 1))
  "$BIN" full >/dev/null 2>"$work/cnew.err" || { kill -9 "$cp"; fail "the new cluster full failed: $(grep -v '^{' "$work/cnew.err" | tail -3)"; }
  left=0
  for p in "${CPORTS[@]}"; do
    n=$(C "$p" CLIENT LIST | grep -c "name=falkorsync-writer:$FALKORDB_DATABASE:$old_token " || true)
    left=$((left + n))
  done
  echo "   writer connections of the old holder (token $old_token) still open after the takeover: $left"
  before=$(cwrites)
  kill -CONT "$cp"
  rc=0; wait "$cp" || rc=$?
  after=$(cwrites)
  grep -v '^{' "$work/cpaused.err" | tail -2
  echo "   FalkorDB write commands, all nodes, while the old full ran on: $((after - before))"
  [[ $after -eq $before ]] || fail "the paused cluster full wrote $((after - before)) commands after it lost the lease"
  [[ $left -eq 0 ]] || fail "the takeover left $left of the old holder's writer connections open"
  [[ $rc -ne 0 ]] || fail "the paused cluster full reported success after losing its lease"
  "$BIN" verify >/dev/null || fail "the cluster cache differs after the paused full woke up"
)

echo "== Redis Cluster: a node the takeover could not reach is swept before the new holder's first command there"
(
  ga_node=$(slot_node group_a)
  seed=""; for p in "${CPORTS[@]}"; do [[ $p != "$ga_node" ]] && { seed=$p; break; }; done
  export FALKORDB_CLUSTER=true FALKORDB_HOST=127.0.0.1 FALKORDB_PORT="$seed" FALKORDB_LAYOUT=per_group
  for k in $(seq 0 60); do # the lease key off group_a's node: that node is neither seed nor lease node
    export FALKORDB_DATABASE="itest_lease_$$_d$k"
    LEASE="falkorsync:lease:{$FALKORDB_DATABASE}"
    [[ "$(slot_node "$LEASE")" != "$ga_node" ]] && break
  done
  SYNC_BATCH_SIZE=2 SYNC_PIPELINE_DEPTH=1 SYNC_FULL_METHOD=query "$BIN" full >/dev/null 2>"$work/dpaused.err" &
  dp=$!
  for _ in $(seq 1 400); do
    [[ "$(C "$ga_node" EXISTS '{group_a}__falkorsync_shadow')" == 1 ]] && break
    kill -0 "$dp" 2>/dev/null || fail "the full to pause ended first: $(cat "$work/dpaused.err")"
    sleep 0.05
  done
  kill -STOP "$dp"
  [[ "$(C "$ga_node" EXISTS '{group_a}__falkorsync_shadow')" == 1 ]] || { kill -9 "$dp"; fail "the full never built group_a"; }
  old_token=$(C "$(slot_node "$LEASE")" GET "$LEASE" | jq -r .token)
  sleep $((TTL + 1))
  # node ga_node does not answer while the new holder takes the lease over
  node_pid=$(C "$ga_node" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
  echo "$node_pid" >"$work/stopped-node.pid"
  kill -STOP "$node_pid"
  FALKORDB_READ_TIMEOUT=2 "$BIN" full >/dev/null 2>"$work/dnew.err" &
  np=$!
  for _ in $(seq 1 200); do grep -q 'cannot reach a FalkorDB node' "$work/dnew.err" && break; sleep 0.05; done
  kill -CONT "$node_pid"; rm -f "$work/stopped-node.pid"
  grep -q 'cannot reach a FalkorDB node' "$work/dnew.err" || { kill -9 "$dp"; fail "the takeover did not miss the stopped node $ga_node"; }
  echo "   the takeover could not reach $ga_node (stopped), where the old full was building group_a"
  rc=0; wait "$np" || rc=$?
  [[ $rc -eq 0 ]] || { kill -9 "$dp"; fail "the new full failed: $(grep -v '^{' "$work/dnew.err" | tail -3)"; }
  grep -o '"msg":"lease: swept a cluster node first used after the takeover"[^}]*' "$work/dnew.err" | sed 's/^/   /' || true
  left=0
  for p in "${CPORTS[@]}"; do
    n=$(C "$p" CLIENT LIST | grep -c "name=falkorsync-writer:$FALKORDB_DATABASE:$old_token " || true)
    left=$((left + n))
  done
  echo "   writer connections of the old holder still open after the new full: $left"
  before=$(cwrites)
  kill -CONT "$dp"
  rc=0; wait "$dp" || rc=$?
  after=$(cwrites)
  echo "   FalkorDB write commands, all nodes, while the old full ran on: $((after - before))"
  [[ $after -eq $before ]] || fail "the paused full wrote $((after - before)) commands after it lost the lease"
  [[ $left -eq 0 ]] || fail "$left of the old holder's writer connections were left open"
  [[ $rc -ne 0 ]] || fail "the paused full reported success after losing its lease"
  "$BIN" verify >/dev/null || fail "the cluster cache differs after the paused full woke up"
)
echo PASS
