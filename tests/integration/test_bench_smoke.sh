#!/usr/bin/env bash
# The benchmark keeps working: bench/run.sh --smoke (300 entities) against the
# test servers must produce every figure, a well-formed result JSON, the table
# and the Markdown report. No timing is asserted; correctness is: falkorsync's
# cache and the replay of its recorded commands verify clean.
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
OUT="$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke-test.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

echo "== bench/run.sh --smoke"
BUILD="$(dirname "$BIN")" bash "$ROOT/bench/run.sh" --smoke --use-running --out "$OUT/raw" \
  --result "$OUT/result.json" --markdown "$OUT/BENCHMARKS.md" >"$OUT/stdout" \
  || { cat "$OUT/stdout"; fail "bench/run.sh --smoke failed"; }
cat "$OUT/stdout"

echo "== the result JSON is well-formed and complete"
R() { jq -e "$@" "$OUT/result.json" >/dev/null; }
R . || fail "result.json is not JSON"
R '.complete == true and .missing == []' || fail "missing figures: $(jq -c .missing "$OUT/result.json")"
for shape in a b; do
  for c in falkorsync seed_style batched read_limit write_limit write_limit_pipe graph_bulk; do
    R --arg s "$shape" --arg c "$c" '.shapes[$s].contenders[$c] as $x
      | ($x.seconds > 0) and ($x.items_per_s > 0) and ($x.nodes_per_s > 0)
        and ($x.relationships_per_s > 0) and ($x.cpu_s >= 0) and ($x.max_rss_mb > 0)' \
      || fail "shape ($shape) $c: a figure is missing: $(jq -c --arg s "$shape" --arg c "$c" '.shapes[$s].contenders[$c]' "$OUT/result.json")"
  done
  for r in falkorsync_vs_seed_style falkorsync_vs_batched falkorsync_vs_limit falkorsync_vs_graph_bulk; do
    R --arg s "$shape" --arg r "$r" '.shapes[$s].ratios[$r] > 0' || fail "shape ($shape) ratio $r missing"
  done
  R --arg s "$shape" '.shapes[$s].ratios.binding_limit | IN("read", "write")' || fail "binding limit"
  # every item was written by falkorsync and by the replay of its commands
  R --arg s "$shape" '.shapes[$s].contenders.falkorsync.nodes + .shapes[$s].contenders.falkorsync.relationships == .shapes[$s].items' \
    || fail "shape ($shape): falkorsync did not write every item"
  for w in falkorsync write_limit batched; do
    R --arg s "$shape" --arg w "$w" '.shapes[$s].verify[$w].differences == 0' \
      || fail "shape ($shape): verify found differences in the cache $w left: $(jq -c --arg s "$shape" --arg w "$w" '.shapes[$s].verify[$w]' "$OUT/result.json")"
  done
done
R '.shapes.b.verify.graph_bulk.differences == 0' || fail "GRAPH.BULK of shape (b) differs from the source"
# the write limit replays what falkorsync full sends now: the bulk method's stream
for shape in a b; do
  R --arg s "$shape" '.shapes[$s].contenders.write_limit | .method == "bulk" and .graph_bulk_commands > 0' \
    || fail "shape ($shape): the write limit is not the bulk method's stream: $(jq -c --arg s "$shape" '.shapes[$s].contenders.write_limit' "$OUT/result.json")"
done
R '.shapes.a.contenders.write_limit.vecf32_queries > 0' || fail "shape (a): no vecf32 conversions in the replayed stream"

echo "== freshness: every change kind written, seen in FalkorDB, and the service figures present"
for k in add invalidate summary delete_episode delete_edge; do
  R --arg k "$k" '.freshness.b.kinds[$k] | .ops > 0 and .failed == 0 and .visible == .ops' \
    || fail "freshness $k: $(jq -c --arg k "$k" '.freshness.b.kinds[$k]' "$OUT/result.json")"
done
R '.freshness.b | (.items_changed > 0) and (.written > 0) and (.write_amplification > 0)
    and (.max_gap_s > 0) and (.runs.incremental.runs > 0) and (.cpu_s.falkorsync >= 0)
    and (.cpu_s.falkordb >= 0) and (.full_pass_s > 0) and (.idle_core_share >= 0)' \
  || fail "freshness figures incomplete: $(jq -c '.freshness.b | del(.kinds)' "$OUT/result.json")"
R '.shapes.a.verify.seed_style.by_type.Entity.different > 0' \
  || fail "the seed-style peer's datetime text should differ (that is why it is reported)"
R '.machine.cores > 0 and (.machine.neo4j | startswith("Neo4j/")) and (.machine.falkordb_module | length > 0)' \
  || fail "machine description incomplete"

echo "== soak (SOAK_MINUTES=1): samples from start to end, runs, verify 0 at the end"
R '.soak | (.samples | length) >= 3 and .runs > 0 and .ops > 0 and .verify_differences == 0
    and .exit == 0 and (.flat | [.rss_kb, .fds, .threads] | all(.start > 0 and .end > 0))' \
  || fail "soak figures: $(jq -c '.soak | del(.samples)' "$OUT/result.json")"
R '.soak.flat.rss_kb.change != null and (.soak.all_flat | type == "boolean")' || fail "soak: no flatness verdict"
R '.run.soak.minutes == 1' || fail "the smoke's soak is not 1 minute"

echo "== table and Markdown"
grep -q '^falkorsync full ' "$OUT/stdout" || fail "no table on stdout"
for h in '# Benchmarks' '## Machine' '## Dataset' '## Full sync, shape (a)' '## Full sync, shape (b)' \
         'falkorsync ÷ min(read limit, write limit)' 'bench/run.sh --smoke' '## Freshness' \
         '### Freshness runs so far' 'write amplification' '## Soak' 'flat within 10%'; do
  grep -qF "$h" "$OUT/BENCHMARKS.md" || fail "BENCHMARKS.md lacks '$h'"
done
echo PASS
