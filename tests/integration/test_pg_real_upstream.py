"""`tlslab proxy --protocol postgres` in front of a real PostgreSQL 15 (pg_server.py), with real
drivers: what the interception does to a real server's authentication, and what it records.

Theory of operation. The real servers serve a certificate of their own CA (made here with the
openssl CLI, for localhost and 127.0.0.1); every proxy gets that CA with --upstream-ca, so its
server leg is verified. Each test starts its own proxy (`tlslab` fixture: stopped and checked at
teardown) with its own --events file, runs a probe (or a small psycopg2 script) through it, and
reads the session records the run produced (EventLog), the proxy's log and the server's log.

  (a) self-signed: libpq's default channel_binding=prefer picks SCRAM-SHA-256-PLUS over TLS; its
      proof is bound to the certificate the proxy showed, so the real server refuses it ("SCRAM
      channel binding check failed"): recorded as channel_binding_defeated, logged as CHANNEL
      BINDING. channel_binding=disable logs in. sslmode=prefer retries in plaintext after the
      refusal and logs in there. Other drivers: pgjdbc, pgx, psycopg3 and node-pg (when asked)
      bind and are refused; asyncpg, postgres.js and node-pg's default never bind and are
      intercepted unseen.
  (b) pg-no-channel-binding: the proxy removes SCRAM-SHA-256-PLUS from the offer; a client that
      could bind says so ('y') and the real server, which can bind over TLS, refuses ("SCRAM
      channel binding negotiation error"); channel_binding=require refuses on the client side.
  (c) pg-ssl-refused against servers asking for a cleartext password or MD5 (hostssl only): the
      client on sslmode=prefer goes on in plaintext while the server leg stays TLS; the proxy
      prints EXPOSED (the password's length, or the MD5 response).
  (d) --postgres-require-ssl refuses sslmode=disable with the same FATAL 28000 a hostssl-only
      real server sends (compared with that server's own answer, text and fields).
  (e) the server leg is verified against --upstream-ca (and fails against a foreign CA), and a
      CancelRequest (psycopg2 conn.cancel() during pg_sleep(5)) reaches the real server through
      the proxy: the query ends with SQLSTATE 57014.

Two tests are strict xfails naming a tlslab issue found here (they turn into failures once it
is fixed, so the marker goes): the record of a --postgres-require-ssl refusal lacks the
auth_error a relayed refusal has, and the proxy answers direct SSL for a server that has none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import REPO, EventLog, TlslabProcess
from pg_server import PgServer

HOST = "localhost"
PG_PYTHON = REPO / "probes" / "pg-python" / ".venv" / "bin" / "python"
RECORD_WAIT_S = 5.0


# ---- certificates, servers, proxies -----------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed: {cp.stderr}"


@pytest.fixture(scope="module")
def upstream_certs(tmp_path_factory) -> dict[str, Path]:
    """The real servers' own CA and a certificate it signed for localhost and 127.0.0.1."""
    d = tmp_path_factory.mktemp("pg-upstream-certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=tlslab pg upstream test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  "extendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "server.ext",
             "-out", "server.pem", cwd=d)
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


@pytest.fixture(scope="module")
def pg_scram(upstream_certs):
    """SCRAM-SHA-256, TLS or not (pg_hba `host`)."""
    with PgServer.start(upstream_certs["cert"], upstream_certs["key"]) as server:
        yield server


@pytest.fixture(scope="module")
def pg_password(upstream_certs):
    """Cleartext password (pg_hba `password`), hostssl only."""
    with PgServer.start(upstream_certs["cert"], upstream_certs["key"], ssl_only=True,
                        auth="password") as server:
        yield server


@pytest.fixture(scope="module")
def pg_md5(upstream_certs):
    """MD5 (password stored as MD5), hostssl only."""
    with PgServer.start(upstream_certs["cert"], upstream_certs["key"], ssl_only=True,
                        auth="md5") as server:
        yield server


class Proxy:
    """A running `tlslab proxy --protocol postgres` and its --events file."""

    def __init__(self, process: TlslabProcess, events: Path):
        self.process = process
        self.events = EventLog(events)
        self.port = process.port

    def through(self, probe, driver: str, records: int = 1, **opts):
        """Runs the probe through the proxy; returns (result, the records of this run)."""
        before = len(self.events.records())
        r = probe(driver, host=HOST, port=self.port, **opts)
        recs = self.events.wait_for(lambda rec: True, bound=RECORD_WAIT_S,
                                    count=before + records)[before:]
        return r, recs


@pytest.fixture
def proxy(tlslab, upstream_certs, tmp_path):
    """proxy(pg, scenario, *extra) -> Proxy, verifying the server leg with the servers' CA
    unless extra names another --upstream-ca (or upstream_ca=None)."""
    count = 0

    def start(pg: PgServer, scenario: str, *extra: str, upstream_ca="default") -> Proxy:
        nonlocal count
        count += 1
        events = tmp_path / f"events-{count}.jsonl"
        args = ["--protocol", "postgres", "--upstream", f"127.0.0.1:{pg.port}",
                "--scenario", scenario, "--events", str(events)]
        if upstream_ca == "default":
            upstream_ca = upstream_certs["ca"]
        if upstream_ca is not None:
            args += ["--upstream-ca", str(upstream_ca)]
        return Proxy(tlslab("proxy", *args, *extra), events)

    return start


def log_since(pg: PgServer, mark: int) -> str:
    return pg.log_text()[mark:]


def wait_for_server_log(pg: PgServer, mark: int, needle: str, bound: float = 5.0) -> str:
    deadline = time.monotonic() + bound
    while needle not in log_since(pg, mark):
        assert time.monotonic() < deadline, f"server log has no {needle!r}:\n{log_since(pg, mark)}"
        time.sleep(0.05)
    return log_since(pg, mark)


# ---- (a) SCRAM-SHA-256-PLUS defeats the interception ------------------------------------------

@pytest.mark.parametrize("driver", ["psql", "psycopg2"])
def test_channel_binding_defeats_the_interception(driver, probe, proxy, pg_scram):
    # Without the proxy the same client logs in: the refusal below is the interception's doing.
    direct = probe(driver, host=HOST, port=pg_scram.port, encrypt="require")
    assert direct["connected"] is True and direct["ssl"] is True, direct.describe()

    px = proxy(pg_scram, "self-signed")
    mark, pg_mark = px.process.mark(), len(pg_scram.log_text())
    r, (rec,) = px.through(probe, driver, encrypt="require")
    assert r["connected"] is False, r.describe()
    assert "SCRAM channel binding check failed" in r["error"], r.describe()
    pg_rec = rec["postgres"]
    assert pg_rec["channel_binding_defeated"] is True, rec
    assert pg_rec["auth_method"] == "SCRAM-SHA-256-PLUS", rec
    assert pg_rec["channel_binding"] == "used (tls-server-end-point)", rec
    assert pg_rec["sasl_offered"] == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], rec
    assert pg_rec["authenticated"] is False, rec
    assert pg_rec["auth_error"] == "28000 SCRAM channel binding check failed", rec
    assert rec["upstream_leg"]["verification"] == "verified", rec
    px.process.wait_for_log(r"CHANNEL BINDING: .*SCRAM channel binding check failed", since=mark)
    wait_for_server_log(pg_scram, pg_mark, "FATAL:  SCRAM channel binding check failed")

    # channel_binding=disable: plain SCRAM-SHA-256 ('n'), which the proxy relays: logged in.
    r, (rec,) = px.through(probe, driver, encrypt="require", channel_binding="disable")
    assert r["connected"] is True and r["ssl"] is True and r["value"] == 1, r.describe()
    pg_rec = rec["postgres"]
    assert pg_rec["authenticated"] is True, rec
    assert pg_rec["auth_method"] == "SCRAM-SHA-256", rec
    assert pg_rec["channel_binding"] == "not supported (n)", rec
    assert pg_rec["channel_binding_defeated"] is False, rec
    assert pg_rec["auth_error"] == "", rec


def test_prefer_retries_in_plaintext_after_the_binding_is_refused(probe, proxy, pg_scram):
    """libpq on sslmode=prefer takes any error on the TLS attempt as a reason to try again
    without TLS: the refused SCRAM-SHA-256-PLUS login is followed by a plaintext login (plain
    SCRAM, nothing to bind to) that the real server (pg_hba `host`) accepts."""
    px = proxy(pg_scram, "self-signed")
    r, (first, second) = px.through(probe, "psql", records=2, encrypt="prefer")
    assert r["connected"] is True and r["ssl"] is False, r.describe()
    assert first["postgres"]["channel_binding_defeated"] is True, first
    assert second["postgres"]["negotiation"] == "plaintext", second
    assert second["postgres"]["authenticated"] is True, second
    assert second["postgres"]["auth_method"] == "SCRAM-SHA-256", second
    assert second["login"]["through_tls"] is False, second


# (driver, probe options, what happens through the proxy) for the two channel-binding scenarios:
# "bound" = the client uses SCRAM-SHA-256-PLUS when offered, and says 'y' when not;
# "unbound" = it never binds ('n'): the interception passes unseen.
CB_DRIVERS = [
    ("pgjdbc", dict(encrypt="require"), "bound"),
    ("pgx", dict(encrypt="require"), "bound"),
    ("psycopg3", dict(encrypt="require"), "bound"),
    ("node-pg", dict(encrypt="no-verify", channel_binding="prefer"), "bound"),
    ("node-pg", dict(encrypt="no-verify"), "unbound"),   # enableChannelBinding is off by default
    ("asyncpg", dict(encrypt="require"), "unbound"),     # asyncpg's SCRAM never binds
    ("postgresjs", dict(encrypt="require"), "unbound"),  # postgres.js's SCRAM never binds
]


@pytest.mark.parametrize("scenario", ["self-signed", "pg-no-channel-binding"])
def test_channel_binding_across_drivers(scenario, probe, proxy, pg_scram):
    px = proxy(pg_scram, scenario)
    problems = []
    for driver, opts, kind in CB_DRIVERS:
        r, (rec,) = px.through(probe, driver, **opts)
        pg_rec = rec["postgres"]
        got = (r["connected"], pg_rec["auth_method"], pg_rec["channel_binding"],
               pg_rec["channel_binding_defeated"], pg_rec["authenticated"], pg_rec["auth_error"])
        if kind == "unbound":
            want = (True, "SCRAM-SHA-256", "not supported (n)", False, True, "")
        elif scenario == "self-signed":
            want = (False, "SCRAM-SHA-256-PLUS", "used (tls-server-end-point)", True, False,
                    "28000 SCRAM channel binding check failed")
        else:
            want = (False, "SCRAM-SHA-256", "supported, not used (y)", False, False,
                    "28000 SCRAM channel binding negotiation error")
        if got != want:
            problems.append(f"{driver} {opts}: got {got}, want {want}\n{r.describe()}")
    assert not problems, "\n\n".join(problems)


# ---- (b) PLUS removed from the offer: the real server sees the downgrade -----------------------

@pytest.mark.parametrize("driver", ["psql", "psycopg2"])
def test_removed_plus_is_caught_by_the_real_server(driver, probe, proxy, pg_scram):
    px = proxy(pg_scram, "pg-no-channel-binding")
    mark, pg_mark = px.process.mark(), len(pg_scram.log_text())

    # prefer (libpq's default): the client could bind, was offered no PLUS, says 'y'.
    r, (rec,) = px.through(probe, driver, encrypt="require")
    assert r["connected"] is False, r.describe()
    assert "SCRAM channel binding negotiation error" in r["error"], r.describe()
    assert "this server does support channel binding" in r["error"], r.describe()
    pg_rec = rec["postgres"]
    assert pg_rec["sasl_offered"] == ["SCRAM-SHA-256"], rec  # what the client was shown
    assert pg_rec["auth_method"] == "SCRAM-SHA-256", rec
    assert pg_rec["channel_binding"] == "supported, not used (y)", rec
    assert pg_rec["authenticated"] is False, rec
    assert pg_rec["auth_error"] == "28000 SCRAM channel binding negotiation error", rec
    assert pg_rec["channel_binding_defeated"] is False, rec  # not defeated: the downgrade was seen
    px.process.wait_for_log(r"removed SCRAM-SHA-256-PLUS from the server's SASL mechanisms",
                            since=mark)
    px.process.wait_for_log(r"CHANNEL BINDING: .*'y' flag.*negotiation error", since=mark)
    wait_for_server_log(pg_scram, pg_mark, "The client supports SCRAM channel binding but thinks "
                        "the server does not.  However, this server does support channel binding.")

    # require: the client itself refuses a server that offers no PLUS; no proof is sent.
    r, (rec,) = px.through(probe, driver, encrypt="require", channel_binding="require")
    assert r["connected"] is False, r.describe()
    assert ("channel binding is required, but server did not offer an authentication method "
            "that supports channel binding") in r["error"], r.describe()
    assert rec["postgres"]["authenticated"] is False, rec
    assert rec["postgres"]["auth_error"] == "", rec  # the server refused nothing: the client left
    assert rec["postgres"]["channel_binding"] == "", rec

    # disable: plain SCRAM ('n') is what the proxy offered: logged in.
    r, (rec,) = px.through(probe, driver, encrypt="require", channel_binding="disable")
    assert r["connected"] is True and r["ssl"] is True, r.describe()
    assert rec["postgres"]["authenticated"] is True, rec
    assert rec["postgres"]["channel_binding"] == "not supported (n)", rec


# ---- (c) pg-ssl-refused: the password crosses in clear ------------------------------------------

@pytest.mark.parametrize("auth", ["password", "md5"])
def test_ssl_refused_exposes_the_password_of_a_prefer_client(auth, request, probe, proxy):
    pg: PgServer = request.getfixturevalue(f"pg_{auth}")
    px = proxy(pg, "pg-ssl-refused")
    mark, pg_mark = px.process.mark(), len(pg.log_text())

    r, (rec,) = px.through(probe, "psql", encrypt="prefer")
    assert r["connected"] is True and r["ssl"] is False and r["value"] == 1, r.describe()
    pg_rec = rec["postgres"]
    assert pg_rec["ssl_answer"] == "N" and pg_rec["upstream_answer"] == "S", rec
    assert pg_rec["negotiation"] == "SSLRequest answered N, then plaintext", rec
    assert pg_rec["auth_method"] == auth and pg_rec["authenticated"] is True, rec
    assert rec["outcome"] == "login-plaintext" and rec["login"]["through_tls"] is False, rec
    # the server leg stayed TLS (the hostssl-only server would refuse anything else), verified
    assert rec["upstream_leg"]["verification"] == "verified", rec
    assert rec["upstream_leg"]["tls"]["established"] is True, rec
    log = wait_for_server_log(pg, pg_mark, "connection authorized: user=lab database=lab")
    assert re.search(r"connection authorized: user=lab database=lab application_name=psql "
                     r"SSL enabled", log), log
    if auth == "password":
        assert rec["login"]["password"] is None, rec  # masked without --reveal-secrets
        assert rec["login"]["password_length"] == len("lab-password"), rec
        px.process.wait_for_log(r"EXPOSED: .*user 'lab' with a 12-character password in clear.*"
                                r"PLAINTEXT", since=mark)
    else:
        assert rec["login"]["password"] is None and rec["postgres"]["md5_hash"] is None, rec
        px.process.wait_for_log(r"EXPOSED: .*user 'lab' with an MD5 password response, "
                                r"crackable offline.*PLAINTEXT", since=mark)

    # require: the client gives up on the 'N', before any login
    r, (rec,) = px.through(probe, "psql", encrypt="require")
    assert r["connected"] is False, r.describe()
    assert "server does not support SSL, but SSL was required" in r["error"], r.describe()
    assert rec["outcome"] == "closed-before-tls" and rec["login"] is None, rec


def test_reveal_secrets_shows_the_cleartext_password(probe, proxy, pg_password):
    px = proxy(pg_password, "pg-ssl-refused", "--reveal-secrets")
    r, (rec,) = px.through(probe, "psycopg2", encrypt="prefer")
    assert r["connected"] is True and r["ssl"] is False, r.describe()
    assert rec["login"]["password"] == "lab-password", rec


# ---- (d) --postgres-require-ssl answers like a hostssl-only server ------------------------------

def error_response(port: int) -> dict[str, str]:
    """The fields of the ErrorResponse a plaintext StartupMessage (lab/lab) gets."""
    body = struct.pack("!i", 196608) + b"user\0lab\0database\0lab\0\0"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!i", len(body) + 4) + body)
        data = b""
        while len(data) < 5 or len(data) < 1 + struct.unpack("!i", data[1:5])[0]:
            chunk = s.recv(4096)
            assert chunk, f"closed after {data!r}"
            data += chunk
    assert data[:1] == b"E", data
    length = struct.unpack("!i", data[1:5])[0]
    fields = {}
    for item in data[5:1 + length].split(b"\0"):
        if item:
            fields[chr(item[0])] = item[1:].decode()
    return fields


def test_require_ssl_refuses_plaintext_as_a_hostssl_server_does(probe, proxy, pg_password):
    px = proxy(pg_password, "valid", "--postgres-require-ssl")
    mark = px.process.mark()
    norm = lambda text: re.sub(r"port \d+|127\.0\.0\.1:\d+", "P", text)
    for driver in ("psql", "psycopg2", "pgx"):
        real = probe(driver, host=HOST, port=pg_password.port, encrypt="disable")
        r, (rec,) = px.through(probe, driver, encrypt="disable")
        assert real["connected"] is False and r["connected"] is False, (real, r)
        assert 'no pg_hba.conf entry for host "127.0.0.1", user "lab", database "lab", ' \
               'no encryption' in real["error"], real.describe()
        assert norm(r["error"]) == norm(real["error"]), (r.describe(), real.describe())
        assert r["error_code"] == real["error_code"], (r, real)
        assert rec["postgres"]["authenticated"] is False, rec
        # refused by the proxy itself: nothing went to the server
        assert rec["bytes"]["to_server"] == 0, rec
        assert rec["upstream_leg"]["verification"] == "not reached", rec
    px.process.wait_for_log(r"refused as a hostssl-only server refuses it", since=mark)

    # On the wire: the same severity, code and message. The real server adds where in its
    # source the error was raised (F auth.c, L <line>, R ClientAuthentication), tlslab does not.
    real_fields, proxy_fields = error_response(pg_password.port), error_response(px.port)
    for f in "SVCM":
        assert proxy_fields.get(f) == real_fields.get(f), (f, proxy_fields, real_fields)
    assert set(proxy_fields) <= set(real_fields), (proxy_fields, real_fields)


def test_require_ssl_refusal_is_recorded_like_the_relayed_one(probe, proxy, pg_password):
    emulated = proxy(pg_password, "valid", "--postgres-require-ssl")
    relayed = proxy(pg_password, "valid")  # the hostssl-only server refuses, the proxy relays
    _, (rec_emulated,) = emulated.through(probe, "psql", encrypt="disable")
    _, (rec_relayed,) = relayed.through(probe, "psql", encrypt="disable")
    assert rec_relayed["postgres"]["auth_error"].startswith("28000 no pg_hba.conf entry"), \
        rec_relayed
    assert rec_emulated["postgres"]["auth_error"] == rec_relayed["postgres"]["auth_error"], \
        rec_emulated


# ---- direct SSL in front of a server that has none ------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "tlslab issue: `tlslab proxy` answers a direct-SSL client itself (TLS first, ALPN "
    "postgresql selected) and opens the server leg with an SSLRequest, so a client on "
    "sslnegotiation=direct logs in through the proxy to PostgreSQL 15, which cannot do direct "
    "SSL at all (directly the same client fails: the server reads the ClientHello as a startup "
    "packet and closes). The proxy makes a pre-17 server look direct-SSL capable."))
def test_direct_ssl_fails_through_the_proxy_as_it_fails_directly(probe, proxy, pg_scram, lab_ca):
    opts = dict(encrypt="require", ssl_negotiation="direct", channel_binding="disable")
    direct = probe("psycopg2", host=HOST, port=pg_scram.port, **opts)
    assert direct["connected"] is False, direct.describe()  # PostgreSQL 15: no direct SSL
    px = proxy(pg_scram, "valid")
    r, (rec,) = px.through(probe, "psycopg2", **opts)
    assert rec["postgres"]["direct_ssl"] is True, rec
    assert r["connected"] is False, (r.describe(), rec)


# ---- (e) the server leg is verified, and a CancelRequest gets through ---------------------------

CANCEL_SCRIPT = r"""
import json, sys, threading, time, psycopg2
out = {}
conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
out["ssl"] = conn.info.ssl_in_use
out["backend_pid"] = conn.get_backend_pid()
timer = threading.Timer(1.0, conn.cancel)
timer.start()
t0 = time.monotonic()
try:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(5)")
    out["pgcode"] = None
except psycopg2.Error as e:
    out["pgcode"], out["error"] = e.pgcode, str(e).strip()
out["elapsed"] = time.monotonic() - t0
timer.join()
with conn.cursor() as cur:
    cur.execute("SELECT 1")
    out["after"] = cur.fetchone()[0]
conn.close()
print(json.dumps(out))
"""


def test_cancel_request_reaches_the_real_server(proxy, pg_scram, lab_ca, upstream_certs):
    px = proxy(pg_scram, "valid")
    pg_mark = len(pg_scram.log_text())
    home = Path(tempfile.mkdtemp(prefix="tlslab-pg-cancel-"))  # no ~/.postgresql, no .pgpass
    try:
        dsn = (f"host={HOST} port={px.port} user=lab password=lab-password dbname=lab "
               f"sslmode=verify-full sslrootcert={lab_ca} channel_binding=disable "
               f"connect_timeout=10")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["HOME"] = str(home)
        cp = subprocess.run([str(PG_PYTHON), "-c", CANCEL_SCRIPT, dsn], capture_output=True,
                            text=True, timeout=30, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert cp.returncode == 0, cp.stderr
    out = json.loads(cp.stdout)
    assert out["ssl"] is True, out
    assert out["pgcode"] == "57014", out  # query_canceled
    assert "canceling statement due to user request" in out["error"], out
    assert out["elapsed"] < 4.0, out       # not the whole pg_sleep(5)
    assert out["after"] == 1, out          # the session survives the cancel
    log = wait_for_server_log(pg_scram, pg_mark, "ERROR:  canceling statement due to user request")
    assert f"[{out['backend_pid']}]" in log, log

    recs = px.events.wait_for(lambda rec: True, bound=RECORD_WAIT_S, count=2)
    (cancel,) = [r for r in recs if r["postgres"]["cancel_request"]]
    (session,) = [r for r in recs if not r["postgres"]["cancel_request"]]
    assert cancel["postgres"]["negotiation"] == "CancelRequest", cancel
    assert session["outcome"] == "login-encrypted" and session["postgres"]["authenticated"], session
    # the server leg: TLS to the real server, its certificate verified against --upstream-ca
    assert session["upstream_leg"]["verification"] == "verified", session
    assert session["upstream_leg"]["tls"]["established"] is True, session
    served = ssl.PEM_cert_to_DER_cert(upstream_certs["cert"].read_text())
    assert session["upstream_certificate"]["sha256"] == hashlib.sha256(served).hexdigest(), session


def test_upstream_verification_outcomes(probe, proxy, pg_scram, lab_ca, foreign_ca):
    """With the servers' CA: verified; without --upstream-ca: recorded, not verified; with a
    CA that did not sign the server's certificate: the server leg fails (the proxy sends
    unknown_ca) and no login is relayed."""
    opts = dict(encrypt="verify-full", ca=lab_ca, channel_binding="disable")
    for upstream_ca, want, connected in (("default", "verified", True),
                                         (None, "not verified", True),
                                         (foreign_ca, "failed: ", False)):
        px = proxy(pg_scram, "valid", upstream_ca=upstream_ca)
        r, (rec,) = px.through(probe, "psql", **opts)
        assert r["connected"] is connected, (upstream_ca, r.describe())
        assert rec["upstream_leg"]["verification"].startswith(want), (upstream_ca, rec)
        if not connected:
            assert "certificate verify failed" in rec["upstream_leg"]["verification"], rec
            assert rec["outcome"] == "upstream-failed", rec
            assert rec["upstream_leg"]["tls"]["alert_sent"]["name"] == "unknown_ca", rec
            assert rec["postgres"]["authenticated"] is False, rec
