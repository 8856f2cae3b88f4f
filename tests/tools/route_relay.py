#!/usr/bin/env python3
"""A Bolt relay that plays one member of a Neo4j cluster in front of a real single Neo4j: it
passes every byte through, except the SUCCESS that answers ROUTE, whose routing table it
rewrites to the one in TABLE_FILE (so one Neo4j looks like a cluster of relays).

    route_relay.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT TABLE_FILE [--silent] [--delay-file F]

TABLE_FILE holds one JSON object, re-read at every ROUTE:
  {"ttl": 300, "routers": ["127.0.0.1:17110"], "readers": ["127.0.0.1:17111", ...],
   "writers": ["127.0.0.1:17110"]}
--silent: accept connections and never answer (a member that hangs), for timeout tests.
--delay-file F: while F exists, each message from the server waits the milliseconds F holds (a
slow member, so that a test can kill it in the middle of a run).
Prints one line per accepted connection ("accept") and per rewritten table ("route"), so a test
can tell which member a client used. Loopback only; for tests, not for production.
"""
import json
import socket
import struct
import sys
import threading
import time

listen_port, up_host, up_port, table_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
silent = "--silent" in sys.argv[5:]
delay_file = sys.argv[sys.argv.index("--delay-file") + 1] if "--delay-file" in sys.argv else None
out_lock = threading.Lock()


def say(line):
    with out_lock:
        print(f"{time.time():.3f} route_relay {listen_port}: {line}", flush=True)


# ---- PackStream: just what a SUCCESS metadata map holds ----

class Struct:
    def __init__(self, tag, fields):
        self.tag, self.fields = tag, fields


def dec(b, i):
    m = b[i]
    i += 1
    if m < 0x80:
        return m, i
    if m >= 0xF0:
        return m - 0x100, i
    hi = m & 0xF0
    if hi in (0x80, 0x90, 0xA0, 0xB0):
        n = m & 0x0F
        return dec_sized(b, i, hi, n)
    if m == 0xC0:
        return None, i
    if m in (0xC2, 0xC3):
        return m == 0xC3, i
    if m == 0xC1:
        return struct.unpack(">d", b[i:i + 8])[0], i + 8
    ints = {0xC8: ">b", 0xC9: ">h", 0xCA: ">i", 0xCB: ">q"}
    if m in ints:
        n = struct.calcsize(ints[m])
        return struct.unpack(ints[m], b[i:i + n])[0], i + n
    sizes = {0xD0: (0x80, ">B"), 0xD1: (0x80, ">H"), 0xD2: (0x80, ">I"),
             0xD4: (0x90, ">B"), 0xD5: (0x90, ">H"), 0xD6: (0x90, ">I"),
             0xD8: (0xA0, ">B"), 0xD9: (0xA0, ">H"), 0xDA: (0xA0, ">I"),
             0xCC: (0xCC, ">B"), 0xCD: (0xCC, ">H"), 0xCE: (0xCC, ">I")}
    if m in sizes:
        kind, fmt = sizes[m]
        k = struct.calcsize(fmt)
        n = struct.unpack(fmt, b[i:i + k])[0]
        return dec_sized(b, i + k, kind, n)
    raise ValueError(f"marker {m:#x}")


def dec_sized(b, i, kind, n):
    if kind == 0x80:
        return b[i:i + n].decode(), i + n
    if kind == 0xCC:
        return bytes(b[i:i + n]), i + n
    if kind == 0x90:
        items = []
        for _ in range(n):
            v, i = dec(b, i)
            items.append(v)
        return items, i
    if kind == 0xA0:
        d = {}
        for _ in range(n):
            k, i = dec(b, i)
            d[k], i = dec(b, i)
        return d, i
    tag = b[i]
    fields = []
    i += 1
    for _ in range(n):
        v, i = dec(b, i)
        fields.append(v)
    return Struct(tag, fields), i


def header(n, tiny, m8, m16, m32):
    if n < 16 and tiny is not None:
        return bytes([tiny + n])
    if n < 0x100:
        return bytes([m8, n])
    if n < 0x10000:
        return bytes([m16]) + struct.pack(">H", n)
    return bytes([m32]) + struct.pack(">I", n)


def enc(v):
    if v is None:
        return b"\xC0"
    if v is True or v is False:
        return b"\xC3" if v else b"\xC2"
    if isinstance(v, int):
        if -16 <= v < 128:
            return struct.pack(">b", v) if v < 0 else bytes([v])
        for m, fmt, lo, hi in ((0xC8, ">b", -128, 127), (0xC9, ">h", -32768, 32767),
                               (0xCA, ">i", -2**31, 2**31 - 1)):
            if lo <= v <= hi:
                return bytes([m]) + struct.pack(fmt, v)
        return b"\xCB" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xC1" + struct.pack(">d", v)
    if isinstance(v, str):
        s = v.encode()
        return header(len(s), 0x80, 0xD0, 0xD1, 0xD2) + s
    if isinstance(v, bytes):
        return header(len(v), None, 0xCC, 0xCD, 0xCE) + v
    if isinstance(v, list):
        return header(len(v), 0x90, 0xD4, 0xD5, 0xD6) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return header(len(v), 0xA0, 0xD8, 0xD9, 0xDA) + b"".join(enc(k) + enc(x) for k, x in v.items())
    if isinstance(v, Struct):
        return bytes([0xB0 + len(v.fields), v.tag]) + b"".join(enc(x) for x in v.fields)
    raise TypeError(type(v))


def chunked(msg):
    out = b""
    for k in range(0, len(msg), 0xFFFF):
        part = msg[k:k + 0xFFFF]
        out += struct.pack(">H", len(part)) + part
    return out + b"\x00\x00"


# ---- The rewrite ----

def rewrite(msg):
    """The message, with the routing table of a ROUTE SUCCESS replaced; others unchanged."""
    if len(msg) < 3 or msg[0] != 0xB1 or msg[1] != 0x70 or b"rt" not in msg:
        return None
    meta, _ = dec(msg, 2)
    if not isinstance(meta, dict) or not isinstance(meta.get("rt"), dict):
        return None
    with open(table_file) as f:
        t = json.load(f)
    rt = meta["rt"]
    rt["ttl"] = int(t.get("ttl", rt.get("ttl", 300)))
    rt["servers"] = [{"addresses": t.get(k, []), "role": role}
                     for k, role in (("routers", "ROUTE"), ("readers", "READ"), ("writers", "WRITE"))]
    say(f"route ttl={rt['ttl']} readers={','.join(t.get('readers', []))}")
    return b"\xB1\x70" + enc(meta)


def pump_up(client, upstream):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            upstream.sendall(data)
    except OSError:
        pass
    for s in (client, upstream):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def recv_exact(sock, buf, n):
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buf += data
    return buf


def delay():
    if not delay_file:
        return
    try:
        with open(delay_file) as f:
            ms = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return
    time.sleep(ms / 1000.0)


def pump_down(upstream, client):
    buf = b""
    try:
        buf = recv_exact(upstream, buf, 4)  # the version the server chose
        client.sendall(buf[:4])
        buf = buf[4:]
        msg, raw = b"", b""
        while True:
            buf = recv_exact(upstream, buf, 2)
            n = struct.unpack(">H", buf[:2])[0]
            buf = recv_exact(upstream, buf, 2 + n)
            raw += buf[:2 + n]
            msg += buf[2:2 + n]
            buf = buf[2 + n:]
            if n:
                continue
            new = rewrite(msg) if msg else None
            delay()
            client.sendall(chunked(new) if new is not None else raw)
            msg, raw = b"", b""
    except (OSError, EOFError, ValueError):
        pass
    for s in (client, upstream):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(128)
    say(f"listening, upstream {up_host}:{up_port}{' (silent)' if silent else ''}")
    held = []
    while True:
        client, _ = ls.accept()
        say("accept")
        if silent:
            held.append(client)  # never read, never answer, never close
            continue
        try:
            upstream = socket.create_connection((up_host, up_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump_up, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump_down, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    serve()
