#!/usr/bin/env bash
# Packaging, checked without a Docker engine:
#  - scripts/deps.sh's build and test lists are disjoint and make up --list;
#    the Dockerfile's build stage installs exactly `scripts/deps.sh --list build`,
#    and its build commands, run here on a copy of the build context that
#    .dockerignore leaves, produce what the runtime stage copies;
#  - the image's settings (ENV) and the compose file's environment are what
#    falkorsync accepts; the HEALTHCHECK command tells 200 from 503;
#  - `make install DESTDIR=... PREFIX=/usr` installs a binary that runs, the
#    man page (renders without warnings), the example config and the unit
#    (passes systemd-analyze verify where that works);
#  - the man page, docs/configuration.md and config.example.yaml cover every
#    command, option, setting and variable that --help and `config` show, and
#    docs/operations.md every metric that /metrics serves;
#  - dockerfile-utils lints the Dockerfile and dclint the compose file (pinned
#    in tests/packaging/package-lock.json, cached outside the clone).
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
HERE="$ROOT/tests/packaging"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync"
LINT_DIR="$CACHE/npm/packaging-lint"
export FALKORDB_DATABASE="itest_pkg_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
work=$(mktemp -d)
serve_pid=""
fake_pid=""

fail() { echo "FAIL: $*" >&2; exit 1; }
notice() { echo "NOTICE: $*"; }
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# The environment of a fresh shell: only what the test passes on.
clean_env() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work" "$@"; }
cleanup() {
  [[ -n "$fake_pid" ]] && kill "$fake_pid" 2>/dev/null || true
  if [[ -n "$serve_pid" ]]; then
    kill -9 "$serve_pid" 2>/dev/null || true
  fi
  if command -v redis-cli >/dev/null; then
    for k in $(R --scan --pattern "${FALKORDB_DATABASE}*" 2>/dev/null) \
             $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*" 2>/dev/null); do
      R GRAPH.DELETE "$k" >/dev/null 2>&1 || R DEL "$k" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

defaults="$work/defaults.txt"
clean_env "$BIN" config >"$defaults" || fail "falkorsync config (defaults) failed"
version=$("$BIN" --version)

echo "== Dockerfile: structure, and the build stage's packages against scripts/deps.sh"
python3 "$HERE/dockerfile.py" "$ROOT/Dockerfile" "$work" || fail "Dockerfile checks (above)"
"$ROOT/scripts/deps.sh" --list build | sort >"$work/deps.sorted"
"$ROOT/scripts/deps.sh" --list test | sort >"$work/deps-test.sorted"
"$ROOT/scripts/deps.sh" --list | sort >"$work/deps-all.sorted"
[[ -s "$work/deps.sorted" && -s "$work/deps-test.sorted" ]] \
  || fail "scripts/deps.sh --list build / --list test printed nothing"
both=$(comm -12 "$work/deps.sorted" "$work/deps-test.sorted")
[[ -z "$both" ]] || fail "scripts/deps.sh lists these as build and test packages: $both"
[[ -z "$(uniq -d "$work/deps-all.sorted")" ]] \
  || fail "scripts/deps.sh --list has duplicates: $(uniq -d "$work/deps-all.sorted")"
sort "$work/deps.sorted" "$work/deps-test.sorted" | cmp -s - "$work/deps-all.sorted" \
  || fail "scripts/deps.sh --list is not --list build plus --list test"
sort "$work/build-packages" >"$work/docker.sorted"
dups=$(uniq -d "$work/docker.sorted")
[[ -z "$dups" ]] || fail "Dockerfile lists these packages twice: $dups"
if ! diff -u "$work/deps.sorted" "$work/docker.sorted" >"$work/deps.diff"; then
  cat "$work/deps.diff" >&2
  fail "the Dockerfile's build stage and scripts/deps.sh --list build install different packages (- deps.sh, + Dockerfile)"
fi
echo "same $(wc -l <"$work/deps.sorted") build packages; $(wc -l <"$work/deps-test.sorted") test packages stay out"

echo "== the image's settings: a public bind that refuses to start without a token"
mapfile -t image_env <"$work/runtime-env"
rc=0; clean_env "${image_env[@]}" "$BIN" config >/dev/null 2>"$work/image-config.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q SYNC_API_TOKEN "$work/image-config.err" \
  || fail "the image's ENV (${image_env[*]}) without a token: expected exit 2 naming SYNC_API_TOKEN, got $rc: $(cat "$work/image-config.err")"
clean_env "${image_env[@]}" SYNC_API_TOKEN=t "$BIN" config >/dev/null \
  || fail "the image's ENV with SYNC_API_TOKEN is refused"

echo "== the build stage, run here on the build context .dockerignore leaves"
ctx="$work/context"; OUT="$work/out"
mkdir -p "$ctx" "$OUT"
python3 "$HERE/context.py" "$ROOT" | (cd "$ROOT" && tar --null -T - -cf -) | tar -C "$ctx" -xf -
for f in CMakeLists.txt Makefile src/main.c scripts/deps.sh packaging/falkorsync.1 \
         packaging/falkorsync.service packaging/runtime-packages.sh config.example.yaml; do
  [[ -f "$ctx/$f" ]] || fail ".dockerignore leaves $f out of the build context"
done
for f in .git .run build; do
  [[ ! -e "$ctx/$f" ]] || fail ".dockerignore lets $f into the build context"
done
while IFS= read -r cmd; do
  echo "RUN $cmd"
  (cd "$ctx" && OUT="$OUT" sh -c "$cmd") >"$work/docker-build.log" 2>&1 \
    || { tail -n 40 "$work/docker-build.log" >&2; fail "the build stage's RUN failed: $cmd"; }
done <"$work/build-run.sh"
while IFS= read -r src; do
  [[ -e "$OUT${src#/out}" ]] || fail "the runtime stage copies $src, which the build stage did not make"
done <"$work/runtime-copies"
[[ -s "$OUT/runtime-packages" ]] || fail "runtime-packages.sh found no packages"
while IFS= read -r p; do
  [[ "$p" != *-dev ]] || fail "runtime package $p is a -dev package"
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || fail "runtime package $p is not an installed Debian package"
done <"$OUT/runtime-packages"
grep -qx libssl3 "$OUT/runtime-packages" || fail "runtime packages lack libssl3: $(tr '\n' ' ' <"$OUT/runtime-packages")"
echo "runtime packages: $(tr '\n' ' ' <"$OUT/runtime-packages")"

echo "== make install: DESTDIR=<tmp> PREFIX=/usr (the layout above), and a plain PREFIX"
# The build stage ran `make install DESTDIR=$OUT PREFIX=/usr`; check what it left.
inst="$OUT/usr"
for f in bin/falkorsync share/man/man1/falkorsync.1 share/doc/falkorsync/config.example.yaml \
         share/doc/falkorsync/configuration.md share/doc/falkorsync/operations.md \
         lib/systemd/system/falkorsync.service; do
  [[ -f "$inst/$f" ]] || fail "make install did not install $f"
done
[[ -x "$inst/bin/falkorsync" ]] || fail "installed binary is not executable"
[[ "$("$inst/bin/falkorsync" --version)" == "$version" ]] || fail "installed --version differs from $version"
"$inst/bin/falkorsync" --help >"$work/help.txt" || fail "installed falkorsync --help exited non-zero"
grep -q '^usage: falkorsync' "$work/help.txt" || fail "installed --help prints no usage line"
grep -qx 'ExecStart=/usr/bin/falkorsync serve $FALKORSYNC_ARGS' "$inst/lib/systemd/system/falkorsync.service" \
  || fail "installed unit does not run /usr/bin/falkorsync serve"
prefix="$work/prefix"
DESTDIR="" make -s -C "$ctx" install PREFIX="$prefix" >/dev/null || fail "make install PREFIX=$prefix"
unit="$prefix/lib/systemd/system/falkorsync.service"
grep -qx "ExecStart=$prefix/bin/falkorsync serve \$FALKORSYNC_ARGS" "$unit" \
  || fail "the unit installed under PREFIX=$prefix does not name $prefix/bin/falkorsync"
"$prefix/bin/falkorsync" --version >/dev/null || fail "binary under PREFIX does not run"

echo "== man page: renders without warnings"
man1="$inst/share/man/man1/falkorsync.1"
command -v man >/dev/null || fail "man is missing (scripts/deps.sh installs man-db)"
warnings=$(MANWIDTH=80 man --warnings -l "$man1" 2>&1 >/dev/null) || fail "man -l failed: $warnings"
[[ -z "$warnings" ]] || fail "man -l warns: $warnings"
warnings=$(groff -man -ww -z "$man1" 2>&1) || fail "groff failed: $warnings"
[[ -z "$warnings" ]] || fail "groff -ww warns: $warnings"
MANWIDTH=80 man -l "$man1" 2>/dev/null | grep -q 'EXIT STATUS' || fail "rendered man page has no EXIT STATUS"
grep -q "^\.TH FALKORSYNC 1 .*\"$version\"" "$man1" || fail "man page .TH does not say \"$version\""

echo "== man page, --help and config agree"
# Roff source with \- turned into -, one section at a time.
section() { sed 's/\\-/-/g' "$man1" | awk -v s="$1" '/^\.SH /{on = ($0 == ".SH " s)} on'; }
commands=$(awk '/^Commands:/{on=1; next} on && /^$/{exit} on && /^  [a-z]/{print $1}' "$work/help.txt")
[[ -n "$commands" ]] || fail "no commands found in --help"
for c in $commands; do
  section COMMANDS | grep -qE "^\.BR? $c( |$)" || fail "command '$c' (--help) is not under COMMANDS in falkorsync(1)"
done
for o in $(grep -oE -- '--[a-z][a-z-]+' "$work/help.txt" | sort -u); do
  section OPTIONS | grep -qF -- "$o" || fail "option $o (--help) is not under OPTIONS in falkorsync(1)"
done
section ENVIRONMENT | awk '
  /^\.B [A-Z_0-9]+$/ {var = $2; next}
  var && /^\.RB \( [a-z0-9_.]+ \)$/ {key = $3; next}
  var && key && /^\[/ {d = substr($0, 2, length($0) - 2); print var "\t" key "\t" d; var = key = ""}
' >"$work/man-env.tsv"
secret() { [[ "$1" == "***" || "$1" == "neo4j.password" || "$1" == "falkordb.password" || "$1" == "monitoring.api_token" ]]; }
while read -r key env value; do
  value="${value:-}"
  row=$(awk -F'\t' -v e="$env" '$1 == e' "$work/man-env.tsv")
  [[ -n "$row" ]] || fail "$env ($key) is not under ENVIRONMENT in falkorsync(1)"
  [[ "$(cut -f2 <<<"$row")" == "$key" ]] || fail "falkorsync(1) gives $env the key $(cut -f2 <<<"$row"), config says $key"
  secret "$key" && continue
  want="${value:-empty}"
  [[ "$(cut -f3 <<<"$row")" == "$want" ]] || fail "falkorsync(1) gives $env the default [$(cut -f3 <<<"$row")], config says [$want]"
done <"$defaults"
echo "$(wc -l <"$defaults") settings, $(wc -w <<<"$commands") commands in the man page"

echo "== docs/configuration.md and config.example.yaml cover every setting"
doc="$ROOT/docs/configuration.md"
example="$ROOT/config.example.yaml"
while read -r key env value; do
  value="${value:-}"
  row=$(grep -F "| \`$key\` | \`$env\` |" "$doc" || true)
  [[ -n "$row" ]] || fail "docs/configuration.md has no row '| \`$key\` | \`$env\` |'"
  if ! secret "$key"; then
    cell=$(awk -F' [|] ' '{print $3}' <<<"$row")
    want='empty'; [[ -n "$value" ]] && want="\`$value\`"
    [[ "$cell" == "$want" ]] || fail "docs/configuration.md gives $key the default $cell, config says $want"
  fi
  sect="${key%%.*}"; name="${key#*.}"
  awk -v s="$sect:" -v k="  # $name: " '$0 == s {on=1; next} /^[a-z]/ {on=0} on && index($0, k) == 1 {found=1} END {exit !found}' "$example" \
    || fail "config.example.yaml has no '  # $name:' under '$sect:'"
  grep -qF "[$env]" "$example" || fail "config.example.yaml does not name $env"
done <"$defaults"
diff <(clean_env "$BIN" config -c "$example") "$defaults" >/dev/null \
  || fail "config.example.yaml as shipped changes a setting"
sed -E 's/^  # ([a-z_]+: .*)$/  \1/' "$example" >"$work/uncommented.yaml"
n=$(grep -cE '^  [a-z_]+: ' "$work/uncommented.yaml")
[[ $n -eq $(wc -l <"$defaults") ]] || fail "config.example.yaml has $n commented settings, config prints $(wc -l <"$defaults")"
if ! diff "$defaults" <(clean_env "$BIN" config -c "$work/uncommented.yaml") >"$work/example.diff" 2>&1; then
  cat "$work/example.diff" >&2
  fail "config.example.yaml with every line uncommented does not give the defaults"
fi

echo "== systemd unit"
for d in '^Type=(simple|notify)$' '^Restart=on-failure$' '^DynamicUser=yes$' '^ProtectSystem=strict$' \
         '^NoNewPrivileges=yes$' '^StateDirectory=falkorsync$' '^LogsDirectory=falkorsync$'; do
  grep -qE "$d" "$unit" || fail "the unit lacks $d"
done
probe="$work/probe.service"
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$probe"
if command -v systemd-analyze >/dev/null && out=$(systemd-analyze verify "$probe" 2>&1) && [[ -z "$out" ]]; then
  out=$(MANPATH="$prefix/share/man" systemd-analyze verify "$unit" 2>&1) \
    || fail "systemd-analyze verify: $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify: $out"
  echo "systemd-analyze verify: clean ($(systemd-analyze --version | head -n 1))"
else
  notice "systemd-analyze is missing or cannot verify a unit here; skipped that one check"
fi

echo "== linters: dockerfile-utils (Dockerfile), dclint (compose); npm ci into $LINT_DIR"
command -v npm >/dev/null && command -v node >/dev/null \
  || fail "node and npm are missing (scripts/deps.sh installs nodejs)"
if ! cmp -s "$HERE/package-lock.json" "$LINT_DIR/package-lock.json" || [[ ! -d "$LINT_DIR/node_modules" ]]; then
  rm -rf "$LINT_DIR"; mkdir -p "$LINT_DIR"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$LINT_DIR/"
  npm ci --prefix "$LINT_DIR" --no-audit --no-fund --loglevel=error >/dev/null \
    || fail "npm ci of the pinned linters"
fi
bin_dir="$LINT_DIR/node_modules/.bin"
echo "$("$bin_dir/dockerfile-utils" --version)"
"$bin_dir/dockerfile-utils" lint "$ROOT/Dockerfile" || fail "dockerfile-utils lint Dockerfile (above)"
echo "dclint $("$bin_dir/dclint" --version)"
"$bin_dir/dclint" "$ROOT/docker-compose.yml" --max-warnings 0 --color false \
  || fail "dclint docker-compose.yml (above)"
if docker compose version >/dev/null 2>&1; then
  docker compose -f "$ROOT/docker-compose.yml" config -q || fail "docker compose config"
else
  notice "no docker compose plugin here; dclint's schema check stands in for 'docker compose config'"
fi

echo "== compose: services, health checks, order, ports, and an environment falkorsync accepts"
LINT_MODULES="$LINT_DIR/node_modules" node "$HERE/compose.js" "$ROOT/docker-compose.yml" >"$work/compose-env" \
  || fail "docker-compose.yml checks (above)"
mapfile -t compose_env <"$work/compose-env"
clean_env "${compose_env[@]}" "$BIN" config >"$work/compose-config" 2>&1 \
  || fail "falkorsync refuses the compose environment: $(cat "$work/compose-config")"
grep -qE '^neo4j.uri +NEO4J_URI +bolt://neo4j:7687$' "$work/compose-config" || fail "compose's NEO4J_URI did not apply"

echo "== HEALTHCHECK: 200 is healthy, 503 and silence are not"
mapfile -d '' -t hc <"$work/healthcheck"
fake_port=$(free_port)
cat >"$work/fake.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(open(sys.argv[2]).read()) if self.path == "/health/live" else 404
        try:
            self.send_response(code); self.end_headers(); self.wfile.write(b"{}")
        except OSError:
            pass  # the check hangs up after the status line
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
echo 200 >"$work/fake-status"
python3 "$work/fake.py" "$fake_port" "$work/fake-status" & fake_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$fake_port") 2>/dev/null && break; sleep 0.1; done
SYNC_HEALTH_PORT=$fake_port timeout 10 "${hc[@]}" || fail "HEALTHCHECK fails on a 200 from /health/live"
echo 503 >"$work/fake-status"
! SYNC_HEALTH_PORT=$fake_port timeout 10 "${hc[@]}" || fail "HEALTHCHECK passes on a 503"
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null || true; fake_pid=""
! SYNC_HEALTH_PORT=$fake_port timeout 10 "${hc[@]}" 2>/dev/null || fail "HEALTHCHECK passes with nothing listening"

echo "== a real 'falkorsync serve': HEALTHCHECK, documented metrics, SIGTERM"
hport=$(free_port); mport=$(free_port)
while [[ "$mport" == "$hport" ]]; do mport=$(free_port); done
reachable=0
"$BIN" ping >"$work/ping.txt" 2>&1 && reachable=1
SYNC_HEALTH_PORT=$hport SYNC_METRICS_PORT=$mport SYNC_ENABLE_CONTINUOUS=false LOG_LEVEL=WARNING \
  "$BIN" serve >"$work/serve.log" 2>&1 & serve_pid=$!
# /health/live passes whether or not the databases answer: an outage is no reason to restart
got=1
for _ in $(seq 1 60); do
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "serve exited early"; }
  if SYNC_HEALTH_PORT=$hport timeout 10 "${hc[@]}" 2>/dev/null; then got=0; break; fi
  sleep 0.5
done
[[ $got -eq 0 ]] || fail "HEALTHCHECK (/health/live) never passed against serve"
[[ $reachable -eq 1 ]] || notice "databases not reachable here ($(tr '\n' ' ' <"$work/ping.txt")); HEALTHCHECK passed anyway, as it should"
curl -sf "http://127.0.0.1:$mport/metrics" >"$work/metrics.txt" || fail "GET /metrics"
ops="$ROOT/docs/operations.md"
for m in $(awk '$1 == "#" && $2 == "TYPE" {print $3}' "$work/metrics.txt"); do
  grep -q "\b$m\b" "$ops" || fail "metric $m (served on /metrics) is not in docs/operations.md"
done
for m in $(grep -oE '\b(falkorsync|process)(_[a-z]+)+' "$ops" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -qE "^# TYPE $m " "$work/metrics.txt" || fail "docs/operations.md names $m, which /metrics does not serve"
done
kill -TERM "$serve_pid"
rc=0; wait "$serve_pid" || rc=$?
serve_pid=""
[[ $rc -eq 0 ]] || { tail -n 20 "$work/serve.log" >&2; fail "serve exited $rc after SIGTERM, not 0"; }

echo "== the alert rules (promtool check + unit tests), the Grafana dashboard, the packaging scripts"
command -v promtool >/dev/null || fail "promtool is missing (scripts/deps.sh installs prometheus)"
promtool check rules "$ROOT/packaging/prometheus-rules.yml" >/dev/null \
  || fail "promtool check rules packaging/prometheus-rules.yml"
(cd "$ROOT/tests/packaging" && promtool test rules prometheus-rules.test.yml) \
  || fail "promtool test rules tests/packaging/prometheus-rules.test.yml"
grep -q 'packaging/prometheus-rules.yml' "$ops" || fail "docs/operations.md does not point at packaging/prometheus-rules.yml"
for m in $(grep -oE '\b(falkorsync|process)(_[a-z]+)+' "$ROOT/packaging/prometheus-rules.yml" | sort -u); do
  grep -qE "^# TYPE $m " "$work/metrics.txt" || fail "packaging/prometheus-rules.yml uses $m, which /metrics does not serve"
done
python3 "$HERE/grafana.py" "$ROOT/packaging/grafana-dashboard.json" "$work/metrics.txt" \
  || fail "packaging/grafana-dashboard.json (above)"
if command -v shellcheck >/dev/null; then
  shellcheck -S warning "$ROOT/packaging/runtime-packages.sh" || fail "shellcheck packaging/runtime-packages.sh"
fi

echo PASS
