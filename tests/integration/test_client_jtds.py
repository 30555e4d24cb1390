"""jTDS 1.3.1, a TDS implementation of its own (not Microsoft's), through the real binary.

jTDS's `ssl` property (the probe's --encrypt), read from the 1.3.1 jar (TdsCore.negotiateSSL,
ssl.SocketFactories) and checked here:

  ssl           PRELOGIN sent                 TLS                    what is verified
  off (default) none: LOGIN7 is the 1st packet none                  -
  request       ENCRYPTION=OFF                if the server offers   nothing (trust-all manager)
  require       ENCRYPTION=ON                 required               nothing (trust-all manager)
  authenticate  ENCRYPTION=ON                 required               the chain (JSSE default trust
                                                                     store), NOT the host name

So `require` is jTDS's TrustServerCertificate=true, and `authenticate` is the only mode that
validates, without a host name check: the wrong-host scenario logs in. The lab CA reaches jTDS
only as JSSE's default trust store (javax.net.ssl.trustStore, made at run time by the probe).

On connect jTDS 1.3.1 logs in with TDS 7.1 (library and app name "jTDS", PRELOGIN version
8.0.341.0) and sends one batch before the application's first statement:
    SELECT @@MAX_PRECISION / SET TRANSACTION ISOLATION LEVEL READ COMMITTED /
    SET IMPLICIT_TRANSACTIONS OFF / SET QUOTED_IDENTIFIER ON / SET TEXTSIZE 2147483647

ssl=off (jTDS's default) and tds=7.0 send LOGIN7 as the first packet, with no PRELOGIN:
SQL Server (and `tlslab serve`) serves it in clear unless it forces encryption, when it closes
the connection ("I/O Error: DB server closed connection."); the proxy relays it and records the
login in clear. (Found by this module: `serve` and the proxy took it for a non-TDS client.)

Known gap, not tested:
  * ssl=request against Force Encryption = No (PRELOGIN answered OFF: login-only TLS): the
    stand-in logs the login and answers in clear, but jTDS, closing its SSLSocket after LOGIN7,
    loses that answer (the JDK drains the bytes already received on close) and waits until its
    login timeout: "I/O Error: Socket closed". A jTDS-on-modern-JDK race, not tested here.
"""

from __future__ import annotations

import re
import time

import pytest

from harness import EventLog, TlslabProcess
from serve_log import FULL_TDS7, PLAIN, assert_no_login, login_lines, start_serve

pytestmark = pytest.mark.jdbc  # a JVM suite: `-m "not jdbc"` skips it with the others

DRIVER = "jtds"
HOST = "localhost"
JTDS_VERSION = "1.3.1"
PRELOGIN_VERSION = "8.0.341.0"  # what jTDS 1.3.1 puts in PRELOGIN's VERSION
CONNECT_BATCH = ("SELECT @@MAX_PRECISION SET TRANSACTION ISOLATION LEVEL READ COMMITTED "
                 "SET IMPLICIT_TRANSACTIONS OFF SET QUOTED_IDENTIFIER ON SET TEXTSIZE 2147483647")

PRELOGIN_RE = re.compile(
    r"PRELOGIN: client ENCRYPTION=(?P<client>\w+) version (?P<version>\S+), "
    r"answered (?P<answer>\w+) \((?P<mode>[^)]+)\)")
NOT_ENABLED = "Encryption is not enabled at the server."
PKIX_PATH = r"PKIX path building failed: .*unable to find valid certification path"


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def run(probe, port: int, ca, ssl: str | None, **kw):
    r = probe(DRIVER, host=HOST, port=port, ca=ca, encrypt=ssl, **kw)
    assert r["version"] == JTDS_VERSION, r.describe()
    assert r["ssl"] == ssl, r.describe()
    return r


def assert_logged_in(r, srv: TlslabProcess, since: int, how: str) -> re.Match:
    assert r["connected"] is True and r["error"] is None and r["value"] == 1, r.describe()
    lines = login_lines(srv, since)
    assert len(lines) == 1, "want one login line:\n" + srv.log_text(since)
    m = lines[0]
    assert (m["user"], m["tds"], m["how"]) == ("lab", "7.1", how), srv.log_text(since)
    return m


def assert_refused(r, srv: TlslabProcess, since: int, error: str) -> None:
    assert r["connected"] is False and r["error_code"] == "08S01", r.describe()
    assert re.search(error, r["error"] or ""), f"error does not match {error!r}\n" + r.describe()
    assert_no_login(srv, since)


# ---- 1. against `tlslab serve`, every encryption mode ------------------------------------------

# (serve --encryption, ssl, PRELOGIN ENCRYPTION the client sends, the login line's parenthesis or
# the error). The lab CA is given (it matters for authenticate only).
SERVE_CASES = [
    ("force", "authenticate", "ON", FULL_TDS7),
    ("force", "require", "ON", FULL_TDS7),
    ("force", "request", "OFF", FULL_TDS7),   # the server answers REQ: full TLS
    ("off", "authenticate", "ON", FULL_TDS7),
    ("off", "require", "ON", FULL_TDS7),
    ("none", "request", "OFF", PLAIN),        # NOT_SUP: jTDS goes on in clear
    ("none", "require", "ON", NOT_ENABLED),
    ("none", "authenticate", "ON", NOT_ENABLED),
]


@pytest.mark.parametrize("mode, ssl, client, outcome", [
    pytest.param(*c, id=f"jtds-{c[0]}-{c[1]}") for c in SERVE_CASES])
def test_serve_login_per_ssl_mode(tlslab, probe, lab_ca, mode, ssl, client, outcome):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = run(probe, srv.port, lab_ca, ssl)
    srv.wait_for_log(PRELOGIN_RE, mark)
    pre = [m for ln in srv.log(mark) if (m := PRELOGIN_RE.search(ln))]
    assert len(pre) == 1 and pre[0]["client"] == client, srv.log_text(mark)
    assert pre[0]["version"] == PRELOGIN_VERSION, srv.log_text(mark)
    if outcome == NOT_ENABLED:
        assert_refused(r, srv, mark, re.escape(NOT_ENABLED))
    else:
        assert_logged_in(r, srv, mark, outcome)


def test_serve_authenticate_refuses_a_foreign_ca(tlslab, probe, foreign_ca):
    """Negative control: authenticate validates the chain against the trust store given."""
    srv = start_serve(tlslab, "force")
    mark = srv.mark()
    r = run(probe, srv.port, foreign_ca, "authenticate")
    assert_refused(r, srv, mark, PKIX_PATH)


def test_serve_require_accepts_a_foreign_ca(tlslab, probe, foreign_ca):
    """require verifies nothing: the same foreign CA logs in."""
    srv = start_serve(tlslab, "force")
    mark = srv.mark()
    r = run(probe, srv.port, foreign_ca, "require")
    assert_logged_in(r, srv, mark, FULL_TDS7)


@pytest.mark.parametrize("ssl", ["request", "require", "authenticate"])
def test_serve_strict_is_out_of_reach(tlslab, probe, lab_ca, ssl):
    """jTDS 1.3 has no TDS 8.0: a strict server closes on its PRELOGIN (knowledge/errors.json
    jtds/db-server-closed-connection)."""
    srv = start_serve(tlslab, "strict")
    mark = srv.mark()
    r = run(probe, srv.port, lab_ca, ssl)
    assert_refused(r, srv, mark, r"^Network error IOException: DB server closed connection\.$")


TDS70_GAP = pytest.mark.xfail(
    strict=True, reason="the stand-in's login answer to TDS 7.0 has no charset ENVCHANGE (type 3, "
    "TDS 7.0 knows no collation): jTDS then asks the server's charset with a query only SQL "
    "Server 6.5 answers and gives up 'Please use TDS protocol version 7.0 or higher'; what SQL "
    "Server 2019+ sends a TDS 7.0 login here is not verified")


@pytest.mark.parametrize("ssl, tds", [(None, None), ("off", None),
                                      pytest.param("require", "7.0", marks=TDS70_GAP)],
                         ids=["jtds-default", "jtds-off", "jtds-tds70"])
def test_serve_login_without_prelogin(tlslab, probe, lab_ca, ssl, tds):
    """jTDS's default (ssl=off), and tds=7.0, send LOGIN7 as their first packet: no PRELOGIN.
    SQL Server serves that in clear unless it forces encryption (was a tlslab gap: `serve`
    answered "not a TDS client: first byte 0x10" and closed)."""
    srv = start_serve(tlslab, "off")
    mark = srv.mark()
    r = run(probe, srv.port, lab_ca, ssl, tds=tds)
    assert_logged_in(r, srv, mark, PLAIN)
    srv.wait_for_log(r"LOGIN7 without PRELOGIN: served in clear", mark)


def test_serve_forcing_encryption_closes_a_login_without_prelogin(tlslab, probe, lab_ca):
    """Force Encryption = Yes: the connection is closed, as jTDS users meet it on such servers."""
    srv = start_serve(tlslab, "force")
    mark = srv.mark()
    r = run(probe, srv.port, lab_ca, None)
    assert r["connected"] is False and r["error"] == "I/O Error: DB server closed connection.", \
        r.describe()
    srv.wait_for_log(r"a LOGIN7 without PRELOGIN refused: this server forces encryption", mark)


def test_through_proxy_a_login_without_prelogin_is_recorded_in_clear(tlslab, probe, lab_ca,
                                                                     tmp_path):
    """Through the proxy, jTDS's default login is seen for what it is: TDS 7.x, no PRELOGIN, the
    password read in clear."""
    srv = start_serve(tlslab, "off")
    px, events = proxy(tlslab, tmp_path, srv, lab_ca, "valid")
    mark = px.mark()
    r = run(probe, px.port, lab_ca, None)
    assert r["connected"] is True, r.describe()
    (rec,) = events.wait_for(lambda x: x.get("login") is not None)
    assert rec["protocol"] == "tds7" and rec["client_prelogin"] is None, rec
    assert rec["outcome"] == "login-plaintext", rec
    assert rec["login"]["user_name"] == "lab", rec["login"]
    px.wait_for_log(r"LOGIN7 without a PRELOGIN", mark)
    px.wait_for_log(r"EXPOSED", mark)


# ---- 2. through `tlslab proxy`: what jTDS sends, and the verdicts per scenario -----------------

def proxy(tlslab, tmp_path, upstream: TlslabProcess, lab_ca, scenario: str):
    events = tmp_path / f"proxy-{scenario}.jsonl"
    px = tlslab("proxy", "--upstream", f"127.0.0.1:{upstream.port}", "--upstream-ca", str(lab_ca),
                "--scenario", scenario, "--record-messages", "--events", str(events),
                name=f"proxy {scenario}")
    return px, EventLog(events)


def test_through_proxy_what_jtds_sends(tlslab, probe, lab_ca, tmp_path):
    srv = start_serve(tlslab, "off")
    px, events = proxy(tlslab, tmp_path, srv, lab_ca, "valid")
    r = run(probe, px.port, lab_ca, "authenticate")
    assert r["connected"] is True and r["value"] == 1, r.describe()
    rec = events.wait_for(lambda x: x.get("login") is not None, what="login records")[0]
    assert rec["outcome"] == "login-encrypted" and rec["protocol"] == "tds7", rec
    assert rec["client_leg"]["mode"] == "full", rec
    assert rec["client_prelogin"]["encryption"] == "ON", rec["client_prelogin"]
    assert rec["client_prelogin"]["version"] == PRELOGIN_VERSION, rec["client_prelogin"]
    login = rec["login"]
    assert (login["library_name"], login["app_name"], login["tds_version"], login["user_name"],
            login["through_tls"]) == ("jTDS", "jTDS", "7.1", "lab", True), login
    msgs = [m for m in events.records("message") if m.get("session") == rec["id"]]
    sent = [(m["kind"], norm(m["text"])) for m in msgs if m.get("from") == "client"]
    assert sent == [("sql_batch", CONNECT_BATCH), ("sql_batch", "SELECT 1")], sent
    errors = [m for m in msgs if m.get("kind") == "error"]
    assert not errors, f"the stand-in answered an error: {errors}"


def test_through_proxy_connect_batch_answers(tlslab, probe, lab_ca, tmp_path):
    """The connect batch's first statement gets SQL Server's answer (@@MAX_PRECISION = 38)."""
    srv = start_serve(tlslab, "off")
    px, _ = proxy(tlslab, tmp_path, srv, lab_ca, "valid")
    r = run(probe, px.port, lab_ca, "authenticate", query="SELECT @@MAX_PRECISION")
    assert r["connected"] is True and r["value"] == 38, r.describe()


# (scenario, ssl) -> None when jTDS logs in, else a regex of its error. The lab CA is given.
VERDICTS = {
    ("valid", "authenticate"): None,
    ("valid", "require"): None,
    ("self-signed", "require"): None,                  # nothing verified
    ("self-signed", "authenticate"): PKIX_PATH,
    ("untrusted-root", "require"): None,
    ("untrusted-root", "authenticate"): PKIX_PATH,
    ("expired", "require"): None,
    ("expired", "authenticate"): r"PKIX path validation failed: .*validity check failed",
    ("wrong-host", "require"): None,
    ("wrong-host", "authenticate"): None,               # no host name check in jTDS
    ("passthrough", "authenticate"): None,             # the real (lab) certificate
    ("encrypt-off", "require"): re.escape(NOT_ENABLED),
    ("encrypt-off", "authenticate"): re.escape(NOT_ENABLED),
    ("encrypt-not-supported", "authenticate"): re.escape(NOT_ENABLED),
    ("encrypt-not-supported", "request"): None,         # a downgrade to clear, accepted
    ("encrypt-required", "request"): None,
    ("tls1.0-only", "authenticate"): r"protocol version TLS10 is not accepted by client preferences",
}


@pytest.mark.parametrize("scenario, ssl", [
    pytest.param(s, m, id=f"jtds-{s}-{m}") for (s, m) in VERDICTS])
def test_through_proxy_verdict(tlslab, probe, lab_ca, tmp_path, scenario, ssl):
    srv = start_serve(tlslab, "off")
    px, events = proxy(tlslab, tmp_path, srv, lab_ca, scenario)
    mark = srv.mark()
    r = run(probe, px.port, lab_ca, ssl)
    want = VERDICTS[(scenario, ssl)]
    if want is None:
        assert r["connected"] is True and r["value"] == 1 and r["error"] is None, r.describe()
        assert [m["user"] for m in login_lines(srv, mark)] == ["lab"], srv.log_text(mark)
        if scenario == "passthrough":
            return  # end-to-end TLS: the proxy sees no login
        rec = events.wait_for(lambda x: x.get("login") is not None, what="login records")[0]
        assert rec["login"]["library_name"] == "jTDS", rec
        encrypted = scenario != "encrypt-not-supported"
        assert rec["login"]["through_tls"] is encrypted, rec
        return
    assert r["connected"] is False and r["error_code"] == "08S01", r.describe()
    assert re.search(want, r["error"] or ""), f"error does not match {want!r}\n" + r.describe()
    time.sleep(0.3)
    assert "login ok" not in srv.log_text(mark), srv.log_text(mark)
