# shellcheck shell=bash
# Helpers shared by the integration scripts: source it after `set -euo pipefail`.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets NEO4J_URI from NEO4J_PORT when unset (the binaries read NEO4J_URI, the server
# scripts NEO4J_PORT: one Neo4j for both) and the test password, and defines:
#   R ...            redis-cli against the test FalkorDB
#   fail MSG         prints FAIL: MSG on stderr and exits 1
#   now              seconds since the epoch, with nanoseconds
#   sigterm_timed PID LOG
#                    copies LOG to LOG.before (what happened before the signal), sends
#                    SIGTERM to PID and waits for it; sets stop_rc (its exit status) and
#                    stop_took (seconds from the signal to its exit), and prints both
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
sigterm_timed() {
  local pid="$1" log="$2" t0
  cp "$log" "$log.before"
  t0=$(now)
  kill -TERM "$pid"
  stop_rc=0
  wait "$pid" || stop_rc=$?
  stop_took=$(echo "$(now) - $t0" | bc)
  echo "   exit $stop_rc, $stop_took s after SIGTERM"
}
