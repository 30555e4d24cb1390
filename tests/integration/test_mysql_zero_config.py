"""MariaDB 11.4 zero-configuration SSL, as two real clients check it, against tlslab's emulation.

There is no MariaDB 11.4 here (Debian 12 ships 10.11, which never sends the check; see
mariadb_server.py): what a MariaDB 11.4+ server sends is emulated by `tlslab serve --protocol
mysql --flavour mariadb` (the MariaDB 11.4 stand-in, mysql_native_password), from MariaDB's
documentation and source and the clients' source: after a password authentication over TLS, the
OK packet's info is 0x01 followed by the uppercase hex of SHA-256(SHA1(SHA1(password)) || the
greeting's 20-byte scramble || SHA-256 of the server certificate's DER). A client that could
not verify the certificate chain (no CA given) accepts the connection only when the hash it
computes over the certificate *it saw* matches.

The clients with the check (probes/README.md, "MySQL probes"):
  node-mariadb (npm mariadb 3.5.4)   VERIFY_IDENTITY without --ca = `ssl: true`
                                     (rejectUnauthorized true, no ca): the driver turns
                                     fingerprint validation on (the probe says
                                     fingerprint_validation / self_signed)
  mariadbjdbc (Connector/J 3.5.11)   VERIFY_IDENTITY without --ca = sslMode=verify-full,
                                     no serverSslCert
And clients without it, which accept any certificate when told to: mysql2 REQUIRED
(rejectUnauthorized false), the mariadb client (Connector/C 3.3) with its defaults.

(a) Directly against the stand-in (its own lab-CA certificate; the clients get no CA): the hash
    matches the certificate they saw, so both connect although neither could verify the chain.
    Control: the MySQL 8.0 stand-in sends no check, and the same clients refuse it.
(b) Through `tlslab lab --protocol mysql --mysql-flavour mariadb` on `self-signed` and
    `untrusted-root`: the lab relays the stand-in's OK, whose hash is bound to the stand-in's
    certificate, not the scenario's the client saw: the clients abort right after the OK, with
    their self-signed-certificate error, and the lab records `aborted-after-ok` (authenticated,
    zero_config_check, no command after the OK). The clients without the check log in through
    the same listener.
"""

from __future__ import annotations

import dataclasses

import pytest

import lab_matrix as lm
from test_mysql_lab_matrix import SCENARIOS, SPEC
from test_mysql_seed_case import Attempt, SeedLab

NODE_MISMATCH = (45056, "self-signed certificate")
JDBC_MISMATCH = ("Self signed certificates. Either set sslMode=trust, use password with a "
                 "MitM-Proof authentication plugin or provide server certificate to client")
PROTECTED = ("node-mariadb", "mariadbjdbc")
# clients without the check: (probe, options) that accept any certificate
UNPROTECTED = (("mysql2", {"ssl_mode": "REQUIRED"}), ("mariadb-cli", {}))
# the zero-configuration form of each protected client: a password, TLS, no CA
NO_CA = {"ssl_mode": "VERIFY_IDENTITY"}


def assert_mismatch_error(driver: str, r: dict) -> None:
    assert r["connected"] is False, r
    if driver == "node-mariadb":
        code, text = NODE_MISMATCH
        assert r["error_code"] == code and text in r["error"], r
        assert r.get("sql_state") == "08000", r
    else:
        assert JDBC_MISMATCH in r["error"], r
        assert r.get("sql_state") == "08000", r


# ---- (a) directly against the stand-in ------------------------------------------------------

@pytest.fixture
def standin(tlslab):
    """The MariaDB 11.4 stand-in: SSL offered (its own lab-CA certificate)."""
    return tlslab("serve", "--protocol", "mysql", "--flavour", "mariadb")


@pytest.mark.parametrize("driver", PROTECTED)
def test_zero_config_connects_without_a_ca(driver, probe, standin):
    r = probe(driver, host="localhost", port=standin.port, **NO_CA)
    assert r["connected"] is True and r["value"] == 1, r.describe()
    assert r["ssl"] is True, r.describe()
    assert "11.4" in (r.get("server_version") or ""), r.describe()
    if driver == "node-mariadb":
        # the driver's own account: it used the check, and the chain was not verified
        assert r.get("fingerprint_validation") is True, r.describe()
        assert r.get("self_signed") is True, r.describe()


@pytest.mark.parametrize("driver", PROTECTED)
def test_without_the_check_the_same_client_refuses(driver, probe, tlslab):
    """The control: the MySQL 8.0 stand-in (same kind of certificate, no check in its OK): the
    client cannot verify the chain and has nothing to fall back on."""
    mysql80 = tlslab("serve", "--protocol", "mysql", "--flavour", "mysql")
    r = probe(driver, host="localhost", port=mysql80.port, **NO_CA)
    assert r["connected"] is False, r.describe()


# ---- (b) through the lab: the check catches the substitution ---------------------------------

@pytest.fixture(scope="module")
def mariadb_lab(tlslab_bin, state_dir, lab_ca, tmp_path_factory):
    spec = dataclasses.replace(SPEC, extra_lab_args=("--mysql-flavour", "mariadb"))
    proc, ports, events, ports_json = lm.start_lab(
        spec, tlslab_bin, state_dir, tmp_path_factory.mktemp("mysql-zero-config"), SCENARIOS)
    try:
        yield SeedLab(proc, ports, events, ports_json, lab_ca)
    finally:
        proc.stop()


@pytest.mark.parametrize("scenario", ["self-signed", "untrusted-root"])
@pytest.mark.parametrize("driver", PROTECTED)
def test_protected_client_aborts_after_ok(driver, scenario, mariadb_lab):
    mark = mariadb_lab.proc.mark()
    a: Attempt = mariadb_lab.attempt(driver, scenario, **NO_CA)
    assert_mismatch_error(driver, a.result)
    assert len(a.sessions) == 1, a.text()
    s = a.sessions[0]
    my = s["mysql"]
    assert s["outcome"] == "aborted-after-ok", a.text()
    assert s["login"]["user_name"] == "lab" and s["login"]["through_tls"] is True, a.text()
    assert my["server_is_mariadb"] is True, a.text()
    assert my["authenticated"] is True and my["auth_error"] == "", a.text()
    assert my["zero_config_check"] is True, a.text()
    assert my["commands_after_ok"] is False, a.text()
    assert my["first_command"] in ("", "COM_QUIT"), a.text()
    assert "zero-configuration SSL" in s["detail"], a.text()
    lines = mariadb_lab.session_log(s, mark)
    assert [ln for ln in lines if "certificate check" in ln], "\n".join(lines)


@pytest.mark.parametrize("scenario", ["self-signed", "untrusted-root"])
@pytest.mark.parametrize("driver,options", UNPROTECTED, ids=[d for d, _ in UNPROTECTED])
def test_unprotected_client_logs_in_through_the_same_listener(driver, options, scenario,
                                                              mariadb_lab):
    a = mariadb_lab.attempt(driver, scenario, **options)
    assert a.result["connected"] is True and a.result["value"] == 1, a.text()
    assert a.result["ssl"] is True, a.text()
    assert len(a.sessions) == 1, a.text()
    s = a.sessions[0]
    my = s["mysql"]
    assert s["outcome"] == "login-encrypted", a.text()
    assert my["authenticated"] is True, a.text()
    # the same OK, with the same check in it: this client does not read it
    assert my["zero_config_check"] is True, a.text()
    assert my["commands_after_ok"] is True and my["first_command"], a.text()
