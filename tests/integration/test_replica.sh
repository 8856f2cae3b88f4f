#!/usr/bin/env bash
# FalkorDB replicas (issue 16): a replica of the test FalkorDB on loopback
# (tests/tools/falkordb_replica.sh, FALKORDB_REPLICA_PORT, default FALKORDB_PORT + 1).
#  - a reader on the replica (the official falkordb Python client) polls the live graph while a
#    full sync replaces a previous version: every state it sees is the old or the new complete
#    graph (never absent, never part-built), while it does see the shadow graph part-built;
#  - falkordb.wait_replicas: 1 reports the acknowledgement ("replicas": {"wanted": 1,
#    "acked": 1}) after full and incremental, and the replica holds the run's writes when the
#    command returns;
#  - falkorsync pointed at the replica fails with FDB_READONLY, naming the replica and the primary;
#  - with the replica stopped, wait_replicas: 1 ends within falkordb.wait_timeout_ms with the
#    documented warning (exit 0, "acked": 0), and serve's /metrics shows it.
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BIN="${FALKORSYNC_BIN:-$ROOT/build/falkorsync}"
GEN="$(dirname "$BIN")/falkorsync-gen"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync"
FALKORDB_CLIENT=falkordb==1.8.1 # the version the other tests pin
VENV="$CACHE/venv-falkordb-1.8.1"
export FALKORDB_PORT="${FALKORDB_PORT:-6379}"
export FALKORDB_REPLICA_PORT="${FALKORDB_REPLICA_PORT:-$((FALKORDB_PORT + 1))}"
export FALKORDB_DATABASE="itest_replica_$$"
export FALKORDB_LAYOUT=single
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
unset FALKORDB_WAIT_REPLICAS FALKORDB_WAIT_TIMEOUT_MS
REPLICA="$ROOT/tests/tools/falkordb_replica.sh"
G="$FALKORDB_DATABASE"
work=$(mktemp -d)
reader_pid=
svc_pid=

fail() { echo "FAIL: $*" >&2; exit 1; }
R() { redis-cli -p "$FALKORDB_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
RR() { redis-cli -p "$FALKORDB_REPLICA_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
# "nodes relationships" of graph $2 through redis-cli function $1, in one query
counts() {
  "$1" GRAPH.RO_QUERY "$2" "MATCH (n) WITH count(n) AS c OPTIONAL MATCH ()-[r]->() RETURN c, count(r)" |
    sed -n 3,4p | paste -sd' '
}
cleanup() {
  [[ -n "$reader_pid" ]] && kill "$reader_pid" 2>/dev/null || true
  [[ -n "$svc_pid" ]] && kill -9 "$svc_pid" 2>/dev/null || true
  "$REPLICA" stop 2>/dev/null || true
  rm -rf "${FALKORSYNC_RUN:-$ROOT/.run}/falkordb-replica-$FALKORDB_REPLICA_PORT"
  for k in $(R --scan --pattern "${G}*") $(R --scan --pattern "falkorsync:*${G}*"); do
    R GRAPH.DELETE "$k" >/dev/null 2>&1 || R DEL "$k" >/dev/null 2>&1 || true
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== [$SECONDS s] the official falkordb client (venv in $VENV)"
if ! "$VENV/bin/python" -c "import falkordb" 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$FALKORDB_CLIENT" || fail "pip install $FALKORDB_CLIENT"
fi

echo "== [$SECONDS s] a replica on 127.0.0.1:$FALKORDB_REPLICA_PORT"
"$REPLICA" start

echo "== [$SECONDS s] the previous version: a full sync of a small graph"
"$GEN" --clear --entities 40 --groups 1 --dim 8 --seed 21 >/dev/null 2>&1
out=$("$BIN" full)
[[ "$out" == *'"ok":true'* ]] || fail "first full sync: $out"
[[ "$out" != *'"replicas"'* ]] || fail "wait_replicas is 0 by default, yet the report has replicas: $out"
old=$(counts R "$G")
echo "old graph: $old (nodes relationships)"

echo "== [$SECONDS s] a reader polls the replica during a full sync that replaces it"
"$GEN" --entities 60 --groups 1 --dim 8 --seed 22 >/dev/null 2>&1
"$VENV/bin/python" "$ROOT/tests/integration/replica_reader.py" 127.0.0.1 "$FALKORDB_REPLICA_PORT" \
  "$G" "$work/stop" ${FALKORDB_PASSWORD:+"$FALKORDB_PASSWORD"} >"$work/reader.jsonl" 2>"$work/reader.err" &
reader_pid=$!
for _ in $(seq 1 300); do grep -qs '"ready"' "$work/reader.jsonl" && break; sleep 0.1; done
grep -qs '"ready"' "$work/reader.jsonl" || { cat "$work/reader.err" >&2; fail "the reader did not start"; }
# Small batches, one in flight: the shadow graph grows in many steps the reader can catch.
out=$(SYNC_FULL_METHOD=query SYNC_BATCH_SIZE=5 SYNC_PIPELINE_DEPTH=1 FALKORDB_WAIT_REPLICAS=1 "$BIN" full)
echo "$out"
[[ "$out" == *'"ok":true'* ]] || fail "full sync: $out"
[[ "$out" == *'"replicas":{"wanted":1,"acked":1}'* ]] || fail "full sync did not report 1 replica acknowledging"
new=$(counts R "$G")
# acknowledged: the replica holds the new graph as the command returns, without polling
[[ "$(counts RR "$G")" == "$new" ]] || fail "replica has '$(counts RR "$G")' after the acknowledged full sync, primary '$new'"
touch "$work/stop"
wait "$reader_pid" || { cat "$work/reader.err" >&2; fail "the reader failed"; }
reader_pid=
echo "new graph: $new; the reader saw:"
cat "$work/reader.jsonl"
[[ "$new" != "$old" ]] || fail "the new version has the same counts as the old one: the test proves nothing"
python3 - "$work/reader.jsonl" "$old" "$new" <<'EOF' || fail "the reader on the replica saw a graph that was neither version"
import json, sys
old, new = tuple(map(int, sys.argv[2].split())), tuple(map(int, sys.argv[3].split()))
states = [json.loads(l) for l in open(sys.argv[1]) if '"graph"' in l]
live = [(s["nodes"], s["relationships"]) for s in states if s["graph"] == "live"]
shadow = [(s["nodes"], s["relationships"]) for s in states if s["graph"] == "shadow"]
bad = [s for s in live if s not in (old, new)]
if bad:
    sys.exit(f"live graph seen as {bad} (nodes, relationships); only {old} or {new} are complete")
if old not in live or new not in live:
    sys.exit(f"the reader saw {live}, not both versions: it did not overlap the swap")
partial = [s for s in shadow if s[0] is not None and s != new]
if not partial:
    sys.exit(f"the reader never saw the shadow graph part-built ({shadow}): it did not overlap the build")
print(f"live: {live}; shadow part-built {len(partial)} times, never under the live name")
EOF

echo "== [$SECONDS s] incremental with wait_replicas: 1"
"$GEN" --entities 5 --groups 1 --dim 8 --seed 23 >/dev/null 2>&1
out=$(FALKORDB_WAIT_REPLICAS=1 "$BIN" incremental 2>"$work/incr.err")
echo "$out"
[[ "$out" == *'"ok":true'* && "$out" == *'"replicas":{"wanted":1,"acked":1}'* ]] ||
  fail "incremental did not report the acknowledgement: $out"
[[ "$out" != *'"warning"'* ]] || fail "a warning although the replica acknowledged"
[[ "$(counts RR "$G")" == "$(counts R "$G")" ]] || fail "replica behind the primary after an acknowledged incremental"
# nothing new (and no overlap window to write again): no WAIT
out=$(FALKORDB_WAIT_REPLICAS=1 SYNC_OVERLAP_SECONDS=0 "$BIN" incremental 2>/dev/null)
[[ "$out" == *'"upserted":0,'* && "$out" == *'"deleted":0,'* ]] || fail "incremental wrote again: $out"
[[ "$out" != *'"replicas"'* ]] || fail "an incremental run that wrote nothing waited for replicas: $out"

echo "== [$SECONDS s] pointed at the replica: a clear error"
set +e
out=$(FALKORDB_PORT=$FALKORDB_REPLICA_PORT "$BIN" full 2>"$work/ro.err")
rc=$?
set -e
cat "$work/ro.err"
(( rc == 1 )) || fail "full sync into a replica exited $rc"
[[ "$out" == *'"error_code":"FDB_READONLY"'* && "$out" == *'"error_side":"falkordb"'* ]] ||
  fail "not classified FDB_READONLY/falkordb: $out"
grep -q "is a read-only replica of 127.0.0.1:$FALKORDB_PORT" "$work/ro.err" &&
  grep -q "writes to the primary only" "$work/ro.err" || fail "the error does not say it is a replica and where the primary is"

set +e
out=$(FALKORDB_PORT=$FALKORDB_REPLICA_PORT "$BIN" ping)
rc=$?
set -e
echo "$out"
(( rc == 1 )) && grep -q "^falkordb: FAILED FalkorDB at .* is a read-only replica of 127.0.0.1:$FALKORDB_PORT" <<<"$out" ||
  fail "ping does not say the FalkorDB it reaches is a replica"

echo "== [$SECONDS s] the replica stopped: wait_replicas: 1 warns within the timeout"
"$REPLICA" stop
"$GEN" --entities 5 --groups 1 --dim 8 --seed 24 >/dev/null 2>&1
set +e
# `timeout` only guards against a hang; the WAIT itself is bounded by 1500 ms
out=$(FALKORDB_WAIT_REPLICAS=1 FALKORDB_WAIT_TIMEOUT_MS=1500 timeout 50 "$BIN" incremental 2>"$work/warn.err")
rc=$?
set -e
echo "$out"
(( rc == 0 )) || fail "incremental exited $rc with the replica down (124: it hung)"
[[ "$out" == *'"ok":true'* && "$out" == *'"replicas":{"wanted":1,"acked":0}'* ]] ||
  fail "the report does not show 0 of 1 replicas: $out"
[[ "$out" == *'"warning":"falkordb.wait_replicas: 1 replica wanted, 0 acknowledged'*'within 1500 ms; 0 replicas connected'* ]] ||
  fail "the report's warning is not the documented one: $out"
grep -q '"level":"WARNING".*replicas did not acknowledge' "$work/warn.err" || fail "no warning logged: $(cat "$work/warn.err")"

echo "== [$SECONDS s] serve: the warning and the metrics"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
mport=$(free_port)
SYNC_HEALTH_PORT=0 SYNC_METRICS_PORT=$mport SYNC_INTERVAL_SECONDS=3600 SYNC_FULL_ON_STARTUP=true \
  FALKORDB_WAIT_REPLICAS=1 FALKORDB_WAIT_TIMEOUT_MS=500 "$BIN" serve 2>"$work/serve.log" &
svc_pid=$!
metrics=""
for _ in $(seq 1 300); do
  metrics=$(curl -fsS "http://127.0.0.1:$mport/metrics" 2>/dev/null || true)
  [[ "$metrics" == *'falkorsync_runs_total{mode="full",result="success"} 1'* ]] && break
  sleep 0.1
done
kill "$svc_pid"; wait "$svc_pid" || true; svc_pid=
grep -E '^falkorsync_replica(s_acked|_wait_shortfalls_total) ' <<<"$metrics" || fail "no falkorsync_replica* metrics: $(tail -5 "$work/serve.log")"
grep -qx 'falkorsync_replicas_acked 0' <<<"$metrics" || fail "falkorsync_replicas_acked is not 0"
grep -qx 'falkorsync_replica_wait_shortfalls_total 1' <<<"$metrics" || fail "the shortfall was not counted"
grep -q 'replicas did not acknowledge' "$work/serve.log" || fail "serve did not log the warning"
echo PASS
