"""Fidelity reference for `tlslab lab --protocol mysql`: does a MySQL/MariaDB driver judge a lab
scenario exactly as it judges a real MariaDB server serving the same certificate?

Theory of operation. `tlslab scenarios --export DIR` writes each scenario's certificate chain and
key as the lab mints them (same CA, same names, same defect). One `tlslab lab --protocol mysql` serves
every MySQL scenario (the lab's default MySQL 8.0 stand-in behind it, what a lab user meets;
$TLSLAB_MYSQL_FIDELITY_FLAVOUR=mariadb puts the MariaDB 11.4 stand-in there instead: the
verdicts are about the certificate, which the flavour does not change); one real MariaDB 10.11 (Debian's, mariadb_server.py) is switched
to each scenario's exported certificate in turn (`FLUSH SSL`, restart_with_certificate: it then
serves exactly those files). For every scenario each probe (probes/README.md, "MySQL
probes") runs in each configuration against both, in parallel, and the two verdicts must be
equal:

    verdict = "ok/tls" | "ok/plain" (connected, and whether the session is TLS, the driver's own
              view), "unsupported" (the probe cannot express the mode: both sides alike), or
              "error_code | family": the driver's error number/code and the family of its
              error text (FAMILIES: "self-signed certificate", "Hostname mismatch",
              "PKIX path building failed", ... each mapped to one family; a text no family
              knows is its own family, so it can only match itself)

The whole error texts (ports, connection ids, times masked) are compared too and shown in the
table printed at the end of the module (written to $TLSLAB_MYSQL_FIDELITY_TABLE if set); the
assertion is on the verdict.

Configurations: VERIFY_IDENTITY and VERIFY_CA with the lab CA, REQUIRED without one (host
localhost); for the scenarios about the dialled address (ip-mismatch, cn-only) also
VERIFY_IDENTITY dialled as 127.0.0.1. Scenarios: those whose defect is in the certificate and
which Debian's MariaDB loads (REAL_SCENARIOS; weak-rsa1024 and sha1-signature are left out: the
server's OpenSSL 3.0 at its default security level refuses to load them, and the TLS 1.0/1.1
scenarios need a server configuration, not a certificate). Drivers: all ten MySQL probes
($TLSLAB_MYSQL_FIDELITY_DRIVERS: a comma-separated list instead).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import lab_matrix as lm
from harness import run_probe
from mariadb_server import MariaDbServer
from test_mysql_drivers_direct import MYSQL_DRIVERS
from test_mysql_lab_matrix import SCENARIOS, SPEC

_wanted = os.environ.get("TLSLAB_MYSQL_FIDELITY_DRIVERS", "")
DRIVERS = tuple(d for d in _wanted.split(",") if d) or MYSQL_DRIVERS
FLAVOUR = os.environ.get("TLSLAB_MYSQL_FIDELITY_FLAVOUR", "mysql")
PARALLEL = 4  # probe runs at once (lab and real side together)

REAL_SCENARIOS = ("valid", "self-signed", "untrusted-root", "expired", "not-yet-valid",
                  "wrong-host", "cn-only", "ip-mismatch", "no-serverauth-eku", "incomplete-chain")
IP_SCENARIOS = {"ip-mismatch", "cn-only"}

# Configurations: name -> probe options (ca=True stands for the lab CA).
CONFIGS = {
    "verify-identity": dict(host="localhost", ssl_mode="VERIFY_IDENTITY", ca=True),
    "verify-ca": dict(host="localhost", ssl_mode="VERIFY_CA", ca=True),
    "required": dict(host="localhost", ssl_mode="REQUIRED"),
    "verify-identity-ip": dict(host="127.0.0.1", ssl_mode="VERIFY_IDENTITY", ca=True),
}


def configs_for(scenario: str) -> list[str]:
    names = ["verify-identity", "verify-ca", "required"]
    return names + (["verify-identity-ip"] if scenario in IP_SCENARIOS else [])


# ---- verdicts -----------------------------------------------------------------------------------

# (family, phrases): the first family with a phrase in the (lower-cased) error text wins.
FAMILIES = (
    ("name-mismatch", ("hostname mismatch", "ip address mismatch", "not in the cert's altnames",
                       "doesn't correspond to", "server identity verification failed",
                       "certificate is valid for", "doesn't contain any ip sans",
                       "validation of ssl server certificate failed",
                       "does not match certificate's altnames", "relies on legacy common name",
                       "hostname verification failed",
                       "did not match expected name", "did not match expected cn")),
    ("cert-validity", ("has expired or is not yet valid",)),  # Go: one message for both
    ("cert-expired", ("certificate has expired", "certificateexpiredexception",
                      "cert_has_expired")),
    ("cert-not-yet-valid", ("certificate is not yet valid", "certificatenotyetvalidexception",
                            "cert_not_yet_valid")),
    ("cert-self-signed", ("self-signed certificate", "self signed certificate")),
    ("cert-purpose", ("unsuitable certificate purpose", "extended key usage does not permit",
                      "incompatible key usage", "extendedkeyusage")),
    ("cert-untrusted", ("unable to get local issuer certificate",
                        "unable to verify the first certificate", "signed by unknown authority",
                        "pkix path building failed", "unable to find valid certification path",
                        "does not chain with any of the trust anchors",
                        "unable_to_verify_leaf_signature", "unable_to_get_issuer_cert")),
    ("cert-verify-failed", ("certificate verify failed",)),  # libmysqlclient names no reason
    ("auth", ("access denied",)),
    ("connection", ("eof", "connection reset", "econnreset", "timeout", "timed out",
                    "lost connection", "communications link failure")),
)


def normalise(text: str | None) -> str | None:
    """The error text without what differs between two servers by construction: ports,
    connection ids, times, OpenSSL error-queue addresses."""
    if text is None:
        return None
    t = re.sub(r"port \d+", "port P", text)
    t = re.sub(r"(127\.0\.0\.1|localhost|\[::1\])([:,])\d+", r"\1\2P", t)
    t = re.sub(r"conn[=:]\s?\d+", "conn=N", t)
    t = re.sub(r"(NotAfter|NotBefore): \w{3} \w{3} +\d+ [\d:]+ \w+ \d{4}", r"\1: T", t)
    t = re.sub(r"current time \S+ is (after|before) \S+", r"current time T is \1 T", t)
    t = re.sub(r"\b[0-9A-F]{12,16}:error:", "X:error:", t)
    t = re.sub(r"\d+ ms", "N ms", t)
    return t.strip()


def family(text: str) -> str:
    low = text.lower()
    for name, phrases in FAMILIES:
        if any(p in low for p in phrases):
            return name
    return "other: " + (normalise(text) or "")[:80]


def verdict(r: dict) -> str:
    if r.get("unsupported_mode"):
        return "unsupported"
    if r["connected"]:
        if r.get("error"):  # logged in, then the query failed
            return f"ok then {r['error_code']} | {family(r['error'])}"
        return "ok/tls" if r.get("ssl") else "ok/plain"
    return f"{r['error_code']} | {family(r['error'] or str(r['error_code']))}"


class BrokenProbe(dict):
    """A probe run that gave no JSON line (a crash): its verdict is "PROBE_BROKEN | ..."."""

    def describe(self) -> str:
        return self["error"]


# ---- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tlslab_bin, state_dir, tmp_path_factory) -> Path:
    """Every scenario's certificate and key, as the lab mints them (DIR/NAME.crt, NAME.key)."""
    d = tmp_path_factory.mktemp("mysql-fidelity-export")
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "scenarios", "--export",
                         str(d)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"scenarios --export failed: {cp.stderr}"
    return d


@pytest.fixture(scope="module")
def lab_ports(tlslab_bin, state_dir, tmp_path_factory) -> dict[str, int]:
    """One `tlslab lab --protocol mysql --mysql-flavour FLAVOUR` for the module."""
    spec = dataclasses.replace(SPEC, extra_lab_args=("--mysql-flavour", FLAVOUR))
    proc, ports, _, _ = lm.start_lab(spec, tlslab_bin, state_dir,
                                     tmp_path_factory.mktemp("mysql-fidelity-lab"), SCENARIOS)
    try:
        yield ports
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def real_db(exported):
    with MariaDbServer.start(exported / "valid.crt", exported / "valid.key") as server:
        yield server


@pytest.fixture(scope="module")
def table(request):
    """Rows of the comparison table; printed (and written to $TLSLAB_MYSQL_FIDELITY_TABLE) at
    the end of the module."""
    rows: list[dict] = []
    yield rows
    text = render_table(rows)
    out = os.environ.get("TLSLAB_MYSQL_FIDELITY_TABLE")
    if out:
        Path(out).write_text(text + "\n")
    if rows:
        request.config.pluginmanager.register(_PrintAtTheEnd(text),
                                              f"mysql-fidelity-table-{id(rows)}")


class _PrintAtTheEnd:
    def __init__(self, text: str):
        self.text = text

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "MySQL fidelity table")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


def render_table(rows: list[dict]) -> str:
    """scenario/config rows x driver columns; a cell is the shared verdict ('*' when the texts
    differ too), or 'lab X != real Y'."""
    drivers = [d for d in MYSQL_DRIVERS if any(r["driver"] == d for r in rows)]
    cells: dict[tuple, str] = {}
    keys: list[tuple] = []
    for r in rows:
        key = (r["scenario"], r["config"])
        if key not in keys:
            keys.append(key)
        if r["lab"] == r["real"]:
            cell = r["lab"] + ("" if r["same_text"] else " *")
        else:
            cell = f"lab {r['lab']} != real {r['real']}"
        cells[(*key, r["driver"])] = cell
    header = ["scenario", "config", *drivers]
    body = [[s, c, *(cells.get((s, c, d), "-") for d in drivers)] for s, c in keys]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    fmt = lambda row: "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |"
    lines = [f"MySQL fidelity: verdict through tlslab lab ({FLAVOUR} stand-in) vs against MariaDB "
             "10.11 serving the scenario's certificate ('*': same verdict, other words)",
             fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(row) for row in body]
    texts = [r for r in rows if r["lab"] == r["real"] and not r["same_text"]]
    for r in texts:
        lines.append(f"* {r['scenario']}/{r['config']}/{r['driver']}:\n    lab:  {r['lab_text']}"
                     f"\n    real: {r['real_text']}")
    return "\n".join(lines)


# ---- tests ----------------------------------------------------------------------------------------

def test_real_scenarios_are_mysql_scenarios():
    assert set(REAL_SCENARIOS) <= set(SCENARIOS), sorted(set(REAL_SCENARIOS) - set(SCENARIOS))
    for required in ("valid", "self-signed", "expired", "wrong-host", "untrusted-root"):
        assert required in REAL_SCENARIOS


@pytest.mark.parametrize("scenario", REAL_SCENARIOS)
def test_driver_verdicts_match_the_real_server(scenario, lab_ports, real_db, lab_ca, exported,
                                               table):
    real_db.restart_with_certificate(exported / f"{scenario}.crt", exported / f"{scenario}.key")

    def run(driver: str, config: str, port: int):
        opts = dict(CONFIGS[config])
        host = opts.pop("host")
        if opts.pop("ca", False):
            opts["ca"] = lab_ca
        try:
            return run_probe(driver, host=host, port=port, timeout=5, **opts)
        except BaseException as e:  # the probe broke its contract (pytest.fail): a verdict too
            return BrokenProbe(driver=driver, connected=False, error_code="PROBE_BROKEN",
                               error=str(e)[:1500])

    jobs = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for config in configs_for(scenario):
            for driver in DRIVERS:
                jobs[(config, driver)] = (pool.submit(run, driver, config, lab_ports[scenario]),
                                          pool.submit(run, driver, config, real_db.port))
        results = {k: (a.result(), b.result()) for k, (a, b) in jobs.items()}

    problems = []
    for (config, driver), (lab, real) in results.items():
        lab_v, real_v = verdict(lab), verdict(real)
        lab_t, real_t = normalise(lab["error"]), normalise(real["error"])
        table.append(dict(scenario=scenario, config=config, driver=driver, lab=lab_v,
                          real=real_v, same_text=lab_t == real_t, lab_text=lab_t,
                          real_text=real_t))
        if lab_v != real_v:
            problems.append(f"{scenario} / {config} / {driver}: verdict lab {lab_v!r} != real "
                            f"{real_v!r}\n  lab:  {lab.describe()}\n  real: {real.describe()}")
    assert not problems, "\n\n".join(problems)
