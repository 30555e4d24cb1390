"""The machinery of the per-protocol lab matrices (test_pg_lab_matrix.py,
test_mysql_lab_matrix.py): cases of driver x config x scenario run against one `tlslab lab
--protocol P`, the proxy's records matched to each probe run, the reviewed expectation table
(one JSON row per case), its generator mode, and the compact table.

A protocol's module describes itself with a MatrixSpec (its drivers, configs, how a config
turns into probe options, how a driver's error becomes a stable substring, how a session is
described); everything else is here, once.

Probes of one scenario run one after the other; scenarios run in parallel on a small thread
pool (`workers`). The records of a scenario's listener that *started* while a probe ran are
that probe run's sessions (a client may open several: libpq's `prefer`, a PREFERRED MySQL
client's retry).

A case dials what its scenario says (`tlslab scenarios --json`: dial name -> localhost, ip ->
127.0.0.1, host -> dial_host), and the names of the scenario's `resolve` list resolve to
127.0.0.1 in the probe's private /etc/hosts (harness.run_probe(resolve=...)).

Which configs a scenario runs in is data (CI time is bounded): see configs_for.
Also used by test_lab_matrix.py (TDS), which keeps its own machinery otherwise.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import EventLog, free_port_block, run_probe, start_lab_on_free_ports

SETTLE_S = 10.0  # after a batch of probes: bound for their session record(s) to be written

OUTCOMES = {"login-encrypted", "login-plaintext", "alert", "closed-after-handshake",
            "closed-during-handshake", "closed-before-tls", "upstream-failed", "protocol-error",
            "aborted-after-ok"}

PORT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*[:,] ?\d{5}\b")  # host:port (ports >= 20000)


def without_port(text: str) -> str:
    """The longest piece of text between host:port mentions (ports change every run)."""
    return max(PORT_RE.split(text), key=len).strip()


def error_matches(expected: str | list[str], error: str | None) -> bool:
    subs = [expected] if isinstance(expected, str) else expected
    return all(s in (error or "") for s in subs)


# ---- the catalogue and which configs a scenario runs in ----------------------------------------

# The catalogue before issue 11 (files 01-24): those scenarios run in every config of every
# driver. Scenarios numbered above it run only in each driver's validating config (role
# "validate") plus the roles listed for them here: the whole scripts/test must stay under 30
# minutes, and a new scenario's question is what a validating client does.
FIRST_CATALOGUE_LAST = 24
EXTRA_ROLES: dict[str, tuple[str, ...]] = {
    # does the driver take SQL Server's own certificate when told to trust any certificate?
    # (Go 1.23+ refuses the negative serial even then)
    "sql-fallback-cert": ("trust",),
    "sql-fallback-negative-serial": ("trust",),
    # TDS 8.0 against a server of one TLS version
    "tds8-tls1.3-only": ("strict",),
    "tds8-tls1.2-only": ("strict",),
}
# role -> config, per protocol: "validate" validates chain and name with the lab CA, "trust"
# takes any certificate over TLS, "strict" is TDS 8.0.
ROLES = {
    "tds": {"validate": "lab-ca", "trust": "trust", "strict": "strict"},
    "postgres": {"validate": "verify-full", "trust": "require"},
    "mysql": {"validate": "verify-identity", "trust": "required"},
}
SOURCE_NUMBER_RE = re.compile(r"(?:^|[/:])(\d+)-[^/]*\.toml$")


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    host: str = "localhost"            # the name a client dials
    resolve: tuple[str, ...] = ()      # names that must resolve to 127.0.0.1
    number: int | None = None          # the catalogue file's number (None: not known)

    @classmethod
    def from_json(cls, s: dict) -> "ScenarioInfo":
        dial = s.get("dial", "name")
        host = {"ip": "127.0.0.1", "host": s.get("dial_host") or "localhost"}.get(dial,
                                                                                 "localhost")
        m = SOURCE_NUMBER_RE.search(s.get("source") or "")
        return cls(s["name"], host, tuple(s.get("resolve") or ()),
                   int(m.group(1)) if m else None)


def configs_for(info: ScenarioInfo, configs, roles: dict[str, str]) -> tuple[str, ...]:
    """The configs (of `configs`, in its order) a scenario runs in: all of them for the
    catalogue before issue 11 (and for a scenario whose number is not known), else the
    validating config and the configs of the scenario's EXTRA_ROLES."""
    if info.number is None or info.number <= FIRST_CATALOGUE_LAST:
        return tuple(configs)
    wanted = {roles["validate"]} | {roles[r] for r in EXTRA_ROLES.get(info.name, ())
                                   if r in roles}
    return tuple(c for c in configs if c in wanted)


def scenario_catalogue(tlslab_bin, protocol: str, table: Path) -> list[ScenarioInfo]:
    """The protocol's part of the catalogue, from the binary (`tlslab scenarios --json`);
    the table's scenarios if the binary cannot be run at collection time (the coverage
    test then fails loudly)."""
    import subprocess
    try:
        cp = subprocess.run([str(tlslab_bin), "scenarios", "--json"], capture_output=True,
                            text=True, timeout=30)
        if cp.returncode == 0:
            return [ScenarioInfo.from_json(s) for s in json.loads(cp.stdout)
                    if protocol in s["protocols"]]
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    try:
        keys = json.loads(table.read_text()).get("cases", {})
    except FileNotFoundError:
        keys = {}
    names: list[str] = []
    for key in keys:
        s = key.split("/", 2)[2]
        if s not in names:
            names.append(s)
    return [ScenarioInfo(n) for n in names]


@dataclass(frozen=True)
class Case:
    driver: str    # = the probe's name
    config: str
    scenario: str
    host: str = field(default="localhost", compare=False)  # what the probe dials
    resolve: tuple[str, ...] = field(default=(), compare=False)  # its private hosts entries

    @property
    def key(self) -> str:
        return f"{self.driver}/{self.config}/{self.scenario}"


@dataclass
class MatrixSpec:
    protocol: str                     # the lab's --protocol and the ports-json key
    base_port_flag: str               # "--postgres-base-port"
    table: Path                       # the reviewed expectations
    record: bool                      # generator mode
    drivers: tuple[str, ...]
    configs: tuple[str, ...]
    config_drivers: dict[str, tuple[str, ...]]
    short_config: dict[str, str]
    options: Callable[[Case, Path], dict]          # the probe's options for a case
    suggest_error: Callable[[Case, dict], object]  # a stable substring (or list) of the error
    session_line: Callable[[dict], str]            # one record, described for a message
    about: str                        # the table's _about
    probe_timeout_s: float = 5
    workers: int = 4
    extra_lab_args: tuple[str, ...] = ()

    def load_table(self) -> dict:
        try:
            return json.loads(self.table.read_text())
        except FileNotFoundError:
            return {"cases": {}}

    def all_cases(self, catalogue: list[ScenarioInfo]) -> list[Case]:
        """driver x config x scenario, in table order; each scenario only in its configs
        (configs_for)."""
        runs = {s.name: configs_for(s, self.configs, ROLES[self.protocol]) for s in catalogue}
        return [Case(d, c, s.name, s.host, s.resolve) for d in self.drivers
                for c in self.configs if d in self.config_drivers[c]
                for s in catalogue if c in runs[s.name]]

    def catalogue(self, tlslab_bin: Path) -> list[ScenarioInfo]:
        return scenario_catalogue(tlslab_bin, self.protocol, self.table)


# Scenarios whose every probe waits out a timeout or a delay: started first, so that their
# serial probes (one at a time per listener) do not stretch the end of the run.
SLOW_SCENARIOS = ("handshake-stall", "slow-handshake", "reset-during-handshake")


def longest_first(by_scenario: dict) -> list:
    """The scenarios' case lists, the slow scenarios first, then the longest lists."""
    return sorted(by_scenario.values(),
                  key=lambda cases: (cases[0].scenario not in SLOW_SCENARIOS, -len(cases)))

# ---- observations ------------------------------------------------------------------------------

@dataclass
class Observation:
    spec: MatrixSpec
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
            row["error"] = self.spec.suggest_error(self.case, r)
        outcomes = [x["outcome"] for x in self.records]
        alerts = [(x.get("alert") or {}).get("name") for x in self.records]
        row["outcome"] = outcomes[0] if len(outcomes) == 1 else outcomes
        row["alert"] = alerts[0] if len(alerts) == 1 else (alerts if any(alerts) else None)
        return row

    def sessions_text(self) -> str:
        return "\n".join(self.spec.session_line(x) for x in self.records) \
            or "  (no session record)"


class MatrixRun:
    """Runs cases against one lab (in parallel across scenarios), on demand, once each."""

    def __init__(self, spec: MatrixSpec, ports: dict[str, int], events: EventLog,
                 lab_ca: Path):
        self.spec, self.ports, self.events, self.lab_ca = spec, ports, events, lab_ca
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
        with ThreadPoolExecutor(max_workers=max(1, self.spec.workers)) as pool:
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
                o = Observation(self.spec, c, self.ports[c.scenario])
                o.t0 = time.time()
                try:
                    res = run_probe(c.driver, host=c.host, port=o.port,
                                    timeout=self.spec.probe_timeout_s, resolve=c.resolve,
                                    **self.spec.options(c, self.lab_ca))
                    o.result, o.describe = dict(res), res.describe()
                except BaseException as e:  # pytest.fail in run_probe is a BaseException
                    o.probe_error = f"{type(e).__name__}: {e}"
                o.t1 = time.time()
                out.append(o)
        return out

    def _collect(self, new: list[Observation]) -> None:
        """Wait (bounded) until each probe run that reached the lab has a record, then until
        the file is quiet, then assign records by start time. A probe refused before it
        connects (an option its driver lacks, a usage error of its driver) opens no session."""
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
            r = o.result or {}
            return not r.get("unsupported") and not r.get("unsupported_mode") \
                and not o.probe_error

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

    def timing(self) -> str:
        """Mean wall time of one probe run per driver (probe start to exit), for CI budgets."""
        per: dict[str, list[float]] = {}
        for o in self.obs.values():
            per.setdefault(o.case.driver, []).append(o.t1 - o.t0)
        return ", ".join(f"{d} {sum(v) / len(v):.2f} s x{len(v)}" for d, v in per.items())

    def stray_records(self) -> list[dict]:
        """Records of scenario listeners that belong to no probe run."""
        claimed = {r["id"] for o in self.obs.values() for r in o.records}
        return [r for r in self.events.records() if r["id"] not in claimed]


# ---- the lab -------------------------------------------------------------------------------------

def start_lab(spec: MatrixSpec, tlslab_bin, state_dir, d: Path, scenarios: list[str]):
    """`tlslab lab --protocol P` on a free block of ports (up to 3 tries if another program
    takes one of them): (process, {scenario: port}, EventLog, ports.json path)."""
    events, ports_json = d / "events.jsonl", d / "ports.json"
    n = len(scenarios)
    base = 0

    def lab_args() -> list[str]:
        nonlocal base
        base = free_port_block(n)
        return ["--protocol", spec.protocol, spec.base_port_flag, str(base),
                "--ports-json", str(ports_json), "--events", str(events),
                "--handshake-timeout", "15", *spec.extra_lab_args]

    proc = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state_dir, listen=None,
                                   log_level="info", ready_timeout=180,
                                   name=f"{spec.protocol} lab")
    try:
        ports = json.loads(ports_json.read_text())[spec.protocol]
        assert sorted(ports) == sorted(scenarios), (ports, scenarios)
        assert sorted(ports.values()) == list(range(base, base + n)), ports
    except BaseException:
        proc.stop()
        raise
    return proc, ports, EventLog(events), ports_json


def wanted_cases(request, case_by_key: dict[str, Case]) -> list[Case]:
    """The cases of every selected test of the requesting module (parametrized `case`, or a
    test function's `matrix_cases`)."""
    wanted = []
    for item in request.session.items:
        if item.module is not request.module:
            continue
        cs = getattr(item, "callspec", None)
        if cs and "case" in cs.params:
            wanted.append(cs.params["case"])
        for key in getattr(item.function, "matrix_cases", ()):
            wanted.append(case_by_key[key])
    return wanted


# ---- the table -----------------------------------------------------------------------------------

def write_observed(m: MatrixRun, cases: list[Case]) -> None:
    """Generator mode: merge the observed rows into the table, keeping reviewed substrings and
    notes that still hold; warn with the rows that changed."""
    spec = m.spec
    table = spec.load_table()
    table.setdefault("_about", spec.about)
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
    order = {c.key: i for i, c in enumerate(cases)}
    table["cases"] = dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], 1 << 30)))
    dump_table(spec.table, table)
    if changed:
        warnings.warn(f"generator mode: rows written to {spec.table} changed:\n"
                      + "\n".join(changed))


def dump_table(path: Path, table: dict) -> None:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


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
    if not outcome_matches(expected.get("outcome"), got.get("outcome")):
        diffs.append(("outcome", expected.get("outcome"), got.get("outcome")))
    if expected.get("alert") != got.get("alert"):
        diffs.append(("alert", expected.get("alert"), got.get("alert")))
    return diffs


def listed(value) -> list:
    """A row's outcome or alert as a list (a single session's is written bare)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def outcome_matches(expected, observed) -> bool:
    """A row's outcome is one outcome, a list (one per session, in order), or, for a driver
    that retries until its login timeout so the number of sessions follows the machine's speed,
    {"repeated": OUTCOME, "at_least": N}: every session ended so, and there were N or more."""
    if isinstance(expected, dict):
        got = listed(observed)
        return len(got) >= int(expected.get("at_least", 1)) and \
            all(x == expected["repeated"] for x in got)
    return expected == observed


def row_outcomes(row: dict) -> list[str]:
    """The outcomes a row names (the repeated form names one)."""
    o = row["outcome"]
    return [o["repeated"]] if isinstance(o, dict) else listed(o)


def diff_text(case: Case, expected: dict | None, o: Observation,
              diffs: list[tuple[str, object, object]]) -> str:
    w = max([len(f) for f, _, _ in diffs] + [5])
    lines = [f"{case.key} does not match {o.spec.table.name}:",
             f"  {'field':<{w}}  expected -> observed"]
    for f, e, g in diffs:
        lines.append(f"  {f:<{w}}  {json.dumps(e)} -> {json.dumps(g)}")
    lines += [f"row:      {json.dumps(expected)}", f"observed: {json.dumps(o.row())}",
              "sessions of this probe run:", o.sessions_text(), o.describe]
    return "\n".join(lines)


def check_table_covers(spec: MatrixSpec, cases: list[Case]) -> None:
    """Exactly one row per driver/config/scenario of the protocol's current catalogue."""
    table = spec.load_table()["cases"]
    keys = set(table)
    want = {c.key for c in cases}
    assert not want - keys, f"rows missing for: {sorted(want - keys)}"
    assert not keys - want, (
        f"rows for no case (scenario removed or renamed?): {sorted(keys - want)}")
    check_row_shapes(table)


def check_row_shapes(rows: dict[str, dict]) -> None:
    """Every row names known outcomes, and a failed row says how the client failed: an error
    substring or error_code, or a note on why the words cannot be pinned (a race)."""
    for key, row in rows.items():
        outcomes = row_outcomes(row)
        assert set(outcomes) <= OUTCOMES, f"{key}: {row}"
        if isinstance(row["outcome"], dict):
            assert set(row["outcome"]) <= {"repeated", "at_least"} and row.get("note"), (
                f"{key}: a repeated outcome needs a note saying why the count varies: {row}")
        assert (row["connected"] or row.get("error") or row.get("error_code")
                or row.get("note")), (
            f"{key}: a failed row needs an error substring, an error_code, or a note saying "
            f"why its words vary")


# ---- the compact matrix --------------------------------------------------------------------------

SYMBOLS = {"alert": "a", "closed-after-handshake": "h", "closed-during-handshake": "d",
           "closed-before-tls": "b", "upstream-failed": "u", "protocol-error": "p",
           "login-encrypted": "l", "login-plaintext": "c", "aborted-after-ok": "o"}


def cell(row: dict | None) -> str:
    """✔ logged in over TLS, ⚠ logged in in plaintext (any session), ✘ + how the last session
    ended (a alert, h handshake then close, d closed in the handshake, b before TLS, p the
    lab's TLS failed, l/c the proxy read the login over TLS / in clear, then the client
    failed, o the client left right after the server's OK), – not run (the driver has no
    such option)."""
    if row is None:
        return "?"
    outs = row_outcomes(row)
    if row["connected"]:
        return "⚠" if "login-plaintext" in outs or row.get("ssl") is False else "✔"
    if not outs:
        return "–"
    return "✘" + SYMBOLS.get(outs[-1], "?")


def markdown_matrix(spec: MatrixSpec, catalogue: list[ScenarioInfo]) -> str:
    """Scenarios x driver/config from the table; · where the scenario does not run in that
    config (configs_for)."""
    cases = spec.load_table()["cases"]
    planned = {c.key for c in spec.all_cases(catalogue)}
    cols = [(d, c) for d in spec.drivers for c in spec.configs if d in spec.config_drivers[c]]
    head = "| scenario | " + " | ".join(f"{d} {spec.short_config[c]}" for d, c in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for s in catalogue:
        lines.append(f"| {s.name} | " + " | ".join(
            cell(cases.get(f"{d}/{c}/{s.name}")) if f"{d}/{c}/{s.name}" in planned else "·"
            for d, c in cols) + " |")
    return "\n".join(lines)
