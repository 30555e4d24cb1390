"""The MySQL probes against a real MariaDB 10.11 with TLS (mariadb_server.py), no tlslab.

What must hold before the probes can judge tlslab's MySQL side: each probe (mariadb-cli,
mysqlconnector, mysqlconnector-pure, pymysql, mysql2, node-mariadb, mysqljdbc, mariadbjdbc,
gomysql, php-mysqlnd; contract in probes/README.md, "MySQL probes")

* connects with VERIFY_IDENTITY and the right CA and reports ssl true;
* refuses a self-signed certificate under VERIFY_CA and VERIFY_IDENTITY, with its own words
  (the texts below are what each driver was seen to say), or says it has no VERIFY_CA
  (mysqlnd);
* connects in plaintext with DISABLED and reports ssl false;
* connects to a self-signed certificate with REQUIRED (no CA), or says it has no REQUIRED;
* accepts a CA-signed certificate for another name under VERIFY_CA (where the driver has it)
  and refuses it under VERIFY_IDENTITY; php-mysqlnd's defaults are plaintext, and its CA alone
  verifies chain and name; for mysql-connector-python (the seed case) `ssl_ca` alone accepts it, and
  `ssl_ca` + `ssl_verify_identity` refuses;
* against require_secure_transport=ON, DISABLED is refused with what MariaDB 10.11 really
  sends: error 1045 (28000) "Access denied for user ..." (MySQL's 3159
  ER_SECURE_TRANSPORT_REQUIRED is not what MariaDB says), and TLS logins still work.

And the server helper itself: the ed25519 account, restart_with_certificate, and the chain option.

Certificates are made here with the openssl CLI (as test_pg_drivers_direct.py does): a CA, a leaf
it signed for localhost/127.0.0.1, a self-signed leaf for the same names, a leaf the CA signed for
db.example.com only (wrong host), and an intermediate CA with a leaf of its own.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from mariadb_server import MariaDbServer

MYSQL_DRIVERS = ("mariadb-cli", "mysqlconnector", "mysqlconnector-pure", "pymysql", "mysql2",
                 "node-mariadb", "mysqljdbc", "mariadbjdbc", "gomysql", "php-mysqlnd")
HOST = "localhost"  # in the certificates' SAN; the server listens on 127.0.0.1

# What each driver says when VERIFY_CA / VERIFY_IDENTITY (with the right CA file) meets a
# self-signed certificate (observed against MariaDB 10.11.19): (error_code, a piece of the text).
# The same words for both modes, except where a second entry says otherwise.
SELF_SIGNED_REFUSAL = {
    "mariadb-cli": (2026, "TLS/SSL error: self-signed certificate"),
    "mysqlconnector": (2026, "SSL connection error: error:0A000086:SSL routines::certificate verify failed"),
    "mysqlconnector-pure": (2055, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"),
    "pymysql": (2003, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"),
    "mysql2": ("HANDSHAKE_SSL_ERROR", "self-signed certificate"),
    "node-mariadb": ("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
    "mysqljdbc": ("08S01", "CertPathValidatorException: Path does not chain with any of the trust anchors"),
    "mariadbjdbc": (-1, "PKIX path building failed"),
    "gomysql": (None, "x509: certificate signed by unknown authority"),
    "php-mysqlnd": (2002, "OpenSSL Error messages:\nerror:0A000086:SSL routines::certificate verify failed"),
}

# VERIFY_IDENTITY and a CA-signed certificate for db.example.com, dialled as localhost.
WRONG_HOST_REFUSAL = {
    "mariadb-cli": (2026, "TLS/SSL error: Validation of SSL server certificate failed"),
    "mysqlconnector": (2026, "SSL connection error: error:0A000086:SSL routines::certificate verify failed"),
    "mysqlconnector-pure": (2055, "Hostname mismatch, certificate is not valid for 'localhost'"),
    "pymysql": (2003, "Hostname mismatch, certificate is not valid for 'localhost'"),
    "mysql2": ("HANDSHAKE_SSL_ERROR", "Host: localhost. is not in the cert's altnames: DNS:db.example.com"),
    "node-mariadb": ("ERR_TLS_CERT_ALTNAME_INVALID", "Host: localhost. is not in the cert's altnames: DNS:db.example.com"),
    "mysqljdbc": ("08S01", "Server identity verification failed. None of the certificate's DNS or IP Subject "
                           "Alternative Name entries matched the server hostname/IP 'localhost'."),
    "mariadbjdbc": (-1, "SSL hostname verification failed : DNS host \"localhost\" doesn't correspond to "
                        "SAN[{DNS:\"db.example.com\"}]"),
    "gomysql": (None, "x509: certificate is valid for db.example.com, not localhost"),
    "php-mysqlnd": (2002, "Peer certificate subjectAltName did not match expected name `localhost'"),
}

# Modes a driver cannot express (the probe answers UNSUPPORTED_MODE and runs nothing).
NO_REQUIRED = {"mariadb-cli", "mysqlconnector", "mysqlconnector-pure"}
NO_PREFERRED = {"mysql2", "node-mariadb", "mariadbjdbc", "php-mysqlnd"}
# mysqlnd verifies the chain and the name together (verify_peer = verify_peer_name) or neither.
NO_VERIFY_CA = {"php-mysqlnd"}

# The ed25519 account (VERIFY_IDENTITY, right CA): who can log in with the auth_ed25519 plugin.
ED25519 = {
    "mariadb-cli": (True, None, None),
    "mysqlconnector": (False, 2059, "Authentication plugin 'client_ed25519' cannot be loaded"),
    "mysqlconnector-pure": (False, "NotSupportedError", "Authentication plugin 'client_ed25519' is not supported"),
    "pymysql": (False, "RuntimeError", "'pynacl' package is required for ed25519_password auth method"),
    "mysql2": (False, "AUTH_SWITCH_PLUGIN_ERROR", "Server requests authentication using unknown plugin client_ed25519"),
    "node-mariadb": (True, None, None),
    "mysqljdbc": (False, "S1009", "Unable to load authentication plugin 'client_ed25519'."),
    "mariadbjdbc": (True, None, None),
    "gomysql": (True, None, None),
    "php-mysqlnd": (False, 2054, "The server requested authentication method unknown to the client [client_ed25519]"),
}

# require_secure_transport=ON and a plaintext login: MariaDB 10.11 answers the same ERR as for
# a wrong password (sql_acl.cc acl_check_ssl fails -> ER_ACCESS_DENIED_ERROR), not 3159.
PLAINTEXT_REFUSED = (1045, "Access denied for user 'lab'@'127.0.0.1' (using password: YES)")


# ---- certificates and servers ---------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl {' '.join(args)} failed: {cp.stderr}"


def _leaf(d: Path, name: str, cn: str, san: str, ca: str, ca_key: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={cn}", cwd=d)
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n"
                                   "basicConstraints=critical,CA:FALSE\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "2", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("mysql-certs")
    names = "DNS:localhost,IP:127.0.0.1"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=tlslab mysql test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _leaf(d, "server", "localhost", names, "ca.pem", "ca.key")
    _leaf(d, "wrong", "db.example.com", "DNS:db.example.com", "ca.pem", "ca.key")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", "self.key", "-out", "self.pem", "-subj", "/CN=localhost",
             "-addext", f"subjectAltName={names}", "-addext", "extendedKeyUsage=serverAuth", cwd=d)
    # An intermediate CA under the CA, and a leaf it signed (for the chain test).
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "inter.key", "-out", "inter.csr",
             "-subj", "/CN=tlslab mysql test intermediate", cwd=d)
    (d / "inter.ext").write_text("basicConstraints=critical,CA:TRUE\n"
                                 "keyUsage=critical,keyCertSign,cRLSign\n")
    _openssl("x509", "-req", "-in", "inter.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "inter.ext",
             "-out", "inter.pem", cwd=d)
    _leaf(d, "inter-leaf", "localhost", names, "inter.pem", "inter.key")
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key",
            "self_cert": d / "self.pem", "self_key": d / "self.key",
            "wrong_cert": d / "wrong.pem", "wrong_key": d / "wrong.key",
            "inter": d / "inter.pem", "inter_leaf": d / "inter-leaf.pem",
            "inter_leaf_key": d / "inter-leaf.key"}


@pytest.fixture(scope="module")
def db(certs):
    """MariaDB serving the CA-signed certificate for localhost."""
    with MariaDbServer.start(certs["cert"], certs["key"]) as server:
        yield server


@pytest.fixture(scope="module")
def db_self_signed(certs):
    with MariaDbServer.start(certs["self_cert"], certs["self_key"]) as server:
        yield server


@pytest.fixture(scope="module")
def db_wrong_host(certs):
    with MariaDbServer.start(certs["wrong_cert"], certs["wrong_key"]) as server:
        yield server


@pytest.fixture(scope="module")
def db_secure_only(certs):
    with MariaDbServer.start(certs["cert"], certs["key"], require_secure_transport=True) as server:
        yield server


def assert_unsupported(r: dict) -> None:
    assert r["connected"] is False, r
    assert r["error_code"] == "UNSUPPORTED_MODE" and r.get("unsupported_mode") is True, r


# ---- the probes -------------------------------------------------------------------------------

@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_verify_identity_with_the_right_ca(probe, db, certs, driver):
    r = probe(driver, host=HOST, port=db.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
    assert r["connected"] is True, r
    assert r["error"] is None, r
    assert r["value"] == 1, r
    assert r["ssl"] is True, r
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3"), r
    assert r["cipher"], r
    assert r["version"], r
    assert r["ssl_mode"] == "VERIFY_IDENTITY" and r["ssl_settings"], r
    if driver == "mysqlconnector":
        assert r["cext"] is True and "cext_error" not in r, r


@pytest.mark.parametrize("mode", ["VERIFY_CA", "VERIFY_IDENTITY"])
@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_verification_refuses_a_self_signed_certificate(probe, db_self_signed, certs, driver, mode):
    r = probe(driver, host=HOST, port=db_self_signed.port, ca=certs["ca"], ssl_mode=mode)
    if mode == "VERIFY_CA" and driver in NO_VERIFY_CA:
        assert_unsupported(r)
        return
    code, text = SELF_SIGNED_REFUSAL[driver]
    assert r["connected"] is False, r
    assert r["ssl"] is None, r
    assert r["error_code"] == code, r
    assert text in r["error"], r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_disabled_is_plaintext(probe, db, driver):
    r = probe(driver, host=HOST, port=db.port, ssl_mode="DISABLED")
    assert r["connected"] is True, r
    assert r["value"] == 1, r
    assert r["ssl"] is False, r
    assert r["cipher"] is None, r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_required_accepts_a_self_signed_certificate(probe, db_self_signed, driver):
    r = probe(driver, host=HOST, port=db_self_signed.port, ssl_mode="REQUIRED")
    if driver in NO_REQUIRED:
        assert_unsupported(r)
        return
    assert r["connected"] is True, r
    assert r["value"] == 1 and r["ssl"] is True, r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_preferred_encrypts_without_checking(probe, db_self_signed, driver):
    r = probe(driver, host=HOST, port=db_self_signed.port, ssl_mode="PREFERRED")
    if driver in NO_PREFERRED:
        assert_unsupported(r)
        return
    assert r["connected"] is True, r
    assert r["value"] == 1 and r["ssl"] is True, r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_wrong_host_passes_verify_ca_and_fails_verify_identity(probe, db_wrong_host, certs, driver):
    r = probe(driver, host=HOST, port=db_wrong_host.port, ca=certs["ca"], ssl_mode="VERIFY_CA")
    if driver in NO_VERIFY_CA:
        assert_unsupported(r)
    else:
        assert r["connected"] is True and r["ssl"] is True and r["value"] == 1, r
    r = probe(driver, host=HOST, port=db_wrong_host.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
    code, text = WRONG_HOST_REFUSAL[driver]
    assert r["connected"] is False, r
    assert r["error_code"] == code, r
    assert text in r["error"], r


@pytest.mark.parametrize("driver", ["mysqlconnector", "mysqlconnector-pure"])
def test_seed_case_ssl_ca_alone(probe, db_wrong_host, db_self_signed, certs, driver):
    """mysql-connector-python with ssl_ca alone (no --ssl-mode): the wrong-host certificate is
    accepted, and so is a self-signed one: ssl_ca without ssl_verify_cert verifies nothing
    (pure Python: CERT_NONE; C extension: libmysqlclient's PREFERRED). ssl_ca +
    ssl_verify_identity (VERIFY_IDENTITY) refuses the wrong host."""
    r = probe(driver, host=HOST, port=db_wrong_host.port, ca=certs["ca"])
    assert r["ssl_settings"] == {"ssl_ca": str(certs["ca"])}, r
    assert r["connected"] is True and r["ssl"] is True, r
    r = probe(driver, host=HOST, port=db_self_signed.port, ca=certs["ca"])
    assert r["connected"] is True and r["ssl"] is True, r
    r = probe(driver, host=HOST, port=db_wrong_host.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
    assert r["ssl_settings"] == {"ssl_verify_cert": True, "ssl_verify_identity": True,
                                 "ssl_ca": str(certs["ca"])}, r
    assert r["connected"] is False, r


def test_php_mysqlnd_defaults(probe, db, db_wrong_host, certs):
    """mysqlnd's defaults: without MYSQLI_CLIENT_SSL and mysqli_ssl_set it never asks for TLS,
    even from a server that offers it (no PREFERRED); a CA given with mysqli_ssl_set alone
    turns TLS on (mysqlnd adds CLIENT_SSL) and verifies chain and name: unlike
    mysql-connector-python's ssl_ca alone (the seed case), it refuses the wrong host."""
    r = probe("php-mysqlnd", host=HOST, port=db.port)
    assert r["connected"] is True and r["ssl"] is False and r["value"] == 1, r
    assert r["tls_version"] is None and r["cipher"] is None, r  # the server's view agrees
    r = probe("php-mysqlnd", host=HOST, port=db.port, ca=certs["ca"])
    assert r["connected"] is True and r["ssl"] is True and r["tls_version"], r
    r = probe("php-mysqlnd", host=HOST, port=db_wrong_host.port, ca=certs["ca"])
    assert r["ssl_settings"] == {"flags": 0, "ssl_set_ca": str(certs["ca"])}, r
    assert r["connected"] is False and r["error_code"] == 2002, r
    assert WRONG_HOST_REFUSAL["php-mysqlnd"][1] in r["error"], r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_require_secure_transport_refuses_plaintext(probe, db_secure_only, certs, driver):
    r = probe(driver, host=HOST, port=db_secure_only.port, ssl_mode="DISABLED")
    code, text = PLAINTEXT_REFUSED
    assert r["connected"] is False, r
    assert r["error_code"] == code, r
    assert text in r["error"], r
    r = probe(driver, host=HOST, port=db_secure_only.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
    assert r["connected"] is True and r["ssl"] is True, r


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_ed25519_account(probe, db, certs, driver):
    r = probe(driver, host=HOST, port=db.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY",
              user="lab_ed25519")
    connected, code, text = ED25519[driver]
    assert r["connected"] is connected, r
    if connected:
        assert r["value"] == 1 and r["ssl"] is True, r
    else:
        assert r["error_code"] == code, r
        assert text in r["error"], r


def test_probes_are_bounded_by_timeout(probe):
    """A peer that accepts TCP and never answers: every probe gives up within its bound."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        for driver in MYSQL_DRIVERS:
            r = probe(driver, host="127.0.0.1", port=port, timeout=2, bound=15,
                      ssl_mode="VERIFY_IDENTITY")
            assert r["connected"] is False, r
            assert r["error"], r
            assert r.seconds < 10, (driver, r.seconds, r)


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_usage_error_exits_2(driver):
    from harness import DRIVERS_DIR
    cp = subprocess.run([str(DRIVERS_DIR / driver / "probe"), "--host", "localhost", "--port", "1",
                         "--ssl-mode", "SOMETIMES"], capture_output=True, text=True, timeout=60,
                        stdin=subprocess.DEVNULL)
    assert cp.returncode == 2, (cp.returncode, cp.stdout, cp.stderr)
    assert cp.stdout == "", cp.stdout


# ---- the server helper ----------------------------------------------------------------------

def test_server_is_debian_mariadb_10_11(db):
    assert db.version().startswith("10.11."), db.version()


def test_restart_with_certificate_swaps_what_is_served(probe, certs):
    with MariaDbServer.start(certs["self_cert"], certs["self_key"]) as server:
        r = probe("pymysql", host=HOST, port=server.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
        assert r["connected"] is False, r
        server.restart_with_certificate(certs["cert"], certs["key"])
        r = probe("pymysql", host=HOST, port=server.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
        assert r["connected"] is True and r["ssl"] is True, r
        server.restart_with_certificate(certs["self_cert"], certs["self_key"])
        r = probe("pymysql", host=HOST, port=server.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
        assert r["connected"] is False, r
    assert not server.root.exists()


def test_chain_is_sent_only_when_given(probe, certs):
    """A leaf signed by an intermediate: with `chain` the server sends the intermediate and a
    client that trusts only the root verifies; without it (R12, incomplete chain) it cannot."""
    with MariaDbServer.start(certs["inter_leaf"], certs["inter_leaf_key"], chain=certs["inter"]) as server:
        r = probe("pymysql", host=HOST, port=server.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
        assert r["connected"] is True and r["ssl"] is True, r
        server.restart_with_certificate(certs["inter_leaf"], certs["inter_leaf_key"])
        r = probe("pymysql", host=HOST, port=server.port, ca=certs["ca"], ssl_mode="VERIFY_IDENTITY")
        assert r["connected"] is False, r
        assert "certificate verify failed" in r["error"], r


def test_require_secure_transport_is_on_and_dynamic(probe, certs):
    with MariaDbServer.start(certs["cert"], certs["key"]) as server:
        r = probe("gomysql", host=HOST, port=server.port, ssl_mode="DISABLED")
        assert r["connected"] is True and r["ssl"] is False, r
        server.set_require_secure_transport(True)
        assert server.admin_sql("SELECT @@require_secure_transport").strip() == "1"
        r = probe("gomysql", host=HOST, port=server.port, ssl_mode="DISABLED")
        assert r["connected"] is False and r["error_code"] == 1045, r
        assert "Access denied for user 'lab'@'127.0.0.1'" in server.log_text()
