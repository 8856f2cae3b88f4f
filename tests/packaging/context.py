#!/usr/bin/env python3
"""Prints, NUL-separated, the files of ROOT that `docker build ROOT` would
send as its context: the checkout's files (git's view, so build output and
other ignored files are left out) less what .dockerignore excludes.

The matching follows .dockerignore's rules closely enough for our patterns:
a pattern matches a path or any of its parent folders, `**/` matches at any
depth, a later `!pattern` takes a match back.

Usage: context.py ROOT
"""
import fnmatch
import os
import subprocess
import sys


def patterns(root):
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
            lines = [l.strip() for l in f]
    except FileNotFoundError:
        return []
    return [l for l in lines if l and not l.startswith("#")]


def matches(path, pat):
    pat = pat.lstrip("/").rstrip("/")
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        if pat.startswith("**/"):
            if any(fnmatch.fnmatchcase("/".join(parts[j:i]), pat[3:]) for j in range(i)):
                return True
        elif fnmatch.fnmatchcase("/".join(parts[:i]), pat):
            return True
    return False


def excluded(path, pats):
    out = False
    for p in pats:
        neg = p.startswith("!")
        if matches(path, p[1:] if neg else p):
            out = not neg
    return out


def files(root):
    if os.path.isdir(os.path.join(root, ".git")):
        listed = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True).stdout.decode().split("\0")
        return sorted({p for p in listed if p and os.path.isfile(os.path.join(root, p))})
    found = []
    for d, _, names in os.walk(root):
        found += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(found)


def main():
    root = sys.argv[1]
    pats = patterns(root)
    sys.stdout.write("".join(p + "\0" for p in files(root) if not excluded(p, pats)))


if __name__ == "__main__":
    main()
