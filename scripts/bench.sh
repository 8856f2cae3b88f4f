#!/usr/bin/env bash
# `make bench`: side-by-side benchmarks (issue 7). Not built yet.
echo "bench: the benchmarks are not built yet (see the benchmarks issue)" >&2
exit 2
