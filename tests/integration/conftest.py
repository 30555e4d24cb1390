"""Fixtures for the tlslab integration suites (the real binary, real drivers).

Reusable by every suite here (serve now, proxy next):

  tlslab_bin            path of the binary: $TLSLAB_BIN, else <repo>/build/tlslab
  state_dir / lab_ca    a per-session --state-dir with the lab CA exported to ca.pem
  foreign_ca            a different, unrelated CA (openssl req) for negative controls
  tlslab                function-scoped factory: tlslab("serve", "--encryption", "off") ->
                        TlslabProcess (harness.py), stopped and checked at teardown
  probe                 harness.run_probe as a fixture

Every live TlslabProcess is watched: a test during which one of them dies fails (at teardown),
and a failing test gets the log lines each process wrote during it appended to its report.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import TlslabProcess, default_bin, run_probe


# ---- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tlslab_bin() -> Path:
    b = default_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.fail(f"tlslab binary not found or not executable: {b} "
                    f"(build it, or set TLSLAB_BIN)", pytrace=False)
    return b


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory, tlslab_bin) -> Path:
    """A fresh --state-dir for this session; the lab CA is created and exported to ca.pem."""
    d = tmp_path_factory.mktemp("tlslab-state")
    ca = d / "ca.pem"
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(d), "ca", "--export", str(ca)],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"tlslab ca --export failed ({cp.returncode}): {cp.stderr}"
    assert ca.is_file() and b"BEGIN CERTIFICATE" in ca.read_bytes(), "no PEM in ca.pem"
    return d


@pytest.fixture(scope="session")
def lab_ca(state_dir) -> Path:
    return state_dir / "ca.pem"


@pytest.fixture(scope="session")
def foreign_ca(tmp_path_factory) -> Path:
    """A self-signed CA unrelated to the lab CA (for 'wrong CA must fail' controls)."""
    d = tmp_path_factory.mktemp("foreign-ca")
    cert = d / "foreign-ca.pem"
    cp = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-keyout", str(d / "foreign-ca.key"), "-out", str(cert),
         "-subj", "/CN=Not the tlslab CA/O=elsewhere",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl req failed: {cp.stderr}"
    return cert


@pytest.fixture(scope="session")
def localhost_certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and key for localhost, for a real server whose TLS is beside
    the point (its SQL answers are what a test compares)."""
    d = tmp_path_factory.mktemp("localhost-certificate")
    cp = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"openssl req failed: {cp.stderr}"
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def tlslab(tlslab_bin, state_dir):
    """Factory: tlslab("serve", "--encryption", "force", ...) -> TlslabProcess, stopped (and
    checked) at teardown. Keyword arguments go to TlslabProcess.start."""
    started: list[TlslabProcess] = []

    def start(subcommand: str, *args: str, **kw) -> TlslabProcess:
        kw.setdefault("state_dir", state_dir)
        p = TlslabProcess.start(tlslab_bin, subcommand, *args, **kw)
        started.append(p)
        return p

    yield start
    errors = []
    for p in started:
        try:
            p.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def probe():
    """The run_probe helper as a fixture: probe("go", host=..., port=..., encrypt="true")."""
    return run_probe


# ---- watch: no tlslab process may die during a test; failing tests get the logs -------------

_MARKS = pytest.StashKey[dict]()


@pytest.fixture(autouse=True)
def _tlslab_watch(request):
    request.node.stash[_MARKS] = {p: p.mark() for p in TlslabProcess._live}
    yield
    dead = [p for p in TlslabProcess._live if not p.alive()]
    if dead:
        pytest.fail("tlslab process died during this test: "
                    + "; ".join(f"{p!r} exit {p.proc.returncode}\n{p._tail()}" for p in dead),
                    pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    marks = item.stash.get(_MARKS, {})
    for p in TlslabProcess._live:
        lines = p.log(marks.get(p, 0))
        if lines:
            rep.sections.append((f"tlslab log during the test: {p.name} {p.address}",
                                 "\n".join(lines[-150:])))
