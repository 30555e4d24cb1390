"""Microsoft's sqlcmd (go-sqlcmd, probes/sqlcmd) through the real binary: the real
`sqlcmd` command-line tool, run by its probe the way a user runs it.

sqlcmd's encryption switch is `-N`: m[andatory] (= true/yes/1), o[ptional] (= false/no/0),
s[trict] (TDS 8.0) and disable; `-C` trusts any certificate, `-F` names the host to verify.
It has no CA option: the probe hands the lab CA to Go's crypto/x509 through SSL_CERT_FILE.

With certificate validation on (the lab CA, host `localhost`):

  * login and `SELECT 1` against `tlslab serve`, in each -N mode, and the serve log says how the
    login was protected;
  * the same through `tlslab proxy --scenario valid` in front of serve, where --record-messages
    shows what sqlcmd sends: one SQL batch per batch of the script, nothing else (no query of
    its own after login, no RPC, no transaction-manager request);
  * the `--session` script (probes/README.md), directly and through the proxy, checked
    against what a real SQL Server answers (`param` is skipped: sqlcmd has no parameter binding);
  * negative controls: a foreign CA and a wrong -F name are refused with sqlcmd's own error and
    the server never logs the client in;
  * what sqlcmd does without -N (go-mssqldb without an `encrypt` setting: login-only encryption
    and the certificate trusted unverified), so a change in the pinned release shows.

Each test starts its own serve (and proxy) with the `tlslab` fixture. The probe must have been
installed (probes/sqlcmd/install builds bin/sqlcmd).
"""

from __future__ import annotations

import re
import time

import pytest

from harness import DRIVERS_DIR, EventLog, TlslabProcess
from serve_log import FULL_TDS7, FULL_TDS8, LOGIN_OK_RE, LOGIN_ONLY, PLAIN, SESSION_STEPS, assert_no_login, login_lines, start_proxy, start_serve

DRIVER = "sqlcmd"
HOST = "localhost"
SQLCMD_BIN = DRIVERS_DIR / DRIVER / "bin" / "sqlcmd"


SESSION_TIMEOUT_S = 5
SESSION_BOUND_S = 90
MESSAGE_WAIT_S = 5.0

# (sqlcmd -N, serve --encryption, the login line's parenthesis)
MODES = [
    pytest.param("mandatory", "force", FULL_TDS7, id="mandatory-force"),
    pytest.param("mandatory", "off", FULL_TDS7, id="mandatory-off"),
    pytest.param("true", "force", FULL_TDS7, id="true-force"),
    pytest.param("optional", "off", LOGIN_ONLY, id="optional-off"),
    pytest.param("strict", "strict", FULL_TDS8, id="strict-strict"),
    pytest.param("disable", "none", PLAIN, id="disable-none"),
]

# Through the proxy: TDS 7.x with full TLS, TDS 8.0.
PROXIED = [
    pytest.param("mandatory", "force", id="mandatory"),
    pytest.param("strict", "strict", id="strict"),
]

# Modes that validate the certificate (the negative controls).
VALIDATING = [
    pytest.param("mandatory", "force", id="mandatory-force"),
    pytest.param("optional", "off", id="optional-off"),
    pytest.param("strict", "strict", id="strict-strict"),
]

SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")
# Every batch the probe's script sends with --session (the default --query first), in order.
SESSION_BATCHES = ["SELECT 1", "BEGIN TRAN", "SELECT @@TRANCOUNT", SYSTEM_SQL, "COMMIT",
                   "SELECT @@TRANCOUNT", "SELECT * FROM tlslab_no_such_table", "SELECT 1"]


# ---- helpers ----------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _sqlcmd_installed():
    if not SQLCMD_BIN.is_file():
        pytest.fail(f"{SQLCMD_BIN} is missing: run probes/sqlcmd/install", pytrace=False)


def assert_logged_in(r) -> None:
    assert r["connected"] is True, r.describe()
    assert r["error"] is None, r.describe()
    assert r["value"] == 1, r.describe()
    assert re.fullmatch(r"v\d+\.\d+\.\d+", r["version"] or ""), r.describe()


def assert_session(r) -> None:
    """The --session script, step by step, against what a real SQL Server answers
    (probes/README.md). Every deviation is listed in one failure."""
    assert r["connected"] is True, r.describe()
    session = r.get("session")
    assert isinstance(session, list), "no session list in the result\n" + r.describe()
    assert [s.get("step") for s in session] == SESSION_STEPS, \
        f"steps {[s.get('step') for s in session]}, want {SESSION_STEPS}\n" + r.describe()
    by = {s["step"]: s for s in session}
    problems = []

    def expect(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    def ok_with(step: str, value=None, check_value: bool = True) -> None:
        s = by[step]
        expect(s.get("ok") is True and s.get("error") is None,
               f"{step}: want ok, got ok={s.get('ok')} error_code={s.get('error_code')!r} "
               f"error={s.get('error')!r}")
        if check_value and s.get("ok") is True:
            expect(s["value"] == value and type(s["value"]) is type(value),
                   f"{step}: value {s['value']!r}, want {value!r}")

    ok_with("begin", check_value=False)
    ok_with("trancount", 1)
    ok_with("system", check_value=False)
    system = by["system"]
    if system.get("ok") is True:
        spid = system["value"]
        expect(isinstance(spid, int) and not isinstance(spid, bool) and spid > 0,
               f"system: value {spid!r}, want the spid (a positive int)")
        row = system.get("row")
        expect(isinstance(row, list) and len(row) == 6 and all(isinstance(c, str) for c in row),
               f"system: row {row!r}, want 6 columns as strings")
        if isinstance(row, list) and row:
            expect(row[0] == str(spid), f"system: row[0] {row[0]!r} is not the spid {spid!r}")
            if len(row) == 6:
                expect(row[2] == "lab", f"system: SUSER_SNAME() {row[2]!r}, want 'lab'")
    param = by["param"]
    expect(param.get("ok") is None and "parameter binding" in (param.get("skipped") or ""),
           f"param: want skipped (sqlcmd has no parameter binding), got {param!r}")
    ok_with("commit", check_value=False)
    ok_with("trancount_after", 0)
    err = by["error"]
    expect(err.get("ok") is False, f"error: want not ok, got ok={err.get('ok')} "
           f"value={err.get('value')!r}")
    expect(err.get("error_code") == 208, f"error: error_code {err.get('error_code')!r}, want 208")
    # sqlcmd prints "Msg 208, Level 16, State 1, Server ..., Line 1" and then the message
    expect(re.match(r"Msg 208, Level 16, State \d+, Server ", err.get("error") or "") is not None
           and "Invalid object name 'tlslab_no_such_table'." in (err.get("error") or ""),
           f"error: error {err.get('error')!r}, want \"Msg 208, Level 16, ...\" and "
           "\"Invalid object name 'tlslab_no_such_table'.\"")
    ok_with("again", 1)
    assert not problems, "session steps differ from SQL Server:\n  " + "\n  ".join(problems) \
        + "\n" + r.describe()


def assert_proxied(events: EventLog) -> dict:
    """sqlcmd opened exactly one session: logged in encrypted, valid scenario, upstream
    verified, LOGIN7 from sqlcmd over go-mssqldb. Returns its record."""
    recs = events.wait_for(lambda x: x["outcome"] == "login-encrypted",
                           what="login-encrypted sessions")
    assert len(events.records()) == 1, events.records()
    rec = recs[0]
    assert rec["scenario"] == "valid", rec
    assert rec["upstream_leg"]["verification"] == "verified", rec["upstream_leg"]
    login = rec["login"]
    assert login["app_name"] == "sqlcmd" and login["library_name"] == "go-mssqldb", login
    assert login["user_name"] == "lab" and login["auth_kind"] == "sql", login
    assert login["through_tls"] is True and login["password"] is None, login
    return rec


def client_messages(events: EventLog, want: int) -> list[dict]:
    """The client's messages, once `want` of them are there (bounded) or the bound is over."""
    deadline = time.monotonic() + MESSAGE_WAIT_S
    while True:
        msgs = [m for m in events.records(event="message") if m.get("from") == "client"]
        if len(msgs) >= want or time.monotonic() >= deadline:
            return msgs
        time.sleep(0.05)


# ---- 1. login and SELECT 1, with validation on, every -N mode -----------------------------------

@pytest.mark.parametrize("encrypt, mode, how", MODES)
def test_login_against_serve(tlslab, lab_ca, probe, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = probe(DRIVER, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt)
    assert_logged_in(r)
    logins = login_lines(srv, mark)
    assert len(logins) == 1 and logins[0]["user"] == "lab", srv.log_text(mark)
    assert logins[0]["how"] == how, \
        f"login line says ({logins[0]['how']}), want ({how})\n" + srv.log_text(mark)


@pytest.mark.parametrize("encrypt, mode", PROXIED)
def test_login_through_proxy_sends_only_its_batch(tlslab, tmp_path, lab_ca, probe, encrypt, mode):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    r = probe(DRIVER, host=HOST, port=px.port, ca=lab_ca, encrypt=encrypt)
    assert_logged_in(r)
    rec = assert_proxied(events)
    assert rec["protocol"] == ("tds8" if mode == "strict" else "tds7"), rec["protocol"]
    assert rec["client_leg"]["tls"]["established"] is True, rec["client_leg"]
    msgs = client_messages(events, 1)
    assert [(m["kind"], m["text"]) for m in msgs] == [("sql_batch", "SELECT 1")], \
        f"sqlcmd sent more than its one batch: {msgs}"


# ---- 2. the session script --------------------------------------------------------------------

@pytest.mark.parametrize("encrypt, mode, how", MODES)
def test_session_against_serve(tlslab, lab_ca, probe, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    r = probe(DRIVER, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt, session=True,
              timeout=SESSION_TIMEOUT_S, bound=SESSION_BOUND_S)
    assert_logged_in(r)
    assert_session(r)


@pytest.mark.parametrize("encrypt, mode", PROXIED)
def test_session_through_proxy(tlslab, tmp_path, lab_ca, probe, encrypt, mode):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    r = probe(DRIVER, host=HOST, port=px.port, ca=lab_ca, encrypt=encrypt, session=True,
              timeout=SESSION_TIMEOUT_S, bound=SESSION_BOUND_S)
    assert_logged_in(r)
    assert_proxied(events)
    # What sqlcmd sends: each batch of the script as one SQL batch, verbatim; BEGIN TRAN and
    # COMMIT are SQL text too (no transaction-manager request), and nothing else.
    msgs = client_messages(events, len(SESSION_BATCHES))
    assert [(m["kind"], m["text"]) for m in msgs] == [("sql_batch", b) for b in SESSION_BATCHES], \
        "client messages: " + " | ".join(f"{m['kind']}: {m['text']}" for m in msgs)
    assert_session(r)


# ---- 3. negative controls: validation is really on ----------------------------------------------

@pytest.mark.parametrize("encrypt, mode", VALIDATING)
def test_foreign_ca_is_refused(tlslab, foreign_ca, probe, encrypt, mode):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = probe(DRIVER, host=HOST, port=srv.port, ca=foreign_ca, encrypt=encrypt)
    assert r["connected"] is False and r["value"] is None, r.describe()
    # "TLS Handshake failed: tls: failed to verify certificate: x509: certificate signed by
    # unknown authority" (go-mssqldb's error, printed by sqlcmd)
    assert r["error_code"] == "TLS_HANDSHAKE", r.describe()
    assert r["error"].startswith("TLS Handshake failed:"), r.describe()
    assert "x509: certificate signed by unknown authority" in r["error"], r.describe()
    assert r["exit_code"] == 1, r.describe()
    assert_no_login(srv, mark)


def test_wrong_host_name_in_certificate_is_refused(tlslab, lab_ca, probe):
    srv = start_serve(tlslab, "force")
    mark = srv.mark()
    r = probe(DRIVER, host=HOST, port=srv.port, ca=lab_ca, encrypt="mandatory",
              host_name_in_certificate="not-the-server.example")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == "TLS_HANDSHAKE", r.describe()
    assert "not not-the-server.example" in r["error"], r.describe()
    assert_no_login(srv, mark)
    # and -F with the right name (dialing 127.0.0.1) logs in
    mark = srv.mark()
    r = probe(DRIVER, host="127.0.0.1", port=srv.port, ca=lab_ca, encrypt="mandatory",
              host_name_in_certificate="localhost")
    assert_logged_in(r)
    login_lines(srv, mark)


def test_wrong_password_is_login_failed(tlslab, lab_ca, probe):
    """sqlcmd shows no error number for a failed login (go-mssqldb's "login error: ..."):
    the probe reports its short code."""
    srv = start_serve(tlslab, "force")
    r = probe(DRIVER, host=HOST, port=srv.port, ca=lab_ca, encrypt="mandatory",
              password="not-the-password")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == "LOGIN_ERROR", r.describe()
    assert r["error"] == "mssql: login error: Login failed for user 'lab'.", r.describe()


# ---- 4. sqlcmd's default: no -N -------------------------------------------------------------------

def test_default_encryption_does_not_validate(tlslab, foreign_ca, probe):
    """Without -N, sqlcmd passes no `encrypt` to go-mssqldb, which then trusts the server
    certificate unverified (msdsn.parseTLS: no encrypt -> trustServerCert = true): even a
    foreign CA logs in, and against a forcing server the whole session is TLS all the same."""
    srv = start_serve(tlslab, "force")
    mark = srv.mark()
    r = probe(DRIVER, host=HOST, port=srv.port, ca=foreign_ca)
    assert_logged_in(r)
    assert login_lines(srv, mark)[0]["how"] == FULL_TDS7, srv.log_text(mark)
    srv_off = start_serve(tlslab, "off")
    mark = srv_off.mark()
    r = probe(DRIVER, host=HOST, port=srv_off.port, ca=foreign_ca)
    assert_logged_in(r)
    assert login_lines(srv_off, mark)[0]["how"] == LOGIN_ONLY, srv_off.log_text(mark)
