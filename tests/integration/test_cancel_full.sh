#!/usr/bin/env bash
# Prompt cancellation in full sync: SIGTERM to `serve` in the middle of its first full sync
# is answered within 2 s with exit 0, and the next full sync resumes from the checkpoint
# ("resumed":true) and verify ends at 0.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_cancelf_$$" FALKORDB_LAYOUT=single
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d)
serve_pid=""
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  for g in $(R GRAPH.LIST 2>/dev/null | grep -F "$FALKORDB_DATABASE" || true); do
    R GRAPH.DELETE "$g" >/dev/null 2>&1 || true
  done
  for k in $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do R DEL "$k" >/dev/null; done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a graph whose full sync takes several seconds: 20,000 entities"
"$GEN" --clear --entities 20000 --groups 2 --dim 0 --seed 5 >/dev/null 2>&1

echo "== serve starts with a full sync; SIGTERM once it has loaded part of the graph"
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=60 SYNC_BATCH_SIZE=500 \
  LOG_LEVEL=INFO "$BIN" serve 2>"$work/serve.log" &
serve_pid=$!
# wait until the checkpoint exists (some batches acknowledged), at most 30 s
for _ in $(seq 1 300); do
  [[ -n "$(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*" | grep -i ckpt || true)" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || fail "serve exited early: $(tail -3 "$work/serve.log")"
  sleep 0.1
done
sleep 0.5
sigterm_timed "$serve_pid" "$work/serve.log"
serve_pid=""
if grep -q '"msg":"sync completed"' "$work/serve.log.before"; then
  fail "the full sync finished before the signal: it tests nothing here"
fi
[[ $stop_rc -eq 0 ]] || fail "serve exited $stop_rc on SIGTERM"
(( $(echo "$stop_took < 2" | bc) )) || fail "SIGTERM answered after $stop_took s (the full sync ran to its end)"
grep -q '"msg":"stopped"' "$work/serve.log" || fail "no stop message"

echo "== the next full sync resumes from the checkpoint and verify ends at 0"
out=$("$BIN" full 2>/dev/null)
echo "$out" | grep -q '"resumed":[ ]*true' || fail "the next full sync did not resume: $out"
"$BIN" verify >/dev/null || fail "not in sync after the resumed full sync"
echo PASS
