"""Two more clients through the real binary: pyodbc (on unixODBC and ODBC Driver 18) and
node-mssql (the npm package mssql, over tedious). See probes/pyodbc/README.md and
probes/node-mssql/README.md.

For each client, with certificate validation on (the exported lab CA passed with --ca, host
`localhost`):

  * login and `SELECT 1` against `tlslab serve`, in every encryption mode the client has, and
    the serve log says how the login was protected;
  * the same through `tlslab proxy --scenario valid` in front of serve (its session record says
    login-encrypted, and --record-messages saw the client's requests);
  * the `--session` script (probes/README.md, "The session script"), directly and
    through the proxy, checked against what a real SQL Server answers;
  * a negative control: with a foreign CA the client refuses the server, with its own error,
    and the server never logs it in.

Each test starts its own serve (and proxy) with the `tlslab` fixture.
"""

from __future__ import annotations

import re

import pytest

from harness import EventLog, TlslabProcess
from serve_log import (FULL_TDS7, FULL_TDS8, LOGIN_OK_RE, LOGIN_ONLY, PLAIN, SESSION_STEPS,
                      SessionCheck, assert_no_login, login_lines, start_proxy, start_serve)

HOST = "localhost"  # ODBC 18 ignores IP SANs: dial the name


# Session scripts need more than one --timeout: 8 steps, each bounded by the probe.
SESSION_TIMEOUT_S = 5
SESSION_BOUND_S = 90

# (client, --encrypt in the client's words, serve --encryption, the login line's parenthesis)
MODES = [
    pytest.param("pyodbc", "yes", "force", FULL_TDS7, id="pyodbc-yes-force"),
    pytest.param("pyodbc", "mandatory", "force", FULL_TDS7, id="pyodbc-mandatory-force"),
    pytest.param("pyodbc", "optional", "off", LOGIN_ONLY, id="pyodbc-optional-off"),
    pytest.param("pyodbc", "no", "off", LOGIN_ONLY, id="pyodbc-no-off"),
    pytest.param("pyodbc", "strict", "strict", FULL_TDS8, id="pyodbc-strict-strict"),
    pytest.param("node-mssql", "true", "force", FULL_TDS7, id="node-mssql-true-force"),
    # tedious 19 with encrypt false offers ENCRYPT_NOT_SUP: no TLS at all, login included.
    pytest.param("node-mssql", "false", "off", PLAIN, id="node-mssql-false-off"),
    pytest.param("node-mssql", "strict", "strict", FULL_TDS8, id="node-mssql-strict-strict"),
]

# Through the proxy: each client's "encrypt and validate" for TDS 7.x, and TDS 8.0.
PROXIED = [
    pytest.param("pyodbc", "yes", "force", id="pyodbc-yes"),
    pytest.param("pyodbc", "strict", "strict", id="pyodbc-strict"),
    pytest.param("node-mssql", "true", "force", id="node-mssql-true"),
    pytest.param("node-mssql", "strict", "strict", id="node-mssql-strict"),
]


# ---- helpers ----------------------------------------------------------------------------------


def assert_logged_in(r) -> None:
    assert r["connected"] is True, r.describe()
    assert r["error"] is None, r.describe()
    assert r["value"] == 1, r.describe()


# @@TRANCOUNT after `commit`, as a real SQL Server answers what each client sends. ODBC in
# manual-commit mode chains transactions: conn.commit() (SQLEndTran) is a TM_COMMIT_XACT
# request with fBeginXact = 1 (MS-TDS 2.2.6.9), so the server starts the next transaction at
# once and @@TRANCOUNT is 1 again. mssql's tx.commit() (tedious commitTransaction) is
# TM_COMMIT_XACT without it: 0, as in the contract table.
TRANCOUNT_AFTER = {"pyodbc": 1, "node-mssql": 0}


def assert_session(r, driver: str) -> None:
    """The --session script, step by step, against what a real SQL Server answers
    (probes/README.md). Every deviation is listed in one failure."""
    assert r["connected"] is True, r.describe()
    c = SessionCheck(r, require_no_error_code=False)
    c.ok_with("begin", check_value=False)
    c.ok_with("trancount", 1)
    c.system(columns=False)
    c.ok_with("param", 42)
    c.ok_with("commit", check_value=False)
    c.ok_with("trancount_after", TRANCOUNT_AFTER[driver])
    c.fails_with_208(value_none=False)
    c.ok_with("again", 1)
    c.done()


def assert_proxied(events: EventLog) -> list[dict]:
    """Every session the proxy recorded (the client may pool several) logged in encrypted, under
    the valid scenario, with the upstream verified; returns them."""
    recs = events.wait_for(lambda x: x["outcome"] == "login-encrypted", what="login-encrypted sessions")
    for rec in events.records():
        assert rec["scenario"] == "valid", rec
        assert rec["outcome"] == "login-encrypted", rec
        assert rec["upstream_leg"]["verification"] == "verified", rec["upstream_leg"]
    return recs


def client_messages(events: EventLog) -> list[dict]:
    return [m for m in events.records(event="message") if m.get("from") == "client"]


# ---- 1. login and SELECT 1, with validation on, every mode -------------------------------------

@pytest.mark.parametrize("driver, encrypt, mode, how", MODES)
def test_login_against_serve(tlslab, lab_ca, probe, driver, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt)
    assert_logged_in(r)
    assert r["version"] and " / " in r["version"], r.describe()
    logins = login_lines(srv, mark)
    assert logins and all(m["user"] == "lab" for m in logins), srv.log_text(mark)
    hows = {m["how"] for m in logins}
    assert hows == {how}, f"login lines say {hows}, want ({how})\n" + srv.log_text(mark)


@pytest.mark.parametrize("driver, encrypt, mode", PROXIED)
def test_login_through_proxy(tlslab, tmp_path, lab_ca, probe, driver, encrypt, mode):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    r = probe(driver, host=HOST, port=px.port, ca=lab_ca, encrypt=encrypt)
    assert_logged_in(r)
    recs = assert_proxied(events)
    want_protocol = "tds8" if mode == "strict" else "tds7"
    assert all(x["protocol"] == want_protocol for x in recs), [x["protocol"] for x in recs]
    assert all(x["client_leg"]["tls"]["established"] is True for x in recs), recs


# ---- 2. the session script --------------------------------------------------------------------

@pytest.mark.parametrize("driver, encrypt, mode, how", MODES)
def test_session_against_serve(tlslab, lab_ca, probe, driver, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt, session=True,
              timeout=SESSION_TIMEOUT_S, bound=SESSION_BOUND_S)
    assert_logged_in(r)
    assert_session(r, driver)


@pytest.mark.parametrize("driver, encrypt, mode", PROXIED)
def test_session_through_proxy(tlslab, tmp_path, lab_ca, probe, driver, encrypt, mode):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    r = probe(driver, host=HOST, port=px.port, ca=lab_ca, encrypt=encrypt, session=True,
              timeout=SESSION_TIMEOUT_S, bound=SESSION_BOUND_S)
    assert_logged_in(r)
    assert_proxied(events)
    msgs = client_messages(events)
    texts = " | ".join(f"{m['kind']}: {m['text']}" for m in msgs)
    if driver == "pyodbc":
        # ODBC sends parameterless statements as SQL batches, the parameter as an RPC.
        for sql in ("SELECT @@TRANCOUNT", "SELECT * FROM tlslab_no_such_table"):
            assert any(m["kind"] == "sql_batch" and m["text"] == sql for m in msgs), \
                f"no sql_batch {sql!r} recorded; client messages: {texts}"
        assert any(m["kind"] == "rpc" for m in msgs), f"no RPC recorded: {texts}"
    else:
        # mssql's request.query() is tedious' execSql: sp_executesql, parameters or not.
        assert any(m["kind"] == "rpc" and "sp_executesql" in m["text"] for m in msgs), \
            f"no sp_executesql recorded; client messages: {texts}"
    assert_session(r, driver)


# ---- 3. negative control: a foreign CA -----------------------------------------------------------

@pytest.mark.parametrize("driver, encrypt, mode", PROXIED)
def test_foreign_ca_is_refused(tlslab, foreign_ca, probe, driver, encrypt, mode):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = probe(driver, host=HOST, port=srv.port, ca=foreign_ca, encrypt=encrypt)
    assert r["connected"] is False, r.describe()
    assert r["value"] is None, r.describe()
    if driver == "pyodbc":
        # "[08001] [Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL
        # routines::certificate verify failed:unable to get local issuer certificate] (-1)"
        assert r["error_code"] == "08001", r.describe()
        assert "certificate verify failed" in r["error"], r.describe()
    else:
        # "Failed to connect to localhost:PORT - self-signed certificate in certificate chain"
        # or "- unable to verify the first certificate", tedious' socket error, from Node's TLS.
        assert r["error_code"] == "ESOCKET", r.describe()
        assert r["error"].startswith(f"Failed to connect to {HOST}:{srv.port}"), r.describe()
        assert r.get("cause_code") in {"UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                                       "SELF_SIGNED_CERT_IN_CHAIN",
                                       "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"}, r.describe()
    assert_no_login(srv, mark)
