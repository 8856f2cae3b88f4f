#!/usr/bin/env python3
"""Reads the Dockerfile the way Docker does (continuation lines joined,
comments dropped), checks what the packaging issue promises of it, and
writes what the shell test needs into OUTDIR:

  build-packages   the build stage's apt-get install list, one a line
  build-run.sh     the build stage's RUN commands after `COPY . .`, one a
                   line, with the /out staging folder spelled $OUT
  healthcheck      the HEALTHCHECK command, NUL-separated
  runtime-env      the runtime stage's ENV settings, one KEY=VALUE a line
  runtime-copies   the sources of the runtime stage's COPY --from=build

Usage: dockerfile.py DOCKERFILE OUTDIR. Exit 1 with the reasons on stderr.
"""
import json
import os
import re
import shlex
import sys


def instructions(path):
    out, cur, start = [], "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            s = raw.strip()
            if s.startswith("#") or (not cur and not s):
                continue
            if not cur:
                start = n
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            kw, _, args = cur.partition(" ")
            out.append((kw.upper(), args.strip(), start))
            cur = ""
    return out


def env_pairs(args):
    """ENV K=V K2="V 2" (the legacy `ENV K V` form too)."""
    toks = shlex.split(args)
    if toks and "=" not in toks[0]:
        return [(toks[0], " ".join(toks[1:]))]
    return [tuple(t.split("=", 1)) for t in toks]


def main():
    path, outdir = sys.argv[1], sys.argv[2]
    errors = []

    def need(cond, msg):
        if not cond:
            errors.append(msg)

    stages = []
    for kw, args, line in instructions(path):
        if kw == "FROM":
            stages.append({"from": args, "line": line, "body": []})
        elif stages:
            stages[-1]["body"].append((kw, args))
    need(len(stages) == 2, f"expected two stages (build, runtime), found {len(stages)}")
    if len(stages) < 2:
        sys.exit("\n".join(errors))
    build, runtime = stages[0], stages[-1]
    need(re.fullmatch(r"debian:12-slim\s+AS\s+build", build["from"], re.I) is not None,
         f"first stage must be 'FROM debian:12-slim AS build', is 'FROM {build['from']}'")
    need(runtime["from"] == "debian:12-slim",
         f"runtime stage must be 'FROM debian:12-slim', is 'FROM {runtime['from']}'")

    # Build stage: one apt-get install, then COPY . . and the same make targets.
    installs = [a for k, a in build["body"] if k == "RUN" and "apt-get install" in a]
    need(len(installs) == 1, f"build stage: expected one apt-get install, found {len(installs)}")
    packages = []
    if installs:
        need("apt-get update" in installs[0], "build stage: apt-get update missing before install")
        segment = installs[0].split("apt-get install", 1)[1].split("&&", 1)[0]
        packages = [t for t in shlex.split(segment) if not t.startswith("-")]
        need("--no-install-recommends" in segment, "build stage: --no-install-recommends missing")
    body = build["body"]
    copy_at = [i for i, (k, a) in enumerate(body) if k == "COPY" and a.split() == [".", "."]]
    need(copy_at, "build stage: 'COPY . .' missing")
    runs = [a for k, a in body[copy_at[0] + 1:] if k == "RUN"] if copy_at else []
    joined = " ; ".join(runs)
    need("make build" in joined, "build stage: does not run 'make build'")
    need("make install DESTDIR=/out PREFIX=/usr" in joined,
         "build stage: does not run 'make install DESTDIR=/out PREFIX=/usr'")
    need("packaging/runtime-packages.sh" in joined,
         "build stage: does not work out the runtime packages with packaging/runtime-packages.sh")
    runs = [re.sub(r"(?<![\w/.$-])/out(?=/|\s|$)", "$OUT", r) for r in runs]

    # Runtime stage.
    rb = runtime["body"]
    by = {}
    for k, a in rb:
        by.setdefault(k, []).append(a)
    user = by.get("USER", [""])[-1].split(":")[0]
    need(user not in ("", "root", "0"), f"runtime stage must run as a non-root USER, has '{user}'")
    exposed = set(" ".join(by.get("EXPOSE", [])).split())
    need({"8080", "8081"} <= exposed, f"runtime stage must EXPOSE 8080 8081, exposes {sorted(exposed)}")
    hc = by.get("HEALTHCHECK", [])
    need(len(hc) == 1, f"runtime stage: expected one HEALTHCHECK, found {len(hc)}")
    hc_args = []
    if hc:
        m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc[0])
        need(m is not None, "HEALTHCHECK must use the exec form CMD [...]")
        if m:
            hc_args = json.loads(m.group(1))
            need("/health/live" in " ".join(hc_args),
                 "HEALTHCHECK must probe /health/live (liveness), not /health or /health/ready")
    runtime_runs = " ".join(by.get("RUN", []))
    need(re.search(r"install -d -o falkorsync[^&]*/app/logs", runtime_runs) is not None,
         "runtime stage must create /app/logs for the falkorsync user (the seed's logging.file_path)")
    ep = by.get("ENTRYPOINT", [])
    need(ep and json.loads(ep[-1]) == ["/usr/bin/falkorsync", "serve"],
         f"ENTRYPOINT must be [\"/usr/bin/falkorsync\", \"serve\"], is {ep[-1] if ep else None}")
    copies = []
    for k, a in rb:
        if k == "COPY" or k == "ADD":
            toks = a.split()
            need(k == "COPY" and toks[0] == "--from=build",
                 f"runtime stage takes files only from the build stage: {k} {a}")
            if toks[0] == "--from=build":
                copies.extend(toks[1:-1])
    need("/out/usr/bin/falkorsync" in copies, "runtime stage does not copy /out/usr/bin/falkorsync")
    rt_installs = [a for k, a in rb if k == "RUN" and "apt-get install" in a]
    need(len(rt_installs) == 1, f"runtime stage: expected one apt-get install, found {len(rt_installs)}")
    for a in rt_installs:
        need("runtime-packages" in a, "runtime stage must install the list runtime-packages.sh made")
        need("--no-install-recommends" in a, "runtime stage: --no-install-recommends missing")
        need("rm -rf /var/lib/apt/lists" in a, "runtime stage: apt lists not removed")
        extra = [t for t in shlex.split(a.split("apt-get install", 1)[1].split("&&", 1)[0])
                 if not t.startswith("-")]
        need(all(not t.endswith("-dev") for t in extra), f"runtime stage installs -dev packages: {extra}")
    env = [p for a in by.get("ENV", []) for p in env_pairs(a)]

    with open(os.path.join(outdir, "build-packages"), "w") as f:
        f.write("".join(p + "\n" for p in packages))
    with open(os.path.join(outdir, "build-run.sh"), "w") as f:
        f.write("".join(r + "\n" for r in runs))
    with open(os.path.join(outdir, "healthcheck"), "w") as f:
        f.write("\0".join(hc_args))
    with open(os.path.join(outdir, "runtime-env"), "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in env if k != "DEBIAN_FRONTEND"))
    with open(os.path.join(outdir, "runtime-copies"), "w") as f:
        f.write("".join(c + "\n" for c in copies))
    if errors:
        sys.exit("Dockerfile: " + "\nDockerfile: ".join(errors))


if __name__ == "__main__":
    main()
