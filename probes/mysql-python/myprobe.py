"""What the MySQL probes written in Python share (mariadb-cli, mysqlconnector,
mysqlconnector-pure, pymysql).

Standard library only: the mariadb-cli probe runs it with the system python3, the others from
.venv here. The contract is the "MySQL probes" section of ../README.md; this module holds its
options, its JSON line, the private environment every run gets and the watchdog that bounds
each phase.

The private environment: every MYSQL_* and MARIADB_* variable is removed (MYSQL_PWD,
MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT, MYSQL_TEST_LOGIN_FILE, ... would change what a
client does) and HOME points to a fresh empty directory, so that no ~/.my.cnf or
~/.mylogin.cnf of whoever runs the probe is read.

stdout discipline: the one JSON line goes to a private duplicate of fd 1, and fd 1 itself
(and sys.stdout) is pointed at stderr, so nothing a driver prints can reach stdout.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import shutil
import sys
import tempfile
import threading
import time

T0 = time.monotonic()

_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_emit_lock = threading.Lock()
_emitted = False
_home: str | None = None

SSL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
# Asked after login where the driver itself cannot tell the TLS version or cipher. These are
# the server's view: behind a proxy, the upstream leg's.
STATUS_VERSION = "SHOW SESSION STATUS LIKE 'Ssl_version'"
STATUS_CIPHER = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


def base_result(driver: str, ssl_mode: str | None) -> dict:
    return {"driver": driver, "version": None, "connected": False, "error_code": None,
            "error": None, "value": None, "ssl": None, "tls_version": None, "cipher": None,
            "ssl_mode": ssl_mode, "ssl_settings": None}


def emit(result: dict) -> None:
    """Prints the single JSON line (once) and removes the private HOME."""
    global _emitted
    with _emit_lock:
        if _emitted:
            return
        _emitted = True
        result["elapsed_ms"] = int((time.monotonic() - T0) * 1000)
        _OUT.write(json.dumps(result, default=str) + "\n")
        _OUT.flush()
        if _home:
            shutil.rmtree(_home, ignore_errors=True)


def private_environment() -> str:
    """Drops MYSQL_*/MARIADB_* variables and points HOME at a new empty directory."""
    global _home
    for k in [k for k in os.environ if k.startswith(("MYSQL_", "MARIADB_", "LIBMYSQL_"))]:
        del os.environ[k]
    _home = tempfile.mkdtemp(prefix="tlslab-probe-home-")
    os.environ["HOME"] = _home
    return _home


def parse_args(driver: str, argv: list[str]) -> argparse.Namespace:
    """The contract's options; exits 2 with a message on stderr on a usage error."""
    p = argparse.ArgumentParser(prog="probe", description=f"tlslab MySQL probe: {driver}")
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca", help="PEM file of a CA the driver is told to trust, its own way")
    p.add_argument("--ssl-mode", choices=SSL_MODES,
                   help="mapped to the driver's own options (../README.md); default: the "
                        "driver's own default")
    p.add_argument("--user", default="lab")
    p.add_argument("--password", default="lab-password")
    p.add_argument("--database", default="lab")
    p.add_argument("--query", default="SELECT 1")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args(argv)
    if not 1 <= a.port <= 65535:
        p.error(f"bad --port {a.port}")
    if not a.timeout > 0:
        p.error("--timeout must be > 0")
    if a.ca is not None:
        if not os.path.isfile(a.ca):
            p.error(f"--ca: no such file: {a.ca}")
        a.ca = os.path.abspath(a.ca)
    if not a.host.strip():
        p.error("--host must not be empty")
    return a


def unsupported(result: dict, why: str) -> dict:
    """The run for a mode the driver cannot express: not run, said so."""
    result.update(error_code="UNSUPPORTED_MODE", unsupported_mode=True,
                  error=f"{why}; not run")
    return result


def to_json(v):
    """A column value as JSON: numbers, strings and booleans as they are, the rest as text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() and abs(v) < 2**53 else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return "\\x" + b.hex()
    if isinstance(v, (datetime.date, datetime.time, datetime.datetime)):
        return v.isoformat()
    return str(v)


class Watchdog:
    """Bounds each phase: when a phase outlives its bound, record why, emit, exit 0."""

    def __init__(self, result: dict):
        self.result = result
        self.timer: threading.Timer | None = None

    def arm(self, seconds: float) -> None:
        self.cancel()
        self.timer = threading.Timer(seconds, self._fire, args=(seconds,))
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _fire(self, seconds: float) -> None:
        if self.result.get("error_code") is None:
            self.result.update(error_code="PROBE_TIMEOUT",
                               error=f"probe watchdog: no answer from the driver after {seconds:g} s")
        emit(self.result)
        os._exit(0)


def fill_ssl_from_status(result: dict, query_one) -> None:
    """tls_version/cipher (and ssl, where the driver did not tell) from the server's
    session status; query_one(sql) -> the Value column of the first row, or raises."""
    try:
        version = query_one(STATUS_VERSION)
        cipher = query_one(STATUS_CIPHER)
    except Exception as e:  # noqa: BLE001 - any driver error: the fields stay as they are
        result["ssl_status_error"] = str(e)
        return
    version = to_json(version) or None
    cipher = to_json(cipher) or None
    filled = []
    if result.get("tls_version") is None:
        result["tls_version"] = version
        filled.append("tls_version")
    if result.get("cipher") is None:
        result["cipher"] = cipher
        filled.append("cipher")
    if result.get("ssl") is None:
        result["ssl"] = cipher is not None
        result["ssl_source"] = "server"
        filled.append("ssl")
    if filled:
        result["from_server_status"] = filled


def main_guard(driver: str, main, argv: list[str]) -> None:
    """Runs main(argv); a probe bug or a broken install still gives one JSON line."""
    try:
        main(argv)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        r = base_result(driver, None)
        r.update(error_code=type(e).__name__, error=f"probe failure: {e!r}")
        emit(r)
    os._exit(0)  # skip driver teardown at interpreter exit
