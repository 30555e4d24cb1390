"""What the client suites share: how `tlslab serve` logs a login, and how to start a serve and
a recording proxy in front of it (test_serve.py and the test_client_* suites).

  FULL_TDS7, FULL_TDS8, LOGIN_ONLY, PLAIN   the parenthesis at the end of a login line
  LOGIN_OK_RE                                the serve log's "login ok" line
  SESSION_END_RE                             any line that ends a session that did not log in
  SESSION_STEPS                              the --session steps, in order (tests/drivers/README.md)
  start_serve(tlslab, mode)                  a serve in one encryption mode
  start_proxy(tlslab, tmp_path, serve, ca)   `proxy --scenario valid --record-messages` in front
                                             of it, with its --events log
  login_lines(srv, since), assert_no_login(srv, since)
"""

from __future__ import annotations

import re

from harness import EventLog, TlslabProcess

FULL_TDS7 = "tds7, encryption full, TLSv1.2"
FULL_TDS8 = "tds8, encryption full, TLSv1.3"
LOGIN_ONLY = "tds7, encryption login-only, TLSv1.2"
PLAIN = "tds7, encryption none"

LOGIN_OK_RE = re.compile(
    r"\[(?P<session>serve#\d+) [^\]]+\] login ok: user '(?P<user>[^']*)', "
    r"TDS (?P<tds>\S+), packet size (?P<packet>\d+) \((?P<how>[^)]*)\)")
SESSION_END_RE = (r"client closed the connection|refused|failed|closing|no login within|"
                  r"not a TDS client|bad packet")

SESSION_STEPS = ["begin", "trancount", "system", "param", "commit", "trancount_after", "error",
                 "again"]


def start_serve(tlslab, mode: str) -> TlslabProcess:
    return tlslab("serve", "--encryption", mode, "--no-examples", name=f"serve {mode}")


def start_proxy(tlslab, tmp_path, upstream: TlslabProcess,
                lab_ca) -> tuple[TlslabProcess, EventLog]:
    events = tmp_path / "proxy-events.jsonl"
    p = tlslab("proxy", "--upstream", f"127.0.0.1:{upstream.port}", "--upstream-ca", str(lab_ca),
               "--scenario", "valid", "--record-messages", "--events", str(events),
               name="proxy valid")
    return p, EventLog(events)


def login_lines(srv: TlslabProcess, since: int) -> list[re.Match]:
    srv.wait_for_log(LOGIN_OK_RE, since)
    return [m for line in srv.log(since) if (m := LOGIN_OK_RE.search(line))]


def assert_no_login(srv: TlslabProcess, since: int) -> None:
    """Waits until a session started since `since` is over, then checks none logged in."""
    srv.wait_for_log(SESSION_END_RE, since)
    text = srv.log_text(since)
    assert "login ok" not in text, "the server logged a successful login:\n" + text
