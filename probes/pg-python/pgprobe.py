"""What the PostgreSQL probes written in Python share (psql, psycopg2, psycopg3, asyncpg).

Standard library only: the psql probe runs it with the system python3, the others from
.venv here. The contract is the PostgreSQL section of ../README.md; this module holds its
options, its JSON line, the private environment every run gets, the watchdog that bounds
each phase, and the session script's steps.

The private environment: every PG* variable is removed (PGSSLMODE, PGSSLROOTCERT,
PGCHANNELBINDING, ... would change what the driver does) and HOME points to a fresh empty
directory, so that no ~/.postgresql/root.crt (nor postgresql.crt, .pgpass, .pg_service.conf)
of whoever runs the probe is read: without --ca a driver does what it does for a user who
has no root certificate. libpq (15, 17, 18) and asyncpg take the home directory from HOME.

stdout discipline: the one JSON line goes to a private duplicate of fd 1, and fd 1 itself
(and sys.stdout) is pointed at stderr, so nothing a driver prints can reach stdout.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid

T0 = time.monotonic()

_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_emit_lock = threading.Lock()
_emitted = False
_home: str | None = None

# The session script (../README.md, "PostgreSQL session script"): (step, SQL), in order.
SESSION = [
    ("set", "SET application_name = 'tlslab-probe'"),
    ("show", "SHOW application_name"),
    ("begin", "BEGIN"),
    ("param", "SELECT $1::int"),  # with one int parameter, 42, bound the client's own way
    ("commit", "COMMIT"),
    ("error", "SELECT * FROM tlslab_no_such_table"),
    ("again", "SELECT 1"),
]
SESSION_STEPS = [name for name, _ in SESSION]
SESSION_SQL = dict(SESSION)
PARAM_VALUE = 42


class Skip(Exception):
    """A step the client cannot take the way the script says (reported ok: null, skipped)."""


def base_result(driver: str) -> dict:
    return {"driver": driver, "version": None, "connected": False, "error_code": None,
            "error": None, "value": None, "ssl": None}


def emit(result: dict) -> None:
    """Prints the single JSON line (once) and removes the private HOME."""
    global _emitted
    with _emit_lock:
        if _emitted:
            return
        _emitted = True
        result["elapsed_ms"] = int((time.monotonic() - T0) * 1000)
        _OUT.write(json.dumps(result) + "\n")
        _OUT.flush()
        if _home:
            shutil.rmtree(_home, ignore_errors=True)


def private_environment() -> str:
    """Drops PG* variables and points HOME at a new empty directory; returns it."""
    global _home
    for k in [k for k in os.environ if k.startswith("PG")]:
        del os.environ[k]
    _home = tempfile.mkdtemp(prefix="tlslab-probe-home-")
    os.environ["HOME"] = _home
    return _home


# ---- arguments ------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9_-]+")


def parse_args(driver: str, argv: list[str], encrypt_help: str) -> argparse.Namespace:
    """The contract's options; exits 2 with a message on stderr on a usage error.
    --encrypt is passed to the driver in its own words (it judges the value itself): here it
    only has to be one word."""
    p = argparse.ArgumentParser(prog="probe", description=f"tlslab PostgreSQL probe: {driver}")
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca", help="PEM file of a CA the driver is told to trust, its own way")
    p.add_argument("--encrypt", help=encrypt_help)
    p.add_argument("--channel-binding", choices=["disable", "prefer", "require"])
    p.add_argument("--ssl-negotiation", choices=["postgres", "direct"])
    p.add_argument("--user", default="lab")
    p.add_argument("--password", default="lab-password")
    p.add_argument("--database", default="lab")
    p.add_argument("--query", default="SELECT 1")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--session", action="store_true",
                   help="after --query, run the session script (../README.md)")
    a = p.parse_args(argv)
    if not 1 <= a.port <= 65535:
        p.error(f"bad --port {a.port}")
    if not a.timeout > 0:
        p.error("--timeout must be > 0")
    if a.encrypt is not None and not _WORD.fullmatch(a.encrypt):
        p.error(f"--encrypt must be one word ({encrypt_help})")
    if a.ca is not None:
        if not os.path.isfile(a.ca):
            p.error(f"--ca: no such file: {a.ca}")
        a.ca = os.path.abspath(a.ca)
    if not a.host.strip():
        p.error("--host must not be empty")
    return a


def unsupported(result: dict, session: bool, what: str) -> dict:
    """The run for an option the driver does not have: not run, said so (as the tsql probe
    does for --host-name-in-certificate)."""
    result.update(error_code="UNSUPPORTED_OPTION", unsupported=True, error=what + "; not run")
    if session:
        result["session"] = not_run_steps("UNSUPPORTED_OPTION", "not run: " + result["error"])
    return result


# ---- values ---------------------------------------------------------------------------

def to_json(v):
    """A column value as JSON: numbers, strings and booleans as they are, the rest as text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() and abs(v) < 2**53 else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(v).hex()
    if isinstance(v, (datetime.date, datetime.time, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


# ---- bounds ---------------------------------------------------------------------------

class Watchdog:
    """Bounds each phase: when a phase outlives its bound, record why, emit, exit 0."""

    def __init__(self, result: dict):
        self.result = result
        self.timer: threading.Timer | None = None

    def arm(self, seconds: float, on_expire) -> None:
        self.cancel()
        self.timer = threading.Timer(seconds, self._fire, args=(seconds, on_expire))
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _fire(self, seconds: float, on_expire) -> None:
        on_expire(f"probe watchdog: no answer from the driver after {seconds:g} s")
        emit(self.result)
        os._exit(0)


def expire_top(result: dict, session: bool):
    """on_expire for the login or the query: the run's error, and no session."""
    def expire(msg: str) -> None:
        result.update(error=msg, error_code="PROBE_TIMEOUT")
        if session and "session" not in result:
            result["session"] = not_run_steps("PROBE_TIMEOUT", "not run: " + msg)
    return expire


# ---- the session script ---------------------------------------------------------------

def new_step(name: str) -> dict:
    return {"step": name, "ok": False, "value": None, "error_code": None, "error": None}


def not_run_steps(code, msg: str, names=None) -> list[dict]:
    out = []
    for name in names if names is not None else SESSION_STEPS:
        s = new_step(name)
        s.update(error_code=code, error=msg)
        out.append(s)
    return out


def run_session(result: dict, actions: dict, error_fields, timeout: float, dog: Watchdog,
                grace: float = 5.0, extra: dict | None = None) -> None:
    """Runs the steps in order: actions[name]() returns the step's value (or raises Skip, or
    the driver's error); error_fields(exc) -> {"error_code", "error", ...}. A failed step
    does not stop the script. Each step is bounded by the watchdog at timeout + grace.
    extra: name -> dict of fields added to that step (e.g. the param step's protocol)."""
    steps: list[dict] = []
    result["session"] = steps
    for name in SESSION_STEPS:
        step = new_step(name)
        steps.append(step)

        def expire(msg, step=step, name=name):
            step.update(error=msg, error_code="PROBE_TIMEOUT")
            steps.extend(not_run_steps("PROBE_TIMEOUT", f"not run: step '{name}' did not finish",
                                       SESSION_STEPS[SESSION_STEPS.index(name) + 1:]))
        dog.arm(timeout + grace, expire)
        t = time.monotonic()
        try:
            value = actions[name]()
            step.update(ok=True, value=to_json(value))
        except Skip as why:
            step.clear()
            step.update(step=name, ok=None, skipped=str(why))
        except Exception as e:  # noqa: BLE001 - the driver's error, whatever its class
            step.update(error_fields(e))
        if extra and name in extra:
            step.update(extra[name])
        step["elapsed_ms"] = int((time.monotonic() - t) * 1000)
        dog.cancel()


def main_guard(driver: str, main, argv: list[str]) -> None:
    """Runs main(argv); a probe bug or a broken install still gives one JSON line."""
    try:
        main(argv)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        r = base_result(driver)
        r.update(error_code=type(e).__name__, error=f"probe failure: {e!r}")
        emit(r)
    os._exit(0)  # skip driver teardown at interpreter exit
