"""`tlslab proxy` on its own, through the real binary (see README.md, "The proxy suite").

A `tlslab serve` (module scope, one per encryption mode, started on first use) is the upstream;
each test starts its own `tlslab proxy --listen 127.0.0.1:0 --events FILE` in front of it (or in
front of a small Python server where the upstream must misbehave) and reads the proxy's
--events records. Drivers dial `localhost` (ODBC 18 and mssql-jdbc 12 ignore IP SANs).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import rawtds as R
from harness import EventLog, TlslabProcess, free_port, run_probe

HOST = "localhost"
RECORD_WAIT_S = 5.0

# The documented shape of a session record (proxy/app/outputs/record_json.cc): every key must be there.
RECORD_KEYS = {"event", "id", "started", "ended", "duration_ms", "client", "scenario", "protocol",
               "client_prelogin", "upstream_answer", "client_answer", "client_leg",
               "upstream_leg", "certificate_shown", "upstream_certificate", "bytes", "outcome",
               "alert", "detail"}
PRELOGIN_KEYS = {"version", "encryption", "encryption_value", "instance", "mars"}
TLS_KEYS = {"offered_versions", "sni", "alpn_offered", "established", "version", "cipher",
            "alpn", "alert_received", "alert_sent", "failure"}
CERT_KEYS = {"subject", "issuer", "subject_alt_names", "not_before", "not_after", "sha256",
             "key", "signature_algorithm", "extended_key_usage", "self_signed"}
BYTES_KEYS = {"from_client", "to_client", "from_server", "to_server"}
ISO_MS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# ---- upstreams and proxies --------------------------------------------------------------------

@pytest.fixture(scope="module")
def serves(tlslab_bin, state_dir):
    """serve processes by encryption mode, started on first use, stopped (checked) at the end."""
    procs: dict[str, TlslabProcess] = {}

    def get(mode: str) -> TlslabProcess:
        if mode not in procs:
            procs[mode] = TlslabProcess.start(tlslab_bin, "serve", "--encryption", mode,
                                              "--no-examples", state_dir=state_dir,
                                              name=f"serve {mode}")
        return procs[mode]

    yield get
    errors = []
    for p in procs.values():
        try:
            p.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def proxy(tlslab, tmp_path):
    """Factory: proxy(upstream_port, *args) -> (TlslabProcess, EventLog); --events in tmp."""
    n = [0]

    def start(upstream_port: int, *args: str, **kw):
        n[0] += 1
        events = tmp_path / f"proxy{n[0]}-events.jsonl"
        p = tlslab("proxy", "--upstream", f"127.0.0.1:{upstream_port}", "--events", str(events),
                   *args, name=f"proxy#{n[0]}", **kw)
        return p, EventLog(events)

    return start


class PyUpstream:
    """A tiny threaded TCP server on 127.0.0.1 for upstreams that tlslab serve cannot play.
    handler(conn) runs once per connection in its own thread; errors are kept for the test."""

    def __init__(self, handler):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.errors: list[BaseException] = []
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True, name="py-upstream")
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            with conn:
                self.handler(conn)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)

    def close(self):
        self._stop = True
        self.sock.close()


@pytest.fixture
def py_upstream():
    made: list[PyUpstream] = []

    def start(handler) -> PyUpstream:
        u = PyUpstream(handler)
        made.append(u)
        return u

    yield start
    for u in made:
        u.close()


def one_record(events: EventLog, pred=lambda r: True, bound: float = RECORD_WAIT_S) -> dict:
    """The single session record matching pred (waits, bounded, for it)."""
    recs = events.wait_for(pred, bound)
    assert len(recs) == 1, f"want one record, got {len(recs)}: {recs}"
    return recs[0]


def check_tls(t: dict, where: str) -> None:
    assert isinstance(t, dict) and TLS_KEYS <= t.keys(), f"{where}: {t}"


def check_cert(c: dict, where: str) -> None:
    assert isinstance(c, dict) and CERT_KEYS <= c.keys(), f"{where}: {c}"
    assert re.fullmatch(r"[0-9a-f]{64}", c["sha256"]), f"{where}: sha256 {c['sha256']!r}"
    assert c["not_before"] < c["not_after"], f"{where}: {c}"


# ---- 1. a real driver through --scenario valid: the whole record ------------------------------

@pytest.mark.odbc
def test_odbc_through_valid_has_every_documented_field(serves, proxy, lab_ca):
    srv = serves("off")
    p, events = proxy(srv.port, "--scenario", "valid", "--upstream-ca", str(lab_ca))
    t0 = time.time()
    r = run_probe("odbc", host=HOST, port=p.port, ca=lab_ca, encrypt="yes")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = one_record(events)

    missing = RECORD_KEYS - rec.keys()
    assert not missing, f"record lacks {sorted(missing)}: {rec}"
    assert rec["event"] == "session" and isinstance(rec["id"], int)
    assert ISO_MS_RE.match(rec["started"]) and ISO_MS_RE.match(rec["ended"]), rec
    assert t0 - 1 <= rec["started_ts"] <= rec["ended_ts"] <= time.time() + 1, rec
    assert rec["duration_ms"] >= 0
    assert re.fullmatch(r"127\.0\.0\.1:\d+", rec["client"]), rec["client"]
    assert rec["scenario"] == "valid" and rec["protocol"] == "tds7"

    for k in ("client_prelogin", "upstream_answer", "client_answer"):
        assert isinstance(rec[k], dict) and PRELOGIN_KEYS <= rec[k].keys(), f"{k}: {rec[k]}"
    cp = rec["client_prelogin"]
    assert cp["encryption"] == "ON" and cp["encryption_value"] == 1, cp
    assert cp["version"].startswith("18."), cp  # ODBC Driver 18.x's own version
    assert cp["mars"] is False and cp["instance"] is not None, cp
    assert rec["upstream_answer"]["encryption"] == "ON", rec["upstream_answer"]
    assert rec["client_answer"]["encryption"] == "ON", rec["client_answer"]

    leg = rec["client_leg"]
    assert leg["mode"] == "full", leg
    check_tls(leg["tls"], "client_leg.tls")
    assert leg["tls"]["established"] is True and leg["tls"]["version"] == "TLSv1.2", leg
    assert "TLSv1.2" in leg["tls"]["offered_versions"], leg
    assert leg["tls"]["sni"] == "localhost", leg
    assert leg["tls"]["cipher"], leg
    assert isinstance(leg["tls"]["alpn_offered"], list), leg
    assert leg["tls"]["alert_received"] is None and leg["tls"]["failure"] is None, leg

    up = rec["upstream_leg"]
    assert up["mode"] == "full" and up["verification"] == "verified", up
    check_tls(up["tls"], "upstream_leg.tls")
    assert up["tls"]["established"] is True and up["tls"]["version"] == "TLSv1.2", up

    shown, real = rec["certificate_shown"], rec["upstream_certificate"]
    check_cert(shown, "certificate_shown")
    check_cert(real, "upstream_certificate")
    assert "CN=localhost" in shown["subject"] and "DNS:localhost" in shown["subject_alt_names"]
    assert "tlslab lab CA" in shown["issuer"] and shown["self_signed"] is False, shown
    assert "serverAuth" in shown["extended_key_usage"], shown
    assert shown["sha256"] != real["sha256"], "the proxy must show its own certificate"
    assert "tlslab lab CA" in real["issuer"], real

    b = rec["bytes"]
    assert BYTES_KEYS <= b.keys() and all(b[k] > 0 for k in BYTES_KEYS), b
    assert rec["outcome"] == "login-encrypted" and rec["alert"] is None, rec
    assert isinstance(rec["detail"], str) and rec["detail"], rec


# ---- 2. login-only and TDS 8.0 through the proxy ---------------------------------------------

@pytest.mark.odbc
def test_login_only_odbc_encrypt_no(serves, proxy, lab_ca):
    srv = serves("off")
    p, events = proxy(srv.port, "--upstream-ca", str(lab_ca))
    r = run_probe("odbc", host=HOST, port=p.port, ca=lab_ca, encrypt="no")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = one_record(events)
    assert rec["client_prelogin"]["encryption"] == "OFF", rec["client_prelogin"]
    assert rec["client_answer"]["encryption"] == "OFF", rec["client_answer"]
    assert rec["client_leg"]["mode"] == "login-only", rec["client_leg"]
    assert rec["upstream_leg"]["mode"] == "login-only", rec["upstream_leg"]
    assert rec["client_leg"]["tls"]["established"] is True, rec["client_leg"]
    assert rec["outcome"] == "login-encrypted", rec


@pytest.mark.go
def test_tds8_go_strict_through_the_proxy(serves, proxy, lab_ca):
    srv = serves("strict")
    p, events = proxy(srv.port, "--upstream-ca", str(lab_ca))
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="strict")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = one_record(events)
    assert rec["protocol"] == "tds8", rec
    ct, ut = rec["client_leg"]["tls"], rec["upstream_leg"]["tls"]
    assert "tds/8.0" in ct["alpn_offered"] and ct["alpn"] == "tds/8.0", ct
    assert ct["version"] == "TLSv1.3" and ct["established"] is True, ct
    assert ut["alpn"] == "tds/8.0" and ut["established"] is True, ut
    assert rec["upstream_leg"]["verification"] == "verified", rec["upstream_leg"]
    assert rec["outcome"] == "login-encrypted", rec


# ---- 3. upstream verification -----------------------------------------------------------------

@pytest.mark.go
def test_upstream_ca_that_did_not_sign_the_server_fails_the_session(serves, proxy, lab_ca,
                                                                   foreign_ca):
    srv = serves("off")
    p, events = proxy(srv.port, "--upstream-ca", str(foreign_ca))
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
    assert r["connected"] is False, r.describe()
    rec = one_record(events)
    assert rec["outcome"] == "upstream-failed", rec
    text = f"{rec['detail']} | {rec['upstream_leg']['verification']}"
    assert re.search(r"verif|certificate|issuer", text, re.I), text
    assert rec["upstream_leg"]["verification"] not in ("verified", "not verified", ""), text


@pytest.mark.go
def test_without_upstream_ca_the_upstream_is_recorded_not_verified(serves, proxy, lab_ca):
    srv = serves("off")
    p, events = proxy(srv.port)
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = one_record(events)
    assert rec["upstream_leg"]["verification"] == "not verified", rec["upstream_leg"]
    check_cert(rec["upstream_certificate"], "upstream_certificate")
    assert "CN=localhost" in rec["upstream_certificate"]["subject"], rec["upstream_certificate"]
    assert rec["outcome"] == "login-encrypted", rec


@pytest.mark.go
def test_upstream_unreachable_fails_quickly(proxy, lab_ca):
    dead = free_port()  # nothing listens there
    p, events = proxy(dead, "--connect-timeout", "5")
    t = time.monotonic()
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
    assert r["connected"] is False, r.describe()
    rec = one_record(events, bound=3.0)
    assert time.monotonic() - t < 5.0, "the refused upstream connection took too long to end"
    assert rec["outcome"] == "upstream-failed", rec
    assert rec["duration_ms"] < 2000, rec
    assert re.search(r"refused|connect", rec["detail"], re.I), rec["detail"]


# ---- 4. not TDS: relayed untouched ------------------------------------------------------------

@pytest.mark.raw
def test_bytes_that_are_not_tds_are_relayed_untouched(proxy, py_upstream):
    got = bytearray()

    def echo(conn):
        conn.settimeout(5)
        while True:
            data = conn.recv(65536)
            if not data:
                return
            got.extend(data)
            conn.sendall(data)

    up = py_upstream(echo)
    p, events = proxy(up.port)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tlslab-test\r\n\r\n"
    with R.connect(p.port) as s:
        s.sendall(request)
        back = b""
        s.settimeout(5)
        while len(back) < len(request):
            chunk = s.recv(65536)
            assert chunk, f"the proxy closed after {back!r}"
            back += chunk
        s.shutdown(socket.SHUT_WR)
        assert R.wait_closed(s, 5)[0] in ("eof", "reset")
    assert back == request, "the echo did not come back byte-identical"
    assert bytes(got) == request, "the upstream did not receive the bytes untouched"
    assert not up.errors, up.errors
    rec = one_record(events)
    assert rec["protocol"] == "unknown", rec
    assert rec["bytes"]["from_client"] == rec["bytes"]["to_server"] == len(request), rec["bytes"]
    assert rec["bytes"]["from_server"] == rec["bytes"]["to_client"] == len(request), rec["bytes"]


# ---- 5. isolation under load ------------------------------------------------------------------

BAD_KINDS = ("close", "http", "garbage", "prelogin-close", "silent", "half-hello", "rst")


def _bad_client(port: int, kind: str) -> socket.socket | None:
    """Opens one misbehaving connection; returns the socket if it stays open for now."""
    s = R.connect(port)
    if kind == "close":
        s.close()
        return None
    if kind == "http":
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    elif kind == "garbage":
        s.sendall(os.urandom(64) + b"\xde\xad")
    elif kind == "prelogin-close":
        s.sendall(R.prelogin_packet(R.ENCRYPT_ON))
        s.close()
        return None
    elif kind == "half-hello":
        s.sendall(R.prelogin_packet(R.ENCRYPT_ON)[:20])
    elif kind == "rst":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(b"\x12\x01\x00")
        s.close()
        return None
    return s  # silent, http, garbage, half-hello: left open until the driver is done


@pytest.mark.raw
@pytest.mark.go
@pytest.mark.timeout(120)
def test_200_concurrent_connections_some_garbage_while_a_driver_logs_in(serves, proxy, lab_ca):
    srv = serves("off")
    p, events = proxy(srv.port, "--handshake-timeout", "20")
    n = 200
    kinds = [BAD_KINDS[i % len(BAD_KINDS)] for i in range(n)]
    t = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        opened = [s for s in pool.map(lambda k: _bad_client(p.port, k), kinds) if s]
    try:
        # a real driver logs in while the bad ones are still connected
        r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
        assert r["connected"] is True and r["value"] == 1, r.describe()
        p.assert_alive()
    finally:
        for s in opened:
            s.close()
    recs = events.wait_for(lambda r: True, bound=30.0, count=n + 1, what="session records")
    elapsed = time.monotonic() - t
    assert len(recs) == n + 1, f"{len(recs)} records for {n} + 1 connections"
    logins = [x for x in recs if x["outcome"] == "login-encrypted"]
    assert len(logins) == 1, [x["outcome"] for x in recs]
    assert len({x["id"] for x in recs}) == n + 1, "session ids are not unique"
    assert all(x["outcome"] != "protocol-error" or x["detail"] for x in recs)
    p.assert_alive()
    # the proxy still serves after the storm
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    assert elapsed < 60, f"the storm took {elapsed:.1f} s"


@pytest.mark.raw
@pytest.mark.xfail(strict=True, reason=(
    "a client that resets before the proxy accepts takes its address with it: libuv accepts with "
    "accept4(fd, NULL, NULL) and getpeername() fails on a reset socket, so the record says "
    "'unknown (reset before accept)' instead of inventing one"))
def test_client_address_is_recorded_when_the_client_resets_at_once(serves, proxy):
    """A client that connects and resets (RST) at once still gets its address in the record
    (the `client` field; the log tag shows it too)."""
    srv = serves("off")
    p, events = proxy(srv.port)
    ports = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", p.port))
        ports.append(s.getsockname()[1])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST, before the proxy has read anything
    recs = events.wait_for(lambda r: True, bound=10.0, count=len(ports), what="session records")
    assert len(recs) == len(ports), recs
    p.assert_alive()
    got = sorted(r["client"] for r in recs)
    want = sorted(f"127.0.0.1:{port}" for port in ports)
    assert got == want, (
        f"client addresses recorded {got}, want {want}; details: "
        f"{[(r['client'], r['outcome'], r['detail']) for r in recs]}")


# ---- 6. backpressure --------------------------------------------------------------------------

STREAM_BYTES = 64 * 1024 * 1024
RSS_GROWTH_LIMIT = 32 * 1024 * 1024   # 64 MiB pass through; the proxy may hold a few MiB
SLOW_READER_BPS = 16 * 1024 * 1024     # the client reads at most this fast (~4 s for 64 MiB)


def vm_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def relay_stream_to_slow_reader(proxy, py_upstream, *, answer: bool) -> tuple[int, str]:
    """passthrough in front of a Python upstream that, once the client's PRELOGIN arrived,
    sends a PRELOGIN answer (if `answer`) and then streams 64 MiB. The client reads slowly and
    checks every byte. Returns (peak VmRSS growth of the proxy, summary)."""
    if answer:
        block = os.urandom(1024 * 1024)
    else:
        # not TDS framing from the first byte on: an 8-byte "header" of zeros (length 0), then
        # random bytes (deterministic, unlike random bytes alone, whose first "header" may
        # happen to form a complete message)
        block = bytes(8) + os.urandom(1024 * 1024 - 8)
    reply = R.packet(R.TABULAR_RESULT, R.prelogin_payload(R.ENCRYPT_NOT_SUP)) if answer else b""
    expected = hashlib.sha256(reply + block * (STREAM_BYTES // len(block))).hexdigest()
    first = R.prelogin_packet(R.ENCRYPT_ON)
    seen_first = []

    def streamer(conn):
        conn.settimeout(60)
        buf = b""
        while len(buf) < len(first):
            chunk = conn.recv(65536)
            if not chunk:
                raise AssertionError(f"upstream: EOF after {buf!r}")
            buf += chunk
        seen_first.append(buf)
        conn.sendall(reply)
        for _ in range(STREAM_BYTES // len(block)):
            conn.sendall(block)
        conn.shutdown(socket.SHUT_WR)

    up = py_upstream(streamer)
    p, events = proxy(up.port, "--scenario", "passthrough", log_level="info")
    pid = p.proc.pid
    base = vm_rss(pid)
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], vm_rss(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    h = hashlib.sha256()
    got = 0
    t = time.monotonic()
    try:
        with R.connect(p.port, timeout=30) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.sendall(first)
            while True:
                chunk = s.recv(64 * 1024)
                if not chunk:
                    break
                h.update(chunk)
                got += len(chunk)
                ahead = got / SLOW_READER_BPS - (time.monotonic() - t)
                if ahead > 0:
                    time.sleep(ahead)  # the slow reader
                assert time.monotonic() - t < 60, f"only {got} bytes after 60 s"
    finally:
        stop.set()
        sampler.join(2)
    seconds = time.monotonic() - t
    assert not up.errors, up.errors
    assert seen_first == [first], "the client's PRELOGIN did not reach the upstream untouched"
    assert got == len(reply) + STREAM_BYTES, f"received {got} of {len(reply) + STREAM_BYTES}"
    assert h.hexdigest() == expected, "the stream arrived altered"
    rec = one_record(events)
    assert rec["scenario"] == "passthrough" and rec["protocol"] == "tds7", rec
    assert rec["bytes"]["to_client"] == got, rec["bytes"]
    growth = peak[0] - base
    return growth, (f"proxy VmRSS grew by {growth / 2**20:.1f} MiB (base {base / 2**20:.1f} "
                    f"MiB) while relaying {got / 2**20:.0f} MiB to a reader taking "
                    f"{seconds:.1f} s")


@pytest.mark.raw
@pytest.mark.timeout(120)
def test_backpressure_slow_reader_gets_every_byte_and_rss_stays_bounded(proxy, py_upstream):
    """The upstream answers the PRELOGIN as a server would, then streams 64 MiB; a client
    reading at 16 MiB/s gets every byte (checksum) and the proxy holds at most a few MiB."""
    growth, summary = relay_stream_to_slow_reader(proxy, py_upstream, answer=True)
    assert growth < RSS_GROWTH_LIMIT, summary


@pytest.mark.raw
@pytest.mark.timeout(120)
def test_passthrough_does_not_hold_a_server_stream_that_is_no_prelogin_answer(proxy, py_upstream):
    """Same, but instead of a PRELOGIN answer the upstream streams 64 MiB that are not TDS at
    all (not a SQL Server). Passthrough must still relay without keeping the stream."""
    growth, summary = relay_stream_to_slow_reader(proxy, py_upstream, answer=False)
    assert growth < RSS_GROWTH_LIMIT, summary


@pytest.mark.raw
@pytest.mark.timeout(120)
def test_both_directions_flow_when_the_peer_must_write_before_it_reads_on(proxy, py_upstream):
    """An echo upstream writes back what it reads and stops reading while its writes are stuck.
    The client sends 128 MiB through passthrough while reading the echo. Backpressure that
    paused *both* directions when one queue was high wedged this relay (found by scripts/bench:
    the session stalled until the handshake timer reset it); per-direction backpressure must
    carry every byte both ways. Five runs, since the wedge depended on timing."""
    import hashlib

    def echo(conn):
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)

    up = py_upstream(echo)
    p, _ = proxy(up.port, "--scenario", "passthrough")
    total = 128 * 2**20
    first = bytes([0x12, 0x01, 0x00, 0x08, 0, 0, 1, 0])
    block = bytes(range(256)) * 256
    for run in range(5):
        sock = socket.create_connection((HOST, p.port), timeout=30)
        got = hashlib.sha256()
        received = [0]

        def reader():
            while received[0] < total + len(first):
                data = sock.recv(65536)
                if not data:
                    return
                received[0] += len(data)
                got.update(data)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        sent = hashlib.sha256()
        sock.sendall(first)
        sent.update(first)
        for _ in range(total // len(block)):
            sock.sendall(block)
            sent.update(block)
        t.join(timeout=60)
        sock.close()
        assert received[0] == total + len(first), f"run {run}: {received[0]} of {total + len(first)} bytes came back"
        assert got.digest() == sent.digest(), f"run {run}: the echo came back different"


# ---- 7. passthrough records the PRELOGIN (documented) -------------------------------------------

@pytest.mark.go
def test_passthrough_records_the_client_prelogin(serves, proxy, lab_ca):
    """proxy_session.h: 'passthrough scenario: every byte relayed untouched; a
    PassthroughObserver records PRELOGIN'; the catalogue: 'PRELOGIN recorded only'."""
    srv = serves("off")
    p, events = proxy(srv.port, "--scenario", "passthrough")
    r = run_probe("go", host=HOST, port=p.port, ca=lab_ca, encrypt="true")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = one_record(events)
    assert rec["protocol"] == "tds7" and rec["outcome"] == "login-encrypted", rec
    assert rec["certificate_shown"] is None, "passthrough must not show a certificate of its own"
    assert rec["client_prelogin"] is not None, (
        "passthrough record has no client_prelogin although the PRELOGIN passed in clear: "
        f"{rec}")
    assert rec["client_prelogin"]["encryption"] == "ON", rec["client_prelogin"]
    assert rec["upstream_answer"] is not None and \
        rec["upstream_answer"]["encryption"] == "ON", rec


# ---- 8. the CLI refuses bad input -------------------------------------------------------------

def run_cli(tlslab_bin, state_dir, *args, timeout=30):
    import subprocess
    return subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_proxy_exits_when_it_cannot_listen(tlslab_bin, state_dir):
    """--listen on a taken port is a startup error: a message and a non-zero exit (as
    `tlslab serve` does), not a process living on without its listener."""
    import subprocess
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    try:
        argv = [str(tlslab_bin), "--state-dir", str(state_dir), "proxy", "--listen",
                f"127.0.0.1:{taken}", "--upstream", "127.0.0.1:1"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            _out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
            pytest.fail(f"`tlslab proxy` printed {err.strip()!r} but was still running 10 s "
                        f"later (killed); argv: {argv}")
        assert proc.returncode not in (0, None), err
        assert "address already in use" in err, err
    finally:
        blocker.close()


ORIGINAL_16 = ("valid", "self-signed", "untrusted-root", "expired", "not-yet-valid",
               "wrong-host", "cn-only", "ip-mismatch", "tls1.0-only", "tls1.1-only",
               "weak-rsa1024", "sha1-signature", "no-serverauth-eku", "incomplete-chain",
               "reset-during-handshake", "passthrough")


def test_unknown_scenario_exits_2_listing_the_known_ones(tlslab_bin, state_dir):
    cp = run_cli(tlslab_bin, state_dir, "proxy", "--listen", "127.0.0.1:0", "--upstream",
                 "127.0.0.1:1", "--scenario", "no-such-scenario")
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert "no-such-scenario" in cp.stderr, cp.stderr
    for name in ORIGINAL_16:
        assert name in cp.stderr, f"{name!r} not listed: {cp.stderr}"


BROKEN = {
    "unknown-key.toml": ('name = "broken-a"\ndescription = "d"\nexpect = "accept"\n'
                         'expect_detail = "e"\nbogus_key = 1\n', "bogus_key"),
    "wrong-type.toml": ('name = "broken-b"\ndescription = "d"\nexpect = "accept"\n'
                        'expect_detail = "e"\npassthrough = "yes"\n', "passthrough"),
    "nested-wrong-type.toml": ('name = "broken-c"\ndescription = "d"\nexpect = "accept"\n'
                               'expect_detail = "e"\n[certificate]\nkey_bits = "big"\n',
                               "key_bits"),
}


@pytest.mark.parametrize("fname", sorted(BROKEN))
@pytest.mark.parametrize("command", ["scenarios", "proxy"])
def test_broken_scenario_file_names_the_file_and_the_key(tlslab_bin, state_dir, tmp_path,
                                                         fname, command):
    d = tmp_path / "scenarios"
    d.mkdir()
    text, key = BROKEN[fname]
    (d / fname).write_text(text)
    args = ["scenarios", "--scenarios", str(d)] if command == "scenarios" else \
        ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--scenarios", str(d)]
    cp = run_cli(tlslab_bin, state_dir, *args)
    assert cp.returncode != 0, f"accepted a broken file: {cp.stdout} {cp.stderr}"
    assert fname in cp.stderr, f"the error does not name the file: {cp.stderr!r}"
    assert key in cp.stderr, f"the error does not name the key {key!r}: {cp.stderr!r}"


def test_scenarios_json_lists_the_catalogue(tlslab_bin, state_dir):
    import json
    cp = run_cli(tlslab_bin, state_dir, "scenarios", "--json")
    assert cp.returncode == 0, cp.stderr
    items = json.loads(cp.stdout)
    names = [s["name"] for s in items]
    assert len(names) >= 16 and len(set(names)) == len(names), names
    assert set(ORIGINAL_16) <= set(names), sorted(set(ORIGINAL_16) - set(names))
    for s in items:
        assert {"name", "description", "expect", "expect_detail", "passthrough", "protocols",
                "source"} <= s.keys(), s
        assert s["expect"] in ("accept", "reject"), s
