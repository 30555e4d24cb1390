"""The issue's seed case, spelled out: mysql-connector-python against `tlslab lab --protocol mysql`.

One lab per module (the MySQL 8.0 stand-in behind it: SSL offered, caching_sha2_password, user
lab / lab-password, database lab), started with test_mysql_lab_matrix.py's start_mysql_lab.
mysql-connector-python 26.10.0 in both its forms, each through its probe
(probes/README.md, "MySQL probes"): `mysqlconnector` (the C extension, libmysqlclient on
the wheel's OpenSSL 3.5) and `mysqlconnector-pure` (pure Python, Python's ssl). What must hold:

* `ssl_ca=<lab CA>, ssl_verify_cert=True, ssl_verify_identity=True` (the probe's
  VERIFY_IDENTITY) connects to `valid` and refuses every broken certificate, before any login
  (the lab reads no HandshakeResponse), with its own words (REFUSALS: the C extension says only
  "certificate verify failed", so the TLS alert it sends, which the lab records, tells the
  defects apart) and TLS 1.0/1.1.
* `ssl_ca` + `ssl_verify_cert=True` (VERIFY_CA: the chain, not the name) accepts `wrong-host`
  (and `ip-mismatch`), and still refuses a certificate of another CA.
* REQUIRED: mysql-connector-python has no such mode (no keyword makes it insist on TLS without
  verifying: the probe says `unsupported_mode` and runs nothing; checked). Its nearest, and the
  seed's own wording, is `ssl_ca` alone (the probe with --ca and no --ssl-mode): it verifies
  nothing (pure Python: CERT_NONE; C extension: libmysqlclient's PREFERRED), so it accepts every
  certificate. The lab's record says what it read: user lab, database lab, plugin
  caching_sha2_password, the path (fast, or full with the password in clear inside TLS),
  whether the password was read; the log has an EXPOSED line for each login through a
  certificate the client should have refused: with the password's length on the full path, a
  crackable scramble response on the fast path.
* caching_sha2_password's cache lives as long as the lab process: the first login of `lab` is
  the full path, later ones the fast path. The full path through a broken certificate is
  therefore checked with a fresh lab of its own (test_full_path_exposes_the_password).

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
from test_mysql_lab_matrix import SCENARIOS, start_mysql_lab

DRIVERS = ("mysqlconnector", "mysqlconnector-pure")
USER, DATABASE, PASSWORD = "lab", "lab", "lab-password"
PLUGIN = "caching_sha2_password"

# scenario -> (the TLS alert the client sends, the lab's outcome, what the pure-Python form says
# after "certificate verify failed: " (Python's ssl names OpenSSL's reason)). The C extension
# (libmysqlclient) says only 2026 "SSL connection error: error:0A000086:SSL
# routines::certificate verify failed" for each: the alert tells the defects apart.
# cn-only is left out: a certificate with the name in its CN only is accepted by both forms
# (OpenSSL still matches the CN when there is no DNS SAN; see the lab matrix).
REFUSALS = {
    "self-signed": ("unknown_ca", "self-signed certificate"),
    "untrusted-root": ("unknown_ca", "unable to get local issuer certificate"),
    "expired": ("certificate_expired", "certificate has expired"),
    "not-yet-valid": ("bad_certificate", "certificate is not yet valid"),
    "wrong-host": ("bad_certificate", "Hostname mismatch, certificate is not valid for 'localhost'"),
    "ip-mismatch": ("bad_certificate", "IP address mismatch, certificate is not valid for '127.0.0.1'"),
    "weak-rsa1024": ("bad_certificate", "EE certificate key too weak"),
    "sha1-signature": ("bad_certificate", "CA signature digest algorithm too weak"),
    "no-serverauth-eku": ("unsupported_certificate", "unsuitable certificate purpose"),
    "incomplete-chain": ("unknown_ca", "unable to get local issuer certificate"),
}
CERTIFICATE_DEFECTS = list(REFUSALS)
CEXT_VERIFY_FAILED = (2026, "2026 (HY000): SSL connection error: error:0A000086:SSL "
                            "routines::certificate verify failed")
# TLS 1.0/1.1 only: libmysqlclient (OpenSSL 3.5, TLS 1.2+) refuses the old ServerHello with
# protocol_version; Python's ssl offers no cipher suite TLS 1.0/1.1 can use, so the lab finds
# no shared cipher and sends handshake_failure itself (protocol-error, no client alert: as
# asyncpg in the PostgreSQL lab matrix).
OLD_TLS = {
    "mysqlconnector": (2026, "SSL connection error: error:0A000102:SSL routines::unsupported "
                             "protocol", "alert", "protocol_version"),
    "mysqlconnector-pure": (2055, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake "
                                  "failure", "protocol-error", None),
}


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

    def attempt(self, driver: str, scenario: str, sessions: int = 1, **options) -> Attempt:
        """The probe once against the scenario's listener; waits (bounded) for `sessions`
        records started during the run (0: none expected) and for the file to be quiet."""
        host = "127.0.0.1" if scenario == "ip-mismatch" else "localhost"
        t0 = time.time()
        res = run_probe(driver, host=host, port=self.ports[scenario], timeout=5, **options)
        t1 = time.time()

        def mine(r):  # `started` is truncated to the millisecond
            return r["scenario"] == scenario and t0 - 0.002 <= r["started_ts"] <= t1 + 0.002

        if sessions:
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
        """The lab's log lines of one session (tag `[my:SCENARIO#ID `), once it logged one."""
        tag = f"[my:{record['scenario']}#{record['id']} "
        self.proc.wait_for_log(re.escape(tag), since=since, timeout=5)
        return [ln for ln in self.proc.log(since) if tag in ln]


def _start(tlslab_bin, state_dir, lab_ca, d: Path) -> SeedLab:
    proc, ports, events, ports_json = start_mysql_lab(tlslab_bin, state_dir, d, SCENARIOS)
    return SeedLab(proc, ports, events, ports_json, lab_ca)


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, lab_ca, tmp_path_factory):
    seed = _start(tlslab_bin, state_dir, lab_ca, tmp_path_factory.mktemp("mysql-seed"))
    try:
        yield seed
    finally:
        seed.proc.stop()


def verify_identity(lab: SeedLab) -> dict:
    return {"ca": lab.lab_ca, "ssl_mode": "VERIFY_IDENTITY"}


def verify_ca(lab: SeedLab) -> dict:
    return {"ca": lab.lab_ca, "ssl_mode": "VERIFY_CA"}


def ssl_ca_alone(lab: SeedLab) -> dict:
    return {"ca": lab.lab_ca}


def assert_login_read_through_tls(a: Attempt, record: dict) -> None:
    """The record of a session the lab read over TLS: user lab, database lab,
    caching_sha2_password completed."""
    assert record["protocol"] == "mysql", a.text()
    assert record["outcome"] == "login-encrypted", a.text()
    assert record["client_leg"]["tls"]["established"] is True, a.text()
    login, my = record["login"], record["mysql"]
    assert login["user_name"] == USER and login["database"] == DATABASE, a.text()
    assert login["through_tls"] is True, a.text()
    assert login["library_name"].startswith("mysql-connector-python") or \
        login["library_name"].startswith("libmysql"), a.text()
    assert my["negotiation"] == "SSLRequest" and my["ssl_request"] is True, a.text()
    assert my["client_plugin"] == PLUGIN and my["auth_plugins"] == [PLUGIN], a.text()
    assert my["authenticated"] is True and my["auth_error"] == "", a.text()
    assert my["commands_after_ok"] is True, a.text()
    assert my["server_is_mariadb"] is False, a.text()


# ---- VERIFY_IDENTITY: connects to valid, refuses each defect ---------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_identity_connects_to_valid(lab, driver):
    a = lab.attempt(driver, "valid", **verify_identity(lab))
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert a.result["ssl_settings"] == {"ssl_verify_cert": True, "ssl_verify_identity": True,
                                        "ssl_ca": str(lab.lab_ca)}, a.text()
    if driver == "mysqlconnector":
        assert a.result["cext"] is True, a.text()
    assert len(a.sessions) == 1, a.text()
    assert_login_read_through_tls(a, a.sessions[0])


@pytest.mark.parametrize("scenario", CERTIFICATE_DEFECTS)
@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_identity_refuses(lab, driver, scenario):
    alert, pure_text = REFUSALS[scenario]
    a = lab.attempt(driver, scenario, **verify_identity(lab))
    assert a.result["connected"] is False, a.text()
    if driver == "mysqlconnector":
        code, text = CEXT_VERIFY_FAILED
    else:
        code, text = 2055, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: " + pure_text
    assert a.result["error_code"] == code and text in a.result["error"], a.text()
    assert len(a.sessions) == 1, a.text()
    s = a.sessions[0]
    assert s["outcome"] == "alert" and s["alert"]["name"] == alert, a.text()
    # refused before any login: the lab read no HandshakeResponse, the stand-in saw nothing
    assert s["login"] is None, a.text()
    assert s["mysql"]["ssl_request"] is True and s["mysql"]["authenticated"] is False, a.text()


@pytest.mark.parametrize("scenario", ["tls1.0-only", "tls1.1-only"])
@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_identity_refuses_old_tls(lab, driver, scenario):
    code, text, outcome, alert = OLD_TLS[driver]
    a = lab.attempt(driver, scenario, **verify_identity(lab))
    assert a.result["connected"] is False, a.text()
    assert a.result["error_code"] == code and text in a.result["error"], a.text()
    assert [s["outcome"] for s in a.sessions] == [outcome], a.text()
    assert (a.sessions[0]["alert"] or {}).get("name") == alert, a.text()
    assert a.sessions[0]["login"] is None, a.text()


# ---- VERIFY_CA (ssl_ca + ssl_verify_cert): the chain, not the name ---------------------------

@pytest.mark.parametrize("scenario", ["wrong-host", "ip-mismatch"])
@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_ca_accepts_a_wrong_name(lab, driver, scenario):
    a = lab.attempt(driver, scenario, **verify_ca(lab))
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert a.result["ssl_settings"] == {"ssl_verify_cert": True, "ssl_ca": str(lab.lab_ca)}, \
        a.text()
    assert len(a.sessions) == 1, a.text()
    assert_login_read_through_tls(a, a.sessions[0])


@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_ca_still_refuses_another_ca(lab, driver):
    a = lab.attempt(driver, "untrusted-root", **verify_ca(lab))
    assert a.result["connected"] is False, a.text()
    assert [s["outcome"] for s in a.sessions] == ["alert"], a.text()
    assert a.sessions[0]["alert"]["name"] == "unknown_ca", a.text()
    assert a.sessions[0]["login"] is None, a.text()


# ---- REQUIRED: not expressible; ssl_ca alone accepts everything ------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_required_is_not_expressible(lab, driver):
    a = lab.attempt(driver, "valid", sessions=0, ssl_mode="REQUIRED")
    assert a.result["connected"] is False, a.text()
    assert a.result["error_code"] == "UNSUPPORTED_MODE", a.text()
    assert a.result.get("unsupported_mode") is True, a.text()
    assert a.sessions == [], a.text()  # nothing was run


def check_what_the_lab_read(lab: SeedLab, a: Attempt, record: dict, mark: int,
                            scenario: str) -> str:
    """The record and the EXPOSED line of a caching_sha2_password login the lab read; returns
    the path ("fast" or "full: password in clear (TLS)")."""
    assert_login_read_through_tls(a, record)
    my, login = record["mysql"], record["login"]
    lines = lab.session_log(record, mark)
    exposed = [ln for ln in lines if "EXPOSED" in ln]
    broken = scenario != "valid"
    if my["auth_path"] == "full: password in clear (TLS)":
        # the client sent its password NUL-terminated inside TLS: the lab read it
        assert my["password_read"] is True, a.text()
        assert my["password_via"] == "caching_sha2_password full authentication", a.text()
        assert login["password_length"] == len(PASSWORD), a.text()
        assert login["password"] is None, a.text()  # masked without --reveal-secrets
        want = (rf"EXPOSED: read the login of user '{USER}' with a {len(PASSWORD)}-character "
                rf"password in clear .*through the '{re.escape(scenario)}' certificate")
    else:
        assert my["auth_path"] == "fast", a.text()
        assert my["password_read"] is False and login["password_length"] == 0, a.text()
        want = (rf"EXPOSED: read the login of user '{USER}' with a {PLUGIN} response, crackable "
                rf"offline.*through the '{re.escape(scenario)}' certificate")
    if broken:
        assert [ln for ln in exposed if re.search(want, ln)], "\n".join(lines)
    else:
        assert not exposed, "\n".join(lines)  # valid: nothing a client should have refused
    assert not [ln for ln in lines if PASSWORD in ln], "\n".join(lines)
    return my["auth_path"]


@pytest.mark.parametrize("scenario", ["valid"] + CERTIFICATE_DEFECTS)
@pytest.mark.parametrize("driver", DRIVERS)
def test_ssl_ca_alone_accepts_every_certificate(lab, driver, scenario):
    mark = lab.proc.mark()
    a = lab.attempt(driver, scenario, **ssl_ca_alone(lab))
    assert a.result["ssl_settings"] == {"ssl_ca": str(lab.lab_ca)}, a.text()
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert len(a.sessions) == 1, a.text()
    check_what_the_lab_read(lab, a, a.sessions[0], mark, scenario)


@pytest.mark.parametrize("driver", DRIVERS)
def test_full_path_exposes_the_password(driver, tlslab_bin, state_dir, lab_ca, tmp_path):
    """A fresh lab (an empty caching_sha2_password cache): the first login, through
    self-signed with ssl_ca alone, is the full path: the password crosses inside the TLS the
    client should have refused, and the lab says so; the second one is the fast path."""
    fresh = _start(tlslab_bin, state_dir, lab_ca, tmp_path)
    try:
        paths = []
        for _ in range(2):
            mark = fresh.proc.mark()
            a = fresh.attempt(driver, "self-signed", **ssl_ca_alone(fresh))
            assert a.result["connected"] is True and a.result["ssl"] is True, a.text()
            assert len(a.sessions) == 1, a.text()
            paths.append(check_what_the_lab_read(fresh, a, a.sessions[0], mark, "self-signed"))
        assert paths == ["full: password in clear (TLS)", "fast"], paths
    finally:
        fresh.proc.stop()


# ---- what the lab says it serves ----------------------------------------------------------------

def test_stdout_table_has_a_mysql_row_per_scenario(lab):
    rows = {}
    for line in lab.proc.stdout_lines:
        m = re.match(r"(\d+)\s+(\S+)\s+(\S+)\s+(accept|reject)\s", line)
        if m:
            rows[m.group(3)] = (int(m.group(1)), m.group(2))
    header = [ln for ln in lab.proc.stdout_lines if re.match(r"PORT\s+PROTOCOL\s+SCENARIO", ln)]
    assert header, "\n".join(lab.proc.stdout_lines)
    assert rows == {s: (lab.ports[s], "mysql") for s in SCENARIOS}, \
        "\n".join(lab.proc.stdout_lines)


def test_ports_json_has_the_mysql_key(lab):
    ports = json.loads(lab.ports_json.read_text())
    assert list(ports) == ["mysql"], ports  # --protocol mysql: no other listeners
    assert ports["mysql"] == lab.ports
    assert set(ports["mysql"]) == set(SCENARIOS)
    assert "mysql-ssl-hidden" in ports["mysql"] and "valid" in ports["mysql"]
    assert "pg-ssl-refused" not in ports["mysql"] and "encrypt-off" not in ports["mysql"]
