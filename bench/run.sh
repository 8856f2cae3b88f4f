#!/usr/bin/env bash
# Benchmarks side by side: falkorsync full sync against two Python peers and
# against the read limit (Neo4j through falkorsync's Bolt client) and the write
# limit (falkorsync's own FalkorDB commands replayed, plus GRAPH.BULK), on the
# Graphiti-shaped generator's data with and without embeddings; then
# incremental lag, reconcile time, and freshness under a steady Graphiti-like
# writer. Prints a table, writes the raw figures as JSON and regenerates
# BENCHMARKS.md (bench/report.py).
#
#   bench/run.sh [SIZE]        SIZE = generator entities (default 5000; items ~ 5.1 x SIZE)
#   bench/run.sh --smoke       300 entities, no lag/reconcile, a 3 s freshness run at 10
#                              changes/s; output to a temp dir
#   bench/run.sh --only freshness   one section (full, lag, reconcile, freshness, soak; a
#                              comma list); BENCHMARKS.md then gets only those sections replaced
#
# Options:
#   --out DIR        keep the raw figures here (default: a temp dir, deleted at the end)
#   --result FILE    the run's JSON (default bench/results/<timestamp>.json; smoke: in --out)
#   --markdown FILE  regenerate this instead of BENCHMARKS.md; --no-markdown: none
#   --use-running    use the servers in the environment (NEO4J_URI or NEO4J_PORT,
#                    FALKORDB_PORT) instead of dedicated ones; nothing is flushed,
#                    the cache graph gets a unique name (the smoke test uses this)
#   --only LIST      run only these sections: full (both shapes' full-sync contenders),
#                    lag, reconcile, freshness, soak
#
# Environment: BUILD (build dir, default build), BENCH_NEO4J_PORT (27687),
# BENCH_FALKORDB_PORT (26379), BENCH_RUN (<repo>/.run/bench), NEO4J_HEAP (3g),
# BENCH_SEED (42), BENCH_SEED_FRACTION (seed-style sample, default 0.25; smoke 1),
# BENCH_LAG_RATE (20), BENCH_LAG_SECONDS (30), BENCH_RECONCILE_ENTITIES (100000; 0 skips),
# BENCH_VERIFY_A (verify shape (a) caches too: default only when SIZE <= 2000),
# BENCH_VERIFY_RECONCILE=1 (verify the cache after the 1% reconcile).
# Freshness: BENCH_FRESH_SHAPES ("b a"; smoke "b"), BENCH_FRESH_B_ENTITIES (100000; smoke
# SIZE), BENCH_FRESH_A_ENTITIES (SIZE), BENCH_FRESH_RATE (200; smoke 10),
# BENCH_FRESH_SECONDS (60; smoke 3), BENCH_FRESH_IDLE (10; smoke 1), BENCH_FRESH_TIMEOUT
# (120; smoke 30), BENCH_FRESH_THREADS (writer sessions, 16), BENCH_FRESH_MIX (see
# bench/peers/freshness.py), BENCH_FRESH_REUSE=1 (keep a graph of about the size in Neo4j
# instead of generating it again), BENCH_FRESH_LAYOUT (the cache's layout: per_group, the
# graphiti profile's default, polled in every group's graph; single; default per_group on the
# benchmark's own servers, single with --use-running), BENCH_FRESH_SERVE_ENV
# (extra settings for the service, e.g. "SYNC_RECONCILE_EVERY=0"). BENCH_LABEL: a word for
# this run in the report's history tables (e.g. "before").
# Soak: SOAK_MINUTES (60; smoke 1), BENCH_SOAK_ENTITIES (2000; smoke SIZE), BENCH_SOAK_RATE
# (writer changes/s, 20; smoke 10), BENCH_SOAK_SAMPLES (points sampled, 12), BENCH_SOAK_MIX
# (the writer's mix, as freshness.py --mix; e.g. one that keeps the graph's size steady).
# Scale-out (issue 16; full mode only): BENCH_SCALE_ENTITIES (5000: shape (b) in 9 groups into
# 1 FalkorDB and a 3-primary cluster, bench/cluster.sh), BENCH_CLUSTER_PORTS ("27000 27001
# 27002"), BENCH_FAILOVER_REPEAT (3 kill -9 failovers of the lease, bench/failover.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) BDIR="$BUILD" ;; *) BDIR="$ROOT/$BUILD" ;; esac
BIN="$BDIR/falkorsync"
GEN="$BDIR/falkorsync-gen"
DRAIN="$BDIR/falkorsync-drain"
REPLAY="$BDIR/falkorsync-replay"
CACHE="${FALKORSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync}"

MODE=full
DEFAULT_SIZE=5000 # with the 100k-entity reconcile, about ten minutes on 2 cores, plus the soak (SOAK_MINUTES, 60)
SIZE=""
OUT=""
RESULT=""
MARKDOWN="$ROOT/BENCHMARKS.md"
USE_RUNNING=0
SECTIONS=""
ARGS_SEEN=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) MODE=smoke ;;
    --out) OUT="$2"; shift ;;
    --result) RESULT="$2"; shift ;;
    --markdown) MARKDOWN="$2"; shift ;;
    --no-markdown) MARKDOWN="" ;;
    --use-running) USE_RUNNING=1 ;;
    --only) SECTIONS="$2"; shift ;;
    -h|--help) sed -n '2,47p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) SIZE="$1" ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $MODE == smoke ]]; then
  SIZE="${SIZE:-300}"
  SEED_FRACTION="${BENCH_SEED_FRACTION:-1}"
  [[ -n "$OUT" ]] || OUT="$(mktemp -d "${TMPDIR:-/tmp}/falkorsync-bench-smoke.XXXXXX")"
  [[ -n "$RESULT" ]] || RESULT="$OUT/result.json"
  [[ " ${ARGS_SEEN[*]} " == *" --markdown "* ]] || MARKDOWN=""
else
  SIZE="${SIZE:-$DEFAULT_SIZE}"
  SEED_FRACTION="${BENCH_SEED_FRACTION:-0.25}"
fi
ALL_SECTIONS="full,lag,reconcile,freshness,soak,scale"
[[ "$SIZE" =~ ^[0-9]+$ && "$SIZE" -ge 50 ]] || { echo "bench: SIZE must be an entity count >= 50" >&2; exit 2; }
if [[ -z "$SECTIONS" ]]; then
  if [[ $MODE == smoke ]]; then SECTIONS="full,freshness,soak"; else SECTIONS="$ALL_SECTIONS"; fi
fi
for s in ${SECTIONS//,/ }; do
  case "$s" in full|lag|reconcile|freshness|soak|scale) ;; *) echo "bench: unknown section $s (full, lag, reconcile, freshness, soak, scale)" >&2; exit 2 ;; esac
done
section() { [[ ",$SECTIONS," == *",$1,"* ]]; }
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$RESULT" ]] || RESULT="$ROOT/bench/results/$STAMP.json"
KEEP_OUT=1
if [[ -z "$OUT" ]]; then OUT="$(mktemp -d "${TMPDIR:-/tmp}/falkorsync-bench.XXXXXX")"; KEEP_OUT=0; fi
mkdir -p "$OUT" "$(dirname "$RESULT")"
WORK="$OUT"
SEED="${BENCH_SEED:-42}"
DIM=1024
LAG_RATE="${BENCH_LAG_RATE:-20}"
LAG_SECONDS="${BENCH_LAG_SECONDS:-30}"
RECONCILE_ENTITIES="${BENCH_RECONCILE_ENTITIES:-100000}"
if [[ -n "${BENCH_VERIFY_A:-}" ]]; then VERIFY_A="$BENCH_VERIFY_A"
elif [[ "$SIZE" -le 2000 ]]; then VERIFY_A=1; else VERIFY_A=0; fi
PIPELINE_DEPTH="${SYNC_PIPELINE_DEPTH:-4}"
if [[ $MODE == smoke ]]; then
  FRESH_SHAPES="${BENCH_FRESH_SHAPES:-b}"
  FRESH_B_ENTITIES="${BENCH_FRESH_B_ENTITIES:-$SIZE}"
  FRESH_RATE="${BENCH_FRESH_RATE:-10}"
  FRESH_SECONDS="${BENCH_FRESH_SECONDS:-3}"
  FRESH_IDLE="${BENCH_FRESH_IDLE:-1}"
  FRESH_TIMEOUT="${BENCH_FRESH_TIMEOUT:-30}"
else
  FRESH_SHAPES="${BENCH_FRESH_SHAPES:-b a}"
  FRESH_B_ENTITIES="${BENCH_FRESH_B_ENTITIES:-100000}"
  FRESH_RATE="${BENCH_FRESH_RATE:-200}"
  FRESH_SECONDS="${BENCH_FRESH_SECONDS:-60}"
  FRESH_IDLE="${BENCH_FRESH_IDLE:-10}"
  FRESH_TIMEOUT="${BENCH_FRESH_TIMEOUT:-120}"
fi
FRESH_A_ENTITIES="${BENCH_FRESH_A_ENTITIES:-$SIZE}"
if [[ $MODE == smoke ]]; then
  SOAK_MINUTES="${SOAK_MINUTES:-1}"
  SOAK_ENTITIES="${BENCH_SOAK_ENTITIES:-$SIZE}"
  SOAK_RATE="${BENCH_SOAK_RATE:-10}"
else
  SOAK_MINUTES="${SOAK_MINUTES:-60}"
  SOAK_ENTITIES="${BENCH_SOAK_ENTITIES:-2000}"
  SOAK_RATE="${BENCH_SOAK_RATE:-20}"
fi
SOAK_SAMPLES="${BENCH_SOAK_SAMPLES:-12}"
SOAK_MIX="${BENCH_SOAK_MIX:-}"
SCALE_ENTITIES="${BENCH_SCALE_ENTITIES:-5000}"
FAILOVER_REPEAT="${BENCH_FAILOVER_REPEAT:-3}"
CLUSTER_PORTS="${BENCH_CLUSTER_PORTS:-27000 27001 27002}"
[[ "$SOAK_MINUTES" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench: SOAK_MINUTES must be a number of minutes" >&2; exit 2; }
[[ "$SOAK_SAMPLES" =~ ^[0-9]+$ && "$SOAK_SAMPLES" -ge 2 ]] || { echo "bench: BENCH_SOAK_SAMPLES must be >= 2" >&2; exit 2; }
FRESH_MIX="${BENCH_FRESH_MIX:-}"
FRESH_THREADS="${BENCH_FRESH_THREADS:-16}"
FRESH_LAYOUT="${BENCH_FRESH_LAYOUT:-}"
FRESH_SERVE_ENV="${BENCH_FRESH_SERVE_ENV:-}"
FRESH_REUSE="${BENCH_FRESH_REUSE:-}"
# What Neo4j holds now ("<shape>:<entities>" as generated; empty when unknown or changed),
# so that a section can reuse the graph the previous one generated.
NEO4J_GRAPH=""
NEO4J_USED=0 # a section generated a graph in this run
T_START=$(date +%s)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for b in "$BIN" "$GEN" "$DRAIN" "$REPLAY"; do
  [[ -x "$b" ]] || die "$b is missing: build first (make build, or BUILD=<dir>)"
done
command -v jq >/dev/null || die "jq is missing (make deps)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is missing (make deps)"
command -v redis-cli >/dev/null || die "redis-cli is missing (make deps)"

# ---- Servers -------------------------------------------------------------------
STARTED_SERVERS=0
SERVE_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVE_PID" ]]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  if [[ $USE_RUNNING -eq 1 ]]; then reset_falkor 2>/dev/null || true; fi
  if [[ $STARTED_SERVERS -eq 1 ]]; then
    FALKORSYNC_RUN="$BENCH_RUN_DIR" NEO4J_PORT="$NEO4J_PORT" FALKORDB_PORT="$FALKORDB_PORT" \
      scripts/servers.sh stop >&2 || true
  fi
  rm -f "$WORK"/*.resp "$WORK"/*.resp.zst 2>/dev/null || true
  if [[ $KEEP_OUT -eq 0 ]]; then rm -rf "$OUT"; fi
  exit $rc
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

export FALKORDB_LAYOUT=single # the peers write one graph; so does falkorsync here (freshness: FRESH_LAYOUT)
if [[ $USE_RUNNING -eq 1 ]]; then
  FRESH_LAYOUT="${FRESH_LAYOUT:-single}" # graphs named after groups would outlive the run
  NEO4J_PORT="${NEO4J_PORT:-7687}"
  FALKORDB_PORT="${FALKORDB_PORT:-6379}"
  export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:$NEO4J_PORT}"
  export FALKORDB_DATABASE="bench_smoke_$$"
  OWN_FALKOR=0
else
  NEO4J_PORT="${BENCH_NEO4J_PORT:-27687}"
  FALKORDB_PORT="${BENCH_FALKORDB_PORT:-26379}"
  BENCH_RUN_DIR="${BENCH_RUN:-$ROOT/.run/bench}"
  export NEO4J_URI="bolt://127.0.0.1:$NEO4J_PORT"
  export FALKORDB_DATABASE="bench_cache"
  if port_open "$NEO4J_PORT" && port_open "$FALKORDB_PORT"; then
    log "using the benchmark servers already on ports $NEO4J_PORT and $FALKORDB_PORT"
  else
    log "starting dedicated servers (Neo4j :$NEO4J_PORT, FalkorDB :$FALKORDB_PORT) in $BENCH_RUN_DIR"
    FALKORSYNC_RUN="$BENCH_RUN_DIR" NEO4J_PORT="$NEO4J_PORT" FALKORDB_PORT="$FALKORDB_PORT" \
      NEO4J_HEAP="${NEO4J_HEAP:-3g}" scripts/servers.sh start >&2
    STARTED_SERVERS=1
  fi
  OWN_FALKOR=1
fi
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}" FALKORDB_PORT
export FALKORDB_HOST=127.0.0.1
unset FALKORSYNC_RECORD_COMMANDS
DB="$FALKORDB_DATABASE"
R() { redis-cli -p "$FALKORDB_PORT" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }

FDB_PID=$(R INFO server | tr -d '\r' | awk -F: '$1=="process_id"{print $2}')
NEO_PID=$(ss -Hltnp "sport = :$NEO4J_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
[[ -n "$FDB_PID" ]] || die "FalkorDB on port $FALKORDB_PORT does not answer"

case "${FRESH_LAYOUT:=per_group}" in
  single|per_group) ;;
  *) die "BENCH_FRESH_LAYOUT must be single or per_group, not $FRESH_LAYOUT" ;;
esac

# Empties the cache before a writer runs: FLUSHALL on the dedicated server, else
# only the keys this benchmark writes.
reset_falkor() {
  if [[ $OWN_FALKOR -eq 1 ]]; then R FLUSHALL >/dev/null; return; fi
  local k
  for k in $(R --scan --pattern "*${DB}*"); do
    R GRAPH.DELETE "$k" >/dev/null 2>&1 || R DEL "$k" >/dev/null
  done
}

# ---- Python peers --------------------------------------------------------------
make_venv() {  # make_venv DIR REQUIREMENTS
  local dir="$1" req="$2" stamp
  stamp="$(sha256sum "$req" | cut -c1-16)"
  if [[ -x "$dir/bin/python" && "$(cat "$dir/.requirements" 2>/dev/null)" == "$stamp" ]]; then return; fi
  log "creating $dir (pip install -r ${req#"$ROOT"/})"
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$stamp" >"$dir/.requirements"
}
VENV="$CACHE/venv-bench"
VENV_TOOLS="$CACHE/venv-bench-tools"
make_venv "$VENV" "$ROOT/bench/peers/requirements.txt"
make_venv "$VENV_TOOLS" "$ROOT/bench/peers/requirements-tools.txt"
PY="$VENV/bin/python"
PYT="$VENV_TOOLS/bin/python"
PEERS="$ROOT/bench/peers"

# ---- Measuring -----------------------------------------------------------------
TICK=$(getconf CLK_TCK)
SKIP_SETTLE=0
ticks() { if [[ -n "$1" && -r /proc/$1/stat ]]; then awk '{print $14+$15}' "/proc/$1/stat"; else echo 0; fi; }

# settle: waits (at most 60 s) until Neo4j and FalkorDB each use under a
# tenth of a core, so that no contender shares the machine with a server's
# leftover work (Neo4j's JIT compiler and GC after the previous contender:
# without this the first of three falkorsync runs was the slowest every time,
# 4.53, 3.55, 2.75 s, with Neo4j at 5.5 s of CPU instead of 1.9 s).
settle() {
  local i n0 f0
  [[ $MODE == smoke ]] && return 0  # the smoke run checks that it works, not timings
  [[ $SKIP_SETTLE -eq 1 ]] && return 0  # a running service keeps the servers busy on purpose
  for i in $(seq 1 60); do
    n0=$(ticks "$NEO_PID"); f0=$(ticks "$FDB_PID")
    sleep 1
    (( $(ticks "$NEO_PID") - n0 < TICK / 10 && $(ticks "$FDB_PID") - f0 < TICK / 10 )) && return 0
  done
  log "the servers are still busy after 60 s; measuring anyway"
}

# measure NAME CMD...: runs CMD under GNU time (after settle); NAME.json gets wall, CPU, peak RSS
# of CMD, the CPU both servers used meanwhile, the load average, and the last
# JSON line CMD printed. Returns CMD's status.
measure() {
  local name="$1"; shift
  settle
  local f0 n0 f1 n1 l0 l1 rc=0 wall user sys rss out
  f0=$(ticks "$FDB_PID"); n0=$(ticks "$NEO_PID"); l0=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  f1=$(ticks "$FDB_PID"); n1=$(ticks "$NEO_PID"); l1=$(cut -d' ' -f1 /proc/loadavg)
  read -r wall user sys rss < <(tail -n1 "$WORK/$name.time")
  out=$(grep '^{' "$WORK/$name.out" | tail -n1 || true)
  [[ -n "$out" ]] && jq -e . >/dev/null 2>&1 <<<"$out" || out=null
  jq -n --arg name "$name" --argjson rc "$rc" --argjson wall "$wall" --argjson user "$user" \
    --argjson sys "$sys" --argjson rss "$rss" --argjson fdb "$(( f1 - f0 ))" \
    --argjson neo "$(( n1 - n0 ))" --argjson tick "$TICK" --argjson l0 "$l0" --argjson l1 "$l1" \
    --argjson out "$out" \
    '{name: $name, rc: $rc, wall_s: $wall, cpu_s: ($user + $sys), cpu_user_s: $user,
      cpu_sys_s: $sys, max_rss_kb: $rss, falkordb_cpu_s: ($fdb / $tick),
      neo4j_cpu_s: ($neo / $tick), load_before: $l0, load_after: $l1, output: $out}' \
    >"$WORK/$name.json"
  if [[ $rc -ne 0 ]]; then
    log "$name failed (exit $rc); last lines of its stderr:"
    tail -n 5 "$WORK/$name.err" >&2 || true
  else
    log "$name: $(jq -r '"\(.wall_s)s wall, \(.cpu_s * 100 | round / 100)s CPU, \(.max_rss_kb / 1024 | round) MB peak RSS; FalkorDB \(.falkordb_cpu_s)s, Neo4j \(.neo4j_cpu_s)s CPU"' "$WORK/$name.json")"
  fi
  return $rc
}

# verify NAME: falkorsync verify of the cache a contender left; NAME.verify.json.
verify_cache() {
  local name="$1" rc=0
  "$BIN" verify --json >"$WORK/$name.verify.out" 2>"$WORK/$name.verify.err" || rc=$?
  local out; out=$(grep '^{' "$WORK/$name.verify.out" | tail -n1 || true)
  [[ -n "$out" ]] && jq -e . >/dev/null 2>&1 <<<"$out" || out='{"ok":false,"error":"verify printed no JSON"}'
  jq --argjson rc "$rc" '. + {exit: $rc}' <<<"$out" >"$WORK/$name.verify.json"
  log "$name: verify $(jq -r '"differences \(.differences // "?")"' "$WORK/$name.verify.json")"
}

# ---- One shape -------------------------------------------------------------------
run_shape() {
  local shape="$1"
  log "=== shape ($shape): $( [[ $shape == a ]] && echo "Graphiti with $DIM-float embeddings" || echo "the same graph without embeddings")"
  if [[ $shape == a ]]; then
    measure "a.generate" "$GEN" --clear --entities "$SIZE" --dim "$DIM" --seed "$SEED" --batch 1000 \
      || die "the generator failed"
  else
    measure "b.generate" "$GEN" --entities 0 \
      --exec "MATCH (n) WHERE n.name_embedding IS NOT NULL CALL { WITH n REMOVE n.name_embedding } IN TRANSACTIONS OF 5000 ROWS" \
      --exec "MATCH ()-[r]->() WHERE r.fact_embedding IS NOT NULL CALL { WITH r REMOVE r.fact_embedding } IN TRANSACTIONS OF 5000 ROWS" \
      || die "removing the embeddings failed"
  fi
  NEO4J_GRAPH="b:$SIZE"
  [[ $shape == a ]] && NEO4J_GRAPH="a:$SIZE"
  "$GEN" --entities 0 --count | grep '"source":"neo4j"' >"$WORK/$shape.source.json" \
    || die "counting the source failed"

  # Settle, untimed: a checkpoint so that Neo4j does not flush what the
  # generator wrote while a contender runs, then the queries every contender
  # reads, once, so that the first timed contender does not alone meet a cold
  # Neo4j (measured: a freshly started Neo4j spent 11-13 s of CPU on the first
  # reads of shape (a); and 7.5 s instead of 2.6 s in the first falkorsync run
  # right after generating, before the checkpoint was added).
  "$GEN" --entities 0 --exec "CALL db.checkpoint()" >/dev/null 2>&1 || log "db.checkpoint() failed (ignored)"
  # Twice: after one pass the first timed run was still the slowest of three
  # (4.83, 3.36, 2.92 s; Neo4j's JIT is still compiling).
  bash "$ROOT/bench/readlimit.sh" "$DRAIN" "$WORK/$shape.warmup.jsonl" >/dev/null 2>&1 || true
  bash "$ROOT/bench/readlimit.sh" "$DRAIN" "$WORK/$shape.warmup.jsonl" >/dev/null 2>&1 || true
  # And one falkorsync full, untimed: even after two drains and with both
  # servers idle, the first timed run made Neo4j work hardest every time
  # (Neo4j CPU 6.0, 2.7, 1.6 s in three runs; 4.9, 3.3, 2.7 s wall), so the
  # warm-up includes the reader's own pace too. The peers run later, with
  # Neo4j as warm.
  [[ $MODE == smoke ]] || { reset_falkor; "$BIN" full >/dev/null 2>&1 || true; }

  # falkorsync runs three times, around the batched and the seed-style peers;
  # the report takes the median.
  local verify_this=1
  [[ $shape == a && $VERIFY_A -eq 0 ]] && verify_this=0
  reset_falkor
  if measure "$shape.falkorsync.1" "$BIN" full && [[ $verify_this -eq 1 ]]; then verify_cache "$shape.falkorsync.1"; fi
  reset_falkor
  if measure "$shape.batched" "$PY" "$PEERS/batched.py" && [[ $verify_this -eq 1 ]]; then verify_cache "$shape.batched"; fi
  reset_falkor
  measure "$shape.falkorsync.2" "$BIN" full || true
  reset_falkor
  measure "$shape.falkorsync_query" env SYNC_FULL_METHOD=query "$BIN" full || true
  reset_falkor
  if measure "$shape.seed_style" "$PY" "$PEERS/seed_style.py" --fraction "$SEED_FRACTION" && [[ $verify_this -eq 1 ]]; then
    verify_cache "$shape.seed_style"
  fi
  reset_falkor
  measure "$shape.falkorsync.3" "$BIN" full || true

  # Read limit.
  measure "$shape.read_limit" bash "$ROOT/bench/readlimit.sh" "$DRAIN" "$WORK/$shape.drain.jsonl" || true

  # Write limit: record falkorsync's commands, then replay them into an empty FalkorDB.
  local rec="$WORK/$shape.commands.resp"
  rm -f "$rec"
  reset_falkor
  # The write limit is the replay of what falkorsync full sends by default: the bulk
  # method (GRAPH.BULK plus the vecf32 query after each command that carries
  # embeddings). Pinned, so that auto never records the query method unnoticed; if
  # falkorsync falls back to queries by itself, its report says so and the row's note too.
  measure "$shape.falkorsync.recording" env SYNC_FULL_METHOD=bulk FALKORSYNC_RECORD_COMMANDS="$rec" "$BIN" full || true
  reset_falkor
  if measure "$shape.write_limit" "$REPLAY" --file "$rec" --depth "$PIPELINE_DEPTH" --wait-indexes "$DB" \
     && [[ $verify_this -eq 1 ]]; then
    verify_cache "$shape.write_limit"
  fi
  reset_falkor
  measure "$shape.write_limit_pipe" bash -c 'redis-cli -p "$1" ${2:+-a "$2" --no-auth-warning} --pipe <"$3" &&
      "$4" --file /dev/null --wait-indexes "$5"' _ "$FALKORDB_PORT" "${FALKORDB_PASSWORD:-}" "$rec" "$REPLAY" "$DB" || true
  jq -n --argjson bytes "$(stat -c %s "$rec" 2>/dev/null || echo 0)" \
    --arg method "$(jq -r '.output.method // "?"' "$WORK/$shape.falkorsync.recording.json" 2>/dev/null || echo '?')" \
    '{bytes: $bytes, method: $method}' >"$WORK/$shape.commands.json"
  rm -f "$rec"

  # Second write reference: GRAPH.BULK of the same nodes and relationships.
  local bulk="$WORK/$shape.bulk.resp"
  measure "$shape.bulk_encode" "$PYT" "$PEERS/bulk_record.py" --out "$bulk" --graph "$DB" || true
  reset_falkor
  if measure "$shape.graph_bulk" "$REPLAY" --file "$bulk" --depth "$PIPELINE_DEPTH" --wait-indexes "$DB" \
     && [[ $verify_this -eq 1 ]]; then
    verify_cache "$shape.graph_bulk"
  fi
  rm -f "$bulk"
  reset_falkor
}

# ---- Incremental lag ------------------------------------------------------------
free_port() {
  local p
  for p in $(seq "$1" $(( $1 + 200 ))); do port_open "$p" || { echo "$p"; return; }; done
  die "no free port near $1"
}
run_lag() {
  log "=== incremental lag: $LAG_RATE changes/s for $LAG_SECONDS s, interval 1 s"
  reset_falkor
  "$BIN" full >"$WORK/lag.full.out" 2>&1 || die "the full sync before the lag test failed"
  local hp mp
  hp=$(free_port 28080); mp=$(free_port $(( hp + 1 )))
  SYNC_INTERVAL_SECONDS=1 SYNC_RECONCILE_EVERY=0 SYNC_HEALTH_PORT="$hp" SYNC_METRICS_PORT="$mp" \
    LOG_FORMAT=json LOG_FILE="$WORK/lag.service.log" "$BIN" serve >"$WORK/lag.service.out" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    grep -q '"sync completed"' "$WORK/lag.service.log" 2>/dev/null && break
    sleep 0.1
  done
  measure "lag" "$PY" "$PEERS/lag.py" --rate "$LAG_RATE" --seconds "$LAG_SECONDS" || true
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=""
  NEO4J_GRAPH="" # the lag probes are in it now
  grep '"sync completed"' "$WORK/lag.service.log" | jq -s -c \
    '{runs: length, run_ms_p50: (map(.duration_ms) | sort | .[(length/2|floor)]),
      run_ms_max: (map(.duration_ms) | max),
      service_lag_p50: (map(.lag_seconds) | sort | .[(length/2|floor)]),
      service_lag_max: (map(.lag_seconds) | max)}' >"$WORK/lag.service.json" 2>/dev/null \
    || echo '{}' >"$WORK/lag.service.json"
}

# ---- Reconcile --------------------------------------------------------------------
run_reconcile() {
  local n="$RECONCILE_ENTITIES" drift=$(( RECONCILE_ENTITIES / 100 ))
  log "=== reconcile: $n entities (no embeddings), 0% and 1% drift"
  measure "rec.generate" "$GEN" --clear --entities "$n" --dim 0 --seed "$SEED" --batch 5000 \
    || die "the generator failed"
  NEO4J_GRAPH="b:$n"
  "$GEN" --entities 0 --count | grep '"source":"neo4j"' >"$WORK/rec.source.json"
  reset_falkor
  measure "rec.falkorsync" "$BIN" full || die "the full sync before reconcile failed"
  measure "rec.reconcile_0" "$BIN" reconcile || true
  # 1% drift made in FalkorDB directly: a third changed, a third deleted, a third added.
  local third=$(( drift / 3 ))
  {
    R GRAPH.QUERY "$DB" "MATCH (n:Entity) WITH n ORDER BY n.uuid LIMIT $(( drift - 2 * third )) SET n.summary = 'drifted by the benchmark' RETURN count(n)"
    R GRAPH.QUERY "$DB" "MATCH (n:Entity) WITH n ORDER BY n.uuid DESC LIMIT $third DETACH DELETE n RETURN count(n)"
    R GRAPH.QUERY "$DB" "UNWIND range(1, $third) AS i CREATE (n:Entity {uuid: 'bench-drift-' + toString(i), name: 'extra', group_id: 'group_a'}) RETURN count(n)"
  } >"$WORK/rec.drift.out" 2>&1
  jq -n --argjson changed $(( drift - 2 * third )) --argjson deleted "$third" --argjson added "$third" \
    '{changed: $changed, deleted: $deleted, added: $added}' >"$WORK/rec.drift.json"
  measure "rec.reconcile_1" "$BIN" reconcile || true
  if [[ "${BENCH_VERIFY_RECONCILE:-0}" == 1 ]]; then verify_cache "rec.after"; fi
  reset_falkor
}

# ---- Freshness --------------------------------------------------------------------
# run_freshness SHAPE ENTITIES: the graph (reused when Neo4j holds it already), a full
# sync, then `falkorsync serve` at a 1 s interval (reconcile as configured: today every
# sync.reconcile_every-th run) while bench/peers/freshness.py writes Graphiti-like
# changes and polls FalkorDB for them; then the time SIGTERM takes to stop the service
# and one full reconcile pass on the idle graph.
run_freshness() {
  local shape="$1" n="$2" dim=0 batch=5000 name="fresh.$1" hp mp
  [[ $shape == a ]] && { dim=$DIM; batch=1000; }
  log "=== freshness, shape ($shape), $n entities: $FRESH_RATE changes/s for $FRESH_SECONDS s, interval 1 s${FRESH_SERVE_ENV:+, $FRESH_SERVE_ENV}"
  if [[ "$NEO4J_GRAPH" != "$shape:$n" && -n "$FRESH_REUSE" ]]; then
    # BENCH_FRESH_REUSE=1: a graph of this size left by an earlier run (its writer changed
    # some of it) serves as well and saves the generator's minutes.
    local have
    have=$("$GEN" --entities 0 --count | jq -r 'select(.source == "neo4j") | .Entity' 2>/dev/null || echo 0)
    if (( have > n * 95 / 100 && have < n * 105 / 100 )); then
      log "reusing the graph in Neo4j ($have entities; BENCH_FRESH_REUSE)"
      NEO4J_GRAPH="$shape:$n"
    fi
  fi
  if [[ "$NEO4J_GRAPH" != "$shape:$n" ]]; then
    measure "$name.generate" "$GEN" --clear --entities "$n" --dim "$dim" --seed "$SEED" --batch "$batch" \
      || die "the generator failed"
  fi
  NEO4J_GRAPH="" # the writer changes it
  NEO4J_USED=1
  "$GEN" --entities 0 --count | grep '"source":"neo4j"' >"$WORK/$name.source.json" \
    || die "counting the source failed"
  "$GEN" --entities 0 --exec "CALL db.checkpoint()" >/dev/null 2>&1 || log "db.checkpoint() failed (ignored)"
  reset_falkor
  export FALKORDB_LAYOUT="$FRESH_LAYOUT"
  measure "$name.full" "$BIN" full || die "the full sync before the freshness run failed"
  local graphs=""
  if [[ $FRESH_LAYOUT == per_group ]]; then
    # every group's graph, as a Graphiti reader routes a group id to the graph of that name
    graphs=$(R GRAPH.LIST | grep -v '^falkorsync' | paste -sd, -)
    [[ -n "$graphs" ]] || die "no group graph after the per_group full sync"
    log "per_group: polling $graphs"
  fi
  settle
  hp=$(free_port 28080); mp=$(free_port $(( hp + 1 )))
  # shellcheck disable=SC2086 # FRESH_SERVE_ENV is a list of NAME=value words
  env $FRESH_SERVE_ENV SYNC_INTERVAL_SECONDS=1 SYNC_HEALTH_PORT="$hp" SYNC_METRICS_PORT="$mp" \
    LOG_FORMAT=json LOG_FILE="$WORK/$name.service.log" "$BIN" serve >"$WORK/$name.service.out" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    grep -q '"sync completed"' "$WORK/$name.service.log" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || die "falkorsync serve exited: $(tail -n 3 "$WORK/$name.service.out")"
    sleep 0.1
  done
  local peer=("$PY" "$PEERS/freshness.py" --rate "$FRESH_RATE" --seconds "$FRESH_SECONDS"
    --dim "$dim" --idle-seconds "$FRESH_IDLE" --timeout "$FRESH_TIMEOUT" --seed "$SEED"
    --threads "$FRESH_THREADS"
    --service "http://127.0.0.1:$hp" --metrics "http://127.0.0.1:$mp/metrics"
    --pid "falkorsync=$SERVE_PID" --pid "falkordb=$FDB_PID")
  [[ -n "$NEO_PID" ]] && peer+=(--pid "neo4j=$NEO_PID")
  [[ -n "$FRESH_MIX" ]] && peer+=(--mix "$FRESH_MIX")
  [[ -n "$graphs" ]] && peer+=(--graphs "$graphs")
  SKIP_SETTLE=1
  measure "$name" "${peer[@]}" || true
  SKIP_SETTLE=0
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || rc=$?
  t1=$(date +%s.%N)
  SERVE_PID=""
  jq -n --argjson t0 "$t0" --argjson t1 "$t1" --argjson rc "$rc" \
    '{stop_seconds: ($t1 - $t0), exit: $rc}' >"$WORK/$name.stop.json"
  measure "$name.reconcile" "$BIN" reconcile || true
  export FALKORDB_LAYOUT=single
  reset_falkor
}

# ---- Soak -------------------------------------------------------------------------
# soak_sample PID LABEL METRICS_URL: one JSON line with the service's RSS, open file
# descriptors and threads (from /proc) and its run and error counters (from /metrics).
soak_sample() {
  local pid="$1" label="$2" url="$3" rss thr fds m runs ok failed errs
  [[ -r /proc/$pid/status ]] || return 1
  rss=$(awk '$1=="VmRSS:"{print $2}' "/proc/$pid/status")
  thr=$(awk '$1=="Threads:"{print $2}' "/proc/$pid/status")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  m=$(curl -fsS --max-time 5 "$url" 2>/dev/null || true)
  runs=$(awk '/^falkorsync_runs_total\{/{s+=$2} END{print s+0}' <<<"$m")
  ok=$(awk '/^falkorsync_runs_total\{.*result="success"/{s+=$2} END{print s+0}' <<<"$m")
  failed=$(( runs - ok ))
  errs=$(awk '/^falkorsync_errors_total\{/{s+=$2} END{print s+0}' <<<"$m")
  jq -n -c --arg point "$label" --argjson t "$(date +%s.%N)" --argjson rss "${rss:-0}" \
    --argjson thr "${thr:-0}" --argjson fds "$fds" --argjson runs "$runs" --argjson ok "$ok" \
    --argjson failed "$failed" --argjson errs "$errs" \
    '{point: $point, t: $t, rss_kb: $rss, threads: $thr, fds: $fds, runs: $runs,
      runs_ok: $ok, runs_failed: $failed, errors: $errs}'
}

# run_soak: `falkorsync serve` at a 1 s interval for SOAK_MINUTES under the freshness
# bench's Graphiti-like writer at SOAK_RATE changes/s; the service's RSS, fds and threads
# sampled SOAK_SAMPLES times from the first completed run to the writer's end; then
# verify once every change is visible.
run_soak() {
  local n="$SOAK_ENTITIES" name="soak" hp mp seconds step i
  seconds=$(awk -v m="$SOAK_MINUTES" 'BEGIN{printf "%d", m * 60 + 0.5}')
  (( seconds >= 10 )) || die "SOAK_MINUTES: at least 10 seconds"
  step=$(awk -v s="$seconds" -v k="$SOAK_SAMPLES" 'BEGIN{printf "%.3f", s / (k - 1)}')
  log "=== soak, shape (b), $n entities: $SOAK_RATE changes/s for $SOAK_MINUTES min, interval 1 s, $SOAK_SAMPLES samples"
  # the smoke reuses the graph the freshness section left (any Graphiti-shaped graph will do)
  if [[ "$NEO4J_GRAPH" != "b:$n" && ! ( $MODE == smoke && $NEO4J_USED -eq 1 ) ]]; then
    measure "$name.generate" "$GEN" --clear --entities "$n" --dim 0 --seed "$SEED" --batch 5000 \
      || die "the generator failed"
  fi
  NEO4J_GRAPH="" # the writer changes it
  reset_falkor # serve starts with a full sync of the empty cache
  hp=$(free_port 28080); mp=$(free_port $(( hp + 1 )))
  SYNC_INTERVAL_SECONDS=1 SYNC_HEALTH_PORT="$hp" SYNC_METRICS_PORT="$mp" \
    LOG_FORMAT=json LOG_FILE="$WORK/$name.service.log" "$BIN" serve >"$WORK/$name.service.out" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 3000); do # up to 5 min for the first run: a full sync
    grep -q '"sync completed"' "$WORK/$name.service.log" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || die "falkorsync serve exited: $(tail -n 3 "$WORK/$name.service.out")"
    sleep 0.1
  done
  local url="http://127.0.0.1:$mp/metrics" samples="$WORK/$name.samples.jsonl"
  : >"$samples"
  (
    for i in $(seq 0 $(( SOAK_SAMPLES - 1 ))); do
      (( i == 0 )) || sleep "$step"
      soak_sample "$SERVE_PID" "$i" "$url" >>"$samples" || exit 0
    done
  ) &
  local sampler=$!
  local peer=("$PY" "$PEERS/freshness.py" --rate "$SOAK_RATE" --seconds "$seconds"
    --dim 0 --idle-seconds 0 --timeout 60 --seed "$SEED" --threads 4
    --service "http://127.0.0.1:$hp" --metrics "$url"
    --pid "falkorsync=$SERVE_PID" --pid "falkordb=$FDB_PID")
  [[ -n "$NEO_PID" ]] && peer+=(--pid "neo4j=$NEO_PID")
  [[ -n "$SOAK_MIX" ]] && peer+=(--mix "$SOAK_MIX")
  SKIP_SETTLE=1
  measure "$name" "${peer[@]}" || true
  SKIP_SETTLE=0
  wait "$sampler" 2>/dev/null || true
  sleep 3 # a last run or two after the writer's last change became visible
  soak_sample "$SERVE_PID" end "$url" >"$WORK/$name.end.json" || echo '{}' >"$WORK/$name.end.json"
  kill "$SERVE_PID" 2>/dev/null || true
  local rc=0
  wait "$SERVE_PID" 2>/dev/null || rc=$?
  SERVE_PID=""
  jq -n --argjson rc "$rc" --argjson minutes "$SOAK_MINUTES" --argjson rate "$SOAK_RATE" \
    --argjson entities "$n" --argjson samples "$SOAK_SAMPLES" \
    --argjson warnings "$(awk '/"level":"warn/{n++} END{print n+0}' "$WORK/$name.service.log" 2>/dev/null || echo 0)" \
    '{exit: $rc, minutes: $minutes, rate: $rate, entities: $entities, samples: $samples,
      warning_lines: $warnings}' >"$WORK/$name.stop.json"
  verify_cache "$name"
  reset_falkor
}

# run_scale: issue 16's rows. bench/cluster.sh: the same shape-(b) data in 9 groups, full sync
# (per_group) into the one FalkorDB and into a 3-primary Redis Cluster of the same build;
# bench/failover.sh: two serve on one cache, kill -9 of the active one, time to the standby's
# first successful run (the lease's TTL path).
run_scale() {
  log "=== scale-out: $SCALE_ENTITIES entities in 9 groups into 1 shard and 3; $FAILOVER_REPEAT lease failovers"
  NEO4J_GRAPH="" # both scripts clear and refill Neo4j
  if ! BUILD="$BDIR" FALKORDB_CLUSTER_PORTS="$CLUSTER_PORTS" "$ROOT/bench/cluster.sh" "$SCALE_ENTITIES" \
      >"$WORK/scale.cluster.json" 2>"$WORK/scale.cluster.err"; then
    log "the cluster row failed: $(tail -n 2 "$WORK/scale.cluster.err")"
    rm -f "$WORK/scale.cluster.json"
  fi
  FALKORDB_CLUSTER_PORTS="$CLUSTER_PORTS" "$ROOT/scripts/servers.sh" cluster-stop >/dev/null 2>&1 || true
  if ! FALKORSYNC_BIN="$BIN" "$ROOT/bench/failover.sh" "$FAILOVER_REPEAT" \
      >"$WORK/scale.failover.txt" 2>"$WORK/scale.failover.err"; then
    log "the failover row failed: $(tail -n 2 "$WORK/scale.failover.err")"
  fi
  cat "$WORK/scale.cluster.json" "$WORK/scale.failover.txt" 2>/dev/null | sed 's/^/  /' >&2 || true
}

# ---- Machine and versions ---------------------------------------------------------
machine_json() {
  local neo_version fdb_ver redis_ver
  neo_version=$("$DRAIN" --query "RETURN 1" 2>/dev/null | jq -r '.server // "?"' || echo "?")
  fdb_ver=$(R MODULE LIST | tr -d '\r' | awk 'p=="name"&&$0=="graph"{g=1} g&&p=="ver"{print; exit} {p=$0}')
  redis_ver=$(R INFO server | tr -d '\r' | awk -F: '$1=="redis_version"{print $2}')
  jq -n --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
    --argjson cores "$(nproc)" \
    --argjson mem "$(awk '/MemTotal/{print $2}' /proc/meminfo)" \
    --arg kernel "$(uname -sr)" \
    --arg os "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")" \
    --arg falkorsync "$("$BIN" --version 2>/dev/null | head -n1)" \
    --arg commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')" \
    --arg build_type "$(awk -F= '/^CMAKE_BUILD_TYPE/{print $2}' "$BDIR/CMakeCache.txt" 2>/dev/null)" \
    --arg cc "$(${CC:-cc} --version 2>/dev/null | head -n1)" \
    --arg neo4j "$neo_version" --arg falkordb_module "$fdb_ver" --arg redis "$redis_ver" \
    --arg python "$("$PY" --version 2>&1)" \
    --arg peers "$("$VENV/bin/pip" freeze 2>/dev/null | grep -iE '^(neo4j|falkordb|redis)==' | tr '\n' ' ')" \
    --arg tools "$("$VENV_TOOLS/bin/pip" freeze 2>/dev/null | grep -iE '^neo4j-rust-ext==' | tr '\n' ' ')" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{cpu: $cpu, cores: $cores, memory_kb: $mem, kernel: $kernel, os: $os, falkorsync: $falkorsync,
      commit: $commit, build_type: $build_type, compiler: $cc, neo4j: $neo4j,
      falkordb_module: $falkordb_module, redis: $redis, python: $python,
      peer_packages: $peers, tool_packages: $tools, load_at_start: $load}'
}

log "mode $MODE, $SIZE entities, seed-style fraction $SEED_FRACTION, raw figures in $OUT"
machine_json >"$WORK/machine.json"
if section full; then
  run_shape a
  run_shape b
fi
if [[ $MODE == full ]]; then
  if section lag; then run_lag; fi
  if section reconcile && [[ "$RECONCILE_ENTITIES" -gt 0 ]]; then run_reconcile; fi
fi
if section freshness; then
  for shape in $FRESH_SHAPES; do
    case "$shape" in
      a) run_freshness a "$FRESH_A_ENTITIES" ;;
      b) run_freshness b "$FRESH_B_ENTITIES" ;;
      *) die "BENCH_FRESH_SHAPES: unknown shape $shape (a, b)" ;;
    esac
  done
fi
if section soak; then run_soak; fi
if [[ $MODE == full ]] && section scale; then run_scale; fi
T_END=$(date +%s)
# The command that reproduces this run, with the BENCH_* settings it had.
command_line() {
  local pre="" v
  if [[ $MODE == smoke ]]; then echo "bench/run.sh --smoke"; return; fi
  for v in $(compgen -e | grep -E '^(BENCH_|SOAK_MINUTES$)' | grep -vE '^BENCH_(RUN|NEO4J_PORT|FALKORDB_PORT|LABEL)$' | sort); do
    pre+="$v=$(printf '%q' "${!v}") "
  done
  if [[ -z "$pre" && "$SECTIONS" == "$ALL_SECTIONS" ]]; then
    [[ "$SIZE" == "$DEFAULT_SIZE" ]] && echo "make bench" || echo "make bench SIZE=$SIZE"
  else
    echo "${pre}bench/run.sh$([[ "$SIZE" != "$DEFAULT_SIZE" ]] && echo " $SIZE")$([[ "$SECTIONS" != "$ALL_SECTIONS" ]] && echo " --only $SECTIONS")"
  fi
}
jq -n --arg mode "$MODE" --argjson size "$SIZE" --argjson seed "$SEED" --argjson dim "$DIM" \
  --argjson fraction "$SEED_FRACTION" --argjson depth "$PIPELINE_DEPTH" \
  --argjson lag_rate "$LAG_RATE" --argjson lag_seconds "$LAG_SECONDS" \
  --argjson reconcile_entities "$RECONCILE_ENTITIES" --argjson verify_a "$VERIFY_A" \
  --arg stamp "$STAMP" --argjson seconds $(( T_END - T_START )) \
  --arg command "$(command_line)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg sections "$SECTIONS" --arg fresh_shapes "$FRESH_SHAPES" \
  --argjson fresh_rate "$FRESH_RATE" --argjson fresh_seconds "$FRESH_SECONDS" \
  --argjson fresh_a "$FRESH_A_ENTITIES" --argjson fresh_b "$FRESH_B_ENTITIES" \
  --arg fresh_env "$FRESH_SERVE_ENV" --arg fresh_layout "$FRESH_LAYOUT" --arg run_label "${BENCH_LABEL:-}" \
  --argjson soak_minutes "$SOAK_MINUTES" --argjson soak_rate "$SOAK_RATE" \
  --argjson soak_entities "$SOAK_ENTITIES" \
  '{mode: $mode, entities: $size, sections: ($sections | split(",")), "label": $run_label,
    freshness: {shapes: ($fresh_shapes | split(" ") | map(select(length > 0))), rate: $fresh_rate,
                seconds: $fresh_seconds, entities: {a: $fresh_a, b: $fresh_b},
                serve_env: $fresh_env, layout: $fresh_layout},
    soak: {minutes: $soak_minutes, rate: $soak_rate, entities: $soak_entities}, seed: $seed, dim: $dim, seed_fraction: $fraction,
    pipeline_depth: $depth, lag_rate: $lag_rate, lag_seconds: $lag_seconds,
    reconcile_entities: $reconcile_entities, verify_shape_a: ($verify_a == 1), stamp: $stamp,
    bench_seconds: $seconds, command: $command, load_at_end: $load}' >"$WORK/run.json"

report_args=(--raw "$WORK" --result "$RESULT")
[[ -n "$MARKDOWN" ]] && report_args+=(--markdown "$MARKDOWN" --history "$ROOT/bench/results")
python3 "$ROOT/bench/report.py" "${report_args[@]}"
log "done in $(( T_END - T_START )) s; result: $RESULT${MARKDOWN:+; $MARKDOWN regenerated}"
