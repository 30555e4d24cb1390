"""Shared helpers for the inspection, admin, downgrade and demo suites (README-issue4.md).

Built on harness.py (TlslabProcess, run_probe, EventLog), which it only imports:

  VALIDATE_ENCRYPT       each driver's "encrypt, validate" --encrypt value
  start_module_tlslab    TlslabProcess.start for module-scoped processes (stopped by the caller)
  serve_process          a `tlslab serve --encryption MODE` (listen 127.0.0.1:0)
  admin_address(p)       the "admin API on http://HOST:PORT" a proxy/lab printed (bounded wait)
  Admin                  a tiny JSON client of the admin API (urllib; status + parsed body)
  Sessions               an --events file: the session/message records a probe run produced
  exposed_lines(p, ...)  the "EXPOSED:" warnings of a process log, by session id
  Capture                `tshark -i lo -f "tcp port P" -w FILE -a duration:N`, ready-waited,
                         stopped with SIGINT (bounded)
  tshark_rows(...)       `tshark -r FILE ... -T fields` as a list of dicts
  tls_tds_uat(...)       the tshark option that makes TLS on a port hand its plaintext to TDS
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness import EventLog, TlslabProcess, run_probe

PASSWORD = "lab-password"
PASSWORD_LENGTH = len(PASSWORD)  # 12

# The probe's --encrypt value that means "encrypt, and validate the certificate" per driver.
VALIDATE_ENCRYPT = {"tedious": "true", "odbc": "yes", "jdbc": "true", "go": "true",
                    "tsql": "require"}
STRICT_DRIVERS = ("tedious", "odbc", "jdbc", "go")  # FreeTDS 1.3 has no TDS 8.0

RECORD_WAIT_S = 8.0      # probe exit -> its session record(s) in --events
QUIET_S = 0.3            # no new record for this long = the probe's sessions are all in
ADMIN_WAIT_S = 10.0      # process start -> "admin API on" line
TSHARK_TIMEOUT_S = 60.0  # one tshark -r run
CAPTURE_READY_S = 10.0   # tshark -i lo start -> "Capture started"

ADMIN_RE = re.compile(r"admin API on http://(\S+)")
TAG_RE = re.compile(r"\[(?P<name>[\w.-]+)#(?P<id>\d+) (?P<peer>[^\]\s]*)\]")


# ---- processes -----------------------------------------------------------------------------

def start_module_tlslab(tlslab_bin, state_dir, subcommand: str, *args: str, **kw) -> TlslabProcess:
    """TlslabProcess.start with the session's --state-dir; the caller stops it (finalizer)."""
    kw.setdefault("state_dir", state_dir)
    kw.setdefault("ready_timeout", 20.0)  # the lab prepares a certificate per scenario
    return TlslabProcess.start(tlslab_bin, subcommand, *args, **kw)


def serve_process(tlslab_bin, state_dir, encryption: str) -> TlslabProcess:
    return start_module_tlslab(tlslab_bin, state_dir, "serve", "--encryption", encryption,
                               "--no-examples", name=f"serve-{encryption}")


def admin_address(proc: TlslabProcess, bound: float = ADMIN_WAIT_S) -> str:
    """HOST:PORT of the admin API, from the line the proxy (stderr) or lab (stdout) printed."""
    deadline = time.monotonic() + bound
    while True:
        for line in (*proc.stdout_lines, *proc.log()):
            m = ADMIN_RE.search(line)
            if m:
                return m.group(1)
        if time.monotonic() >= deadline:
            raise AssertionError(f"{proc.name}: no 'admin API on http://...' line within {bound} s"
                                 f"\n{proc._tail()}")
        time.sleep(0.05)


def stop_all(*procs: TlslabProcess) -> None:
    errors = []
    for p in procs:
        try:
            p.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


# ---- the admin API -------------------------------------------------------------------------

class Admin:
    """JSON over HTTP to a lab/proxy admin API. Every call returns (status, parsed body) and
    keeps the last response's headers in .headers. Bounded by `timeout`."""

    def __init__(self, address: str, token: str | None = None, timeout: float = 10.0):
        self.base = f"http://{address}"
        self.address = address
        self.token = token
        self.timeout = timeout
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None,
                token: str | None | bool = True) -> tuple[int, object]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        tok = self.token if token is True else (token or None)
        if tok:
            req.add_header("Authorization", f"Bearer {tok}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                status, text, headers = res.status, res.read().decode(), dict(res.headers)
        except urllib.error.HTTPError as e:
            status, text, headers = e.code, e.read().decode(), dict(e.headers)
        self.headers = headers
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise AssertionError(f"{method} {path}: the answer ({status}) is not JSON: {text!r}")
        return status, parsed

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, body=None, want: int = 200):
        status, parsed = self.request(method, path, body)
        assert status == want, f"{method} {path} {body!r}: {status} {parsed!r}, want {want}"
        return parsed

    def set_scenario(self, listener: str, scenario: str, reset_existing: bool | None = None):
        body = {"scenario": scenario}
        if reset_existing is not None:
            body["reset_existing"] = reset_existing
        return self.ok("PUT", f"/listeners/{listener}/scenario", body)


# ---- records -------------------------------------------------------------------------------

class Sessions:
    """The --events file of one proxy/lab that nothing else connects to while a test runs:
    the records a probe run produced are the ones written after it started."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.log = EventLog(path)

    def all(self, event: str | None = "session") -> list[dict]:
        return self.log.records(event) if event else self.log.records("")

    def count(self) -> int:
        return len(self.all())

    def messages(self, session_id: int | None = None) -> list[dict]:
        ms = self.all("message")
        return [m for m in ms if session_id is None or m["session"] == session_id]

    def wait_new(self, before: int, pred=lambda r: True, want: int = 1,
                 bound: float = RECORD_WAIT_S) -> list[dict]:
        """Records after the first `before` ones, once at least `want` of them satisfy pred and
        the file has had no new record for QUIET_S (a driver may open more than one session)."""
        deadline = time.monotonic() + bound
        seen, quiet_since = -1, time.monotonic()
        while True:
            new = self.all()[before:]
            if len(new) != seen:
                seen, quiet_since = len(new), time.monotonic()
            hits = [r for r in new if pred(r)]
            if len(hits) >= want and time.monotonic() - quiet_since >= QUIET_S:
                return new
            if time.monotonic() >= deadline:
                if len(hits) >= want:
                    return new
                raise AssertionError(
                    f"{self.path}: {len(hits)} new matching session records within {bound} s, "
                    f"want {want}; new records: " + json.dumps(_brief(new), indent=1))
            time.sleep(0.05)

    def probe(self, driver: str, *, host: str = "localhost", port: int,
              want: int = 1, pred=lambda r: True, **options) -> tuple[dict, list[dict]]:
        """Runs a probe and returns (its JSON, the session records it produced)."""
        before = self.count()
        result = run_probe(driver, host=host, port=port, **options)
        return result, self.wait_new(before, pred, want)


def _brief(records: list[dict]) -> list[dict]:
    keys = ("id", "client", "scenario", "protocol", "outcome", "detail")
    return [{k: r.get(k) for k in keys} for r in records]


def one_login(records: list[dict], context: str = "") -> dict:
    logins = [r for r in records if r.get("login")]
    assert len(logins) == 1, (f"want exactly one session with a decoded login, got "
                              f"{len(logins)}: {_brief(records)}\n{context}")
    return logins[0]


# ---- logs ----------------------------------------------------------------------------------

def session_lines(proc: TlslabProcess, session_id: int, since: int = 0) -> list[str]:
    """The log lines tagged with session #id ("[proxy#12 127.0.0.1:5000]", "[valid#3 ...]")."""
    out = []
    for line in proc.log(since):
        m = TAG_RE.search(line)
        if m and int(m.group("id")) == session_id:
            out.append(line)
    return out


def exposed_lines(proc: TlslabProcess, since: int = 0) -> dict[int, list[str]]:
    """{session id: [its "EXPOSED:" lines]} from the process log."""
    out: dict[int, list[str]] = {}
    for line in proc.log(since):
        if "EXPOSED:" not in line:
            continue
        m = TAG_RE.search(line)
        out.setdefault(int(m.group("id")) if m else -1, []).append(line)
    return out


def wait_exposed(proc: TlslabProcess, session_id: int, since: int = 0,
                 bound: float = 5.0) -> list[str]:
    deadline = time.monotonic() + bound
    while True:
        lines = exposed_lines(proc, since).get(session_id, [])
        if lines or time.monotonic() >= deadline:
            return lines
        time.sleep(0.05)


# ---- tshark --------------------------------------------------------------------------------

def need_tshark() -> str:
    exe = shutil.which("tshark")
    if not exe:
        pytest.skip("tshark is not installed (apt-get install tshark)")
    return exe


def tls_tds_uat(port: int, dummy_key: Path, ip: str = "127.0.0.1") -> str:
    """`-o` value that associates TLS on ip:port with the TDS dissector. Wireshark 4.0 has no
    "Decode As" from TLS to TDS (tds is not in the tls.port table); the RSA keys list can name
    a dissector for a port, and needs some RSA key file to accept the entry. The key is never
    used for decryption (the keylog does that)."""
    return f'uat:ssl_keys:"{ip}","{port}","tds","{dummy_key}",""'


def dummy_rsa_key(path: Path) -> Path:
    if not path.exists():
        cp = subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"],
                            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, f"openssl genrsa failed: {cp.stderr}"
    return path


def tshark_run(args: list[str]) -> subprocess.CompletedProcess:
    exe = need_tshark()
    argv = [exe, *args]
    cp = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                        timeout=TSHARK_TIMEOUT_S)
    assert cp.returncode == 0, (f"tshark failed ({cp.returncode}): {' '.join(argv)}\n"
                                f"{cp.stderr[-2000:]}")
    return cp


def tshark_rows(pcap: Path, fields: list[str], display_filter: str | None = None,
                options: list[str] = ()) -> list[dict]:
    """One dict per displayed frame: {field: value-string ('' when absent)}; multiple
    occurrences are joined with '|'."""
    args = ["-r", str(pcap), *options]
    if display_filter:
        args += ["-Y", display_filter]
    args += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        args += ["-e", f]
    cp = tshark_run(args)
    rows = []
    for line in cp.stdout.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(fields) - len(parts))
        rows.append(dict(zip(fields, parts)))
    return rows


def tshark_summary(pcap: Path, options: list[str] = (), display_filter: str | None = None) -> str:
    args = ["-r", str(pcap), *options]
    if display_filter:
        args += ["-Y", display_filter]
    return tshark_run(args).stdout


class Capture:
    """tshark -i lo -f "tcp port PORT" -w FILE -a duration:N, as a context manager: returns
    once tshark says "Capture started" (bounded), and on exit lets the last packets arrive,
    then stops tshark with SIGINT (SIGKILL after a bound)."""

    def __init__(self, port: int, path: Path, duration: int = 60):
        self.port, self.path, self.duration = port, Path(path), duration
        self.stderr: list[str] = []
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Capture":
        exe = need_tshark()
        self.proc = subprocess.Popen(
            [exe, "-i", "lo", "-f", f"tcp port {self.port}", "-w", str(self.path),
             "-a", f"duration:{self.duration}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, errors="replace", start_new_session=True)
        cond = threading.Condition()

        def pump():
            for line in self.proc.stderr:
                with cond:
                    self.stderr.append(line.rstrip("\n"))
                    cond.notify_all()
            with cond:
                cond.notify_all()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + CAPTURE_READY_S
        with cond:
            while not any("Capture started" in ln for ln in self.stderr):
                if self.proc.poll() is not None:
                    cond.wait(0.2)
                    text = "\n".join(self.stderr)
                    if "permission" in text.lower() or "don't have permission" in text:
                        pytest.skip(f"cannot capture on lo here: {text[-500:]}")
                    raise AssertionError(f"tshark exited ({self.proc.returncode}) before "
                                         f"capturing:\n{text[-2000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stop()
                    raise AssertionError(f"tshark: no 'Capture started' within "
                                         f"{CAPTURE_READY_S} s:\n" + "\n".join(self.stderr))
                cond.wait(min(left, 0.1))
        return self

    def _stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_pump", None):
            self._pump.join(2)

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)  # the FIN/ACKs of the last connection
        self._stop()
        if exc[0] is None:
            assert self.path.is_file() and self.path.stat().st_size > 0, \
                f"tshark wrote no capture file; stderr:\n" + "\n".join(self.stderr)


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def unhex(field: str) -> list[bytes]:
    """A tshark bytes field ('|'-joined occurrences, optionally ':'-separated) -> bytes."""
    out = []
    for part in field.split("|"):
        part = part.replace(":", "").strip()
        if part:
            out.append(bytes.fromhex(part))
    return out


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")


def dparams(*cases, ids=None):
    """pytest.param per case, marked with its driver (the first element, or the case itself)
    so that `-m go` / `-m "not jdbc"` select them."""
    out = []
    for i, case in enumerate(cases):
        values = case if isinstance(case, tuple) else (case,)
        drivers = [v for v in values if isinstance(v, str) and v in VALIDATE_ENCRYPT]
        marks = [getattr(pytest.mark, d) for d in drivers[:1]]
        out.append(pytest.param(*values, marks=marks, id=ids[i] if ids else
                                "-".join(str(v) for v in values if isinstance(v, str))))
    return out
