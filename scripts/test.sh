#!/usr/bin/env bash
# `make test`: install deps if missing, build, start the real servers if they
# are not running, run every ctest (unit + integration), then the fuzz targets
# for a short fixed time, and stop the servers this run started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
JOBS="$(nproc)"

scripts/deps.sh

cmake -S . -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD" -j "$JOBS"

started=0
if ! scripts/servers.sh status >/dev/null 2>&1; then
  started=1
fi
cleanup() {
  if [[ $started -eq 1 ]]; then scripts/servers.sh stop || true; fi
}
trap cleanup EXIT
scripts/servers.sh start

rc=0
(cd "$BUILD" && ctest --output-on-failure -j 1 ${CTEST_ARGS:-}) || rc=$?

# Compatibility matrix: the core subset against the newest Neo4j, on its own ports.
if [[ "${SKIP_COMPAT:-0}" != 1 ]]; then
  BUILD="$BUILD" scripts/compat.sh || rc=$?
fi

if [[ "${SKIP_FUZZ:-0}" != 1 ]]; then
  CC=clang cmake -S . -B build-fuzz -G Ninja -DFALKORSYNC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    -DFUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
  cmake --build build-fuzz -j "$JOBS"
  (cd build-fuzz && ctest -L fuzz --output-on-failure) || rc=$?
fi

if [[ $rc -ne 0 ]]; then
  echo "make test: FAILED" >&2
else
  echo "make test: all passed"
fi
exit $rc
