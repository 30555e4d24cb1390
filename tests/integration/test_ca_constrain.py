"""`tlslab ca --constrain` (docs/security.md): the lab CA re-issued with a critical
nameConstraints extension permitting only the lab's names, and the lab working under it.

A state directory of its own (the session's CA stays unconstrained for the other suites):
the CA is created, constrained (a new key: the old export no longer validates the lab), exported
again, and `tlslab lab` serves a few scenarios across the three protocols. Real drivers validate
`valid` against the constrained CA (go-mssqldb, pgx, go-sql-driver/mysql), the wildcard and the
dialled names of the catalogue still validate, and the scenarios meant to fail still fail for
their own reason (a name mismatch stays a name mismatch, not a constraint violation).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from harness import free_port_block, run_probe, start_lab_on_free_ports

SCENARIOS = ["valid", "wrong-host", "expired", "wildcard", "ca-cross-signed",
             "ca-expired-root-cross-sign", "name-constraint-violated", "ca-new-root"]


def ca(tlslab_bin, state, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(tlslab_bin), "--state-dir", str(state), "ca", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def constrained(tlslab_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("constrained-ca")
    state = d / "state"
    old = d / "old-ca.pem"
    assert ca(tlslab_bin, state, "--export", old).returncode == 0
    shown = ca(tlslab_bin, state)
    assert "constrained: no" in shown.stdout, shown.stdout
    cp = ca(tlslab_bin, state, "--constrain", "--hostname", "lab.internal.test")
    assert cp.returncode == 0, cp.stderr
    assert "constrained: yes (critical nameConstraints)" in cp.stdout, cp.stdout
    assert "export this one again" in cp.stdout
    new = d / "ca.pem"
    assert ca(tlslab_bin, state, "--export", new).returncode == 0
    shown = ca(tlslab_bin, state)
    assert "constrained: yes" in shown.stdout, shown.stdout
    for name in ("localhost", "corp.example", "lab.test", "tlslab.invalid", "lab.internal.test",
                 "127.0.0.0/8", "::1/128"):
        assert name in shown.stdout, (name, shown.stdout)
    ports_json = d / "ports.json"

    def lab_args():
        return ["--only", ",".join(SCENARIOS),
                "--base-port", str(free_port_block(len(SCENARIOS))),
                "--postgres-base-port", str(free_port_block(len(SCENARIOS))),
                "--mysql-base-port", str(free_port_block(len(SCENARIOS))),
                "--ports-json", str(ports_json)]

    lab = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state, listen=None,
                                  log_level="info", ready_timeout=60, name="constrained lab")
    try:
        yield json.loads(ports_json.read_text()), new, old
    finally:
        lab.stop()


def test_the_constrained_ca_is_a_new_key_with_critical_name_constraints(constrained):
    _, new, old = constrained
    text = subprocess.run(["openssl", "x509", "-in", str(new), "-noout", "-text"],
                          capture_output=True, text=True, timeout=30).stdout
    assert "X509v3 Name Constraints: critical" in text, text
    assert "DNS:localhost" in text and "IP:127.0.0.0/255.0.0.0" in text
    assert new.read_text() != old.read_text()
    k1 = subprocess.run(["openssl", "x509", "-in", str(new), "-noout", "-pubkey"],
                        capture_output=True, text=True, timeout=30).stdout
    k2 = subprocess.run(["openssl", "x509", "-in", str(old), "-noout", "-pubkey"],
                        capture_output=True, text=True, timeout=30).stdout
    assert k1 and k1 != k2, "the constrained CA must have a new key"


@pytest.mark.go
def test_real_drivers_validate_valid_under_the_constrained_ca(constrained):
    ports, new, old = constrained
    r = run_probe("go", host="localhost", port=ports["tds"]["valid"], ca=new, encrypt="true")
    assert r["connected"], r
    r = run_probe("go", host="localhost", port=ports["tds"]["valid"], ca=new, encrypt="strict")
    assert r["connected"], r
    r = run_probe("pgx", host="localhost", port=ports["postgres"]["valid"], ca=new,
                  encrypt="verify-full")
    assert r["connected"], r
    r = run_probe("gomysql", host="localhost", port=ports["mysql"]["valid"], ca=new,
                  ssl_mode="VERIFY_IDENTITY")
    assert r["connected"], r
    # The old, unconstrained export no longer validates the lab.
    r = run_probe("go", host="localhost", port=ports["tds"]["valid"], ca=old, encrypt="true")
    assert not r["connected"], r


@pytest.mark.go
def test_catalogue_names_still_validate_and_the_defects_keep_their_own_error(constrained):
    ports, new, _ = constrained
    tds = ports["tds"]
    r = run_probe("go", host="sql01.corp.example", port=tds["wildcard"], ca=new, encrypt="true",
                  resolve=["sql01.corp.example"])
    assert r["connected"], r
    for accepted in ("ca-cross-signed", "ca-expired-root-cross-sign"):
        r = run_probe("go", host="localhost", port=tds[accepted], ca=new, encrypt="true")
        assert r["connected"], (accepted, r)
    r = run_probe("go", host="localhost", port=tds["ca-new-root"], ca=new, encrypt="true")
    assert not r["connected"] and "unknown authority" in r["error"], r["error"]
    r = run_probe("go", host="localhost", port=tds["wrong-host"], ca=new, encrypt="true")
    assert not r["connected"]
    assert "db.example.com" in r["error"] and "not permitted" not in r["error"], r["error"]
    r = run_probe("go", host="localhost", port=tds["expired"], ca=new, encrypt="true")
    assert not r["connected"] and "expired" in r["error"], r["error"]
    r = run_probe("go", host="localhost", port=tds["name-constraint-violated"], ca=new,
                  encrypt="true")
    assert not r["connected"] and "not permitted" in r["error"], r["error"]
