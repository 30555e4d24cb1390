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

`--session` runs the session script of the probe contract after --query, through the ODBC
API as mssql-python drives it (see run_session).

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
SQL_ATTR_AUTOCOMMIT, SQL_AUTOCOMMIT_OFF, SQL_AUTOCOMMIT_ON, SQL_IS_UINTEGER = 102, 0, 1, -5
SQL_COMMIT, SQL_ROLLBACK = 0, 1
SQL_PARAM_INPUT, SQL_C_LONG, SQL_INTEGER = 1, 4, 4
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
                     "SQLGetData", "SQLFreeHandle", "SQLDisconnect", "SQLEndTran", "SQLPrepareW",
                     "SQLBindParameter", "SQLExecute"):
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


# ---- the session script (../README.md, "--session") ------------------------------------

SESSION_STEPS = ["begin", "trancount", "system", "param", "commit", "trancount_after",
                 "error", "again"]
SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")


def fetch_first_row(odbc, stmt):
    """(first column as JSON, every column of the first row as text) of the first result set
    that has columns; (None, None) without a row. SQLGetData goes left to right, as the driver
    requires."""
    lib = odbc.lib
    while True:
        ncols = ctypes.c_int16(0)
        if not ok(lib.SQLNumResultCols(stmt, ctypes.byref(ncols))):
            raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
        if ncols.value > 0:
            break
        rc = lib.SQLMoreResults(stmt)
        if rc == SQL_NO_DATA:
            return None, None
        if not ok(rc):
            raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
    types = []
    for col in range(1, ncols.value + 1):
        name = ctypes.create_string_buffer(256)
        nlen, dtype, dec, nullable = (ctypes.c_int16(0) for _ in range(4))
        size = ctypes.c_uint64(0)
        lib.SQLDescribeColW(stmt, ctypes.c_uint16(col), name, ctypes.c_int16(128),
                            ctypes.byref(nlen), ctypes.byref(dtype), ctypes.byref(size),
                            ctypes.byref(dec), ctypes.byref(nullable))
        types.append(dtype.value)
    rc = lib.SQLFetch(stmt)
    if rc == SQL_NO_DATA:
        return None, None
    if not ok(rc):
        raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
    row = []
    for col, dtype in enumerate(types, 1):
        ind = ctypes.c_int64(0)
        if dtype in SQL_INTEGER_TYPES:
            v = ctypes.c_int64(0)
            rc = lib.SQLGetData(stmt, ctypes.c_uint16(col), ctypes.c_int16(SQL_C_SBIGINT),
                                ctypes.byref(v), ctypes.c_int64(8), ctypes.byref(ind))
            conv = lambda v=v: v.value  # noqa: E731
        elif dtype in SQL_FLOAT_TYPES:
            v = ctypes.c_double(0)
            rc = lib.SQLGetData(stmt, ctypes.c_uint16(col), ctypes.c_int16(SQL_C_DOUBLE),
                                ctypes.byref(v), ctypes.c_int64(8), ctypes.byref(ind))
            conv = lambda v=v: v.value  # noqa: E731
        else:  # text (sql_variant and date/time too, the driver converts), binary as hex
            ctype = SQL_C_BINARY if dtype in SQL_BINARY_TYPES else SQL_C_WCHAR
            v = ctypes.create_string_buffer(65536)
            rc = lib.SQLGetData(stmt, ctypes.c_uint16(col), ctypes.c_int16(ctype), v,
                                ctypes.c_int64(65536), ctypes.byref(ind))
            if ctype == SQL_C_BINARY:
                conv = lambda v=v, ind=ind: bytes(v)[: min(ind.value, 65536)].hex()  # noqa: E731
            else:
                conv = lambda v=v: from_w(v)  # noqa: E731
        if not ok(rc):
            raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
        row.append(None if ind.value == SQL_NULL_DATA else conv())
    return row[0], [None if c is None else str(c) for c in row]


def run_session(odbc, dbc, timeout, result):
    """The eight steps, the way mssql-python drives the driver: autocommit off and SQLEndTran
    for the transaction (connection.autocommit = False, connection.commit()), SQLExecDirectW
    for a statement without parameters, SQLPrepareW + SQLBindParameter + SQLExecute for one
    with (cursor.execute's default use_prepare=True). Each statement gets its own handle with
    SQL_ATTR_QUERY_TIMEOUT; each step is bounded by a watchdog of timeout + 5 s."""
    lib = odbc.lib
    steps = []
    result["session"] = steps
    state = {"autocommit": True}

    def check_dbc(rc):
        if not ok(rc):
            raise OdbcError(odbc.diag(SQL_HANDLE_DBC, dbc))

    def set_autocommit(on):
        check_dbc(lib.SQLSetConnectAttrW(
            dbc, ctypes.c_int32(SQL_ATTR_AUTOCOMMIT),
            ctypes.c_void_p(SQL_AUTOCOMMIT_ON if on else SQL_AUTOCOMMIT_OFF),
            ctypes.c_int32(SQL_IS_UINTEGER)))
        state["autocommit"] = on

    def statement(sql, param=None):
        stmt = ctypes.c_void_p()
        check_dbc(lib.SQLAllocHandle(ctypes.c_int16(SQL_HANDLE_STMT), dbc, ctypes.byref(stmt)))
        try:
            lib.SQLSetStmtAttrW(stmt, ctypes.c_int32(SQL_ATTR_QUERY_TIMEOUT),
                                ctypes.c_void_p(timeout), ctypes.c_int32(0))
            if param is None:
                rc = lib.SQLExecDirectW(stmt, wstr(sql), ctypes.c_int32(SQL_NTS))
            else:
                rc = lib.SQLPrepareW(stmt, wstr(sql), ctypes.c_int32(SQL_NTS))
                if not ok(rc):
                    raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
                # A plain int: SQL_C_LONG as SQL_INTEGER (mssql-python itself would pick the
                # smallest type that holds the value, SQL_TINYINT for 42).
                value = ctypes.c_int32(param)
                ind = ctypes.c_int64(0)
                rc = lib.SQLBindParameter(stmt, ctypes.c_uint16(1), ctypes.c_int16(SQL_PARAM_INPUT),
                                          ctypes.c_int16(SQL_C_LONG), ctypes.c_int16(SQL_INTEGER),
                                          ctypes.c_uint64(10), ctypes.c_int16(0),
                                          ctypes.byref(value), ctypes.c_int64(0),
                                          ctypes.byref(ind))
                if not ok(rc):
                    raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
                rc = lib.SQLExecute(stmt)
            if not ok(rc) and rc != SQL_NO_DATA:
                raise OdbcError(odbc.diag(SQL_HANDLE_STMT, stmt))
            return fetch_first_row(odbc, stmt)
        finally:
            lib.SQLFreeHandle(ctypes.c_int16(SQL_HANDLE_STMT), stmt)

    def begin():
        set_autocommit(False)  # SQLSetConnectAttr(SQL_ATTR_AUTOCOMMIT, SQL_AUTOCOMMIT_OFF)
        return None, None

    def commit():
        # SQLEndTran(SQL_COMMIT): a TM_COMMIT_XACT with fBeginXact, so the server opens the
        # next transaction at once (autocommit is still off): trancount_after reads 1.
        check_dbc(lib.SQLEndTran(ctypes.c_int16(SQL_HANDLE_DBC), dbc, ctypes.c_int16(SQL_COMMIT)))
        return None, None

    def trancount_after():
        try:
            return statement("SELECT @@TRANCOUNT")
        finally:
            # Then autocommit back on, as the application ends its unit of work: the driver
            # ends the chained transaction with a TM_COMMIT_XACT (a TM_ROLLBACK_XACT when no
            # statement ran in it), so `error` and `again` run in autocommit mode. Done after
            # the SELECT, which would read 0 otherwise. Reported as `autocommit_restored`.
            try:
                set_autocommit(True)
                steps[-1]["autocommit_restored"] = True
            except OdbcError as e:
                steps[-1]["autocommit_restored"] = False
                steps[-1]["autocommit_error"] = fail_result({}, e.records)["error"]

    actions = {
        "begin": begin,
        "trancount": lambda: statement("SELECT @@TRANCOUNT"),
        "system": lambda: statement(SYSTEM_SQL),
        "param": lambda: statement("SELECT ?", 42),
        "commit": commit,
        "trancount_after": trancount_after,
        "error": lambda: statement("SELECT * FROM tlslab_no_such_table"),
        "again": lambda: statement("SELECT 1"),
    }
    for name in SESSION_STEPS:
        step = {"step": name, "ok": False, "value": None, "error_code": None, "error": None}
        steps.append(step)
        limit = timeout + 5

        def expire(step=step, name=name, limit=limit):
            step.update(error=f"probe watchdog: step '{name}' did not finish within {limit} s",
                        error_code="PROBE_TIMEOUT")
            for rest in SESSION_STEPS[SESSION_STEPS.index(name) + 1:]:
                steps.append({"step": rest, "ok": False, "value": None,
                              "error_code": "PROBE_TIMEOUT",
                              "error": f"not run: step '{name}' did not finish"})
            emit(result)
            os._exit(0)
        dog = threading.Timer(limit, expire)
        dog.daemon = True
        dog.start()
        t = time.monotonic()
        try:
            value, row = actions[name]()
            step.update(ok=True, value=value)
            if name == "system" and row is not None:
                step["row"] = row
        except OdbcError as e:
            f = fail_result({}, e.records)
            step.update(error=f["error"], error_code=f["error_code"])
            for k in ("sql_state", "native_error"):
                if k in f:
                    step[k] = f[k]
        step["elapsed_ms"] = int((time.monotonic() - t) * 1000)
        dog.cancel()
    return state


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
    p.add_argument("--session", action="store_true",
                   help="after --query, run the session script (see ../README.md)")
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
        fail_result(result, odbc.diag(SQL_HANDLE_DBC, dbc))
        if a.session:
            result["session"] = None  # never logged in: no script
        emit(result)
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
    if a.session:
        dog.cancel()  # from here each step has its own watchdog
        if stmt:
            lib.SQLFreeHandle(ctypes.c_int16(SQL_HANDLE_STMT), stmt)
            stmt = None
        state = run_session(odbc, dbc, a.timeout, result)
        emit(result)
        # Close politely, bounded: roll back a transaction left open, then the logout.
        dog = threading.Timer(a.timeout + 5, lambda: os._exit(0))
        dog.daemon = True
        dog.start()
        if not state["autocommit"]:
            lib.SQLEndTran(ctypes.c_int16(SQL_HANDLE_DBC), dbc, ctypes.c_int16(SQL_ROLLBACK))
    else:
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
