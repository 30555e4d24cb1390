#!/usr/bin/env python3
"""peers: tlslab against haproxy on the same work, in one run, on loopback.

The rows of issue 12's table, each measured for every peer in alternating rounds (so drift of
the machine hits every peer alike), printed as medians with the ratios that matter:

  TDS 8.0 MITM logins/s        8 go-mssqldb clients, Encrypt=strict, the lab CA validated;
                               direct to the stand-in, through tlslab and through haproxy, each
                               with 1 and 2 threads (tlslab --threads; haproxy nbthread; bind ssl
                               alpn tds/8.0 -> server ssl alpn tds/8.0)
  proxy CPU per MITM login     the proxy process's utime + stime over the round / logins
  PG direct-SSL MITM logins/s  8 pgx clients, sslnegotiation=direct (PostgreSQL 17: TLS first,
                               ALPN postgresql), verify-full, SCRAM-SHA-256; haproxy with alpn
                               postgresql on both sides, as for TDS 8.0; and proxy CPU per login
  MITM result set              go-mssqldb reads the stand-in's bulk rowset (EXEC tlslab_bulk_rows,
                               rows of 8000 bytes) over one TDS 8.0 connection: MiB/s, and the
                               proxy's CPU seconds per GiB
  memory per idle MITM session VmRSS growth of a fresh proxy holding N logged-in idle sessions
  memory per idle passthrough  the same for N raw connections relayed unchanged (haproxy: tcp)
  passthrough relay            iperf3, 1 stream, Gbit/s; and proxy CPU seconds per GiB
  64-byte ping-pong RTT        the proxy pinned to one core, client and echo server to the
                               other; the median RTT added to the direct path

  OpenSSL alone                bench/openssl_floor: the CPU of the proxy's own SSL calls for the
                               two handshakes of a MITM login (server role with the same leaf;
                               client role verifying and resuming), in memory, and the heap the
                               two idle SSL objects hold: the floor under the CPU per login and
                               memory per idle session rows

Usage: peers.py --tlslab BIN --logins BIN --pglogins BIN --floor BIN [--rounds N] [--quick]. Prints figures, asserts
nothing. Every load is bounded in count and time; ports are chosen at run time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


# ---- processes ---------------------------------------------------------------------------------

class Proc:
    def __init__(self, name: str, argv: list[str], work: Path, cpu: str | None = None):
        self.name = name
        self.log = work / f"{name}.log"
        if cpu is not None:
            argv = ["taskset", "-c", cpu] + argv
        self.p = subprocess.Popen(argv, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        self.port = 0

    def wait_listening(self, bound: float = 30) -> int:
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.log.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"peers: {self.name} did not start:\n{self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, bound: float = 15):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"peers: nothing listens on {port}")


class Lab:
    """The processes every row shares, and how to start a fresh proxy of each peer."""

    def __init__(self, tlslab: str, logins: str, pglogins: str, work: Path):
        self.tlslab, self.logins, self.pglogins, self.work = tlslab, logins, pglogins, work
        self.state = work / "state"
        self.ca = work / "ca.pem"
        self.procs: list[Proc] = []
        subprocess.run([tlslab, "--state-dir", str(self.state), "ca", "--export", str(self.ca)],
                       check=True, capture_output=True)
        self.leaf = self._haproxy_leaf()

    def _haproxy_leaf(self) -> Path:
        """A leaf for localhost and 127.0.0.1 from the lab CA, as tlslab's scenario valid has:
        RSA 2048, SHA-256 (what haproxy serves as crt)."""
        key, csr, crt, ext = (self.work / n for n in ("leaf.key", "leaf.csr", "leaf.crt", "ext"))
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
        run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
            "-subj", "/CN=localhost", "-out", str(csr))
        run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey",
            str(self.state / "ca.key"), "-CAcreateserial", "-days", "30", "-sha256",
            "-extfile", str(ext), "-out", str(crt))
        pem = self.work / "leaf.pem"
        pem.write_text(crt.read_text() + key.read_text())
        return pem

    def start(self, name: str, argv: list[str], cpu: str | None = None) -> Proc:
        p = Proc(name, argv, self.work, cpu)
        self.procs.append(p)
        return p

    def tlslab_proc(self, name: str, *args: str, cpu: str | None = None) -> Proc:
        p = self.start(name, [self.tlslab, "--state-dir", str(self.state), "--log-level", "warn",
                              *args, "--listen", "127.0.0.1:0"], cpu)
        p.wait_listening()
        return p

    def tlslab_proxy(self, upstream: int, scenario: str, threads: int, cpu: str | None = None,
                     extra: tuple[str, ...] = ()) -> Proc:
        """tlslab proxy in front of `upstream` (its protocol told apart by the first bytes)."""
        return self.tlslab_proc(f"tlslab-proxy-{threads}t", "proxy", "--upstream",
                                f"127.0.0.1:{upstream}", "--upstream-ca", str(self.ca),
                                "--scenario", scenario, "--threads", str(threads), *extra, cpu=cpu)

    def haproxy(self, upstream: int, threads: int, tls: bool, cpu: str | None = None,
                alpn: str = "tds/8.0") -> Proc:
        port = free_port()
        bind_tls = f" ssl crt {self.leaf} alpn {alpn}" if tls else ""
        # The same work as tlslab with --upstream-ca: the server's chain and name verified.
        server_tls = (f" ssl verify required ca-file {self.ca} verifyhost localhost"
                      f" sni str(localhost) alpn {alpn}") if tls else ""
        cfg = self.work / f"haproxy-{port}.cfg"
        cfg.write_text(f"""global
    nbthread {threads}
    maxconn 9000
    tune.ssl.default-dh-param 2048
defaults
    mode tcp
    timeout connect 5s
    timeout client 600s
    timeout server 600s
frontend lab
    bind 127.0.0.1:{port}{bind_tls}
    default_backend upstream
backend upstream
    server s1 127.0.0.1:{upstream}{server_tls}
""")
        p = self.start(f"haproxy-{threads}t", ["haproxy", "-db", "-f", str(cfg)], cpu)
        wait_port(port)
        p.port = port
        return p

    def stop_all(self):
        for p in self.procs:
            p.stop()


# ---- measurements ------------------------------------------------------------------------------

def login_round(lab: Lab, port: int, n: int, c: int) -> dict:
    out = subprocess.run([lab.logins, "-port", str(port), "-ca", str(lab.ca), "-encrypt",
                          "strict", "-n", str(n), "-c", str(c), "-deadline", "120s"],
                         check=True, capture_output=True, text=True, timeout=180)
    return json.loads(out.stdout)


def pg_login_round(lab: Lab, port: int, n: int, c: int) -> dict:
    out = subprocess.run([lab.pglogins, "-port", str(port), "-ca", str(lab.ca), "-sslnegotiation",
                          "direct", "-channel-binding", "disable", "-n", str(n), "-c", str(c),
                          "-deadline", "120s"],
                         check=True, capture_output=True, text=True, timeout=180)
    r = json.loads(out.stdout)
    if r.get("failures"):
        raise SystemExit(f"peers: PostgreSQL logins through {port} failed: {r.get('first_error')}")
    return r


def bulk_round(lab: Lab, port: int, rows: int, queries: int) -> dict:
    out = subprocess.run([lab.logins, "-port", str(port), "-ca", str(lab.ca), "-encrypt",
                          "strict", "-pull", str(rows), "-width", "8000", "-n", str(queries),
                          "-deadline", "120s"],
                         check=True, capture_output=True, text=True, timeout=180)
    return json.loads(out.stdout)


def hold_sessions(lab: Lab, proxy: Proc, n: int) -> float:
    """KiB of proxy RSS per idle logged-in TDS 8.0 session, n held."""
    before = proxy.rss_kib()
    holder = subprocess.Popen([lab.logins, "-port", str(proxy.port), "-ca", str(lab.ca),
                               "-encrypt", "strict", "-hold", str(n), "-c", "16",
                               "-deadline", "300s"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        held = json.loads(line)["held"] if line else 0
        time.sleep(1.0)
        after = proxy.rss_kib()
    finally:
        holder.stdin.close()
        holder.wait(120)
    return (after - before) / held if held else float("nan")


def hold_raw(proxy: Proc, n: int) -> float:
    """KiB of proxy RSS per idle relayed connection: each sends a PRELOGIN-looking header,
    gets it back from the echo upstream, then idles."""
    before = proxy.rss_kib()
    first = bytes([0x12, 0x01, 0x00, 0x08, 0, 0, 1, 0])
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
            s.sendall(first)
            got = b""
            while len(got) < len(first):
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
            socks.append(s)
        time.sleep(1.0)
        after = proxy.rss_kib()
    finally:
        for s in socks:
            s.close()
    return (after - before) / len(socks) if socks else float("nan")


def iperf_round(port: int, seconds: int) -> dict:
    # The iperf3 server serves one test at a time and may still be closing the last one: a
    # refused control connection is tried again (at most 3 times, a second apart).
    for attempt in range(3):
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                              "-J"], capture_output=True, text=True, timeout=seconds + 30)
        r = json.loads(out.stdout)
        if "control message" not in r.get("error", "") or attempt == 2:
            break
        time.sleep(1.0)
    if "error" in r:
        raise SystemExit(f"peers: iperf3 through port {port}: {r['error']}")
    end = r["end"]["sum_received"]
    return {"gbit_s": end["bits_per_second"] / 1e9, "bytes": end["bytes"]}


def pingpong(port: int, count: int) -> float:
    """Median microseconds of a 64-byte round trip (after a warm-up of 200)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = bytes([0x12, 0x01, 0x00, 0x40]) + b"\x5a" * 60  # a PRELOGIN-looking 64 bytes
    times = []
    for i in range(count + 200):
        t = time.perf_counter_ns()
        s.sendall(msg)
        got = 0
        while got < len(msg):
            got += len(s.recv(64))
        if i >= 200:
            times.append(time.perf_counter_ns() - t)
    s.close()
    return statistics.median(times) / 1000


def serve_echo(cpu: str | None, work: Path) -> tuple[subprocess.Popen, int]:
    """A threaded echo server in its own process (optionally pinned)."""
    portfile = work / f"echo-{time.monotonic_ns()}.port"
    argv = [sys.executable, str(Path(__file__).with_name("relay.py")), "--serve-echo",
            str(portfile)]
    if cpu is not None:
        argv = ["taskset", "-c", cpu] + argv
    p = subprocess.Popen(argv)
    for _ in range(100):
        if portfile.exists() and portfile.read_text():
            return p, int(portfile.read_text())
        time.sleep(0.05)
    raise SystemExit("peers: the echo server did not start")


# ---- report ------------------------------------------------------------------------------------

def alternate(rounds: int, peers: list[str], direct_port: int, proxies: dict[str, Proc],
              one_round, per: float = 1.0) -> tuple[dict, dict]:
    """Runs one_round(port) -> (figure, units) for every peer in turn, `rounds` times. Returns
    each peer's figures and, for the proxies, CPU seconds * per / unit of each round."""
    figure: dict[str, list[float]] = {p: [] for p in peers}
    cost: dict[str, list[float]] = {p: [] for p in peers}
    for _ in range(rounds):
        for p in peers:
            port = direct_port if p == "direct" else proxies[p].port
            c0 = proxies[p].cpu_seconds() if p in proxies else 0
            value, units = one_round(port)
            figure[p].append(value)
            if p in proxies:
                cost[p].append((proxies[p].cpu_seconds() - c0) * per / max(units, 1e-9))
    return figure, cost


def med(v: list[float]) -> float:
    return statistics.median(v) if v else float("nan")


def openssl_floor(lab: "Lab", floor_bin: str, n: int) -> dict:
    """bench/openssl_floor: OpenSSL's own CPU and heap for one MITM login's two handshakes (the
    same leaf and CA, in memory, no sockets): the floor under the CPU and memory rows."""
    out = subprocess.run([floor_bin, "--cert", str(lab.work / "leaf.crt"), "--key",
                          str(lab.work / "leaf.key"), "--ca", str(lab.ca), "--n", str(n)],
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout)


def row(label: str, cells: dict[str, str], order: list[str]):
    print(f"{label:<44}" + "".join(f"{cells.get(k, '-'):>14}" for k in order))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tlslab", required=True)
    ap.add_argument("--logins", required=True, help="the bench-logins binary (go-mssqldb)")
    ap.add_argument("--pglogins", required=True, help="the bench-pglogins binary (pgx)")
    ap.add_argument("--floor", required=True, help="the openssl_floor binary (bench/)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--only", default="logins,pg,bulk,memory,passthrough,relay,pingpong")
    a = ap.parse_args()
    if not shutil.which("haproxy") or not shutil.which("iperf3"):
        raise SystemExit("peers: haproxy and iperf3 are needed (scripts/setup --bench installs them)")
    # Every peer holds two descriptors per session (haproxy's maxconn 9000 asks for 18,014);
    # a container may cap the hard limit (20,000 here): take what it allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = set(a.only.split(","))
    n_logins = 100 if a.quick else 400
    bulk_rows, bulk_queries = (4000, 2) if a.quick else (8000, 4)  # 8000 B rows: 61 / 244 MiB
    held = [200] if a.quick else [1000, 4000]
    raw_held = 500 if a.quick else 5000
    iperf_s = 2 if a.quick else 5
    pings = 2000 if a.quick else 20000
    work = Path(tempfile.mkdtemp(prefix="tlslab-peers-"))
    lab = Lab(a.tlslab, a.logins, a.pglogins, work)
    peers = ["direct", "tlslab-1t", "tlslab-2t", "haproxy-1t", "haproxy-2t"]
    print(f"tlslab against haproxy {haproxy_version()}, {os.cpu_count()} cores, "
          f"{a.rounds} alternating rounds, medians")
    print(f"{'':<44}" + "".join(f"{p:>14}" for p in peers))
    floor = openssl_floor(lab, a.floor, 300 if a.quick else 2000)
    try:
        # The upstream allows resumption, as SQL Server does: both peers may resume their
        # server-side leg (tlslab's session store; haproxy's server session reuse).
        serve = lab.tlslab_proc("serve-strict", "serve", "--encryption", "strict",
                                "--tls-resumption", "--no-examples")
        if "logins" in only:
            proxies = {"tlslab-1t": lab.tlslab_proxy(serve.port, "valid", 1),
                       "tlslab-2t": lab.tlslab_proxy(serve.port, "valid", 2),
                       "haproxy-1t": lab.haproxy(serve.port, 1, True),
                       "haproxy-2t": lab.haproxy(serve.port, 2, True)}
            rate, cpu = alternate(a.rounds, peers, serve.port, proxies, lambda port: (
                (r := login_round(lab, port, n_logins, 8))["per_second"], r["logins"]), 1000)
            row(f"TDS 8.0 MITM logins/s (8 clients, n={n_logins})",
                {p: f"{med(rate[p]):.0f}" for p in peers}, peers)
            row("proxy CPU per MITM login (ms)", {p: f"{med(cpu[p]):.2f}" for p in proxies}, peers)
            ratio = med(rate["tlslab-2t"]) / med(rate["haproxy-2t"])
            ratio1 = med(rate["tlslab-1t"]) / med(rate["haproxy-1t"])
            print(f"  tlslab / haproxy, 2 threads each: {ratio:.2f}x logins/s (goal >= 1.2x); "
                  f"1 thread each: {ratio1:.2f}x; CPU per login goal <= 1.0 ms")
            print(f"  OpenSSL alone, the proxy's two handshakes in memory (bench/openssl_floor): "
                  f"{floor['cpu_ms_per_login']:.2f} ms per login, before any socket or byte "
                  f"relayed")
            for p in proxies.values():
                p.stop()
        if "pg" in only:
            # PostgreSQL 17 direct SSL (TLS first, ALPN postgresql), the same MITM shape as TDS
            # 8.0: pgx verify-full, SCRAM-SHA-256 without channel binding (bound to the proxy's
            # certificate the stand-in refuses the login: the defence working, not a cost).
            pg = lab.tlslab_proc("serve-pg", "serve", "--protocol", "postgres", "--encryption",
                                 "force", "--auth", "scram-sha-256", "--no-examples")
            proxies = {"tlslab-1t": lab.tlslab_proxy(pg.port, "valid", 1),
                       "tlslab-2t": lab.tlslab_proxy(pg.port, "valid", 2),
                       "haproxy-1t": lab.haproxy(pg.port, 1, True, alpn="postgresql"),
                       "haproxy-2t": lab.haproxy(pg.port, 2, True, alpn="postgresql")}
            rate, cpu = alternate(a.rounds, peers, pg.port, proxies, lambda port: (
                (r := pg_login_round(lab, port, n_logins, 8))["per_second"], r["logins"]), 1000)
            row(f"PG direct-SSL MITM logins/s (8 clients, n={n_logins})",
                {p: f"{med(rate[p]):.0f}" for p in peers}, peers)
            row("proxy CPU per PG MITM login (ms)", {p: f"{med(cpu[p]):.2f}" for p in proxies},
                peers)
            print(f"  tlslab / haproxy, 2 threads each: "
                  f"{med(rate['tlslab-2t']) / med(rate['haproxy-2t']):.2f}x logins/s")
            for p in proxies.values():
                p.stop()
            pg.stop()
        if "bulk" in only:
            # A big result set through the TDS 8.0 MITM: go-mssqldb reads the stand-in's bulk
            # rowset (EXEC tlslab_bulk_rows) over one validated connection.
            proxies = {"tlslab-1t": lab.tlslab_proxy(serve.port, "valid", 1),
                       "tlslab-2t": lab.tlslab_proxy(serve.port, "valid", 2),
                       "haproxy-1t": lab.haproxy(serve.port, 1, True),
                       "haproxy-2t": lab.haproxy(serve.port, 2, True)}
            mib_s, per_gib = alternate(a.rounds, peers, serve.port, proxies, lambda port: (
                (r := bulk_round(lab, port, bulk_rows, bulk_queries))["mib_s"],
                r["bytes"] / 2**30))
            row(f"TDS 8.0 MITM result set, MiB/s ({bulk_queries}x{bulk_rows} rows of 8000 B)",
                {p: f"{med(mib_s[p]):.0f}" for p in peers}, peers)
            row("proxy CPU per GiB of result set (s)", {p: f"{med(per_gib[p]):.2f}" for p in proxies},
                peers)
            print(f"  tlslab / haproxy, 2 threads each: "
                  f"{med(mib_s['tlslab-2t']) / med(mib_s['haproxy-2t']):.2f}x MiB/s, "
                  f"{med(per_gib['tlslab-2t']) / med(per_gib['haproxy-2t']):.2f}x CPU per GiB")
            for p in proxies.values():
                p.stop()
        if "memory" in only:
            for n in held:
                cells = {}
                for name in ("tlslab-2t", "haproxy-2t"):
                    proxy = (lab.tlslab_proxy(serve.port, "valid", 2) if name == "tlslab-2t"
                             else lab.haproxy(serve.port, 2, True))
                    cells[name] = f"{hold_sessions(lab, proxy, n):.1f}"
                    proxy.stop()
                row(f"KiB per idle TDS 8.0 MITM session ({n} held)", cells, peers)
            print(f"  goal: tlslab <= 30 KiB; OpenSSL alone holds "
                  f"{floor['kib_per_idle_session']:.1f} KiB for the two idle SSL objects of a "
                  f"session (bench/openssl_floor), before any socket, buffer or record")
        echo, echo_port = serve_echo(None, work)
        try:
            if "passthrough" in only:
                cells = {}
                for name in ("tlslab-2t", "haproxy-2t"):
                    proxy = (lab.tlslab_proxy(echo_port, "passthrough", 2) if name == "tlslab-2t"
                             else lab.haproxy(echo_port, 2, False))
                    cells[name] = f"{hold_raw(proxy, raw_held):.1f}"
                    proxy.stop()
                row(f"KiB per idle passthrough connection ({raw_held})", cells, peers)
                print("  goal: tlslab <= 8 KiB")
        finally:
            echo.terminate()
        if "relay" in only:
            iperf = lab.start("iperf3-server", ["iperf3", "-s", "-p", str(free_port())])
            iperf_port = int(iperf.p.args[-1])
            wait_port(iperf_port)
            proxies = {"tlslab-1t": lab.tlslab_proxy(iperf_port, "passthrough", 1),
                       "tlslab-2t": lab.tlslab_proxy(iperf_port, "passthrough", 2),
                       "haproxy-1t": lab.haproxy(iperf_port, 1, False),
                       "haproxy-2t": lab.haproxy(iperf_port, 2, False)}
            gbit, per_gib = alternate(a.rounds, peers, iperf_port, proxies, lambda port: (
                (r := iperf_round(port, iperf_s))["gbit_s"], r["bytes"] / 2**30))
            row("passthrough relay, iperf3 1 stream (Gbit/s)",
                {p: f"{med(gbit[p]):.2f}" for p in peers}, peers)
            row("  relative to direct", {p: f"{med(gbit[p]) / med(gbit['direct']):.2f}x"
                                         for p in peers}, peers)
            row("passthrough relay CPU per GiB (s)", {p: f"{med(per_gib[p]):.2f}" for p in proxies},
                peers)
            print(f"  tlslab / haproxy 2 threads: "
                  f"{med(gbit['tlslab-2t']) / med(gbit['haproxy-2t']):.2f}x throughput (goal >= 1.0x)")
            for p in proxies.values():
                p.stop()
            iperf.stop()
        if "pingpong" in only:
            # The proxy alone on core 1; the client and the echo server on core 0.
            echo, echo_port = serve_echo("0", work)
            try:
                proxies = {"tlslab-1t": lab.tlslab_proxy(echo_port, "passthrough", 1, cpu="1"),
                           "haproxy-1t": lab.haproxy(echo_port, 1, False, cpu="1")}
                os.sched_setaffinity(0, {0})
                rtt: dict[str, list[float]] = {p: [] for p in peers}
                for _ in range(a.rounds):
                    for p in ("direct", *proxies):
                        port = echo_port if p == "direct" else proxies[p].port
                        rtt[p].append(pingpong(port, pings))
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
                base = med(rtt["direct"])
                row("64-byte ping-pong RTT, pinned (us)",
                    {p: f"{med(rtt[p]):.1f}" for p in rtt if rtt[p]}, peers)
                row("  added to direct (us)",
                    {p: f"+{med(rtt[p]) - base:.1f}" for p in proxies}, peers)
            finally:
                echo.terminate()
    finally:
        lab.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def haproxy_version() -> str:
    out = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    main()
