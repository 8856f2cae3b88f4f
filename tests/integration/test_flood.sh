#!/usr/bin/env bash
# Calm under a connection flood (issue 17): while one address holds 500 half-open or idle
# connections and 200 WebSocket clients (half of them never read), /health, /health/live,
# /health/ready, the API and /metrics each answer within 1 s, and a sync run still completes.
# Bounded: about 900 loopback sockets for about 30 s. Sync speed with and without the 200
# WebSocket clients is printed (FLOOD_SPEED=1), never asserted.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_flood_$$"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*"); do
    if [[ "$(R TYPE "$k")" == graphdata ]]; then R GRAPH.DELETE "$k" >/dev/null; else R DEL "$k" >/dev/null; fi
  done
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
HP=$(free_port); MP=$(free_port)
export SYNC_HEALTH_PORT=$HP SYNC_METRICS_PORT=$MP SYNC_INTERVAL_SECONDS=3600 SYNC_API_TOKEN=flood-token

"$GEN" --clear --entities "${FLOOD_ENTITIES:-300}" --dim 8 >/dev/null
"$BIN" serve 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$HP/health/live" && break; sleep 0.1; done
for _ in $(seq 1 600); do curl -s "http://127.0.0.1:$HP/api/sync/status" | grep -q '"state":"idle"' && break; sleep 0.1; done

python3 - "$HP" "$MP" "${FLOOD_SPEED:-0}" <<'EOF' || { grep -v '^{' "$work/serve.log" | tail -60 >&2; fail "the flood (above)"; }
import base64, json, os, socket, sys, time, urllib.request

hp, mp, speed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
fails = []

def get(port, path, timeout=1.0, method="GET"):
    """One request on a new connection; (status, seconds). The timeout is the promise."""
    t0 = time.monotonic()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"Authorization": "Bearer flood-token"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status, time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, time.monotonic() - t0
    except Exception as e:  # a timeout or a refused connection
        return repr(e), time.monotonic() - t0

def ws_open():
    s = socket.create_connection(("127.0.0.1", hp), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws/updates HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    s.setblocking(False)
    return s

def drain(socks):
    for s in socks:
        try:
            while s.recv(65536):
                pass
        except (BlockingIOError, OSError):
            pass

def full_sync_seconds():
    st, _ = get(hp, "/api/sync/full", timeout=5, method="POST")
    if st != 202:
        fails.append(f"POST /api/sync/full -> {st}")
        return None
    for _ in range(1200):
        try:
            doc = json.load(urllib.request.urlopen(f"http://127.0.0.1:{hp}/api/sync/status", timeout=5))
        except Exception as e:
            fails.append(f"/api/sync/status -> {e!r}")
            return None
        if doc["state"] == "idle" and doc["last_run"]:
            return doc["last_run"]["duration_seconds"] if doc["last_run"]["result"] == "success" else None
        time.sleep(0.1)
    return None

if speed:
    base = [full_sync_seconds() for _ in range(3)]

# 200 WebSocket clients: the odd ones never read
ws = []
for i in range(200):
    try:
        ws.append(ws_open())
    except Exception as e:
        fails.append(f"WebSocket client {i}: {e}")
        break
readers = ws[0::2]
print(f"flood: {len(ws)} WebSocket clients connected", flush=True)

# 500 half-open or idle connections: half send half a request, half send nothing
idle = []
for i in range(500):
    try:
        s = socket.create_connection(("127.0.0.1", hp), timeout=5)
        if i % 2:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # no blank line: never finished
        idle.append(s)
    except OSError as e:
        fails.append(f"idle connection {i}: {e}")
        break
for i in range(100):  # and some on the metrics port too
    try:
        idle.append(socket.create_connection(("127.0.0.1", mp), timeout=5))
    except OSError:
        break
print(f"flood: {len(idle)} idle or half-open connections opened", flush=True)

routes = [(hp, "/health"), (hp, "/health/live"), (hp, "/health/ready"), (hp, "/api/sync/status"),
          (hp, "/api/sync/statistics"), (mp, "/metrics")]
worst = 0.0
t_end = time.monotonic() + 10
rounds = 0
while time.monotonic() < t_end:
    for port, path in routes:
        st, sec = get(port, path, timeout=1.0)
        worst = max(worst, sec)
        if st != 200:
            fails.append(f"{path} under the flood -> {st} after {sec:.2f} s")
    drain(readers)
    rounds += 1
print(f"flood: {rounds * len(routes)} requests under the flood, slowest {worst:.3f} s", flush=True)

# a sync run while every client is attached: events flow to the readers, the others fill up
took = full_sync_seconds()
if took is None:
    fails.append("a full sync under the flood did not succeed")
st, sec = get(hp, "/health/live", timeout=1.0)
if st != 200:
    fails.append(f"/health/live after the run -> {st}")
got = b""
for s in readers[:5]:
    try:
        got += s.recv(65536)
    except (BlockingIOError, OSError):
        pass
drain(readers)

if speed:
    loaded = [full_sync_seconds() for _ in range(3)]
    print(f"speed: full sync seconds, no WebSocket clients: {base}; with {len(ws)} attached "
          f"(half never reading) and {len(idle)} idle connections: {loaded}", flush=True)

metrics = urllib.request.urlopen(f"http://127.0.0.1:{mp}/metrics", timeout=2).read().decode()
print("\n".join(l for l in metrics.splitlines() if l.startswith("falkorsync_http_connections_closed_total")))
for s in ws + idle:
    s.close()
if fails:
    print("\n".join("FAIL: " + f for f in fails[:20]), file=sys.stderr)
    sys.exit(1)
EOF

# the flood is gone: the service still answers and the process is alive
kill -0 "$pid" || fail "the service died"
curl -sf -m 2 "http://127.0.0.1:$HP/health/live" >/dev/null || fail "/health/live after the flood"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[[ $rc -eq 0 ]] || { tail -20 "$work/serve.log"; fail "SIGTERM after the flood should exit 0, got $rc"; }
echo "PASS: flood"
