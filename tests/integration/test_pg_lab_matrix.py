"""`tlslab lab --protocol postgres` x the PostgreSQL probes: every PostgreSQL scenario, every
driver, up to six configs.

One `tlslab lab --protocol postgres` per module (the PostgreSQL 16 stand-in in-process: ssl off,
scram-sha-256, user lab / lab-password, database lab; one proxy listener per scenario on
consecutive ports from a base found free at run time, --events into a temp file). Each case runs
one probe (tests/drivers/<probe>, the PostgreSQL contract of tests/drivers/README.md) against one
scenario's listener; the proxy's records of that listener that *started* while the probe ran are
the case's sessions (libpq's `prefer` opens two when its TLS attempt fails). Probes of one
scenario run one after the other; scenarios run in parallel on a small thread pool
(TLSLAB_PG_MATRIX_WORKERS, default 4).

Each case is compared with its row in expectations/pg_lab_matrix.json (the reviewed truth):
`connected`; for a login, `ssl` (the driver's own view of its connection); where the driver
failed, `error_code` and `error` substring(s); the proxy's `outcome` and `alert` of the case's
session(s). See tests/integration/README.md, "The lab matrix" (this is its PostgreSQL twin).

Generator mode: `TLSLAB_PG_MATRIX_RECORD=1 pytest test_pg_lab_matrix.py [-k ...]` runs the
selected cases and rewrites their rows from what was observed (each `note`, and each reviewed
`error` substring that still matches, is kept); the changed rows are listed as a warning.
Review every changed row before committing it: a row is what the real driver does, checked
against shared/docs/drivers.md (/work/shared/docs, outside the repository, §2B, §3, §4.4,
§4.5) and against what a validating client should do (a `note` says where it does not, or where
drivers.md disagrees).

702 cases (18 scenarios x 39 driver/configs); the module takes 2-3 min on the 2-core machine
(`pg lab matrix: N probe runs in S s` with -s). Only the cases of the selected tests are probed
(`-k "pgx/direct"`). `python test_pg_lab_matrix.py` prints the compact table (scenarios x
driver/config) from the expectations. No pytest markers: pytest.ini (--strict-markers) has none
for these drivers; select with -k.

Configs (host `localhost`, except `127.0.0.1` for ip-mismatch; --timeout 5), each only for the
drivers that have the option:
  verify-full  --ca <lab CA> --encrypt verify-full                       all seven
  require      --encrypt require, no CA                                  all seven
  prefer       --encrypt prefer, no CA                                   all seven
  defaults     nothing: the driver's own defaults (libpq, asyncpg, pgjdbc, pgx: prefer;
               node-pg: no TLS at all)                                    all seven
  cb-require   --encrypt require --channel-binding require               psql, psycopg2,
               (asyncpg has no channel binding; node-pg cannot require   psycopg3, pgjdbc, pgx
               it: both probes answer UNSUPPORTED_OPTION)
  direct       --ssl-negotiation direct --encrypt verify-full --ca <lab  psycopg2 (libpq 17),
               CA> (direct TLS, ALPN postgresql)                          psycopg3 (libpq 18),
               (psql's libpq 15 has no sslnegotiation keyword)           asyncpg (direct_tls),
                                                                          node-pg 8.23, pgjdbc
                                                                          42.7, pgx 5.12
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import EventLog, TlslabProcess, default_bin, free_port_block, run_probe

HERE = Path(__file__).resolve().parent
TABLE = HERE / "expectations" / "pg_lab_matrix.json"
RECORD = os.environ.get("TLSLAB_PG_MATRIX_RECORD", "") not in ("", "0")
WORKERS = int(os.environ.get("TLSLAB_PG_MATRIX_WORKERS", "4"))
PROBE_TIMEOUT_S = 5
SETTLE_S = 10.0  # after a batch of probes: bound for their session record(s) to be written

OUTCOMES = {"login-encrypted", "login-plaintext", "alert", "closed-after-handshake",
            "closed-during-handshake", "closed-before-tls", "upstream-failed", "protocol-error"}

# table name = probe name (tests/drivers/<name>/probe)
DRIVERS = ("psql", "psycopg2", "psycopg3", "asyncpg", "node-pg", "pgjdbc", "pgx")
CONFIGS = ("verify-full", "require", "prefer", "defaults", "cb-require", "direct")
# which drivers have the option a config needs (the others are not run in that config)
CONFIG_DRIVERS = {
    "verify-full": DRIVERS,
    "require": DRIVERS,
    "prefer": DRIVERS,
    "defaults": DRIVERS,
    # asyncpg has no channel binding at all, node-pg only enableChannelBinding true/false
    "cb-require": ("psql", "psycopg2", "psycopg3", "pgjdbc", "pgx"),
    # psql is libpq 15: `invalid connection option "sslnegotiation"`
    "direct": ("psycopg2", "psycopg3", "asyncpg", "node-pg", "pgjdbc", "pgx"),
}
LIBPQ = ("psql", "psycopg2", "psycopg3")
# Passthrough relays the bytes without reading them: its records say protocol `unknown` (no
# SSLRequest, no login read; the outcome is how the relay ended, closed-before-tls also for a
# plaintext login that went through), so the per-case checks of protocol and login do not apply
# there; test_passthrough_records_no_tds_protocol checks what it does say.
UNREAD = ("passthrough",)


def scenario_names() -> list[str]:
    """The PostgreSQL part of the catalogue, from the binary (`tlslab scenarios --json`); the
    table's scenarios if the binary cannot be run at collection time (the coverage test then
    fails loudly)."""
    try:
        cp = subprocess.run([str(default_bin()), "scenarios", "--json"], capture_output=True,
                            text=True, timeout=30)
        if cp.returncode == 0:
            return [s["name"] for s in json.loads(cp.stdout) if "postgres" in s["protocols"]]
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    names: list[str] = []
    for key in load_table().get("cases", {}):
        s = key.split("/", 2)[2]
        if s not in names:
            names.append(s)
    return names


def load_table() -> dict:
    try:
        return json.loads(TABLE.read_text())
    except FileNotFoundError:
        return {"cases": {}}


# ---- cases ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    driver: str    # = the probe's name
    config: str
    scenario: str

    @property
    def key(self) -> str:
        return f"{self.driver}/{self.config}/{self.scenario}"

    @property
    def host(self) -> str:
        return "127.0.0.1" if self.scenario == "ip-mismatch" else "localhost"

    def options(self, lab_ca: Path) -> dict:
        if self.config == "verify-full":
            return {"ca": lab_ca, "encrypt": "verify-full"}
        if self.config in ("require", "prefer"):
            return {"encrypt": self.config}
        if self.config == "cb-require":
            return {"encrypt": "require", "channel_binding": "require"}
        if self.config == "direct":
            return {"ca": lab_ca, "encrypt": "verify-full", "ssl_negotiation": "direct"}
        return {}  # defaults


def all_cases(scenarios: list[str]) -> list[Case]:
    return [Case(d, c, s) for d in DRIVERS for c in CONFIGS if d in CONFIG_DRIVERS[c]
            for s in scenarios]


SCENARIOS = scenario_names()
CASES = all_cases(SCENARIOS)
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
        if row["connected"]:
            row["ssl"] = r.get("ssl")
        else:
            row["error_code"] = r.get("error_code")
            row["error"] = suggest_error(self.case, r)
        outcomes = [x["outcome"] for x in self.records]
        alerts = [(x.get("alert") or {}).get("name") for x in self.records]
        row["outcome"] = outcomes[0] if len(outcomes) == 1 else outcomes
        row["alert"] = alerts[0] if len(alerts) == 1 else (alerts if any(alerts) else None)
        return row

    def sessions_text(self) -> str:
        lines = []
        for x in self.records:
            pg = x.get("postgres") or {}
            tls = (x.get("client_leg") or {}).get("tls") or {}
            login = x.get("login") or {}
            lines.append(
                f"  #{x['id']} {x['started']} {x['protocol']} {pg.get('negotiation')!r} "
                f"leg={(x.get('client_leg') or {}).get('mode')} tls={tls.get('version')} "
                f"alpn={tls.get('alpn')} user={login.get('user_name')!r} "
                f"auth={pg.get('auth_method')!r} cb={pg.get('channel_binding')!r} "
                f"-> {x['outcome']} alert={(x.get('alert') or {}).get('name')} "
                f"({x['detail']})")
        return "\n".join(lines) or "  (no session record)"


PORT_RE = re.compile(r"(?:localhost|127\.0\.0\.1)[:,]\d+")
LIBPQ_REASON_RE = re.compile(r"port \d+ failed: (.*)")
HOST_NAME_RE = re.compile(r'(server certificate for "[^"]*")(?: \(and \d+ other names?\))? '
                          r'(does not match host name "[^"]*")')


def suggest_error(case: Case, r: dict) -> str | list[str] | None:
    """Short, stable substring(s) of the driver's error for a new row (reviewed by hand):
    no ports, addresses or counts that depend on the machine."""
    err = r.get("error")
    if err is None:
        return None
    if case.driver in LIBPQ:
        # one line per attempt: `connection to server at ... port P failed: REASON`
        reasons: list[str] = []
        for line in err.splitlines():
            m = LIBPQ_REASON_RE.search(line)
            if m and m.group(1) not in reasons:
                reasons.append(m.group(1))
        if reasons:
            out: list[str] = []
            for reason in reasons:
                m = HOST_NAME_RE.search(reason)
                # "(and 2 other names)": the count depends on the machine's host name
                out += [m.group(1), m.group(2)] if m else [reason]
            return out[0] if len(out) == 1 else out
    if case.driver == "asyncpg":
        text = re.sub(r" \(_ssl\.c:\d+\)", "", err.splitlines()[0])
        return without_port(text)[:200]
    if case.driver == "node-pg":
        # "write EPROTO 80BC...0000:error:0A000102:SSL routines:FUNC:REASON:FILE:LINE:"
        m = re.search(r"SSL routines:(?:[a-z_0-9]*:)?([^:\n]+)", err)
        return m.group(1) if m else without_port(err.splitlines()[0])[:200]
    if case.driver == "pgjdbc":
        text = err.splitlines()[0]
        exc = re.search(r"Caused by: java\.security\.cert\.(\w+)", err)
        if text.startswith("SSL error: PKIX path"):
            # the rest names dates (NotAfter: ...) or repeats the class of the cause
            text = text.split(": ", 2)[0] + ": " + text.split(": ", 2)[1]
        text = without_port(text)[:200]
        return [text, exc.group(1)] if exc else text
    if case.driver == "pgx":
        m = re.match(r"failed to connect to `[^`]*`: \S+ \([^)]*\): (.*)", err, re.S)
        text = without_port((m.group(1) if m else err).splitlines()[0])
        # crypto/x509: "...: current time 2026-...Z is after 2026-...Z" (dates change)
        m = re.match(r"(.*?): current time \S+ (is after|is before)", text)
        if m:
            return [m.group(1), m.group(2)]
        if " (possibly because of " in text:
            main, why = text.split(" (possibly because of ", 1)
            w = re.search(r"insecure algorithm [\w-]+", why)
            return [main, w.group(0)] if w else main
        return text[:200]
    return without_port(err.splitlines()[0])[:200]


def without_port(text: str) -> str:
    """The longest piece of text between host:port mentions (ports change every run)."""
    return max(PORT_RE.split(text), key=len).strip()


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
            for obs_list in pool.map(self._run_scenario, by_scenario.values()):
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
                    res = run_probe(c.driver, host=c.host, port=o.port, timeout=PROBE_TIMEOUT_S,
                                    **c.options(self.lab_ca))
                    o.result, o.describe = dict(res), res.describe()
                except BaseException as e:  # pytest.fail in run_probe is a BaseException
                    o.probe_error = f"{type(e).__name__}: {e}"
                o.t1 = time.time()
                out.append(o)
        return out

    def _collect(self, new: list[Observation]) -> None:
        """Wait (bounded) until each probe run that reached the lab has a record, then until
        the file is quiet, then assign records by start time. A probe refused before it
        connects (UNSUPPORTED_OPTION, a usage error of its driver) opens no session."""
        def assign(records):
            # `started` is truncated to the millisecond, so a probe's session has
            # t0 - 1 ms < started_ts <= t1; a record inside two windows (2 ms slack) belongs
            # to the nearer one only.
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

        def expects_session(o: Observation) -> bool:
            return not (o.result or {}).get("unsupported") and not o.probe_error

        deadline = time.monotonic() + SETTLE_S
        while True:
            records = self.events.records()
            assign(records)
            if all(o.records for o in new if expects_session(o)) \
                    or time.monotonic() > deadline:
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

def start_pg_lab(tlslab_bin, state_dir, d: Path, scenarios: list[str]):
    """`tlslab lab --protocol postgres` on a free block of ports (up to 3 tries if another
    program takes one of them): (process, {scenario: port}, EventLog, ports.json path)."""
    events, ports_json = d / "events.jsonl", d / "ports.json"
    n = len(scenarios)
    last = None
    for _ in range(3):  # the block was free when checked; another program may take a port
        base = free_port_block(n)
        try:
            proc = TlslabProcess.start(
                tlslab_bin, "lab", "--protocol", "postgres", "--postgres-base-port", str(base),
                "--ports-json", str(ports_json), "--events", str(events),
                "--handshake-timeout", "15",
                state_dir=state_dir, listen=None, log_level="info", ready_timeout=60,
                name=f"pg lab {base}", fail_pattern=r"cannot listen on")
            break
        except AssertionError as e:
            last = e
            if "address already in use" not in str(e):
                raise
    else:
        raise last  # type: ignore[misc]
    try:
        ports = json.loads(ports_json.read_text())["postgres"]
        assert sorted(ports) == sorted(scenarios), (ports, scenarios)
        assert sorted(ports.values()) == list(range(base, base + n)), ports
    except BaseException:
        proc.stop()
        raise
    return proc, ports, EventLog(events), ports_json


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    """One `tlslab lab --protocol postgres` for the module: (process, {scenario: port},
    EventLog)."""
    proc, ports, events, _ = start_pg_lab(tlslab_bin, state_dir,
                                          tmp_path_factory.mktemp("pg-lab-matrix"), SCENARIOS)
    try:
        yield proc, ports, events
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
    print(f"\npg lab matrix: {m.probe_runs} probe runs in {m.seconds:.1f} s "
          f"({WORKERS} workers)")
    if RECORD:
        write_observed(m)


def write_observed(m: MatrixRun) -> None:
    """Generator mode: merge the observed rows into the table, keeping reviewed substrings and
    notes that still hold; warn with the rows that changed."""
    table = load_table()
    table.setdefault("_about", ABOUT)
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
        if prev.get("note"):
            row["note"] = prev["note"]
        if {k: v for k, v in prev.items() if k != "note"} != \
                {k: v for k, v in row.items() if k != "note"}:
            changed.append(f"{key}: {json.dumps(prev)} -> {json.dumps(row)}")
        rows[key] = row
    order = {c.key: i for i, c in enumerate(CASES)}
    table["cases"] = dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], 1 << 30)))
    dump_table(table)
    if changed:
        warnings.warn("TLSLAB_PG_MATRIX_RECORD: rows written to " + str(TABLE) + " changed:\n"
                      + "\n".join(changed))


ABOUT = ("Reviewed expectations of test_pg_lab_matrix.py: one row per driver/config/scenario. "
         "connected; for a login, ssl (the driver's own view); where it failed, error_code and "
         "error (a substring, or a list of substrings that must all appear); the proxy's "
         "outcome (a list when the driver opened several sessions) and alert (the TLS alert the "
         "client sent, by name). note: why the row is what it is, where it is not obvious. "
         "Regenerate with TLSLAB_PG_MATRIX_RECORD=1 (keeps notes and still-matching error "
         "substrings), then review the diff against shared/docs/drivers.md (outside this "
         "repository).")


def dump_table(table: dict) -> None:
    """JSON with one line per case, so a review diff shows one row per changed case."""
    head = {k: v for k, v in table.items() if k != "cases"}
    parts = ["{"]
    for k, v in head.items():
        parts.append(f"  {json.dumps(k)}: {json.dumps(v, indent=None, ensure_ascii=False)},")
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
    if got["connected"]:
        if r.get("value") != 1:
            diffs.append(("value", 1, r.get("value")))
        if expected.get("connected") and expected.get("ssl") != got.get("ssl"):
            diffs.append(("ssl", expected.get("ssl"), got.get("ssl")))
    if not expected.get("connected"):
        if "error_code" in expected and expected["error_code"] != r.get("error_code"):
            diffs.append(("error_code", expected["error_code"], r.get("error_code")))
        sub = expected.get("error")
        if sub is not None and not error_matches(sub, r.get("error")):
            diffs.append(("error (substring)", sub, r.get("error")))
    for f in ("outcome", "alert"):
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


# ---- the compact matrix (python test_pg_lab_matrix.py) -----------------------------------------

SYMBOLS = {"alert": "a", "closed-after-handshake": "h", "closed-during-handshake": "d",
           "closed-before-tls": "b", "upstream-failed": "u", "protocol-error": "p",
           "login-encrypted": "l", "login-plaintext": "c"}
SHORT_CONFIG = {"verify-full": "vf", "require": "req", "prefer": "pref", "defaults": "def",
                "cb-require": "cb", "direct": "dir"}


def cell(row: dict | None) -> str:
    """✔ logged in over TLS, ⚠ logged in in plaintext (any session), ✘ + how the last session
    ended (a alert, h handshake then close, d closed in the handshake, b before TLS, p the
    lab's TLS failed, l/c the proxy read the login over TLS / in clear, then the client
    failed), – not run (the driver has no such option)."""
    if row is None:
        return "?"
    outs = row["outcome"] if isinstance(row["outcome"], list) else [row["outcome"]]
    if row["connected"]:
        return "⚠" if "login-plaintext" in outs or row.get("ssl") is False else "✔"
    if not outs:
        return "–"
    return "✘" + SYMBOLS.get(outs[-1], "?")


def markdown_matrix(table: dict) -> str:
    cases = table["cases"]
    cols = [(d, c) for d in DRIVERS for c in CONFIGS if d in CONFIG_DRIVERS[c]]
    head = "| scenario | " + " | ".join(f"{d} {SHORT_CONFIG[c]}" for d, c in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for s in SCENARIOS:
        lines.append(f"| {s} | " + " | ".join(cell(cases.get(f"{d}/{c}/{s}")) for d, c in cols)
                     + " |")
    return "\n".join(lines)


# ---- tests ---------------------------------------------------------------------------------------

pytestmark = pytest.mark.timeout(900)  # the first test carries the whole parallel run


@pytest.mark.parametrize("case", [pytest.param(c, id=c.key) for c in CASES])
def test_case(matrix, case: Case):
    o = matrix.get(case)
    assert o.probe_error is None, f"{case.key}: the probe run failed: {o.probe_error}"
    for x in o.records:
        assert x["outcome"] in OUTCOMES, f"unknown outcome {x['outcome']!r}\n{o.sessions_text()}"
        assert x["scenario"] == case.scenario
        if case.scenario not in UNREAD:
            assert x["protocol"] == "postgres", o.sessions_text()
    r = o.result or {}
    if r.get("connected") and case.scenario not in UNREAD:
        # the driver's own view and the proxy's must agree on TLS
        logins = [x for x in o.records if x["outcome"].startswith("login-")]
        assert logins, f"connected, but the proxy saw no login\n{o.sessions_text()}"
        want = "login-encrypted" if r.get("ssl") else "login-plaintext"
        assert logins[-1]["outcome"] == want, f"ssl={r.get('ssl')}\n{o.sessions_text()}"
    if RECORD:
        return  # the fixture rewrites the row at the end of the module
    expected = load_table()["cases"].get(case.key)
    assert expected is not None, (
        f"{case.key}: no row in {TABLE} (observed {json.dumps(o.row())}); generate it with "
        f"TLSLAB_PG_MATRIX_RECORD=1 and review it")
    diffs = compare(expected, o)
    assert not diffs, diff_text(case, expected, o, diffs)


def test_table_covers_the_catalogue():
    """Exactly one row per driver/config/scenario of the current PostgreSQL catalogue."""
    if RECORD:
        pytest.skip("generator mode: the table is rewritten at the end of the module")
    table = load_table()["cases"]
    keys = set(table)
    want = {c.key for c in CASES}
    assert len(SCENARIOS) >= 17, SCENARIOS
    assert not want - keys, f"rows missing for: {sorted(want - keys)}"
    assert not keys - want, (
        f"rows for no case (scenario removed or renamed?): {sorted(keys - want)}")
    for key, row in table.items():
        outcomes = row["outcome"] if isinstance(row["outcome"], list) else [row["outcome"]]
        assert set(outcomes) <= OUTCOMES, f"{key}: {row}"
        assert row["connected"] or row.get("error") or row.get("error_code"), (
            f"{key}: a failed row needs an error substring or error_code")


def test_passthrough_records_no_tds_protocol(matrix):
    """A PostgreSQL listener's passthrough records say `postgres`, never a TDS protocol, also
    for a direct-TLS client (sslnegotiation=direct, its first bytes a ClientHello)."""
    runs = [matrix.get(CASE_BY_KEY[k]) for k in PASSTHROUGH_CASES]
    assert any(o.records for o in runs), "no passthrough session recorded at all"
    wrong = [(o.case.key, x["id"], x["protocol"]) for o in runs for x in o.records
             if x["protocol"] != "postgres"]
    assert not wrong, f"passthrough records of the postgres listener with a TDS protocol: {wrong}"


PASSTHROUGH_CASES = [c.key for c in CASES if c.scenario == "passthrough"]
test_passthrough_records_no_tds_protocol.matrix_cases = PASSTHROUGH_CASES


def test_no_stray_sessions(matrix):
    """Every session the lab recorded belongs to one probe run (runs last in the module)."""
    stray = matrix.stray_records()
    assert not stray, "sessions outside every probe run:\n" + "\n".join(
        f"  {r['scenario']} #{r['id']} {r['started']} -> {r['outcome']} ({r['detail']})"
        for r in stray)


if __name__ == "__main__":
    print(markdown_matrix(load_table()))
