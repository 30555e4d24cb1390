"""Helpers for the tlslab integration suites: the process wrapper and the probe runner.

Imported by conftest.py (fixtures) and by the test modules. Standard library + pytest only.

  TlslabProcess.start   runs `tlslab [--state-dir D] --log-level debug <sub> ... --listen
                        127.0.0.1:0`, waits (bounded) for "listening on HOST:PORT" on stdout
                        (serve, lab) or stderr (proxy),
                        collects stdout/stderr lines in background threads, and stop()s with
                        SIGTERM (SIGKILL after a bound), raising if the process had died,
                        needed SIGKILL, or exited non-zero on SIGTERM
  running_tlslab(...)   the same as a context manager
  run_probe(driver, host=, port=, resolve=[names], **options)
                        runs probes/<driver>/probe (bounded), asserts exit 0 and exactly
                        one JSON line, returns the parsed object (a dict with .describe());
                        with resolve, under a private /etc/hosts that maps the names to
                        127.0.0.1 (private_hosts_argv)
  private_hosts_argv(names, argv)
                        argv wrapped in `unshare -m` + `mount --bind` of a temporary hosts
                        file (the machine's /etc/hosts + "127.0.0.1 NAME" lines) over
                        /etc/hosts: only that process tree sees the names (needs root)
  EventLog(path)        the --events file of a proxy or lab: records() parses the complete
                        lines written so far ("event": "session" records, with a parsed
                        `started_ts`), wait_for(pred, bound) waits for matching records
  free_port_block(n)    a base port N with N..N+n-1 all bindable on 127.0.0.1 right now,
                        below the kernel's ephemeral range (from server_util)
  free_port()           free_port_block(1)
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from server_util import free_port, free_port_block  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]
DRIVERS_DIR = REPO / "probes"
DRIVERS = ("tedious", "odbc", "jdbc", "go", "tsql")

READY_TIMEOUT_S = 10.0    # process start -> "listening on" line
STOP_TIMEOUT_S = 5.0      # SIGTERM -> exit, before SIGKILL
LOG_WAIT_S = 5.0          # default bound when waiting for a log line
PROBE_GRACE_S = 45.0      # probe subprocess bound = its --timeout + this (JVM start, ODBC grace)

LISTEN_RE = re.compile(r"listening on (\[[^\]]*\]|[^\s\[\]]+):(\d+)")
# "2026-11-22T17:14:02.419 info  [serve#1 127.0.0.1:47702] login ok: ..."
SESSION_RE = re.compile(r"\[(?P<session>[\w-]+#\d+) (?P<peer>[^\]\s]+)\]")


def default_bin() -> Path:
    """$TLSLAB_BIN, else <repo>/build/tlslab."""
    env = os.environ.get("TLSLAB_BIN")
    return Path(env).resolve() if env else REPO / "build" / "tlslab"


# ---- the process helper ---------------------------------------------------------------------

class TlslabProcess:
    """One running tlslab subcommand. Thread-safe log access; all waits bounded."""

    _live: list["TlslabProcess"] = []  # every started, not yet stopped, process (for the watch)

    def __init__(self, argv: list[str], name: str):
        self.argv = argv
        self.name = name
        self.host: str | None = None
        self.port: int | None = None
        self.returncode: int | None = None
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._cond = threading.Condition()
        self._stopped = False
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     start_new_session=True)
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._stdout),
                             name=f"{name}-stdout", daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._stderr),
                             name=f"{name}-stderr", daemon=True),
        ]
        for t in self._threads:
            t.start()

    @classmethod
    def start(cls, binary: Path | str, subcommand: str, *args: str,
              state_dir: Path | str | None = None, log_level: str = "debug",
              listen: str | None = "127.0.0.1:0", ready_timeout: float = READY_TIMEOUT_S,
              name: str | None = None, fail_pattern: str | None = None,
              prefix: list[str] | None = None) -> "TlslabProcess":
        """fail_pattern: a line (stdout or stderr) matching it before "listening on" fails the
        start at once (e.g. "cannot listen on", for a subcommand that may not exit on it).
        prefix: argv words run before the binary (e.g. ["ip", "netns", "exec", NS])."""
        argv = [*(prefix or []), str(binary)]
        if state_dir is not None:
            argv += ["--state-dir", str(state_dir)]
        argv += ["--log-level", log_level, subcommand, *map(str, args)]
        if listen is not None:
            argv += ["--listen", listen]
        p = cls(argv, name or subcommand)
        try:
            p._wait_ready(ready_timeout, re.compile(fail_pattern) if fail_pattern else None)
        except BaseException:
            p._kill_quietly()
            raise
        cls._live.append(p)
        return p

    # readers
    def _pump(self, stream, sink: list[str]) -> None:
        for line in stream:
            with self._cond:
                sink.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _wait_ready(self, bound: float, fail_re: re.Pattern | None = None) -> None:
        # serve and lab print "listening on" to stdout, proxy to stderr: look at both
        # (stdout first, so a subcommand that prints it on both ends up with the same port).
        deadline = time.monotonic() + bound
        with self._cond:
            while True:
                for line in (*self._stdout, *self._stderr):
                    m = LISTEN_RE.search(line)
                    if m:
                        self.host, self.port = m.group(1).strip("[]"), int(m.group(2))
                        return
                    if fail_re is not None and fail_re.search(line):
                        raise AssertionError(
                            f"{self.name} failed to start: {line}\n"
                            f"argv: {shlex.join(self.argv)}\n{self._tail()}")
                if self.proc.poll() is not None:
                    # give the pumps a moment to deliver the last words
                    self._cond.wait(0.2)
                    raise AssertionError(
                        f"{self.name} exited with {self.proc.returncode} before listening\n"
                        f"argv: {shlex.join(self.argv)}\n{self._tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: no 'listening on HOST:PORT' within {bound} s\n"
                        f"argv: {shlex.join(self.argv)}\n{self._tail()}")
                self._cond.wait(min(left, 0.1))

    # log access
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def stdout_lines(self) -> list[str]:
        with self._cond:
            return list(self._stdout)

    def mark(self) -> int:
        """Position in the stderr log; pass as `since` to look only at later lines."""
        with self._cond:
            return len(self._stderr)

    def log(self, since: int = 0) -> list[str]:
        with self._cond:
            return self._stderr[since:]

    def log_text(self, since: int = 0) -> str:
        return "\n".join(self.log(since))

    def wait_for_log(self, pattern: str | re.Pattern, since: int = 0,
                     timeout: float = LOG_WAIT_S) -> re.Match:
        """First stderr line (from `since`) matching pattern (re.search); fails after timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._stderr[since:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: no log line matching {rx.pattern!r} within {timeout} s; "
                        f"log since mark:\n" + "\n".join(self._stderr[since:][-60:]))
                self._cond.wait(min(left, 0.1))

    def sessions(self, since: int = 0) -> dict[str, list[str]]:
        """Log lines (from `since`) grouped by their session tag ("serve#3")."""
        out: dict[str, list[str]] = {}
        for line in self.log(since):
            m = SESSION_RE.search(line)
            if m:
                out.setdefault(m.group("session"), []).append(line)
        return out

    def session_of_peer(self, peer_port: int, since: int = 0) -> str | None:
        """The session tag of the connection whose client side is 127.0.0.1:peer_port."""
        for line in self.log(since):
            m = SESSION_RE.search(line)
            if m and m.group("peer").rsplit(":", 1)[-1] == str(peer_port):
                return m.group("session")
        return None

    def wait_for_peer_log(self, peer_port: int, pattern: str, since: int = 0,
                          timeout: float = LOG_WAIT_S) -> re.Match:
        """A line of the session whose client port is peer_port, matching pattern."""
        rx = re.compile(r"\[[\w-]+#\d+ [^\]\s]*:" + str(peer_port) + r"\].*" + pattern)
        return self.wait_for_log(rx, since, timeout)

    # lifecycle
    def alive(self) -> bool:
        return self.proc.poll() is None

    def assert_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"{self.name} died unexpectedly (exit {self.proc.returncode})\n"
                                 + self._tail())

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait (bounded), SIGKILL if needed. Raises if the process had died before,
        needed SIGKILL, or exited non-zero on SIGTERM."""
        if self._stopped:
            return self.returncode  # type: ignore[return-value]
        self._stopped = True
        if self in TlslabProcess._live:
            TlslabProcess._live.remove(self)
        died_early = self.proc.poll() is not None
        problem = None
        if died_early:
            problem = f"died unexpectedly before stop (exit {self.proc.returncode})"
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_quietly()
                problem = f"did not exit within {timeout} s of SIGTERM (killed)"
            else:
                if self.proc.returncode != 0:
                    problem = f"exited {self.proc.returncode} on SIGTERM (expected 0)"
        self.returncode = self.proc.returncode
        for t in self._threads:
            t.join(2.0)
        if problem:
            raise AssertionError(f"{self.name}: {problem}\nargv: {shlex.join(self.argv)}\n"
                                 + self._tail())
        return self.returncode

    def _kill_quietly(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass

    def _tail(self, n: int = 40) -> str:
        out = self._stdout[-10:]
        err = self._stderr[-n:]
        return ("stdout (tail):\n  " + "\n  ".join(out) + "\nstderr (tail):\n  "
                + "\n  ".join(err))

    def __repr__(self) -> str:
        return f"<TlslabProcess {self.name} {self.address} pid {self.proc.pid}>"


@atexit.register
def _kill_leftovers() -> None:
    """Safety net (e.g. an interrupted run): no tlslab started here outlives the interpreter."""
    for p in list(TlslabProcess._live):
        p._kill_quietly()


@contextlib.contextmanager
def running_tlslab(binary, subcommand: str, *args: str, **kw):
    """Context manager around TlslabProcess.start(...) / .stop() (stop checks the exit)."""
    p = TlslabProcess.start(binary, subcommand, *args, **kw)
    try:
        yield p
    finally:
        p.stop()


# ---- probes ---------------------------------------------------------------------------------

class ProbeResult(dict):
    """The probe's JSON object, plus how it was obtained (for assertion messages)."""

    argv: list[str]
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (f"probe: {shlex.join(self.argv)}\nresult: {json.dumps(dict(self))}\n"
                f"stderr: {self.stderr.strip()[-2000:]}")


_hosts_lock = threading.Lock()
_hosts_files: dict[tuple[str, ...], Path] = {}
_hosts_checked: str | None = None  # "" once the override is known to work, else the reason


def private_hosts_file(names) -> Path:
    """A temporary hosts file (one per set of names, removed at exit): the machine's
    /etc/hosts, then "127.0.0.1 NAME" for each name."""
    key = tuple(sorted(set(names)))
    with _hosts_lock:
        path = _hosts_files.get(key)
        if path is None:
            import tempfile
            fd, name = tempfile.mkstemp(prefix="tlslab-hosts-", suffix=".txt")
            path = Path(name)
            try:
                base = Path("/etc/hosts").read_text(errors="replace")
            except OSError:
                base = "127.0.0.1 localhost\n"
            with os.fdopen(fd, "w") as f:
                f.write(base if base.endswith("\n") else base + "\n")
                f.write("# tlslab test names (a private mount of this process tree only)\n")
                for n in key:
                    f.write(f"127.0.0.1 {n}\n")
            os.chmod(path, 0o644)
            atexit.register(lambda p=path: p.unlink(missing_ok=True))
            _hosts_files[key] = path
        return path


def private_hosts_argv(names, argv: list[str]) -> list[str]:
    """argv run in a mount namespace of its own whose /etc/hosts maps `names` to 127.0.0.1
    (glibc's getaddrinfo, Go's resolver, Java, Node, libpq, ODBC all read it); the host's own
    /etc/hosts is untouched (unshare makes the namespace's mounts private). Fails the test
    with the reason when the machine cannot do it (not root, no unshare, mounts refused)."""
    hosts = private_hosts_file(names)
    _check_private_hosts()
    return ["unshare", "-m", "/bin/sh", "-c",
            'mount --bind "$1" /etc/hosts && shift && exec "$@"', "sh", str(hosts), *argv]


def _check_private_hosts() -> None:
    """Once per process: does the override work here? (pytest.fail with the reason if not)."""
    global _hosts_checked
    with _hosts_lock:
        if _hosts_checked is None:
            name = "tlslab-hosts-check.invalid"
            path = None
            try:
                import tempfile
                fd, tmp = tempfile.mkstemp(prefix="tlslab-hosts-check-")
                path = Path(tmp)
                with os.fdopen(fd, "w") as f:
                    f.write(f"127.0.0.1 {name}\n")
                os.chmod(path, 0o644)
                cp = subprocess.run(
                    ["unshare", "-m", "/bin/sh", "-c",
                     'mount --bind "$1" /etc/hosts && exec getent hosts "$2"', "sh", tmp,
                     name], capture_output=True, text=True, timeout=20)
                ok = cp.returncode == 0 and "127.0.0.1" in cp.stdout
                _hosts_checked = "" if ok else (
                    f"`unshare -m` + `mount --bind FILE /etc/hosts` failed (exit "
                    f"{cp.returncode}, euid {os.geteuid()}): {cp.stderr.strip() or cp.stdout}")
            except (OSError, subprocess.TimeoutExpired) as e:
                _hosts_checked = f"`unshare -m` could not be run: {e}"
            finally:
                if path is not None:
                    path.unlink(missing_ok=True)
        reason = _hosts_checked
    if reason:
        pytest.fail("a probe needs a private /etc/hosts (a scenario dials a name that must "
                    "resolve to 127.0.0.1) and this machine cannot give it one: " + reason
                    + " -- run the tests as root with util-linux unshare")


def run_probe(driver: str, *, host: str, port: int, timeout: float = 10,
              bound: float | None = None, resolve=(), **options) -> ProbeResult:
    """Runs probes/<driver>/probe --host H --port P --timeout T [--opt value ...].
    options: names with '_' for '-' (ca=..., encrypt=..., trust_server_certificate=True);
    True -> bare flag, None/False -> omitted. Bounded by timeout + PROBE_GRACE_S.
    resolve: names the probe must resolve to 127.0.0.1 (a private /etc/hosts)."""
    exe = DRIVERS_DIR / driver / "probe"
    assert exe.is_file(), f"no probe at {exe}"
    argv = [str(exe), "--host", host, "--port", str(port), "--timeout", str(timeout)]
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    if resolve:
        argv = private_hosts_argv(resolve, argv)
    bound = bound if bound is not None else timeout + PROBE_GRACE_S
    t0 = time.monotonic()
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            errors="replace", timeout=bound)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"probe {driver} did not finish within {bound} s: {shlex.join(argv)}\n"
                    f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}")
    lines = [ln for ln in cp.stdout.splitlines() if ln.strip()]
    context = f"probe: {shlex.join(argv)}\nexit: {cp.returncode}\nstdout: {cp.stdout!r}\n" \
              f"stderr: {cp.stderr.strip()[-2000:]}"
    assert cp.returncode == 0, "probe exit status is not 0\n" + context
    assert len(lines) == 1, f"probe printed {len(lines)} non-empty stdout lines, want 1\n" + context
    try:
        obj = json.loads(lines[0])
    except json.JSONDecodeError as e:
        pytest.fail(f"probe stdout is not JSON ({e})\n" + context)
    assert isinstance(obj, dict), "probe JSON is not an object\n" + context
    missing = {"driver", "version", "connected", "error_code", "error", "value"} - obj.keys()
    assert not missing, f"probe JSON lacks {sorted(missing)}\n" + context
    assert obj["driver"] == driver, context
    r = ProbeResult(obj)
    r.argv, r.stderr, r.seconds = argv, cp.stderr, time.monotonic() - t0
    return r


# ---- the --events file ------------------------------------------------------------------------

def parse_iso_ms(text: str) -> float:
    """'2026-11-22T17:34:34.086Z' (the record's started/ended) -> POSIX seconds."""
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class EventLog:
    """Reader of a --events file (one JSON object per line, appended by tlslab). Only complete
    lines are parsed; each session record gets `started_ts`/`ended_ts` (POSIX seconds)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def records(self, event: str = "session") -> list[dict]:
        try:
            data = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in data.split("\n")[:-1]:  # the last piece is incomplete (or empty)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise AssertionError(f"{self.path}: a line is not JSON ({e}): {line[:300]!r}")
            if event and obj.get("event") != event:
                continue
            if "started" in obj:
                obj["started_ts"] = parse_iso_ms(obj["started"])
            if "ended" in obj:
                obj["ended_ts"] = parse_iso_ms(obj["ended"])
            out.append(obj)
        return out

    def wait_for(self, pred, bound: float = LOG_WAIT_S, count: int = 1,
                 what: str = "records") -> list[dict]:
        """At least `count` records satisfying pred, waiting (polling) at most `bound` s."""
        deadline = time.monotonic() + bound
        while True:
            hits = [r for r in self.records() if pred(r)]
            if len(hits) >= count:
                return hits
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{self.path}: {len(hits)} {what} within {bound} s, want {count}; "
                    f"last records:\n" + "\n".join(json.dumps(_public(r)) for r in
                                                  self.records()[-5:]))
            time.sleep(0.05)


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.endswith("_ts")}


# ---- ports ----------------------------------------------------------------------------------

def start_lab_on_free_ports(binary: Path | str, lab_args, *, tries: int = 3,
                            **start) -> "TlslabProcess":
    """`tlslab lab` on free ports: `lab_args()` is called for each try and returns the lab's
    arguments, choosing its port blocks then (a block was free when checked; another program
    may take a port before the lab binds it, so a "cannot listen" start is retried with new
    blocks, up to `tries` times). `start` goes to TlslabProcess.start."""
    last: AssertionError | None = None
    for _ in range(tries):
        try:
            return TlslabProcess.start(binary, "lab", *lab_args(),
                                       fail_pattern=r"cannot listen on", **start)
        except AssertionError as e:
            last = e
            if "address already in use" not in str(e):
                raise
    assert last is not None
    raise last
