"""The PostgreSQL probes against a real PostgreSQL 15 with TLS (pg_server.py), no tlslab.

What must hold before the probes can judge tlslab's PostgreSQL side: each probe (psql,
psycopg2, psycopg3, asyncpg, node-pg, postgresjs, pgjdbc, pgx; contract in probes/README.md)

* connects with full verification (verify-full and the right CA, the driver's own way) and
  reports ssl true;
* refuses a self-signed server certificate under full verification, with its own words (the
  texts below are what each driver was seen to say), and the server sees the handshake fail;
* connects in plaintext with sslmode disable and reports ssl false;
* holds the session script: SET/SHOW, a transaction with a bound parameter, the error 42P01
  on a missing table, and the session still usable after it.

And the server helper itself: pg_hba variants (hostssl only; md5, password, trust: checked on
the wire, by the authentication request the server sends), restart_with_certificate, and the
chain option (an intermediate sent, or not).

Certificates are made here with the openssl CLI (as conftest.py does): a CA, a leaf it signed
for localhost/127.0.0.1, a self-signed leaf for the same names, and an intermediate CA with a
leaf of its own.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from pg_server import PgServer

PG_DRIVERS = ("psql", "psycopg2", "psycopg3", "asyncpg", "node-pg", "postgresjs", "pgjdbc", "pgx")
HOST = "localhost"  # in the certificates' SAN; the server listens on 127.0.0.1

# What each driver says when verify-full meets a self-signed certificate (observed against
# PostgreSQL 15.18): (error_code or None, a piece of the error text).
SELF_SIGNED_REFUSAL = {
    "psql": ("CONNECTION_BAD", "SSL error: certificate verify failed"),
    "psycopg2": ("OperationalError", "SSL error: certificate verify failed"),
    "psycopg3": ("OperationalError", "SSL error: certificate verify failed"),
    "asyncpg": ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed: self-signed certificate"),
    "node-pg": ("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
    "postgresjs": ("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
    "pgjdbc": ("08006", "SSL error: PKIX path building failed"),
    "pgx": (None, "tls: failed to verify certificate: x509: certificate signed by unknown authority"),
}


# ---- certificates and servers ---------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed: {cp.stderr}"


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pg-certs")
    names = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=tlslab pg test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)
    (d / "server.ext").write_text(f"{names}\nextendedKeyUsage=serverAuth\n"
                                  "basicConstraints=critical,CA:FALSE\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "server.ext",
             "-out", "server.pem", cwd=d)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "self.key", "-out", "self.pem", "-subj", "/CN=localhost",
             "-addext", names, "-addext", "extendedKeyUsage=serverAuth", cwd=d)
    # An intermediate CA under the CA, and a leaf it signed (for the chain test).
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "inter.key", "-out", "inter.csr",
             "-subj", "/CN=tlslab pg test intermediate", cwd=d)
    (d / "inter.ext").write_text("basicConstraints=critical,CA:TRUE\n"
                                 "keyUsage=critical,keyCertSign,cRLSign\n")
    _openssl("x509", "-req", "-in", "inter.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "inter.ext",
             "-out", "inter.pem", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "inter.pem", "-CAkey", "inter.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "server.ext",
             "-out", "leaf-of-inter.pem", cwd=d)
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key",
            "self_cert": d / "self.pem", "self_key": d / "self.key",
            "inter": d / "inter.pem", "inter_leaf": d / "leaf-of-inter.pem"}


@pytest.fixture(scope="module")
def pg(certs):
    """PostgreSQL 15 serving the CA-signed certificate (host and hostssl, scram-sha-256)."""
    with PgServer.start(certs["cert"], certs["key"]) as server:
        yield server


@pytest.fixture(scope="module")
def pg_self_signed(certs):
    """PostgreSQL 15 serving the self-signed certificate."""
    with PgServer.start(certs["self_cert"], certs["self_key"]) as server:
        yield server


def auth_request(port: int, timeout: float = 5.0) -> int:
    """The authentication request code a plaintext StartupMessage for lab/lab gets: 0 Ok
    (trust), 3 cleartext password, 5 MD5, 10 SASL; -1 for an ErrorResponse."""
    body = struct.pack("!i", 196608) + b"user\0lab\0database\0lab\0\0"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack("!i", len(body) + 4) + body)
        head = b""
        while len(head) < 9:
            chunk = s.recv(9 - len(head))
            assert chunk, "the server closed the connection without an answer"
            head += chunk
    kind = head[0:1]
    if kind == b"E":
        return -1
    assert kind == b"R", f"unexpected first message {head!r}"
    return struct.unpack("!i", head[5:9])[0]


# ---- the probes -------------------------------------------------------------------------------

@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_verify_full_with_the_right_ca(probe, pg, certs, driver):
    r = probe(driver, host=HOST, port=pg.port, ca=certs["ca"], encrypt="verify-full")
    assert r["connected"] is True, r
    assert r["error"] is None, r
    assert r["value"] == 1, r
    assert r["ssl"] is True, r
    assert r["version"], r


@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_verify_full_refuses_a_self_signed_certificate(probe, pg_self_signed, certs, driver):
    before = pg_self_signed.log_text().count("could not accept SSL connection")
    r = probe(driver, host=HOST, port=pg_self_signed.port, ca=certs["ca"], encrypt="verify-full")
    code, text = SELF_SIGNED_REFUSAL[driver]
    assert r["connected"] is False, r
    assert r["ssl"] is None, r
    assert r["error_code"] == code, r
    assert text in r["error"], r
    # The server saw the client give up in the handshake (libpq-based clients send an alert,
    # the others just close): each attempt leaves a line, and no login happened.
    # (the server writes its line a moment after the client is gone: wait for it, bounded)
    deadline = time.monotonic() + 5
    log = pg_self_signed.log_text()
    while log.count("could not accept SSL connection") <= before and time.monotonic() < deadline:
        time.sleep(0.05)
        log = pg_self_signed.log_text()
    assert log.count("could not accept SSL connection") > before, log[-2000:]
    assert "connection authorized" not in log, log[-2000:]


@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_sslmode_disable_is_plaintext(probe, pg, driver):
    r = probe(driver, host=HOST, port=pg.port, encrypt="disable")
    assert r["connected"] is True, r
    assert r["value"] == 1, r
    assert r["ssl"] is False, r


@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_session_script(probe, pg, certs, driver):
    r = probe(driver, host=HOST, port=pg.port, ca=certs["ca"], encrypt="verify-full", session=True)
    assert r["connected"] is True and r["value"] == 1 and r["ssl"] is True, r
    steps = {s["step"]: s for s in r["session"]}
    assert [s["step"] for s in r["session"]] == ["set", "show", "begin", "param", "commit",
                                                 "error", "again"], r
    for name in ("set", "show", "begin", "commit", "again"):
        assert steps[name]["ok"] is True, steps[name]
    assert steps["show"]["value"] == "tlslab-probe", steps["show"]
    assert steps["again"]["value"] == 1, steps["again"]
    if driver == "psql":
        assert steps["param"]["ok"] is None and steps["param"]["skipped"], steps["param"]
    else:
        assert steps["param"]["ok"] is True and steps["param"]["value"] == 42, steps["param"]
    err = steps["error"]
    assert err["ok"] is False and err["error_code"] == "42P01", err
    assert 'relation "tlslab_no_such_table" does not exist' in err["error"], err


def test_probes_are_bounded_by_timeout(probe):
    """A peer that accepts TCP and never answers: every probe gives up within its bound."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        for driver in PG_DRIVERS:
            r = probe(driver, host="127.0.0.1", port=port, timeout=2, bound=15)
            assert r["connected"] is False, r
            assert r["error"], r
            assert r.seconds < 10, (driver, r.seconds, r)


# ---- the server helper ----------------------------------------------------------------------

def test_restart_with_certificate_swaps_what_is_served(probe, certs):
    with PgServer.start(certs["self_cert"], certs["self_key"]) as server:
        r = probe("psycopg3", host=HOST, port=server.port, ca=certs["ca"], encrypt="verify-full")
        assert r["connected"] is False, r
        server.restart_with_certificate(certs["cert"], certs["key"])
        r = probe("psycopg3", host=HOST, port=server.port, ca=certs["ca"], encrypt="verify-full")
        assert r["connected"] is True and r["ssl"] is True, r
        server.restart_with_certificate(certs["self_cert"], certs["self_key"])
        r = probe("psycopg3", host=HOST, port=server.port, ca=certs["ca"], encrypt="verify-full")
        assert r["connected"] is False, r
    assert not server.root.exists()


def test_chain_is_sent_only_when_given(probe, certs):
    """A leaf signed by an intermediate: with `chain` the server sends the intermediate and
    a client that trusts only the root verifies; without it (R12, incomplete chain) it cannot."""
    with PgServer.start(certs["inter_leaf"], certs["key"], chain=certs["inter"]) as server:
        r = probe("psycopg3", host=HOST, port=server.port, ca=certs["ca"], encrypt="verify-full")
        assert r["connected"] is True and r["ssl"] is True, r
        server.restart_with_certificate(certs["inter_leaf"], certs["key"])
        r = probe("psycopg3", host=HOST, port=server.port, ca=certs["ca"], encrypt="verify-full")
        assert r["connected"] is False, r
        assert "certificate verify failed" in r["error"], r


def test_hostssl_only_refuses_plaintext(probe, certs):
    with PgServer.start(certs["cert"], certs["key"], ssl_only=True) as server:
        r = probe("pgx", host=HOST, port=server.port, encrypt="disable")
        assert r["connected"] is False and r["error_code"] == "28000", r
        assert "no encryption" in r["error"], r
        r = probe("pgx", host=HOST, port=server.port, encrypt="verify-full", ca=certs["ca"])
        assert r["connected"] is True and r["ssl"] is True, r


@pytest.mark.parametrize("auth, request_code", [("scram-sha-256", 10), ("md5", 5),
                                                ("password", 3), ("trust", 0)])
def test_auth_method_variants(probe, certs, auth, request_code):
    with PgServer.start(certs["cert"], certs["key"], auth=auth) as server:
        assert auth_request(server.port) == request_code
        r = probe("psql", host=HOST, port=server.port, encrypt="verify-full", ca=certs["ca"])
        assert r["connected"] is True and r["ssl"] is True, r
