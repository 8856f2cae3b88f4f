#!/usr/bin/env bash
# `make test`: install deps if missing, build, run scripts/lint.sh (banned
# calls, cppcheck, shell scripts, clang-format), start the real servers if they are not running,
# run every ctest (unit + integration), then the unit tests and a subset of
# the integration tests again under ASan+UBSan (build-asan), then the fuzz
# targets for a short fixed time, and stop the servers this run started.
#
# Environment: BUILD (build), JOBS (nproc), CTEST_ARGS (extra ctest args for
# the main run), FUZZ_SECONDS (30), SKIP_FUZZ=1, SKIP_ASAN=1, SKIP_LINT=1,
# ASAN_TESTS (ctest -R regex of the sanitized integration tests; see below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
JOBS="${JOBS:-$(nproc)}"
# Under the sanitizers: every unit test, plus the integration tests that
# drive the codecs and both clients against the real servers (Bolt session,
# FalkorDB connection and parameter text) and the binary's sync runs (full
# in both layouts with a kill -9 and resume, generic profile, incremental and
# continuous with a steady writer): about 3 minutes on 2 cores. The service
# API schema, dashboard, packaging, TLS and bench smoke tests run in the plain
# build only, which keeps `make test` near 30 minutes on 2 cores.
ASAN_TESTS="${ASAN_TESTS:-^integration\.(test_bolt|test_falkor_param|test_falkor_conn|test_smoke|test_full_sync|test_generic|test_incremental|test_routing|test_freshness|test_verify_exact)$}"

start_time=$SECONDS
stage() { echo "== make test: $1 ($((SECONDS - start_time)) s in)"; }

scripts/deps.sh

stage "build"
cmake -S . -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD" -j "$JOBS"

rc=0
if [[ "${SKIP_LINT:-0}" != 1 ]]; then
  stage "lint and format"
  scripts/lint.sh || rc=1
fi

started=0
if ! scripts/servers.sh status >/dev/null 2>&1; then
  started=1
fi
cleanup() {
  if [[ $started -eq 1 ]]; then scripts/servers.sh stop || true; fi
}
trap cleanup EXIT
scripts/servers.sh start

stage "unit and integration tests"
# shellcheck disable=SC2086 # CTEST_ARGS is a list of arguments
(cd "$BUILD" && ctest --output-on-failure -j 1 ${CTEST_ARGS:-}) || rc=$?

if [[ "${SKIP_ASAN:-0}" != 1 ]]; then
  stage "ASan+UBSan build"
  cmake -S . -B build-asan -G Ninja -DFALKORSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j "$JOBS"
  stage "unit tests under ASan+UBSan"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  (cd build-asan && ctest --output-on-failure -L unit) || rc=1
  stage "integration subset under ASan+UBSan: $ASAN_TESTS"
  (cd build-asan && ctest --output-on-failure -R "$ASAN_TESTS") || rc=1
fi

# Compatibility matrix: the core subset against the newest Neo4j, on its own ports.
if [[ "${SKIP_COMPAT:-0}" != 1 ]]; then
  stage "compatibility matrix"
  BUILD="$BUILD" scripts/compat.sh || rc=$?
fi

if [[ "${SKIP_FUZZ:-0}" != 1 ]]; then
  stage "fuzz targets, ${FUZZ_SECONDS} s each"
  CC=clang cmake -S . -B build-fuzz -G Ninja -DFALKORSYNC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    -DFUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
  cmake --build build-fuzz -j "$JOBS"
  (cd build-fuzz && ctest -L fuzz --output-on-failure) || rc=$?
fi

stage "done"
if [[ $rc -ne 0 ]]; then
  echo "make test: FAILED" >&2
else
  echo "make test: all passed"
fi
exit $rc
