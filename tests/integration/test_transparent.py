"""Transparent interception (`tlslab proxy --transparent`) in network namespaces.

The test builds its own little network, so nothing on the host's own network changes:

    client ns  10.R.1.2 --veth-- 10.R.1.1  router ns  10.R.2.1 --veth-- 10.R.2.2  server ns
    (fd00:R:1::2)             (fd00:R:1::1)    tlslab proxy  (fd00:R:2::1)  (fd00:R:2::2)
                                           --transparent                 tlslab serve: TDS,
                                           + scripts/transparent         PostgreSQL, MySQL

Real drivers in the client namespace dial the SERVER's address (10.R.2.2); the router's
PREROUTING rule redirects them to tlslab, which reads the original destination (SO_ORIGINAL_DST),
shows a certificate for the names the client asked for (or, with --certificate mirror, the real
server's names), and connects on to the server. Namespaces and veths get per-run names and are
removed by fixture finalizers whatever happens. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and
iptables; skips with the reason if namespaces cannot be created.
"""
from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness import REPO, EventLog, TlslabProcess

SCRIPT = REPO / "scripts" / "transparent"
PROBES = REPO / "probes"
SERVER_NAME = "db.transparent.test"  # the name the stand-in server's certificate carries
TDS_PORT, PG_PORT, MYSQL_PORT = 1433, 5432, 3306
TDS_PROXY, PG_PROXY, MYSQL_PROXY = 14330, 15432, 13306
# psql verifies the lab-CA certificate for the dialled IP. Channel binding is off: SCRAM-SHA-256-
# PLUS binds to the certificate the client saw, which an intercepting proxy replaced, so the
# real server rightly refuses it ("SCRAM channel binding check failed"); not what these tests
# are about.
PSQL = {"encrypt": "verify-full", "channel_binding": "disable"}
PORTS = ((TDS_PORT, TDS_PROXY), (PG_PORT, PG_PROXY), (MYSQL_PORT, MYSQL_PROXY))


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    cp = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({cp.returncode}): {cp.stderr.strip()}")
    return cp


def namespaces_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); not root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    name = f"tlstp-chk{os.getpid()}"
    cp = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if cp.returncode != 0:
        return f"cannot create a network namespace: {cp.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


_why = namespaces_unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


class Net:
    """Three namespaces and two veth pairs, unique per run; remove() undoes everything."""

    def __init__(self):
        tag = f"{os.getpid() % 10000}{random.randrange(100)}"
        self.r = random.randrange(16, 250)  # 10.R.x.y: unlikely to meet the host's routes
        self.client, self.router, self.server = (f"tlstp{tag}{x}" for x in "crs")
        self.links = (f"tp{tag}a", f"tp{tag}b", f"tp{tag}c", f"tp{tag}d")
        self.client_ip, self.server_ip = f"10.{self.r}.1.2", f"10.{self.r}.2.2"
        self.client_ip6, self.server_ip6 = f"fd00:{self.r}:1::2", f"fd00:{self.r}:2::2"
        self.created: list[str] = []

    def build(self) -> None:
        a, b, c, d = self.links
        for ns in (self.client, self.router, self.server):
            sh("ip", "netns", "add", ns)
            self.created.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # veths are created inside the router ns: nothing appears on the host, even briefly.
        sh("ip", "-n", self.router, "link", "add", a, "type", "veth", "peer", "name", b,
           "netns", self.client)
        sh("ip", "-n", self.router, "link", "add", c, "type", "veth", "peer", "name", d,
           "netns", self.server)
        r = self.r
        for ns, dev, addr in ((self.router, a, f"10.{r}.1.1/24"), (self.client, b, f"{self.client_ip}/24"),
                              (self.router, c, f"10.{r}.2.1/24"), (self.server, d, f"{self.server_ip}/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.client, "route", "add", "default", "via", f"10.{r}.1.1")
        sh("ip", "-n", self.server, "route", "add", "default", "via", f"10.{r}.2.1")
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # IPv6 too (nodad: usable at once, no duplicate address detection wait).
        for ns, dev, addr in ((self.router, a, f"fd00:{r}:1::1/64"),
                              (self.client, b, f"{self.client_ip6}/64"),
                              (self.router, c, f"fd00:{r}:2::1/64"),
                              (self.server, d, f"{self.server_ip6}/64")):
            sh("ip", "-n", ns, "-6", "addr", "add", addr, "dev", dev, "nodad")
        sh("ip", "-n", self.client, "-6", "route", "add", "default", "via", f"fd00:{r}:1::1")
        sh("ip", "-n", self.server, "-6", "route", "add", "default", "via", f"fd00:{r}:2::1")
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")

    def remove(self) -> None:
        for ns in reversed(self.created):  # deleting a namespace deletes its veth ends
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created.clear()

    def exec(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]


@pytest.fixture(scope="module")
def net():
    if shutil.which("iptables") is None:
        pytest.fail("iptables is not installed (scripts/setup installs it)")
    n = Net()
    try:
        n.build()
        yield n
    finally:
        n.remove()
        left = sh("ip", "netns", "list").stdout
        assert not any(ns in left for ns in (n.client, n.router, n.server)), left


def _start(ns_argv, tlslab_bin, subcommand, args, state_dir, listen, name) -> TlslabProcess:
    return TlslabProcess.start(tlslab_bin, subcommand, *args, state_dir=state_dir, listen=listen,
                               ready_timeout=15, name=name, prefix=ns_argv)


@pytest.fixture(scope="module")
def servers(net, tlslab_bin, state_dir):
    """The stand-in servers in the server ns: their certificate names SERVER_NAME and the IP."""
    procs = []
    try:
        for proto, port in (("tds", TDS_PORT), ("postgres", PG_PORT), ("mysql", MYSQL_PORT)):
            procs.append(_start(net.exec(net.server), tlslab_bin, "serve",
                                ["--protocol", proto, "--no-examples", "--hostname", SERVER_NAME,
                                 "--hostname", net.server_ip, "--hostname", net.server_ip6],
                                state_dir, f"[::]:{port}", f"serve {proto}"))  # dual-stack
        yield procs
    finally:
        problems = []
        for p in procs:
            try:
                stop(p)
            except AssertionError as e:
                problems.append(str(e))
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def redirect(net):
    for port, to in PORTS:
        sh(str(SCRIPT), "up", "--port", str(port), "--to", str(to), "--netns", net.router)
    yield
    for port, to in PORTS:
        sh(str(SCRIPT), "down", "--port", str(port), "--to", str(to), "--netns", net.router)
    rules = sh("ip", "netns", "exec", net.router, "iptables", "-t", "nat", "-S").stdout
    assert "TLSLAB_TRANSPARENT" not in rules, "scripts/transparent down left rules:\n" + rules


def proxy(net, tlslab_bin, state_dir, tmp_path, protocol: str, port: int, *extra: str,
          listen: str = "0.0.0.0"):
    events = tmp_path / f"events-{protocol}-{'-'.join(extra) or 'client'}.jsonl"
    p = _start(net.exec(net.router), tlslab_bin, "proxy",
               ["--transparent", "--protocol", protocol, "--events", str(events), *extra],
               state_dir, f"{listen}:{port}", f"proxy {protocol}")
    return p, EventLog(events)


def probe(net, driver: str, port: int, host: str | None = None, **options) -> dict:
    argv = [*net.exec(net.client), str(PROBES / driver / "probe"), "--host", host or net.server_ip,
            "--port", str(port), "--timeout", "8"]
    for k, v in options.items():
        argv += ["--" + k.replace("_", "-")] + ([] if v is True else [str(v)])
    cp = sh(*argv, timeout=40)
    lines = [ln for ln in cp.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"{argv}: {cp.stdout!r} {cp.stderr[-1500:]!r}"
    return json.loads(lines[0])


def sans(cert: dict | None) -> list[str]:
    return (cert or {}).get("subject_alt_names", [])


def stop(p: TlslabProcess) -> None:
    p.stop()  # raises if it died or would not stop: a crash must fail the test


@pytest.mark.parametrize("driver,protocol,port,proxy_port,opts", [
    ("go", "tds", TDS_PORT, TDS_PROXY, {"encrypt": "true"}),
    ("psql", "postgres", PG_PORT, PG_PROXY, PSQL),
    ("gomysql", "mysql", MYSQL_PORT, MYSQL_PROXY, {"ssl_mode": "VERIFY_IDENTITY"}),
])
def test_driver_dials_the_server_and_meets_tlslab(net, servers, redirect, tlslab_bin, state_dir,
                                                   lab_ca, tmp_path, driver, protocol, port,
                                                   proxy_port, opts):
    if not (PROBES / driver / "probe").is_file():
        pytest.fail(f"probe {driver} is not installed (probes/{driver}/install)")
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, protocol, proxy_port)
    try:
        r = probe(net, driver, port, ca=lab_ca, **opts)
        assert r["connected"], f"{driver} through the transparent proxy: {r}"
        rec = events.wait_for(lambda x: x.get("original_destination"), bound=10)[0]
        assert rec["original_destination"] == f"{net.server_ip}:{port}", rec
        assert rec["client"].startswith(net.client_ip + ":"), rec
        # The client dialled an IP (no SNI): the certificate names that IP, not the lab's names.
        shown = sans(rec["certificate_shown"])
        assert f"IP:{net.server_ip}" in shown, shown
        assert not any(s.startswith("DNS:localhost") for s in shown), shown
        # ... and the upstream really was the server behind the router.
        assert rec["upstream_certificate"] and f"DNS:{SERVER_NAME}" in sans(rec["upstream_certificate"])
    finally:
        stop(p)


@pytest.mark.parametrize("driver,protocol,port,proxy_port,opts", [
    ("go", "tds", TDS_PORT, TDS_PROXY, {"encrypt": "true"}),
    ("psql", "postgres", PG_PORT, PG_PROXY, PSQL),
    ("gomysql", "mysql", MYSQL_PORT, MYSQL_PROXY, {"ssl_mode": "VERIFY_IDENTITY"}),
])
def test_mirror_copies_the_real_certificates_names(net, servers, redirect, tlslab_bin, state_dir,
                                                   lab_ca, tmp_path, driver, protocol, port,
                                                   proxy_port, opts):
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, protocol, proxy_port,
                      "--certificate", "mirror")
    try:
        r = probe(net, driver, port, ca=lab_ca, **opts)
        assert r["connected"], f"{driver} through the mirroring proxy: {r}"
        rec = events.wait_for(lambda x: x.get("original_destination"), bound=10)[0]
        shown, real = rec["certificate_shown"], rec["upstream_certificate"]
        assert sorted(sans(shown)) == sorted(sans(real)), (shown, real)
        assert f"DNS:{SERVER_NAME}" in sans(shown)
        assert shown["sha256"] != real["sha256"]  # minted, not copied
        assert "CN=" + real["subject"].split("CN=")[1].split(",")[0] in shown["subject"]
        p.wait_for_log(rf"mirror: {net.server_ip}:{port} presents", timeout=5)
    finally:
        stop(p)


def test_a_client_dialling_the_proxy_itself_is_refused(net, servers, redirect, tlslab_bin,
                                                        state_dir, tmp_path):
    """No redirect happened (the client dialled tlslab's own address): refused, logged, no loop."""
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, "postgres", PG_PROXY)
    try:
        sh(*net.exec(net.client), "python3", "-c",
           f"import socket; s=socket.create_connection(('10.{net.r}.1.1', {PG_PROXY}), 5); "
           "s.settimeout(5); print(s.recv(10))", check=False)
        p.wait_for_log("is this proxy itself", timeout=5)
    finally:
        stop(p)


def test_a_slow_mirror_fetch_does_not_hold_up_other_sessions(net, servers, redirect, tlslab_bin,
                                                             state_dir, lab_ca, tmp_path):
    """The mirror fetch runs off the event loop: while tlslab waits (up to 5 s) for a server that
    accepts and never answers, a client of another server is served at once."""
    stall_port = PG_PORT + 1  # on the server's address, also redirected to the proxy
    stall = subprocess.Popen(
        [*net.exec(net.server), "python3", "-c",
         "import socket\n"
         f"s = socket.create_server(('{net.server_ip}', {stall_port}))\n"
         "conns = []\n"
         "while True:\n"
         "    conns.append(s.accept()[0])  # accept, never answer\n"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    held = None
    sh(str(SCRIPT), "up", "--port", str(stall_port), "--to", str(PG_PROXY), "--netns", net.router)
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, "postgres", PG_PROXY,
                      "--certificate", "mirror")
    try:
        time.sleep(0.3)  # the stall server is listening
        assert stall.poll() is None, stall.stderr.read() if stall.stderr else ""
        # A client of the stalling server: its session waits for the fetch, which times out.
        held = subprocess.Popen(
            [*net.exec(net.client), "python3", "-c",
             f"import socket, time; s = socket.create_connection(('{net.server_ip}', "
             f"{stall_port}), 5); time.sleep(15)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # tlslab has accepted it and is fetching the stalling server's certificate
        t0 = time.monotonic()
        r = probe(net, "psql", PG_PORT, ca=lab_ca, **PSQL)
        elapsed = time.monotonic() - t0
        assert r["connected"], r
        assert elapsed < 3.0, f"psql took {elapsed:.1f} s: the loop waited for the other fetch"
        p.wait_for_log(rf"mirror: {net.server_ip}:{PG_PORT} presents", timeout=1)
        p.wait_for_log(rf"mirror: cannot read the certificate of {net.server_ip}:{stall_port}: "
                       r".*timed out", timeout=10)
    finally:
        for proc in (held, stall):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=5)
        sh(str(SCRIPT), "down", "--port", str(stall_port), "--to", str(PG_PROXY), "--netns",
           net.router)
        stop(p)


def test_ipv6_clients_reach_their_ipv6_server(net, servers, redirect, tlslab_bin, state_dir,
                                              lab_ca, tmp_path):
    """IPv6: ip6tables REDIRECT, IP6T_SO_ORIGINAL_DST, a certificate naming the IPv6 address; the
    dual-stack listener serves IPv4 clients on the same port (IPv4-mapped addresses)."""
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, "postgres", PG_PROXY, listen="[::]")
    try:
        r = probe(net, "psql", PG_PORT, ca=lab_ca, **PSQL, host=net.server_ip6)
        assert r["connected"], f"psql over IPv6 through the transparent proxy: {r}"
        rec = events.wait_for(lambda x: x.get("original_destination"), bound=10)[0]
        assert rec["original_destination"] == f"[{net.server_ip6}]:{PG_PORT}", rec
        shown_ips = [ipaddress.ip_address(s[3:]) for s in sans(rec["certificate_shown"])
                     if s.startswith("IP:")]  # OpenSSL prints IPv6 uncompressed
        assert ipaddress.ip_address(net.server_ip6) in shown_ips, rec["certificate_shown"]
        r4 = probe(net, "psql", PG_PORT, ca=lab_ca, **PSQL)
        assert r4["connected"], f"psql over IPv4 to the dual-stack listener: {r4}"
        recs = events.wait_for(lambda x: x.get("original_destination") == f"{net.server_ip}:{PG_PORT}",
                               bound=10)
        assert f"IP:{net.server_ip}" in sans(recs[0]["certificate_shown"])
    finally:
        stop(p)


@pytest.mark.parametrize("scenario,server_says", [
    ("valid", "SCRAM channel binding check failed"),
    ("pg-no-channel-binding", "SCRAM channel binding negotiation error"),
])
def test_scram_channel_binding_sees_the_interception(net, servers, redirect, tlslab_bin,
                                                     state_dir, lab_ca, tmp_path, scenario,
                                                     server_says):
    """psql's default channel_binding=prefer binds SCRAM-SHA-256-PLUS to the certificate it saw:
    the real server, which sent another, refuses the login. Hiding PLUS (pg-no-channel-binding)
    does not help: the client then sends the 'y' flag (RFC 5802: I could bind, you did not
    offer), and a server that supports binding knows it was downgraded."""
    p, events = proxy(net, tlslab_bin, state_dir, tmp_path, "postgres", PG_PROXY,
                      "--scenario", scenario)
    try:
        r = probe(net, "psql", PG_PORT, ca=lab_ca, encrypt="verify-full")
        assert not r["connected"], r
        assert server_says in (r.get("error") or ""), r
    finally:
        stop(p)
