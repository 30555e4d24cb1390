"""A real PostgreSQL 15 server (Debian's) with TLS, for the PostgreSQL integration tests.

Theory of operation: `PgServer.start(cert, key)` makes a private temporary directory with a
data directory in it, writes a pg_hba.conf and a settings file, and runs `postgres` in the
foreground as a child process, listening on 127.0.0.1 only, on a port
picked at run time, with ssl=on and copies of the given certificate and key. It installs
nothing: the binaries are Debian's (package postgresql-15, /usr/lib/postgresql/15/bin;
scripts/setup installs it). The data directory is a copy of a template made once per process
(and per password storage, MD5 or SCRAM): `initdb`, then the role `lab` (password
`lab-password`) and the database `lab` created in single-user mode, so no client program is
needed; that takes about 3 s, a copy a few milliseconds. Templates are removed at exit.

PostgreSQL refuses to run as root, so when this process is root every server program runs as
the `postgres` system user that the Debian package creates (subprocess `user=`/`group=`), and
the temporary directory and the certificate copies belong to that user (key mode 0600, which
the server insists on). Not root: everything runs as the current user.

Readiness is the server's own word: line 8 of postmaster.pid reads "ready" (what `pg_ctl -w`
waits for), and then a TLS handshake on the port must show the certificate we gave it. Every
wait is bounded; a server that does not come up raises PgServerError with its log.

`restart_with_certificate(cert, key)` copies the new files over the old ones and sends the
postmaster SIGHUP (what `pg_ctl reload` does; PostgreSQL >= 10 reloads its SSL files on it),
then waits until a handshake shows the new certificate: a server that refused the new files
(it logs why and keeps the old ones) raises PgServerError with its log.

`stop()` asks for a fast shutdown (SIGINT), then an immediate one (SIGQUIT), then SIGKILL, each
bounded, all sent to the one process this helper started; the directory is removed.

    with PgServer.start(cert, key, ssl_only=True, auth="md5") as pg:
        probe("psql", host="127.0.0.1", port=pg.port, ...)
"""

from __future__ import annotations

import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from server_util import (TemplateCache, as_user, chown, copy_tree, free_port, pem_to_der,
                         served_certificate, stop_process, system_user_ids, write_owned)

BINDIR = Path("/usr/lib/postgresql/15/bin")
USER, PASSWORD, DATABASE = "lab", "lab-password", "lab"
AUTH_METHODS = ("scram-sha-256", "md5", "password", "trust")

READY_TIMEOUT_S = 30.0   # postgres start -> "ready" and serving our certificate
RELOAD_TIMEOUT_S = 10.0  # SIGHUP -> the new certificate is served
STOP_TIMEOUT_S = 10.0    # each shutdown signal -> exit
STEP_TIMEOUT_S = 60.0    # initdb, single-user setup


class PgServerError(RuntimeError):
    """The server could not be set up, did not come up, or refused a certificate."""


def _ssl_request(s: socket.socket) -> bool:
    """PostgreSQL's way to ask for TLS: an SSLRequest, answered "S" (yes) or "N"."""
    s.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
    return s.recv(1) == b"S"


def _served_certificate(port: int, timeout: float) -> bytes | None:
    """DER of the certificate the server at 127.0.0.1:port presents after an SSLRequest
    (no verification: we only look), or None when it answers no TLS or fails."""
    return served_certificate(port, timeout, _ssl_request)


_templates = TemplateCache()


def _template(bindir: Path, encryption: str, run_as: tuple[int, int] | None) -> Path:
    """The template data directory for this password storage, made on first use."""
    def make(root: Path) -> None:
        builder = PgServer(root, 0, run_as)
        builder._chown(root)
        builder._initdb(bindir, encryption)

    root = _templates.get((str(bindir), encryption, run_as), "tlslab-pg-template-",
                          lambda r: (r / "data" / "PG_VERSION").is_file(), make)
    return root / "data"


class PgServer:
    """One running PostgreSQL server in its own temporary directory (see the module doc)."""

    def __init__(self, root: Path, port: int, run_as: tuple[int, int] | None):
        self.root = root                  # temporary directory (removed by stop())
        self.data = root / "data"         # PGDATA
        self.log_path = root / "postgres.log"
        self.host = "127.0.0.1"
        self.port = port
        self.user, self.password, self.database = USER, PASSWORD, DATABASE
        self._run_as = run_as             # (uid, gid) of `postgres` when we are root, else None
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    # ---- start -------------------------------------------------------------------------

    @classmethod
    def start(cls, cert: Path | str, key: Path | str, *, chain: Path | str | None = None,
              ssl_only: bool = False, auth: str = "scram-sha-256",
              settings: dict[str, str] | None = None, bindir: Path | str = BINDIR,
              ready_timeout: float = READY_TIMEOUT_S) -> "PgServer":
        """Starts a server with ssl=on serving `cert` (PEM; with `chain`, a PEM file of
        intermediates appended to it, so the server sends them too) and `key`.

        ssl_only: pg_hba has only `hostssl` lines (plaintext logins are refused, no entry
        matches them); otherwise `host` (TLS or not). auth: the pg_hba method for user lab,
        one of scram-sha-256 (default), md5 (the password is then stored as MD5, so the
        server really asks for MD5), password (cleartext), trust. settings: extra
        postgresql.conf lines (name -> value, written as name = 'value')."""
        if auth not in AUTH_METHODS:
            raise ValueError(f"auth must be one of {AUTH_METHODS}, not {auth!r}")
        bindir = Path(bindir)
        for prog in ("initdb", "postgres"):
            if not (bindir / prog).is_file():
                raise PgServerError(f"{bindir / prog} not found: install the Debian package "
                                    "postgresql-15 (scripts/setup does)")
        try:
            run_as = system_user_ids("postgres")
        except KeyError:
            raise PgServerError("running as root and there is no `postgres` user (the Debian "
                                "package postgresql-15 creates it)") from None

        # Under the system temp dir (world-traversable), not under pytest's tmp_path, which
        # is private to root and so closed to the postgres user.
        root = Path(tempfile.mkdtemp(prefix="tlslab-pg-"))
        server = cls(root, 0, run_as)
        try:
            server._chown(root)
            encryption = "md5" if auth == "md5" else "scram-sha-256"
            server._copy_data(_template(bindir, encryption, run_as))
            server._install_tls_files(Path(cert), Path(key), Path(chain) if chain else None)
            server._write_hba(ssl_only, auth)
            # A port picked now could be taken by the time postgres binds it: a few tries.
            for attempt in range(5):
                server.port = free_port()
                server._write_conf(settings or {})
                if server._run(bindir, ready_timeout):
                    break
                if "could not bind" not in server.log_text() or attempt == 4:
                    raise PgServerError("postgres did not start:\n" + server.log_tail())
            server._wait_served(pem_to_der(server.data / "server.crt"), ready_timeout,
                                "the server does not serve its certificate")
        except BaseException:
            server.stop()
            raise
        return server

    def _chown(self, path: Path) -> None:
        chown(path, self._run_as)

    def _run_tool(self, argv: list[str], stdin: str | None = None) -> str:
        try:
            cp = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                timeout=STEP_TIMEOUT_S, cwd=self.root, **as_user(self._run_as))
        except subprocess.TimeoutExpired:
            raise PgServerError(f"{argv[0]} did not finish within {STEP_TIMEOUT_S} s") from None
        if cp.returncode != 0:
            raise PgServerError(f"{' '.join(argv)} failed ({cp.returncode}):\n{cp.stdout}{cp.stderr}")
        return cp.stdout + cp.stderr

    def _copy_data(self, template: Path) -> None:
        """PGDATA as a copy of the template (cp -a keeps owners and modes)."""
        failure = copy_tree(template, self.data, STEP_TIMEOUT_S)
        if failure:
            raise PgServerError(failure)

    def _install_tls_files(self, cert: Path, key: Path, chain: Path | None) -> None:
        """Copies cert (+ chain) and key into PGDATA, owned by the server's user, key 0600."""
        self._write_owned(self.data / "server.crt", cert.read_bytes()
                          + (b"\n" + chain.read_bytes() if chain else b""), 0o644)
        self._write_owned(self.data / "server.key", key.read_bytes(), 0o600)

    def _write_owned(self, path: Path, data: bytes, mode: int) -> None:
        write_owned(path, data, mode, self._run_as)  # atomic: a reload never sees half a file

    def _initdb(self, bindir: Path, encryption: str) -> None:
        """A new cluster in self.data with role lab and database lab (the template)."""
        pwfile = self.root / "pwfile"
        self._write_owned(pwfile, b"bootstrap-only\n", 0o600)
        self._run_tool([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                        f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                        "--locale=C", "--no-sync", "--wal-segsize=1"])
        pwfile.unlink()
        # Role and database, in single-user mode: one statement per line on stdin. With
        # md5 in pg_hba the password must be stored as MD5 for the server to really ask
        # for MD5 (a SCRAM-stored password turns md5 into SCRAM).
        sql = (f"SET password_encryption = '{encryption}'\n"
               f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'\n"
               f"CREATE DATABASE {DATABASE} OWNER {USER}\n")
        out = self._run_tool([str(bindir / "postgres"), "--single", "-D", str(self.data),
                              "-c", "log_min_messages=warning", "template1"], stdin=sql)
        if "ERROR:" in out or "FATAL:" in out:
            raise PgServerError("single-user setup failed:\n" + out)

    def _write_hba(self, ssl_only: bool, auth: str) -> None:
        kind = "hostssl" if ssl_only else "host"
        text = ("# Written by tests/integration/pg_server.py. TCP from 127.0.0.1 only, no\n"
                "# Unix socket (unix_socket_directories is empty).\n"
                f"{kind:<8} all  all  127.0.0.1/32  {auth}\n")
        self._write_owned(self.data / "pg_hba.conf", text.encode(), 0o600)

    def _write_conf(self, settings: dict[str, str]) -> None:
        base = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "ssl": "on",
            "ssl_cert_file": "server.crt",   # relative to PGDATA
            "ssl_key_file": "server.key",
            "max_connections": "20",
            "shared_buffers": "16MB",
            "fsync": "off",
            "log_connections": "on",
            "log_disconnections": "on",
            "log_line_prefix": "%m [%p] %r ",
        }
        base.update(settings)
        lines = ["# Written by tests/integration/pg_server.py (included by postgresql.conf)"]
        for name, value in base.items():
            escaped = str(value).replace("'", "''")
            lines.append(f"{name} = '{escaped}'")
        self._write_owned(self.data / "tlslab.conf", ("\n".join(lines) + "\n").encode(), 0o600)
        conf = self.data / "postgresql.conf"
        text = conf.read_text()
        if "include = 'tlslab.conf'" not in text:
            self._write_owned(conf, (text + "\ninclude = 'tlslab.conf'\n").encode(), 0o600)

    def _run(self, bindir: Path, timeout: float) -> bool:
        """Starts postgres in the foreground; True once postmaster.pid says ready, False if it
        exited first (the log says why). Raises if it is neither within the bound."""
        if self._log_file:
            self._log_file.close()
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(bindir / "postgres"), "-D", str(self.data)],
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.root,
                                     start_new_session=True, **as_user(self._run_as))
        deadline = time.monotonic() + timeout
        pidfile = self.data / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                lines = pidfile.read_text().splitlines()
            except OSError:
                lines = []
            # postmaster.pid: pid, datadir, start time, port, socket dir, listen addr,
            # shmem key, status ("starting", "ready", ...)
            if len(lines) >= 8 and lines[7].strip() == "ready" and lines[0].strip() == str(self.proc.pid):
                return True
            time.sleep(0.05)
        raise PgServerError(f"postgres not ready within {timeout} s:\n" + self.log_tail())

    def _wait_served(self, der: bytes, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise PgServerError("postgres exited:\n" + self.log_tail())
            if _served_certificate(self.port, timeout=2.0) == der:
                return
            time.sleep(0.1)
        raise PgServerError(f"{what} within {timeout} s:\n" + self.log_tail())

    # ---- use -----------------------------------------------------------------------------

    def restart_with_certificate(self, cert: Path | str, key: Path | str, *,
                                 chain: Path | str | None = None,
                                 timeout: float = RELOAD_TIMEOUT_S) -> None:
        """Serves another certificate from now on: new files in place of the old ones, then
        SIGHUP (pg_ctl reload); returns once a handshake shows the new certificate. Existing
        sessions keep theirs."""
        if self.proc is None or self.proc.poll() is not None:
            raise PgServerError("the server is not running")
        cert, key = Path(cert), Path(key)
        self._write_owned(self.data / "server.crt", cert.read_bytes()
                          + (b"\n" + Path(chain).read_bytes() if chain else b""), 0o644)
        self._write_owned(self.data / "server.key", key.read_bytes(), 0o600)
        self.proc.send_signal(signal.SIGHUP)
        self._wait_served(pem_to_der(cert), timeout,
                          "the server did not take the new certificate (it keeps the old one "
                          "when it cannot load the new files)")

    def served_certificate(self) -> bytes | None:
        """DER of the certificate served right now (None: no TLS)."""
        return _served_certificate(self.port, timeout=5.0)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # ---- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Fast shutdown, then immediate, then SIGKILL (each bounded); removes the directory."""
        try:
            stop_process(self.proc, (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL), STOP_TIMEOUT_S)
        finally:
            if self._log_file:
                self._log_file.close()
                self._log_file = None
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        pid = self.proc.pid if self.proc else None
        return f"PgServer(127.0.0.1:{self.port}, pid {pid}, {self.root})"
