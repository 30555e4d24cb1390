"""What the client suites share: how `tlslab serve` logs a login, and how to start a serve and
a recording proxy in front of it (test_serve.py and the test_client_* suites).

  FULL_TDS7, FULL_TDS8, LOGIN_ONLY, PLAIN   the parenthesis at the end of a login line
  LOGIN_OK_RE                                the serve log's "login ok" line
  SESSION_END_RE                             any line that ends a session that did not log in
  SESSION_STEPS                              the --session steps, in order (probes/README.md)
  start_serve(tlslab, mode)                  a serve in one encryption mode
  start_proxy(tlslab, tmp_path, serve, ca)   `proxy --scenario valid --record-messages` in front
                                             of it, with its --events log
  login_lines(srv, since), assert_no_login(srv, since)
  SessionCheck(r)                            the --session answers, every deviation listed
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


class SessionCheck:
    """Checks a probe's --session list against what a real SQL Server answers
    (probes/README.md), collecting every deviation so one failure lists them all.

        c = SessionCheck(r)            # the steps are there, in order, with their fields
        c.ok_with("trancount", 1)      # ok, no error, and this value (of this type)
        c.system()                     # the spid and the six columns of the system step
        c.fails_with_208()             # the error step: 208, Invalid object name ...
        c.expect(cond, "what")         # anything client-specific
        c.done()                       # fails with every deviation, and the probe's output

    require_no_error_code: an ok step must also have error_code null (some probes leave the
    last driver code there).
    """

    def __init__(self, r, require_no_error_code: bool = True):
        self.r = r
        self.require_no_error_code = require_no_error_code
        session = r.get("session")
        assert isinstance(session, list), "no session list in the result\n" + r.describe()
        assert [s.get("step") for s in session] == SESSION_STEPS, \
            f"steps {[s.get('step') for s in session]}, want {SESSION_STEPS}\n" + r.describe()
        self.by = {s["step"]: s for s in session}
        self.problems: list[str] = []
        for s in session:
            missing = {"step", "ok", "value", "error_code", "error"} - s.keys()
            self.expect(not missing, f"{s['step']}: lacks {sorted(missing)}")

    def expect(self, cond: bool, what: str) -> None:
        if not cond:
            self.problems.append(what)

    def ok_with(self, step: str, value=None, check_value: bool = True) -> None:
        s = self.by[step]
        ok = s.get("ok") is True and s.get("error") is None and \
            (not self.require_no_error_code or s.get("error_code") is None)
        self.expect(ok, f"{step}: want ok, got ok={s.get('ok')} "
                        f"error_code={s.get('error_code')!r} error={s.get('error')!r}")
        if check_value and s.get("ok") is True:
            self.expect(s.get("value") == value and type(s.get("value")) is type(value),
                        f"{step}: value {s.get('value')!r}, want {value!r}")

    def system(self, columns: bool = True, getdate_re: str | None = r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d"):
        """The system step: ok, its value the spid; with `columns`, the six columns as SQL Server
        answers them (GETDATE() matched by getdate_re, or only non-empty when it is None)."""
        self.ok_with("system", check_value=False)
        system = self.by["system"]
        if system.get("ok") is not True:
            return
        spid = system["value"]
        self.expect(isinstance(spid, int) and not isinstance(spid, bool) and spid > 0,
                    f"system: value {spid!r}, want the spid (a positive int)")
        row = system.get("row")
        self.expect(isinstance(row, list) and len(row) == 6 and all(isinstance(c, str) for c in row),
                    f"system: row {row!r}, want 6 columns as strings")
        if not isinstance(row, list) or not row:
            return
        self.expect(row[0] == str(spid), f"system: row[0] {row[0]!r} is not the spid {spid!r}")
        if not columns or len(row) != 6:
            return
        self.expect(row[1] == "master", f"system: DB_NAME() {row[1]!r}, want 'master'")
        self.expect(row[2] == "lab", f"system: SUSER_SNAME() {row[2]!r}, want 'lab'")
        self.expect(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", row[3] or "") is not None,
                    f"system: SERVERPROPERTY('ProductVersion') {row[3]!r}, want a.b.c.d")
        self.expect((row[4] or "").startswith("Microsoft SQL Server"),
                    f"system: @@VERSION {row[4]!r}")
        if getdate_re is None:
            self.expect(bool((row[5] or "").strip()), f"system: GETDATE() {row[5]!r} is empty")
        else:
            self.expect(re.match(getdate_re, row[5] or "") is not None,
                        f"system: GETDATE() {row[5]!r}, want a date and time")

    def fails_with_208(self, value_none: bool = True) -> dict:
        """The error step: not ok, error 208 with SQL Server's text. Returns the step."""
        err = self.by["error"]
        self.expect(err.get("ok") is False and (not value_none or err.get("value") is None),
                    f"error: want not ok, got ok={err.get('ok')} value={err.get('value')!r}")
        self.expect(err.get("error_code") == 208,
                    f"error: error_code {err.get('error_code')!r}, want 208")
        self.expect("Invalid object name 'tlslab_no_such_table'." in (err.get("error") or ""),
                    f"error: error {err.get('error')!r}, "
                    f"want \"Invalid object name 'tlslab_no_such_table'.\"")
        return err

    def done(self) -> None:
        assert not self.problems, "session steps differ from SQL Server:\n  " + \
            "\n  ".join(self.problems) + "\n" + self.r.describe()
