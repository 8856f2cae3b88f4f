#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries a binary loads, one
# a line, sorted. The Dockerfile's runtime stage installs exactly these, so the
# image follows whatever CMakeLists.txt links without a hand-kept list.
set -euo pipefail

bin="${1:?usage: runtime-packages.sh BINARY}"

# ldd prints "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)".
# On Debian 12 (merged /usr) dpkg knows some files under /lib and others under
# /usr/lib, so ask for both spellings of the path.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
  alt="${lib#/usr}"
  [[ "$alt" == "$lib" ]] && alt="/usr$lib"
  if ! dpkg -S "$lib" 2>/dev/null && ! dpkg -S "$alt" 2>/dev/null; then
    echo "runtime-packages: no Debian package holds $lib" >&2
    exit 1
  fi
done | cut -d: -f1 | sort -u
