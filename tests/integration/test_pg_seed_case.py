"""The issue's seed case, spelled out: psycopg2 against `tlslab lab --protocol postgres`.

One lab per module (the PostgreSQL 16 stand-in behind it: ssl off, scram-sha-256, user lab /
lab-password, database lab). psycopg2 2.9 runs on the libpq 17 inside its wheel (its own
OpenSSL), through the psycopg2 probe (probes/README.md, PostgreSQL section). What must
hold:

* `sslmode=verify-full sslrootcert=<lab CA>` connects to `valid` and refuses every broken
  certificate with its own words: libpq says only "certificate verify failed" for a chain it
  cannot verify (drivers.md §4.4), so the TLS alert it sends, which the lab records, tells the
  defects apart; a name mismatch is libpq's own check after the handshake ("does not match host
  name", no alert); TLS 1.0/1.1 is "unsupported protocol" with protocol_version.
* `sslmode=require` (no root certificate) connects through all of them, and the lab's record
  shows what it read: the login (user lab, database lab) through TLS, SCRAM-SHA-256, completed.
  SCRAM sends no password, so the lab reads none and prints no EXPOSED line.
* `sslmode=prefer` falls back to plaintext when TLS fails (tls1.0-only, tls1.1-only): a first
  session that ends in the client's protocol_version alert, then a second one that logs in in
  plaintext.
* `pg-ssl-refused` (the SSLRequest answered 'N'): prefer goes on in plaintext, require refuses.
* The lab says what it serves: PROTOCOL postgres rows on stdout, a "postgres" key in
  --ports-json.

Each attempt's sessions are the lab's records of that scenario's listener that started while
the probe ran (the attempts run one after the other).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import EventLog, TlslabProcess, run_probe
from test_pg_lab_matrix import SCENARIOS, start_pg_lab

DRIVER = "psycopg2"
USER, DATABASE = "lab", "lab"

# scenario -> (what psycopg2's error must say, the TLS alert libpq sends, the lab's outcome)
VERIFY_FAILED = "SSL error: certificate verify failed"
REFUSALS = {
    "self-signed": (VERIFY_FAILED, "unknown_ca", "alert"),
    "untrusted-root": (VERIFY_FAILED, "unknown_ca", "alert"),
    "expired": (VERIFY_FAILED, "certificate_expired", "alert"),
    "not-yet-valid": (VERIFY_FAILED, "bad_certificate", "alert"),
    "wrong-host": ('server certificate for "db.example.com" does not match host name "localhost"',
                   None, "closed-after-handshake"),
    # dialled by address; "(and N other names)" between the two depends on the machine
    "ip-mismatch": ('does not match host name "127.0.0.1"', None, "closed-after-handshake"),
    "weak-rsa1024": (VERIFY_FAILED, "bad_certificate", "alert"),  # the wheel's OpenSSL refuses
    "sha1-signature": (VERIFY_FAILED, "bad_certificate", "alert"),
    "no-serverauth-eku": (VERIFY_FAILED, "unsupported_certificate", "alert"),
    "incomplete-chain": (VERIFY_FAILED, "unknown_ca", "alert"),
    "tls1.0-only": ("SSL error: unsupported protocol", "protocol_version", "alert"),
    "tls1.1-only": ("SSL error: unsupported protocol", "protocol_version", "alert"),
}
CERTIFICATE_DEFECTS = [s for s in REFUSALS if not s.startswith("tls1.")]
OLD_TLS = ["tls1.0-only", "tls1.1-only"]


# ---- the lab and one attempt ----------------------------------------------------------------

@dataclass
class Attempt:
    result: dict          # the probe's JSON
    sessions: list[dict]  # the lab's records of this attempt, in order
    describe: str

    def text(self) -> str:
        return self.describe + "\nsessions:\n" + "\n".join(
            "  " + json.dumps({k: v for k, v in s.items() if not k.endswith("_ts")})
            for s in self.sessions)


class SeedLab:
    def __init__(self, proc: TlslabProcess, ports: dict[str, int], events: EventLog,
                 ports_json: Path, lab_ca: Path):
        self.proc, self.ports, self.events = proc, ports, events
        self.ports_json, self.lab_ca = ports_json, lab_ca

    def attempt(self, scenario: str, sessions: int = 1, **options) -> Attempt:
        """psycopg2 once against the scenario's listener; waits (bounded) for `sessions`
        records started during the run and for the file to be quiet."""
        host = "127.0.0.1" if scenario == "ip-mismatch" else "localhost"
        t0 = time.time()
        res = run_probe(DRIVER, host=host, port=self.ports[scenario], timeout=5, **options)
        t1 = time.time()

        def mine(r):  # `started` is truncated to the millisecond
            return r["scenario"] == scenario and t0 - 0.002 <= r["started_ts"] <= t1 + 0.002

        self.events.wait_for(mine, bound=10, count=sessions, what=f"{scenario} sessions")
        n, quiet = len(self.events.records()), time.monotonic()
        while time.monotonic() - quiet < 0.3:
            time.sleep(0.05)
            if len(self.events.records()) != n:
                n, quiet = len(self.events.records()), time.monotonic()
        recs = sorted((r for r in self.events.records() if mine(r)),
                      key=lambda r: (r["started_ts"], r["id"]))
        return Attempt(dict(res), recs, res.describe())

    def session_log(self, record: dict, since: int) -> list[str]:
        """The lab's log lines of one session (tag `[pg:SCENARIO#ID `), after its summary
        line was written."""
        tag = f"[pg:{record['scenario']}#{record['id']} "
        self.proc.wait_for_log(re.escape(tag), since=since, timeout=5)
        return [ln for ln in self.proc.log(since) if tag in ln]


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, lab_ca, tmp_path_factory):
    proc, ports, events, ports_json = start_pg_lab(
        tlslab_bin, state_dir, tmp_path_factory.mktemp("pg-seed"), SCENARIOS)
    try:
        yield SeedLab(proc, ports, events, ports_json, lab_ca)
    finally:
        proc.stop()


def verify_full(lab: SeedLab) -> dict:
    return {"encrypt": "verify-full", "ca": lab.lab_ca}


def assert_scram_login_read_through_tls(a: Attempt, record: dict) -> None:
    """The record of a session the lab read over TLS: user lab, database lab, SCRAM-SHA-256
    completed, no password read."""
    assert record["protocol"] == "postgres", a.text()
    assert record["outcome"] == "login-encrypted", a.text()
    assert record["client_leg"]["mode"] == "full", a.text()
    assert record["client_leg"]["tls"]["established"] is True, a.text()
    login, pg = record["login"], record["postgres"]
    assert login["user_name"] == USER and login["database"] == DATABASE, a.text()
    assert login["through_tls"] is True, a.text()
    assert pg["negotiation"] == "SSLRequest answered S", a.text()
    assert pg["auth_method"] == "SCRAM-SHA-256", a.text()
    assert pg["authenticated"] is True and pg["auth_error"] == "", a.text()
    # SCRAM: the password itself never crosses the wire, so there is none to read
    assert login["password"] is None and login["password_length"] == 0, a.text()


# ---- verify-full: connects to valid, refuses each defect with its own words ------------------

def test_verify_full_connects_to_valid(lab):
    a = lab.attempt("valid", **verify_full(lab))
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert a.result["libpq_version"].startswith("17."), a.text()
    assert len(a.sessions) == 1, a.text()
    assert_scram_login_read_through_tls(a, a.sessions[0])


@pytest.mark.parametrize("scenario", list(REFUSALS))
def test_verify_full_refuses(lab, scenario):
    text, alert, outcome = REFUSALS[scenario]
    a = lab.attempt(scenario, **verify_full(lab))
    assert a.result["connected"] is False, a.text()
    assert a.result["error_code"] == "OperationalError", a.text()
    assert text in a.result["error"], a.text()
    assert len(a.sessions) == 1, a.text()
    s = a.sessions[0]
    assert s["outcome"] == outcome, a.text()
    assert (s["alert"] or {}).get("name") == alert, a.text()
    # refused before any login: the lab read no StartupMessage
    assert s["login"] is None, a.text()


# ---- require: connects through all of them; the lab shows what it read ----------------------

@pytest.mark.parametrize("scenario", ["valid", *CERTIFICATE_DEFECTS])
def test_require_connects_and_the_lab_reads_the_login(lab, scenario):
    mark = lab.proc.mark()
    a = lab.attempt(scenario, encrypt="require")
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert len(a.sessions) == 1, a.text()
    record = a.sessions[0]
    assert_scram_login_read_through_tls(a, record)
    # The lab warns with EXPOSED when it reads a password (cleartext or MD5) through a
    # certificate a validating client must reject; SCRAM gave it none, so it must not.
    lines = lab.session_log(record, mark)
    assert lines, "the session logged nothing"
    assert not [ln for ln in lines if "EXPOSED" in ln], "\n".join(lines)


@pytest.mark.parametrize("scenario", OLD_TLS)
def test_require_refuses_old_tls(lab, scenario):
    a = lab.attempt(scenario, encrypt="require")
    assert a.result["connected"] is False, a.text()
    assert "SSL error: unsupported protocol" in a.result["error"], a.text()
    assert [s["outcome"] for s in a.sessions] == ["alert"], a.text()
    assert a.sessions[0]["alert"]["name"] == "protocol_version", a.text()
    assert a.sessions[0]["login"] is None, a.text()


# ---- prefer: plaintext when TLS fails ---------------------------------------------------------

@pytest.mark.parametrize("scenario", OLD_TLS)
def test_prefer_falls_back_to_plaintext_when_tls_fails(lab, scenario):
    a = lab.attempt(scenario, sessions=2, encrypt="prefer")
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is False, a.text()
    assert len(a.sessions) == 2, a.text()
    first, second = a.sessions
    # 1: the SSLRequest answered S, then the client refuses the TLS 1.0/1.1 ServerHello
    assert first["outcome"] == "alert", a.text()
    assert first["alert"]["name"] == "protocol_version", a.text()
    assert first["postgres"]["ssl_answer"] == "S", a.text()
    assert first["login"] is None, a.text()
    # 2: libpq's silent retry without TLS; the login crosses the network in clear
    assert second["outcome"] == "login-plaintext", a.text()
    assert second["postgres"]["negotiation"] == "plaintext", a.text()
    assert second["postgres"]["ssl_request"] is False, a.text()
    assert second["login"]["user_name"] == USER, a.text()
    assert second["login"]["through_tls"] is False, a.text()
    assert second["postgres"]["auth_method"] == "SCRAM-SHA-256", a.text()
    assert second["postgres"]["authenticated"] is True, a.text()


# ---- pg-ssl-refused: the SSLRequest answered 'N' ----------------------------------------------

def test_ssl_refused_prefer_goes_on_in_plaintext(lab):
    a = lab.attempt("pg-ssl-refused", encrypt="prefer")
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is False, a.text()
    assert len(a.sessions) == 1, a.text()  # the same connection goes on after 'N'
    s = a.sessions[0]
    assert s["outcome"] == "login-plaintext", a.text()
    assert s["postgres"]["ssl_request"] is True, a.text()
    assert s["postgres"]["ssl_answer"] == "N", a.text()
    assert s["login"]["user_name"] == USER and s["login"]["through_tls"] is False, a.text()
    assert s["postgres"]["authenticated"] is True, a.text()


def test_ssl_refused_require_refuses(lab):
    a = lab.attempt("pg-ssl-refused", encrypt="require")
    assert a.result["connected"] is False, a.text()
    assert "server does not support SSL, but SSL was required" in a.result["error"], a.text()
    assert len(a.sessions) == 1, a.text()
    s = a.sessions[0]
    assert s["outcome"] == "closed-before-tls", a.text()
    assert s["postgres"]["ssl_answer"] == "N", a.text()
    assert s["login"] is None, a.text()


# ---- what the lab says it serves ----------------------------------------------------------------

def test_stdout_table_has_a_postgres_row_per_scenario(lab):
    rows = {}
    for line in lab.proc.stdout_lines:
        m = re.match(r"(\d+)\s+(\S+)\s+(\S+)\s+(accept|reject)\s", line)
        if m:
            rows[m.group(3)] = (int(m.group(1)), m.group(2))
    header = [ln for ln in lab.proc.stdout_lines if re.match(r"PORT\s+PROTOCOL\s+SCENARIO", ln)]
    assert header, "\n".join(lab.proc.stdout_lines)
    assert rows == {s: (lab.ports[s], "postgres") for s in SCENARIOS}, \
        "\n".join(lab.proc.stdout_lines)


def test_ports_json_has_the_postgres_key(lab):
    ports = json.loads(lab.ports_json.read_text())
    assert list(ports) == ["postgres"], ports  # --protocol postgres: no "tds" listeners
    assert ports["postgres"] == lab.ports
    assert set(ports["postgres"]) == set(SCENARIOS)
    assert "pg-ssl-refused" in ports["postgres"] and "valid" in ports["postgres"]
    assert "encrypt-off" not in ports["postgres"]  # a TDS-only scenario
