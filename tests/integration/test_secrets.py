"""Secrets never in logs without --reveal-secrets (issue 12), through the real binary.

One world per run: `tlslab proxy` in front of a TDS, a PostgreSQL (password authentication: the
password crosses the proxy in clear inside TLS) and a MySQL stand-in (caching_sha2_password's
first login: the full path, the password in clear inside TLS), and `tlslab lab` serving `valid`
for all three protocols. Each gets logins by real drivers (go-mssqldb, pgx, go-sql-driver/mysql)
and, for TDS, a raw plaintext login too (the EXPOSED line). Everything is recorded as much as
tlslab can record it: --events, --record-messages, --pcap, --keylog, --log-level debug.

Then every output file and every stdout/stderr of every tlslab process is searched for the
password as text, as UTF-16LE and in its TDS-obfuscated LOGIN7 form. One exception, by design:
`serve` and `lab` print the stand-ins' own account ("login: user 'lab', password '...'") and
connection examples in their start banner, for the user to copy; that is the server's
configured credential, not a secret read from anyone's traffic. The banner (stdout printed
before the first client connects) is left out; everything after it is searched. Without --reveal-secrets
none may hold it. With --reveal-secrets the same search must find it (in the records, the
EXPOSED line and the pcap), which shows the search can fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import rawtds as R
from harness import (EventLog, TlslabProcess, free_port_block, run_probe,
                     start_lab_on_free_ports)
from lab_tools import stop_all

PASSWORD = "lab-password"
HOST = "localhost"


def obfuscated(text: str) -> bytes:
    """MS-TDS 2.2.6.4: each byte of the UTF-16LE password, nibbles swapped, XOR 0xA5."""
    return bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in text.encode("utf-16-le"))


FORMS = {
    "text": PASSWORD.encode(),
    "utf-16le": PASSWORD.encode("utf-16-le"),
    "tds-obfuscated": obfuscated(PASSWORD),
}


def raw_plaintext_login(port: int) -> None:
    c = R.TdsConn(R.connect(port), timeout=5.0)
    assert c.prelogin(R.ENCRYPT_NOT_SUP) == R.ENCRYPT_NOT_SUP
    tokens, _ = c.login("lab", PASSWORD)
    assert any(t.type == R.TOKEN_LOGINACK for t in tokens)
    c.send_message(R.SQL_BATCH, R.sql_batch_payload("SELECT 1"))
    c.read_message()
    c.close()


def drivers(ca: Path, tds: int, pg: int, my: int, events: EventLog) -> None:
    """One validating login per protocol, and the raw plaintext TDS one; each recorded."""
    r = run_probe("go", host=HOST, port=tds, ca=ca, encrypt="true")
    assert r["connected"], r
    raw_plaintext_login(tds)
    r = run_probe("pgx", host=HOST, port=pg, ca=ca, encrypt="verify-full")
    assert r["connected"], r
    r = run_probe("gomysql", host=HOST, port=my, ca=ca, ssl_mode="VERIFY_IDENTITY")
    assert r["connected"], r
    events.wait_for(lambda x: x.get("login") is not None, count=4, bound=10.0,
                    what="records with a login")


def world(tlslab_bin, state_dir: Path, ca: Path, d: Path, reveal: bool) -> list[tuple[str, bytes]]:
    """Runs the logins through `tlslab proxy` and `tlslab lab`; returns (name, content) of every
    output: files and each process's stdout and stderr."""
    d.mkdir(parents=True, exist_ok=True)
    extra = ["--reveal-secrets"] if reveal else []
    procs: list[TlslabProcess] = []
    files: list[Path] = []
    banner: dict[str, int] = {}  # process name -> stdout lines printed before the first client

    def note_banners() -> None:
        time.sleep(0.5)  # the banner is printed right after "listening on": let it arrive
        for p in procs:
            banner.setdefault(p.name, len(p.stdout_lines))

    def outputs_for(tag: str) -> list[str]:
        paths = [d / f"{tag}.events.jsonl", d / f"{tag}.pcap", d / f"{tag}.keylog"]
        files.extend(paths)
        return ["--events", str(paths[0]), "--pcap", str(paths[1]), "--keylog", str(paths[2]),
                "--record-messages", *extra]

    def start(*args, **kw) -> TlslabProcess:
        p = TlslabProcess.start(tlslab_bin, *args, state_dir=state_dir, log_level="debug", **kw)
        procs.append(p)
        return p

    try:
        serve_tds = start("serve", "--encryption", "off", "--no-examples", name="serve tds")
        serve_pg = start("serve", "--protocol", "postgres", "--auth", "password", "--no-examples",
                         name="serve pg")
        serve_my = start("serve", "--protocol", "mysql", "--no-examples", name="serve mysql")
        ports = {}
        for tag, serve, proto in (("tds", serve_tds, "tds"), ("pg", serve_pg, "postgres"),
                                  ("my", serve_my, "mysql")):
            p = start("proxy", "--upstream", f"127.0.0.1:{serve.port}", "--protocol", proto,
                      *outputs_for(f"proxy-{tag}"), name=f"proxy {tag}")
            ports[tag] = p.port
        note_banners()
        # One events file per proxy: wait on each for its login.
        drivers_through = [EventLog(d / f"proxy-{t}.events.jsonl") for t in ("tds", "pg", "my")]
        r = run_probe("go", host=HOST, port=ports["tds"], ca=ca, encrypt="true")
        assert r["connected"], r
        raw_plaintext_login(ports["tds"])
        r = run_probe("pgx", host=HOST, port=ports["pg"], ca=ca, encrypt="verify-full")
        assert r["connected"], r
        r = run_probe("gomysql", host=HOST, port=ports["my"], ca=ca, ssl_mode="VERIFY_IDENTITY")
        assert r["connected"], r
        for ev, n in zip(drivers_through, (2, 1, 1)):
            ev.wait_for(lambda x: x.get("login") is not None, count=n, bound=10.0,
                        what="records with a login")

        ports_json = d / "lab-ports.json"

        def lab_args() -> list[str]:
            return ["--only", "valid", "--base-port", str(free_port_block(1)),
                    "--postgres-base-port", str(free_port_block(1)), "--mysql-base-port",
                    str(free_port_block(1)), "--ports-json", str(ports_json),
                    *outputs_for("lab")]

        lab = start_lab_on_free_ports(tlslab_bin, lab_args, state_dir=state_dir, listen=None,
                                      log_level="debug", ready_timeout=60, name="lab")
        procs.append(lab)
        note_banners()
        lp = json.loads(ports_json.read_text())
        drivers(ca, lp["tds"]["valid"], lp["postgres"]["valid"], lp["mysql"]["valid"],
                EventLog(d / "lab.events.jsonl"))
    finally:
        stop_all(*reversed(procs))
    out = []
    for f in files:
        assert f.is_file(), f"{f.name} was not written"
        out.append((f.name, f.read_bytes()))
    for p in procs:
        lines = p.stdout_lines  # the banner, printed before any client existed, is left out
        out.append((f"{p.name} stdout", "\n".join(lines[banner[p.name]:]).encode()))
        out.append((f"{p.name} stderr", p.log_text().encode()))
    return out


def findings(outputs: list[tuple[str, bytes]]) -> list[str]:
    return [f"{name}: {form}" for name, content in outputs for form, needle in FORMS.items()
            if needle in content]


@pytest.mark.go
def test_no_output_holds_the_password_without_reveal_secrets(tlslab_bin, state_dir, lab_ca,
                                                             tmp_path):
    outputs = world(tlslab_bin, state_dir, lab_ca, tmp_path / "quiet", reveal=False)
    # The outputs are there and hold the sessions (so the search looked at something).
    by_name = dict(outputs)
    assert by_name["proxy-tds.pcap"] and by_name["lab.pcap"]
    assert b'"password_length":12' in by_name["proxy-tds.events.jsonl"].replace(b" ", b"")
    assert b"EXPOSED" in by_name["proxy tds stderr"]
    found = findings(outputs)
    assert not found, "the password is in: " + ", ".join(found)


@pytest.mark.go
def test_with_reveal_secrets_the_same_search_finds_it(tlslab_bin, state_dir, lab_ca, tmp_path):
    outputs = world(tlslab_bin, state_dir, lab_ca, tmp_path / "loud", reveal=True)
    found = set(findings(outputs))
    for where in ("proxy-tds.events.jsonl: text", "proxy-pg.events.jsonl: text",
                  "proxy-my.events.jsonl: text", "lab.events.jsonl: text",
                  "proxy tds stderr: text", "proxy-tds.pcap: tds-obfuscated",
                  "proxy-pg.pcap: text", "proxy-my.pcap: text"):
        assert where in found, (where, sorted(found))
