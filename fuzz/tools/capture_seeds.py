#!/usr/bin/env python3
"""Capture real traffic into the fuzz seed corpora (fuzz/corpus/<target>/).

Runs the real binary (`tlslab serve`, each protocol) behind a recording TCP relay on loopback
and drives it with the real clients installed here: the go-mssqldb probe (probes/go/probe),
FreeTDS tsql, psql (libpq) and the mariadb client, in clear text (whole client and server
streams) and over TLS (the first record of the client's TLS: its ClientHello, as the proxy peeks
it). Each exchange becomes seeds, prefixed with the selector bytes the target reads (see
fuzz/<target>.cc), named `cap-<what>-<sha1 prefix>`.

Usage: fuzz/tools/capture_seeds.py [--tlslab BUILD/tlslab]
Every step is bounded (timeouts); nothing leaves loopback.
"""

import argparse
import hashlib
import os
import pathlib
import socket
import struct
import subprocess
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "fuzz" / "corpus"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, bound=15.0):
    end = time.monotonic() + bound
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Relay:
    """Listens on a free port, relays each connection to `upstream`, records both streams."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.sessions = []  # [client bytes, server bytes]
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:  # closed by close()
                return
            s = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            rec = [bytearray(), bytearray()]
            self.sessions.append(rec)
            threading.Thread(target=self._pump, args=(c, s, rec[0]), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, rec[1]), daemon=True).start()

    @staticmethod
    def _pump(src, dst, rec):
        src.settimeout(20)
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                rec += b
                dst.sendall(b)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        time.sleep(0.5)
        out = [(bytes(c), bytes(s)) for c, s in self.sessions]
        self.sessions = []
        return out

    def close(self):
        self.stop = True
        self.sock.close()


def write(target, what, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"cap-{what}-{hashlib.sha1(data).hexdigest()[:12]}").write_bytes(data)


def first_tls_record(stream):
    """The first TLS handshake record (a ClientHello) anywhere in the stream."""
    i = 0
    while True:
        i = stream.find(b"\x16\x03", i)
        if i < 0 or i + 5 > len(stream):
            return None
        n = struct.unpack(">H", stream[i + 3:i + 5])[0]
        if stream[i + 2] <= 4 and i + 5 + n <= len(stream) and stream[i + 5] == 0x01:
            return stream[i:i + 5 + n]
        i += 1


def tds_messages(stream):
    """(type, payload) of each message of a TDS stream (packets joined)."""
    out, cur, i = [], b"", 0
    while i + 8 <= len(stream):
        n = struct.unpack(">H", stream[i + 2:i + 4])[0]
        if n < 8 or i + n > len(stream):
            break
        cur += stream[i + 8:i + n]
        if stream[i + 1] & 1:
            out.append((stream[i], cur))
            cur = b""
        i += n
    return out


def run(argv, env=None, timeout=30):
    try:
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout, env=env)
    except (subprocess.TimeoutExpired, FileNotFoundError):
        pass


def serve(tlslab, protocol, port, *extra):
    return subprocess.Popen([tlslab, "serve", "--protocol", protocol, "--listen",
                             f"127.0.0.1:{port}", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tds_sessions(tlslab, encryption, clients):
    port = free_port()
    p = serve(tlslab, "tds", port, "--encryption", encryption)
    try:
        if not wait_port(port):
            return []
        relay = Relay(port)
        for argv in clients(relay.port):
            run(argv)
        relay.close()
        return relay.take()
    finally:
        p.terminate()
        p.wait(timeout=10)


def capture_tds(tlslab):
    go = str(REPO / "probes/go/probe")
    queries = ["SELECT 1", "SELECT @@VERSION, DB_NAME(), SUSER_NAME()",
               "USE lab; SELECT 1/0", "BEGIN TRAN; SELECT 2; COMMIT",
               "SELECT * FROM nosuch", "SET TEXTSIZE 100; SELECT N'x', 1.5, GETDATE()"]

    def plain(port):
        for q in queries:
            yield [go, "--host", "127.0.0.1", "--port", str(port), "--encrypt", "disable",
                   "--user", "lab", "--password", "lab-password", "--query", q, "--timeout", "5"]
        yield [go, "--host", "127.0.0.1", "--port", str(port), "--encrypt", "disable",
               "--user", "lab", "--password", "wrong", "--timeout", "5"]
        # tedious runs queries as sp_executesql RPCs and, with --session, transactions as
        # Transaction Manager requests.
        for version in ("19", "14"):
            yield [str(REPO / "probes/tedious/probe"), "--host", "127.0.0.1", "--port", str(port),
                   "--encrypt", "false", "--user", "lab", "--password", "lab-password",
                   "--query", "SELECT 1, N'x'", "--session", "--driver-version", version,
                   "--timeout", "10"]

    for client, server in tds_sessions(tlslab, "none", plain):
        write("tds_packet", "client", b"\xff\x00" + client)
        write("tds_packet", "server", b"\x10\x00" + server)
        for kind, payload in tds_messages(client):
            if kind == 0x12:
                write("tds_prelogin", "client", payload)
            elif kind == 0x10:
                write("tds_login7", "client", payload)
            elif kind == 0x01:
                write("tds_requests", "sqlbatch", b"\x05" + payload)
            elif kind == 0x03:
                write("tds_requests", "rpc", b"\x0d" + payload)
            elif kind == 0x0E:
                write("tds_requests", "tm", b"\x15" + payload)
        for n, (kind, payload) in enumerate(tds_messages(server)):
            if n == 0:
                write("tds_prelogin", "serve-answer", payload)
            else:
                write("tds_tokens", "serve", b"\x05" + payload)

    def tls(port):
        for enc in ("strict", "mandatory"):
            yield [go, "--host", "127.0.0.1", "--port", str(port), "--encrypt", enc,
                   "--trust-server-certificate", "--user", "lab", "--password", "lab-password",
                   "--timeout", "5"]

    for client, _ in tds_sessions(tlslab, "off", tls) + tds_sessions(tlslab, "strict", tls):
        rec = first_tls_record(client)
        if rec:
            write("tls_client_hello", "go-mssqldb", rec)
        write("tls_client_hello", "go-mssqldb-opening", client[:512])


def capture_pg(tlslab):
    port = free_port()
    p = serve(tlslab, "postgres", port, "--auth", "md5")
    try:
        if not wait_port(port):
            return
        relay = Relay(port)
        env = dict(os.environ, PGPASSWORD="lab-password", PGCONNECT_TIMEOUT="5")
        for mode in ("disable", "require"):
            for q in ("SELECT 1", "SELECT 1/0", "BEGIN; SELECT 'x'::text, 2.5; COMMIT",
                      "SELECT * FROM nosuch"):
                run(["psql", f"host=127.0.0.1 port={relay.port} user=lab dbname=lab "
                     f"sslmode={mode}", "-X", "-c", q], env=env)
        relay.close()
        for client, server in relay.take():
            rec = first_tls_record(client)
            if rec:
                write("tls_client_hello", "psql", rec)
                write("tls_client_hello", "psql-opening", client[:8])
                continue
            write("pg_frontend", "psql", b"\xff\x00" + client)
            write("pg_backend", "serve", b"\xff" + server)
    finally:
        p.terminate()
        p.wait(timeout=10)


def capture_mysql(tlslab):
    for flavour in ("mysql", "mariadb"):
        port = free_port()
        p = serve(tlslab, "mysql", port, "--flavour", flavour)
        try:
            if not wait_port(port):
                continue
            relay = Relay(port)
            for ssl in ("--skip-ssl", "--ssl"):
                for q in ("SELECT 1", "SELECT 1, NULL, 'x'; SELECT @@version",
                          "SELECT * FROM nosuch"):
                    run(["mariadb", "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1",
                         "-P", str(relay.port), "-u", "lab", "-plab-password", "-D", "lab",
                         "--batch", "--connect-timeout=5", ssl, "-e", q])
            relay.close()
            for client, server in relay.take():
                rec = first_tls_record(client)
                if rec:
                    write("tls_client_hello", f"mariadb-cli-{flavour}", rec)
                    continue
                caps = struct.unpack("<I", client[4:8])[0] if len(client) >= 8 else 0
                write("mysql_client", f"mariadb-cli-{flavour}", b"\xff\x01" + client)
                write("mysql_server", f"serve-{flavour}", b"\xff" + struct.pack("<I", caps) +
                      server)
        finally:
            p.terminate()
            p.wait(timeout=10)


def capture_tls_stacks():
    """ClientHellos of OpenSSL's own client (s_client) and curl, recorded by a listener that
    closes after the first record."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(10)
    port = sock.getsockname()[1]
    clients = [
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "db.lab.test",
         "-alpn", "tds/8.0"],
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2",
         "-servername", "sql.example"],
        ["curl", "-sk", "--max-time", "3", f"https://localhost:{port}/"],
    ]
    for argv in clients:
        t = threading.Thread(target=run, args=(argv,), kwargs={"timeout": 5}, daemon=True)
        t.start()
        try:
            c, _ = sock.accept()
            c.settimeout(5)
            data = b""
            while first_tls_record(data) is None and len(data) < 65536:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            c.close()
            rec = first_tls_record(data)
            if rec:
                write("tls_client_hello", pathlib.Path(argv[0]).name, rec)
        except OSError:
            pass
        t.join(6)
    sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tlslab", default=str(REPO / "build/tlslab"))
    a = ap.parse_args()
    capture_tds(a.tlslab)
    capture_pg(a.tlslab)
    capture_mysql(a.tlslab)
    capture_tls_stacks()


if __name__ == "__main__":
    main()
