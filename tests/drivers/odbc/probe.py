"""tlslab driver probe: Microsoft ODBC Driver 18 for SQL Server (msodbcsql18).

The driver binary comes from PyPI: mssql-python pulls in mssql-python-odbc, which ships
libmsodbcsql-18.x.so for Linux. mssql-python itself loads that .so directly (no unixODBC
driver manager: its "DDBC" layer calls the driver's SQL*W entry points itself). This probe
does the same thing with ctypes, on the very .so that mssql-python's own resolver picks.

Why not mssql-python's connect()? Its connect error keeps only the first ODBC diagnostic
record and drops the native error number (SQLCheckError_Wrap reads nativeError and throws it
away), so a failed login would surface as SQLSTATE 28000 only, never 18456, and the
driver's further records (e.g. "Login timeout expired") would be lost. Calling the ODBC API
ourselves gives every record with its SQLSTATE and native error, which is what the probe
contract needs. The connection-string keywords are the driver's own, the same ones
mssql-python passes through (it sets Driver= and APP= itself, as here).

See README.md (probe contract) in the parent folder.
"""

import argparse
import ctypes
import json
import os
import sys
import threading
import time

T0 = time.monotonic()

# ---- stdout discipline ---------------------------------------------------------------
# The one JSON line goes to a private duplicate of fd 1; fd 1 itself (and sys.stdout) is
# pointed at stderr, so nothing the driver or Python libraries print can reach stdout.
_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_emit_lock = threading.Lock()
_emitted = False


def emit(result):
    """Print the single JSON line (once) and return."""
    global _emitted
    with _emit_lock:
        if _emitted:
            return
        _emitted = True
        result["elapsed_ms"] = int((time.monotonic() - T0) * 1000)
        _OUT.write(json.dumps(result) + "\n")
        _OUT.flush()


# ---- ODBC constants (sql.h / sqlext.h / msodbcsql.h) ----------------------------------
SQL_SUCCESS, SQL_SUCCESS_WITH_INFO, SQL_NO_DATA = 0, 1, 100
SQL_HANDLE_ENV, SQL_HANDLE_DBC, SQL_HANDLE_STMT = 1, 2, 3
SQL_ATTR_ODBC_VERSION, SQL_OV_ODBC3_80 = 200, 380
SQL_ATTR_LOGIN_TIMEOUT = 103
SQL_ATTR_QUERY_TIMEOUT = 0
SQL_DRIVER_NOPROMPT = 0
SQL_NTS = -3
SQL_NULL_DATA = -1
SQL_DRIVER_NAME, SQL_DRIVER_VER = 6, 7
SQL_C_WCHAR, SQL_C_SBIGINT, SQL_C_DOUBLE, SQL_C_BINARY = -8, -25, 8, -2
SQL_INTEGER_TYPES = {4, 5, -5, -6, -7}  # INTEGER SMALLINT BIGINT TINYINT BIT
SQL_FLOAT_TYPES = {6, 7, 8}  # FLOAT REAL DOUBLE
SQL_BINARY_TYPES = {-2, -3, -4}  # BINARY VARBINARY LONGVARBINARY


def ok(rc):
    return rc in (SQL_SUCCESS, SQL_SUCCESS_WITH_INFO)


def wstr(s):
    """Python str -> NUL-terminated SQLWCHAR buffer (the driver's SQLWCHAR is UTF-16)."""
    return ctypes.create_string_buffer((s + "\0").encode("utf-16-le"))


def from_w(buf, nchars=None):
    raw = bytes(buf) if nchars is None else bytes(buf)[: 2 * nchars]
    return raw.decode("utf-16-le", "replace").split("\0", 1)[0]


def odbc_value(text):
    """Quote a connection-string value the ODBC way when it needs it: {va;}}lue}."""
    if any(c in text for c in ";{}=") or text != text.strip():
        return "{" + text.replace("}", "}}") + "}"
    return text


def server_value(host, port):
    # ODBC Driver 18 takes an IPv6 literal bare: "Server=::1,1433" (it splits on the comma).
    # Brackets do NOT work: "[::1],1433" is looked up as a host name and fails (0x2AF9).
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return f"{host},{port}"


class Odbc:
    def __init__(self, so_path):
        self.lib = ctypes.CDLL(so_path)  # ctypes releases the GIL around every call
        for name in ("SQLAllocHandle", "SQLSetEnvAttr", "SQLSetConnectAttrW", "SQLDriverConnectW",
                     "SQLGetDiagRecW", "SQLGetInfoW", "SQLSetStmtAttrW", "SQLExecDirectW",
                     "SQLNumResultCols", "SQLMoreResults", "SQLDescribeColW", "SQLFetch",
                     "SQLGetData", "SQLFreeHandle", "SQLDisconnect"):
            getattr(self.lib, name).restype = ctypes.c_int16  # SQLRETURN is a 16-bit short

    def diag(self, htype, handle):
        """All diagnostic records of a handle: [(sqlstate, native_error, message)]."""
        recs, i = [], 1
        while True:
            state = ctypes.create_string_buffer(6 * 2)
            native = ctypes.c_int32(0)
            msg = ctypes.create_string_buffer(4096 * 2)
            mlen = ctypes.c_int16(0)
            rc = self.lib.SQLGetDiagRecW(ctypes.c_int16(htype), handle, ctypes.c_int16(i), state,
                                         ctypes.byref(native), msg, ctypes.c_int16(4096),
                                         ctypes.byref(mlen))
            if not ok(rc):
                return recs
            recs.append((from_w(state), native.value, from_w(msg, mlen.value)))
            i += 1

    def get_info_str(self, dbc, info_type):
        buf = ctypes.create_string_buffer(512)
        n = ctypes.c_int16(0)
        rc = self.lib.SQLGetInfoW(dbc, ctypes.c_uint16(info_type), buf, ctypes.c_int16(512),
                                  ctypes.byref(n))
        return from_w(buf, n.value // 2) if ok(rc) else None


class OdbcError(Exception):
    def __init__(self, records):
        super().__init__(records)
        self.records = records


def fail_result(base, records):
    """Fill error fields from ODBC diagnostic records (first record = the primary error)."""
    if not records:
        base.update(error="ODBC call failed without diagnostic records", error_code=None)
        return base
    # By ODBC convention the last [component] of a message names its source: records that
    # come from the server read "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]...",
    # and their native error is the SQL Server error number (18456, ...). The driver's own
    # records carry OS/network codes as native error (10057 = 0x2749 ...), so for those the
    # error_code is the SQLSTATE instead.
    server = next((r for r in records if "][SQL Server]" in r[2]), None)
    primary = server or records[0]
    base["error"] = "; ".join(f"[{s}] {m} ({n})" for s, n, m in records)
    base["error_code"] = primary[1] if server else primary[0]
    base["sql_state"] = primary[0]
    base["native_error"] = primary[1]
    base["diagnostics"] = [{"sql_state": s, "native_error": n, "message": m}
                           for s, n, m in records]
    if len(records) > 1:
        base["cause"] = "; ".join(m for _, _, m in records[1:])
    return base


def fetch_first_value(odbc, stmt):
    """First column of the first row of the first result set that has columns."""
    lib = odbc.lib
    while True:
        ncols = ctypes.c_int16(0)
        rc = lib.SQLNumResultCols(stmt, ctypes.byref(ncols))
        if not ok(rc):
            raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
        if ncols.value > 0:
            break
        rc = lib.SQLMoreResults(stmt)
        if rc == SQL_NO_DATA:
            return None
        if not ok(rc):
            raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
    name = ctypes.create_string_buffer(256)
    nlen, dtype, dec, nullable = (ctypes.c_int16(0) for _ in range(4))
    size = ctypes.c_uint64(0)
    lib.SQLDescribeColW(stmt, ctypes.c_uint16(1), name, ctypes.c_int16(128), ctypes.byref(nlen),
                        ctypes.byref(dtype), ctypes.byref(size), ctypes.byref(dec),
                        ctypes.byref(nullable))
    rc = lib.SQLFetch(stmt)
    if rc == SQL_NO_DATA:
        return None
    if not ok(rc):
        raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
    ind = ctypes.c_int64(0)
    if dtype.value in SQL_INTEGER_TYPES:
        v = ctypes.c_int64(0)
        rc = lib.SQLGetData(stmt, ctypes.c_uint16(1), ctypes.c_int16(SQL_C_SBIGINT),
                            ctypes.byref(v), ctypes.c_int64(8), ctypes.byref(ind))
        conv = lambda: v.value  # noqa: E731
    elif dtype.value in SQL_FLOAT_TYPES:
        v = ctypes.c_double(0)
        rc = lib.SQLGetData(stmt, ctypes.c_uint16(1), ctypes.c_int16(SQL_C_DOUBLE),
                            ctypes.byref(v), ctypes.c_int64(8), ctypes.byref(ind))
        conv = lambda: v.value  # noqa: E731
    else:  # everything else as text (binary as hex), 64 KiB is plenty for a probe
        ctype = SQL_C_BINARY if dtype.value in SQL_BINARY_TYPES else SQL_C_WCHAR
        v = ctypes.create_string_buffer(65536)
        rc = lib.SQLGetData(stmt, ctypes.c_uint16(1), ctypes.c_int16(ctype), v,
                            ctypes.c_int64(65536), ctypes.byref(ind))
        if ctype == SQL_C_BINARY:
            conv = lambda: bytes(v)[: min(ind.value, 65536)].hex()  # noqa: E731
        else:
            conv = lambda: from_w(v)  # noqa: E731
    if not ok(rc):
        raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
    return None if ind.value == SQL_NULL_DATA else conv()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="probe", description="ODBC Driver 18 probe")
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca")
    p.add_argument("--encrypt", choices=["yes", "no", "mandatory", "optional", "strict"])
    p.add_argument("--trust-server-certificate", action="store_true")
    p.add_argument("--host-name-in-certificate")
    p.add_argument("--user", default="lab")
    p.add_argument("--password", default="lab-password")
    p.add_argument("--query", default="SELECT 1")
    p.add_argument("--timeout", type=int, default=10)
    a = p.parse_args(argv)  # exits 2 with a message on stderr on a usage error
    if a.timeout < 1:
        p.error("--timeout must be >= 1")
    return a


def main(argv):
    a = parse_args(argv)
    result = {"driver": "odbc", "version": None, "connected": False, "error_code": None,
              "error": None, "value": None}

    if a.ca:
        # ODBC Driver 18 on Linux has no "trust this CA file" keyword (ServerCertificate= is
        # pinning of one exact certificate, a different thing). It validates through
        # OpenSSL's default verify paths (SSL_CTX_set_default_verify_paths), and OpenSSL
        # reads those from SSL_CERT_FILE / SSL_CERT_DIR when set. So: point SSL_CERT_FILE at
        # the CA file (the hashed system directory /etc/ssl/certs stays in effect).
        os.environ["SSL_CERT_FILE"] = os.path.abspath(a.ca)
        result["ssl_cert_file"] = os.environ["SSL_CERT_FILE"]
    # mssql-python can ship two native providers; we want Microsoft's ODBC Driver 18.
    os.environ["MSSQL_PYTHON_NATIVE_PROVIDER"] = "msodbcsql18"

    # Watchdog: the driver's login timeout should bound everything, but a hung DNS lookup or
    # a stalled read must not hang the caller. Grace of 5 s past --timeout, then give up.
    limit = a.timeout + 5 + (a.timeout if a.query else 0)  # login + query + grace

    def on_hang():
        result["error"] = f"probe watchdog: no answer from the driver after {limit} s"
        result["error_code"] = "PROBE_TIMEOUT"
        emit(result)
        os._exit(0)
    dog = threading.Timer(limit, on_hang)
    dog.daemon = True
    dog.start()

    from importlib import metadata
    import mssql_python_odbc
    from mssql_python import ddbc_bindings
    so_path = ddbc_bindings._get_odbc_driver_path(
        os.path.dirname(os.path.abspath(mssql_python_odbc.__file__)), "msodbcsql18")
    result["package_version"] = metadata.version("mssql-python")
    result["odbc_package_version"] = metadata.version("mssql-python-odbc")
    result["driver_file"] = os.path.basename(so_path)
    odbc = Odbc(so_path)
    lib = odbc.lib

    env, dbc, stmt = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    lib.SQLAllocHandle(ctypes.c_int16(SQL_HANDLE_ENV), None, ctypes.byref(env))
    lib.SQLSetEnvAttr(env, ctypes.c_int32(SQL_ATTR_ODBC_VERSION), ctypes.c_void_p(SQL_OV_ODBC3_80),
                      ctypes.c_int32(0))
    lib.SQLAllocHandle(ctypes.c_int16(SQL_HANDLE_DBC), env, ctypes.byref(dbc))
    lib.SQLSetConnectAttrW(dbc, ctypes.c_int32(SQL_ATTR_LOGIN_TIMEOUT), ctypes.c_void_p(a.timeout),
                           ctypes.c_int32(0))
    # SQLGetInfo(SQL_DRIVER_VER) works on an unconnected handle too (driver-level info).
    result["version"] = odbc.get_info_str(dbc, SQL_DRIVER_VER) or result["odbc_package_version"]

    parts = [("Driver", "{ODBC Driver 18 for SQL Server}"),
             ("Server", odbc_value(server_value(a.host, a.port))),
             ("UID", odbc_value(a.user)), ("PWD", odbc_value(a.password)),
             ("APP", "tlslab-probe")]
    if a.encrypt:
        parts.append(("Encrypt", a.encrypt))
    if a.trust_server_certificate:
        parts.append(("TrustServerCertificate", "yes"))
    if a.host_name_in_certificate:
        parts.append(("HostNameInCertificate", odbc_value(a.host_name_in_certificate)))
    conn_str = ";".join(f"{k}={v}" for k, v in parts) + ";"
    print("probe: connection string: "
          + ";".join(f"{k}={'***' if k == 'PWD' else v}" for k, v in parts), file=sys.stderr)

    rc = lib.SQLDriverConnectW(dbc, None, wstr(conn_str), ctypes.c_int16(SQL_NTS), None,
                               ctypes.c_int16(0), None, ctypes.c_uint16(SQL_DRIVER_NOPROMPT))
    if not ok(rc):
        emit(fail_result(result, odbc.diag(SQL_HANDLE_DBC, dbc)))
        return
    result["connected"] = True
    result["driver_name"] = odbc.get_info_str(dbc, SQL_DRIVER_NAME)
    result["version"] = odbc.get_info_str(dbc, SQL_DRIVER_VER) or result["version"]
    try:
        if a.query:
            lib.SQLAllocHandle(ctypes.c_int16(SQL_HANDLE_STMT), dbc, ctypes.byref(stmt))
            lib.SQLSetStmtAttrW(stmt, ctypes.c_int32(SQL_ATTR_QUERY_TIMEOUT),
                                ctypes.c_void_p(a.timeout), ctypes.c_int32(0))
            rc = lib.SQLExecDirectW(stmt, wstr(a.query), ctypes.c_int32(SQL_NTS))
            if not ok(rc) and rc != SQL_NO_DATA:
                raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
            result["value"] = fetch_first_value(odbc, stmt)
    except OdbcError as e:
        fail_result(result, e.records)
    emit(result)
    if stmt:
        lib.SQLFreeHandle(ctypes.c_int16(SQL_HANDLE_STMT), stmt)
    lib.SQLDisconnect(dbc)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except BaseException as e:  # a probe bug or a broken install: still one JSON line
        emit({"driver": "odbc", "version": None, "connected": False,
              "error_code": type(e).__name__, "error": f"probe failure: {e!r}", "value": None})
    os._exit(0)  # skip driver/library teardown at interpreter exit
