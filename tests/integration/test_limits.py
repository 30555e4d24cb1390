"""The limits a user sets (docs/limits.md), through the real binary with real sockets.

- --max-sessions N: the listener holds N sessions; the next client is accepted and closed at
  once (nothing read, no session, no record), the log says which limit at warn level, at most
  once a second however many are refused, and the admin API counts them; the held sessions
  keep working, and a place comes back when a session ends.
- --idle-timeout: a logged-in session that says nothing is closed, through the MITM and through
  passthrough (whose adapter only watches), and by `tlslab serve` itself; --handshake-timeout
  closes a client that never logs in.
- --max-message-bytes: a session that sends a longer message ends, with a record and a log
  line naming the limit; another session on the same listener is untouched.

Every client here is rawtds (a minimal TDS 7.x client in Python): plain PRELOGIN (NOT_SUP)
and LOGIN7 against `tlslab serve --encryption off`, so a test sees every byte.
"""

from __future__ import annotations

import re
import socket
import time

import pytest

import rawtds as R
from harness import EventLog, free_port
from lab_tools import Admin, admin_address

USER, PASSWORD = "lab", "lab-password"
REFUSAL_RE = r"\[proxy\] limit max-sessions=(\d+) reached: refused 127\.0\.0\.1:(\d+)"


@pytest.fixture(scope="module")
def serve_off(tlslab_bin, state_dir):
    from harness import TlslabProcess
    p = TlslabProcess.start(tlslab_bin, "serve", "--encryption", "off", "--no-examples",
                            state_dir=state_dir, name="serve off")
    yield p
    p.stop()


@pytest.fixture
def proxy(tlslab, tmp_path, serve_off):
    """proxy(*args) -> (process, EventLog, Admin) in front of serve_off."""
    n = [0]

    def start(*args: str):
        n[0] += 1
        events = tmp_path / f"limits{n[0]}.jsonl"
        p = tlslab("proxy", "--upstream", f"127.0.0.1:{serve_off.port}", "--events", str(events),
                   "--admin", f"127.0.0.1:{free_port()}", *args, name=f"proxy#{n[0]}")
        return p, EventLog(events), Admin(admin_address(p))

    return start


def login(port: int) -> R.TdsConn:
    """A plain TDS 7.x login (PRELOGIN NOT_SUP, LOGIN7) through `port`; LOGINACK required."""
    c = R.TdsConn(R.connect(port), timeout=5.0)
    assert c.prelogin(R.ENCRYPT_NOT_SUP) == R.ENCRYPT_NOT_SUP
    tokens, _ = c.login(USER, PASSWORD)
    assert any(t.type == R.TOKEN_LOGINACK for t in tokens), [hex(t.type) for t in tokens]
    return c


def select_1(c: R.TdsConn) -> None:
    """SELECT 1 answered: a whole response ending in a DONE token without the error bit."""
    c.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT 1"))
    payload, _ = c.read_message()
    done = payload[-13:]
    assert len(payload) > 13 and done[0] == R.TOKEN_DONE, payload.hex()
    assert not int.from_bytes(done[1:3], "little") & R.DONE_ERROR, payload.hex()


def local_port(c) -> int:
    s = c.sock if isinstance(c, R.TdsConn) else c
    return s.getsockname()[1]


# ---- --max-sessions ---------------------------------------------------------------------------

def test_max_sessions_refuses_the_next_client_at_once_and_says_which_limit(proxy):
    p, events, admin = proxy("--max-sessions", "2")
    held = [login(p.port), login(p.port)]
    mark = p.mark()

    # The third: accepted and closed at once, before it says anything; nothing is read from it.
    third = R.connect(p.port)
    t0 = time.monotonic()
    how, got = R.wait_closed(third, bound=3.0)
    assert how in ("eof", "reset"), "the client beyond --max-sessions is still open"
    assert got == b""
    assert time.monotonic() - t0 < 1.0
    m = p.wait_for_log(REFUSAL_RE, since=mark)
    assert m.group(1) == "2" and int(m.group(2)) == local_port(third)
    line = next(l for l in p.log(mark) if m.group(0) in l)
    assert " warning " in line, f"the refusal is not logged at warn level: {line}"
    third.close()

    # The held sessions keep working.
    for c in held:
        select_1(c)
    # Counted: per listener and in the metrics. No session, no record for the refused client.
    assert admin.ok("GET", "/listeners")[0]["refused_max_sessions"] == 1
    assert admin.ok("GET", "/listeners")[0]["max_sessions"] == 2
    assert admin.ok("GET", "/metrics")["refused"]["max-sessions"] == 1
    assert not [r for r in events.records() if r["client"].endswith(f":{local_port(third)}")]

    # A session that ends gives its place back (once its handles are closed).
    gone = local_port(held[0])
    held[0].close()
    events.wait_for(lambda r: r["client"].endswith(f":{gone}"))
    deadline = time.monotonic() + 5
    while True:
        try:
            again = login(p.port)
            break
        except (R.ProtocolError, ConnectionError, OSError):
            assert time.monotonic() < deadline, "no place came back after a session ended"
            time.sleep(0.1)
    select_1(again)
    select_1(held[1])
    again.close()
    held[1].close()


def test_a_flood_of_refused_clients_is_counted_but_logged_once_a_second(proxy):
    p, _, admin = proxy("--max-sessions", "1")
    held = login(p.port)
    mark = p.mark()
    flood = 60
    t0 = time.monotonic()
    for _ in range(flood):
        s = R.connect(p.port)
        how, _ = R.wait_closed(s, bound=3.0)
        assert how in ("eof", "reset")
        s.close()
    took = time.monotonic() - t0
    deadline = time.monotonic() + 5
    while admin.ok("GET", "/metrics")["refused"]["max-sessions"] < flood:
        assert time.monotonic() < deadline, admin.ok("GET", "/metrics")
        time.sleep(0.05)
    assert admin.ok("GET", "/metrics")["refused"]["max-sessions"] == flood

    def limit_lines() -> list[str]:
        return [l for l in p.log(mark) if "limit max-sessions=1 reached" in l]

    # The log is read as it is written: wait for the first line, then for it to settle.
    deadline = time.monotonic() + 5
    while not limit_lines():
        assert time.monotonic() < deadline, "no 'limit max-sessions=1 reached' line"
        time.sleep(0.05)
    time.sleep(0.5)
    lines = limit_lines()
    assert 1 <= len(lines) <= int(took) + 2, (took, lines)
    select_1(held)
    # One more after a quiet second: logged again, with the count of those held back.
    time.sleep(1.1)
    s = R.connect(p.port)
    assert R.wait_closed(s, bound=3.0)[0] in ("eof", "reset")
    s.close()
    deadline = time.monotonic() + 5
    while len(now := limit_lines()) <= len(lines):
        assert time.monotonic() < deadline, "the refusal after a quiet second was not logged"
        time.sleep(0.05)
    held_back = re.search(r"\(and (\d+) more since", now[-1])
    if len(lines) == 1:
        assert held_back is not None and int(held_back.group(1)) == flood - 1, now[-1]
    held.close()


def test_max_sessions_zero_is_unlimited(proxy):
    p, _, admin = proxy("--max-sessions", "0")
    conns = [login(p.port) for _ in range(4)]
    for c in conns:
        select_1(c)
        c.close()
    assert admin.ok("GET", "/metrics")["refused"]["max-sessions"] == 0


# ---- timeouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["valid", "passthrough"])
def test_idle_timeout_closes_an_idle_logged_in_session(proxy, scenario):
    p, events, _ = proxy("--idle-timeout", "2", "--scenario", scenario)
    c = login(p.port)
    select_1(c)
    active = login(p.port)  # kept busy: never idle for 2 s
    t0 = time.monotonic()
    for _ in range(6):
        time.sleep(0.5)
        select_1(active)
    how, _ = R.wait_closed(c.sock, bound=5.0)
    idle_for = time.monotonic() - t0
    assert how in ("eof", "reset"), f"an idle session stayed open ({scenario})"
    assert 1.5 <= idle_for <= 6.0, idle_for
    port = local_port(c)
    r = events.wait_for(lambda r: r["client"].endswith(f":{port}"))[0]
    assert r["detail"].startswith("idle for 2 s"), r["detail"]
    assert r["outcome"] == "login-plaintext", r
    select_1(active)
    active.close()


def test_handshake_timeout_closes_a_client_that_never_logs_in(proxy):
    p, events, _ = proxy("--handshake-timeout", "1")
    s = R.connect(p.port)
    t0 = time.monotonic()
    how, _ = R.wait_closed(s, bound=5.0)
    assert how in ("eof", "reset")
    assert 0.7 <= time.monotonic() - t0 <= 4.0
    port = local_port(s)
    r = events.wait_for(lambda r: r["client"].endswith(f":{port}"))[0]
    assert r["detail"].startswith("no login within 1 s"), r


def test_serve_idle_timeout_closes_an_idle_client(tlslab):
    serve = tlslab("serve", "--encryption", "off", "--no-examples", "--idle-timeout", "1",
                   name="serve idle")
    c = login(serve.port)
    select_1(c)
    t0 = time.monotonic()
    how, _ = R.wait_closed(c.sock, bound=5.0)
    assert how in ("eof", "reset")
    assert 0.7 <= time.monotonic() - t0 <= 4.0
    serve.wait_for_peer_log(local_port(c), r"idle for 1 s")


# ---- --max-message-bytes ----------------------------------------------------------------------

def test_a_message_over_max_message_bytes_ends_only_that_session(proxy):
    p, events, _ = proxy("--max-message-bytes", "16K")
    big, small = login(p.port), login(p.port)
    mark = p.mark()
    # 40,000 bytes of SQL in 4096-byte packets: the proxy gives up once 16 KiB are held.
    big.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT '" + "x" * 20000 + "'"))
    how, _ = R.wait_closed(big.sock, bound=5.0)
    assert how in ("eof", "reset"), "the session over the limit is still open"
    port = local_port(big)
    r = events.wait_for(lambda r: r["client"].endswith(f":{port}"))[0]
    want = ("limit max-message-bytes=16384 reached: a TDS message (SQL batch) from the client "
            "is longer")
    assert r["detail"].startswith(want), r["detail"]
    assert r["outcome"] == "login-plaintext"
    p.wait_for_log(re.escape(f":{port}] {want}"), since=mark)
    # The other session is untouched, and a message just under the limit still passes.
    select_1(small)
    small.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT '" + "y" * 4000 + "'"))
    payload, _ = small.read_message()
    assert payload[-13] == R.TOKEN_DONE and not payload[-12] & R.DONE_ERROR, payload[-13:].hex()
    small.close()


def test_a_bad_max_message_bytes_is_a_usage_error(tlslab_bin, state_dir):
    import subprocess
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "proxy", "--upstream",
                         "127.0.0.1:1", "--max-message-bytes", "lots"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 2
    assert "--max-message-bytes" in cp.stderr
