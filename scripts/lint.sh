#!/usr/bin/env bash
# `make lint`: banned calls, cppcheck, shellcheck, clang-format. Exits non-zero on any finding.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rc=0

# Calls we never use (STYLE.md): unbounded or unchecked.
mapfile -t csrc < <(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')
if grep -nE '\b(sprintf|strcpy|strcat|atoi|atol|strtok|gets)\s*\(' "${csrc[@]}"; then
  echo "lint: banned call above (use snprintf, memcpy with a length, strtol, strtok_r)" >&2
  rc=1
fi

if command -v cppcheck >/dev/null; then
  cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
    --inline-suppr --suppress=missingIncludeSystem -I src src || rc=1
fi

if command -v shellcheck >/dev/null; then
  shellcheck -S warning scripts/*.sh .ci/run tests/integration/*.sh 2>/dev/null || rc=1
fi

# Every tracked C file as .clang-format writes it (fix: clang-format -i FILE).
mapfile -t cfiles < <(git ls-files '*.c' '*.h')
if command -v clang-format >/dev/null; then
  if ! clang-format --dry-run --Werror "${cfiles[@]}"; then
    echo "lint: the files above differ from .clang-format (run clang-format -i on them)" >&2
    rc=1
  fi
else
  echo "lint: clang-format not installed: format not checked" >&2
  rc=1
fi

if [[ $rc -eq 0 ]]; then echo "lint: clean"; fi
exit $rc
