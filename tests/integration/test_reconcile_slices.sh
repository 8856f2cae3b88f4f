#!/usr/bin/env bash
# Reconcile in slices under `serve` (issue 15): drift no incremental run can see (direct
# FalkorDB writes) is fixed by slices between interval runs, no gap between incremental runs
# exceeds 2 intervals while the pass is in progress, a kill -9 in the middle of the pass resumes
# it from the stored position, and POST /api/sync/stop ends a running full sync within 2 s.
# In per_group layout with 20 groups (two sets of graphs, each read from Neo4j in one query
# per chunk), a pass fixes drift in both sets.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_slices_$$" FALKORDB_LAYOUT=single
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=""
port=$(( 20000 + ($$ % 20000) ))
cleanup() {
  [[ -n "$serve_pid" ]] && kill -9 "$serve_pid" 2>/dev/null || true
  R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null 2>&1 || true
  for k in $(R --scan --pattern "*falkorsync*${FALKORDB_DATABASE}*"); do R DEL "$k" >/dev/null; done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
api() { curl -s --max-time 5 "http://127.0.0.1:$port$1" "${@:2}"; }
# A field of the status' reconcile_pass ("" when there is none yet).
pass_field() {
  api /api/sync/status | python3 -c "import json,sys
p=json.load(sys.stdin).get('reconcile_pass') or {}
v=p.get('$1'); print('' if v is None else v)" 2>/dev/null || true
}
# small query-method batches: the full sync that POST /api/sync/stop interrupts lasts seconds
# (about 3 s for the 45,000 items it copies)
serve() {
  SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=5 SYNC_HEALTH_PORT=$port SYNC_METRICS_PORT=0 SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=1 \
    SYNC_RECONCILE_SLICE_MS=1 LOG_LEVEL=INFO "$BIN" serve 2>>"$work/serve.log" &
  serve_pid=$!
}
# Waits up to $2 s for the command $1 to succeed.
wait_for() {
  local end=$((SECONDS + $2))
  until eval "$1"; do (( SECONDS < end )) || return 1; sleep 0.2; done
}

echo "== 1,000 entities, then drift behind incremental's back (direct FalkorDB writes)"
"$GEN" --clear --entities 1000 --groups 1 --dim 16 --seed 5 >/dev/null 2>&1
"$BIN" full >/dev/null
g="$FALKORDB_DATABASE"
# the last 10 entities in key order (late in the pass) and 5 extra nodes no one deleted
R GRAPH.QUERY "$g" "MATCH (n:Entity) WITH n ORDER BY n.uuid DESC LIMIT 10 SET n.summary = 'drift'" >/dev/null
R GRAPH.QUERY "$g" "UNWIND range(1, 5) AS i CREATE (:Entity {uuid: 'zz-extra-' + toString(i), name: 'x'})" >/dev/null
"$BIN" verify --json > "$work/v0.json" || true
python3 -c "import json; d=json.load(open('$work/v0.json'))['differences']; assert d == 15, d" \
  || fail "the planted drift is not 15 differences: $(head -c 300 "$work/v0.json")"

echo "== serve (1 s interval, slices of one chunk: 1 ms budget); kill -9 once the pass is under way"
serve
wait_for '[[ "$(pass_field slices)" -ge 3 ]] 2>/dev/null' 40 || fail "no 3 slices in 40 s"
api "/api/sync/history?limit=200" > "$work/history1.json"
kill -9 "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""
started=$(R HGET "falkorsync:reconcile:$g" started_at)
checked=$(R HGET "falkorsync:reconcile:$g" checked)
active=$(R HGET "falkorsync:reconcile:$g" active)
echo "   killed at: active $active, started_at $started, checked $checked"
[[ "$active" == 1 && "$checked" -gt 0 ]] || fail "no pass in progress was stored (active=$active checked=$checked)"

echo "== restart: the pass resumes from the stored position"
serve
wait_for '[[ -n "$(pass_field slices)" ]]' 20 || fail "no slice after the restart"
st2=$(R HGET "falkorsync:reconcile:$g" started_at)
ck2=$(R HGET "falkorsync:reconcile:$g" checked)
echo "   after the first slice: started_at $st2, checked $ck2"
[[ "$st2" == "$started" ]] || fail "a new pass began after the restart ($st2, was $started)"
(( ck2 > checked )) || fail "checked went from $checked to $ck2: not resumed"
wait_for '[[ "$(pass_field passes)" -ge 1 ]] 2>/dev/null' 45 || fail "the pass did not complete in 45 s"
api /api/sync/status > "$work/status.json"
python3 - "$work/status.json" <<'EOF' || fail "the status' reconcile_pass is wrong"
import json, sys
p = json.load(open(sys.argv[1]))["reconcile_pass"]
print("   pass: %.1f s, %.1f s busy, %d checked, %d fixed" % (
    p["last_pass_seconds"], p["last_pass_busy_seconds"], p["last_pass_checked"], p["last_pass_fixed"]))
assert p["last_pass_fixed"] >= 10, p  # the extras may go first, by the delete check
assert p["last_pass_seconds"] > 2, p  # the pass spanned several interval runs
EOF

echo "== no gap between incremental runs over 2 intervals while the pass ran"
api "/api/sync/history?limit=200" > "$work/history2.json"
python3 - "$work/history1.json" "$work/history2.json" <<'EOF' || fail "an incremental run waited for the reconcile"
import json, sys
from datetime import datetime
ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
n, longest = 0, 0.0
for f in sys.argv[1:]:  # each serve's history: before the kill, after the restart
    runs = json.load(open(f))["runs"]
    inc = sorted((ts(r["started_at"]), ts(r["finished_at"])) for r in runs
                 if r["mode"] == "incremental")
    n += len(inc)
    longest = max([longest] + [b[0] - a[1] for a, b in zip(inc, inc[1:])])
print("   %d incremental runs while slices ran, longest gap %.2f s" % (n, longest))
assert n >= 4, n
assert longest <= 2.0, longest
EOF

echo "== POST /api/sync/stop during a full sync: idle within 2 s"
# 8,000 more entities: the full sync of 1,000 lasts about 0.4 s, too short to stop reliably
"$GEN" --entities 8000 --groups 1 --dim 16 --seed 6 >/dev/null 2>&1
# refused ("a sync run is in progress") while the interval runs copy those entities
wait_for 'api /api/sync/full -X POST | grep -q "\"accepted\":true"' 30 || fail "POST /api/sync/full never accepted"
# copying: a full stopped before it began (while it waits for a delete check) is another case
wait_for '[[ "$(api /api/sync/status | jq -r "if .current.mode == \"full\" then .current.items_done else 0 end")" -gt 0 ]]' 30 \
  || fail "the full sync did not start copying"
t0=$(date +%s.%N)
api /api/sync/stop -X POST > "$work/stop.json"
wait_for '[[ "$(api /api/sync/status | python3 -c "import json,sys; print(json.load(sys.stdin)[\"state\"])")" == idle ]]' 10 \
  || fail "still running 10 s after POST /api/sync/stop"
took=$(echo "$(date +%s.%N) - $t0" | bc)
echo "   $(cat "$work/stop.json"); idle after $took s"
(( $(echo "$took < 2" | bc) )) || fail "POST /api/sync/stop answered by the run after $took s"
api "/api/sync/history?limit=1" > "$work/last.json"
grep -q "\"cancelled\"" "$work/last.json" || fail "the full sync was not reported cancelled: $(cat "$work/last.json")"
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""

echo "== state resumable: the next full resumes, and the cache is in sync"
"$BIN" full > "$work/full.json" || fail "full after the stop failed"
grep -q '"resumed":true' "$work/full.json" || echo "   (the full sync started over: it was stopped before its first checkpoint)"
"$BIN" verify >/dev/null || fail "not in sync at the end"

echo "== per_group, 20 groups: a pass's chunks cover 16 graphs per Neo4j query, then 4"
export FALKORDB_LAYOUT=per_group
"$GEN" --clear --entities 300 --groups 20 --dim 16 --seed 9 >/dev/null 2>&1
"$BIN" full >/dev/null
R DEL "falkorsync:reconcile:$g" >/dev/null # no pass done yet in this layout
serve
# POST /api/sync/stop above turned continuous sync off, and the switch outlives a restart
wait_for '[[ -n "$(api /api/sync/status)" ]]' 20 || fail "serve did not answer"
api /api/sync/start -X POST >/dev/null
# Two incremental runs first: the first run of a process rewrites the overlap window (it has
# no memory of what was applied), which would fix the drift before the pass could.
incs() { api "/api/sync/history?limit=200" | python3 -c "import json,sys
print(sum(r['mode'] == 'incremental' for r in json.load(sys.stdin)['runs']))"; }
wait_for '[[ "$(incs)" -ge 2 ]]' 20 || fail "no 2 incremental runs in 20 s"
api /api/sync/stop -X POST >/dev/null
wait_for '[[ "$(api /api/sync/status | jq -r .state)" == idle ]]' 10 || fail "serve did not stop"
# graphs in group order: default_db (''), group_a .. group_s; the first set ends at group_o
R GRAPH.QUERY group_a "MATCH (n:Entity) WITH n ORDER BY n.uuid DESC LIMIT 1 SET n.summary = 'drift'" >/dev/null
R GRAPH.QUERY group_o "MATCH ()-[r:MENTIONS]->() WITH r ORDER BY r.uuid LIMIT 1 SET r.extra = 1" >/dev/null
R GRAPH.QUERY group_s "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT 1 SET n.name = 'drift'" >/dev/null
R DEL "falkorsync:reconcile:$g" >/dev/null # a new pass from the first graph
api /api/sync/start -X POST >/dev/null
wait_for '[[ "$(pass_field passes)" -ge 1 ]] 2>/dev/null' 60 || fail "the per_group pass did not complete in 60 s: $(api /api/sync/status | head -c 1500; tail -3 "$work/serve.log")"
api /api/sync/status > "$work/status.json"
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
python3 - "$work/status.json" <<'EOF' || fail "the per_group pass is wrong"
import json, sys
p = json.load(open(sys.argv[1]))["reconcile_pass"]
print("   pass: %.1f s, %d slices, %d checked, %d fixed" % (
    p["last_pass_seconds"], p["slices"], p["last_pass_checked"], p["last_pass_fixed"]))
assert p["last_pass_checked"] == 1316, p  # every item once: no set compared twice
assert p["last_pass_fixed"] == 3, p
EOF
"$BIN" verify --json > "$work/v2.json" || fail "per_group: not in sync after the pass: $(head -c 300 "$work/v2.json")"
for k in $(R --scan --pattern "group_*") default_db; do
  [[ "$(R TYPE "$k")" == graphdata ]] && R GRAPH.DELETE "$k" >/dev/null
done
echo PASS
