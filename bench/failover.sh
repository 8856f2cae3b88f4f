#!/usr/bin/env bash
# Failover time of the writer lease (issue 16): two `serve` on one cache, kill -9 of the active
# one, and the time until the standby's first successful run (its "sync completed" log line),
# REPEAT times; prints each and the median and max. Real servers (scripts/servers.sh), the
# configured TTL (SYNC_LEASE_TTL_SECONDS, default 15) and interval (SYNC_INTERVAL_SECONDS).
#   NEO4J_PORT=... FALKORDB_PORT=... bench/failover.sh [REPEAT]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${FALKORSYNC_BIN:-$ROOT/build/falkorsync}"
GEN="$(dirname "$BIN")/falkorsync-gen"
REPEAT="${1:-5}"
export FALKORDB_DATABASE="bench_failover_$$" FALKORDB_LAYOUT=single
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
export SYNC_INTERVAL_SECONDS="${SYNC_INTERVAL_SECONDS:-1}" SYNC_RECONCILE_EVERY=0
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null 2>&1 || true
  for k in $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do R DEL "$k" >/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
role() { curl -s "http://127.0.0.1:$1/api/sync/status" | jq -r '.role // "down"' 2>/dev/null || echo down; }
wait_role() { for _ in $(seq 1 600); do [[ "$(role "$1")" == "$2" ]] && return 0; sleep 0.1; done; echo "no $2 at :$1" >&2; exit 1; }
# Each serve in its own pid namespace (as in two containers) when unshare is allowed: a standby
# then cannot see that the active one's process is gone and waits out the TTL, as across
# hosts. Without it (not root) the same-host shortcut applies and the figures are shorter.
ns=()
if unshare --pid --fork --kill-child true 2>/dev/null; then ns=(unshare --pid --fork --kill-child); else
  echo "note: no pid namespaces here; the standby sees the dead process (same-host shortcut)"; fi
serve() { # PORT LOG
  SYNC_HEALTH_PORT=$1 SYNC_METRICS_PORT=$(free_port) LOG_LEVEL=INFO "${ns[@]}" "$BIN" serve 2>"$2" &
  pids+=($!)
}
"$GEN" --clear --entities "${FAILOVER_ENTITIES:-400}" --groups 2 --dim 0 --seed 16 >/dev/null 2>&1
"$BIN" full >/dev/null
times=()
for i in $(seq 1 "$REPEAT"); do
  pa=$(free_port); pb=$(free_port)
  serve "$pa" "$work/a.log"; a=${pids[-1]}
  wait_role "$pa" active
  serve "$pb" "$work/b.log"; b=${pids[-1]}
  wait_role "$pb" standby
  sleep 1
  t0=$(date +%s.%N)
  kill -9 "$a"; wait "$a" 2>/dev/null || true
  for _ in $(seq 1 1200); do
    grep -q '"msg":"lease taken"' "$work/b.log" && grep -A1000 '"msg":"lease taken"' "$work/b.log" |
      grep -q '"msg":"sync completed"' && break
    sleep 0.05
  done
  ts=$(grep -A1000 '"msg":"lease taken"' "$work/b.log" | grep -m1 '"msg":"sync completed"' | jq -r .ts)
  t1=$(date -d "$ts" +%s.%N)
  took=$(echo "$t1 - $t0" | bc)
  times+=("$took")
  printf 'run %d: %.2f s from kill -9 to the standby'"'"'s first successful run\n' "$i" "$took"
  kill -TERM "$(pgrep -P "$b" || echo "$b")"; wait "$b" 2>/dev/null || true
done
printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "failover: median %.2f s, max %.2f s over %d runs\n", m, v[NR], NR }'
