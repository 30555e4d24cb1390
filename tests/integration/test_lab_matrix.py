"""`tlslab lab` x real drivers: every scenario of the catalogue, every driver, four configs.

One `tlslab lab` per module (serve in-process, encryption off, one proxy listener per scenario
on consecutive ports from a base found free at run time, --events into a temp file). Each case
runs one probe against one scenario's listener; the proxy's records of that listener that
*started* while the probe ran are the case's sessions. Probes of one scenario run one after the
other; scenarios run in parallel on a small thread pool (TLSLAB_MATRIX_WORKERS, default 4).

Each case is compared with its row in expectations/lab_matrix.json (the reviewed truth):
`connected`; where the driver failed, `error_code` and `error` substring(s) (FreeTDS also
`cause`); the proxy's `outcome` and `alert` of the case's session(s); for a login,
`client_mode`. See README.md, "The lab matrix".

Generator mode: `TLSLAB_MATRIX_RECORD=1 pytest test_lab_matrix.py [-k ...]` runs the selected
cases and rewrites their rows from what was observed (each `note`, and each reviewed `error` /
`cause` substring that still matches, is kept); the changed rows are listed as a warning.
Review every changed row (git diff) before committing it: a row is what the real driver does,
checked against shared/docs/drivers.md (/work/shared/docs, outside the repository) and against
what a validating client should do (a `note` says where it does not, or where drivers.md
disagrees); not merely what happened in one run.

Configs (host: the scenario's dial name -- `tlslab scenarios --json` dial/dial_host, its
`resolve` names mapped to 127.0.0.1 in the probe's private /etc/hosts; --timeout 5). The
scenarios numbered above 24 run only in lab-ca, plus trust or strict where
lab_matrix.EXTRA_ROLES says (lab_matrix.configs_for: CI time is bounded):
  defaults  no --ca, no --encrypt, no trust option: the driver's own defaults
  lab-ca    --ca <lab CA> + the driver's "encrypt and validate" (ENCRYPT_ON; tsql: require)
  trust     --trust-server-certificate + the same --encrypt (tsql: require without --ca, as
            FreeTDS trusts everything when no `ca file` is set)
  strict    --encrypt strict --ca <lab CA> (TDS 8.0: STRICT_DRIVERS; not tedious 14,
            FreeTDS 1.3, tiberius 0.12, mssql-jdbc 9.4/10.2)
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import lab_matrix as lm
from lab_matrix import longest_first
from harness import (EventLog, TlslabProcess, default_bin, free_port_block, run_probe,
                     start_lab_on_free_ports)

HERE = Path(__file__).resolve().parent
TABLE = HERE / "expectations" / "lab_matrix.json"
RECORD = os.environ.get("TLSLAB_MATRIX_RECORD", "") not in ("", "0")
WORKERS = int(os.environ.get("TLSLAB_MATRIX_WORKERS", "4"))
PROBE_TIMEOUT_S = 5
SETTLE_S = 10.0  # after a probe: bound for its session record(s) to be written

# name in the table -> (probe, extra probe options)
DRIVERS: dict[str, tuple[str, dict]] = {
    "tedious19": ("tedious", {}),
    "tedious14": ("tedious", {"driver_version": "14"}),
    "odbc": ("odbc", {}),
    "jdbc": ("jdbc", {}),
    "go": ("go", {}),
    "tsql": ("tsql", {}),
    # the seven clients added with issue 7 (table name = probe name)
    "sqlcmd": ("sqlcmd", {}),
    "tiberius-rustls": ("tiberius-rustls", {}),
    "tiberius-native": ("tiberius-native", {}),
    "jdbc9": ("jdbc9", {}),
    "jdbc10": ("jdbc10", {}),
    "pyodbc": ("pyodbc", {}),
    "node-mssql": ("node-mssql", {}),
}
# each probe's "encrypt and validate" word (probes/README.md)
ENCRYPT_ON = {"tedious": "true", "odbc": "yes", "jdbc": "true", "go": "true", "tsql": "require",
              "sqlcmd": "mandatory", "tiberius-rustls": "required",
              "tiberius-native": "required", "jdbc9": "true", "jdbc10": "true", "pyodbc": "yes",
              "node-mssql": "true"}
CONFIGS = ("defaults", "lab-ca", "trust", "strict")
# TDS 8.0 capable: not tedious 14, FreeTDS 1.3, tiberius 0.12, mssql-jdbc before 11.2
STRICT_DRIVERS = ("tedious19", "odbc", "jdbc", "go", "sqlcmd", "pyodbc", "node-mssql")
# the pytest marker (pytest.ini, --strict-markers) of the stack a driver needs; none: no marker
MARKS = {"tedious": "tedious", "odbc": "odbc", "jdbc": "jdbc", "go": "go", "tsql": "tsql",
         "jdbc9": "jdbc", "jdbc10": "jdbc", "pyodbc": "odbc", "node-mssql": "tedious"}


def load_table() -> dict:
    try:
        return json.loads(TABLE.read_text())
    except FileNotFoundError:
        return {"cases": {}}


# ---- cases ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    driver: str    # table name: tedious19, tedious14, odbc, ...
    config: str
    scenario: str
    host: str = field(default="localhost", compare=False)  # what the probe dials
    resolve: tuple[str, ...] = field(default=(), compare=False)  # its private hosts entries

    @property
    def key(self) -> str:
        return f"{self.driver}/{self.config}/{self.scenario}"

    @property
    def probe(self) -> str:
        return DRIVERS[self.driver][0]

    def options(self, lab_ca: Path) -> dict:
        opts = dict(DRIVERS[self.driver][1])
        enc = ENCRYPT_ON[self.probe]
        if self.config == "lab-ca":
            opts.update(ca=lab_ca, encrypt=enc)
        elif self.config == "trust":
            if self.probe == "tsql":
                opts.update(encrypt="require")
            else:
                opts.update(trust_server_certificate=True, encrypt=enc)
        elif self.config == "strict":
            opts.update(ca=lab_ca, encrypt="strict")
        return opts


def all_cases(catalogue: list[lm.ScenarioInfo]) -> list[Case]:
    runs = {s.name: lm.configs_for(s, CONFIGS, lm.ROLES["tds"]) for s in catalogue}
    out = []
    for d in DRIVERS:
        for c in CONFIGS:
            if c == "strict" and d not in STRICT_DRIVERS:
                continue
            for s in catalogue:
                if c in runs[s.name]:
                    out.append(Case(d, c, s.name, s.host, s.resolve))
    return out


CATALOGUE = lm.scenario_catalogue(default_bin(), "tds", TABLE)
SCENARIOS = [s.name for s in CATALOGUE]
CASES = all_cases(CATALOGUE)
CASE_BY_KEY = {c.key: c for c in CASES}


# ---- observations ------------------------------------------------------------------------------

@dataclass
class Observation:
    case: Case
    port: int
    t0: float = 0.0
    t1: float = 0.0
    result: dict | None = None       # the probe's JSON
    describe: str = ""               # probe argv/result/stderr, for messages
    probe_error: str | None = None   # the probe itself failed (bad exit, no JSON, hang)
    records: list[dict] = field(default_factory=list)

    def row(self) -> dict:
        """The observed row, in the table's vocabulary."""
        r = self.result or {}
        row: dict = {"connected": bool(r.get("connected"))}
        if not row["connected"]:
            row["error_code"] = r.get("error_code")
            row["error"] = suggest_error(self.case, r)
            if self.case.probe == "tsql" and r.get("cause"):
                # FreeTDS tells the user only "Adaptive Server connection failed"; the reason
                # is in its TDSDUMP, which the probe copies into `cause`
                row["cause"] = r["cause"].split("; ")[0]
        outcomes = [x["outcome"] for x in self.records]
        alerts = [(x.get("alert") or {}).get("name") for x in self.records]
        row["outcome"] = outcomes[0] if len(outcomes) == 1 else outcomes
        row["alert"] = alerts[0] if len(alerts) == 1 else (alerts if any(alerts) else None)
        modes = [(x.get("client_leg") or {}).get("mode") for x in self.records
                 if x["outcome"].startswith("login-")]
        if modes:  # how the client leg carried the session that logged in
            row["client_mode"] = modes[0] if len(modes) == 1 else modes
        return row

    def sessions_text(self) -> str:
        lines = []
        for x in self.records:
            tls = (x.get("client_leg") or {}).get("tls") or {}
            lines.append(
                f"  #{x['id']} {x['started']} {x['protocol']} prelogin="
                f"{(x.get('client_prelogin') or {}).get('encryption')} "
                f"leg={(x.get('client_leg') or {}).get('mode')} tls={tls.get('version')} "
                f"offered={tls.get('offered_versions')} -> {x['outcome']} "
                f"alert={(x.get('alert') or {}).get('name')} ({x['detail']})")
        return "\n".join(lines) or "  (no session record)"


PORT_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9.\-]*)[:,] ?\d{5}\b")  # host:port (ports >= 20000)


def suggest_error(case: Case, r: dict) -> str | list[str] | None:
    """Short, stable substring(s) of the driver's error for a new row (reviewed by hand):
    no ports, addresses, dates or connection ids."""
    err = r.get("error")
    if err is None:
        return None
    if case.probe in ("odbc", "pyodbc"):
        m = re.search(r"SSL Provider: \[([^\]]*)\]", err)
        if m:
            return m.group(1).split("routines::", 1)[-1]
        m = re.search(r"\[Microsoft\]\[ODBC Driver 18 for SQL Server\]([^(;]*)", err)
        if m:
            return m.group(1).strip()
    if case.probe in ("tedious", "node-mssql"):
        text = r["cause"].split("; ")[0] if r.get("cause") else err.split(" - ", 1)[-1]
        m = re.search(r"SSL routines:(?:[a-z_0-9]*:)?([^:\n]+)", text)
        return m.group(1) if m else text
    if case.probe == "tsql":
        return "Adaptive Server connection failed" if "20002" in err else err.splitlines()[0]
    if case.probe in ("jdbc", "jdbc9", "jdbc10"):
        m = re.search(r"Error: (.*?)(?:\. ClientConnectionId|$)", err, re.S)
        text = (m.group(1) if m else err.splitlines()[0]).split(" ClientConnectionId")[0]
        text = text.strip('"')  # 9.x/10.x quote the JSSE text: Error: "PKIX ...".
        if text.startswith("PKIX path"):
            text = text.split(": ", 1)[0]
        exc = re.search(r"Caused by: java\.security\.cert\.(\w+)", err)
        return [text, exc.group(1)] if exc else text.strip()
    if case.probe == "tiberius-native":
        # native-tls: "... SSL routines:FUNC:REASON:FILE:LINE: (verify string)"
        m = re.search(r"SSL routines:[a-z_0-9]*:([^:\n]+)(?::.*?(\([^)]*\)))?", err)
        if m:
            return [m.group(1), m.group(2)] if m.group(2) else m.group(1)
    if case.probe in ("go", "sqlcmd"):
        m = re.match(r"(.*?): current time \S+ (is after|is before)", err)
        if m:
            return [m.group(1), m.group(2)]
        if " (possibly because of " in err:
            main, why = err.split(" (possibly because of ", 1)
            w = re.search(r"insecure algorithm [\w-]+", why)
            return [main, w.group(0)] if w else main
        if "connection reset by peer" in err:
            return "connection reset by peer"
    # the pieces between host:port mentions (ports change every run), each a substring of
    # the error, all required
    pieces = [p.strip(" ->:,") for p in PORT_RE.split(err.splitlines()[0])[::2]]
    pieces = [p[:160] for p in pieces if len(p) >= 4]
    return pieces[0] if len(pieces) == 1 else (pieces or None)


def error_matches(expected: str | list[str], error: str | None) -> bool:
    subs = [expected] if isinstance(expected, str) else expected
    return all(s in (error or "") for s in subs)


class MatrixRun:
    """Runs cases against one lab (in parallel across scenarios), on demand, once each."""

    def __init__(self, lab: TlslabProcess, ports: dict[str, int], events: EventLog,
                 lab_ca: Path):
        self.lab, self.ports, self.events, self.lab_ca = lab, ports, events, lab_ca
        self.obs: dict[str, Observation] = {}
        self.locks = {s: threading.Lock() for s in ports}  # one probe per scenario at a time
        self.seconds = 0.0
        self.probe_runs = 0

    def run(self, cases: list[Case]) -> None:
        todo = list({c.key: c for c in cases if c.key not in self.obs}.values())
        if not todo:
            return
        by_scenario: dict[str, list[Case]] = {}
        for c in todo:
            by_scenario.setdefault(c.scenario, []).append(c)
        t = time.monotonic()
        new: list[Observation] = []
        with ThreadPoolExecutor(max_workers=max(1, WORKERS)) as pool:
            for obs_list in pool.map(self._run_scenario, longest_first(by_scenario)):
                new.extend(obs_list)
        self._collect(new)
        for o in new:
            self.obs[o.case.key] = o
        self.seconds += time.monotonic() - t
        self.probe_runs += len(new)

    def get(self, case: Case) -> Observation:
        self.run([case])
        return self.obs[case.key]

    def _run_scenario(self, cases: list[Case]) -> list[Observation]:
        out = []
        with self.locks[cases[0].scenario]:
            for c in cases:
                o = Observation(c, self.ports[c.scenario])
                o.t0 = time.time()
                try:
                    res = run_probe(c.probe, host=c.host, port=o.port, timeout=PROBE_TIMEOUT_S,
                                    resolve=c.resolve, **c.options(self.lab_ca))
                    o.result, o.describe = dict(res), res.describe()
                except BaseException as e:  # pytest.fail in run_probe is a BaseException
                    o.probe_error = f"{type(e).__name__}: {e}"
                o.t1 = time.time()
                out.append(o)
        return out

    def _collect(self, new: list[Observation]) -> None:
        """Every probe opened at least one connection: wait (bounded) until each has a
        record, then until the file is quiet, then assign records by start time."""
        def assign(records):
            # `started` is truncated to the millisecond, so a probe's session has
            # t0 - 1 ms < started_ts <= t1. The windows keep a 2 ms slack, and a record inside
            # two of them (a probe that is refused in ~3 ms, e.g. tiberius-rustls, and the next
            # probe started within 2 ms of its session) belongs to the nearer one only.
            for o in new:
                o.records = []
            for r in records:
                ts = r["started_ts"]
                near = [(max(0.0, o.t0 - 0.001 - ts, ts - o.t1), o.t0, o) for o in new
                        if r["scenario"] == o.case.scenario
                        and o.t0 - 0.002 <= ts <= o.t1 + 0.002]
                if near:
                    min(near, key=lambda x: x[:2])[2].records.append(r)
            for o in new:
                o.records.sort(key=lambda r: (r["started_ts"], r["id"]))

        deadline = time.monotonic() + SETTLE_S
        while True:
            records = self.events.records()
            assign(records)
            if all(o.records for o in new) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        # quiet: no new line for 0.5 s (a session ending a moment after the probe exited)
        n, quiet_since = len(records), time.monotonic()
        while time.monotonic() - quiet_since < 0.5 and time.monotonic() < deadline + 2:
            time.sleep(0.1)
            records = self.events.records()
            if len(records) != n:
                n, quiet_since = len(records), time.monotonic()
        assign(records)

    def stray_records(self) -> list[dict]:
        """Records of scenario listeners that belong to no probe run."""
        claimed = {r["id"] for o in self.obs.values() for r in o.records}
        return [r for r in self.events.records() if r["id"] not in claimed]


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    """One `tlslab lab` for the module: (process, {scenario: port}, EventLog)."""
    d = tmp_path_factory.mktemp("lab-matrix")
    events, ports_json = d / "events.jsonl", d / "ports.json"
    n = len(SCENARIOS)
    base = 0

    def lab_args() -> list[str]:
        nonlocal base
        base = free_port_block(n)
        return ["--protocol", "tds", "--base-port", str(base), "--ports-json", str(ports_json),
                "--events", str(events), "--handshake-timeout", "15"]

    proc = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state_dir, listen=None,
                                   log_level="info", ready_timeout=180,
                                   name="tds lab")
    try:
        ports = json.loads(ports_json.read_text())["tds"]
        assert sorted(ports) == sorted(SCENARIOS), (ports, SCENARIOS)
        assert sorted(ports.values()) == list(range(base, base + n)), ports
        yield proc, ports, EventLog(events)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def matrix(request, lab, lab_ca):
    """The MatrixRun; the cases of every selected test of this module are run up front, in
    parallel, at the first use."""
    proc, ports, events = lab
    m = MatrixRun(proc, ports, events, lab_ca)
    wanted = []
    for item in request.session.items:
        if item.module is not request.module:
            continue
        cs = getattr(item, "callspec", None)
        if cs and "case" in cs.params:
            wanted.append(cs.params["case"])
        for key in getattr(item.function, "matrix_cases", ()):
            wanted.append(CASE_BY_KEY[key])
    m.run(wanted)
    yield m
    per: dict[str, list[float]] = {}
    for o in m.obs.values():
        per.setdefault(o.case.driver, []).append(o.t1 - o.t0)
    print(f"\nlab matrix: {m.probe_runs} probe runs in {m.seconds:.1f} s "
          f"({WORKERS} workers); per probe run: "
          + ", ".join(f"{d} {sum(v) / len(v):.2f} s x{len(v)}" for d, v in per.items()))
    if RECORD:
        write_observed(m)


def write_observed(m: MatrixRun) -> None:
    """Generator mode: merge the observed rows into the table, keeping reviewed substrings and
    notes that still hold; warn with the rows that changed."""
    table = load_table()
    old = table.get("cases", {})
    rows, changed = dict(old), []
    for key, o in m.obs.items():
        if o.probe_error:
            changed.append(f"{key}: probe failed, row not written: {o.probe_error[:200]}")
            continue
        row = o.row()
        prev = old.get(key, {})
        err = (o.result or {}).get("error") or ""
        if prev.get("error") and not row["connected"] and error_matches(prev["error"], err):
            row["error"] = prev["error"]
        cause = (o.result or {}).get("cause") or ""
        if prev.get("cause") and "cause" in row and error_matches(prev["cause"], cause):
            row["cause"] = prev["cause"]
        if prev.get("note"):
            row["note"] = prev["note"]
        if isinstance(prev.get("outcome"), dict) and lm.outcome_matches(prev["outcome"],
                                                                         row["outcome"]):
            row["outcome"], row["alert"] = prev["outcome"], prev.get("alert")
        if {k: v for k, v in prev.items() if k != "note"} != \
                {k: v for k, v in row.items() if k != "note"}:
            changed.append(f"{key}: {json.dumps(prev)} -> {json.dumps(row)}")
        rows[key] = row
    order = {c.key: i for i, c in enumerate(CASES)}
    table["cases"] = dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], 1 << 30)))
    dump_table(table)
    if changed:
        warnings.warn("TLSLAB_MATRIX_RECORD: rows written to " + str(TABLE) + " changed:\n"
                      + "\n".join(changed))


def dump_table(table: dict) -> None:
    """JSON with one line per case, so a review diff shows one row per changed case."""
    head = {k: v for k, v in table.items() if k != "cases"}
    parts = ["{"]
    for k, v in head.items():
        parts.append(f"  {json.dumps(k)}: {json.dumps(v, indent=None)},")
    parts.append('  "cases": {')
    items = list(table["cases"].items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        parts.append(f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
    parts.append("  }")
    parts.append("}")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\n".join(parts) + "\n")


# ---- the comparison ----------------------------------------------------------------------------

def compare(expected: dict, o: Observation) -> list[tuple[str, object, object]]:
    """[(field, expected, observed)] for every field that does not match."""
    r = o.result or {}
    got = o.row()
    diffs = []
    if expected.get("connected") != got["connected"]:
        diffs.append(("connected", expected.get("connected"), got["connected"]))
    if got["connected"] and r.get("value") != 1:
        diffs.append(("value", 1, r.get("value")))
    if not expected.get("connected"):
        if "error_code" in expected and expected["error_code"] != r.get("error_code"):
            diffs.append(("error_code", expected["error_code"], r.get("error_code")))
        sub = expected.get("error")
        if sub is not None and not error_matches(sub, r.get("error")):
            diffs.append(("error (substring)", sub, r.get("error")))
        sub = expected.get("cause")
        if sub is not None and not error_matches(sub, r.get("cause")):
            diffs.append(("cause (substring)", sub, r.get("cause")))
    if not lm.outcome_matches(expected.get("outcome"), got.get("outcome")):
        diffs.append(("outcome", expected.get("outcome"), got.get("outcome")))
    for f in ("alert", "client_mode"):
        if expected.get(f) != got.get(f):
            diffs.append((f, expected.get(f), got.get(f)))
    return diffs


def diff_text(case: Case, expected: dict | None, o: Observation,
              diffs: list[tuple[str, object, object]]) -> str:
    w = max([len(f) for f, _, _ in diffs] + [5])
    lines = [f"{case.key} does not match {TABLE.name}:",
             f"  {'field':<{w}}  expected -> observed"]
    for f, e, g in diffs:
        lines.append(f"  {f:<{w}}  {json.dumps(e)} -> {json.dumps(g)}")
    lines += [f"row:      {json.dumps(expected)}", f"observed: {json.dumps(o.row())}",
              "sessions of this probe run:", o.sessions_text(), o.describe]
    return "\n".join(lines)


def driver_mark(driver: str):
    mark = MARKS.get(DRIVERS[driver][0])
    return [getattr(pytest.mark, mark)] if mark else []


# ---- the compact matrix for README.md ------------------------------------------------------------

SYMBOLS = {"alert": "a", "closed-after-handshake": "h", "closed-during-handshake": "d",
           "closed-before-tls": "b", "upstream-failed": "u", "protocol-error": "p",
           "login-encrypted": "l", "login-plaintext": "c"}
SHORT = {"tedious19": "td19", "tedious14": "td14", "odbc": "odbc", "jdbc": "jdbc", "go": "go",
         "tsql": "tsql", "sqlcmd": "sqlcmd", "tiberius-rustls": "tib-rustls",
         "tiberius-native": "tib-native", "jdbc9": "jdbc9", "jdbc10": "jdbc10",
         "pyodbc": "pyodbc", "node-mssql": "node-mssql"}
# README.md shows two tables: the first six drivers, then the seven added later
TABLES = (("tedious19", "tedious14", "odbc", "jdbc", "go", "tsql"),
          ("sqlcmd", "tiberius-rustls", "tiberius-native", "jdbc9", "jdbc10", "pyodbc",
           "node-mssql"))
SHORT_CONFIG = {"defaults": "def", "lab-ca": "ca", "trust": "trust", "strict": "strict"}


def cell(row: dict | None) -> str:
    """✔ full TLS login, ◐ login-only, ⚠ plaintext login (the worst of several sessions);
    ✘ + how the client left (l/c: after the proxy read its LOGIN7 through TLS / in clear)."""
    if row is None:
        return "?"
    if row["connected"]:
        mode = row.get("client_mode")
        modes = mode if isinstance(mode, list) else [mode]
        return "⚠" if "none" in modes else "◐" if "login-only" in modes else "✔"
    out = lm.row_outcomes(row)[-1]
    return "✘" + SYMBOLS.get(out, "?")


def markdown_matrix(table: dict, drivers=tuple(DRIVERS)) -> str:
    """`python test_lab_matrix.py` prints this (once per TABLES entry): scenarios x
    driver/config, from the table."""
    cases = table["cases"]
    cols = [(d, c) for d in drivers for c in CONFIGS if c != "strict" or d in STRICT_DRIVERS]
    head = "| scenario | " + " | ".join(f"{SHORT[d]} {SHORT_CONFIG[c]}" for d, c in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for s in SCENARIOS:  # · : the scenario does not run in that config (configs_for)
        lines.append(f"| {s} | " + " | ".join(
            cell(cases.get(f"{d}/{c}/{s}")) if f"{d}/{c}/{s}" in CASE_BY_KEY else "·"
            for d, c in cols) + " |")
    return "\n".join(lines)


# ---- tests ---------------------------------------------------------------------------------------

pytestmark = pytest.mark.timeout(900)  # the first test carries the whole parallel run


@pytest.mark.parametrize("case", [pytest.param(c, id=c.key, marks=driver_mark(c.driver))
                                  for c in CASES])
def test_case(matrix, case: Case):
    o = matrix.get(case)
    assert o.probe_error is None, f"{case.key}: the probe run failed: {o.probe_error}"
    for x in o.records:
        assert x["outcome"] in lm.OUTCOMES, f"unknown outcome {x['outcome']!r}\n{o.sessions_text()}"
        assert x["scenario"] == case.scenario
    if RECORD:
        return  # the fixture rewrites the row at the end of the module
    expected = load_table()["cases"].get(case.key)
    assert expected is not None, (
        f"{case.key}: no row in {TABLE} (observed {json.dumps(o.row())}); generate it with "
        f"TLSLAB_MATRIX_RECORD=1 and review it")
    diffs = compare(expected, o)
    assert not diffs, diff_text(case, expected, o, diffs)


def test_table_covers_the_catalogue():
    """Exactly one row per driver/config/scenario of the current catalogue."""
    if RECORD:
        pytest.skip("generator mode: the table is rewritten at the end of the module")
    keys = set(load_table()["cases"])
    want = {c.key for c in CASES}
    assert len(SCENARIOS) >= 16, SCENARIOS
    assert not want - keys, f"rows missing for: {sorted(want - keys)}"
    assert not keys - want, f"rows for no case (scenario removed or renamed?): {sorted(keys - want)}"
    lm.check_row_shapes(load_table()["cases"])


UPGRADE_SCENARIOS = ("self-signed", "expired", "wrong-host")


def _upgrade_cases():
    return [f"{d}/defaults/{s}" for s in UPGRADE_SCENARIOS for d in ("tedious14", "tedious19")]


@pytest.mark.tedious
@pytest.mark.parametrize("scenario", UPGRADE_SCENARIOS)
def test_driver_upgrade_tedious14_connects_tedious19_refuses(matrix, scenario):
    """The upgrade story: the same application code, no TLS options at all. tedious 14.x
    (trustServerCertificate silently true by default in 11.0.9-14.x) logs in through a
    self-signed, expired or wrong-host certificate with TLS on; tedious 19 refuses it."""
    old = matrix.get(CASE_BY_KEY[f"tedious14/defaults/{scenario}"])
    new = matrix.get(CASE_BY_KEY[f"tedious19/defaults/{scenario}"])
    assert old.result and old.result["version"].startswith("14."), old.describe
    assert new.result and new.result["version"].startswith("19."), new.describe
    assert old.result["connected"] is True and old.result["value"] == 1, old.describe
    assert [x["outcome"] for x in old.records] == ["login-encrypted"], old.sessions_text()
    assert old.records[0]["client_leg"]["mode"] == "full", old.sessions_text()
    assert new.result["connected"] is False, new.describe
    assert new.result["error_code"] == "ESOCKET", new.describe
    assert new.records and all(not x["outcome"].startswith("login-") for x in new.records), (
        new.sessions_text())


test_driver_upgrade_tedious14_connects_tedious19_refuses.matrix_cases = _upgrade_cases()


@pytest.mark.jdbc
@pytest.mark.parametrize("scenario", UPGRADE_SCENARIOS)
def test_driver_upgrade_jdbc9_connects_jdbc10_refuses(matrix, scenario):
    """The same story for mssql-jdbc: no TLS options at all. 9.4 (encrypt=false by default)
    logs in through a self-signed, expired or wrong-host certificate: PRELOGIN ENCRYPT_OFF,
    TLS for LOGIN7 only, the certificate not validated. 10.2 (encrypt=true by default, the
    JVM's truststore) refuses it before any login."""
    old = matrix.get(CASE_BY_KEY[f"jdbc9/defaults/{scenario}"])
    new = matrix.get(CASE_BY_KEY[f"jdbc10/defaults/{scenario}"])
    assert old.result and old.result["version"].startswith("9.4."), old.describe
    assert new.result and new.result["version"].startswith("10.2."), new.describe
    assert old.result["connected"] is True and old.result["value"] == 1, old.describe
    assert [x["outcome"] for x in old.records] == ["login-encrypted"], old.sessions_text()
    assert old.records[0]["client_leg"]["mode"] == "login-only", old.sessions_text()
    assert old.records[0]["client_prelogin"]["encryption"] == "OFF", old.sessions_text()
    assert new.result["connected"] is False, new.describe
    assert new.result["error_code"] == "08S01", new.describe
    assert "PKIX path building failed" in (new.result["error"] or ""), new.describe
    assert new.records and all(not x["outcome"].startswith("login-") for x in new.records), (
        new.sessions_text())


test_driver_upgrade_jdbc9_connects_jdbc10_refuses.matrix_cases = [
    f"{d}/defaults/{s}" for s in UPGRADE_SCENARIOS for d in ("jdbc9", "jdbc10")]


def test_lab_exits_when_a_scenario_port_is_taken(tlslab_bin, state_dir, tmp_path):
    """A taken port is a startup error: `tlslab lab` says which scenario and port, and exits
    non-zero (as `tlslab serve` does), instead of living on without its listeners.

    The block comes from below the ephemeral range (free_port_block) and the test blocks its
    third port. Another program can still take one of the two ports before it in between;
    then the lab names that port instead, and the test tries a new block."""
    for _attempt in range(5):
        base = free_port_block(3)
        taken = base + 2
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            try:
                blocker.bind(("127.0.0.1", taken))
            except OSError:
                continue
            blocker.listen(1)
            argv = [str(tlslab_bin), "--state-dir", str(state_dir), "lab", "--protocol", "tds",
                    "--base-port", str(base), "--ports-json", str(tmp_path / "ports.json")]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
            try:
                _out, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
                pytest.fail(f"`tlslab lab` printed {err.strip()!r} but was still running 20 s "
                            f"later (killed); argv: {argv}")
            assert proc.returncode not in (0, None), err
            assert "address already in use" in err, err
            assert not (tmp_path / "ports.json").exists(), "ports-json written for a failed lab"
            if f"127.0.0.1:{taken}" in err:
                return
            assert any(f"127.0.0.1:{p}" in err for p in (base, base + 1)), err
        finally:
            blocker.close()
    pytest.fail("another program took a port of every block tried before the blocked one")


def test_no_stray_sessions(matrix):
    """Every session the lab recorded belongs to one probe run (runs last in the module)."""
    stray = matrix.stray_records()
    assert not stray, "sessions outside every probe run:\n" + "\n".join(
        f"  {r['scenario']} #{r['id']} {r['started']} -> {r['outcome']} ({r['detail']})"
        for r in stray)


if __name__ == "__main__":
    print("\n\n".join(markdown_matrix(load_table(), ds) for ds in TABLES))
