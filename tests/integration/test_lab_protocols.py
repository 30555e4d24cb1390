"""`tlslab lab` with its defaults serves the catalogue over TDS, PostgreSQL and MySQL side by side
from one command (issue 9: "done means").

One `tlslab lab` (no --protocol: the default is all three), its base ports found free at run
time, --ports-json, --events and the admin API. Checks: each protocol gets exactly the scenarios
meant for it (from `tlslab scenarios --json`); the admin API lists every listener with its
protocol and id (NAME, pg:NAME, my:NAME); one real driver per protocol validates the lab CA
through `valid` and refuses `expired`, and each session is recorded with its own protocol.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from harness import (EventLog, free_port, free_port_block, run_probe,
                     start_lab_on_free_ports)
from lab_tools import Admin, admin_address

# (protocol, base-port flag, listener id prefix, probe, probe options for a validating client)
PROTOCOLS = (
    ("tds", "--base-port", "", "go", {"encrypt": "true"}),
    ("postgres", "--postgres-base-port", "pg:", "pgx", {"encrypt": "verify-full"}),
    ("mysql", "--mysql-base-port", "my:", "gomysql", {"ssl_mode": "VERIFY_IDENTITY"}),
)


def catalogue(tlslab_bin) -> dict[str, list[str]]:
    cp = subprocess.run([str(tlslab_bin), "scenarios", "--json"], capture_output=True, text=True,
                        timeout=30)
    assert cp.returncode == 0, cp.stderr
    scenarios = json.loads(cp.stdout)
    return {p: [s["name"] for s in scenarios if p in s["protocols"]] for p, *_ in PROTOCOLS}


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab-protocols")
    events, ports_json = d / "events.jsonl", d / "ports.json"
    wanted = catalogue(tlslab_bin)
    def lab_args() -> list[str]:
        args = []
        for protocol, flag, *_ in PROTOCOLS:
            args += [flag, str(free_port_block(len(wanted[protocol])))]
        return [*args, "--ports-json", str(ports_json), "--events", str(events), "--admin",
                f"127.0.0.1:{free_port()}"]

    proc = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state_dir, listen=None,
                                   log_level="info", ready_timeout=60,
                                   name="lab (all protocols)")
    try:
        yield proc, json.loads(ports_json.read_text()), EventLog(events), wanted, \
            Admin(admin_address(proc))
    finally:
        proc.stop()


def test_one_command_serves_every_protocol_its_scenarios(lab):
    _, ports, _, wanted, _ = lab
    assert sorted(ports) == sorted(p for p, *_ in PROTOCOLS), ports
    for protocol, *_ in PROTOCOLS:
        assert sorted(ports[protocol]) == sorted(wanted[protocol]), protocol
    # the protocol-specific scenarios stay with their protocol
    assert "encrypt-off" in ports["tds"] and "encrypt-off" not in ports["mysql"]
    assert "pg-ssl-refused" in ports["postgres"] and "pg-ssl-refused" not in ports["mysql"]
    assert "mysql-ssl-hidden" in ports["mysql"] and "mysql-ssl-hidden" not in ports["tds"]
    every = [port for p in ports.values() for port in p.values()]
    assert len(every) == len(set(every)), "two listeners on one port"


def test_the_admin_api_lists_each_listener_with_its_protocol(lab):
    _, ports, _, _, admin = lab
    listeners = admin.ok("GET", "/listeners")
    by_id = {x["id"]: x for x in listeners}
    for protocol, _, prefix, *_ in PROTOCOLS:
        for scenario, port in ports[protocol].items():
            x = by_id.get(prefix + scenario)
            assert x is not None, (prefix + scenario, sorted(by_id))
            assert x["protocol"] == protocol, x
            assert x["scenario"] == scenario, x
            assert x["port"] == port, x
    assert len(listeners) == sum(len(p) for p in ports.values())


@pytest.mark.parametrize("protocol,flag,prefix,probe,options", PROTOCOLS,
                         ids=[p[0] for p in PROTOCOLS])
def test_a_validating_driver_of_each_protocol(lab, lab_ca, protocol, flag, prefix, probe,
                                              options):
    _, ports, events, _, _ = lab
    ok = run_probe(probe, host="localhost", port=ports[protocol]["valid"], timeout=10,
                   ca=lab_ca, **options)
    assert ok["connected"] is True and ok["value"] == 1, ok.describe()
    refused = run_probe(probe, host="localhost", port=ports[protocol]["expired"], timeout=10,
                        ca=lab_ca, **options)
    assert refused["connected"] is False, refused.describe()
    # each session recorded with its own protocol (TDS: tds7 or tds8)
    def ours(r: dict) -> bool:
        return r["protocol"].startswith(protocol)

    events.wait_for(lambda r: ours(r) and r["scenario"] == "expired", bound=10,
                    what=f"{protocol} records of expired")
    events.wait_for(lambda r: ours(r) and r["scenario"] == "valid"
                    and r["outcome"] == "login-encrypted", bound=10,
                    what=f"{protocol} logins through valid")
