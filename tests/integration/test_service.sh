#!/usr/bin/env bash
# The service against the real servers: every endpoint answers as documented
# (200/202/400/401/404/405/409/413, 503 with a database down), /metrics passes
# promtool, bad configuration gives a clear error and no start, SIGTERM exits 0.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_svc_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# redis-cli exits 0 on an error reply, so pick the command by the key's type.
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    del_key "$k"
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
HP=$(free_port); MP=$(free_port)
export SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP SYNC_API_TOKEN=s3cret-token SYNC_INTERVAL_SECONDS=3600
API="http://127.0.0.1:$HP"
code() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
expect() { # expect STATUS curl-args...
  local want=$1; shift
  local got; got=$(code "$@")
  [[ "$got" == "$want" ]] || { cat "$work/body" >&2; fail "$* -> $got, want $want"; }
}
wait_up() {
  for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  fail "service did not come up at $1"
}

echo "== bad configuration: clear error, no start"
printf 'sync:\n  batch_size: lots\n' >"$work/bad.yaml"
rc=0; "$BIN" serve "$work/bad.yaml" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] || fail "bad config should exit 2, got $rc"
grep -q 'line 2' "$work/err" && grep -q 'sync.batch_size' "$work/err" || { cat "$work/err"; fail "error must name the key and the line"; }
rc=0; SYNC_BIND_ADDRESS=0.0.0.0 SYNC_API_TOKEN='' "$BIN" serve 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q 'API token' "$work/err" || { cat "$work/err"; fail "public bind without a token must refuse to start"; }

echo "== a small graph and a running service"
"$GEN" --clear --entities 200 --dim 8 >/dev/null
"$BIN" serve 2>"$work/serve.log" &
pids+=($!)
wait_up "$API/health"

echo "== GET routes"
for _ in $(seq 1 50); do [[ $(code "$API/health") == 200 ]] && break; sleep 0.2; done
expect 200 "$API/health"
grep -q '"status":"healthy"' "$work/body" || fail "health body"
expect 200 "$API/api/sync/status"
expect 200 "$API/api/sync/statistics"
grep -q '"average_duration_seconds"' "$work/body" || fail "statistics body"
expect 200 "$API/api/sync/history?limit=5"
expect 400 "$API/api/sync/history?limit=0"
expect 400 "$API/api/sync/history?limit=abc"
expect 200 "$API/api/system/metrics"
grep -q '"rss_bytes"' "$work/body" || fail "system metrics body"
expect 200 "$API/"
grep -qi '<html' "$work/body" || fail "dashboard"
expect 404 "$API/nope"
expect 404 "$API/api/sync/../../etc/passwd"
expect 405 -X DELETE "$API/health"
expect 405 "$API/api/sync/full"

echo "== POST routes: token, triggers, 409 while running"
# wait for the startup full sync to finish
for _ in $(seq 1 300); do curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && break; sleep 0.1; done
expect 401 -X POST "$API/api/sync/full"
expect 401 -X POST -H 'Authorization: Bearer wrong' "$API/api/sync/full"
AUTH=(-H "Authorization: Bearer s3cret-token")
expect 202 -X POST "${AUTH[@]}" "$API/api/sync/full"
grep -q '"accepted":true' "$work/body" || fail "202 body"
got=$(code -X POST "${AUTH[@]}" "$API/api/sync/incremental")
[[ "$got" == 409 ]] || fail "a trigger during a run must answer 409 (got $got)"
grep -q '"running"' "$work/body" || fail "409 names the running job"
for _ in $(seq 1 300); do curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && break; sleep 0.1; done
expect 202 -X POST "${AUTH[@]}" "$API/api/sync/reconcile"
for _ in $(seq 1 300); do curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && break; sleep 0.1; done
expect 202 -X POST "${AUTH[@]}" "$API/api/sync/incremental"
for _ in $(seq 1 300); do curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && break; sleep 0.1; done
expect 200 -X POST "${AUTH[@]}" "$API/api/sync/stop"
grep -q '"continuous":false' "$work/body" || fail "stop body"
expect 200 -X POST "${AUTH[@]}" "$API/api/sync/start"
grep -q '"continuous":true' "$work/body" || fail "start body"
head -c 70000 /dev/zero | tr '\0' a >"$work/big"
expect 413 -X POST "${AUTH[@]}" --data-binary @"$work/big" "$API/api/sync/full"
expect 200 "$API/api/sync/history?limit=10"
n=$(grep -o '"run_id"' "$work/body" | wc -l)
(( n >= 4 )) || fail "history should hold the runs (got $n)"
"$BIN" verify >/dev/null || fail "the cache is not in sync after the API-triggered runs"

echo "== /metrics passes promtool"
expect 200 "http://127.0.0.1:$MP/metrics"
cp "$work/body" "$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" || fail "promtool check metrics"
grep -q 'falkorsync_runs_total{mode="full",result="success"} [1-9]' "$work/metrics.txt" || fail "runs counter"
grep -q 'falkorsync_database_up{database="neo4j"} 1' "$work/metrics.txt" || fail "database_up"
expect 404 "http://127.0.0.1:$MP/other"
! grep -q 's3cret-token' "$work/serve.log" || fail "the token leaked into the log"
curl -s "$API/api/sync/status" "$API/api/sync/statistics" "$API/health" | grep -q 's3cret-token' && fail "the token leaked into an answer"

echo "== SIGTERM: exit 0, within 2 s (both HTTP servers stopped at once, their accept loops woken)"
t0=$(date +%s%N)
kill -TERM "${pids[0]}"
rc=0; wait "${pids[0]}" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $rc -eq 0 ]] || fail "serve exited $rc on SIGTERM"
echo "   exited ${ms} ms after SIGTERM"
(( ms < 2000 )) || fail "serve took ${ms} ms to exit after SIGTERM (promise: 2 s)"

echo "== a database down: /health answers 503"
HP2=$(free_port); MP2=$(free_port)
SYNC_HEALTH_PORT=$HP2 SYNC_METRICS_PORT=$MP2 NEO4J_URI=bolt://127.0.0.1:1 SYNC_MAX_RETRIES=0 \
  "$BIN" serve 2>"$work/serve2.log" &
pids+=($!)
wait_up "http://127.0.0.1:$HP2/health"
sleep 1
expect 503 "http://127.0.0.1:$HP2/health"
grep -q '"neo4j":{"ok":false' "$work/body" || fail "503 body names the failed check"
kill -TERM "${pids[1]}"; wait "${pids[1]}" || true
echo PASS
