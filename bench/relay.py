#!/usr/bin/env python3
"""relay: bulk throughput of a TCP path, bounded in bytes and time.

An echo server stands in for the upstream; the client sends a PRELOGIN-looking first packet
(so a proxy treats it as TDS) and then MiB of data, reading the echo back at the same time.
Prints one JSON line: MiB/s both ways. Usage: relay.py --port P [--mib N]  (P: where to
connect; --serve-echo PORTFILE runs the echo server instead and writes its port to PORTFILE).
"""
import argparse
import json
import socket
import sys
import threading
import time

CHUNK = 64 * 1024


def serve_echo(portfile):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(portfile, "w") as f:
        f.write(str(srv.getsockname()[1]))
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def echo(conn):
    with conn:
        while True:
            data = conn.recv(CHUNK)
            if not data:
                return
            conn.sendall(data)


def run(port, mib, deadline):
    total = mib * 1024 * 1024
    sock = socket.create_connection(("127.0.0.1", port), timeout=deadline)
    first = bytes([0x12, 0x01, 0x00, 0x08, 0, 0, 1, 0])  # an empty PRELOGIN packet header
    received = 0
    start = time.monotonic()

    def reader():
        nonlocal received
        while received < total + len(first):
            data = sock.recv(CHUNK)
            if not data:
                return
            received += len(data)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sock.sendall(first)
    block = b"\x5a" * CHUNK
    sent = 0
    while sent < total and time.monotonic() - start < deadline:
        sock.sendall(block)
        sent += len(block)
    t.join(timeout=max(0.1, deadline - (time.monotonic() - start)))
    elapsed = time.monotonic() - start
    sock.close()
    print(json.dumps({"mib": mib, "seconds": round(elapsed, 3),
                      "mib_per_s": round(received / 1048576 / elapsed, 1),
                      "complete": received >= total + len(first)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--deadline", type=float, default=60)
    ap.add_argument("--serve-echo")
    a = ap.parse_args()
    if a.serve_echo:
        serve_echo(a.serve_echo)
    elif a.port:
        run(a.port, a.mib, a.deadline)
    else:
        ap.error("--port or --serve-echo")


if __name__ == "__main__":
    sys.exit(main())
