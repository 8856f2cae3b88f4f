#!/usr/bin/env bash
# Start, stop or report a replica of the running FalkorDB (scripts/servers.sh's) on loopback,
# for tests and trying replicas out:
#
#   tests/tools/falkordb_replica.sh start|stop|status
#
# The replica runs the primary's own build: the redis-server and falkordb.so the primary
# reports (INFO server, MODULE LIST), as
#   redis-server --port $FALKORDB_REPLICA_PORT --replicaof 127.0.0.1 $FALKORDB_PORT --loadmodule falkordb.so
# `start` returns once the replica finished its first sync from the primary (at most 60 s).
#
# Environment: FALKORDB_PORT (6379, the primary), FALKORDB_REPLICA_PORT (FALKORDB_PORT + 1),
# FALKORDB_PASSWORD (none; the replica uses it both to reach the primary and for its own
# clients), FALKORSYNC_RUN (<repo>/.run: pid, log and data of the replica).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="${FALKORSYNC_RUN:-$ROOT/.run}"
FALKORDB_PORT="${FALKORDB_PORT:-6379}"
REPLICA_PORT="${FALKORDB_REPLICA_PORT:-$((FALKORDB_PORT + 1))}"
FALKORDB_PASSWORD="${FALKORDB_PASSWORD:-}"
PIDF="$RUN/falkordb-replica-$REPLICA_PORT.pid"
DIR="$RUN/falkordb-replica-$REPLICA_PORT"
LOG="$RUN/falkordb-replica-$REPLICA_PORT.log"

die() { echo "falkordb_replica: $*" >&2; exit 1; }
log() { echo "falkordb_replica: $*" >&2; }
cli() {
  local port=$1; shift
  redis-cli -h 127.0.0.1 -p "$port" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"
}
pid_alive() { [[ -f "$PIDF" ]] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }
link_up() { cli "$REPLICA_PORT" INFO replication 2>/dev/null | tr -d '\r' | grep -qx 'master_link_status:up'; }

start() {
  if pid_alive; then log "replica already running on 127.0.0.1:$REPLICA_PORT (pid $(cat "$PIDF"))"; return 0; fi
  [[ "$(cli "$FALKORDB_PORT" PING 2>/dev/null)" == PONG ]] ||
    die "no FalkorDB primary answers on 127.0.0.1:$FALKORDB_PORT; start it with scripts/servers.sh start"
  (exec 3<>"/dev/tcp/127.0.0.1/$REPLICA_PORT") 2>/dev/null &&
    die "port $REPLICA_PORT is already in use; set FALKORDB_REPLICA_PORT"
  local server module
  server=$(cli "$FALKORDB_PORT" INFO server | tr -d '\r' | sed -n 's/^executable://p')
  # MODULE LIST: name, graph, ver, N, path, P, ...: the path after the graph module's name
  module=$(cli "$FALKORDB_PORT" MODULE LIST | awk 'p && prev == "path" {print; exit} $0 == "graph" {p = 1} {prev = $0}')
  [[ -x "$server" ]] || die "the primary reports no usable redis-server ('$server')"
  [[ -f "$module" ]] || die "the primary has no FalkorDB module file ('$module')"
  mkdir -p "$DIR"
  local args=(--loadmodule "$module" --bind 127.0.0.1 --port "$REPLICA_PORT"
              --replicaof 127.0.0.1 "$FALKORDB_PORT" --daemonize yes --pidfile "$PIDF"
              --logfile "$LOG" --dir "$DIR" --save "" --appendonly no --protected-mode yes)
  [[ -n "$FALKORDB_PASSWORD" ]] && args+=(--requirepass "$FALKORDB_PASSWORD" --masterauth "$FALKORDB_PASSWORD")
  "$server" "${args[@]}" || die "the replica failed to start; see $LOG"
  # The first sync waits for the primary's repl-diskless-sync-delay (5 s by default).
  for _ in $(seq 1 600); do
    if link_up; then log "replica of 127.0.0.1:$FALKORDB_PORT up on 127.0.0.1:$REPLICA_PORT"; return 0; fi
    pid_alive || die "the replica exited; see $LOG"
    sleep 0.1
  done
  die "the replica did not finish its first sync within 60 s; see $LOG"
}

stop() {
  if ! pid_alive; then rm -f "$PIDF"; return 0; fi
  local pid; pid=$(cat "$PIDF")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDF"
  log "replica on 127.0.0.1:$REPLICA_PORT stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid_alive; then
      echo "falkordb replica: running on 127.0.0.1:$REPLICA_PORT (pid $(cat "$PIDF")), link $(link_up && echo up || echo down)"
    else echo "falkordb replica: stopped"; exit 1; fi ;;
  *) echo "usage: tests/tools/falkordb_replica.sh start|stop|status" >&2; exit 2 ;;
esac
