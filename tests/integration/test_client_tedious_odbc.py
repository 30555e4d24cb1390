"""The session script (probes/README.md, "The session script") with the two original
probes: tedious (19.2.2, and 14.7.0 as `--driver-version 14`) and odbc (Microsoft ODBC Driver 18
called through ctypes, as mssql-python calls it).

For each client, with certificate validation on (the exported lab CA passed with --ca, host
`localhost`; tedious 14 also gets --no-trust-server-certificate, its default being to trust any
certificate):

  * `--session` against `tlslab serve` in every encryption mode the client has: login line,
    every step's answer as a real SQL Server gives it, and the Transaction Manager requests the
    serve log shows;
  * the same through `tlslab proxy --scenario valid --record-messages` in front of serve: the
    proxy's message events show what the client sent for each step (below);
  * a negative control: with a foreign CA the client refuses the server and is never logged in.

What each client sends per step. The proxy records SQL batches and RPCs by name (no statement
text, no parameters) and does not record Transaction Manager requests: those come from the
serve debug log ("TM_BEGIN_XACT", "TM_COMMIT_XACT").

  step             tedious 19 and 14                      odbc (ODBC Driver 18.6, mssql-python's calls)
  (connect)        sql_batch "set ansi_nulls on ...       (nothing)
                   set implicit_transactions off ..."
  (--query)        sql_batch "SELECT 1" (execSqlBatch)    sql_batch "SELECT 1" (SQLExecDirectW)
  begin            TM_BEGIN_XACT (beginTransaction)       TM_BEGIN_XACT (SQLSetConnectAttr
                                                          SQL_ATTR_AUTOCOMMIT OFF)
  trancount        rpc sp_executesql (execSql)            sql_batch "SELECT @@TRANCOUNT"
  system           rpc sp_executesql                      sql_batch "SELECT @@SPID, DB_NAME(), ..."
  param            rpc sp_executesql ('SELECT @p1',       rpc sp_prepexec (SQLPrepareW + SQLBind-
                   N'@p1 int', 42)                        Parameter + SQLExecute), then rpc
                                                          sp_unprepare (SQLFreeHandle)
  commit           TM_COMMIT_XACT (commitTransaction)     TM_COMMIT_XACT (SQLEndTran SQL_COMMIT),
                                                          with fBeginXact: @@TRANCOUNT is 1 after
  trancount_after  rpc sp_executesql                      sql_batch "SELECT @@TRANCOUNT", then
                                                          TM_COMMIT_XACT (autocommit back on)
  error            rpc sp_executesql -> error 208         sql_batch "SELECT * FROM ..." -> 208
  again            rpc sp_executesql                      sql_batch "SELECT 1"

Each test starts its own serve (and proxy) with the `tlslab` fixture.
"""

from __future__ import annotations

import re

import pytest

from harness import EventLog
from serve_log import (FULL_TDS7, FULL_TDS8, LOGIN_ONLY, PLAIN, SESSION_STEPS, SessionCheck,
                       assert_no_login, login_lines, start_proxy, start_serve)

HOST = "localhost"  # ODBC 18 ignores IP SANs: dial the name

# Session scripts need more than one --timeout: 8 steps, each bounded by the probe.
SESSION_TIMEOUT_S = 5
SESSION_BOUND_S = 90

SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")

# client -> (probe folder, extra probe options that make it validate the lab certificate's way)
CLIENTS = {
    "tedious19": ("tedious", {}),
    # tedious 14's trustServerCertificate defaults to true: set it false to validate.
    "tedious14": ("tedious", {"driver_version": "14", "no_trust_server_certificate": True}),
    "odbc": ("odbc", {}),
}
MARK = {"tedious19": pytest.mark.tedious, "tedious14": pytest.mark.tedious,
        "odbc": pytest.mark.odbc}


def param(client, *values, id):
    return pytest.param(client, *values, marks=MARK[client], id=id)


# (client, --encrypt in the client's words, serve --encryption, the login line's parenthesis)
MODES = [
    param("tedious19", "true", "force", FULL_TDS7, id="tedious19-true-force"),
    # tedious (19 and 14) with encrypt false offers ENCRYPT_NOT_SUP: no TLS at all.
    param("tedious19", "false", "off", PLAIN, id="tedious19-false-off"),
    param("tedious19", "strict", "strict", FULL_TDS8, id="tedious19-strict-strict"),
    param("tedious14", "true", "force", FULL_TDS7, id="tedious14-true-force"),
    param("tedious14", "false", "off", PLAIN, id="tedious14-false-off"),
    # (tedious 14 has no strict: its config refuses encrypt 'strict')
    param("odbc", "yes", "force", FULL_TDS7, id="odbc-yes-force"),
    param("odbc", "mandatory", "force", FULL_TDS7, id="odbc-mandatory-force"),
    param("odbc", "optional", "off", LOGIN_ONLY, id="odbc-optional-off"),
    param("odbc", "no", "off", LOGIN_ONLY, id="odbc-no-off"),
    param("odbc", "strict", "strict", FULL_TDS8, id="odbc-strict-strict"),
]

# Through the proxy: each client's "encrypt and validate" for TDS 7.x, and TDS 8.0.
PROXIED = [
    param("tedious19", "true", "force", id="tedious19-true"),
    param("tedious19", "strict", "strict", id="tedious19-strict"),
    param("tedious14", "true", "force", id="tedious14-true"),
    param("odbc", "yes", "force", id="odbc-yes"),
    param("odbc", "strict", "strict", id="odbc-strict"),
]

# @@TRANCOUNT after `commit`: tedious' commitTransaction is a TM_COMMIT_XACT without
# fBeginXact (0); ODBC's SQLEndTran in manual-commit mode sets it (MS-TDS 2.2.6.9), so the
# server starts the next transaction at once (1), as the contract table says.
TRANCOUNT_AFTER = {"tedious19": 0, "tedious14": 0, "odbc": 1}

# The Transaction Manager requests serve logs during the session, in order.
TM_REQUESTS = {
    "tedious19": ["TM_BEGIN_XACT", "TM_COMMIT_XACT"],
    "tedious14": ["TM_BEGIN_XACT", "TM_COMMIT_XACT"],
    # begin, commit (SQLEndTran), then autocommit back on after trancount_after (the driver
    # commits the chained transaction, in which SELECT @@TRANCOUNT ran).
    "odbc": ["TM_BEGIN_XACT", "TM_COMMIT_XACT", "TM_COMMIT_XACT"],
}
TM_RE = re.compile(r"\] (TM_[A-Z_]+)\b")

# What the proxy records from the client after the --query's "SELECT 1", i.e. the session
# steps that are not TM requests (kind, text): see the table at the top.
SESSION_MESSAGES = {
    "tedious19": [("rpc", "sp_executesql")] * 6,
    "tedious14": [("rpc", "sp_executesql")] * 6,
    "odbc": [("sql_batch", "SELECT @@TRANCOUNT"), ("sql_batch", SYSTEM_SQL),
             ("rpc", "sp_prepexec"), ("rpc", "sp_unprepare"),
             ("sql_batch", "SELECT @@TRANCOUNT"),
             ("sql_batch", "SELECT * FROM tlslab_no_such_table"), ("sql_batch", "SELECT 1")],
}


# ---- helpers ----------------------------------------------------------------------------------

def run(probe, client, port, lab_ca, encrypt, **kw):
    folder, extra = CLIENTS[client]
    return probe(folder, host=HOST, port=port, ca=lab_ca, encrypt=encrypt, **extra, **kw)


def run_session(probe, client, port, lab_ca, encrypt):
    r = run(probe, client, port, lab_ca, encrypt, session=True, timeout=SESSION_TIMEOUT_S,
            bound=SESSION_BOUND_S)
    assert r["connected"] is True, r.describe()
    assert r["error"] is None and r["value"] == 1, r.describe()
    if client.startswith("tedious"):
        assert r["driver_version_line"] == client[-2:], r.describe()
        assert r["version"].split(".")[0] == client[-2:], r.describe()
    return r


def assert_session(r, client: str) -> None:
    """The --session script, step by step, against what a real SQL Server answers
    (probes/README.md). Every deviation is listed in one failure."""
    c = SessionCheck(r)
    c.ok_with("begin", None)
    c.ok_with("trancount", 1)
    c.system()
    c.ok_with("param", 42)
    c.ok_with("commit", None)
    c.ok_with("trancount_after", TRANCOUNT_AFTER[client])
    if client == "odbc":
        # The probe turns autocommit back on after reading @@TRANCOUNT.
        after = c.by["trancount_after"]
        c.expect(after.get("autocommit_restored") is True,
                 f"trancount_after: autocommit_restored {after.get('autocommit_restored')!r}"
                 f" {after.get('autocommit_error')!r}")
    err = c.fails_with_208()
    if client == "odbc":
        c.expect(err.get("sql_state") == "42S02",
                 f"error: sql_state {err.get('sql_state')!r}, want 42S02")
    else:
        c.expect(err.get("code") == "EREQUEST", f"error: code {err.get('code')!r}, want EREQUEST")
    c.ok_with("again", 1)
    c.done()


def tm_requests(srv, since: int) -> list[str]:
    return [m.group(1) for line in srv.log(since) if (m := TM_RE.search(line))]


def assert_tm_requests(srv, since: int, client: str) -> None:
    # The last TM line may be logged a moment after the probe printed its result.
    want = TM_REQUESTS[client]
    try:
        srv.wait_for_log(r"client closed the connection", since)
    except AssertionError:
        pass  # judged below, with the log
    got = tm_requests(srv, since)
    assert got == want, f"TM requests {got}, want {want}\n" + srv.log_text(since)


def client_messages(events: EventLog) -> list[dict]:
    return [m for m in events.records(event="message") if m.get("from") == "client"]


# ---- 1. the session against serve, every mode, validation on -----------------------------------

@pytest.mark.parametrize("client, encrypt, mode, how", MODES)
def test_session_against_serve(tlslab, lab_ca, probe, client, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = run_session(probe, client, srv.port, lab_ca, encrypt)
    logins = login_lines(srv, mark)
    assert len(logins) == 1 and logins[0]["user"] == "lab", srv.log_text(mark)
    assert logins[0]["how"] == how, f"login line says ({logins[0]['how']}), want ({how})\n" \
        + srv.log_text(mark)
    assert_session(r, client)
    assert_tm_requests(srv, mark, client)


# ---- 2. the session through the proxy (valid scenario, messages recorded) -----------------------

@pytest.mark.parametrize("client, encrypt, mode", PROXIED)
def test_session_through_proxy(tlslab, tmp_path, lab_ca, probe, client, encrypt, mode):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    mark = srv.mark()
    r = run_session(probe, client, px.port, lab_ca, encrypt)
    assert_session(r, client)

    recs = events.wait_for(lambda x: x["outcome"] == "login-encrypted",
                           what="login-encrypted sessions")
    assert len(events.records()) == 1, events.records()
    rec = recs[0]
    assert rec["scenario"] == "valid", rec
    assert rec["upstream_leg"]["verification"] == "verified", rec["upstream_leg"]
    assert rec["protocol"] == ("tds8" if mode == "strict" else "tds7"), rec["protocol"]
    assert rec["client_leg"]["tls"]["established"] is True, rec["client_leg"]
    assert rec["login"]["library_name"] == ("ODBC" if client == "odbc" else "Tedious"), rec["login"]

    msgs = client_messages(events)
    texts = "\n  ".join(f"{m['kind']}: {m['text']!r}" for m in msgs)
    # The proxy records Transaction Manager requests as their own kind, in order (the client
    # may add one when it closes).
    tms = [m["text"] for m in msgs if m["kind"] == "tm_request"]
    assert tms[:len(TM_REQUESTS[client])] == TM_REQUESTS[client], \
        f"TM requests differ; client messages:\n  {texts}"
    sent = [(m["kind"], m["text"]) for m in msgs if m["kind"] != "tm_request"]
    # The --query, then the session's statements.
    i = next((n for n, m in enumerate(sent) if m == ("sql_batch", "SELECT 1")), None)
    assert i is not None, f"no sql_batch 'SELECT 1' (the --query) recorded:\n  {texts}"
    if client.startswith("tedious"):
        # tedious' connect-time batch of SET options, before the --query.
        assert i == 1 and sent[0][0] == "sql_batch" and \
            sent[0][1].startswith("set ansi_nulls on"), f"client messages:\n  {texts}"
    else:
        assert i == 0, f"client messages:\n  {texts}"
    assert sent[i + 1:] == SESSION_MESSAGES[client], \
        f"session messages differ; client messages:\n  {texts}"
    # The server's one error: 208 for the `error` step.
    errors = [m for m in events.records(event="message")
              if m.get("from") == "server" and m.get("kind") == "error"]
    assert [e.get("number") for e in errors] == [208], errors
    assert_tm_requests(srv, mark, client)


# ---- 3. negative control: a foreign CA ----------------------------------------------------------

@pytest.mark.parametrize("client, encrypt, mode", PROXIED)
def test_foreign_ca_is_refused(tlslab, foreign_ca, probe, client, encrypt, mode):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = run(probe, client, srv.port, foreign_ca, encrypt, session=True)
    assert r["connected"] is False and r["value"] is None, r.describe()
    assert r["session"] is None, r.describe()
    if client == "odbc":
        # "[08001] [Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL
        # routines::certificate verify failed:unable to get local issuer certificate] (-1); ..."
        assert r["error_code"] == "08001", r.describe()
        assert "certificate verify failed" in r["error"], r.describe()
    else:
        # "Failed to connect to localhost:PORT - unable to verify the first certificate"
        # (tedious' socket error, from Node's TLS; 14 reports it without .cause).
        assert r["error_code"] == "ESOCKET", r.describe()
        assert r["error"].startswith(f"Failed to connect to {HOST}:{srv.port}"), r.describe()
        assert r.get("cause_code") in {"UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                                       "SELF_SIGNED_CERT_IN_CHAIN",
                                       "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"}, r.describe()
    assert_no_login(srv, mark)
