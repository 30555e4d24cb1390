"""tlslab MySQL probe body for mysql-connector-python, in its two forms:
../mysqlconnector (the C extension, use_pure=False) and ../mysqlconnector-pure (use_pure=True).

Contract: the "MySQL probes" section of ../README.md. --ssl-mode maps to the driver's own
keyword arguments (the driver has no ssl_mode of its own):

    DISABLED         ssl_disabled=True
    PREFERRED        ssl_disabled=False (its default: TLS when offered, nothing verified,
                     plaintext when the server offers no TLS)
    REQUIRED         cannot be expressed: no keyword makes it refuse a server without TLS while
                     not verifying the certificate (only ssl_verify_cert=True refuses, error
                     2026): UNSUPPORTED_MODE, not run
    VERIFY_CA        ssl_verify_cert=True
    VERIFY_IDENTITY  ssl_verify_cert=True, ssl_verify_identity=True
    (not passed)     nothing: the driver's default (= PREFERRED)

--ca adds ssl_ca=FILE in every mode but DISABLED. So "ssl_ca alone" (the seed case's
VERIFY_CA wording) is PREFERRED (or no --ssl-mode) with --ca.

The C extension: mysql-connector-python 26.10.0's _mysql_connector links the OpenSSL 3.5 that
the wheel ships (mysql/vendor/libssl.so.3) and needs its OPENSSL_3.2.0 symbols. When anything
has loaded the system libssl.so.3 (OpenSSL 3.0 on Debian 12; Python's own ssl module does,
and `import mysql.connector` imports it) the extension fails to import, HAVE_CEXT is False and
connect(use_pure=False) raises "MySQL Connector/Python C extension not available". So this
probe imports _mysql_connector first (the vendored OpenSSL is then the process's libssl, and
Python's ssl module runs on it too), checks HAVE_CEXT and says so (cext, cext_error).
"""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import myprobe  # noqa: E402


def error_fields(e) -> dict:
    out = {"error": str(e) or repr(e), "error_type": type(e).__name__}
    errno = getattr(e, "errno", None)
    out["error_code"] = errno if isinstance(errno, int) and errno > 0 else type(e).__name__
    if getattr(e, "sqlstate", None):
        out["sql_state"] = e.sqlstate
    return out


def ssl_settings(mode: str | None, ca: str | None) -> dict | None:
    """The driver's keyword arguments for a mode; None when it cannot express it."""
    if mode == "DISABLED":
        return {"ssl_disabled": True}
    kw: dict = {}
    if mode == "PREFERRED":
        kw["ssl_disabled"] = False
    elif mode == "REQUIRED":
        return None
    elif mode == "VERIFY_CA":
        kw["ssl_verify_cert"] = True
    elif mode == "VERIFY_IDENTITY":
        kw.update(ssl_verify_cert=True, ssl_verify_identity=True)
    if ca:
        kw["ssl_ca"] = ca
    return kw


def main(driver: str, pure: bool, argv: list[str]) -> None:
    cext_error = None
    if not pure:
        try:
            import _mysql_connector  # noqa: F401 - must come before anything loads libssl
        except ImportError as e:
            cext_error = str(e)
    a = myprobe.parse_args(driver, argv)
    result = myprobe.base_result(driver, a.ssl_mode)
    myprobe.private_environment()
    dog = myprobe.Watchdog(result)

    import mysql.connector
    result["version"] = mysql.connector.__version__
    result["use_pure"] = pure
    if not pure:
        result["cext"] = bool(mysql.connector.HAVE_CEXT)
        if cext_error or not mysql.connector.HAVE_CEXT:
            result["cext_error"] = cext_error or "HAVE_CEXT is False"
        else:
            import _mysql_connector
            result["libmysqlclient"] = _mysql_connector.MySQL().get_client_info()

    kw = ssl_settings(a.ssl_mode, a.ca)
    if kw is None:
        result["ssl_settings"] = {}
        myprobe.unsupported(result, "mysql-connector-python has no REQUIRED: only "
                            "ssl_verify_cert=True refuses a server that offers no TLS")
        myprobe.emit(result)
        return
    result["ssl_settings"] = dict(kw)
    params = dict(host=a.host, port=a.port, user=a.user, password=a.password,
                  database=a.database, connection_timeout=max(1, math.ceil(a.timeout)),
                  use_pure=pure, **kw)
    dog.arm(a.timeout + 5)
    try:
        conn = mysql.connector.connect(**params)
    except Exception as e:  # noqa: BLE001 - mysql.connector.Error, or an argument it refused
        dog.cancel()
        result.update(error_fields(e))
        myprobe.emit(result)
        return
    dog.cancel()
    result["connected"] = True
    result["server_version"] = conn.get_server_info()

    # The client side of TLS, from the driver itself.
    if pure:
        sock = getattr(getattr(conn, "_socket", None), "sock", None)
        import ssl
        result["ssl"] = isinstance(sock, ssl.SSLSocket)
        result["ssl_source"] = "driver"
        if result["ssl"]:
            result["tls_version"] = sock.version()
            result["cipher"] = (sock.cipher() or (None,))[0]
    else:
        cipher = conn._cmysql.get_ssl_cipher()
        result["ssl"] = bool(cipher)
        result["ssl_source"] = "driver"
        result["cipher"] = cipher or None

    def query_one(sql):
        cur = conn.cursor()
        try:
            cur.execute(sql)
            row = cur.fetchone() if cur.with_rows else None
            if cur.with_rows:
                cur.fetchall()
            return row
        finally:
            cur.close()

    dog.arm(a.timeout + 5)
    if a.query:
        try:
            row = query_one(a.query)
            result["value"] = myprobe.to_json(row[0]) if row else None
        except Exception as e:  # noqa: BLE001
            result.update(error_fields(e))
    if result["ssl"]:
        myprobe.fill_ssl_from_status(result, lambda sql: (query_one(sql) or (None, None))[1])
    dog.cancel()
    myprobe.emit(result)
    dog.arm(a.timeout + 5)
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()
