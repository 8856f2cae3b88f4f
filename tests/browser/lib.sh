# Shared by tests/integration/test_dashboard.sh and test_api_schema.sh (sourced):
# a small Graphiti graph in Neo4j, one `falkorsync serve` on free loopback
# ports, and a cleanup that leaves the shared servers as they were.
# The caller sets FALKORDB_DATABASE and any SYNC_* settings before serve_start.
# shellcheck shell=bash disable=SC2034  # ROOT, CACHE, API, MP are for the caller

BIN="${FALKORSYNC_BIN:?}"
ROOT="${FALKORSYNC_ROOT:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
work=$(mktemp -d)
serve_pid=""

fail() { echo "FAIL: $*" >&2; exit 1; }
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cleanup() {
  if [[ -n "$serve_pid" ]]; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$serve_pid" 2>/dev/null || true
  fi
  # redis-cli exits 0 on an error reply, so ask each key's type first.
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k"; else R DEL "$k"; fi >/dev/null 2>&1 || true
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# serve_start: generates the graph, starts the service, waits for /health 200.
# Sets HP, MP, API, serve_pid.
serve_start() {
  "$GEN" --clear --entities "${ENTITIES:-300}" --dim 8 >/dev/null || fail "falkorsync-gen"
  HP=$(free_port); MP=$(free_port)
  while [[ "$MP" == "$HP" ]]; do MP=$(free_port); done
  export SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP
  API="http://127.0.0.1:$HP"
  "$BIN" serve >"$work/serve.log" 2>&1 &
  serve_pid=$!
  local code=""
  for _ in $(seq 1 300); do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "falkorsync serve exited"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' "$API/health" || true)
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  tail -n 20 "$work/serve.log" >&2
  fail "/health did not answer 200 within 30 s (last: $code)"
}

# wait_idle: until /api/sync/status says idle (a startup or triggered run finished).
wait_idle() {
  for _ in $(seq 1 600); do
    curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && return 0
    sleep 0.1
  done
  fail "the service did not become idle within 60 s"
}
