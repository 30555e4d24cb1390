"""`tlslab lab --protocol mysql` x the MySQL/MariaDB probes: every MySQL scenario, every driver,
five ssl modes.

One `tlslab lab --protocol mysql` per module (the MySQL 8.0 stand-in in-process with SSL
offered and its own lab-CA certificate, caching_sha2_password, user lab / lab-password,
database lab; one proxy listener per scenario on consecutive ports from a base found free at
run time, --events into a temp file). The machinery (cases, records per probe run, the reviewed
table, generator mode) is lab_matrix.py's, shared with the PostgreSQL matrix.

Each case is compared with its row in expectations/mysql_lab_matrix.json (the reviewed truth):
`connected`; for a login, `ssl` (the driver's own view); where the driver failed, `error_code`
and `error` substring(s); the proxy's `outcome` and `alert` of the case's session(s).

Generator mode: `TLSLAB_MYSQL_MATRIX_RECORD=1 pytest test_mysql_lab_matrix.py [-k ...]` runs
the selected cases and rewrites their rows from what was observed (each `note`, and each
reviewed `error` substring that still matches, is kept). Review every changed row against
shared/docs/drivers.md (outside the repository, §2C, §4.6, §4.7) and against what a validating
client should do. `python test_mysql_lab_matrix.py` prints the compact table.

Scenarios numbered above 24 run only in verify-identity, plus required where lab_matrix.EXTRA_ROLES says
(lab_matrix.configs_for: CI time is bounded).

Configs (host: the scenario's dial name, see lab_matrix.py; --timeout 5), the probe
contract's --ssl-mode (probes/README.md, "MySQL probes"), each in the driver's own words:
  verify-identity  --ca <lab CA> --ssl-mode VERIFY_IDENTITY   chain, dates and name
  verify-ca        --ca <lab CA> --ssl-mode VERIFY_CA         chain and dates, no name
  required         --ssl-mode REQUIRED                        TLS, any certificate
  preferred        --ssl-mode PREFERRED                       TLS if offered, else clear
  defaults         nothing: the driver's own default
A driver that cannot express a mode says so (`unsupported_mode`) and opens no session.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import lab_matrix as lm
from harness import default_bin
from lab_matrix import Case, MatrixRun

HERE = Path(__file__).resolve().parent
TABLE = HERE / "expectations" / "mysql_lab_matrix.json"
RECORD = os.environ.get("TLSLAB_MYSQL_MATRIX_RECORD", "") not in ("", "0")
WORKERS = int(os.environ.get("TLSLAB_MYSQL_MATRIX_WORKERS", "4"))

# table name = probe name (probes/<name>/probe)
DRIVERS = ("mariadb-cli", "mysqlconnector", "mysqlconnector-pure", "pymysql", "mysql2",
           "node-mariadb", "mysqljdbc", "mariadbjdbc", "gomysql", "php-mysqlnd")
CONFIGS = ("verify-identity", "verify-ca", "required", "preferred", "defaults")
CONFIG_DRIVERS = {c: DRIVERS for c in CONFIGS}
SHORT_CONFIG = {"verify-identity": "vi", "verify-ca": "vca", "required": "req",
                "preferred": "pref", "defaults": "def"}
MODES = {"verify-identity": "VERIFY_IDENTITY", "verify-ca": "VERIFY_CA",
         "required": "REQUIRED", "preferred": "PREFERRED"}
# Passthrough relays the bytes: the proxy reads the greeting and the SSLRequest only.
UNREAD = ("passthrough",)


def options(case: Case, lab_ca: Path) -> dict:
    if case.config in ("verify-identity", "verify-ca"):
        return {"ca": lab_ca, "ssl_mode": MODES[case.config]}
    if case.config in MODES:
        return {"ssl_mode": MODES[case.config]}
    return {}  # defaults


def session_line(x: dict) -> str:
    my = x.get("mysql") or {}
    tls = (x.get("client_leg") or {}).get("tls") or {}
    login = x.get("login") or {}
    return (f"  #{x['id']} {x['started']} {x['protocol']} {my.get('negotiation')!r} "
            f"tls={tls.get('version')} user={login.get('user_name')!r} "
            f"plugins={my.get('auth_plugins')} path={my.get('auth_path')!r} "
            f"-> {x['outcome']} alert={(x.get('alert') or {}).get('name')} ({x['detail']})")


JAVA_CAUSE_RE = re.compile(r"Caused by: (?:[\w.]+\.)?(\w+(?:Exception|Error)): ([^\n]*)")


def suggest_error(case: Case, r: dict) -> str | list[str] | None:
    """Short, stable substring(s) of the driver's error for a new row (reviewed by hand): no
    ports, addresses, dates or OpenSSL error-queue numbers that depend on the machine."""
    err = r.get("error")
    if err is None:
        return None
    # MariaDB Connector/J numbers its connections: "(conn=586) "
    err = re.sub(r"\(conn=\d+\) ", "", err)
    first = lm.without_port(err.splitlines()[0])
    # the certificate's names include the machine's own host name: keep what comes before them
    first = re.split(r" and SAN\[| in the cert's list:| is not in the cert's altnames: DNS:(?!db)",
                     first)[0]
    # OpenSSL queue entries: "80BC...:error:0A000086:SSL routines:FUNC:REASON:ssl/...:NNN:"
    m = re.search(r"SSL routines:(?:[a-z_0-9]*:)?([^:\n]+)", err)
    if m:
        return m.group(1)
    # crypto/x509 and JSSE name dates: keep the text before them
    first = re.split(r": current time \S+|NotAfter: |NotBefore: ", first)[0]
    if case.driver in ("mysqljdbc", "mariadbjdbc"):
        cause = JAVA_CAUSE_RE.findall(err)
        if cause:
            return [first[:160], cause[-1][0]]
    return first[:200]


ABOUT = ("Reviewed expectations of test_mysql_lab_matrix.py: one row per driver/config/scenario. "
         "connected; for a login, ssl (the driver's own view); where it failed, error_code and "
         "error (a substring, or a list of substrings that must all appear); the proxy's "
         "outcome (a list when the driver opened several sessions) and alert (the TLS alert the "
         "client sent, by name). note: why the row is what it is, where it is not obvious. "
         "Regenerate with TLSLAB_MYSQL_MATRIX_RECORD=1 (keeps notes and still-matching error "
         "substrings), then review the diff against shared/docs/drivers.md (outside this "
         "repository).")

SPEC = lm.MatrixSpec(
    protocol="mysql", base_port_flag="--mysql-base-port", table=TABLE, record=RECORD,
    drivers=DRIVERS, configs=CONFIGS, config_drivers=CONFIG_DRIVERS, short_config=SHORT_CONFIG,
    options=options, suggest_error=suggest_error, session_line=session_line, about=ABOUT,
    workers=WORKERS)
CATALOGUE = SPEC.catalogue(default_bin())  # each scenario's dial name and names to resolve
SCENARIOS = [s.name for s in CATALOGUE]
CASES = SPEC.all_cases(CATALOGUE)  # new scenarios in fewer configs: lab_matrix.configs_for
CASE_BY_KEY = {c.key: c for c in CASES}


def start_mysql_lab(tlslab_bin, state_dir, d: Path, scenarios: list[str]):
    """`tlslab lab --protocol mysql` on a free block of ports: (process, {scenario: port},
    EventLog, ports.json path)."""
    return lm.start_lab(SPEC, tlslab_bin, state_dir, d, scenarios)


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    proc, ports, events, _ = start_mysql_lab(
        tlslab_bin, state_dir, tmp_path_factory.mktemp("mysql-lab-matrix"), SCENARIOS)
    try:
        yield proc, ports, events
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def matrix(request, lab, lab_ca):
    """The MatrixRun; the cases of every selected test of this module are run up front, in
    parallel, at the first use."""
    _, ports, events = lab
    m = MatrixRun(SPEC, ports, events, lab_ca)
    m.run(lm.wanted_cases(request, CASE_BY_KEY))
    yield m
    print(f"\nmysql lab matrix: {m.probe_runs} probe runs in {m.seconds:.1f} s "
          f"({WORKERS} workers); per probe run: {m.timing()}")
    if RECORD:
        lm.write_observed(m, CASES)


# ---- tests ---------------------------------------------------------------------------------------

pytestmark = pytest.mark.timeout(1200)  # the first test carries the whole parallel run


@pytest.mark.parametrize("case", [pytest.param(c, id=c.key) for c in CASES])
def test_case(matrix, case: Case):
    o = matrix.get(case)
    assert o.probe_error is None, f"{case.key}: the probe run failed: {o.probe_error}"
    for x in o.records:
        assert x["outcome"] in lm.OUTCOMES, f"unknown outcome {x['outcome']!r}\n{o.sessions_text()}"
        assert x["scenario"] == case.scenario
        assert x["protocol"] == "mysql", o.sessions_text()
    r = o.result or {}
    if r.get("connected") and case.scenario not in UNREAD:
        # the driver's own view and the proxy's must agree on TLS
        logins = [x for x in o.records if x["outcome"].startswith("login-")]
        assert logins, f"connected, but the proxy saw no login\n{o.sessions_text()}"
        want = "login-encrypted" if r.get("ssl") else "login-plaintext"
        assert logins[-1]["outcome"] == want, f"ssl={r.get('ssl')}\n{o.sessions_text()}"
        assert logins[-1]["mysql"]["authenticated"], o.sessions_text()
    if RECORD:
        return  # the fixture rewrites the row at the end of the module
    expected = SPEC.load_table()["cases"].get(case.key)
    assert expected is not None, (
        f"{case.key}: no row in {TABLE} (observed {o.row()}); generate it with "
        f"TLSLAB_MYSQL_MATRIX_RECORD=1 and review it")
    diffs = lm.compare(expected, o)
    assert not diffs, lm.diff_text(case, expected, o, diffs)


def test_table_covers_the_catalogue():
    """Exactly one row per driver/config/scenario of the current MySQL catalogue."""
    if RECORD:
        pytest.skip("generator mode: the table is rewritten at the end of the module")
    assert len(SCENARIOS) >= 16, SCENARIOS
    lm.check_table_covers(SPEC, CASES)


def test_no_stray_sessions(matrix):
    """Every session the lab recorded belongs to one probe run (runs last in the module)."""
    stray = matrix.stray_records()
    assert not stray, "sessions outside every probe run:\n" + "\n".join(
        f"  {r['scenario']} #{r['id']} {r['started']} -> {r['outcome']} ({r['detail']})"
        for r in stray)


if __name__ == "__main__":
    print(lm.markdown_matrix(SPEC, CATALOGUE))
