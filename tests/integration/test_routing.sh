#!/usr/bin/env bash
# Neo4j cluster routing (issue 16): neo4j:// asks for a routing table (Bolt ROUTE) and reads from
# a reader it lists. (a) The single-member table of the real Neo4j Community: full, then verify
# finds 0 differences. (b) A cluster played by tests/tools/route_relay.py in front of the same
# Neo4j (one router, three readers): reads go to the first reader; with that reader killed the
# next run fails over to the next one; a reader that accepts and never answers costs one connect
# timeout (not the read timeout), then the run reads from the router; with every member of the table down the run ends
# with a clear error naming each member, never a hang. (c) The seed of a 3-member table dies
# under a running `serve`: its runs go on through the other members (the process keeps the last
# table; past its ttl the other members give a new one), and a change still reaches the cache.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
GEN="$(dirname "$BIN")/falkorsync-gen"
RELAY="$ROOT/tests/tools/route_relay.py"
export FALKORDB_DATABASE="itest_routing_$$" FALKORDB_LAYOUT=single SYNC_ENABLE_CONTINUOUS=false
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
NEO4J_DIRECT="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
NPORT="${NEO4J_DIRECT##*:}"
export NEO4J_URI="$NEO4J_DIRECT"
FDB_PORT="${FALKORDB_PORT:-6379}"
R() { redis-cli -p "$FDB_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k" >/dev/null; else R DEL "$k" >/dev/null; fi
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# run NAME CMD...: must end within 45 s (a wedged run is killed and fails the test)
run() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  timeout -s KILL 45 "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  [[ $rc -ne 137 ]] || { tail -5 "$work/$name.err" >&2; fail "$name: still running after 45 s (a hang)"; }
  echo "$name: exit $rc after $((SECONDS - t0)) s"
  grep -h '"Neo4j \(routing\|member\|router\)' "$work/$name.err" | sed 's/^{"ts":"[^"]*",/  /' || true
  last_rc=$rc
}
must_pass() { [[ $last_rc -eq 0 ]] || { tail -5 "$work/$1.err" >&2; fail "$1: exit $last_rc, want 0"; }; }
chosen() { # chosen NAME: the member the run read from, as its log says
  sed -n 's/.*"msg":"Neo4j member chosen for reads","member":"\([^"]*\)".*/\1/p' "$work/$1.err" | tail -1
}
accepts() { grep -c ' accept$' "$work/relay-$1.log" || true; }

"$GEN" --clear --entities 60 --groups 2 --dim 8 >/dev/null 2>&1 || fail "cannot write the test graph to Neo4j"

echo "== (a) the single-member table of Neo4j Community"
run a-full env NEO4J_URI="neo4j://127.0.0.1:$NPORT" "$BIN" full
must_pass a-full
grep -q '"Neo4j routing table received"' "$work/a-full.err" \
  || fail "a-full: no routing table was asked for (neo4j:// connected directly)"
[[ "$(chosen a-full)" == "127.0.0.1:$NPORT" ]] || fail "a-full: read from '$(chosen a-full)', want the single member"
run a-verify env NEO4J_URI="neo4j://127.0.0.1:$NPORT" "$BIN" verify
must_pass a-verify

ROUTER=$(free_port); A=$(free_port); B=$(free_port); C=$(free_port); S=$(free_port); DEAD=$(free_port)
echo "== (b) a cluster of relays: router $ROUTER, readers $A $B $C"
table() { # table ROUTERS READERS (comma-separated ports)
  python3 - "$1" "$2" >"$work/table.tmp" <<'EOF'
import json, sys
addr = lambda s: [f"127.0.0.1:{p}" for p in s.split(",") if p]
print(json.dumps({"ttl": 300, "routers": addr(sys.argv[1]), "readers": addr(sys.argv[2]),
                  "writers": addr(sys.argv[1])}))
EOF
  mv "$work/table.tmp" "$work/table.json"
}
table "$ROUTER" "$A,$B,$C"
start_relay() { # start_relay PORT [--silent]
  python3 "$RELAY" "$1" 127.0.0.1 "$NPORT" "$work/table.json" --delay-file "$work/delay-$1" "${@:2}" \
    >"$work/relay-$1.log" 2>&1 &
  pid[$1]=$!
}
for p in "$ROUTER" "$A" "$B" "$C"; do start_relay "$p"; done
start_relay "$S" --silent
for p in "$ROUTER" "$A" "$B" "$C" "$S"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
VIA=(env NEO4J_URI="neo4j://127.0.0.1:$ROUTER")

run b-full "${VIA[@]}" "$BIN" full
must_pass b-full
[[ "$(chosen b-full)" == "127.0.0.1:$A" ]] || fail "b-full: read from '$(chosen b-full)', want the first reader $A"
[[ "$(accepts "$A")" -ge 1 ]] || fail "b-full: reader $A saw no connection"
grep -q ' route ' "$work/relay-$ROUTER.log" || fail "b-full: the router relay answered no ROUTE"

echo "== a change in Neo4j; reader $A killed in the middle of a full sync; the next run fails over to $B"
"$GEN" --entities 0 --exec "CREATE (:Entity {uuid: 'routing-change-1', name: 'after failover', group_id: 'group_a', summary: 'x', created_at: datetime(), labels: ['Entity']})" >/dev/null 2>&1 \
  || fail "cannot write the change to Neo4j"
echo 400 >"$work/delay-$A" # A answers slowly now: the full sync below is still reading when A dies
before_a=$(accepts "$A")
( run b-cut "${VIA[@]}" "$BIN" full; echo "$last_rc" >"$work/b-cut.rc" ) &
cut_job=$!
for _ in $(seq 1 100); do [[ "$(accepts "$A")" -gt "$before_a" ]] && break; sleep 0.1; done
sleep 2
kill "${pid[$A]}"; unset "pid[$A]"
wait "$cut_job" || true
[[ "$(cat "$work/b-cut.rc")" == 1 ]] || fail "b-cut: exit $(cat "$work/b-cut.rc"), want 1 (the reader died under it)"
cut_msg=$(cat "$work/b-cut.err" "$work/b-cut.out" | grep -v '^{' | grep -i 'failed' | tail -1)
echo "  $cut_msg"
[[ "$cut_msg" == *"Neo4j"* ]] || fail "b-cut: the error does not say that Neo4j went away"
[[ "$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n {uuid: 'routing-change-1'}) RETURN count(n)" | sed -n 2p)" == 0 ]] \
  || fail "b-cut: the interrupted run swapped in a graph (it should have stopped before the swap)"
before_b=$(accepts "$B")
run b-failover "${VIA[@]}" "$BIN" incremental
must_pass b-failover
grep -q "\"Neo4j member unreachable, trying the next\",\"member\":\"127.0.0.1:$A\"" "$work/b-failover.err" \
  || fail "b-failover: the dead reader $A was not tried (or not reported)"
[[ "$(chosen b-failover)" == "127.0.0.1:$B" ]] || fail "b-failover: read from '$(chosen b-failover)', want $B"
[[ "$(accepts "$B")" -gt "$before_b" ]] || fail "b-failover: reader $B saw no connection"
run b-verify "${VIA[@]}" "$BIN" verify
must_pass b-verify
[[ "$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n {uuid: 'routing-change-1'}) RETURN count(n)" | sed -n 2p)" == 1 ]] \
  || fail "b-verify: the change made after the failover is not in the cache"

echo "== a reader that accepts and never answers: one connect timeout (not the 300 s read timeout), then the router serves the reads"
table "$ROUTER" "$S"
run b-silent "${VIA[@]}" NEO4J_CONNECT_TIMEOUT=2 "$BIN" verify
must_pass b-silent
grep -q "\"member\":\"127.0.0.1:$S\".*timed out" "$work/b-silent.err" || fail "b-silent: the silent reader did not time out"
[[ "$(chosen b-silent)" == "127.0.0.1:$ROUTER" ]] || fail "b-silent: read from '$(chosen b-silent)', want the router"

echo "== every member of the table down: a clear error naming each, no hang"
kill "${pid[$B]}" "${pid[$C]}"; wait "${pid[$B]}" "${pid[$C]}" 2>/dev/null || true; unset "pid[$B]" "pid[$C]"
table "$DEAD" "$A,$B,$C"
run b-down "${VIA[@]}" "$BIN" verify
[[ $last_rc -ne 0 ]] || fail "b-down: exit 0 with every reader down"
msg=$(cat "$work/b-down.err" "$work/b-down.out" | grep -v '^{' | grep 'failed' | tail -1)
echo "  $msg"
[[ "$msg" == *"no Neo4j cluster member answered for reads"* ]] || fail "b-down: the error does not say that no member answered"
for p in "$A" "$B" "$C" "$DEAD"; do
  [[ "$msg" == *"127.0.0.1:$p"* ]] || fail "b-down: the error does not name member $p"
done
echo "== (c) the seed goes down: serve goes on reading through the other members of its last table"
SEED=$(free_port); M1=$(free_port); M2=$(free_port)
python3 -c 'import json, sys
a = [f"127.0.0.1:{p}" for p in sys.argv[1:]]
print(json.dumps({"ttl": 2, "routers": a, "readers": a[1:], "writers": a[:1]}))' "$SEED" "$M1" "$M2" >"$work/table-c.json"
for p in "$SEED" "$M1" "$M2"; do
  python3 "$RELAY" "$p" 127.0.0.1 "$NPORT" "$work/table-c.json" >"$work/relay-$p.log" 2>&1 &
  pid[$p]=$!
done
for p in "$SEED" "$M1" "$M2"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
HP=$(free_port); MP=$(free_port)
NEO4J_URI="neo4j://127.0.0.1:$SEED" SYNC_ENABLE_CONTINUOUS=true SYNC_INTERVAL_SECONDS=1 \
  SYNC_RECONCILE_EVERY=0 SYNC_RETRY_DELAY_SECONDS=1 SYNC_RETRY_MAX_DELAY_SECONDS=2 \
  SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP LOG_LEVEL=INFO "$BIN" serve 2>"$work/c-serve.log" &
pid[serve]=$!
ok_runs() { grep -c '"msg":"sync completed"' "$1" || true; }
for _ in $(seq 1 300); do [[ "$(ok_runs "$work/c-serve.log")" -ge 2 ]] && break; sleep 0.1; done
[[ "$(ok_runs "$work/c-serve.log")" -ge 2 ]] ||
  { tail -5 "$work/c-serve.log" >&2; fail "c: serve did not complete two runs through the seed $SEED"; }
kill "${pid[$SEED]}"; wait "${pid[$SEED]}" 2>/dev/null || true; unset "pid[$SEED]"
lines=$(wc -l <"$work/c-serve.log")
echo "   seed $SEED killed after $(ok_runs "$work/c-serve.log") runs through it; table ttl 2 s"
sleep 3 # past the table's ttl: the next runs must ask the other members for a new one
"$GEN" --entities 0 --exec "CREATE (:Entity {uuid: 'routing-seed-down', name: 'seed down', group_id: 'group_a', summary: 'x', created_at: datetime(), labels: ['Entity']})" >/dev/null 2>&1 \
  || fail "cannot write the change to Neo4j"
seen=0
for _ in $(seq 1 150); do
  [[ "$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n {uuid: 'routing-seed-down'}) RETURN count(n)" | sed -n 2p)" == 1 ]] && { seen=1; break; }
  sleep 0.1
done
sleep 2 # a few more runs (and health checks, every 2 s)
neo4j_ok=$(curl -s "http://127.0.0.1:$HP/health" | jq -r .checks.neo4j.ok)
echo "   /health says Neo4j ok: $neo4j_ok"
tail -n +"$((lines + 1))" "$work/c-serve.log" >"$work/c-after.log"
after_ok=$(ok_runs "$work/c-after.log")
after_fail=$(grep -c '"msg":"sync failed' "$work/c-after.log" || true)
echo "   after the seed died: $after_ok runs completed, $after_fail failed"
grep -h '"Neo4j routing table received"' "$work/c-after.log" | sed 's/^{"ts":"[^"]*",/  /' | head -2 || true
grep -h '"msg":"sync failed' "$work/c-after.log" | sed 's/^{"ts":"[^"]*",/  /' | head -1 || true
kill "${pid[serve]}"; wait "${pid[serve]}" 2>/dev/null || true; unset "pid[serve]"
[[ $seen == 1 ]] || fail "c: a change made after the seed died did not reach the cache"
[[ $after_fail == 0 ]] || fail "c: $after_fail runs failed after the seed died"
[[ $neo4j_ok == true ]] || fail "c: /health reports Neo4j down while the other members answer"
grep -q "\"Neo4j routing table received\".*\"member\":\"127.0.0.1:\($M1\|$M2\)\"" "$work/c-after.log" \
  || fail "c: no new table came from another member once the old one was past its ttl"
echo "PASS"
