#!/usr/bin/env bash
# POST /api/sync/stop and /api/sync/start outlive a restart of `serve` (issue 17): the switch
# is kept in FalkorDB as falkorsync:continuous:<database>; after stop + restart the status says
# continuous off and no interval run happens, after start + restart it is on and runs again;
# without the key the configuration (SYNC_ENABLE_CONTINUOUS) decides.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_cont_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=""
KEY="falkorsync:continuous:$FALKORDB_DATABASE"
cleanup() {
  [[ -z "$serve_pid" ]] || kill -9 "$serve_pid" 2>/dev/null || true
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k" >/dev/null; else R DEL "$k" >/dev/null; fi
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
HP=$(free_port)
export SYNC_HEALTH_PORT=$HP SYNC_METRICS_ENABLED=false SYNC_API_TOKEN=t0ken SYNC_INTERVAL_SECONDS=1
unset SYNC_ENABLE_CONTINUOUS
API="http://127.0.0.1:$HP"
AUTH=(-H "Authorization: Bearer t0ken")
status_continuous() {
  curl -sf "$API/api/sync/status" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["continuous"]).lower())'
}
runs() { # the runs of this process so far (history is per process)
  curl -sf "$API/api/sync/history?limit=100" | python3 -c '
import json,sys
d=json.load(sys.stdin)
h=d if isinstance(d,list) else next(v for v in d.values() if isinstance(v,list))
print(len(h))'
}
start_serve() {
  "$BIN" serve 2>>"$work/serve.log" &
  serve_pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$API/health/live" && return 0; sleep 0.1; done
  cat "$work/serve.log" >&2; fail "service did not come up"
}
stop_serve() {
  kill -TERM "$serve_pid"
  wait "$serve_pid" || fail "serve exited $? on SIGTERM"
  serve_pid=""
}
wait_idle() { for _ in $(seq 1 600); do curl -s "$API/api/sync/status" | grep -q '"state":"idle"' && return 0; sleep 0.1; done; fail "never idle"; }

echo "== no key: the configuration decides (continuous on), the first run fills the cache"
"$GEN" --clear --entities 30 --dim 8 >/dev/null
[[ -z "$(R GET "$KEY")" ]] || fail "$KEY exists before the test"
start_serve
[[ "$(status_continuous)" == true ]] || fail "continuous should default to on"
wait_idle

echo "== stop via the API: stored as off"
curl -sf -X POST "${AUTH[@]}" "$API/api/sync/stop" >"$work/body" || fail "POST stop"
if ! grep -q '"continuous":false' "$work/body" || ! grep -q '"persisted":true' "$work/body"; then
  fail "stop reply: $(cat "$work/body")"
fi
[[ "$(R GET "$KEY")" == off ]] || fail "$KEY should be off, is '$(R GET "$KEY")'"
wait_idle
stop_serve

echo "== restart: continuous stays off and no interval run happens"
start_serve
[[ "$(status_continuous)" == false ]] || fail "after stop + restart the status says continuous $(status_continuous)"
sleep 4 # four intervals
n=$(runs)
[[ "$n" == 0 ]] || fail "continuous is off, yet $n runs happened after the restart"
grep -q 'continuous switch restored' "$work/serve.log" || fail "no 'continuous switch restored' log line"
stop_serve

echo "== the configuration alone does not override the stored switch"
SYNC_ENABLE_CONTINUOUS=true start_serve
[[ "$(status_continuous)" == false ]] || fail "a stored off should win over the configured default"

echo "== start via the API: stored as on; restart: on again and interval runs happen"
curl -sf -X POST "${AUTH[@]}" "$API/api/sync/start" >"$work/body" || fail "POST start"
grep -q '"continuous":true' "$work/body" || fail "start reply: $(cat "$work/body")"
[[ "$(R GET "$KEY")" == on ]] || fail "$KEY should be on, is '$(R GET "$KEY")'"
wait_idle
stop_serve
SYNC_ENABLE_CONTINUOUS=false start_serve
[[ "$(status_continuous)" == true ]] || fail "after start + restart the status says continuous $(status_continuous)"
for _ in $(seq 1 100); do [[ "$(runs)" -gt 0 ]] && break; sleep 0.1; done
[[ "$(runs)" -gt 0 ]] || fail "continuous is on, yet no interval run happened in 10 s"
stop_serve

echo "== without the key the configuration decides again"
R DEL "$KEY" >/dev/null
SYNC_ENABLE_CONTINUOUS=false start_serve
[[ "$(status_continuous)" == false ]] || fail "no key and SYNC_ENABLE_CONTINUOUS=false: continuous $(status_continuous)"
[[ -z "$(R GET "$KEY")" ]] || fail "reading the switch must not write it"
stop_serve
echo "PASS"
