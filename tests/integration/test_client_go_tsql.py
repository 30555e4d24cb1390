"""The `--session` script (probes/README.md, "The session script") of the two original
probes: go-mssqldb 1.11 through database/sql (probes/go) and FreeTDS 1.3 `tsql`, the
command-line tool, typed into as a user would (probes/tsql).

With certificate validation on (the exported lab CA with --ca, host `localhost`):

  * the session against `tlslab serve`, in each encryption mode the client has with validation:
    go `true` against `force` and `off` (full TLS either way), go `strict` against `strict`
    (TDS 8.0); tsql `require` against `force` (full TLS), tsql `request` against `off`
    (FreeTDS then offers ENCRYPTION=OFF: TLS for the login only), with the lab CA as FreeTDS'
    `ca file`; every step checked against what a real SQL Server answers, and the serve log says
    how the login was protected;
  * the same through `tlslab proxy --scenario valid --record-messages` in front of serve: one
    session, logged in encrypted, upstream verified, and exactly the requests listed below;
  * a failed login (wrong password): every step reported as not run, with the login's 18456.

What each client sends for each step (the proxy's `message` events, from="client"; the
Transaction Manager requests also from the serve debug log, `TM_BEGIN_XACT` / `TM_COMMIT_XACT`,
since a proxy built before they were recorded as kind "tm_request" shows only the SQL batches and
RPCs: the test accepts both):

  | step            | go-mssqldb (database/sql)                      | tsql (FreeTDS)                   |
  |-----------------|------------------------------------------------|----------------------------------|
  | (--query)       | SQL batch `SELECT 1`                           | SQL batch `SELECT 1\\n`           |
  | begin           | db.BeginTx: TM_BEGIN_XACT (isolation 0)        | SQL batch `BEGIN TRAN\\n`         |
  | trancount       | SQL batch `SELECT @@TRANCOUNT` (in the Tx)     | SQL batch `SELECT @@TRANCOUNT\\n` |
  | system          | SQL batch, the SELECT as written (in the Tx)   | SQL batch, the SELECT + `\\n`     |
  | param           | RPC `sp_executesql` (`SELECT @p1`, @p1 = 42)   | skipped: no parameter binding    |
  | commit          | tx.Commit: TM_COMMIT_XACT                      | SQL batch `COMMIT\\n`             |
  | trancount_after | SQL batch `SELECT @@TRANCOUNT` (the pool)      | SQL batch `SELECT @@TRANCOUNT\\n` |
  | error           | SQL batch `SELECT * FROM tlslab_no_such_table` | the same + `\\n`                  |
  | again           | SQL batch `SELECT 1`                           | SQL batch `SELECT 1\\n`           |

  * go-mssqldb sends a statement without arguments as a SQL batch and one with arguments as
    sp_executesql (no sp_prepexec), and nothing on connect after LOGIN7. Every request that
    follows taking the connection from database/sql's pool carries the RESETCONNECTION status
    bit (packet status 0x09; seen on the wire with encrypt=disable): the query, TM_BEGIN_XACT,
    and each of the three pool steps after the commit; the Tx's own requests do not. One TCP
    connection holds the whole session (the probe reports `connections_opened`).
  * tsql appends a line break to every line it is given, so each batch ends with `\\n`; it
    sends nothing on connect after LOGIN7 and nothing for its local commands (`version`, `:r`,
    which its probe uses to tell the steps apart); BEGIN TRAN / COMMIT are plain SQL batches,
    no TM request. Its app name is `TSQL`, library `TDS-Library`.

Each test starts its own serve (and proxy) with the `tlslab` fixture. The probes must have been
installed (probes/go/install builds bin/probe; probes/tsql/install: freetds-bin).
"""

from __future__ import annotations

import re
import time

import pytest

from harness import EventLog
from serve_log import (FULL_TDS7, FULL_TDS8, LOGIN_ONLY, SESSION_STEPS, SessionCheck, login_lines,
                      start_proxy, start_serve)

HOST = "localhost"  # the lab certificate's name

SESSION_TIMEOUT_S = 5   # --timeout: each step's bound inside the probe
SESSION_BOUND_S = 90    # the probe subprocess (login + query + 8 steps)
MESSAGE_WAIT_S = 5.0

SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")
NO_TABLE_SQL = "SELECT * FROM tlslab_no_such_table"

# What the proxy records from each client for `--session` (the default --query first), in order.
# A proxy that does not record TM requests as messages (kind "tm_request") shows the same list
# without them.
CLIENT_MESSAGES = {
    "go": [("sql_batch", "SELECT 1"), ("tm_request", "TM_BEGIN_XACT"),
           ("sql_batch", "SELECT @@TRANCOUNT"), ("sql_batch", SYSTEM_SQL),
           ("rpc", "sp_executesql"), ("tm_request", "TM_COMMIT_XACT"),
           ("sql_batch", "SELECT @@TRANCOUNT"), ("sql_batch", NO_TABLE_SQL),
           ("sql_batch", "SELECT 1")],
    "tsql": [("sql_batch", sql + "\n") for sql in
             ["SELECT 1", "BEGIN TRAN", "SELECT @@TRANCOUNT", SYSTEM_SQL, "COMMIT",
              "SELECT @@TRANCOUNT", NO_TABLE_SQL, "SELECT 1"]],
}
# The Transaction Manager requests in the serve debug log, in order.
TM_REQUESTS = {"go": ["TM_BEGIN_XACT", "TM_COMMIT_XACT"], "tsql": []}
# The LOGIN7 names, as the proxy decodes them.
LOGIN_NAMES = {"go": ("tlslab-probe-go", "go-mssqldb"), "tsql": ("TSQL", "TDS-Library")}

TM_RE = re.compile(r"\] (TM_[A-Z_]+)")


def _client(name: str, *values, id: str):
    return pytest.param(name, *values, marks=getattr(pytest.mark, name), id=id)


# (client, --encrypt in the client's words, serve --encryption, the login line's parenthesis)
MODES = [
    _client("go", "true", "force", FULL_TDS7, id="go-true-force"),
    _client("go", "true", "off", FULL_TDS7, id="go-true-off"),
    _client("go", "strict", "strict", FULL_TDS8, id="go-strict-strict"),
    _client("tsql", "require", "force", FULL_TDS7, id="tsql-require-force"),
    _client("tsql", "request", "off", LOGIN_ONLY, id="tsql-request-off"),
]

# Through the proxy: (client, --encrypt, serve --encryption, the record's protocol)
PROXIED = [
    _client("go", "true", "force", "tds7", id="go-true"),
    _client("go", "strict", "strict", "tds8", id="go-strict"),
    _client("tsql", "require", "force", "tds7", id="tsql-require"),
    _client("tsql", "request", "off", "tds7", id="tsql-request"),
]


# ---- helpers ----------------------------------------------------------------------------------

def assert_logged_in(r) -> None:
    assert r["connected"] is True, r.describe()
    assert r["error"] is None and r["error_code"] is None, r.describe()
    assert r["value"] == 1, r.describe()


def assert_session(r, client: str) -> None:
    """The --session script, step by step, against what a real SQL Server answers
    (probes/README.md). Every deviation is listed in one failure."""
    c = SessionCheck(r)
    c.ok_with("begin")            # no row: value null
    c.ok_with("trancount", 1)     # both begin a real transaction (TM_BEGIN_XACT / BEGIN TRAN)
    c.system(getdate_re=None)     # tsql prints GETDATE() its own way ("Nov 29 2026 09:44AM")
    param = c.by["param"]
    if client == "tsql":
        c.expect(param.get("ok") is None and "parameter binding" in (param.get("skipped") or ""),
                 f"param: want skipped (tsql has no parameter binding), got {param!r}")
    else:
        c.ok_with("param", 42)
    c.ok_with("commit")
    c.ok_with("trancount_after", 0)  # a plain commit (no chained transaction), as in the contract
    text = c.fails_with_208().get("error") or ""
    if client == "tsql":
        # tsql's message handler: Msg N (severity S, state T) from SERVER Line L:
        c.expect(re.match(r"Msg 208 \(severity 16, state \d+\) from \S+ Line 1:\n", text) is not None,
                 f"error: {text!r} is not tsql's \"Msg 208 (severity 16, ...\" message")
    else:
        err = c.by["error"]
        c.expect(text.startswith("mssql: ") and err.get("error_type") == "mssql.Error",
                 f"error: {text!r} ({err.get('error_type')}) is not go-mssqldb's mssql.Error")
    c.ok_with("again", 1)
    c.done()


def assert_one_connection(r, client: str) -> None:
    if client == "go":
        # database/sql kept and reused the one connection: no second login
        assert r.get("connections_opened") == 1, r.describe()
    else:
        assert r.get("exit_code") == 0, r.describe()


def tm_requests(srv, since: int) -> list[str]:
    """The TM requests serve logged since `since`, once the session's error 208 is logged (it
    comes after the commit, so every TM line of the session is in by then)."""
    srv.wait_for_log(r"answered with error 208", since)
    return [m.group(1) for line in srv.log(since) if (m := TM_RE.search(line))]


def client_messages(events: EventLog, want: int) -> list[dict]:
    """The client's messages, once `want` of them other than TM requests are there (the last one
    is the client's last request, so everything before it is in) or the bound is over."""
    deadline = time.monotonic() + MESSAGE_WAIT_S
    while True:
        msgs = [m for m in events.records(event="message") if m.get("from") == "client"]
        if sum(m["kind"] != "tm_request" for m in msgs) >= want or time.monotonic() >= deadline:
            return msgs
        time.sleep(0.05)


def run_session(probe, client: str, port: int, lab_ca, encrypt: str, **kw):
    return probe(client, host=HOST, port=port, ca=lab_ca, encrypt=encrypt, session=True,
                 timeout=SESSION_TIMEOUT_S, bound=SESSION_BOUND_S, **kw)


# ---- 1. the session against serve, every validating mode ----------------------------------------

@pytest.mark.parametrize("client, encrypt, mode, how", MODES)
def test_session_against_serve(tlslab, lab_ca, probe, client, encrypt, mode, how):
    srv = start_serve(tlslab, mode)
    mark = srv.mark()
    r = run_session(probe, client, srv.port, lab_ca, encrypt)
    assert_logged_in(r)
    assert_session(r, client)
    assert_one_connection(r, client)
    logins = login_lines(srv, mark)
    assert len(logins) == 1 and logins[0]["user"] == "lab", srv.log_text(mark)
    assert logins[0]["how"] == how, \
        f"login line says ({logins[0]['how']}), want ({how})\n" + srv.log_text(mark)
    assert tm_requests(srv, mark) == TM_REQUESTS[client], srv.log_text(mark)


# ---- 2. the session through the proxy: what the client sends -------------------------------------

@pytest.mark.parametrize("client, encrypt, mode, protocol", PROXIED)
def test_session_through_proxy(tlslab, tmp_path, lab_ca, probe, client, encrypt, mode, protocol):
    srv = start_serve(tlslab, mode)
    px, events = start_proxy(tlslab, tmp_path, srv, lab_ca)
    mark = srv.mark()
    r = run_session(probe, client, px.port, lab_ca, encrypt)
    assert_logged_in(r)
    assert_one_connection(r, client)

    recs = events.wait_for(lambda x: x["outcome"] == "login-encrypted",
                           what="login-encrypted sessions")
    assert len(events.records()) == 1, events.records()
    rec = recs[0]
    assert rec["scenario"] == "valid", rec
    assert rec["protocol"] == protocol, rec["protocol"]
    assert rec["upstream_leg"]["verification"] == "verified", rec["upstream_leg"]
    assert rec["client_leg"]["tls"]["established"] is True, rec["client_leg"]
    login = rec["login"]
    app, library = LOGIN_NAMES[client]
    assert login["app_name"] == app and login["library_name"] == library, login
    assert login["user_name"] == "lab" and login["auth_kind"] == "sql", login
    assert login["through_tls"] is True and login["password"] is None, login

    want = CLIENT_MESSAGES[client]
    msgs = client_messages(events, sum(kind != "tm_request" for kind, _ in want))
    got = [(m["kind"], m["text"]) for m in msgs]
    if not any(kind == "tm_request" for kind, _ in got):  # a proxy that does not record them
        want = [(kind, text) for kind, text in want if kind != "tm_request"]
    assert got == want, \
        "client messages: " + " | ".join(f"{m['kind']}: {m['text']!r}" for m in msgs)
    for m in msgs:  # the statement of sp_executesql, where the proxy records it
        if m["kind"] == "rpc" and "detail" in m:
            assert "SELECT @p1" in m["detail"], m
    server_errors = [(m["number"], m["text"]) for m in events.records(event="message")
                     if m.get("from") == "server" and m.get("kind") == "error"]
    assert server_errors == [(208, "Invalid object name 'tlslab_no_such_table'.")], server_errors
    assert tm_requests(srv, mark) == TM_REQUESTS[client], srv.log_text(mark)
    assert_session(r, client)


# ---- 3. no login: every step says so -------------------------------------------------------------

@pytest.mark.parametrize("client, encrypt", [_client("go", "true", id="go"),
                                             _client("tsql", "require", id="tsql")])
def test_session_after_failed_login(tlslab, lab_ca, probe, client, encrypt):
    srv = start_serve(tlslab, "force")
    r = run_session(probe, client, srv.port, lab_ca, encrypt, password="not-the-password")
    assert r["connected"] is False and r["error_code"] == 18456, r.describe()
    assert "Login failed for user 'lab'." in r["error"], r.describe()
    session = r.get("session")
    assert [s.get("step") for s in session or []] == SESSION_STEPS, r.describe()
    for s in session:
        if client == "tsql" and s["step"] == "param":
            assert s["ok"] is None and s["skipped"], r.describe()
            continue
        assert s["ok"] is False and s["value"] is None, r.describe()
        assert s["error_code"] == 18456 and s["error"].startswith("not run: no login ("), \
            r.describe()
