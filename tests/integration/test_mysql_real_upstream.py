"""`tlslab proxy --protocol mysql` in front of a real MariaDB 10.11 (mariadb_server.py), with the
MySQL probes: what the interception does to a real server's authentication, and what it records.

Theory of operation. The real servers serve a certificate of their own CA (made here with the
openssl CLI, for localhost and 127.0.0.1); every proxy gets that CA with --upstream-ca, so its
server leg is verified. Each test starts its own proxy (`tlslab` fixture: stopped and checked at
teardown) with its own --events file, runs probes (probes/README.md, "MySQL probes") or a
small PyMySQL script through it, and reads the session records the run produced (EventLog), the
proxy's log and, where the server's own view matters, what the server says about the session
(`information_schema.SESSION_STATUS` through the client's own query).

  (a) valid: every probe logs in through the proxy with VERIFY_IDENTITY and the lab CA; the
      record has the real server's version, the server leg in TLS and verified, the user, the
      plugin that finished the login (mysql_native_password: MySQL connectors start with
      caching_sha2_password and are switched) and the OK relayed; the server sees TLS.
  (b) the ed25519 account (MariaDB's auth_ed25519) through the proxy: the clients that can use
      it log in and the proxy records client_ed25519 by name; the others fail as they fail
      against the server directly (test_mysql_drivers_direct.py's table).
  (c) a wrong password: the real server's ERR 1045 reaches the client through the proxy and is
      recorded in mysql.auth_error.
  (d) self-signed: a verifying client refuses the proxy's certificate before any login (its
      words are the ones it has for a self-signed server, test_mysql_drivers_direct.py);
      REQUIRED logs in and the proxy records what it read: a mysql_native_password scramble
      response (EXPOSED as crackable offline, the password itself never crosses the wire, so
      --reveal-secrets has nothing to show).
  (e) mysql-ssl-hidden: a PREFERRED client goes on in plaintext (login-plaintext, EXPOSED); the
      record's server leg agrees with what the real server saw, and (the scenario's own words)
      the server leg mirrors the client: the real server sees a clear connection.
  (f) --mysql-require-secure-transport: a DISABLED client is refused by the proxy itself, as
      the server behind it refuses with require_secure_transport=ON: in front of MariaDB its
      1045 (the same error the real server gives), in front of a MySQL server (the MySQL 8.0
      stand-in) 3159; nothing is sent to the server.
  (g) the real server with require_secure_transport=ON behind the proxy: a client in clear gets
      MariaDB's own answer (1045, as directly: MariaDB 10.11 does not send 3159).
  (h) an ERR after login (SELECT from a missing table: 1146) is relayed, recorded as a message
      with --record-messages, and the session goes on.
  (i) the server leg is verified against --upstream-ca, recorded unverified without it, and
      refused against a CA that did not sign the server's certificate.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import REPO, EventLog, TlslabProcess
from mariadb_server import MariaDbServer
from test_mysql_drivers_direct import ED25519, MYSQL_DRIVERS, SELF_SIGNED_REFUSAL

HOST = "localhost"
MYSQL_PYTHON = REPO / "probes" / "mysql-python" / ".venv" / "bin" / "python"
MATRIX_TABLE = Path(__file__).resolve().parent / "expectations" / "mysql_lab_matrix.json"
RECORD_WAIT_S = 5.0

ED25519_DRIVERS = [d for d, (ok, _, _) in ED25519.items() if ok]
# REQUIRED where the probe can say it; else the driver's own default (mariadb-cli: TLS on,
# nothing verified; mysql-connector-python: PREFERRED, nothing verified).
NO_REQUIRED = {"mariadb-cli", "mysqlconnector", "mysqlconnector-pure"}
# Probes that can say PREFERRED (TLS if offered, silently clear otherwise).
PREFERRED_DRIVERS = ("mariadb-cli", "mysqlconnector", "mysqlconnector-pure", "pymysql",
                     "mysqljdbc", "gomysql")
# The server's own view of the session: its cipher ('' in clear). Prefixed, so that an empty
# value is still a row every probe reports.
SERVER_CIPHER_QUERY = ("SELECT CONCAT('cipher=', VARIABLE_VALUE) FROM "
                       "information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'")

SECURE_TRANSPORT_TEXT = ("Connections using insecure transport are prohibited while "
                         "--require_secure_transport=ON.")
ACCESS_DENIED = "Access denied for user 'lab'@'127.0.0.1' (using password: YES)"
MISSING_TABLE = "Table 'lab.no_such_table' doesn't exist"


def code_is(r: dict, code: int) -> bool:
    """The server's error number as the probe reports it (gomysql too: its *mysql.MySQLError
    carries the number)."""
    return r["error_code"] == code


def norm(text: str | None) -> str:
    """An error text without what differs between two connections: ports, connection ids."""
    return re.sub(r"conn=\d+|localhost:\d+|127\.0\.0\.1:\d+|port \d+", "X", text or "")


def verify_identity(lab_ca: Path) -> dict:
    return {"ca": lab_ca, "ssl_mode": "VERIFY_IDENTITY"}


def required(driver: str) -> dict:
    return {} if driver in NO_REQUIRED else {"ssl_mode": "REQUIRED"}


# ---- certificates, servers, proxies -----------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed: {cp.stderr}"


@pytest.fixture(scope="module")
def upstream_certs(tmp_path_factory) -> dict[str, Path]:
    """The real servers' own CA and a certificate it signed for localhost and 127.0.0.1."""
    d = tmp_path_factory.mktemp("mysql-upstream-certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=tlslab mysql upstream test CA",
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
def db(upstream_certs):
    """MariaDB 10.11, TLS offered, plaintext accepted."""
    with MariaDbServer.start(upstream_certs["cert"], upstream_certs["key"]) as server:
        yield server


@pytest.fixture(scope="module")
def db_secure_only(upstream_certs):
    """MariaDB 10.11 with require_secure_transport=ON."""
    with MariaDbServer.start(upstream_certs["cert"], upstream_certs["key"],
                             require_secure_transport=True) as server:
        yield server


class Proxy:
    """A running `tlslab proxy --protocol mysql` and its --events file."""

    def __init__(self, process: TlslabProcess, events: Path):
        self.process = process
        self.events = EventLog(events)
        self.port = process.port

    def through(self, probe, driver: str, records: int = 1, **opts):
        """Runs the probe through the proxy; returns (result, the session records of this run)."""
        before = len(self.events.records())
        r = probe(driver, host=HOST, port=self.port, **opts)
        recs = self.events.wait_for(lambda rec: True, bound=RECORD_WAIT_S,
                                    count=before + records)[before:]
        return r, recs

    def session_lines(self, record: dict, since: int = 0) -> list[str]:
        """The proxy's log lines of one session (its tag `[proxy#ID ` or `[...#ID `)."""
        rx = re.compile(r"\[[\w:.-]*#" + str(record["id"]) + r" ")
        return [ln for ln in self.process.log(since) if rx.search(ln)]


@pytest.fixture
def proxy(tlslab, upstream_certs, tmp_path):
    """proxy(db, scenario, *extra) -> Proxy, verifying the server leg with the servers' CA
    unless upstream_ca names another (or None: not verified)."""
    count = 0

    def start(server: MariaDbServer, scenario: str, *extra: str, upstream_ca="default") -> Proxy:
        nonlocal count
        count += 1
        events = tmp_path / f"events-{count}.jsonl"
        args = ["--protocol", "mysql", "--upstream", f"127.0.0.1:{server.port}",
                "--scenario", scenario, "--events", str(events)]
        if upstream_ca == "default":
            upstream_ca = upstream_certs["ca"]
        if upstream_ca is not None:
            args += ["--upstream-ca", str(upstream_ca)]
        return Proxy(tlslab("proxy", *args, *extra), events)

    return start


def matrix_row(key: str) -> dict | None:
    """The reviewed lab-matrix row (test_mysql_lab_matrix.py), if the table has it."""
    try:
        return json.loads(MATRIX_TABLE.read_text())["cases"].get(key)
    except FileNotFoundError:
        return None


def served_sha256(cert: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()


def assert_native_login_through_tls(rec: dict, db: MariaDbServer, user: str = "lab") -> None:
    my = rec["mysql"]
    assert rec["protocol"] == "mysql", rec
    assert rec["outcome"] == "login-encrypted", rec
    assert my["server_is_mariadb"] is True, rec
    assert my["upstream_offered_ssl"] is True and my["client_shown_ssl"] is True, rec
    assert my["ssl_request"] is True and my["negotiation"] == "SSLRequest", rec
    assert rec["login"]["user_name"] == user and rec["login"]["through_tls"] is True, rec
    assert rec["login"]["database"] == "lab", rec
    assert my["authenticated"] is True and my["auth_error"] == "", rec
    assert my["commands_after_ok"] is True and my["first_command"], rec
    # the server leg: TLS to the real server, verified against --upstream-ca
    assert my["upstream_leg"] == "TLS", rec
    assert rec["upstream_leg"]["verification"] == "verified", rec
    assert rec["upstream_leg"]["tls"]["established"] is True, rec
    assert rec["upstream_certificate"]["sha256"] == served_sha256(db.cert_path), rec


# ---- (a) valid: every probe logs in; the record says what the real server did ----------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_valid_every_probe_logs_in_through_the_proxy(driver, probe, proxy, db, lab_ca):
    px = proxy(db, "valid")
    r, (rec,) = px.through(probe, driver, query=SERVER_CIPHER_QUERY, **verify_identity(lab_ca))
    assert r["connected"] is True and r["ssl"] is True, r.describe()
    assert r["error"] is None, r.describe()
    # the server's own view: this session reached it over TLS
    assert isinstance(r["value"], str) and r["value"].startswith("cipher="), r.describe()
    assert len(r["value"]) > len("cipher="), r.describe()
    version = db.version()
    assert version.startswith("10.11."), version
    assert version in rec["mysql"]["server_version"], (version, rec)
    if r.get("server_version"):
        assert version in r["server_version"], r.describe()
    assert_native_login_through_tls(rec, db)
    my = rec["mysql"]
    # MariaDB's accounts here are mysql_native_password: a client that starts with another
    # plugin (caching_sha2_password: the MySQL connectors) is switched to it
    assert my["auth_plugins"][-1] == "mysql_native_password", rec
    assert my["auth_plugins"][0] == my["client_plugin"] or not my["client_plugin"], rec
    assert my["password_read"] is False and my["password_via"] == "", rec
    assert rec["login"]["password"] is None and rec["login"]["password_length"] == 0, rec


# ---- (b) ed25519 ------------------------------------------------------------------------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_ed25519_account_through_the_proxy(driver, probe, proxy, db, lab_ca):
    px = proxy(db, "valid")
    r, (rec,) = px.through(probe, driver, user="lab_ed25519", **verify_identity(lab_ca))
    connected, code, text = ED25519[driver]
    my = rec["mysql"]
    assert rec["login"]["user_name"] == "lab_ed25519", rec
    if connected:
        assert r["connected"] is True and r["value"] == 1 and r["ssl"] is True, r.describe()
        assert_native_login_through_tls(rec, db, user="lab_ed25519")
        assert "client_ed25519" in my["auth_plugins"], rec
        assert rec["login"]["auth_kind"] == "client_ed25519", rec
        # an ed25519 signature, not the password
        assert my["password_read"] is False, rec
    else:
        # the same failure as against the server directly (test_mysql_drivers_direct.py)
        assert r["connected"] is False, r.describe()
        assert r["error_code"] == code and text in r["error"], r.describe()
        assert my["authenticated"] is False, rec


# ---- (c) a wrong password: the real server's 1045 ---------------------------------------------

@pytest.mark.parametrize("driver", ["mariadb-cli", "pymysql", "mysql2", "mariadbjdbc", "gomysql"])
def test_wrong_password_gets_the_real_servers_1045(driver, probe, proxy, db, lab_ca,
                                                   upstream_certs):
    direct = probe(driver, host=HOST, port=db.port, password="not-the-password",
                   **verify_identity(upstream_certs["ca"]))
    px = proxy(db, "valid")
    r, (rec,) = px.through(probe, driver, password="not-the-password", **verify_identity(lab_ca))
    assert r["connected"] is False, r.describe()
    assert code_is(r, 1045) and ACCESS_DENIED in r["error"], r.describe()
    assert r["error_code"] == direct["error_code"], (r.describe(), direct.describe())
    assert norm(r["error"]) == norm(direct["error"]), (r.describe(), direct.describe())
    my = rec["mysql"]
    assert my["authenticated"] is False, rec
    assert my["auth_error"] == f"1045 28000 {ACCESS_DENIED}", rec
    assert rec["login"]["user_name"] == "lab" and rec["login"]["through_tls"] is True, rec
    assert rec["upstream_leg"]["verification"] == "verified", rec


# ---- (d) self-signed -----------------------------------------------------------------------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_self_signed_is_refused_by_a_verifying_client(driver, probe, proxy, db, lab_ca):
    px = proxy(db, "self-signed")
    r, (rec,) = px.through(probe, driver, **verify_identity(lab_ca))
    code, text = SELF_SIGNED_REFUSAL[driver]
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == code and text in r["error"], r.describe()
    assert rec["outcome"] in ("alert", "closed-during-handshake", "closed-after-handshake"), rec
    row = matrix_row(f"{driver}/verify-identity/self-signed")
    if row is not None:  # the lab matrix's reviewed verdict for the same client and scenario
        assert rec["outcome"] == row["outcome"], (row, rec)
        assert (rec["alert"] or {}).get("name") == row["alert"], (row, rec)
    # refused before any login: nothing of the client's reached the real server
    assert rec["login"] is None, rec
    assert rec["mysql"]["ssl_request"] is True and rec["mysql"]["authenticated"] is False, rec
    assert rec["certificate_shown"]["self_signed"] is True, rec


@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "reveal-secrets"])
@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_self_signed_required_logs_in_and_the_proxy_reads_no_password(driver, reveal, probe,
                                                                      proxy, db):
    px = proxy(db, "self-signed", *(["--reveal-secrets"] if reveal else []))
    mark = px.process.mark()
    r, (rec,) = px.through(probe, driver, **required(driver))
    assert r["connected"] is True and r["ssl"] is True and r["value"] == 1, r.describe()
    assert_native_login_through_tls(rec, db)
    my = rec["mysql"]
    assert my["auth_plugins"][-1] == "mysql_native_password", rec
    # mysql_native_password sends SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))):
    # the password never crosses the wire, so there is nothing to reveal
    assert my["password_read"] is False and my["password_via"] == "", rec
    assert rec["login"]["password"] is None and rec["login"]["password_length"] == 0, rec
    # what it did read is a scramble response, which is crackable offline: EXPOSED says so
    px.process.wait_for_log(r"EXPOSED: read the login of user 'lab' with a mysql_native_password "
                            r"response.*crackable offline.*'self-signed' certificate", since=mark)
    lines = px.session_lines(rec, mark)
    assert lines, px.process.log_text(mark)
    assert not [ln for ln in lines if "lab-password" in ln or "password '" in ln], \
        "\n".join(lines)


# ---- (e) mysql-ssl-hidden: PREFERRED goes on in plaintext ------------------------------------

@pytest.mark.parametrize("driver", PREFERRED_DRIVERS)
def test_ssl_hidden_preferred_goes_on_in_plaintext(driver, probe, proxy, db):
    px = proxy(db, "mysql-ssl-hidden")
    mark = px.process.mark()
    r, (rec,) = px.through(probe, driver, ssl_mode="PREFERRED", query=SERVER_CIPHER_QUERY)
    assert r["connected"] is True and r["ssl"] is False, r.describe()
    my = rec["mysql"]
    assert rec["outcome"] == "login-plaintext", rec
    assert my["upstream_offered_ssl"] is True and my["client_shown_ssl"] is False, rec
    assert my["ssl_request"] is False, rec
    assert my["negotiation"] == "plaintext (SSL not offered)", rec
    assert rec["login"]["user_name"] == "lab" and rec["login"]["through_tls"] is False, rec
    assert my["authenticated"] is True, rec
    px.process.wait_for_log(r"removed CLIENT_SSL from the server's greeting", since=mark)
    px.process.wait_for_log(r"EXPOSED: read the login of user 'lab' with a "
                            r"(mysql_native_password|caching_sha2_password) response.*PLAINTEXT",
                            since=mark)
    # the record says what the real server saw: its own view of the session's cipher
    assert isinstance(r["value"], str) and r["value"].startswith("cipher="), r.describe()
    server_saw_tls = r["value"] != "cipher="
    assert (my["upstream_leg"] == "TLS") is server_saw_tls, (r["value"], rec)
    assert (rec["upstream_leg"]["tls"] is not None) is server_saw_tls, (r["value"], rec)


@pytest.mark.parametrize("driver", ["pymysql", "gomysql"])
def test_ssl_hidden_server_leg_mirrors_the_client(driver, probe, proxy, db):
    """The scenario (scenarios/catalogue/24-mysql-ssl-hidden.toml: "the server leg mirrors the
    client"): a client shown no CLIENT_SSL goes on in clear, and so does the server leg: the
    real server sees a clear connection."""
    px = proxy(db, "mysql-ssl-hidden")
    r, (rec,) = px.through(probe, driver, ssl_mode="PREFERRED", query=SERVER_CIPHER_QUERY)
    assert r["connected"] is True and r["ssl"] is False, r.describe()
    assert r["value"] == "cipher=", r.describe()  # the server's own view: no TLS
    assert rec["mysql"]["upstream_leg"].startswith("clear (mirrors the client"), rec
    assert rec["upstream_leg"]["tls"] is None, rec


# ---- (f) --mysql-require-secure-transport: the proxy refuses as the server behind it would ------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_require_secure_transport_flag_refuses_as_mariadb_does(driver, probe, proxy, db,
                                                               db_secure_only, lab_ca):
    """In front of MariaDB the proxy's refusal is MariaDB's own (10.11 with
    require_secure_transport=ON answers 1045 "Access denied", not MySQL's 3159): the same
    error the real server gives this client directly; nothing reaches the server."""
    real = probe(driver, host=HOST, port=db_secure_only.port, ssl_mode="DISABLED")
    assert real["connected"] is False and real["error_code"] == 1045, real.describe()
    px = proxy(db, "valid", "--mysql-require-secure-transport")
    mark = px.process.mark()
    r, (rec,) = px.through(probe, driver, ssl_mode="DISABLED")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == real["error_code"], (r.describe(), real.describe())
    assert norm(r["error"]) == norm(real["error"]), (r.describe(), real.describe())
    assert r.get("sql_state", "28000") == real.get("sql_state", "28000"), (r, real)
    my = rec["mysql"]
    assert rec["outcome"] == "login-plaintext", rec
    assert rec["login"]["user_name"] == "lab" and rec["login"]["through_tls"] is False, rec
    assert my["authenticated"] is False, rec
    assert my["auth_error"] == f"1045 28000 {ACCESS_DENIED}", rec
    # refused by the proxy itself: nothing of the client's went to the server
    assert rec["bytes"]["to_server"] == 0, rec
    px.process.wait_for_log(r"require_secure_transport=ON", since=mark)
    # a TLS client through the same proxy logs in
    r, (rec,) = px.through(probe, driver, **verify_identity(lab_ca))
    assert r["connected"] is True and r["ssl"] is True, r.describe()
    assert rec["mysql"]["authenticated"] is True, rec


# Clients that can finish caching_sha2_password in clear without the RSA key exchange: the
# stand-in with --encryption force authenticates before it refuses, so PyMySQL (no
# `cryptography`) and Connector/J (allowPublicKeyRetrieval off) fail there on the RSA step
# first, while the proxy refuses at the HandshakeResponse.
@pytest.mark.parametrize("driver", ["mariadb-cli", "mysql2", "gomysql"])
def test_require_secure_transport_flag_sends_3159_in_front_of_mysql(driver, probe, tlslab,
                                                                    tmp_path):
    """In front of a MySQL server (the MySQL 8.0 stand-in, `tlslab serve --protocol mysql`)
    the refusal is MySQL's ER_SECURE_TRANSPORT_REQUIRED, 3159, as the stand-in itself sends it
    with --encryption force."""
    forced = tlslab("serve", "--protocol", "mysql", "--encryption", "force")
    real = probe(driver, host=HOST, port=forced.port, ssl_mode="DISABLED")
    assert real["connected"] is False and real["error_code"] == 3159, real.describe()
    assert SECURE_TRANSPORT_TEXT in real["error"], real.describe()
    upstream = tlslab("serve", "--protocol", "mysql")
    events = tmp_path / "events.jsonl"
    px = Proxy(tlslab("proxy", "--protocol", "mysql", "--upstream", f"127.0.0.1:{upstream.port}",
                      "--scenario", "valid", "--events", str(events),
                      "--mysql-require-secure-transport"), events)
    r, (rec,) = px.through(probe, driver, ssl_mode="DISABLED")
    assert r["connected"] is False, r.describe()
    assert r["error_code"] == 3159 and SECURE_TRANSPORT_TEXT in r["error"], r.describe()
    assert norm(r["error"]) == norm(real["error"]), (r.describe(), real.describe())
    assert rec["mysql"]["server_is_mariadb"] is False, rec
    assert rec["mysql"]["auth_error"] == f"3159 HY000 {SECURE_TRANSPORT_TEXT}", rec
    assert rec["bytes"]["to_server"] == 0, rec


# ---- (g) the real server's require_secure_transport: MariaDB's own 1045 ------------------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_real_require_secure_transport_answers_through_the_proxy(driver, probe, proxy,
                                                                 db_secure_only):
    direct = probe(driver, host=HOST, port=db_secure_only.port, ssl_mode="DISABLED")
    px = proxy(db_secure_only, "valid")
    r, (rec,) = px.through(probe, driver, ssl_mode="DISABLED")
    assert direct["connected"] is False and r["connected"] is False, (direct, r)
    assert code_is(r, 1045) and ACCESS_DENIED in r["error"], r.describe()
    assert r["error_code"] == direct["error_code"], (r.describe(), direct.describe())
    assert norm(r["error"]) == norm(direct["error"]), (r.describe(), direct.describe())
    my = rec["mysql"]
    assert rec["outcome"] == "login-plaintext", rec
    assert my["upstream_leg"] == "clear (mirrors the client in clear)", rec
    assert my["authenticated"] is False, rec
    assert my["auth_error"] == f"1045 28000 {ACCESS_DENIED}", rec
    assert rec["bytes"]["to_server"] > 0, rec  # this time the server answered


# ---- (h) an ERR after login is relayed, and the session goes on -------------------------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_query_error_passes_through(driver, probe, proxy, db, lab_ca):
    px = proxy(db, "valid")
    r, (rec,) = px.through(probe, driver, query="SELECT * FROM no_such_table",
                           **verify_identity(lab_ca))
    assert r["connected"] is True and r["ssl"] is True, r.describe()
    assert code_is(r, 1146) and MISSING_TABLE in r["error"], r.describe()
    assert rec["outcome"] == "login-encrypted", rec
    assert rec["mysql"]["authenticated"] is True and rec["mysql"]["commands_after_ok"], rec


SESSION_GOES_ON = r"""
import json, sys, pymysql
out = {}
conn = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="lab",
                       password="lab-password", database="lab", connect_timeout=10,
                       read_timeout=10, ssl_ca=sys.argv[3], ssl_verify_cert=True,
                       ssl_verify_identity=True)
with conn.cursor() as cur:
    try:
        cur.execute("SELECT * FROM no_such_table")
        out["first"] = "no error"
    except pymysql.MySQLError as e:
        out["first"] = [e.args[0], e.args[1]]
    cur.execute("SELECT 41 + 1")
    out["after"] = cur.fetchone()[0]
conn.close()
print(json.dumps(out))
"""


def test_session_goes_on_after_a_query_error(proxy, db, lab_ca):
    px = proxy(db, "valid", "--record-messages")
    home = Path(tempfile.mkdtemp(prefix="tlslab-mysql-goes-on-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
        env["HOME"] = str(home)
        cp = subprocess.run([str(MYSQL_PYTHON), "-c", SESSION_GOES_ON, HOST, str(px.port),
                             str(lab_ca)], capture_output=True, text=True, timeout=30, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert cp.returncode == 0, cp.stderr
    out = json.loads(cp.stdout)
    assert out["first"] == [1146, MISSING_TABLE], out
    assert out["after"] == 42, out
    (rec,) = px.events.wait_for(lambda r: True, bound=RECORD_WAIT_S)
    assert rec["outcome"] == "login-encrypted" and rec["mysql"]["commands_after_ok"], rec
    messages = px.events.records(event="message")
    queries = [m["text"] for m in messages if m["kind"] == "query" and m["from"] == "client"]
    assert "SELECT * FROM no_such_table" in queries and "SELECT 41 + 1" in queries, messages
    errors = [m for m in messages if m["kind"] == "error" and m["from"] == "server"]
    assert [(m.get("number"), m["text"]) for m in errors] == [(1146, MISSING_TABLE)], messages
    assert errors[0]["session"] == rec["id"] and errors[0].get("detail") == "42S02", errors


# ---- (i) the server leg's verification -------------------------------------------------------

def test_upstream_verification_outcomes(probe, proxy, db, lab_ca, foreign_ca, upstream_certs):
    """With the servers' CA: verified; without --upstream-ca: recorded, not verified; with a CA
    that did not sign the server's certificate: the server leg fails and no login is relayed."""
    for upstream_ca, want, connected in (("default", "verified", True),
                                         (None, "not verified", True),
                                         (foreign_ca, "failed: ", False)):
        px = proxy(db, "valid", upstream_ca=upstream_ca)
        r, (rec,) = px.through(probe, "pymysql", **verify_identity(lab_ca))
        assert r["connected"] is connected, (upstream_ca, r.describe())
        assert rec["upstream_leg"]["verification"].startswith(want), (upstream_ca, rec)
        if connected:
            assert rec["upstream_certificate"]["sha256"] == \
                served_sha256(upstream_certs["cert"]), rec
        else:
            assert "certificate verify failed" in rec["upstream_leg"]["verification"], rec
            assert rec["outcome"] == "upstream-failed", rec
            assert rec["upstream_leg"]["tls"]["alert_sent"]["name"] == "unknown_ca", rec
            assert rec["mysql"]["authenticated"] is False, rec
