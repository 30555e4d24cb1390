"""tlslab MySQL probe: PyMySQL (pure Python, Python's ssl module).

Contract: the "MySQL probes" section of ../README.md. --ssl-mode maps to PyMySQL's own keyword
arguments. PyMySQL 1.2 has PREFERRED as its default (TLS when the server offers it, nothing
verified, plaintext otherwise); any truthy ssl_* keyword (or `ssl=`) makes TLS required
(`_ssl_required`: a server without CLIENT_SSL is refused).

    DISABLED         ssl_disabled=True
    PREFERRED        no ssl keyword (the default); with --ca it cannot be expressed (ssl_ca
                     makes TLS required): UNSUPPORTED_MODE, not run
    REQUIRED         ssl_ca=FILE, ssl_verify_cert=False with --ca; without it
                     ssl=SSLContext(check_hostname=False, verify_mode=CERT_NONE), the way its
                     docs recommend (the ssl_* keywords have no "TLS, no check" without a CA)
    VERIFY_CA        ssl_verify_cert=True (+ ssl_ca)
    VERIFY_IDENTITY  ssl_verify_cert=True, ssl_verify_identity=True (+ ssl_ca)
    (not passed)     nothing, or ssl_ca=FILE alone with --ca (TLS required, CERT_NONE: PyMySQL
                     verifies nothing unless ssl_verify_cert or ssl_verify_identity is true)
"""

import importlib.metadata
import math
import os
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mysql-python"))
import myprobe  # noqa: E402

DRIVER = "pymysql"


def error_fields(e) -> dict:
    out = {"error": str(e) or repr(e), "error_type": type(e).__name__}
    args = getattr(e, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        out["error_code"] = args[0]
        out["error"] = str(args[1])
    else:
        out["error_code"] = type(e).__name__
    return out


def ssl_settings(mode, ca):
    """(keyword arguments, JSON description) for a mode; (None, None) when not expressible."""
    if mode == "DISABLED":
        return {"ssl_disabled": True}, {"ssl_disabled": True}
    if mode == "PREFERRED":
        return ({}, {}) if not ca else (None, None)
    if mode == "REQUIRED":
        if ca:
            kw = {"ssl_ca": ca, "ssl_verify_cert": False}
            return kw, dict(kw)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return {"ssl": ctx}, {"ssl": "SSLContext(check_hostname=False, verify_mode=CERT_NONE)"}
    kw = {}
    if mode == "VERIFY_CA":
        kw["ssl_verify_cert"] = True
    elif mode == "VERIFY_IDENTITY":
        kw.update(ssl_verify_cert=True, ssl_verify_identity=True)
    if ca:
        kw["ssl_ca"] = ca
    return kw, dict(kw)


def main(argv):
    a = myprobe.parse_args(DRIVER, argv)
    result = myprobe.base_result(DRIVER, a.ssl_mode)
    myprobe.private_environment()
    dog = myprobe.Watchdog(result)
    import pymysql
    result["version"] = importlib.metadata.version("PyMySQL")

    kw, described = ssl_settings(a.ssl_mode, a.ca)
    if kw is None:
        result["ssl_settings"] = {}
        myprobe.unsupported(result, "PyMySQL has no PREFERRED with a CA: ssl_ca makes TLS required")
        myprobe.emit(result)
        return
    result["ssl_settings"] = described
    t = max(1, math.ceil(a.timeout))
    dog.arm(a.timeout + 5)
    try:
        conn = pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                               database=a.database, connect_timeout=t, read_timeout=t,
                               write_timeout=t, **kw)
    except Exception as e:  # noqa: BLE001
        dog.cancel()
        result.update(error_fields(e))
        myprobe.emit(result)
        return
    dog.cancel()
    result["connected"] = True
    result["server_version"] = conn.get_server_info()
    sock = getattr(conn, "_sock", None)
    result["ssl"] = isinstance(sock, ssl.SSLSocket)
    result["ssl_source"] = "driver"
    if result["ssl"]:
        result["tls_version"] = sock.version()
        result["cipher"] = (sock.cipher() or (None,))[0]

    def query_one(sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()

    dog.arm(a.timeout + 5)
    if a.query:
        try:
            row = query_one(a.query)
            result["value"] = myprobe.to_json(row[0]) if row else None
        except Exception as e:  # noqa: BLE001
            result.update(error_fields(e))
    dog.cancel()
    myprobe.emit(result)
    dog.arm(a.timeout + 5)
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()


if __name__ == "__main__":
    myprobe.main_guard(DRIVER, main, sys.argv[1:])
