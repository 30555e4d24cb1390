"""Fidelity reference for `tlslab lab --protocol postgres`: does a driver judge a lab scenario
exactly as it judges a real PostgreSQL server configured with the same defect?

Theory of operation. `tlslab scenarios --export DIR` writes each scenario's certificate chain and
key as the lab mints them (same CA, same names, same defect). One `tlslab lab` serves every
PostgreSQL scenario; a real PostgreSQL 15 (Debian's, pg_server.py; two of them: "stock" and
"legacy", below) is reconfigured per scenario with that scenario's exported certificate (and,
where the defect is not in the certificate, the server setting that gives the same defect:
REAL_REFERENCE below), by a reload, not a restart. For every scenario each driver
probe (probes/*/probe) runs in each representative configuration against both, in
parallel, and the two verdicts must be equal:

    verdict = "ok/tls" | "ok/plain" (connected, and whether the session is TLS) or the error
              family of the driver's error text (FAMILIES: libpq's "certificate verify failed",
              Go's "x509: certificate signed by unknown authority", ... each mapped to one
              family; a text no family knows is its own family, so it can only match itself)

and, beyond the verdict, the driver's whole error text (ports, times and addresses masked) must
be equal too, except where DIVERGENCES documents why it cannot be (few, specific, each checked
to still hold: a divergence that disappeared fails the test, so the table stays true). Today:
T1 (TLS 1.0/1.1-only: the real server refuses by alert, tlslab by an old ServerHello the client
refuses: same verdict, other words), T2 (asyncpg on those: handshake_failure vs
protocol_version). (postgres.js on pg-ssl-refused sends a ClientHello after the 'N': tlslab took
it for direct SSL until it was fixed to close it with a reset, as PostgreSQL does.)

Configurations: `verify-full` with the lab CA (host localhost), `require` without a CA, and for
the scenarios about the dialled address (ip-mismatch, cn-only) also `verify-full` dialled as
127.0.0.1. Drivers: psql, psycopg2, pgjdbc, pgx, node-pg, postgresjs, asyncpg
($TLSLAB_PG_FIDELITY_DRIVERS: a comma-separated list instead, or `all` to add psycopg3).

The real server, per scenario (REAL_REFERENCE):

| scenario | real PostgreSQL 15 reference | stock Debian server loads the certificate? |
|---|---|---|
| valid, self-signed, untrusted-root, expired, not-yet-valid, wrong-host, cn-only, ip-mismatch, no-serverauth-eku, incomplete-chain | stock server, the scenario's certificate | yes |
| weak-rsa1024 | "legacy" server: OPENSSL_CONF with CipherString DEFAULT:@SECLEVEL=0 (the only way: PostgreSQL loads the certificate before it applies ssl_ciphers) | **no**: `could not load server certificate file "server.crt": ee key too small` (OpenSSL security level 2); at startup it is FATAL, on reload it keeps the old certificate |
| sha1-signature | legacy server, the scenario's certificate | **no**: `... "server.crt": ca md too weak` |
| tls1.0-only / tls1.1-only | legacy server (TLS < 1.2 needs security level 0 in OpenSSL 3) with ssl_min_protocol_version = ssl_max_protocol_version = TLSv1 / TLSv1.1, the scenario's certificate | yes (the certificate is ordinary; the defect is the protocol range) |
| pg-ssl-refused | stock server with ssl = off: SSLRequest answered 'N' | n/a (no TLS) |
| pg-no-channel-binding | stock server, the scenario's (valid) certificate: no real server hides SCRAM-SHA-256-PLUS over TLS, so this is the reference for what the certificate alone does; the downgrade itself is checked against a real server in test_pg_real_upstream.py | yes |
| pg-no-alpn | stock server: PostgreSQL 15 is exactly "a server before PostgreSQL 17" for negotiated SSL (no ALPN). Direct SSL is not compared: PostgreSQL 15 cannot do it at all (every direct client fails on EOF), while the lab completes TLS without ALPN | yes |
| passthrough | stock server, the scenario's certificate (the scenario promises "the client meets the real server's certificate") | yes |

The comparison table (scenario x configuration x driver, lab verdict vs real verdict) is
printed at the end of the module and written to $TLSLAB_PG_FIDELITY_TABLE if set.

pg_server.py gives no public way to change settings on a running server, nor to learn quickly
that a reload refused a certificate (restart_with_certificate waits its whole timeout, and its
readiness check cannot handshake with a TLS 1.0-only server); serve_scenario() below works
around both with PgServer's private _write_conf/_write_owned and a permissive handshake.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import lab_matrix as lm

from harness import TlslabProcess, free_port_block, run_probe
from pg_server import PgServer, PgServerError
from server_util import pem_to_der

ALL_DRIVERS = ("psql", "psycopg2", "pgjdbc", "pgx", "node-pg", "postgresjs", "asyncpg", "psycopg3")
# psycopg3 is left out by default: libpq again (18 instead of 17), it judged every scenario as
# psycopg2 does when it was run (TLSLAB_PG_FIDELITY_DRIVERS=all runs it too).
DEFAULT_DRIVERS = ("psql", "psycopg2", "pgjdbc", "pgx", "node-pg", "postgresjs", "asyncpg")
_wanted = os.environ.get("TLSLAB_PG_FIDELITY_DRIVERS", "")
DRIVERS = (ALL_DRIVERS if _wanted == "all" else
           tuple(d for d in _wanted.split(",") if d) or DEFAULT_DRIVERS)
PARALLEL = 4            # probe runs at once (lab and real side together)
RELOAD_TIMEOUT_S = 10.0


# ---- the real reference, per scenario ---------------------------------------------------------

@dataclass(frozen=True)
class RealReference:
    server: str                      # "stock" (Debian defaults) or "legacy" (SECLEVEL 0)
    settings: tuple = ()             # extra postgresql.conf (name, value) pairs
    expect_version: str | None = None  # the TLS version the reconfigured server must speak


STOCK = RealReference("stock")
REAL_REFERENCE: dict[str, RealReference] = {
    "valid": STOCK,
    "self-signed": STOCK,
    "untrusted-root": STOCK,
    "expired": STOCK,
    "not-yet-valid": STOCK,
    "wrong-host": STOCK,
    "cn-only": STOCK,
    "ip-mismatch": STOCK,
    "tls1.0-only": RealReference("legacy", (("ssl_min_protocol_version", "TLSv1"),
                                            ("ssl_max_protocol_version", "TLSv1")), "TLSv1"),
    "tls1.1-only": RealReference("legacy", (("ssl_min_protocol_version", "TLSv1.1"),
                                            ("ssl_max_protocol_version", "TLSv1.1")), "TLSv1.1"),
    "weak-rsa1024": RealReference("legacy"),
    "sha1-signature": RealReference("legacy"),
    "no-serverauth-eku": STOCK,
    "incomplete-chain": STOCK,
    "passthrough": STOCK,
    "pg-ssl-refused": RealReference("stock", (("ssl", "off"),)),
    "pg-no-channel-binding": STOCK,
    "pg-no-alpn": STOCK,
}

# What Debian's stock server says when it cannot load a scenario's certificate (checked).
STOCK_SERVER_REFUSES = {
    "weak-rsa1024": "ee key too small",
    "sha1-signature": "ca md too weak",
}

# The legacy server's OpenSSL configuration: security level 0 (RSA-1024 and SHA-1 certificates
# load; TLS 1.0/1.1 handshakes are possible), as on an old distribution.
LEGACY_OPENSSL_CONF = """\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT:@SECLEVEL=0
MinProtocol = TLSv1
"""

# Configurations: name -> probe options (ca=True stands for the lab CA).
CONFIGS = {
    "verify-full": dict(host="localhost", encrypt="verify-full", ca=True),
    "require": dict(host="localhost", encrypt="require"),
    "verify-full-ip": dict(host="127.0.0.1", encrypt="verify-full", ca=True),
}
IP_SCENARIOS = {"ip-mismatch", "cn-only"}


def configs_for(scenario: str) -> list[str]:
    names = ["verify-full", "require"]
    return names + (["verify-full-ip"] if scenario in IP_SCENARIOS else [])


# ---- documented divergences ---------------------------------------------------------------------

@dataclass(frozen=True)
class Divergence:
    tag: str
    scenarios: frozenset
    drivers: frozenset | None      # None: every driver
    level: str                     # "text": same verdict, other words; "verdict": other verdict
    lab_verdict: str | None        # level "verdict": what the lab's verdict is
    kind: str                      # "real server behaviour" or "tlslab issue"
    reason: str


DIVERGENCES = (
    Divergence(
        "T1", frozenset({"tls1.0-only", "tls1.1-only"}), None, "text", None,
        "real server behaviour",
        "Who refuses differs. PostgreSQL 15 on OpenSSL 3 with ssl_max_protocol_version=TLSv1 "
        "(or TLSv1.1) honours the ClientHello's supported_versions (TLS 1.3, 1.2 only) and "
        "answers a fatal protocol_version alert (70) itself: the client reports the alert "
        "('tlsv1 alert protocol version', 'Received fatal alert: protocol_version', 'remote "
        "error: tls: protocol version not supported'). tlslab plays a server from before TLS "
        "1.3, which ignores supported_versions and answers a TLS 1.0/1.1 ServerHello, so the "
        "client refuses on its own side ('unsupported protocol', 'server selected unsupported "
        "protocol version 301', 'TLS10 is not accepted by client preferences'). Both are the "
        "tls-version verdict; no configuration of a modern PostgreSQL produces the old "
        "server's ServerHello."),
    Divergence(
        "T2", frozenset({"tls1.0-only", "tls1.1-only"}), frozenset({"asyncpg"}), "verdict",
        "tls-handshake-failure", "real server behaviour",
        "asyncpg (Python ssl) offers no TLS 1.0/1.1 cipher suite (Python's default list has "
        "no SHA-1 CBC suites), so tlslab's TLS 1.0/1.1-only server finds no common cipher and "
        "sends handshake_failure (40), as an old server would; PostgreSQL 15 refuses earlier, "
        "on the version (protocol_version, 70). Refused either way."),
)


def divergence_for(scenario: str, driver: str) -> Divergence | None:
    hits = [d for d in DIVERGENCES
            if scenario in d.scenarios and (d.drivers is None or driver in d.drivers)]
    hits.sort(key=lambda d: d.drivers is None)  # the driver-specific entry first
    return hits[0] if hits else None


# ---- verdicts -----------------------------------------------------------------------------------

# (family, phrases): the first family with a phrase in the (lower-cased) error text wins.
FAMILIES = (
    ("tls-version", ("unsupported protocol", "alert protocol version",
                     "protocol version not supported", "protocol_version",
                     "not accepted by client preferences", "no appropriate protocol")),
    ("tls-handshake-failure", ("alert handshake failure", "handshake_failure")),
    ("no-ssl", ("server does not support ssl", "server refused tls connection",
                "rejected ssl upgrade")),
    ("name-mismatch", ("does not match host name", "hostname mismatch", "ip address mismatch",
                       "could not be verified by hostnameverifier", "certificate is valid for",
                       "doesn't contain any ip sans", "does not match certificate's altnames",
                       "relies on legacy common name field")),
    ("cert-validity", ("has expired or is not yet valid",)),  # Go: one message for both
    ("cert-expired", ("certificate has expired", "certificateexpiredexception")),
    ("cert-not-yet-valid", ("certificate is not yet valid", "certificatenotyetvalidexception")),
    ("cert-self-signed", ("self-signed certificate", "self signed certificate")),
    ("cert-purpose", ("unsuitable certificate purpose", "extended key usage does not permit",
                      "incompatible key usage")),
    ("cert-weak-key", ("key too weak", "key too small")),
    ("cert-weak-digest", ("digest algorithm too weak", "insecure algorithm")),
    ("cert-untrusted", ("unable to get local issuer certificate",
                        "unable to verify the first certificate", "signed by unknown authority",
                        "pkix path building failed", "unable to find valid certification path")),
    ("cert-verify-failed", ("certificate verify failed",)),  # libpq names no reason
    ("auth", ("password authentication failed", "scram", "channel binding")),
    ("connection", ("eof", "connection reset", "econnreset", "timeout", "timed out")),
)


def normalise(text: str | None) -> str | None:
    """The error text without what differs between two servers by construction: ports, times,
    memory addresses in OpenSSL error stacks."""
    if text is None:
        return None
    t = re.sub(r"port \d+", "port P", text)
    t = re.sub(r"(127\.0\.0\.1|localhost|\[::1\]):\d+", r"\1:P", t)
    t = re.sub(r"(NotAfter|NotBefore): \w{3} \w{3} +\d+ [\d:]+ \w+ \d{4}", r"\1: T", t)
    t = re.sub(r"current time \S+ is (after|before) \S+", r"current time T is \1 T", t)
    t = re.sub(r"\b[0-9A-F]{12,16}:error:", "X:error:", t)
    return t.strip()


def family(text: str) -> str:
    low = text.lower()
    for name, phrases in FAMILIES:
        if any(p in low for p in phrases):
            return name
    return "other: " + normalise(text)[:80]


def verdict(r: dict) -> str:
    if r["connected"]:
        return "ok/tls" if r.get("ssl") else "ok/plain"
    return family(r["error"] or str(r["error_code"]))


# ---- the real server ------------------------------------------------------------------------------

def _permissive_context() -> ssl.SSLContext:
    """A client context that handshakes with anything (TLS 1.0 too): only to see what is served."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def ssl_state(port: int) -> tuple[str, bytes | None, str | None]:
    """(answer to SSLRequest, served certificate DER, TLS version) of 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(struct.pack("!ii", 8, 80877103))
            answer = s.recv(1)
            if answer != b"S":
                return answer.decode("latin-1"), None, None
            with _permissive_context().wrap_socket(s) as t:
                return "S", t.getpeercert(binary_form=True), t.version()
    except (OSError, ssl.SSLError):
        return "error", None, None


def serve_scenario(pg: PgServer, cert: Path, key: Path, settings: dict[str, str],
                   expect_version: str | None = None) -> str | None:
    """Reconfigures the running server (settings + certificate, then SIGHUP) and waits until it
    serves them. Returns None once it does, or the server's own reason when it refused the
    certificate (it then keeps its previous SSL configuration)."""
    mark = len(pg.log_text())
    pg._write_conf(settings)  # private: PgServer cannot change settings of a running server
    pg._write_owned(pg.data / "server.crt", cert.read_bytes(), 0o644)
    pg._write_owned(pg.data / "server.key", key.read_bytes(), 0o600)
    pg.proc.send_signal(signal.SIGHUP)
    want = None if settings.get("ssl") == "off" else pem_to_der(cert)
    deadline = time.monotonic() + RELOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        log = pg.log_text()[mark:]
        if "SSL configuration was not reloaded" in log:
            m = re.search(r"could not load [^\n]*?: ([^\n]+)", log)
            return m.group(1).strip() if m else log.strip()
        if "received SIGHUP" in log:
            answer, der, version = ssl_state(pg.port)
            if want is None and answer == "N":
                return None
            if want is not None and der == want and version == (expect_version or version):
                return None
        time.sleep(0.05)
    raise PgServerError(f"{cert.name}: not served within {RELOAD_TIMEOUT_S} s:\n" + pg.log_tail())


# ---- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres_scenarios(tlslab_bin) -> list[str]:
    cp = subprocess.run([str(tlslab_bin), "scenarios", "--json"], capture_output=True, text=True,
                        timeout=30)
    assert cp.returncode == 0, cp.stderr
    # The first catalogue (files 01-24) has a real-server reference each; catalogue v2's
    # scenarios are compared against the real drivers' reviewed rows of the lab matrix only
    # (most are TLS behaviours a stock PostgreSQL cannot be made to show).
    return [s["name"] for s in json.loads(cp.stdout) if "postgres" in s.get("protocols", [])
            and lm.ScenarioInfo.from_json(s).number is not None
            and lm.ScenarioInfo.from_json(s).number <= lm.FIRST_CATALOGUE_LAST]


@pytest.fixture(scope="module")
def exported(tlslab_bin, state_dir, tmp_path_factory) -> Path:
    """Every scenario's certificate and key, as the lab mints them (DIR/NAME.crt, NAME.key)."""
    d = tmp_path_factory.mktemp("pg-fidelity-export")
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "scenarios", "--export",
                         str(d)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"scenarios --export failed: {cp.stderr}"
    return d


@pytest.fixture(scope="module")
def lab_ports(tlslab_bin, state_dir, tmp_path_factory) -> dict[str, int]:
    """One `tlslab lab --protocol postgres` for the module: {scenario: port}."""
    d = tmp_path_factory.mktemp("pg-fidelity-lab")
    last = None
    for attempt in range(3):
        ports_json = d / f"ports-{attempt}.json"
        try:
            lab = TlslabProcess.start(
                tlslab_bin, "lab", "--protocol", "postgres",
                "--postgres-base-port", str(free_port_block(len(REAL_REFERENCE) + 2)),
                "--ports-json", str(ports_json), "--events", str(d / "events.jsonl"),
                state_dir=state_dir, listen=None, log_level="info", name="pg-lab",
                fail_pattern=r"cannot listen|[Aa]ddress already in use")
        except AssertionError as e:  # a port of the block was taken meanwhile: another block
            last = e
            continue
        break
    else:
        raise last
    try:
        deadline = time.monotonic() + 10
        while not (ports_json.is_file() and ports_json.stat().st_size):
            assert time.monotonic() < deadline, "the lab wrote no --ports-json"
            time.sleep(0.05)
        yield json.loads(ports_json.read_text())["postgres"]
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def stock_pg(exported):
    with PgServer.start(exported / "valid.crt", exported / "valid.key") as server:
        yield server


@pytest.fixture(scope="module")
def legacy_pg(exported):
    """A server whose OpenSSL runs at security level 0 (OPENSSL_CONF in its environment only:
    set around the start, so no probe inherits it)."""
    # Under the system temp dir, readable by the `postgres` user (pytest's tmp_path is not).
    confdir = Path(tempfile.mkdtemp(prefix="tlslab-pg-legacy-"))
    confdir.chmod(0o755)
    conf = confdir / "openssl.cnf"
    conf.write_text(LEGACY_OPENSSL_CONF)
    conf.chmod(0o644)
    old = os.environ.get("OPENSSL_CONF")
    os.environ["OPENSSL_CONF"] = str(conf)
    try:
        server = PgServer.start(exported / "valid.crt", exported / "valid.key")
    finally:
        if old is None:
            os.environ.pop("OPENSSL_CONF", None)
        else:
            os.environ["OPENSSL_CONF"] = old
    try:
        with server:
            yield server
    finally:
        shutil.rmtree(confdir, ignore_errors=True)


@pytest.fixture(scope="module")
def table(request):
    """Rows of the comparison table; printed (and written to $TLSLAB_PG_FIDELITY_TABLE) at the
    end of the module."""
    rows: list[dict] = []
    yield rows
    text = render_table(rows)
    out = os.environ.get("TLSLAB_PG_FIDELITY_TABLE")
    if out:
        Path(out).write_text(text + "\n")
    if rows:
        request.config.pluginmanager.register(_PrintAtTheEnd(text), f"pg-fidelity-table-{id(rows)}")


class _PrintAtTheEnd:
    """A plugin registered at the end of the module: pytest calls its terminal-summary hook
    after the last test (outside output capture)."""

    def __init__(self, text: str):
        self.text = text

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "PostgreSQL fidelity table")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


def render_table(rows: list[dict]) -> str:
    """scenario/config rows x driver columns; a cell is the shared verdict, or
    'lab X != real Y [tag]' where a documented divergence says they differ."""
    drivers = [d for d in ALL_DRIVERS if any(r["driver"] == d for r in rows)]
    cells: dict[tuple, str] = {}
    keys: list[tuple] = []
    for r in rows:
        key = (r["scenario"], r["config"])
        if key not in keys:
            keys.append(key)
        if r["lab"] == r["real"]:
            cell = r["lab"] + (f" [{r['tag']}]" if r["tag"] else "")
        else:
            cell = f"lab {r['lab']} != real {r['real']}" + (f" [{r['tag']}]" if r["tag"] else "")
        cells[(*key, r["driver"])] = cell
    header = ["scenario", "config", *drivers]
    body = [[s, c, *(cells.get((s, c, d), "-") for d in drivers)] for s, c in keys]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    fmt = lambda row: "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |"
    lines = ["PostgreSQL fidelity: verdict through tlslab lab vs against PostgreSQL 15 "
             "configured with the same defect", fmt(header),
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(row) for row in body]
    for d in DIVERGENCES:
        if any(r["tag"] == d.tag for r in rows):
            lines.append(f"[{d.tag}] {d.kind}: {d.reason}")
    return "\n".join(lines)


# ---- tests ----------------------------------------------------------------------------------------

def test_every_postgres_scenario_has_a_real_reference(postgres_scenarios):
    assert sorted(postgres_scenarios) == sorted(REAL_REFERENCE), (
        "REAL_REFERENCE must name every PostgreSQL scenario of the catalogue (and no other)")


def test_stock_server_loads_every_certificate_but_the_weak_ones(stock_pg, exported):
    """Each scenario's certificate offered to Debian's stock PostgreSQL 15: exactly the ones in
    STOCK_SERVER_REFUSES are refused, for the documented reason; all others are served."""
    refused = {}
    for name in REAL_REFERENCE:
        why = serve_scenario(stock_pg, exported / f"{name}.crt", exported / f"{name}.key", {})
        if why is not None:
            refused[name] = why
    assert sorted(refused) == sorted(STOCK_SERVER_REFUSES), refused
    for name, reason in STOCK_SERVER_REFUSES.items():
        assert reason in refused[name], (name, refused[name])
    # and the server is still up, serving the last certificate it could load
    assert stock_pg.proc.poll() is None


@pytest.mark.parametrize("scenario", list(REAL_REFERENCE))
def test_driver_verdicts_match_the_real_server(scenario, request, lab_ports, lab_ca, exported,
                                               table):
    ref = REAL_REFERENCE[scenario]
    pg: PgServer = request.getfixturevalue("stock_pg" if ref.server == "stock" else "legacy_pg")
    why = serve_scenario(pg, exported / f"{scenario}.crt", exported / f"{scenario}.key",
                         dict(ref.settings), ref.expect_version)
    assert why is None, f"the {ref.server} server refused {scenario}'s certificate: {why}"

    def run(driver: str, config: str, port: int):
        opts = dict(CONFIGS[config])
        host = opts.pop("host")
        if opts.pop("ca", False):
            opts["ca"] = lab_ca
        return run_probe(driver, host=host, port=port, **opts)

    jobs = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for config in configs_for(scenario):
            for driver in DRIVERS:
                jobs[(config, driver)] = (pool.submit(run, driver, config, lab_ports[scenario]),
                                          pool.submit(run, driver, config, pg.port))
        results = {k: (a.result(), b.result()) for k, (a, b) in jobs.items()}

    problems = []
    for (config, driver), (lab, real) in results.items():
        lab_v, real_v = verdict(lab), verdict(real)
        lab_t, real_t = normalise(lab["error"]), normalise(real["error"])
        d = divergence_for(scenario, driver)
        table.append(dict(scenario=scenario, config=config, driver=driver, lab=lab_v,
                          real=real_v, tag=d.tag if d else ""))
        where = f"{scenario} / {config} / {driver}"
        detail = f"\n  lab:  {lab.describe()}\n  real: {real.describe()}"
        if d is None:
            if lab_v != real_v:
                problems.append(f"{where}: verdict lab {lab_v!r} != real {real_v!r}{detail}")
            elif lab_t != real_t:
                problems.append(f"{where}: same verdict {lab_v!r}, other text:\n"
                                f"  lab:  {lab_t!r}\n  real: {real_t!r}")
        elif d.level == "text":
            if lab_v != real_v:
                problems.append(f"{where}: [{d.tag}] allows other words, not another verdict: "
                                f"lab {lab_v!r} != real {real_v!r}{detail}")
            elif lab_t == real_t:
                problems.append(f"{where}: [{d.tag}] no longer holds (texts equal): remove it")
        else:
            if lab_v != d.lab_verdict:
                problems.append(f"{where}: [{d.tag}] says the lab gives {d.lab_verdict!r}, it "
                                f"gave {lab_v!r}{detail}")
            if lab_v == real_v:
                problems.append(f"{where}: [{d.tag}] no longer holds (verdicts equal): remove it")
    assert not problems, "\n\n".join(problems)
