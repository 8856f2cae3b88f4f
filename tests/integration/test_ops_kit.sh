#!/usr/bin/env bash
# The operator's kit (issue 17): a secret planted in the URIs appears in no output (CLI, logs,
# API, errors); /health/ready follows freshness and give-ups while /health/live stays 200; the seed's config.yaml starts the service as written (its log folder is created,
# or the log falls back to stderr with one warning) and the seed's `jq` line works; every log
# line of a run carries its run_id, the same as history.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_ops_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
NEO4J_DIRECT="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
FDB_PORT="${FALKORDB_PORT:-6379}"
R() { redis-cli -p "$FDB_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k" >/dev/null; else R DEL "$k" >/dev/null; fi
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; fail "no answer at $1"; }
wait_idle() { for _ in $(seq 1 600); do curl -s "$1/api/sync/status" | grep -q '"state":"idle"' && return 0; sleep 0.1; done; fail "never idle"; }

SECRET="PLANTED-s3cr3t-$$"
hostport="${NEO4J_DIRECT#*://}"; hostport="${hostport#*@}"
GOOD_URI="bolt://neo4j:$SECRET@$hostport"
BAD_URI="bolt://neo4j:$SECRET@127.0.0.1:1"
"$GEN" --clear --entities 50 --dim 8 >/dev/null 2>&1

echo "== a planted secret in NEO4J_URI: CLI commands"
out="$work/out"; mkdir -p "$out"
declare -A URIS=([GOOD]="$GOOD_URI" [BAD]="$BAD_URI")
for u in GOOD BAD; do
  for cmd in ping config full incremental verify reconcile; do
    NEO4J_URI="${URIS[$u]}" timeout 120 "$BIN" "$cmd" >"$out/$u-$cmd.out" 2>"$out/$u-$cmd.err" || true
  done
done
grep -q 'neo4j:\*\*\*@' "$out/GOOD-ping.out" || { cat "$out/GOOD-ping.out"; fail "ping does not show the masked URI"; }
grep -q 'FAILED' "$out/BAD-ping.out" || fail "ping against port 1 should fail"
NEO4J_URI="redis://x:$SECRET@127.0.0.1:1" FALKORDB_HOST="redis://user:$SECRET@127.0.0.1:1" \
  timeout 60 "$BIN" ping >"$out/fdb-url-ping.out" 2>&1 || true

echo "== a planted secret: serve's log and API, with Neo4j reachable and not"
for u in GOOD BAD; do
  HP=$(free_port); MP=$(free_port)
  NEO4J_URI="${URIS[$u]}" SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP SYNC_MAX_RETRIES=0 SYNC_INTERVAL_SECONDS=3600 \
    SYNC_MAX_STALENESS_SECONDS=6 "$BIN" serve 2>"$out/$u-serve.log" & spid=$!; pids+=("$spid")
  wait_up "http://127.0.0.1:$HP/health/live"
  wait_idle "http://127.0.0.1:$HP"
  curl -s -X POST "http://127.0.0.1:$HP/api/sync/full" >"$out/$u-post.json"
  wait_idle "http://127.0.0.1:$HP"
  # readiness: fresh after a success; not after the only attempt failed (no retries left)
  ready=$(curl -s -o "$out/$u-ready.json" -w '%{http_code}' "http://127.0.0.1:$HP/health/ready")
  live=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/health/live")
  [[ $live == 200 ]] || fail "$u: /health/live -> $live, want 200 (a database outage is no reason to restart)"
  if [[ $u == GOOD ]]; then
    [[ $ready == 200 ]] || { cat "$out/$u-ready.json"; fail "/health/ready -> $ready after a successful run"; }
  else
    [[ $ready == 503 ]] && grep -q 'failed after every retry' "$out/$u-ready.json" \
      || { cat "$out/$u-ready.json"; fail "/health/ready -> $ready after the run gave up, want 503 saying so"; }
  fi
  sleep 2.5 # one health check round with the URI's error
  for p in /health /health/ready /api/sync/status /api/sync/statistics "/api/sync/history?limit=50"; do
    curl -s "http://127.0.0.1:$HP$p" >>"$out/$u-api.json"; echo >>"$out/$u-api.json"
  done
  curl -s "http://127.0.0.1:$MP/metrics" >"$out/$u-metrics.txt"
  if [[ $u == GOOD ]]; then # no run for longer than SYNC_MAX_STALENESS_SECONDS: stale
    sleep 6.5
    ready=$(curl -s -o "$out/$u-stale.json" -w '%{http_code}' "http://127.0.0.1:$HP/health/ready")
    [[ $ready == 503 ]] && grep -q 'last in step' "$out/$u-stale.json" \
      || { cat "$out/$u-stale.json"; fail "/health/ready -> $ready with a stale cache, want 503"; }
  fi
  kill -TERM "$spid"; wait "$spid" || true
done
grep -q '"ok":false' "$out/BAD-api.json" || fail "with Neo4j unreachable /health should say so"
if grep -rl -- "$SECRET" "$out"; then
  grep -rh -- "$SECRET" "$out" | head -5 >&2
  fail "the planted secret appears in the outputs above"
fi
echo "the secret appears in none of $(ls "$out" | wc -l) outputs"

echo "== run_id on every log line of a run, the same ids as history"
python3 - "$out/GOOD-serve.log" "$out/GOOD-api.json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hist = [json.loads(l) for l in open(sys.argv[2]) if l.startswith('{"runs"')][0]["runs"]
ids = {r["run_id"] for r in hist}
done = [l for l in lines if l["msg"] in ("sync completed", "sync failed, retrying",
                                        "sync failed, giving up until the next interval")]
assert done, "no run ended in the log"
missing = [l for l in done if "run_id" not in l]
assert not missing, f"run lines without run_id: {missing[:2]}"
unknown = [l["run_id"] for l in done if l["run_id"] not in ids]
assert not unknown, f"run_id in the log but not in history: {unknown} (history {sorted(ids)})"
quiet = [l for l in lines if l["msg"] == "falkorsync starting"]
assert quiet and "run_id" not in quiet[0], "a line outside any run must not carry a run_id"
print(f"{len(done)} run lines, all with a run_id from history")
EOF

echo "== the seed's config.yaml as written"
seed="$ROOT/tests/integration/fixtures/seed-config.yaml"
HP=$(free_port); MP=$(free_port)
# the seed's host names (neo4j, falkordb) and ports are the compose network's: the environment
# points them at the test servers, as compose's environment would
seed_env=(env NEO4J_URI="$NEO4J_DIRECT" FALKORDB_HOST=127.0.0.1 FALKORDB_PORT="$FDB_PORT"
          "SYNC_HEALTH_PORT=$HP" "SYNC_METRICS_PORT=$MP" SYNC_INTERVAL_SECONDS=3600)
# 1. a log folder that cannot exist (/proc refuses mkdir): stderr, one warning, no exit 2
sed "s|/app/logs/sync.log|/proc/falkorsync-$$/logs/sync.log|" "$seed" >"$work/seed-noperm.yaml"
"${seed_env[@]}" "$BIN" serve "$work/seed-noperm.yaml" 2>"$work/seed1.err" & spid=$!; pids+=("$spid")
wait_up "http://127.0.0.1:$HP/health/live"
kill -0 "$spid" || fail "serve with the seed's config exited: $(cat "$work/seed1.err")"
[[ $(grep -c 'cannot open the log file' "$work/seed1.err") -eq 1 ]] \
  || { cat "$work/seed1.err"; fail "want exactly one warning about the log file on stderr"; }
grep -q '"falkorsync starting"' "$work/seed1.err" || fail "the log did not fall back to stderr"
wait_idle "http://127.0.0.1:$HP"
avg=$(curl -s "http://127.0.0.1:$HP/api/sync/statistics" | jq '.average_duration_seconds')
[[ "$avg" =~ ^[0-9.]+$ ]] || fail "the seed's jq '.average_duration_seconds' gives '$avg'"
kill -TERM "$spid"; wait "$spid" || fail "SIGTERM should exit 0"
# 2. a log folder that does not exist yet but can: created, and the lines go there
sed "s|/app/logs/sync.log|$work/app/logs/sync.log|" "$seed" >"$work/seed-mkdir.yaml"
"${seed_env[@]}" "$BIN" serve "$work/seed-mkdir.yaml" 2>"$work/seed2.err" & spid=$!; pids+=("$spid")
wait_up "http://127.0.0.1:$HP/health/live"
kill -TERM "$spid"; wait "$spid" || fail "SIGTERM should exit 0"
grep -q '"falkorsync starting"' "$work/app/logs/sync.log" || fail "no log lines in the created folder"
# the seed sets the removed pool sizes: it loads, and the log says so (never silently ignored)
grep -q '"configuration warning".*neo4j.pool_size' "$work/app/logs/sync.log" \
  || fail "the seed's removed neo4j.pool_size should be named by a configuration warning in the log"
[[ ! -s "$work/seed2.err" ]] || { cat "$work/seed2.err"; fail "nothing should reach stderr when the log file works"; }
echo "== systemd's notify protocol: READY=1 once listening, WATCHDOG=1 while live, STOPPING=1"
sock="$work/notify.sock"
cat >"$work/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(15)
end = time.time() + 15
try:
    while time.time() < end:
        print(s.recv(256).decode(), flush=True)
except socket.timeout:
    pass
PY
python3 "$work/notify.py" "$sock" >"$work/notify.txt" & npid=$!; pids+=("$npid")
for _ in $(seq 1 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
HP=$(free_port); MP=$(free_port)
NEO4J_URI="$NEO4J_DIRECT" SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP SYNC_INTERVAL_SECONDS=3600 \
  NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 "$BIN" serve 2>"$work/notify-serve.log" & spid=$!
pids+=("$spid")
wait_up "http://127.0.0.1:$HP/health/live"
sleep 2
kill -TERM "$spid"; wait "$spid" || fail "SIGTERM should exit 0"
sleep 0.5; kill "$npid" 2>/dev/null || true
grep -qx 'READY=1' "$work/notify.txt" || { cat "$work/notify.txt"; fail "no READY=1"; }
[[ $(grep -cx 'WATCHDOG=1' "$work/notify.txt") -ge 2 ]] \
  || { cat "$work/notify.txt"; fail "no WATCHDOG=1 every half WATCHDOG_USEC"; }
grep -qx 'STOPPING=1' "$work/notify.txt" || fail "no STOPPING=1"

echo "PASS: ops kit"
