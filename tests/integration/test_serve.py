"""`tlslab serve` against real drivers, through the real binary (see README.md for the tables).

One serve process per encryption mode (module scope, started on first use) is shared by the
tests; misbehaving-client tests get their own servers with a short login timer. Every driver
test runs with certificate validation on (the exported lab CA passed with --ca) and dials the
name `localhost`; negative controls prove that validation is really on.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pytest

import rawtds as R
from harness import TlslabProcess, run_probe

HOST = "localhost"          # ODBC 18 and mssql-jdbc 12 ignore IP SANs: dial the name
HOSTILE_LOGIN_TIMEOUT_S = 5  # --login-timeout of the servers that face misbehaving clients
CLOSE_BOUND_S = 5.0          # a bad connection must be closed by the server within this

# The parenthesis at the end of the serve log's login line.
FULL_TDS7 = "tds7, encryption full, TLSv1.2"
FULL_TDS8 = "tds8, encryption full, TLSv1.3"
LOGIN_ONLY = "tds7, encryption login-only, TLSv1.2"
PLAIN = "tds7, encryption none"

LOGIN_OK_RE = re.compile(
    r"\[(?P<session>serve#\d+) [^\]]+\] login ok: user '(?P<user>[^']*)', "
    r"TDS (?P<tds>\S+), packet size (?P<packet>\d+) \((?P<how>[^)]*)\)")
LOGIN_FAILED_RE = re.compile(
    r"\[(?P<session>serve#\d+) [^\]]+\] login failed for user '(?P<user>[^']*)': "
    r"(?P<why>[^(]*?) \((?P<how>[^)]*)\)")

# Each driver's "encrypt, validate" setting for a TDS 7.x server, in its own words.
ENCRYPT_ON = {"tedious": "true", "odbc": "yes", "jdbc": "true", "go": "true", "tsql": "require"}


def driver_param(driver: str, *values, id: str | None = None):
    return pytest.param(driver, *values, marks=getattr(pytest.mark, driver), id=id)


# ---- servers --------------------------------------------------------------------------------

class Servers:
    """serve processes started on first use, one per (mode, extra args), stopped at the end."""

    def __init__(self, binary, state_dir):
        self.binary, self.state_dir = binary, state_dir
        self.procs: dict[tuple, TlslabProcess] = {}

    def get(self, mode: str, *extra: str) -> TlslabProcess:
        key = (mode, *extra)
        if key not in self.procs:
            self.procs[key] = TlslabProcess.start(
                self.binary, "serve", "--encryption", mode, "--no-examples", *extra,
                state_dir=self.state_dir, name=" ".join(("serve", mode, *extra)))
        return self.procs[key]

    def stop_all(self) -> None:
        errors = []
        for p in self.procs.values():
            try:
                p.stop()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def servers(tlslab_bin, state_dir):
    s = Servers(tlslab_bin, state_dir)
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def hostile(servers):
    """force server with a short login timer, for misbehaving clients."""
    return servers.get("force", "--login-timeout", str(HOSTILE_LOGIN_TIMEOUT_S))


@pytest.fixture(scope="module")
def hostile_strict(servers):
    return servers.get("strict", "--login-timeout", str(HOSTILE_LOGIN_TIMEOUT_S))


# ---- helpers --------------------------------------------------------------------------------

def probe_at(srv: TlslabProcess, driver: str, **options):
    return run_probe(driver, host=HOST, port=srv.port, **options)


def login_line(srv: TlslabProcess, since: int, rx: re.Pattern = LOGIN_OK_RE) -> re.Match:
    """The one login line logged since `since` (waits, bounded, for it to appear)."""
    srv.wait_for_log(rx, since)
    matches = [m for line in srv.log(since) if (m := rx.search(line))]
    assert len(matches) == 1, f"want exactly one login line, got:\n" + srv.log_text(since)
    return matches[0]


def session_lines(srv: TlslabProcess, session: str, since: int) -> list[str]:
    return srv.sessions(since).get(session, [])


def assert_no_login(srv: TlslabProcess, since: int) -> None:
    """Waits until a session started since `since` is over, then checks none logged in."""
    srv.wait_for_log(r"client closed the connection|refused|failed|closing|no login within|"
                     r"not a TDS client|bad packet", since)
    text = srv.log_text(since)
    assert "login ok" not in text, "the server logged a successful login:\n" + text


def assert_go_logs_in(srv: TlslabProcess, lab_ca) -> None:
    """go (the fastest probe) logs in and reads 1: the server is fine for the next client."""
    srv.assert_alive()
    mark = srv.mark()
    r = probe_at(srv, "go", ca=lab_ca, encrypt="strict" if "strict" in srv.name else "true")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    login_line(srv, mark)


# ---- 1. every driver logs in, with validation on --------------------------------------------

@dataclass(frozen=True)
class LoginCase:
    mode: str        # serve --encryption
    encrypt: str     # the probe's --encrypt, in the driver's words
    expect: str      # the login line's parenthesis
    prelogin: str    # regex for the session's PRELOGIN/TLS line


TDS7_FULL = r"PRELOGIN: client ENCRYPTION=\w+ .*answered \w+ \(full\)"
TDS7_LOGIN_ONLY = r"PRELOGIN: client ENCRYPTION=OFF .*answered OFF \(login-only\)"
TDS8 = r"TLS established: TLSv1\.3 .*ALPN tds/8\.0"

LOGIN_MATRIX = [
    driver_param("tedious", LoginCase("force", "true", FULL_TDS7, TDS7_FULL), id="tedious-true-force"),
    driver_param("tedious", LoginCase("off", "true", FULL_TDS7, TDS7_FULL), id="tedious-true-off"),
    driver_param("tedious", LoginCase("strict", "strict", FULL_TDS8, TDS8), id="tedious-strict-strict"),
    driver_param("odbc", LoginCase("force", "yes", FULL_TDS7, TDS7_FULL), id="odbc-yes-force"),
    driver_param("odbc", LoginCase("strict", "strict", FULL_TDS8, TDS8), id="odbc-strict-strict"),
    driver_param("odbc", LoginCase("off", "no", LOGIN_ONLY, TDS7_LOGIN_ONLY), id="odbc-no-off"),
    driver_param("jdbc", LoginCase("force", "true", FULL_TDS7, TDS7_FULL), id="jdbc-true-force"),
    driver_param("jdbc", LoginCase("strict", "strict", FULL_TDS8, TDS8), id="jdbc-strict-strict"),
    driver_param("go", LoginCase("force", "true", FULL_TDS7, TDS7_FULL), id="go-true-force"),
    driver_param("go", LoginCase("strict", "strict", FULL_TDS8, TDS8), id="go-strict-strict"),
    driver_param("tsql", LoginCase("force", "require", FULL_TDS7, TDS7_FULL), id="tsql-require-force"),
    driver_param("tsql", LoginCase("off", "request", LOGIN_ONLY, TDS7_LOGIN_ONLY), id="tsql-request-off"),
]


@pytest.mark.parametrize("driver, case", LOGIN_MATRIX)
def test_driver_logs_in_with_validation(servers, lab_ca, driver, case: LoginCase):
    srv = servers.get(case.mode)
    mark = srv.mark()
    r = probe_at(srv, driver, ca=lab_ca, encrypt=case.encrypt)
    assert r["connected"] is True, r.describe()
    assert r["value"] == 1, r.describe()
    assert r["error"] is None, r.describe()
    m = login_line(srv, mark)
    assert m["user"] == "lab"
    assert m["how"] == case.expect, (
        f"this session's login line says ({m['how']}), want ({case.expect})\n" + srv.log_text(mark))
    lines = "\n".join(session_lines(srv, m["session"], mark))
    assert re.search(case.prelogin, lines), f"no {case.prelogin!r} in the session:\n{lines}"


# ---- 2. wrong password -> 18456 ---------------------------------------------------------------

@pytest.mark.parametrize("driver", [driver_param(d, id=d) for d in ENCRYPT_ON])
def test_wrong_password_gives_18456(servers, lab_ca, driver):
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, driver, ca=lab_ca, encrypt=ENCRYPT_ON[driver], password="not-the-password")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == 18456, r.describe()
    assert "Login failed for user 'lab'" in (r["error"] or ""), r.describe()
    m = login_line(srv, mark, LOGIN_FAILED_RE)
    assert m["why"] == "wrong password" and m["how"] == FULL_TDS7, srv.log_text(mark)
    assert "login ok" not in srv.log_text(mark)


# ---- 3. negative controls: validation is really on -----------------------------------------

CERT_ERROR_RE = re.compile(r"certificat|trust", re.IGNORECASE)


@pytest.mark.parametrize("driver", [driver_param(d, id=d) for d in ("tedious", "odbc", "jdbc", "go")])
def test_untrusted_certificate_is_refused_without_ca(servers, driver):
    """Same setting as the matrix, minus --ca: the lab CA is not in the default trust."""
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, driver, encrypt=ENCRYPT_ON[driver])
    assert r["connected"] is False, r.describe()
    assert r["value"] is None
    assert CERT_ERROR_RE.search(r["error"] or ""), (
        "the error does not mention the certificate/trust:\n" + r.describe())
    assert_no_login(srv, mark)


@pytest.mark.tsql
def test_tsql_with_a_foreign_ca_is_refused(servers, foreign_ca):
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, "tsql", ca=foreign_ca, encrypt="require")
    assert r["connected"] is False, r.describe()
    cause = f"{r.get('cause')} {r['error']}"
    assert re.search(r"certificate", cause, re.IGNORECASE), r.describe()
    assert_no_login(srv, mark)


@pytest.mark.go
def test_go_checks_the_host_name(servers, lab_ca):
    """Right CA, wrong name to verify: still refused (host name checking is on)."""
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, "go", ca=lab_ca, encrypt="true", host_name_in_certificate="not-this-server.example")
    assert r["connected"] is False, r.describe()
    assert re.search(r"not-this-server\.example", r["error"] or ""), r.describe()
    assert_no_login(srv, mark)


# ---- 4. strict refuses plain TDS 7.x; force refuses clients that will not encrypt -----------

@pytest.mark.parametrize("driver", [driver_param(d, id=d) for d in ("tedious", "go", "odbc")])
def test_strict_refuses_plain_tds7(servers, lab_ca, driver):
    srv = servers.get("strict")
    mark = srv.mark()
    r = probe_at(srv, driver, ca=lab_ca, encrypt=ENCRYPT_ON[driver])
    assert r["connected"] is False, r.describe()
    srv.wait_for_log(r"plain PRELOGIN refused: this server accepts only strict \(TDS 8\.0\)", mark)
    assert "login ok" not in srv.log_text(mark)


@pytest.mark.tedious
def test_force_refuses_tedious_without_encryption(servers, lab_ca):
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, "tedious", ca=lab_ca, encrypt="false")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == "EENCRYPT", r.describe()
    srv.wait_for_log(r"client ENCRYPTION=NOT_SUP .*answered REQ \(client expected to give up\)", mark)
    assert_no_login(srv, mark)


@pytest.mark.go
def test_force_never_logs_in_go_encrypt_disable(servers, lab_ca):
    """go-mssqldb 1.11 with encrypt=disable does not give up on ENCRYPT_REQ: it starts TLS
    anyway, with a default TLS config that ignores `certificate` (so the lab CA is not
    trusted). Whatever the driver does, the server must not log it in unencrypted."""
    srv = servers.get("force")
    mark = srv.mark()
    r = probe_at(srv, "go", ca=lab_ca, encrypt="disable")
    assert r["connected"] is False, r.describe()
    srv.wait_for_log(r"client ENCRYPTION=NOT_SUP .*answered REQ \(client expected to give up\)", mark)
    assert_no_login(srv, mark)


# ---- 5. none: no certificate at all ----------------------------------------------------------

@pytest.mark.go
def test_none_go_disable_logs_in_plaintext(servers):
    srv = servers.get("none")
    mark = srv.mark()
    r = probe_at(srv, "go", encrypt="disable")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    m = login_line(srv, mark)
    assert m["how"] == PLAIN, srv.log_text(mark)
    assert "TLS established" not in srv.log_text(mark)


@pytest.mark.odbc
def test_none_odbc_encrypt_yes_fails(servers, lab_ca):
    srv = servers.get("none")
    mark = srv.mark()
    r = probe_at(srv, "odbc", ca=lab_ca, encrypt="yes")
    assert r["connected"] is False, r.describe()
    assert re.search(r"Encryption not supported", r["error"] or "", re.IGNORECASE), r.describe()
    srv.wait_for_log(r"client ENCRYPTION=ON .*answered NOT_SUP", mark)
    assert_no_login(srv, mark)


# ---- 6. packet size and attention ------------------------------------------------------------

@pytest.mark.jdbc
@pytest.mark.parametrize("mode, encrypt, expect", [("force", "true", FULL_TDS7),
                                                   ("strict", "strict", FULL_TDS8)],
                         ids=["force", "strict"])
def test_jdbc_negotiates_packet_size_8000(servers, lab_ca, mode, encrypt, expect):
    srv = servers.get(mode)
    mark = srv.mark()
    r = probe_at(srv, "jdbc", ca=lab_ca, encrypt=encrypt, query="SELECT @@VERSION")
    assert r["connected"] is True, r.describe()
    assert isinstance(r["value"], str) and "tlslab" in r["value"], r.describe()
    m = login_line(srv, mark)
    assert m["packet"] == "8000" and m["how"] == expect, srv.log_text(mark)


@pytest.mark.raw
@pytest.mark.parametrize("mode", ["none", "force"])
def test_raw_packet_size_512_and_attention(servers, lab_ca, mode):
    """A minimal Python client asks packet size 512: the server agrees (ENVCHANGE), cuts its
    replies into packets of at most 512 bytes, acknowledges an ATTENTION with DONE(ATTN), and
    the connection keeps working afterwards."""
    srv = servers.get(mode)
    mark = srv.mark()
    conn = R.TdsConn(R.connect(srv.port))
    try:
        if mode == "none":
            assert conn.prelogin(R.ENCRYPT_NOT_SUP) == R.ENCRYPT_NOT_SUP
        else:
            assert conn.prelogin(R.ENCRYPT_ON) == R.ENCRYPT_ON
            ctx = ssl.create_default_context(cafile=str(lab_ca))
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            conn.tds7_tls_handshake(ctx, HOST)
        tokens, _ = conn.login("lab", "lab-password", packet_size=512)
        assert any(t.type == R.TOKEN_LOGINACK for t in tokens)
        assert R.envchange_packet_size(tokens) == 512

        # 100 SET statements -> 100 DONE tokens (1300 bytes): must come in packets <= 512
        conn.send_message(R.SQL_BATCH, R.sql_batch_payload("SET NOCOUNT ON; " * 100), 512)
        payload, pkts = conn.read_message()
        dones = R.walk_tokens(payload)
        assert len(dones) == 100 and all(t.type == R.TOKEN_DONE for t in dones)
        assert len(pkts) >= 3 and all(p.length <= 512 for p in pkts), [p.length for p in pkts]
        assert all(p.type == R.TABULAR_RESULT for p in pkts)

        # a batch, then ATTENTION: the batch's reply, then DONE with the attention bit
        conn.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT @@VERSION"), 512)
        conn.send_raw(R.packet(R.ATTENTION, b""))
        reply, _ = conn.read_message()
        assert reply[-13] == R.TOKEN_DONE
        attn, _ = conn.read_message()
        toks = R.walk_tokens(attn)
        assert toks and toks[-1].type == R.TOKEN_DONE and R.done_status(toks[-1]) & R.DONE_ATTN, attn.hex()

        # still usable
        conn.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT 1"), 512)
        reply, _ = conn.read_message()
        assert reply[-13] == R.TOKEN_DONE
    finally:
        conn.close()
    m = login_line(srv, mark)
    assert m["packet"] == "512" and m["how"] == (PLAIN if mode == "none" else FULL_TDS7)
    srv.wait_for_log(r"attention acknowledged", mark)


# ---- 7. misbehaving clients never disturb others --------------------------------------------

def _half_close(s: socket.socket) -> None:
    s.shutdown(socket.SHUT_WR)


def _prelogin_answered(s: socket.socket) -> None:
    conn = R.TdsConn(s)
    assert conn.prelogin(R.ENCRYPT_ON) == R.ENCRYPT_ON


def bad_garbage(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")


def bad_binary_garbage(s):
    s.sendall(b"\xde\xad\xbe\xef" * 16)


def bad_length_4(s):
    s.sendall(R.header(R.PRELOGIN, 4) + b"\x00" * 16)


def bad_length_32768(s):
    s.sendall(R.header(R.PRELOGIN, 32768) + b"\x00" * 64)


def bad_length_65535(s):
    s.sendall(R.header(R.PRELOGIN, 65535) + b"\x00" * 64)


def bad_truncated_then_close(s):
    s.sendall(R.prelogin_packet()[:13])
    _half_close(s)  # FIN: the client is gone (we still read to see the server close)


def bad_truncated_then_stall(s):
    s.sendall(R.prelogin_packet()[:13])


def bad_silent(s):
    pass


def bad_connect_then_close(s):
    _half_close(s)


def bad_oversized_prelogin(s):
    # PRELOGIN packets without EOM, 1.2 MB in all: the message size guard must stop it
    chunk = R.packet(R.PRELOGIN, b"\x00" * 4000, status=0)
    try:
        for _ in range(300):
            s.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed by the server before we were done: fine


def bad_prelogin_then_disconnect_mid_handshake(s):
    _prelogin_answered(s)
    s.sendall(R.packet(R.PRELOGIN, R.client_hello(HOST)))
    s.settimeout(CLOSE_BOUND_S)
    assert s.recv(65536), "no ServerHello flight"
    _half_close(s)


def bad_prelogin_then_stall_mid_handshake(s):
    _prelogin_answered(s)
    s.sendall(R.packet(R.PRELOGIN, R.client_hello(HOST)))


def bad_prelogin_then_garbage_client_hello(s):
    _prelogin_answered(s)
    s.sendall(R.packet(R.PRELOGIN, b"\x16\x03\x01\x00\x2d" + b"\x5a" * 45))


def bad_prelogin_then_plain_login7(s):
    _prelogin_answered(s)  # agreed ENCRYPTION=ON ...
    s.sendall(R.packet(R.LOGIN7, R.login7_payload("lab", "lab-password")))  # ... but no TLS


def bad_second_prelogin(s):
    _prelogin_answered(s)
    s.sendall(R.prelogin_packet())


def bad_tls_first_garbage(s):
    s.sendall(b"\x16\x03\x01\x00\x30" + b"\x07" * 48)


def bad_attention_first(s):
    s.sendall(R.packet(R.ATTENTION, b""))


def _tls_up(s, lab_ca) -> R.TdsConn:
    conn = R.TdsConn(s)
    assert conn.prelogin(R.ENCRYPT_ON) == R.ENCRYPT_ON
    ctx = ssl.create_default_context(cafile=str(lab_ca))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    conn.tds7_tls_handshake(ctx, HOST)
    return conn


@dataclass(frozen=True)
class Bad:
    act: Callable
    log: str                 # regex: the session's closing line
    needs_ca: bool = False
    timer: bool = False      # closed by the login timer (not at once)


# expected closing log line per behaviour, against `force`
TIMER = rf"no login within {HOSTILE_LOGIN_TIMEOUT_S} s"
FORCE_BAD = {
    "garbage-text": Bad(bad_garbage, r"not a TDS client: first byte 0x47"),
    "garbage-binary": Bad(bad_binary_garbage, r"not a TDS client: first byte 0xDE"),
    "length-4": Bad(bad_length_4, r"bad packet before login: packet length below 8 or above 32767"),
    "length-32768": Bad(bad_length_32768, r"bad packet before login: packet length below 8 or above 32767"),
    "length-65535": Bad(bad_length_65535, r"bad packet before login: packet length below 8 or above 32767"),
    "truncated-then-close": Bad(bad_truncated_then_close, r"client closed the connection"),
    "truncated-then-stall": Bad(bad_truncated_then_stall, TIMER, timer=True),
    "silent": Bad(bad_silent, TIMER, timer=True),
    "connect-then-close": Bad(bad_connect_then_close, r"client closed the connection \(await-first-byte\)"),
    "oversized-prelogin": Bad(bad_oversized_prelogin, r"PRELOGIN: message larger than the size guard"),
    "prelogin-then-disconnect-mid-handshake": Bad(bad_prelogin_then_disconnect_mid_handshake,
                                                  r"client closed the connection \(wrapped-handshake\)"),
    "prelogin-then-stall-mid-handshake": Bad(bad_prelogin_then_stall_mid_handshake, TIMER, timer=True),
    "prelogin-then-garbage-client-hello": Bad(bad_prelogin_then_garbage_client_hello,
                                              r"TLS handshake failed"),
    "prelogin-then-login7-without-tls": Bad(bad_prelogin_then_plain_login7,
                                            r"went on without TLS after the server answered ENCRYPTION=ON: refused"),
    "second-prelogin": Bad(bad_second_prelogin,
                           r"went on without TLS after the server answered ENCRYPTION=ON: refused"),
    "tls-first-garbage": Bad(bad_tls_first_garbage, r"TLS handshake failed"),
    "attention-first": Bad(bad_attention_first, r"not a TDS client: first byte 0x06"),
    "tls-then-garbage-login7": Bad(
        lambda s, ca: _tls_up(s, ca).send_raw(R.packet(R.LOGIN7, b"\x01" * 50)),
        r"LOGIN7: ", needs_ca=True),
    "tls-then-batch-before-login": Bad(
        lambda s, ca: _tls_up(s, ca).send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT 1")),
        r"expected LOGIN7, got a SQL batch message", needs_ca=True),
}

STRICT_BAD = {
    "garbage-text": Bad(bad_garbage, r"not a TDS client: first byte 0x47"),
    "length-4": Bad(bad_length_4, r"plain PRELOGIN refused|bad packet"),
    "plain-prelogin": Bad(lambda s: s.sendall(R.prelogin_packet()), r"plain PRELOGIN refused"),
    "tls-first-garbage": Bad(bad_tls_first_garbage, r"TLS handshake failed"),
    "silent": Bad(bad_silent, TIMER, timer=True),
}


def run_bad(bad: Bad, s: socket.socket, lab_ca) -> None:
    try:
        bad.act(s, lab_ca) if bad.needs_ca else bad.act(s)
    except R.ProtocolError:
        pass  # the server closed while we were still misbehaving: that is the point


def assert_closed_with_log(srv: TlslabProcess, s: socket.socket, peer_port: int, bad: Bad,
                           since: int) -> None:
    bound = CLOSE_BOUND_S + (HOSTILE_LOGIN_TIMEOUT_S if bad.timer else 0)
    how, _ = R.wait_closed(s, bound)
    assert how in ("eof", "reset"), f"server did not close the connection within {bound} s"
    srv.wait_for_peer_log(peer_port, bad.log, since)


@pytest.mark.raw
@pytest.mark.go
@pytest.mark.parametrize("name", list(FORCE_BAD))
def test_misbehaving_client_force(hostile, lab_ca, name):
    bad = FORCE_BAD[name]
    mark = hostile.mark()
    s = R.connect(hostile.port)
    try:
        peer = s.getsockname()[1]
        run_bad(bad, s, lab_ca)
        assert_closed_with_log(hostile, s, peer, bad, mark)
    finally:
        s.close()
    assert "login ok" not in hostile.log_text(mark)
    assert_go_logs_in(hostile, lab_ca)


@pytest.mark.raw
@pytest.mark.go
@pytest.mark.parametrize("name", list(STRICT_BAD))
def test_misbehaving_client_strict(hostile_strict, lab_ca, name):
    bad = STRICT_BAD[name]
    mark = hostile_strict.mark()
    s = R.connect(hostile_strict.port)
    try:
        peer = s.getsockname()[1]
        run_bad(bad, s, lab_ca)
        assert_closed_with_log(hostile_strict, s, peer, bad, mark)
    finally:
        s.close()
    assert_go_logs_in(hostile_strict, lab_ca)


@pytest.mark.raw
@pytest.mark.go
def test_fifty_concurrent_bad_clients(hostile, lab_ca):
    """50 bad clients at once (every kind above, round robin). While the stalling ones are
    still connected, go logs in; then every bad connection is closed, each with its own log
    line, and go logs in again."""
    n = 50
    fds_before = open_fds(hostile)
    names = list(FORCE_BAD)
    kinds = [FORCE_BAD[names[i % len(names)]] for i in range(n)]
    mark = hostile.mark()
    barrier = threading.Barrier(n, timeout=10)
    socks: list[socket.socket | None] = [None] * n
    errors: list[str] = []

    def worker(i: int) -> None:
        try:
            s = R.connect(hostile.port, timeout=10)
            socks[i] = s
            barrier.wait()
            run_bad(kinds[i], s, lab_ca)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {i} ({names[i % len(names)]}): {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), "bad clients did not finish sending in 20 s"
    assert not errors, "\n".join(errors)
    try:
        peers = [s.getsockname()[1] for s in socks]  # type: ignore[union-attr]
        stalling = [s for s, k in zip(socks, kinds) if k.timer]

        # a real driver logs in while the stalling clients are still connected
        assert stalling and not any(R.drain_is_closed(s) for s in stalling), \
            "stalling clients were closed before the login timer"
        assert_go_logs_in(hostile, lab_ca)
        assert not any(R.drain_is_closed(s) for s in stalling), (
            f"the go login took longer than the {HOSTILE_LOGIN_TIMEOUT_S} s login timer: it did "
            "not happen while the stalling clients were connected")

        # every bad connection is closed by the server, each with a log line of its own
        for s, peer, bad in zip(socks, peers, kinds):
            assert_closed_with_log(hostile, s, peer, bad, mark)  # type: ignore[arg-type]
    finally:
        for s in socks:
            if s is not None:
                s.close()
    sessions = hostile.sessions(mark)
    tagged = {hostile.session_of_peer(p, mark) for p in peers}
    assert None not in tagged and len(tagged) == n, "each bad client must be its own logged session"
    assert all(len(sessions[t]) >= 1 for t in tagged)
    assert_go_logs_in(hostile, lab_ca)
    wait_fds_back(hostile, fds_before)


def open_fds(srv: TlslabProcess) -> int:
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def wait_fds_back(srv: TlslabProcess, baseline: int, bound: float = 5.0) -> None:
    """No leak: the server's open file descriptors return to the baseline (bounded wait)."""
    deadline = time.monotonic() + bound
    while (n := open_fds(srv)) > baseline:
        assert time.monotonic() < deadline, f"{n} fds open, {baseline} before: a leak"
        time.sleep(0.05)


@pytest.mark.raw
@pytest.mark.go
@pytest.mark.parametrize("stage", ["before-prelogin", "after-prelogin", "mid-handshake"])
def test_client_reset_is_logged_and_harmless(hostile, lab_ca, stage):
    """The client aborts with a TCP RST (SO_LINGER 0) at some stage: one log line, no harm."""
    mark = hostile.mark()
    s = R.connect(hostile.port)
    peer = s.getsockname()[1]
    if stage != "before-prelogin":
        _prelogin_answered(s)
    if stage == "mid-handshake":
        s.sendall(R.packet(R.PRELOGIN, R.client_hello(HOST)))
        s.settimeout(CLOSE_BOUND_S)
        assert s.recv(65536), "no ServerHello flight"
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    if stage == "before-prelogin":
        # reset before the server saw the peer: it may log the peer as "?"
        hostile.wait_for_log(r"client closed the connection \(await-first-byte\): connection reset", mark)
    else:
        hostile.wait_for_peer_log(peer, r"client closed the connection \(\S+\): connection reset", mark)
    assert_go_logs_in(hostile, lab_ca)


# ---- 8. shutdown -------------------------------------------------------------------------------

@pytest.mark.raw
def test_sigterm_with_clients_connected_exits_0(tlslab, lab_ca):
    """SIGTERM while a client is logged in and another is mid-PRELOGIN: both are closed (one
    log line each) and the process exits 0 promptly (the factory's stop() checks the exit)."""
    srv = tlslab("serve", "--encryption", "force")
    half = R.connect(srv.port)
    half.sendall(R.prelogin_packet()[:10])
    conn = _tls_up(R.connect(srv.port), lab_ca)
    tokens, _ = conn.login("lab", "lab-password")
    assert tokens[-1].type == R.TOKEN_DONE and not R.done_status(tokens[-1]) & R.DONE_ERROR
    srv.wait_for_log(r"login ok")
    mark = srv.mark()
    try:
        t0 = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - t0 < 3, "slow shutdown"
        for s in (half, conn.sock):
            how, _ = R.wait_closed(s, CLOSE_BOUND_S)
            assert how in ("eof", "reset")
    finally:
        half.close()
        conn.close()
    log = srv.log_text(mark)
    assert "SIGTERM: shutting down" in log
    assert log.count("closing: shutting down") == 2, log
