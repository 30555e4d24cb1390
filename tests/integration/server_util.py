"""What the real-server helpers share (pg_server.py: PostgreSQL 15, mariadb_server.py: MariaDB
10.11): both run a Debian server binary as a child process in a private temporary directory,
from a copy of a template data directory, as the server's own system user when this process is
root, and know the server is up when a TLS handshake shows the certificate they gave it.

Here, free of any one server's protocol: the served certificate after a protocol-specific TLS
request (the caller says how its protocol asks for TLS), PEM to DER, a free port, the template
cache (made once per process and key, removed at exit), the system user to run as, file writes
owned by that user, the template copy, and the bounded stop of a process by a row of signals.
"""

from __future__ import annotations

import atexit
import os
import pwd
import random
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable


def served_certificate(port: int, timeout: float,
                       request_tls: Callable[[socket.socket], bool]) -> bytes | None:
    """DER of the certificate the server at 127.0.0.1:port presents (no verification: we only
    look), or None when it offers no TLS or fails. request_tls does the protocol's own step
    before the handshake on the connected socket and says whether the server agreed to TLS."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            if not request_tls(s):
                return None
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(s, server_hostname=None) as t:
                return t.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def pem_to_der(path: Path) -> bytes:
    """DER of the first certificate in a PEM file."""
    text = path.read_text()
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return ssl.PEM_cert_to_DER_cert(text[start:end])


def _ephemeral_low() -> int:
    """The first port the kernel hands to outgoing connections (ip_local_port_range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(count: int, host: str = "127.0.0.1", attempts: int = 200,
                    low: int = 20000, high: int | None = None) -> int:
    """A base port N such that N..N+count-1 can all be bound on host right now (they are
    released again; a race with another program remains possible, callers retry).

    The block lies below the kernel's ephemeral range: under load the suites' own outgoing
    connections take ephemeral ports by the thousand, and a listener cannot bind a port that
    a connected socket holds, so a block picked there is lost far more often."""
    high = high if high is not None else min(_ephemeral_low(), 60000)
    if high - low < count + 1:
        low, high = 1024, max(high, 1024 + count + 1)
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(low, high - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError(f"no block of {count} free ports on {host} after {attempts} tries")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, below the ephemeral range (see free_port_block;
    it may still be taken before the caller binds it)."""
    return free_port_block(1, host)


class TemplateCache:
    """Template directories made once per process and key, removed at exit."""

    def __init__(self) -> None:
        self._roots: dict[object, Path] = {}
        self._lock = threading.Lock()
        atexit.register(self.remove_all)

    def get(self, key: object, prefix: str, ready: Callable[[Path], bool],
            make: Callable[[Path], None]) -> Path:
        """The template root for key: the one made before if ready(root) says it is still
        whole, else a new temporary directory (name prefix) that make(root) fills; a root
        that make fails on is removed."""
        with self._lock:
            root = self._roots.get(key)
            if root is not None and ready(root):
                return root
            root = Path(tempfile.mkdtemp(prefix=prefix))
            try:
                make(root)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
            self._roots[key] = root
            return root

    def remove_all(self) -> None:
        for root in self._roots.values():
            shutil.rmtree(root, ignore_errors=True)
        self._roots.clear()


def system_user_ids(name: str) -> tuple[int, int] | None:
    """(uid, gid) of the system user `name` when this process is root (a server that refuses
    root runs as it), None when not root. KeyError when root and there is no such user."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(name)
    return (pw.pw_uid, pw.pw_gid)


def as_user(run_as: tuple[int, int] | None) -> dict:
    """subprocess keyword arguments that run a program as run_as (nothing when None)."""
    if run_as:
        return {"user": run_as[0], "group": run_as[1], "extra_groups": []}
    return {}


def chown(path: Path, run_as: tuple[int, int] | None) -> None:
    if run_as:
        os.chown(path, *run_as)


def write_owned(path: Path, data: bytes, mode: int, run_as: tuple[int, int] | None) -> None:
    """Writes path with mode, owned by run_as, atomically: a server reloading its files never
    sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    chown(tmp, run_as)
    os.replace(tmp, path)


def copy_tree(template: Path, dest: Path, timeout: float) -> str | None:
    """dest as a copy of template (cp -a keeps owners and modes); None, or why it failed."""
    try:
        cp = subprocess.run(["cp", "-a", str(template), str(dest)], capture_output=True,
                            text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"copying {template} took over {timeout} s"
    if cp.returncode != 0:
        return f"cp -a {template} {dest} failed: {cp.stderr}"
    return None


def stop_process(proc: subprocess.Popen | None, signals: tuple[int, ...], timeout: float) -> None:
    """Sends the signals one after the other, each followed by a wait of at most timeout, until
    the process has exited (the last signal should be SIGKILL)."""
    if proc is None or proc.poll() is not None:
        return
    for sig in signals:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
