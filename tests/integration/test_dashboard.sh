#!/usr/bin/env bash
# The dashboard in headless Chromium against a real `falkorsync serve`: it
# loads, follows the WebSocket, asks for the API token on 401, a click on
# "Full sync" shows running -> idle and a new row in the history, and a
# screenshot lands in the ctest working directory (dashboard.png).
# shellcheck disable=SC2154  # work, serve_pid, API, MP, ROOT, CACHE are set by lib.sh
set -euo pipefail
export FALKORDB_DATABASE="itest_dash_$$"
# shellcheck source=tests/browser/lib.sh
source "${FALKORSYNC_ROOT:?}/tests/browser/lib.sh"

PLAYWRIGHT_VERSION=1.65.1
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || fail "$CHROMIUM is missing (scripts/deps.sh installs Debian's chromium)"
command -v node >/dev/null || fail "node is missing (scripts/deps.sh installs nodejs)"

echo "== playwright-core $PLAYWRIGHT_VERSION (cached in $CACHE/npm)"
NPM_DIR="$CACHE/npm"
have=$(node -p "require('$NPM_DIR/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [[ "$have" != "$PLAYWRIGHT_VERSION" ]]; then
  mkdir -p "$NPM_DIR"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
    "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null || fail "npm install playwright-core"
fi

echo "== a small graph and a running service (token required for POSTs)"
ENTITIES=300
export SYNC_INTERVAL_SECONDS=2 SYNC_API_TOKEN="dash-$$-$RANDOM"
serve_start
echo "service on $API"

echo "== the dashboard in Chromium"
rm -f "$PWD/dashboard.png" "$PWD/dashboard-failed.png"
rc=0
DASH_URL="$API" PW_MODULES="$NPM_DIR/node_modules" API_TOKEN="$SYNC_API_TOKEN" \
  SCREENSHOT="$PWD/dashboard.png" ENTITIES="$ENTITIES" CHROMIUM="$CHROMIUM" \
  timeout 300 node "$ROOT/tests/browser/dashboard.spec.mjs" || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "--- service log (last 30 lines)" >&2
  tail -n 30 "$work/serve.log" >&2
  fail "dashboard spec (exit $rc)"
fi
echo "screenshot: $PWD/dashboard.png"
echo PASS
