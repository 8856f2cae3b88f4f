#!/usr/bin/env bash
# verify and reconcile against the read limit of the same items, side by side (issue 15:
# "at least 70% of the Bolt read limit"). Uses the servers and the graph already there
# (NEO4J_URI, FALKORDB_PORT; a cache made by `falkorsync full` with the same settings).
#
#   bench/verify_limit.sh [RUNS]     RUNS rounds (default 5), each: the read limit
#                                    (bench/readlimit.sh's item queries, summed), then
#                                    `falkorsync verify`, `falkorsync reconcile`, and the
#                                    same with $VERIFY_BASELINE when set (another binary)
#
# Prints one JSON line per measurement (what, wall seconds, CPU seconds of falkorsync,
# Neo4j and FalkorDB, load average) and a summary line with medians and
# ratio = read limit seconds / verify seconds (1.0: verify as fast as reading Neo4j alone).
# In layout per_group verify reads up to 16 groups with one query per type (the group as a
# column, src/sync/verify.c); until December 2026 it read each group with queries of its own
# (a group filter on every type). Those per-group queries are drained too, for comparison
# (read_limit_groups, per group of `falkorsync plan`), and ratio_groups compares with them.
# Environment: BUILD (build dir, default build), FALKORSYNC_RUN (the servers' pid files,
# default <repo>/.run), VERIFY_BASELINE (a falkorsync binary to compare with).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) BDIR="$BUILD" ;; *) BDIR="$ROOT/$BUILD" ;; esac
RUN="${FALKORSYNC_RUN:-$ROOT/.run}"
# The per-group verify queries, drained; prints {"extract_seconds": sum of query times}.
drain_groups() {
  local g t q e a r b x bl total=0 s
  for g in "${GROUPS_OF[@]}"; do
    g=${g//\'/\\\'}
    for t in Entity Episodic Community Saga; do
      q="MATCH (n:\`$t\`) WHERE n.uuid IS NOT NULL AND n.group_id = '$g' RETURN n, n.uuid ORDER BY n.uuid"
      s=$("$BDIR/falkorsync-drain" --query "$q" --fetch "${NEO4J_FETCH_SIZE:-10000}" | jq .seconds)
      total=$(echo "$total + $s" | bc)
    done
    for e in "Entity:RELATES_TO:Entity:'Entity'" "Episodic:MENTIONS:Entity:'Entity'" \
      "Community:HAS_MEMBER::CASE WHEN b:Community THEN 'Community' ELSE 'Entity' END" \
      "Saga:HAS_EPISODE:Episodic:'Episodic'" "Episodic:NEXT_EPISODE:Episodic:'Episodic'"; do
      IFS=: read -r a r b x <<<"$e"
      bl=""; [[ -n "$b" ]] && bl=":$b"
      q="MATCH (a:\`$a\`)-[r:\`$r\`]->(b$bl) WHERE r.uuid IS NOT NULL AND coalesce(r.group_id, a.group_id) = '$g' RETURN r, a.uuid, b.uuid, $x, r.uuid ORDER BY r.uuid"
      s=$("$BDIR/falkorsync-drain" --query "$q" --fetch "${NEO4J_FETCH_SIZE:-10000}" | jq .seconds)
      total=$(echo "$total + $s" | bc)
    done
  done
  jq -n -c --argjson s "$total" '{extract_seconds: $s}'
}
if [[ "${1:-}" == --drain-groups ]]; then # internal: measured as a command of its own
  shift
  GROUPS_OF=("$@")
  drain_groups
  exit 0
fi
RUNS="${1:-5}"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || { echo "verify_limit: RUNS must be a number >= 1" >&2; exit 2; }
NEO_PID=$(cat "$RUN/neo4j.pid") || { echo "verify_limit: no $RUN/neo4j.pid (scripts/servers.sh start)" >&2; exit 2; }
FDB_PID=$(cat "$RUN/falkordb.pid") || { echo "verify_limit: no $RUN/falkordb.pid" >&2; exit 2; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/verify-limit.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
TCK=$(getconf CLK_TCK)
cpu_of() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }

# measure WHAT CMD...: one JSON line; wall from the clock, CPU from /proc and time(1).
measure() {
  local what="$1"; shift
  local n0 f0 t0 t1 rc=0
  n0=$(cpu_of "$NEO_PID"); f0=$(cpu_of "$FDB_PID"); t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  t1=$(date +%s.%N)
  local u s; read -r u s <"$TMP/time" || { u=0; s=0; }
  local extra='{}'
  if [[ $what == read_limit* ]]; then extra=$(tail -n1 "$TMP/out"); fi
  jq -n -c --arg what "$what" --argjson rc "$rc" --argjson wall "$(echo "$t1 - $t0" | bc)" \
    --argjson self "$(echo "$u + $s" | bc)" \
    --argjson neo "$(echo "$(cpu_of "$NEO_PID") - $n0" | bc)" \
    --argjson fdb "$(echo "$(cpu_of "$FDB_PID") - $f0" | bc)" \
    --argjson load "$(cut -d' ' -f1 /proc/loadavg)" --argjson x "$extra" \
    '{what: $what, exit: $rc, wall: $wall, cpu: {self: $self, neo4j: $neo, falkordb: $fdb}, load: $load}
     + (if ($what | startswith("read_limit")) then {seconds: $x.extract_seconds, items: $x.items} else {} end)'
}

GROUPS_OF=()
if [[ "$("$BDIR/falkorsync" plan --json 2>/dev/null | jq -r .layout)" == per_group ]]; then
  mapfile -t GROUPS_OF < <("$BDIR/falkorsync" plan --json 2>/dev/null | jq -r '.graphs[].group')
fi

for _ in $(seq 1 "$RUNS"); do
  measure read_limit bash "$ROOT/bench/readlimit.sh" "$BDIR/falkorsync-drain" "$TMP/drain.jsonl"
  if [[ ${#GROUPS_OF[@]} -gt 0 ]]; then
    measure read_limit_groups bash "${BASH_SOURCE[0]}" --drain-groups "${GROUPS_OF[@]}"
  fi
  measure verify "$BDIR/falkorsync" verify
  measure reconcile "$BDIR/falkorsync" reconcile
  if [[ -n "${VERIFY_BASELINE:-}" ]]; then
    measure verify_baseline "$VERIFY_BASELINE" verify
    measure reconcile_baseline "$VERIFY_BASELINE" reconcile
  fi
done | tee "$TMP/all.jsonl"
# read limit: the drains' own query times (connects excluded), as in BENCHMARKS.md
jq -s -c 'def med: sort | .[(length / 2 | floor)];
  (map(select(.what == "read_limit") | .seconds) | med) as $r
  | (map(select(.what == "read_limit_groups") | .seconds) | if length > 0 then med else null end) as $rg
  | {read_limit_s: $r, read_limit_groups_s: $rg, load_median: (map(.load) | med)}
  + ([group_by(.what)[] | select(.[0].what | startswith("read_limit") | not)
      | {key: .[0].what, value: {wall_s: (map(.wall) | med), ratio: ($r / (map(.wall) | med) * 1000 | round / 1000),
         ratio_groups: (if $rg then ($rg / (map(.wall) | med) * 1000 | round / 1000) else null end),
         failed: (map(select(.exit != 0 and .exit != 1)) | length),
         cpu_s: {self: (map(.cpu.self) | med), neo4j: (map(.cpu.neo4j) | med), falkordb: (map(.cpu.falkordb) | med)}}}]
     | from_entries)' "$TMP/all.jsonl"
