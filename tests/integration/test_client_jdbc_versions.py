"""mssql-jdbc across the release that turned encryption on: 9.4, 10.2 and 12.10, real drivers
through the real binary.

  probe    driver          default (no --encrypt)                    --encrypt values it knows
  jdbc9    mssql-jdbc 9.4  encrypt=false: PRELOGIN ENCRYPT_OFF, TLS   true | false
                           for LOGIN7 only, certificate NOT validated
  jdbc10   mssql-jdbc 10.2 encrypt=true, trustServerCertificate=false true | false
                           (the upgrade that broke connections)
  jdbc     mssql-jdbc 12.10 the same default                          true | false | mandatory |
                                                                      optional | strict (11.2+)

All three probes run the one Probe.java (probes/jdbc/src/main/java), built against each
driver jar. What each sends on the wire for the `--session` script (seen with the proxy's
--record-messages, identical for the three versions):

  begin            Connection.setAutoCommit(false) -> SQL batch "set implicit_transactions on "
  trancount, system, trancount_after, error, again   -> SQL batches with the step's text
  param            PreparedStatement "SELECT ?" setInt(1, 42), executed once -> RPC sp_executesql
  commit           Connection.commit()             -> SQL batch "IF @@TRANCOUNT > 0 COMMIT TRAN"
                   setAutoCommit(true)              -> "set implicit_transactions off IF @@TRANCOUNT > 0 COMMIT TRAN "

No transaction manager request at all: mssql-jdbc's local transactions are implicit transactions.

Every server and proxy is started per test with the `tlslab` fixture; the name `localhost` is
dialled (mssql-jdbc ignores IP SANs). Tests that check the session's answers need a stand-in
that runs the session script (transactions, system functions, sp_executesql, error 208).
"""

from __future__ import annotations

import re
import time

import pytest

from harness import EventLog, TlslabProcess
from serve_log import FULL_TDS7, FULL_TDS8, LOGIN_OK_RE, LOGIN_ONLY, PLAIN, SESSION_END_RE, assert_no_login

pytestmark = pytest.mark.jdbc  # the registered marker: `-m "not jdbc"` skips the JVM suites

HOST = "localhost"
VERSION_PREFIX = {"jdbc9": "9.4.", "jdbc10": "10.2.", "jdbc": "12.10."}
DRIVERS = tuple(VERSION_PREFIX)


PRELOGIN_RE = re.compile(
    r"PRELOGIN: client ENCRYPTION=(?P<client>\w+) version (?P<version>\S+), "
    r"answered (?P<answer>\w+) \((?P<mode>[\w-]+)\)")
CERT_REFUSED_RE = re.compile(r"PKIX path building failed|unable to find valid certification path")

# ---- the session script ----------------------------------------------------------------------

STEPS = ["begin", "trancount", "system", "param", "commit", "trancount_after", "error", "again"]
SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")

# @@TRANCOUNT inside the "transaction" that setAutoCommit(false) opened. mssql-jdbc does not
# begin a transaction: it sends SET IMPLICIT_TRANSACTIONS ON, and SQL Server only opens the
# implicit transaction at the first statement that needs one; "SELECT statements that do not
# select from a table do not start implicit transactions" (SET IMPLICIT_TRANSACTIONS, T-SQL
# reference). So a real SQL Server answers 0 here, not the 1 of the contract table (which is
# right for clients that send BEGIN TRAN or a TM begin request).
JDBC_TRANCOUNT_IN_TRANSACTION = 0

# What the driver sends for the script after `--query SELECT 1`, (kind, text) as the proxy's
# --record-messages shows them (whitespace normalised). Identical in 9.4, 10.2 and 12.10.
WIRE_SCRIPT = [
    ("sql_batch", "SELECT 1"),                                      # --query
    ("sql_batch", "set implicit_transactions on"),                  # begin
    ("sql_batch", "SELECT @@TRANCOUNT"),                            # trancount
    ("sql_batch", SYSTEM_SQL),                                      # system
    ("rpc", "sp_executesql"),                                       # param (first execution)
    ("sql_batch", "IF @@TRANCOUNT > 0 COMMIT TRAN"),                # commit: commit()
    ("sql_batch", "set implicit_transactions off IF @@TRANCOUNT > 0 COMMIT TRAN"),  # autocommit
    ("sql_batch", "SELECT @@TRANCOUNT"),                            # trancount_after
    ("sql_batch", "SELECT * FROM tlslab_no_such_table"),            # error
    ("sql_batch", "SELECT 1"),                                      # again
]


def session_problems(r) -> list[str]:
    """Every way the probe's `session` differs from what SQL Server answers (empty = ok)."""
    steps = r.get("session")
    if not isinstance(steps, list):
        return [f"no session list in the probe's JSON: {steps!r}"]
    names = [s.get("step") for s in steps]
    if names != STEPS:
        return [f"steps {names}, want {STEPS}"]
    problems = []
    by = {s["step"]: s for s in steps}
    for s in steps:
        missing = {"step", "ok", "value", "error_code", "error"} - s.keys()
        if missing:
            problems.append(f"{s['step']}: lacks {sorted(missing)}")

    def want(step: str, what: str, good: bool) -> None:
        if not good:
            s = by[step]
            problems.append(f"{step}: want {what}; got ok={s.get('ok')} value={s.get('value')!r} "
                            f"error_code={s.get('error_code')!r} error={s.get('error')!r}")

    def ok_with(step: str, value) -> None:
        s = by[step]
        want(step, f"ok, value {value!r}", s.get("ok") is True and s.get("value") == value
             and type(s.get("value")) is type(value) and s.get("error") is None)

    want("begin", "ok", by["begin"].get("ok") is True)
    ok_with("trancount", JDBC_TRANCOUNT_IN_TRANSACTION)
    sysv, row = by["system"].get("value"), by["system"].get("row")
    want("system", "ok, value = the spid (an int > 0), row = the 6 columns as strings, "
         "SUSER_SNAME() = 'lab'",
         by["system"].get("ok") is True and type(sysv) is int and sysv > 0
         and isinstance(row, list) and len(row) == 6 and row[0] == str(sysv)
         and row[2] == "lab" and all(isinstance(c, str) and c for c in row))
    ok_with("param", 42)
    want("commit", "ok", by["commit"].get("ok") is True)
    ok_with("trancount_after", 0)
    err = by["error"]
    want("error", "not ok, error 208 Invalid object name 'tlslab_no_such_table'.",
         err.get("ok") is False and err.get("error_code") == 208
         and "Invalid object name 'tlslab_no_such_table'." in (err.get("error") or ""))
    ok_with("again", 1)
    return problems


def assert_session(r) -> None:
    problems = session_problems(r)
    assert not problems, ("the session script did not get SQL Server's answers:\n  "
                          + "\n  ".join(problems) + "\n" + r.describe())


# ---- helpers ---------------------------------------------------------------------------------

def serve(tlslab, mode: str) -> TlslabProcess:
    return tlslab("serve", "--encryption", mode, "--no-examples", name=f"serve {mode}")


def assert_identity(r, driver: str) -> None:
    """The probe's name and the driver's own version, read at run time."""
    assert r["driver"] == driver, r.describe()
    assert isinstance(r["version"], str) and r["version"].startswith(VERSION_PREFIX[driver]), \
        f"version {r['version']!r}, want {VERSION_PREFIX[driver]}*\n" + r.describe()


def login_line(srv: TlslabProcess, since: int) -> re.Match:
    srv.wait_for_log(LOGIN_OK_RE, since)
    matches = [m for line in srv.log(since) if (m := LOGIN_OK_RE.search(line))]
    assert len(matches) == 1, "want exactly one login line, got:\n" + srv.log_text(since)
    return matches[0]


def prelogin_of(srv: TlslabProcess, session: str | None, since: int) -> re.Match:
    """The PRELOGIN line of `session` (or of the only session since `since`)."""
    srv.wait_for_log(PRELOGIN_RE, since)
    lines = [ln for ln in srv.log(since) if session is None or f"[{session} " in ln]
    matches = [m for ln in lines if (m := PRELOGIN_RE.search(ln))]
    assert len(matches) == 1, "want exactly one PRELOGIN line, got:\n" + srv.log_text(since)
    return matches[0]


def assert_logged_in(r, srv: TlslabProcess, since: int, how: str) -> re.Match:
    assert r["connected"] is True and r["error"] is None and r["value"] == 1, r.describe()
    m = login_line(srv, since)
    assert m["user"] == "lab", srv.log_text(since)
    assert m["how"] == how, (f"the login line says ({m['how']}), want ({how})\n"
                             + srv.log_text(since))
    return m


def assert_certificate_refused(r, srv: TlslabProcess, since: int) -> None:
    """The driver encrypted (PRELOGIN ENCRYPTION=ON) and refused the certificate itself."""
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == "08S01", r.describe()
    assert CERT_REFUSED_RE.search(r["error"] or ""), r.describe()
    assert prelogin_of(srv, None, since)["client"] == "ON", srv.log_text(since)
    assert_no_login(srv, since)


# ---- 1. login and the session, with validation on, in every encryption mode ------------------

# (serve --encryption, --encrypt, the login line's parenthesis); validation on: the lab CA is
# given with --ca and trustServerCertificate stays false. `none` has no certificate: encrypt
# false is the only way in (plaintext). Only 11.2+ does strict (TDS 8.0): see section 3.
MODES = [("force", "true", FULL_TDS7), ("off", "true", FULL_TDS7), ("none", "false", PLAIN)]
LOGIN_CASES = [pytest.param(d, *m, id=f"{d}-{m[0]}-{m[1]}") for d in DRIVERS for m in MODES] \
    + [pytest.param("jdbc", "strict", "strict", FULL_TDS8, id="jdbc-strict-strict")]


@pytest.mark.parametrize("driver, mode, encrypt, how", LOGIN_CASES)
def test_login_with_validation(tlslab, probe, lab_ca, driver, mode, encrypt, how):
    srv = serve(tlslab, mode)
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt)
    assert_identity(r, driver)
    m = assert_logged_in(r, srv, mark, how)
    if mode != "strict":
        pre = prelogin_of(srv, m["session"], mark)
        assert pre["client"] == ("ON" if encrypt == "true" else "OFF"), srv.log_text(mark)
        assert pre["version"] == r["version"], "PRELOGIN carries the driver's own version"


@pytest.mark.parametrize("driver, mode, encrypt, how", LOGIN_CASES)
def test_session_with_validation(tlslab, probe, lab_ca, driver, mode, encrypt, how):
    srv = serve(tlslab, mode)
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt, session=True)
    assert_identity(r, driver)
    assert_logged_in(r, srv, mark, how)
    assert_session(r)


# ---- 2. through `tlslab proxy --scenario valid` ------------------------------------------------

def proxied(tlslab, lab_ca, tmp_path):
    """serve off behind a proxy showing the `valid` scenario, recording every message."""
    srv = serve(tlslab, "off")
    events = tmp_path / "proxy-events.jsonl"
    px = tlslab("proxy", "--upstream", srv.address, "--upstream-ca", str(lab_ca),
                "--scenario", "valid", "--record-messages", "--events", str(events),
                name="proxy valid")
    return srv, px, EventLog(events)


def norm(text: str) -> str:
    return " ".join((text or "").split())


@pytest.mark.parametrize("driver", DRIVERS)
def test_through_proxy_the_driver_sends_the_session_script(tlslab, probe, lab_ca, tmp_path,
                                                            driver):
    """What the driver really sends (independent of what the stand-in answers)."""
    srv, px, events = proxied(tlslab, lab_ca, tmp_path)
    r = probe(driver, host=HOST, port=px.port, ca=lab_ca, encrypt="true", session=True)
    assert_identity(r, driver)
    assert r["connected"] is True and r["value"] == 1, r.describe()
    assert [s.get("step") for s in r.get("session") or []] == STEPS, r.describe()

    rec = events.wait_for(lambda x: x.get("login") is not None, what="login records")[0]
    assert rec["outcome"] == "login-encrypted" and rec["protocol"] == "tds7", rec
    assert rec["client_leg"]["mode"] == "full" and rec["upstream_leg"]["mode"] == "full", rec
    assert rec["client_prelogin"]["encryption"] == "ON", rec["client_prelogin"]
    assert rec["client_prelogin"]["version"] == r["version"], rec["client_prelogin"]
    major_minor = ".".join(r["version"].split(".")[:2])
    assert rec["login"]["library_name"] == f"Microsoft JDBC Driver {major_minor}", rec["login"]
    assert rec["login"]["user_name"] == "lab" and rec["login"]["through_tls"] is True

    msgs = [m for m in events.records("message") if m.get("session") == rec["id"]]
    sent = [(m["kind"], norm(m["text"])) for m in msgs if m.get("from") == "client"]
    want = [(k, norm(t)) for k, t in WIRE_SCRIPT]
    assert sent == want, ("the client's messages differ from the script's:\n  got  "
                          + "\n       ".join(map(str, sent)) + "\n  want "
                          + "\n       ".join(map(str, want)))


@pytest.mark.parametrize("driver", DRIVERS)
def test_through_proxy_the_session_gets_sql_servers_answers(tlslab, probe, lab_ca, tmp_path,
                                                             driver):
    srv, px, events = proxied(tlslab, lab_ca, tmp_path)
    r = probe(driver, host=HOST, port=px.port, ca=lab_ca, encrypt="true", session=True)
    assert_identity(r, driver)
    assert r["connected"] is True and r["value"] == 1, r.describe()
    assert_session(r)
    rec = events.wait_for(lambda x: x.get("login") is not None, what="login records")[0]
    errors = [m for m in events.records("message")
              if m.get("session") == rec["id"] and m.get("kind") == "error"]
    assert [e["number"] for e in errors] == [208], \
        f"want exactly one server error (208, the error step): {errors}"


# ---- 3. strict (TDS 8.0) needs mssql-jdbc 11.2 ------------------------------------------------

@pytest.mark.parametrize("driver", ["jdbc9", "jdbc10"])
def test_encrypt_strict_is_refused_by_the_old_driver_itself(tlslab, probe, lab_ca, driver):
    """--encrypt strict is passed through: 9.4 and 10.2 know only true|false and say so,
    before opening any connection."""
    srv = serve(tlslab, "strict")
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt="strict")
    assert_identity(r, driver)
    assert r["connected"] is False, r.describe()
    assert "The property encrypt does not contain a valid boolean value" in (r["error"] or ""), \
        r.describe()
    time.sleep(0.3)  # a connection would have been logged by now (the probe has exited)
    assert not srv.sessions(mark), "the driver connected anyway:\n" + srv.log_text(mark)


@pytest.mark.parametrize("driver", ["jdbc9", "jdbc10"])
def test_old_driver_cannot_reach_a_strict_server(tlslab, probe, lab_ca, driver):
    """encrypt=true is TDS 7.x with TLS inside PRELOGIN: a strict server closes it (and 9.4/10.2
    retry the PRELOGIN until loginTimeout)."""
    srv = serve(tlslab, "strict")
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt="true", timeout=3)
    assert_identity(r, driver)
    assert r["connected"] is False and r["error_code"] == "08S01", r.describe()
    assert "pre-login" in (r["error"] or ""), r.describe()
    srv.wait_for_log(r"plain PRELOGIN refused", mark)
    assert "login ok" not in srv.log_text(mark)


# ---- 4. the upgrade story: Force Encryption = No, the driver's DEFAULT settings ----------------

# (driver, which CA is passed) -> what happens with no --encrypt against `serve --encryption
# off`. 9.4 does not encrypt by default: TLS for LOGIN7 only and the certificate is not
# validated (the foreign CA logs in just as well); 10.2 and 12 encrypt and validate, so the lab
# certificate is refused unless the lab CA is given.
UPGRADE = {
    ("jdbc9", None): LOGIN_ONLY, ("jdbc9", "lab"): LOGIN_ONLY, ("jdbc9", "foreign"): LOGIN_ONLY,
    ("jdbc10", None): "refused", ("jdbc10", "lab"): FULL_TDS7, ("jdbc10", "foreign"): "refused",
    ("jdbc", None): "refused", ("jdbc", "lab"): FULL_TDS7, ("jdbc", "foreign"): "refused",
}


@pytest.mark.parametrize("driver, ca, outcome", [
    pytest.param(d, ca, out, id=f"{d}-{ca or 'no'}-ca") for (d, ca), out in UPGRADE.items()])
def test_default_settings_against_force_encryption_no(tlslab, probe, lab_ca, foreign_ca,
                                                       driver, ca, outcome):
    srv = serve(tlslab, "off")
    mark = srv.mark()
    ca_file = {None: None, "lab": lab_ca, "foreign": foreign_ca}[ca]
    r = probe(driver, host=HOST, port=srv.port, ca=ca_file)  # no --encrypt: the default
    assert_identity(r, driver)
    if outcome == "refused":
        assert_certificate_refused(r, srv, mark)
        return
    m = assert_logged_in(r, srv, mark, outcome)
    pre = prelogin_of(srv, m["session"], mark)
    if outcome == LOGIN_ONLY:
        assert (pre["client"], pre["answer"], pre["mode"]) == ("OFF", "OFF", "login-only"), \
            srv.log_text(mark)
    else:
        assert (pre["client"], pre["answer"], pre["mode"]) == ("ON", "ON", "full"), \
            srv.log_text(mark)


# ---- 5. negative control: a foreign CA with validation on ---------------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_foreign_ca_is_refused_when_validating(tlslab, probe, foreign_ca, driver):
    """encrypt=true with a CA that did not sign the lab certificate: every version refuses it
    (9.4 too: it validates whenever it is told to encrypt)."""
    srv = serve(tlslab, "force")
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=foreign_ca, encrypt="true")
    assert_identity(r, driver)
    assert_certificate_refused(r, srv, mark)
