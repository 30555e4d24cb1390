"""`tlslab diagnose` against every scenario of the lab and against the real PostgreSQL and
MariaDB servers of the suite (issue 11: "diagnose names the defect of every lab scenario and of
the real test servers").

One `tlslab lab --protocol tds,postgres,mysql`; for every scenario of every protocol it serves
(`tlslab scenarios --json`), `tlslab diagnose 127.0.0.1:PORT --protocol P --ca <lab CA>
--server-name <the scenario's dial name> --json`. The scenario's `family` must be among the
findings (a finding's `family` or one of its `also`), and `valid` must have no defect (exit 0).
Families a server probe cannot observe are listed in NOT_OBSERVABLE with the reason; a
scenario whose listener does not exist (yet) is reported, not failed.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import subprocess

import pytest

from harness import free_port, free_port_block, start_lab_on_free_ports

PROTOCOLS = (("tds", "--base-port"), ("postgres", "--postgres-base-port"),
             ("mysql", "--mysql-base-port"))

# Scenarios whose defect a client-side probe cannot see, with the reason.
NOT_OBSERVABLE = {
    "redirect-wrong-host": "the ENVCHANGE routing comes after LOGINACK: seeing it needs a login "
                           "with real credentials, which diagnose does not do",
    "passthrough": "no defect of its own: the relayed server's certificate is what is shown",
}

TIMEOUT_S = 3


def catalogue(tlslab_bin) -> list[dict]:
    cp = subprocess.run([str(tlslab_bin), "scenarios", "--json"], capture_output=True, text=True,
                        timeout=30)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


def dial_name(s: dict) -> str | None:
    dial = s.get("dial", "name")
    if dial == "ip":
        return "127.0.0.1"
    if dial == "host":
        return s.get("dial_host")
    return "localhost"


def diagnose(tlslab_bin, port: int, protocol: str, *args: str) -> tuple[int, dict]:
    cp = subprocess.run([str(tlslab_bin), "diagnose", f"127.0.0.1:{port}", "--protocol", protocol,
                         "--json", "--timeout", str(TIMEOUT_S), *args],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode in (0, 1, 3), f"exit {cp.returncode}: {cp.stderr}"
    return cp.returncode, json.loads(cp.stdout)


def families(report: dict) -> set[str]:
    out = set()
    for f in report["findings"]:
        out.add(f["family"])
        out.update(f["also"])
    return out


def summary(report: dict) -> str:
    return "; ".join(f"{f['family']}({f['severity']}): {f['text'][:90]}" for f in report["findings"])


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab-diagnose")
    ports_json = d / "ports.json"
    scenarios = catalogue(tlslab_bin)

    def lab_args() -> list[str]:
        args = ["--protocol", "tds,postgres,mysql"]
        for protocol, flag in PROTOCOLS:
            n = sum(1 for s in scenarios if protocol in s["protocols"])
            args += [flag, str(free_port_block(n))]
        return [*args, "--ports-json", str(ports_json), "--admin", f"127.0.0.1:{free_port()}"]

    proc = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state_dir, listen=None,
                                   log_level="warn", ready_timeout=60,
                                   name="lab (diagnose)")
    try:
        yield proc, json.loads(ports_json.read_text()), scenarios
    finally:
        proc.stop()


@pytest.mark.parametrize("protocol", [p for p, _ in PROTOCOLS])
def test_diagnose_names_every_scenarios_defect(lab, tlslab_bin, lab_ca, protocol):
    _, ports, scenarios = lab
    wrong, not_testable, checked = [], [], []
    todo = []
    for s in scenarios:
        if protocol not in s["protocols"]:
            continue
        name, family = s["name"], s.get("family") or ""
        if name in NOT_OBSERVABLE:
            not_testable.append(f"{name}: {NOT_OBSERVABLE[name]}")
            continue
        port = ports.get(protocol, {}).get(name)
        server_name = dial_name(s)
        if port is None or server_name is None:
            not_testable.append(f"{name}: no listener" if port is None else f"{name}: no dial_host")
            continue
        todo.append((name, family, port, server_name))
    # each diagnosis is a series of connections that mostly wait (stalls, timeouts): four at
    # once, so the whole catalogue fits the per-test time limit on a loaded CI machine
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda t: diagnose(tlslab_bin, t[2], protocol, "--ca", str(lab_ca),
                               "--server-name", t[3]), todo))
    for (name, family, _, _), (code, report) in zip(todo, results):
        checked.append(name)
        assert report["tlslab_diagnose"] == 1
        if name == "valid":
            if code != 0 or report["defects"]:
                wrong.append(f"valid: expected no defect, got exit {code}: {summary(report)}")
            continue
        if not family:
            continue
        if code == 3:
            wrong.append(f"{name}: could not connect: {report['connect_error']}")
        elif family not in families(report):
            wrong.append(f"{name}: family {family} not among the findings: {summary(report)}")
    print(f"{protocol}: checked {len(checked)}; not testable: {not_testable}")
    assert checked, "no scenario diagnosed"
    assert not wrong, "\n".join(wrong)


def test_diagnose_text_report_and_exit_status(lab, tlslab_bin, lab_ca):
    _, ports, _ = lab
    cp = subprocess.run([str(tlslab_bin), "diagnose", f"127.0.0.1:{ports['tds']['self-signed']}",
                         "--ca", str(lab_ca), "--server-name", "localhost"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 1, cp.stderr
    assert "cert-self-signed" in cp.stdout and "What clients will do" in cp.stdout
    assert "ODBC Driver 18" in cp.stdout
    cp = subprocess.run([str(tlslab_bin), "diagnose", "127.0.0.1:1", "--timeout", "2"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 3, cp.stdout
    cp = subprocess.run([str(tlslab_bin), "diagnose", "no-port"], capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 2


# ---- the real servers ---------------------------------------------------------------------------

def _openssl(*args: str, cwd) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed: {cp.stderr}"


@pytest.fixture(scope="module")
def real_certs(tmp_path_factory):
    """A CA and a certificate it signed for localhost and 127.0.0.1, as the real-upstream
    suites make them."""
    d = tmp_path_factory.mktemp("diagnose-real-certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "60",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=tlslab diagnose real CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  "extendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n")
    # 30 days: diagnose warns about a certificate that expires within 7
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "server.ext",
             "-out", "server.pem", cwd=d)
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


def test_diagnose_real_postgresql(tlslab_bin, real_certs, lab_ca):
    from pg_server import PgServer, PgServerError
    try:
        server = PgServer.start(real_certs["cert"], real_certs["key"])
    except PgServerError as e:
        pytest.skip(f"no PostgreSQL server: {e}")
    with server:
        code, r = diagnose(tlslab_bin, server.port, "postgres", "--ca", str(real_certs["ca"]),
                           "--server-name", "localhost")
        print("postgres:", summary(r))
        assert code == 0, summary(r)
        assert r["negotiation"]["ssl_answer"] == "S"
        assert "TLSv1.3" in r["tls"]["accepted_versions"]
        # PostgreSQL 15 does not select ALPN (17 does): a note, not a defect
        assert "alpn-missing" in families(r)
        assert "SCRAM-SHA-256-PLUS" in r["negotiation"]["sasl_mechanisms"]
        # with a CA that did not sign it, diagnose says the chain is untrusted
        code, r = diagnose(tlslab_bin, server.port, "postgres", "--ca", str(lab_ca),
                           "--server-name", "localhost")
        assert code == 1 and "cert-untrusted" in families(r), summary(r)
        libpq = next(p for p in r["predictions"] if p["client"].startswith("libpq"))
        assert libpq["fails"] and libpq["message"], libpq


def test_diagnose_real_mariadb(tlslab_bin, real_certs):
    from mariadb_server import MariaDbServer, MariaDbServerError
    try:
        server = MariaDbServer.start(real_certs["cert"], real_certs["key"],
                                     require_secure_transport=True)
    except MariaDbServerError as e:
        pytest.skip(f"no MariaDB server: {e}")
    with server:
        code, r = diagnose(tlslab_bin, server.port, "mysql", "--ca", str(real_certs["ca"]),
                           "--server-name", "127.0.0.1")
        print("mariadb:", summary(r), r["negotiation"])
        assert code == 0, summary(r)
        assert r["negotiation"]["client_ssl"] and r["negotiation"]["mariadb"]
        assert r["certificates"]["trusted"]
        assert r["negotiation"]["plaintext_error"] is not None
