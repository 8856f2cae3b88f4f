#!/usr/bin/env bash
# Faults between falkorsync and the real databases (issue 17), through tests/tools/fault_relay.py:
# a cut and a reset in the middle of a Bolt record stream, a cut in the middle of a GRAPH.BULK
# command and of a pipelined reply, a stall longer than the read timeout on each side, a reset
# just before and just after the MULTI/EXEC swap, and a stalled FalkorDB under `serve`. Each must
# end in a clear error or a retry within a bounded time (never a wedged process), leave the live
# graph whole (the previous one or the complete new one, never half), and after a recovery run
# `verify` finds 0 differences (no lost change). Every fault is checked to have happened.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
GEN="$(dirname "$BIN")/falkorsync-gen"
RELAY="$ROOT/tests/tools/fault_relay.py"
export FALKORDB_DATABASE="itest_faults_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
NEO4J_DIRECT="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
FDB_PORT="${FALKORDB_PORT:-6379}"
export NEO4J_URI="$NEO4J_DIRECT"
export SYNC_ENABLE_CONTINUOUS=false
R() { redis-cli -p "$FDB_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k" >/dev/null; else R DEL "$k" >/dev/null; fi
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

NP=$(free_port); FP=$(free_port)
python3 "$RELAY" "$NP" 127.0.0.1 "${NEO4J_DIRECT##*:}" "$work/neo4j.rule" >"$work/relay-neo4j.log" 2>&1 & pids+=($!)
python3 "$RELAY" "$FP" 127.0.0.1 "$FDB_PORT" "$work/falkordb.rule" >"$work/relay-falkordb.log" 2>&1 & pids+=($!)
for p in "$NP" "$FP"; do
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
VIA_NEO4J=(env NEO4J_URI="bolt://127.0.0.1:$NP")
VIA_FDB=(env FALKORDB_PORT="$FP")

live_nodes() { # nodes in the live graph ("none" when it does not exist)
  [[ "$(R EXISTS "$FALKORDB_DATABASE")" == 1 ]] || { echo none; return; }
  R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n) RETURN count(n)" | sed -n 2p
}
neo4j_nodes() { "$GEN" --entities 0 --count 2>/dev/null | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["all_nodes"])'; }
change=0
add_change() { # one new Entity in Neo4j, which the next successful run must carry
  change=$((change + 1))
  "$GEN" --entities 0 --exec "CREATE (:Entity {uuid: 'fault-change-$change', name: 'change $change', group_id: 'group_a', summary: 'x', created_at: datetime(), labels: ['Entity']})" >/dev/null 2>&1 \
    || fail "cannot write change $change to Neo4j"
}
set_rule() { # set_rule SIDE JSON
  rm -f "$work/$1.rule.hits"
  printf '%s\n' "$2" >"$work/$1.rule.tmp" && mv "$work/$1.rule.tmp" "$work/$1.rule"
}
hits() { [[ -f "$work/$1.rule.hits" ]] && wc -l <"$work/$1.rule.hits" || echo 0; }
clear_rules() { set_rule neo4j '{}'; set_rule falkordb '{}'; }

# run NAME SECONDS CMD...: the command must end by itself within SECONDS (a wedged one is killed)
run() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc=0
  timeout -s KILL "$limit" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  [[ $rc -ne 137 ]] || { tail -5 "$work/$name.err" >&2; fail "$name: still running after $limit s (wedged)"; }
  echo "$name: exit $rc after $((SECONDS - t0)) s: $(grep -v '^{' "$work/$name.err" | tail -1)"
  last_rc=$rc
}

# whole PREV: the live graph is the previous one or the complete new one, never something between
whole() {
  local now want; now=$(live_nodes); want=$(neo4j_nodes)
  [[ "$now" == "$1" || "$now" == "$want" ]] \
    || fail "half-visible graph: live has $now nodes; before the run $1, Neo4j $want"
}
recover_and_verify() { # a plain run with no fault, then verify: 0 differences
  clear_rules
  run "$1-recovery" 300 "$BIN" full
  [[ $last_rc -eq 0 ]] || { cat "$work/$1-recovery.err" >&2; fail "$1: the recovery run failed"; }
  run "$1-verify" 300 "$BIN" verify
  [[ $last_rc -eq 0 ]] || { cat "$work/$1-verify.out" >&2; fail "$1: verify after recovery found differences (a lost change)"; }
  [[ "$(live_nodes)" == "$(neo4j_nodes)" ]] || fail "$1: live graph and Neo4j differ after recovery"
  local k="${FALKORDB_DATABASE}__falkorsync_old"
  [[ "$(R EXISTS "$k")" == 0 ]] || fail "$1: $k is left behind after recovery (a whole graph's memory)"
}
expect_failure_or_retry() { # NAME SIDE WORD: failed clearly (naming WORD), or succeeded by retrying
  if [[ $last_rc -ne 0 ]]; then
    [[ $last_rc -eq 1 ]] || fail "$1: exit $last_rc, want 1"
    grep -qi -- "$3" "$work/$1.err" || { cat "$work/$1.err" >&2; fail "$1: the error does not say '$3'"; }
  fi
  [[ "$(hits "$2")" -ge 1 ]] || fail "$1: the fault never happened (relay log: $(tail -3 "$work/relay-$2.log"))"
}

echo "== a graph, synced"
"$GEN" --clear --entities "${FAULT_ENTITIES:-300}" --dim 32 >/dev/null 2>&1
clear_rules
run base 300 "$BIN" full
[[ $last_rc -eq 0 ]] || { cat "$work/base.err"; fail "the first full sync failed"; }

# scenario NAME SIDE RULE WORD WANT_RC TIMEOUT CMD...: a change in Neo4j, the fault RULE on
# SIDE's relay, then CMD; it exits WANT_RC ("any": failing clearly and succeeding by a retry
# both do), fails naming WORD or retried, leaves the live graph whole, and a plain run
# afterwards carries the change (verify 0).
scenario() {
  local name="$1" side="$2" rule="$3" word="$4" want="$5" timeout="$6"
  shift 6
  add_change; prev=$(live_nodes)
  set_rule "$side" "$rule"
  run "$name" "$timeout" "$@"
  [[ $want == any || $last_rc -eq $want ]] || fail "$name: exit $last_rc, want $want (a clear error)"
  expect_failure_or_retry "$name" "$side" "$word"
  whole "$prev"
  recover_and_verify "$name"
}

echo "== Neo4j: a cut in the middle of the Bolt record stream"
scenario bolt-cut neo4j '{"action": "cut", "direction": "down", "after_bytes": 40000}' neo4j 1 120 \
  "${VIA_NEO4J[@]}" "$BIN" full

echo "== Neo4j: a reset in the middle of the Bolt record stream"
scenario bolt-reset neo4j '{"action": "reset", "direction": "down", "after_bytes": 25000}' neo4j 1 120 \
  "${VIA_NEO4J[@]}" "$BIN" full

echo "== Neo4j: a stall longer than the read timeout"
scenario bolt-stall neo4j '{"action": "stall", "direction": "down", "after_bytes": 30000}' "timed out" 1 60 \
  "${VIA_NEO4J[@]}" NEO4J_READ_TIMEOUT=2 "$BIN" full

echo "== FalkorDB: a cut in the middle of a GRAPH.BULK command"
scenario bulk-cut falkordb '{"action": "cut", "direction": "up", "after_bytes": 60000}' falkordb any 120 \
  "${VIA_FDB[@]}" SYNC_FULL_METHOD=bulk "$BIN" full

echo "== FalkorDB: a cut in the middle of a pipelined reply"
scenario pipe-cut falkordb '{"action": "cut", "direction": "down", "after_bytes": 12000}' falkordb any 120 \
  "${VIA_FDB[@]}" SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=20 "$BIN" full

echo "== FalkorDB: a stall longer than the read timeout"
scenario fdb-stall falkordb '{"action": "stall", "direction": "down", "after_bytes": 1500}' "timed out" 1 60 \
  "${VIA_FDB[@]}" FALKORDB_READ_TIMEOUT=2 "$BIN" full

echo "== FalkorDB: a reset just before EXEC (the swap never happens)"
add_change; prev=$(live_nodes)
set_rule falkordb '{"action": "reset", "direction": "up", "pattern": "$4\r\nEXEC\r\n", "when": "before"}'
run exec-before 120 "${VIA_FDB[@]}" "$BIN" full
[[ $last_rc -eq 1 ]] || fail "exec-before: exit $last_rc, want 1"
expect_failure_or_retry exec-before falkordb "falkordb"
[[ "$(live_nodes)" == "$prev" ]] || fail "exec-before: the live graph changed although EXEC never arrived"
recover_and_verify exec-before

echo "== FalkorDB: a reset just after EXEC (the swap happened, its reply is lost)"
add_change; prev=$(live_nodes)
set_rule falkordb '{"action": "reset", "direction": "up", "pattern": "$4\r\nEXEC\r\n", "when": "after"}'
run exec-after 120 "${VIA_FDB[@]}" "$BIN" full
expect_failure_or_retry exec-after falkordb "falkordb"
whole "$prev"
clear_rules
run exec-after-incremental 300 "$BIN" incremental
[[ $last_rc -eq 0 ]] || fail "exec-after: the incremental run after the lost EXEC reply failed"
if [[ "$(R EXISTS "${FALKORDB_DATABASE}__falkorsync_old")" == 1 ]]; then
  echo "NOTICE: exec-after: ${FALKORDB_DATABASE}__falkorsync_old (the previous graph) outlives the lost EXEC reply until the next full sync"
fi
recover_and_verify exec-after

echo "== serve with FalkorDB stalled: probes answer, the run fails and is retried"
add_change
HP=$(free_port); MP=$(free_port)
set_rule falkordb '{"action": "stall", "direction": "down", "after_bytes": 0, "times": 1000}'
"${VIA_FDB[@]}" SYNC_HEALTH_PORT="$HP" SYNC_METRICS_PORT="$MP" FALKORDB_READ_TIMEOUT=2 \
  SYNC_MAX_RETRIES=1 SYNC_RETRY_DELAY_SECONDS=1 "$BIN" serve 2>"$work/serve.log" & spid=$!
pids+=("$spid")
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$HP/health/live" && break; sleep 0.1; done
curl -s -X POST "http://127.0.0.1:$HP/api/sync/full" >/dev/null \
  || { tail -5 "$work/serve.log" >&2; fail "serve: the API did not answer within 30 s of the start while FalkorDB stalls"; }
for i in $(seq 1 10); do
  code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$HP/health/live" || true)
  [[ "$code" == 200 ]] || fail "serve: /health/live -> '$code' within 1 s while FalkorDB stalls (try $i)"
  sleep 0.5
done
for _ in $(seq 1 120); do grep -q '"sync failed' "$work/serve.log" && break; sleep 0.5; done
grep -q '"sync failed' "$work/serve.log" || { tail -5 "$work/serve.log" >&2; fail "serve: the stalled run never failed"; }
grep '"sync failed' "$work/serve.log" | head -1 | grep -q '"run_id"' || fail "serve: the failure's log line has no run_id"
curl -s -m 2 "http://127.0.0.1:$HP/health" | grep -q '"falkordb":{"ok":false' \
  || fail "serve: /health does not report FalkorDB down while it stalls"
clear_rules
kill -TERM "$spid"
rc=0; timeout -s KILL 30 tail --pid="$spid" -f /dev/null || rc=$?
[[ $rc -eq 0 ]] || fail "serve: did not stop within 30 s of SIGTERM while FalkorDB was stalled"
recover_and_verify serve-stall

echo "PASS: faults"
