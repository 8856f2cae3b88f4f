#!/usr/bin/env bash
# FalkorDB out of memory during a full sync: with maxmemory set so that the
# shadow graph cannot fit next to the live one, the run fails with an error
# that names memory (FDB_OOM, side falkordb), the live graph stays as it was,
# and the half-built shadow graph and its checkpoint are removed. Then the same
# wall during incremental: FDB_OOM naming maxmemory (not SERVER), the watermark
# not advanced, no retry at once in serve, and nothing lost once the limit is
# lifted (verify 0).
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_oom_$$"
export FALKORDB_LAYOUT=single
# The binaries read NEO4J_URI, the server scripts NEO4J_PORT: one Neo4j for both.
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# redis-cli exits 0 on an error reply, so pick the command by the key's type.
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
old_policy=$(R CONFIG GET maxmemory-policy | sed -n 2p)
svc_pid=
cleanup() {
  [[ -n "$svc_pid" ]] && kill -9 "$svc_pid" 2>/dev/null || true
  # Always: other tests share this server.
  R CONFIG SET maxmemory 0 >/dev/null || true
  R CONFIG SET maxmemory-policy "${old_policy:-noeviction}" >/dev/null || true
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do del_key "$k"; done
  R DEL "falkorsync:ckpt:${FALKORDB_DATABASE}" >/dev/null || true
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
}
TMPD=$(mktemp -d)
trap 'cleanup; rm -rf "$TMPD"' EXIT
count() { R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n) RETURN count(n)" --raw | sed -n 2p; }

echo "== a small graph, full sync with no memory limit"
"$GEN" --clear --entities 200 --groups 2 --dim 16 --seed 3 >/dev/null 2>&1
used_memory() { R INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
base=$(used_memory)
out=$("$BIN" full)
[[ "$out" == *'"ok":true'* ]] || fail "full sync without a limit failed: $out"
before=$(count)
[[ "$before" =~ ^[0-9]+$ && "$before" -gt 0 ]] || fail "no live graph after the first full sync ($before)"
echo "live graph: $before nodes"

echo "== maxmemory just above used memory, more data in Neo4j, full again"
"$GEN" --entities 1500 --groups 2 --dim 16 --seed 4 >/dev/null 2>&1
used=$(used_memory)
# Room for about one more copy of the first graph: the shadow graph (now ~8x
# bigger) starts, then hits the wall part way.
room=$(( used > base ? used - base : 0 ))
(( room >= 256 * 1024 )) || room=$((256 * 1024))
echo "used memory $used bytes, the live graph ~$room bytes; maxmemory $((used + room))"
R CONFIG SET maxmemory-policy noeviction >/dev/null
R CONFIG SET maxmemory $((used + room)) >/dev/null
for method in bulk query; do
  echo "== $method method: the shadow graph does not fit"
  set +e
  out=$(SYNC_FULL_METHOD=$method "$BIN" full 2>"$TMPD/stderr")
  rc=$?
  set -e
  err=$(cat "$TMPD/stderr")
  echo "$out"
  (( rc != 0 )) || fail "$method: full sync succeeded although the shadow graph cannot fit"
  [[ "$out" == *'"error_code":"FDB_OOM"'* ]] || fail "$method: error_code is not FDB_OOM"
  [[ "$out" == *'"error_side":"falkordb"'* ]] || fail "$method: error_side is not falkordb"
  [[ "$out$err" == *"out of memory"* && "$out$err" == *"2x the graph's memory"* ]] ||
    fail "$method: the error does not name memory and the headroom needed"

  # the live graph is as it was, the shadow graph and its checkpoint are gone
  after=$(count)
  [[ "$after" == "$before" ]] || fail "$method: live graph changed: $before nodes before, '$after' after"
  left=$(R --scan --pattern "*__falkorsync_shadow*")
  [[ -z "$left" ]] || fail "$method: shadow graph left behind: $left"
  [[ "$(R EXISTS "falkorsync:ckpt:${FALKORDB_DATABASE}")" == 0 ]] || fail "$method: checkpoint left behind"
done

echo "== the service does not retry an out-of-memory failure at once"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
SYNC_HEALTH_PORT=$(free_port) SYNC_METRICS_PORT=$(free_port) SYNC_API_TOKEN=t0ken \
  SYNC_INTERVAL_SECONDS=3600 SYNC_FULL_ON_STARTUP=true SYNC_MAX_RETRIES=3 \
  SYNC_RETRY_DELAY_SECONDS=0 "$BIN" serve 2>"$TMPD/serve.log" &
svc_pid=$!
for _ in $(seq 1 300); do grep -qs 'giving up until the next interval' "$TMPD/serve.log" && break; sleep 0.1; done
sleep 1 # a retry (delay 0) would have started by now
kill "$svc_pid"; wait "$svc_pid" || true; svc_pid=
grep 'sync failed' "$TMPD/serve.log" || true
grep -q 'giving up until the next interval' "$TMPD/serve.log" || fail "the service did not report the failure"
fails=$(grep -c 'sync failed' "$TMPD/serve.log" || true)
[[ "$fails" == 1 ]] || fail "an out-of-memory failure was logged $fails times (retried at once?)"
grep -q 'FDB_OOM' "$TMPD/serve.log" || fail "the service log does not carry FDB_OOM"
[[ "$(count)" == "$before" ]] || fail "live graph changed after the service's attempt"
[[ -z "$(R --scan --pattern "*__falkorsync_shadow*")" ]] || fail "shadow graph left behind by the service"

echo "== with the limit lifted the next full sync goes through"
R CONFIG SET maxmemory 0 >/dev/null
out=$("$BIN" full)
[[ "$out" == *'"ok":true'* ]] || fail "full sync after lifting the limit failed: $out"
(( $(count) > before )) || fail "the new data did not arrive"
echo "== incremental under a too-small maxmemory: FDB_OOM, watermark kept, nothing lost"
# Changes Graphiti-like writers make: new entities (created_at now) and a rewritten summary.
"$GEN" --entities 0 \
  --exec "UNWIND range(1, 300) AS i CREATE (:Entity {uuid: 'oom-inc-' + toString(i), name: 'oom ' + toString(i), group_id: 'group_a', summary: 'added under the wall', created_at: datetime(), name_embedding: [x IN range(1, 16) | toFloat(x) / 16.0]})" \
  >/dev/null 2>&1 || fail "writing the changes to Neo4j failed"
wm_key="falkorsync:wm:${FALKORDB_DATABASE}"
wm_before=$(R HGETALL "$wm_key" | tr '\n' ' ')
[[ -n "${wm_before// /}" ]] || wm_before=$(R GET "$wm_key")
nodes_before=$(count)
# below what is used: FalkorDB refuses every write (reads still go through)
used=$(used_memory)
R CONFIG SET maxmemory $(( used - 64 * 1024 )) >/dev/null
set +e
out=$("$BIN" incremental 2>"$TMPD/inc.stderr")
rc=$?
set -e
echo "$out"
(( rc != 0 )) || fail "incremental succeeded although FalkorDB refuses every write"
[[ "$out" == *'"error_code":"FDB_OOM"'* ]] || fail "incremental: error_code is not FDB_OOM"
[[ "$out" == *'"error_side":"falkordb"'* ]] || fail "incremental: error_side is not falkordb"
[[ "$out" == *"out of memory"* && "$out" == *maxmemory* ]] || fail "incremental: the error does not name memory and maxmemory"
wm_after=$(R HGETALL "$wm_key" | tr '\n' ' ')
[[ -n "${wm_after// /}" ]] || wm_after=$(R GET "$wm_key")
[[ "$wm_after" == "$wm_before" ]] || fail "the watermark moved although the writes were refused: '$wm_before' -> '$wm_after'"
[[ "$(count)" == "$nodes_before" ]] || fail "the cache changed under the wall"

echo "== the service: an incremental asked through the API fails once, FDB_OOM, no retry at once"
hp=$(free_port)
SYNC_HEALTH_PORT=$hp SYNC_METRICS_PORT=$(free_port) SYNC_API_TOKEN=t0ken \
  SYNC_INTERVAL_SECONDS=3600 SYNC_FULL_ON_STARTUP=false SYNC_MAX_RETRIES=3 \
  SYNC_RETRY_DELAY_SECONDS=0 LOG_FORMAT=json "$BIN" serve 2>"$TMPD/serve-inc.log" &
svc_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$hp/health/live" && break; sleep 0.1; done
curl -sf -X POST -H "Authorization: Bearer t0ken" "http://127.0.0.1:$hp/api/sync/incremental" >/dev/null \
  || fail "POST /api/sync/incremental"
for _ in $(seq 1 300); do grep -qs 'giving up until the next interval' "$TMPD/serve-inc.log" && break; sleep 0.1; done
sleep 1 # a retry (delay 0) would have started by now
kill "$svc_pid"; wait "$svc_pid" || true; svc_pid=
grep 'sync failed' "$TMPD/serve-inc.log" || true
fails=$(grep -c 'sync failed' "$TMPD/serve-inc.log" || true)
[[ "$fails" == 1 ]] || fail "serve: an out-of-memory incremental was logged $fails times (retried at once?)"
grep 'sync failed' "$TMPD/serve-inc.log" | grep -q 'FDB_OOM' || fail "serve: the failure does not carry FDB_OOM"
grep 'sync failed' "$TMPD/serve-inc.log" | grep -q '"mode":"incremental"' || fail "serve: the failed run was not an incremental"

echo "== limit lifted: the next incremental writes everything, verify 0"
R CONFIG SET maxmemory 0 >/dev/null
out=$("$BIN" incremental)
[[ "$out" == *'"ok":true'* ]] || fail "incremental after lifting the limit failed: $out"
(( $(count) >= nodes_before + 300 )) || fail "the changes made under the wall did not arrive ($(count) nodes)"
"$BIN" verify --json >"$TMPD/verify.json" || { cat "$TMPD/verify.json"; fail "verify found differences after the limit was lifted"; }
grep -q '"differences":0' "$TMPD/verify.json" || fail "verify: $(cat "$TMPD/verify.json")"
echo PASS
