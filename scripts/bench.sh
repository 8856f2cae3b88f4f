#!/usr/bin/env bash
# `make bench [SIZE=entities]`: falkorsync full sync side by side with the Python
# peers and the read/write limits, plus incremental lag, reconcile time and
# freshness under a steady Graphiti-like writer
# (bench/run.sh does the work; it starts its own servers on ports 27687/26379).
# Prints a table, writes bench/results/<timestamp>.json, regenerates BENCHMARKS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/bench/run.sh" "$@"
