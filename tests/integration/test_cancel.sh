#!/usr/bin/env bash
# Prompt cancellation: SIGTERM to `serve` in the middle of a long reconcile is answered within
# 2 s with exit 0, and the next reconcile still converges.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_cancel_$$" FALKORDB_LAYOUT=single
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
sigterm_timed "$serve_pid" "$work/serve.log"
serve_pid=""
if grep -q '"msg":"reconcile pass completed"' "$work/serve.log.before"; then
  fail "the reconcile finished before the signal: it tests nothing here"
fi
[[ $stop_rc -eq 0 ]] || fail "serve exited $stop_rc on SIGTERM"
(( $(echo "$stop_took < 2" | bc) )) || fail "SIGTERM answered after $stop_took s (the reconcile ran to its end)"
grep -q '"msg":"stopped"' "$work/serve.log" || fail "no stop message"

echo "== the next reconcile converges"
"$BIN" reconcile >/dev/null
"$BIN" verify >/dev/null || fail "not in sync after the reconcile that followed"
echo PASS
