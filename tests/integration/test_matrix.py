"""`tlslab matrix` with real drivers, through the real binary, for every protocol the lab speaks.

One run (the module's fixture) puts three shipped drivers -- tedious 19 (TDS), psycopg2
(PostgreSQL) and PyMySQL (MySQL) -- in every configuration of theirs against the whole
catalogue, two cells at a time, on the lab the matrix starts in-process. The report must
validate against the schema; every cell must agree with the reviewed expectations of the lab
matrices (test_lab_matrix.py and its siblings: same drivers, same configurations); each cell's
sessions must be its own (no cross-talk between parallel cells); every refusal must be
explained by the knowledge base (tlslab explain), so a message no entry knows fails here.
Then: a user's own program on the exit-status contract, the sanity check stopping a driver that
does not trust the lab CA, a lab reached through --admin, and bad command lines.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import stat
import subprocess
import time
from pathlib import Path

import pytest

from harness import free_port, free_port_block
from matrix_run import EXPECTATIONS, cells_by_id, run_matrix, validate

# The first catalogue (24 scenarios) and a few of v2's: the whole catalogue in every
# configuration of three drivers would take the CI budget; the lab matrices cover the rest.
SCENARIOS = ",".join([
    "valid", "self-signed", "untrusted-root", "expired", "not-yet-valid", "wrong-host",
    "cn-only", "ip-mismatch", "tls1.0-only", "tls1.1-only", "weak-rsa1024", "sha1-signature",
    "no-serverauth-eku", "incomplete-chain", "reset-during-handshake", "passthrough",
    "encrypt-not-supported", "encrypt-off", "encrypt-required", "tds8-no-alpn",
    "pg-ssl-refused", "pg-no-channel-binding", "pg-no-alpn", "mysql-ssl-hidden",
    "sql-fallback-cert", "ca-cross-signed", "sni-required", "wildcard"])
DRIVERS = ("tedious19", "psycopg2", "pymysql")
TABLES = {"tds": "lab_matrix.json", "postgres": "pg_lab_matrix.json",
          "mysql": "mysql_lab_matrix.json"}
# the lab matrix tests call TDS's trust-server-certificate configuration "trust"
TABLE_CONFIG = {("tds", "trust-server-certificate"): "trust"}

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def run(tlslab_bin, state_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("matrix")
    args = ["--scenarios", SCENARIOS, "--jobs", "2", "--timeout", "60"]
    for d in DRIVERS:
        args += ["--driver", d]
    r = run_matrix(tlslab_bin, state_dir, out, *args)
    assert r.returncode == 0, r.describe()
    return r


def test_report_validates_and_holds_every_cell(run):
    report = run.report
    validate(report)
    ctx = report["context"]
    assert ctx["lab"]["mode"] == "in-process"
    assert [d["name"] for d in ctx["drivers"]] == list(DRIVERS)
    assert all(d["version"] for d in ctx["drivers"]), ctx["drivers"]
    assert all(s["passed"] for s in ctx["sanity"].values()), ctx["sanity"]
    expected = 0
    served = {s["name"]: s["protocols"] for s in ctx["catalogue"]}
    for d in ctx["drivers"]:
        configs = [c for c in ctx["configs"] if c["driver"] == d["name"]]
        expected += len(configs) * sum(d["protocol"] in p for p in served.values())
    assert len(report["cells"]) == expected
    assert report["summary"]["cells"] == expected
    # the terminal: one plain line per cell, then the summary with the same counts
    assert len(re.findall(r"^\[\d+/\d+\] ", run.stdout, re.M)) == expected, run.stdout
    s = report["summary"]
    assert (f"tlslab matrix: {s['cells']} cells: {s['passed']} passed") in run.stdout
    # limbo export: one file per driver and configuration, every cell once
    limbo = list((run.out / "limbo").glob("*.json"))
    assert len(limbo) == len(ctx["configs"])
    results = [r for f in limbo for r in json.loads(f.read_text())["results"]]
    assert len(results) == expected
    assert {r["actual_result"] for r in results} <= {"SUCCESS", "FAILURE", "SKIPPED"}


def test_cells_agree_with_the_reviewed_lab_matrices(run):
    """The same driver, configuration and scenario through `tlslab matrix` and through the lab
    matrix tests: the same connected/refused (the tables are reviewed by hand)."""
    tables = {p: json.loads((EXPECTATIONS / f).read_text())["cases"] for p, f in TABLES.items()}
    compared = 0
    disagreements = []
    for c in run.report["cells"]:
        config = TABLE_CONFIG.get((c["protocol"], c["config"]), c["config"])
        row = tables[c["protocol"]].get(f"{c['driver']}/{config}/{c['scenario']}")
        if row is None or row.get("error_code") in ("UNSUPPORTED_MODE", "UNSUPPORTED_OPTION"):
            continue
        compared += 1
        got = c["driver_result"]["connected"]
        if got is not row["connected"]:
            disagreements.append(f"{c['id']}: matrix {got} ({c['label']}), table {row}")
    assert compared >= 60, compared
    assert not disagreements, "\n".join(disagreements)


def test_verdicts_follow_the_scenarios(run):
    cells = cells_by_id(run.report)
    # a validating configuration refuses what it must, and gets in where it should
    assert cells["tds/tedious19/lab-ca/valid"]["verdict"] == "accepted-correctly"
    assert cells["tds/tedious19/lab-ca/expired"]["verdict"] == "refused-correctly"
    assert cells["tds/tedious19/lab-ca/expired"]["label"] == "cert-expired"
    assert cells["postgres/psycopg2/verify-full/wrong-host"]["label"] == "name-mismatch"
    # TrustServerCertificate and sslmode=require: accepted a broken certificate, and the
    # password / login was read through it
    tsc = cells["tds/tedious19/trust-server-certificate/self-signed"]
    assert tsc["verdict"] == "accepted-broken", tsc
    assert any("password of user 'lab'" in e for e in tsc["proxy"]["exposed"]), tsc["proxy"]
    assert cells["postgres/psycopg2/require/self-signed"]["verdict"] == "accepted-broken"
    # downgrades: answered OFF, the tedious login goes in clear; PREFERRED MySQL goes on in clear
    assert cells["tds/tedious19/lab-ca/encrypt-off"]["verdict"] == "downgraded"
    assert cells["tds/tedious19/lab-ca/encrypt-off"]["proxy"]["login_in_clear"] is True
    assert cells["mysql/pymysql/defaults/mysql-ssl-hidden"]["verdict"] == "downgraded"
    # the summary counts the cells
    counts: dict[str, int] = {}
    for c in run.report["cells"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    for v, n in run.report["summary"]["verdicts"].items():
        assert counts.get(v, 0) == n, (v, counts)


def test_each_cell_holds_only_its_own_sessions(run):
    """Cells ran two at a time: every record a cell holds came to that cell's listener, in that
    cell's scenario, and a cell whose driver reached the lab has at least one."""
    for c in run.report["cells"]:
        port = int(re.search(r"--port (\d+)", c["command"]).group(1))
        for r in c["proxy"]["records"]:
            assert r["scenario"] == c["scenario"], (c["id"], r["scenario"])
            assert r["listen_port"] == port if "listen_port" in r else True
        if c["driver_result"]["connected"]:
            assert c["proxy"]["sessions"] >= 1, c["id"]


def test_every_refusal_is_explained_by_the_knowledge_base(run):
    """A driver message our knowledge base does not know fails here (tlslab explain must map
    every message a matrix run observes)."""
    unknown = [f"{c['id']}: {c['driver_result']['error']}" for c in run.report["cells"]
               if c["driver_result"]["connected"] is False and c["driver_result"]["error"]
               and not c["explained"]]
    assert not unknown, "\n".join(unknown)


# ---- a user's own program, the sanity check, --admin, bad input ----------------------------------

MINE = """#!/bin/sh
# A user's own client: psql, judged by its exit status alone (no JSON line).
# usage: mine HOST PORT CA SSLMODE
exec env -i PATH=/usr/bin:/bin HOME=/nonexistent PGPASSWORD=lab-password PGCONNECT_TIMEOUT=5 \\
    PGSSLMODE="$4" PGSSLROOTCERT="$3" psql -h "$1" -p "$2" -U lab -d lab -Atc 'select 1'
"""


@pytest.fixture(scope="module")
def mine(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("mine") / "mine"
    p.write_text(MINE)
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def test_a_users_own_program_on_the_exit_status_contract(tlslab_bin, state_dir, tmp_path, mine):
    r = run_matrix(tlslab_bin, state_dir, tmp_path / "out", "--protocol", "postgres",
                   "--driver", f"mine={mine} {{host}} {{port}} {{ca}}",
                   "--config", "verify-full=verify-full", "--config", "require=require",
                   "--scenarios", "valid,self-signed,wrong-host")
    assert r.returncode == 0, r.describe()
    report = r.report
    validate(report)
    cells = cells_by_id(report)
    assert set(cells) == {f"postgres/mine/{c}/{s}" for c in ("verify-full", "require")
                          for s in ("valid", "self-signed", "wrong-host")}
    assert all(c["driver_result"]["contract"] == "exit-status" for c in cells.values())
    assert cells["postgres/mine/verify-full/valid"]["verdict"] == "accepted-correctly"
    refused = cells["postgres/mine/verify-full/self-signed"]
    assert refused["verdict"] == "refused-correctly"
    assert "certificate verify failed" in refused["driver_result"]["error"]
    assert refused["explained"], refused
    assert cells["postgres/mine/require/wrong-host"]["verdict"] == "accepted-broken"
    assert report["context"]["drivers"][0]["builtin"] is False


def test_a_scenario_that_dials_a_name_gets_it_in_a_private_hosts_file(tlslab_bin, state_dir,
                                                                     tmp_path, mine):
    """wildcard and dial-fqdn-cert-short dial sql01.corp.example, which this machine does not
    resolve: as root, tlslab runs the driver in a mount namespace whose /etc/hosts maps the
    name to 127.0.0.1 (the machine's own /etc/hosts stays as it was)."""
    assert os.geteuid() == 0, "the integration suite runs as root"
    hosts_before = Path("/etc/hosts").read_text()
    r = run_matrix(tlslab_bin, state_dir, tmp_path / "out", "--protocol", "postgres",
                   "--driver", f"mine={mine} {{host}} {{port}} {{ca}}",
                   "--config", "verify-full=verify-full",
                   "--scenarios", "valid,wildcard,dial-fqdn-cert-short")
    assert r.returncode == 0, r.describe()
    validate(r.report)
    cells = cells_by_id(r.report)
    wildcard = cells["postgres/mine/verify-full/wildcard"]
    short = cells["postgres/mine/verify-full/dial-fqdn-cert-short"]
    for c in (wildcard, short):
        assert " sql01.corp.example " in c["command"], c["command"]
        assert c["private_hosts"] == ["sql01.corp.example"], c
        assert c["proxy"]["sessions"] >= 1, c
    assert wildcard["verdict"] == "accepted-correctly", wildcard
    assert short["verdict"] == "refused-correctly", short
    assert 'does not match host name "sql01.corp.example"' in short["driver_result"]["error"]
    assert "private_hosts" not in cells["postgres/mine/verify-full/valid"]
    assert Path("/etc/hosts").read_text() == hosts_before


def test_sanity_check_stops_a_driver_that_does_not_trust_the_lab_ca(tlslab_bin, state_dir,
                                                                    tmp_path, mine, foreign_ca):
    r = run_matrix(tlslab_bin, state_dir, tmp_path / "out", "--protocol", "postgres",
                   "--driver", f"mine={mine} {{host}} {{port}} {foreign_ca}",
                   "--config", "verify-full=verify-full",
                   "--scenarios", "valid,self-signed,expired")
    assert r.returncode == 3, r.describe()
    assert "sanity check failed" in r.stderr and "does not trust the lab CA" in r.stderr, \
        r.describe()
    assert "pass {ca}" in r.stderr
    report = r.report
    validate(report)
    assert report["context"]["sanity"]["mine"]["passed"] is False
    # only the sanity cell ran: the driver was not run further
    assert [c["scenario"] for c in report["cells"]] == ["valid"]


def test_matrix_against_a_running_lab_through_its_admin_api(tlslab_bin, state_dir, tmp_path):
    admin = f"127.0.0.1:{free_port()}"
    lab = subprocess.Popen(
        [str(tlslab_bin), "--state-dir", str(state_dir), "lab", "--protocol", "postgres",
         # (--only keeps each scenario's catalogue port: the block must hold the catalogue)
         "--postgres-base-port", str(free_port_block(80)), "--only", "valid,expired,wrong-host",
         "--admin", admin], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = lab.stdout.readline()
            seen.append(line)
            if "admin API on" in line or not line:
                break
        assert any("admin API on" in s for s in seen), "".join(seen)
        r = run_matrix(tlslab_bin, state_dir, tmp_path / "out", "--admin", admin,
                       "--driver", "psycopg2", "--config", "verify-full", "--config", "require")
        assert r.returncode == 0, r.describe()
        report = r.report
        validate(report)
        assert report["context"]["lab"] == {**report["context"]["lab"], "mode": "admin",
                                            "admin": admin}
        cells = cells_by_id(report)
        assert len(cells) == 6
        assert cells["postgres/psycopg2/verify-full/expired"]["verdict"] == "refused-correctly"
        assert cells["postgres/psycopg2/require/expired"]["verdict"] == "accepted-broken"
        assert all(c["proxy"]["sessions"] >= 1 for c in cells.values())
    finally:
        lab.terminate()
        lab.wait(timeout=30)


@pytest.mark.parametrize("args, message", [
    ((), "give at least one --driver"),
    (("--driver", "no-such-driver"), "no shipped driver 'no-such-driver'"),
    (("--driver", "mine=true"), "needs --protocol"),
    (("--driver", "psql", "--config", "nope"), "none of the configurations"),
    (("--driver", "psql", "--scenarios", "nope"), "unknown scenario 'nope'"),
    (("--driver", "mine=probe {hots}", "--protocol", "tds", "--scenarios", "valid"),
     "unknown placeholder {hots}"),
])
def test_bad_command_lines_say_what_is_wrong(tlslab_bin, state_dir, tmp_path, args, message):
    r = run_matrix(tlslab_bin, state_dir, tmp_path / "out", *args, timeout=120)
    assert r.returncode != 0, r.describe()
    assert message in r.stderr + r.stdout, r.describe()


def test_list_drivers(tlslab_bin):
    cp = subprocess.run([str(tlslab_bin), "matrix", "--list-drivers"], capture_output=True,
                        text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    for name in ("tedious19", "tedious14", "jdbc9", "psql", "node-pg80", "mysql2-v2"):
        assert re.search(rf"^{re.escape(name)} ", cp.stdout, re.M), cp.stdout


def test_a_terminal_gets_a_progress_bar(tlslab_bin, state_dir, tmp_path, mine):
    """On a terminal (a pty made by script(1)) the cells show as one progress bar on stderr
    instead of a line each; the summary is the same."""
    cmd = [str(tlslab_bin), "--state-dir", str(state_dir), "matrix", "--out",
           str(tmp_path / "out"), "--protocol", "postgres", "--driver",
           f"mine={mine} {{host}} {{port}} {{ca}}", "--config", "verify-full=verify-full",
           "--scenarios", "valid,self-signed,expired"]
    cp = subprocess.run(["script", "-qec", " ".join(map(shlex_quote, cmd)), "/dev/null"],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = cp.stdout.decode(errors="replace")  # bytes: text mode would turn \r into \n
    assert cp.returncode == 0, out
    assert re.search(r"\r\x1b\[K\[#+\.*\] 3/3 ", out), repr(out[-2000:])
    assert not re.search(r"^\[\d+/\d+\] ", out, re.M)
    assert "tlslab matrix: 3 cells: 3 passed" in out


def test_interrupted_run_keeps_the_cells_that_ran(tlslab_bin, state_dir, tmp_path):
    """Ctrl-C: the cell that runs finishes, no new one starts, the report holds what ran, and
    the exit status says it was interrupted."""
    out = tmp_path / "out"
    p = subprocess.Popen([str(tlslab_bin), "--state-dir", str(state_dir), "matrix", "--out",
                          str(out), "--protocol", "tds", "--driver", "slow=sleep 3",
                          "--scenarios", "valid,self-signed,expired,wrong-host"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # interrupt once the first cell has run (its line is printed), however long the lab
        # took to start on a loaded machine
        first = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            ready, _, _ = select.select([p.stdout], [], [], 0.5)
            if ready:
                line = p.stdout.readline()
                first += line
                if line.startswith("[1/"):
                    break
        p.send_signal(2)
        stdout, stderr = p.communicate(timeout=60)
        stdout = first + stdout
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    cells = json.loads((out / "report.json").read_text())["cells"]
    assert 1 <= len(cells) < 4, [c["id"] for c in cells]


def shlex_quote(s: str) -> str:
    return shlex.quote(s)
