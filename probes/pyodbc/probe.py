"""tlslab driver probe: pyodbc on unixODBC, driving Microsoft ODBC Driver 18 for SQL Server.

What an application written with pyodbc on Linux runs: pyodbc (PyPI) -> libodbc.so.2 (Debian's
unixODBC driver manager) -> libmsodbcsql-18.x.so (the Microsoft driver, here the copy that
PyPI's mssql-python-odbc ships, installed by ../odbc/install). The driver is registered in a
private odbcinst.ini that ./install writes under build/odbc/; the probe points ODBCSYSINI there.

The connection-string keywords are the driver's own (the same as the odbc probe's); the
difference from ../odbc is the path through pyodbc and the driver manager, and what pyodbc
makes of the driver's diagnostics (on Linux it keeps only the first diagnostic record).

See README.md here and the probe contract in the parent folder.
"""

import argparse
import ctypes
import datetime
import decimal
import json
import os
import re
import sys
import threading
import time
import uuid

T0 = time.monotonic()
HERE = os.path.dirname(os.path.abspath(__file__))
SYSINI = os.path.join(HERE, "build", "odbc")
DRIVER_NAME = "ODBC Driver 18 for SQL Server"  # as registered in build/odbc/odbcinst.ini
APP_NAME = "tlslab-probe-pyodbc"

# ---- stdout discipline ---------------------------------------------------------------
# The one JSON line goes to a private duplicate of fd 1; fd 1 itself (and sys.stdout) is
# pointed at stderr, so nothing the driver, the driver manager or Python prints reaches stdout.
_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_emit_lock = threading.Lock()
_emitted = False


def emit(result):
    """Print the single JSON line (once)."""
    global _emitted
    with _emit_lock:
        if _emitted:
            return
        _emitted = True
        result["elapsed_ms"] = int((time.monotonic() - T0) * 1000)
        _OUT.write(json.dumps(result) + "\n")
        _OUT.flush()


# ---- helpers ---------------------------------------------------------------------------

def odbc_value(text):
    """Quote a connection-string value the ODBC way when it needs it: {va;}}lue}."""
    if any(c in text for c in ";{}=") or text != text.strip():
        return "{" + text.replace("}", "}}") + "}"
    return text


def server_value(host, port):
    # ODBC Driver 18 takes an IPv6 literal bare: "Server=::1,1433" (it splits on the comma);
    # "[::1],1433" is looked up as a host name and fails (see ../odbc/README.md).
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return f"{host},{port}"


def to_json(v):
    """A column value as JSON: numbers and strings as they are, the rest as text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() and abs(v) < 2**53 else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "0x" + bytes(v).hex()
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


def as_text(v):
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "0x" + bytes(v).hex()
    return str(v)


# pyodbc's message: "[SQLSTATE] text (native) (SQLFunction)"; on Windows further records follow
# as "; [SQLSTATE] text (native)" before the function name. On Linux pyodbc reads only the
# first diagnostic record (errors.cpp: "only call it once for non-Windows platforms").
_REC_RE = re.compile(r"\[([0-9A-Za-z]{5})\] (.*?) \((-?\d+)\)(?=; \[[0-9A-Za-z]{5}\] | \(\w+\)$|$)",
                     re.S)
_FUNC_RE = re.compile(r" \((\w+)\)$")


def error_fields(e):
    """Contract error fields from a pyodbc.Error (or any exception)."""
    import pyodbc
    out = {"error_type": type(e).__name__}
    args = getattr(e, "args", ())
    if isinstance(e, pyodbc.Error) and len(args) >= 2 and isinstance(args[1], str):
        text = args[1]
        out["error"] = text
        recs = [(s, int(n), m) for s, m, n in _REC_RE.findall(text)]
        f = _FUNC_RE.search(text)
        if f:
            out["odbc_function"] = f.group(1)
        if recs:
            # As in ../odbc: a record whose message carries the [SQL Server] component came from
            # the server and its native error is the SQL Server error number (208, 18456);
            # the driver's own records carry OS codes (or -1, 0), so then the SQLSTATE.
            server = next((r for r in recs if "][SQL Server]" in r[2]), None)
            primary = server or recs[0]
            out["error_code"] = primary[1] if server else primary[0]
            out["sql_state"] = primary[0]
            out["native_error"] = primary[1]
            if len(recs) > 1:
                out["cause"] = "; ".join(m for _, _, m in recs[1:])
        else:
            out["error_code"] = args[0] if isinstance(args[0], str) and args[0] else None
            out["sql_state"] = out["error_code"]
    else:
        out["error"] = str(e) or repr(e)
        out["error_code"] = type(e).__name__
    return out


def first_value(cursor):
    """First column of the first row of the first result set that has columns (and the row)."""
    while cursor.description is None:
        if not cursor.nextset():
            return None, None
    row = cursor.fetchone()
    if row is None:
        return None, None
    return (to_json(row[0]) if len(row) else None), row


def driver_version_direct(so_path):
    """SQL_DRIVER_VER straight from the driver .so (SQLGetInfoW on an unconnected handle works
    with msodbcsql), for a run that never connected (pyodbc can ask only a connection)."""
    lib = ctypes.CDLL(so_path)
    for n in ("SQLAllocHandle", "SQLSetEnvAttr", "SQLGetInfoW", "SQLFreeHandle"):
        getattr(lib, n).restype = ctypes.c_int16
    env, dbc = ctypes.c_void_p(), ctypes.c_void_p()
    if lib.SQLAllocHandle(ctypes.c_int16(1), None, ctypes.byref(env)) not in (0, 1):
        return None
    lib.SQLSetEnvAttr(env, ctypes.c_int32(200), ctypes.c_void_p(380), ctypes.c_int32(0))
    try:
        if lib.SQLAllocHandle(ctypes.c_int16(2), env, ctypes.byref(dbc)) not in (0, 1):
            return None
        buf = ctypes.create_string_buffer(256)
        n = ctypes.c_int16(0)
        rc = lib.SQLGetInfoW(dbc, ctypes.c_uint16(7), buf, ctypes.c_int16(256), ctypes.byref(n))
        lib.SQLFreeHandle(ctypes.c_int16(2), dbc)
        if rc not in (0, 1):
            return None
        return bytes(buf)[: n.value].decode("utf-16-le", "replace")
    finally:
        lib.SQLFreeHandle(ctypes.c_int16(1), env)


def registered_driver_so():
    """The Driver= path of our driver in build/odbc/odbcinst.ini."""
    try:
        with open(os.path.join(SYSINI, "odbcinst.ini"), encoding="utf-8") as f:
            section = None
            for line in f:
                line = line.strip()
                if line.startswith("["):
                    section = line[1:-1]
                elif section == DRIVER_NAME and line.lower().startswith("driver="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


class Watchdog:
    """Bounds each phase: when a phase outlives its bound, emit what we have and exit."""

    def __init__(self, result):
        self.result = result
        self.timer = None
        self.on_expire = None

    def arm(self, seconds, on_expire):
        self.cancel()
        self.on_expire = on_expire
        self.timer = threading.Timer(seconds, self._fire, args=(seconds,))
        self.timer.daemon = True
        self.timer.start()

    def cancel(self):
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _fire(self, seconds):
        self.on_expire(f"probe watchdog: no answer from the driver after {seconds} s")
        emit(self.result)
        os._exit(0)


# ---- the session script (../README.md, "--session") ------------------------------------

SESSION_STEPS = ["begin", "trancount", "system", "param", "commit", "trancount_after",
                 "error", "again"]
SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")


def run_session(conn, timeout, dog, result):
    steps = []
    result["session"] = steps

    def query(sql, *params):
        cur = conn.cursor()
        try:
            cur.execute(sql, *params)
            return first_value(cur)
        finally:
            try:
                cur.close()
            except Exception:  # noqa: BLE001 - a dead connection: the step already has its error
                pass

    def begin():
        conn.autocommit = False  # SQLSetConnectAttr(SQL_ATTR_AUTOCOMMIT, SQL_AUTOCOMMIT_OFF)
        return None, None

    def commit():
        conn.commit()  # SQLEndTran(SQL_COMMIT)
        return None, None

    actions = {
        "begin": begin,
        "trancount": lambda: query("SELECT @@TRANCOUNT"),
        "system": lambda: query(SYSTEM_SQL),
        "param": lambda: query("SELECT ?", 42),  # one int parameter, pyodbc's qmark style
        "commit": commit,
        "trancount_after": lambda: query("SELECT @@TRANCOUNT"),
        "error": lambda: query("SELECT * FROM tlslab_no_such_table"),
        "again": lambda: query("SELECT 1"),
    }
    for name in SESSION_STEPS:
        step = {"step": name, "ok": False, "value": None, "error_code": None, "error": None}
        steps.append(step)

        def expire(msg, step=step, name=name):
            step.update(error=msg, error_code="PROBE_TIMEOUT")
            for rest in SESSION_STEPS[SESSION_STEPS.index(name) + 1:]:
                steps.append({"step": rest, "ok": False, "value": None,
                              "error_code": "PROBE_TIMEOUT",
                              "error": f"not run: step '{name}' did not finish"})
        dog.arm(timeout + 5, expire)
        t = time.monotonic()
        try:
            value, row = actions[name]()
            step.update(ok=True, value=value)
            if name == "system" and row is not None:
                step["row"] = [as_text(v) for v in row]
        except Exception as e:  # noqa: BLE001 - pyodbc.Error, or anything the step raised
            f = error_fields(e)
            step.update(error=f.get("error"), error_code=f.get("error_code"))
            for k in ("sql_state", "native_error"):
                if k in f:
                    step[k] = f[k]
        step["elapsed_ms"] = int((time.monotonic() - t) * 1000)
        dog.cancel()


# ---- main ------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="probe", description="pyodbc + unixODBC + ODBC Driver 18 probe")
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
    if not 1 <= a.port <= 65535:
        p.error(f"bad --port {a.port}")
    if a.ca is not None and not os.path.isfile(a.ca):
        p.error(f"--ca: no such file: {a.ca}")
    return a


def main(argv):
    a = parse_args(argv)
    result = {"driver": "pyodbc", "version": None, "connected": False, "error_code": None,
              "error": None, "value": None}

    # The private driver registry written by ./install (never /etc/odbcinst.ini).
    os.environ["ODBCSYSINI"] = SYSINI
    os.environ.pop("ODBCINSTINI", None)
    os.environ["ODBCINI"] = os.path.join(SYSINI, "odbc.ini")
    if a.ca:
        # ODBC Driver 18 on Linux has no CA-file keyword (ServerCertificate= pins one exact
        # certificate). It validates through OpenSSL's default verify paths, which OpenSSL
        # reads from SSL_CERT_FILE when set (see ../odbc/README.md): same approach as there.
        os.environ["SSL_CERT_FILE"] = os.path.abspath(a.ca)
        result["ssl_cert_file"] = os.environ["SSL_CERT_FILE"]

    dog = Watchdog(result)

    def connect_expired(msg):
        result.update(error=msg, error_code="PROBE_TIMEOUT")
    # Login is bounded by the driver's login timeout; 5 s of grace, then the watchdog.
    dog.arm(a.timeout + 5, connect_expired)

    import pyodbc
    pyodbc.pooling = False  # one real connection per run, no driver-manager pool
    result["pyodbc_version"] = pyodbc.version
    so_path = registered_driver_so()
    result["driver_file"] = os.path.basename(so_path) if so_path else None

    parts = [("Driver", "{" + DRIVER_NAME + "}"),
             ("Server", odbc_value(server_value(a.host, a.port))),
             ("UID", odbc_value(a.user)), ("PWD", odbc_value(a.password)),
             ("APP", APP_NAME)]
    if a.encrypt:
        parts.append(("Encrypt", a.encrypt))
    if a.trust_server_certificate:
        parts.append(("TrustServerCertificate", "yes"))
    if a.host_name_in_certificate:
        parts.append(("HostNameInCertificate", odbc_value(a.host_name_in_certificate)))
    conn_str = ";".join(f"{k}={v}" for k, v in parts) + ";"
    print("probe: connection string: "
          + ";".join(f"{k}={'***' if k == 'PWD' else v}" for k, v in parts), file=sys.stderr)

    try:
        # timeout= is SQL_ATTR_LOGIN_TIMEOUT. autocommit=True: the application's default
        # session; the --session script's `begin` turns it off the pyodbc way.
        conn = pyodbc.connect(conn_str, timeout=a.timeout, autocommit=True)
    except pyodbc.Error as e:
        dog.cancel()
        result.update(error_fields(e))
        drv = driver_version_direct(so_path) if so_path and os.path.isfile(so_path) else None
        result["driver_version"] = drv
        result["version"] = f"{pyodbc.version} / {drv or '?'}"
        if a.session:
            result["session"] = None
        emit(result)
        return
    dog.cancel()
    result["connected"] = True
    drv = conn.getinfo(pyodbc.SQL_DRIVER_VER)
    result["driver_version"] = drv
    result["version"] = f"{pyodbc.version} / {drv}"
    result["driver_name"] = conn.getinfo(pyodbc.SQL_DRIVER_NAME)
    try:
        result["driver_manager_version"] = conn.getinfo(pyodbc.SQL_DM_VER)
    except pyodbc.Error:
        pass
    conn.timeout = a.timeout  # SQL_ATTR_QUERY_TIMEOUT of every statement from here on

    if a.query:
        def query_expired(msg):
            result.update(error=msg, error_code="PROBE_TIMEOUT")
        dog.arm(a.timeout + 5, query_expired)
        cur = conn.cursor()
        try:
            cur.execute(a.query)
            result["value"] = first_value(cur)[0]
        except Exception as e:  # noqa: BLE001
            result.update(error_fields(e))
        finally:
            try:
                cur.close()
            except Exception:  # noqa: BLE001
                pass
        dog.cancel()

    if a.session:
        run_session(conn, a.timeout, dog, result)

    emit(result)
    # Close politely (a rollback if a transaction is open, then the logout), bounded.
    dog.arm(a.timeout + 5, lambda msg: None)
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except BaseException as e:  # a probe bug or a broken install: still one JSON line
        emit({"driver": "pyodbc", "version": None, "connected": False,
              "error_code": type(e).__name__, "error": f"probe failure: {e!r}", "value": None})
    os._exit(0)  # skip driver/library teardown at interpreter exit
