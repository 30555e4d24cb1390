"""`tlslab explain` as a user runs it: the seed's five messages, pasted the way users paste
them (whole dialogs, line breaks, wrappers), map to the scenarios that produce them; the text
also comes on standard input; --json is machine-readable; a text nothing explains exits 1 with
next steps. (The knowledge base's coverage of every message our matrix runs observe is checked
by the unit tests and by test_matrix.py.)"""

from __future__ import annotations

import json
import subprocess

import pytest

SEED = [
    # SSMS's dialog, as copied from it (CRLF line breaks)
    ("Cannot connect to db01.corp.\r\n\r\nA connection was successfully established with the "
     "server, but then an error occurred during the login process. (provider: SSL Provider, "
     "error: 0 - The certificate chain was issued by an authority that is not trusted.) "
     "(Microsoft SQL Server, Error: -2146893019)\r\n",
     "cert-untrusted", {"self-signed", "untrusted-root"}),
    ("[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: The target principal name is "
     "incorrect.\n[Microsoft][ODBC Driver 17 for SQL Server]Client unable to establish "
     "connection", "name-mismatch", {"wrong-host"}),
    ("Failed to connect to db01:1433 - certificate has expired", "cert-expired", {"expired"}),
    ("A connection was successfully established with the server, but then an error occurred "
     "during the pre-login handshake. (provider: SSL Provider, error: 31 - Encryption(ssl/tls) "
     "handshake failed)", "tls-version", {"tls1.0-only"}),
    ("Error: -2146893019", "cert-untrusted", {"untrusted-root"}),
]


def explain(tlslab_bin, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(tlslab_bin), "explain", *args], input=stdin, capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("text, family, scenarios", SEED, ids=lambda v: str(v)[:40])
def test_the_seed_messages_map_to_their_scenarios(tlslab_bin, text, family, scenarios):
    cp = explain(tlslab_bin, "--json", text)
    assert cp.returncode == 0, cp.stderr
    best = json.loads(cp.stdout)["matches"][0]
    assert best["family"] == family, best
    assert scenarios <= set(best["scenarios"]), best
    # the words a user reads: the fix in the seed's order, and how to reproduce it
    human = explain(tlslab_bin, text)
    assert human.returncode == 0
    assert "tlslab" in human.stdout and "Fix" in human.stdout, human.stdout
    assert sorted(scenarios)[0] in human.stdout


def test_text_on_standard_input(tlslab_bin):
    cp = explain(tlslab_bin, stdin="psql: error: connection to server at \"db\" (10.0.0.5), "
                                   "port 5432 failed: SSL error: certificate verify failed\n")
    assert cp.returncode == 0, cp.stderr
    assert "self-signed" in cp.stdout


def test_nothing_matches(tlslab_bin):
    cp = explain(tlslab_bin, "the quick brown fox")
    assert cp.returncode == 1
    assert "knowledge/errors.json" in cp.stdout + cp.stderr
