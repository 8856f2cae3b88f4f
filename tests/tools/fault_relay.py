#!/usr/bin/env python3
"""A TCP relay for fault tests: sits between falkorsync and a database and, when a rule says so,
delays, cuts (FIN), resets (RST) or stalls a connection at an exact byte or at a pattern.

    fault_relay.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT RULE_FILE

RULE_FILE holds one JSON object, re-read whenever it changes; absent or {} means pass through.
  action      "pass" | "cut" | "reset" | "stall" | "delay"
  direction   "down" (server to client, the default) or "up" (client to server)
  after_bytes act once this many bytes went that way on one connection (the chunk is split, so
              the cut falls inside a message)
  pattern     or act at the first occurrence of this text going that way
  when        with pattern: "before" (the default: the pattern never arrives) or "after"
  times       connections to hit (default 1); then the relay passes everything again
  delay_ms    with "delay": wait this long before forwarding each chunk
Every hit appends one line to RULE_FILE + ".hits", so a test can tell that its fault happened.
Loopback only; one thread per direction per connection; for tests, not for production.
"""
import json
import os
import socket
import struct
import sys
import threading
import time

listen_port, up_host, up_port, rule_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
state = {"mtime": None, "rule": {}, "left": 0}


def rule():
    """The current rule and whether it still has hits left (re-read when the file changes)."""
    try:
        m = os.stat(rule_file).st_mtime_ns
    except FileNotFoundError:
        m = None
    with lock:
        if m != state["mtime"]:
            state["mtime"] = m
            try:
                state["rule"] = json.load(open(rule_file)) if m else {}
            except ValueError:
                state["rule"] = {}
            state["left"] = int(state["rule"].get("times", 1))
        return dict(state["rule"]), state["left"] > 0


def take_hit(what):
    with lock:
        if state["left"] <= 0:
            return False
        state["left"] -= 1
    with open(rule_file + ".hits", "a") as f:
        f.write(f"{time.time():.3f} {what}\n")
    print(f"fault_relay: {what}", flush=True)
    return True


class Conn:
    def __init__(self, client, upstream):
        self.client, self.upstream = client, upstream
        self.sent = {"down": 0, "up": 0}
        self.hit = False  # one fault per connection
        self.dead = threading.Event()
        self.stalled = False

    def close(self, reset=False):
        if self.dead.is_set():
            return
        self.dead.set()
        if reset:
            try:  # SO_LINGER 0: close sends RST
                self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        for s in (self.client, self.upstream):
            try:  # shutdown first: it wakes the other pump's recv and sends the FIN now
                # (a reset only stops reading: the close with SO_LINGER 0 then sends the RST)
                s.shutdown(socket.SHUT_RD if reset and s is self.client else socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def act(self, action, direction, detail):
        if not take_hit(f"{action} {direction} {detail}"):
            return False
        self.hit = True
        if action in ("cut", "reset"):
            self.close(reset=action == "reset")
        elif action == "stall":
            self.stalled = True  # nothing more moves either way; the client's timeout decides
        return True


def pump(c, src, dst, direction):
    tail = b""
    while not c.dead.is_set():
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        while c.stalled and not c.dead.is_set():
            time.sleep(0.05)
        if c.dead.is_set():
            break
        r, live = rule()
        action = r.get("action", "pass")
        mine = live and not c.hit and action != "pass" and r.get("direction", "down") == direction
        if mine and action == "delay":
            time.sleep(r.get("delay_ms", 100) / 1000.0)
            mine = False
        if mine and "after_bytes" in r:
            cut_at = int(r["after_bytes"]) - c.sent[direction]
            if 0 <= cut_at < len(data):
                try:
                    dst.sendall(data[:cut_at])
                except OSError:
                    break
                c.sent[direction] += cut_at
                if c.act(action, direction, f"after {r['after_bytes']} bytes"):
                    if action == "stall":
                        continue
                    break
        elif mine and "pattern" in r:
            pat = r["pattern"].encode()
            hay = tail + data
            i = hay.find(pat)
            if i >= 0:
                end = i - len(tail) + (len(pat) if r.get("when", "before") == "after" else 0)
                end = max(0, end)
                if r.get("when") == "after" and action in ("cut", "reset"):
                    c.stalled = True  # the other way holds the reply: it must never arrive
                try:
                    dst.sendall(data[:end])
                except OSError:
                    break
                if r.get("when") == "after":
                    time.sleep(0.2)  # let the server act on what it received
                if c.act(action, direction, f"{r.get('when', 'before')} {r['pattern']!r}"):
                    if action == "stall":
                        continue
                    break
            tail = hay[-(len(pat) - 1):] if len(pat) > 1 else b""
        try:
            dst.sendall(data)
        except OSError:
            break
        c.sent[direction] += len(data)
    if not c.stalled or direction == "up":  # a stalled connection ends when its client gives up
        c.close()


def serve():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(128)
    print(f"fault_relay: 127.0.0.1:{listen_port} -> {up_host}:{up_port}", flush=True)
    while True:
        client, _ = ls.accept()
        try:
            upstream = socket.create_connection((up_host, up_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(client, upstream)
        threading.Thread(target=pump, args=(c, client, upstream, "up"), daemon=True).start()
        threading.Thread(target=pump, args=(c, upstream, client, "down"), daemon=True).start()


if __name__ == "__main__":
    serve()
