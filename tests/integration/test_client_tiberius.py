"""tiberius (Rust, crates.io) against `tlslab serve` and through `tlslab proxy`, built two ways.

One Cargo project (probes/tiberius/) gives two probes: `tiberius-rustls` (feature
`rustls`) and `tiberius-native` (feature `native-tls`, OpenSSL). With validation on (the lab CA
passed with --ca, host `localhost`) each logs in in every encryption mode tiberius can use and
holds the --session script (probes/README.md); a foreign CA and the default trust are
refused; `serve --encryption strict` is out of reach (tiberius 0.12 has no TDS 8.0).

tiberius's levels (--encrypt): off | on | required | not-supported; default = required.
"""

from __future__ import annotations

import re

import pytest

from harness import DRIVERS_DIR, EventLog

HOST = "localhost"
PROBES = ("tiberius-rustls", "tiberius-native")
# The pin, as the probes report it (read from the committed lockfile, written down once).
LOCKED = re.search(r'name = "tiberius"\nversion = "([^"]+)"',
                   (DRIVERS_DIR / "tiberius" / "Cargo.lock").read_text())[1]

FULL = "tds7, encryption full, TLSv1.2"
LOGIN_ONLY = "tds7, encryption login-only, TLSv1.2"
LOGIN_OK_RE = re.compile(r"login ok: user 'lab', TDS \S+, packet size \d+ \((?P<how>[^)]*)\)")

# (tiberius --encrypt, serve --encryption, the serve log's login parenthesis)
MODES = [
    (None, "force", FULL),          # tiberius's default: Required
    ("required", "force", FULL),
    ("on", "force", FULL),
    ("off", "force", FULL),         # a force server answers REQ: tiberius encrypts everything
    ("off", "off", LOGIN_ONLY),     # TLS for LOGIN7 only, then plaintext
    ("required", "off", FULL),
]

# The driver's own words for "the certificate is not trusted".
UNTRUSTED = {"tiberius-rustls": r"invalid peer certificate: UnknownIssuer",
             "tiberius-native": r"certificate verify failed"}


def params(cases):
    return [pytest.param(p, *c, id="-".join([p, *(x or "default" for x in c[:2])]))
            for p in PROBES for c in cases]


def serve(tlslab, mode):
    return tlslab("serve", "--encryption", mode, "--no-examples", name=f"serve {mode}")


def assert_session(r) -> None:
    """Every step of the --session script answers as a real SQL Server would (all checked,
    every wrong step reported)."""
    steps = {s["step"]: s for s in r.get("session") or []}
    assert list(steps) == ["begin", "trancount", "system", "param", "commit",
                           "trancount_after", "error", "again"], r.describe()
    wrong = []

    def expect(name, good: bool):
        if not good:
            wrong.append(f"{name}: {steps[name]}")

    def ok(name, value=...):
        s = steps[name]
        expect(name, s["ok"] is True and s["error"] is None
               and (value is ... or s["value"] == value))

    ok("begin")
    ok("trancount", 1)
    system = steps["system"]
    # tiberius 0.12 cannot decode sql_variant (what SERVERPROPERTY returns): it panics with
    # todo!(). Against a server that answers like SQL Server, that driver limit shows here.
    if not (system["error_code"] == "Panic" and "SSVariant" in (system["error"] or "")):
        expect("system", system["ok"] is True and isinstance(system["value"], int)
               and system["value"] > 0 and len(system.get("row") or []) == 6)
    ok("param", 42)
    ok("commit")
    ok("trancount_after", 0)
    err = steps["error"]
    expect("error", err["ok"] is False and err["error_code"] == 208
           and "Invalid object name 'tlslab_no_such_table'." in (err["error"] or ""))
    ok("again", 1)
    assert not wrong, "steps not answered as SQL Server would:\n" + "\n".join(wrong) \
        + "\n" + r.describe()


def assert_logged_in(r) -> None:
    assert r["connected"] is True and r["error"] is None and r["value"] == 1, r.describe()
    assert r["version"] == LOCKED, r.describe()


@pytest.mark.parametrize("driver, encrypt, mode, how", params(MODES))
def test_login_and_session_against_serve(tlslab, lab_ca, probe, driver, encrypt, mode, how):
    srv = serve(tlslab, mode)
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt=encrypt, session=True)
    assert_logged_in(r)
    srv.wait_for_log(LOGIN_OK_RE)
    logins = [m["how"] for line in srv.log() if (m := LOGIN_OK_RE.search(line))]
    assert logins == [how], srv.log_text()
    assert_session(r)


PROXY_MODES = [("required", "force", "full"), ("off", "force", "full"),
               ("off", "off", "login-only")]


@pytest.mark.parametrize("driver, encrypt, mode, leg", params(PROXY_MODES))
def test_login_and_session_through_the_proxy(tlslab, lab_ca, tmp_path, probe,
                                             driver, encrypt, mode, leg):
    """Scenario `valid`: the proxy shows a lab certificate; the client validates it."""
    srv = serve(tlslab, mode)
    events = EventLog(tmp_path / "events.jsonl")
    px = tlslab("proxy", "--upstream", f"127.0.0.1:{srv.port}", "--upstream-ca", str(lab_ca),
                "--scenario", "valid", "--record-messages", "--events", str(events.path))
    r = probe(driver, host=HOST, port=px.port, ca=lab_ca, encrypt=encrypt, session=True)
    assert_logged_in(r)
    [rec] = events.wait_for(lambda e: e.get("outcome") is not None)
    assert rec["outcome"] == "login-encrypted" and rec["client_leg"]["mode"] == leg, rec
    assert rec["login"]["app_name"] == f"tlslab-probe-{driver}", rec["login"]
    # What tiberius sends for the session: batches for BEGIN TRAN/COMMIT, sp_executesql for @P1.
    sent = [(m["kind"], m["text"]) for m in events.records("message") if m["from"] == "client"]
    assert ("sql_batch", "BEGIN TRAN") in sent and ("sql_batch", "COMMIT") in sent, sent
    assert ("rpc", "sp_executesql") in sent, sent
    assert_session(r)


@pytest.mark.parametrize("driver", PROBES)
@pytest.mark.parametrize("ca", ["foreign", "default-trust"])
def test_untrusted_certificate_is_refused(tlslab, foreign_ca, probe, driver, ca):
    srv = serve(tlslab, "force")
    r = probe(driver, host=HOST, port=srv.port, encrypt="required",
              ca=foreign_ca if ca == "foreign" else None)
    assert r["connected"] is False and r["value"] is None, r.describe()
    assert re.search(UNTRUSTED[driver], r["error"] or ""), r.describe()
    srv.wait_for_log(r"TLS handshake failed|client closed the connection")
    assert "login ok" not in srv.log_text()


@pytest.mark.parametrize("driver", PROBES)
def test_no_tds8_strict_server_is_out_of_reach(tlslab, lab_ca, probe, driver):
    """tiberius 0.12 always starts with a TDS 7.x PRELOGIN: a strict server closes it."""
    srv = serve(tlslab, "strict")
    r = probe(driver, host=HOST, port=srv.port, ca=lab_ca, encrypt="required")
    assert r["connected"] is False and r["error_code"] == "Io", r.describe()
    assert "login ok" not in srv.log_text()
