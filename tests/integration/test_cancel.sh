#!/usr/bin/env bash
# Prompt cancellation: SIGTERM to `serve` in the middle of a long reconcile is answered within
# 2 s with exit 0, and the next reconcile still converges.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_cancel_$$" FALKORDB_LAYOUT=single
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=""
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null 2>&1 || true
  for k in $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do R DEL "$k" >/dev/null; done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

echo "== a graph whose reconcile is long: 20,000 entities, every summary rewritten behind incremental's back"
"$GEN" --clear --entities 20000 --groups 2 --dim 16 --seed 3 >/dev/null 2>&1
"$BIN" full >/dev/null
"$GEN" --exec "MATCH (n:Entity) CALL { WITH n SET n.summary = n.summary + ' v2' } IN TRANSACTIONS OF 5000 ROWS" \
  >/dev/null 2>&1 || "$GEN" --exec "MATCH (n:Entity) SET n.summary = n.summary + ' v2'" >/dev/null

echo "== serve, a reconcile slice after every run with a budget of a whole pass; SIGTERM into it"
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=1 \
  SYNC_RECONCILE_SLICE_MS=600000 LOG_LEVEL=INFO \
  "$BIN" serve 2>"$work/serve.log" &
serve_pid=$!
sleep 2
cp "$work/serve.log" "$work/before.log"
t0=$(now)
kill -TERM "$serve_pid"
rc=0; wait "$serve_pid" || rc=$?
serve_pid=""
took=$(echo "$(now) - $t0" | bc)
echo "   exit $rc, $took s after SIGTERM"
if grep -q '"msg":"reconcile pass completed"' "$work/before.log"; then
  fail "the reconcile finished before the signal: it tests nothing here"
fi
[[ $rc -eq 0 ]] || fail "serve exited $rc on SIGTERM"
(( $(echo "$took < 2" | bc) )) || fail "SIGTERM answered after $took s (the reconcile ran to its end)"
grep -q '"msg":"stopped"' "$work/serve.log" || fail "no stop message"

echo "== the next reconcile converges"
"$BIN" reconcile >/dev/null
"$BIN" verify >/dev/null || fail "not in sync after the reconcile that followed"
echo PASS
