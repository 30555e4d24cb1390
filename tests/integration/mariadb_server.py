"""A real MariaDB server (Debian's) with TLS, for the MySQL/MariaDB integration tests.

Which MariaDB: Debian 12 (bookworm) ships MariaDB 10.11 (package mariadb-server,
10.11.19-0+deb12u1 when this was written; scripts/setup installs it). 10.11 has no
zero-configuration SSL: the server never binds a hash of its certificate into the OK packet
(that is MariaDB 11.4+), so the clients that implement that check (npm `mariadb` 3.4+, MariaDB
Connector/J 3.5, Connector/C 3.4) fall back to their ordinary behaviour against it.

Theory of operation: `MariaDbServer.start(cert, key)` makes a private temporary directory, copies
a template data directory into it, and runs `mariadbd` in the foreground as a child process,
with `--no-defaults` (no /etc/mysql/*.cnf is read: everything is on its command line), on
127.0.0.1 only, on a port picked at run time, with copies of the given certificate (plus an
optional chain, appended: the server sends what is in the file) and key. It installs nothing:
the binaries are Debian's (/usr/sbin/mariadbd, /usr/bin/mariadb-install-db, /usr/bin/mariadb).

The template is made once per process with `mariadb-install-db` (about 1 s), then
`mariadbd --bootstrap` reads the setup SQL on stdin (FLUSH PRIVILEGES first: bootstrap runs
without grant tables, and ACL statements need them loaded):

* database `lab`;
* `lab`@`%` / `lab-password` with mysql_native_password;
* `lab_ed25519`@`%` / `lab-password` with ed25519 (the auth_ed25519 plugin, loaded with
  --plugin-load-add at every start: no INSTALL SONAME needed);
* `root`@`localhost` with a password (ADMIN_PASSWORD), used by this helper only, over the
  Unix socket in the private directory (FLUSH SSL, SET GLOBAL); the other root accounts
  mariadb-install-db makes (root@127.0.0.1, ::1, <hostname>, passwordless) are removed.

A copy of the template (about 22 MB) takes a few tens of milliseconds. Templates are removed at
exit.

mariadbd refuses to run as root without --user=root; when this process is root, every server
program runs as the `mysql` system user that the Debian package creates (subprocess
`user=`/`group=`), and the private directory, the data and the certificate copies belong to it
(the server must create its socket, pid file and log there). Not root: everything runs as the
current user.

Readiness: the log says "ready for connections", and then a TLS handshake after an SSLRequest
on the port shows the certificate we gave it. Every wait is bounded; a server that does not
come up raises MariaDbServerError with the tail of its error log.

Options: `require_secure_transport=True` (the server refuses logins over plaintext TCP:
MariaDB's error 3159 ER_SECURE_TRANSPORT_REQUIRED), `extra_args` (more mariadbd options).

`restart_with_certificate(cert, key)` writes the new files over the old ones and sends
`FLUSH SSL` (MariaDB 10.4+ reloads its TLS files on it), then waits until a handshake shows the
new certificate. `stop()`: SIGTERM (clean shutdown), then SIGKILL, each bounded, sent to the
one process this helper started; the directory is removed.

    with MariaDbServer.start(cert, key) as db:
        probe("mariadb-cli", host="localhost", port=db.port, ...)
"""

from __future__ import annotations

import os
import pwd
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

MARIADBD = Path("/usr/sbin/mariadbd")
INSTALL_DB = Path("/usr/bin/mariadb-install-db")
CLIENT = Path("/usr/bin/mariadb")
USER, PASSWORD, DATABASE = "lab", "lab-password", "lab"
ED25519_USER = "lab_ed25519"
ADMIN_PASSWORD = "tlslab-admin"  # root@localhost: this helper's own logins, over the Unix socket

READY_TIMEOUT_S = 30.0   # mariadbd start -> ready and serving our certificate
RELOAD_TIMEOUT_S = 10.0  # FLUSH SSL -> the new certificate is served
STOP_TIMEOUT_S = 15.0    # each shutdown signal -> exit
STEP_TIMEOUT_S = 60.0    # install-db, bootstrap, admin statements

# Common server options (template build and every start). Small InnoDB files and buffers: a
# test server, not a database.
_COMMON = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M",
           "--plugin-load-add=auth_ed25519"]

_SETUP_SQL = f"""FLUSH PRIVILEGES;
CREATE DATABASE {DATABASE};
CREATE USER '{USER}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{PASSWORD}');
CREATE USER '{ED25519_USER}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('{PASSWORD}');
GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{USER}'@'%';
GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{ED25519_USER}'@'%';
ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('{ADMIN_PASSWORD}');
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
"""

CLIENT_SSL = 0x00000800
CLIENT_PROTOCOL_41 = 0x00000200


class MariaDbServerError(RuntimeError):
    """The server could not be set up, did not come up, or refused a certificate."""


def _read_packet(s: socket.socket) -> tuple[int, bytes]:
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            raise OSError("connection closed")
        head += chunk
    length = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            raise OSError("connection closed")
        body += chunk
    return head[3], body


def greeting_capabilities(body: bytes) -> int | None:
    """The capability flags of a HandshakeV10 packet body (None if it is not one)."""
    if not body or body[0] != 10:
        return None
    end = body.find(b"\0", 1)
    if end < 0:
        return None
    pos = end + 1 + 4 + 8 + 1  # connection id, auth-plugin-data part 1, filler
    if len(body) < pos + 2:
        return None
    caps = struct.unpack_from("<H", body, pos)[0]
    if len(body) >= pos + 2 + 1 + 2 + 2:  # charset, status, upper capability flags
        caps |= struct.unpack_from("<H", body, pos + 5)[0] << 16
    return caps


def _ssl_request(s: socket.socket) -> bool:
    """MySQL's way to ask for TLS: read the greeting; if it offers CLIENT_SSL, send an
    SSLRequest (capability flags, max packet size, character set, 23 zero bytes)."""
    seq, body = _read_packet(s)
    caps = greeting_capabilities(body)
    if caps is None or not caps & CLIENT_SSL:
        return False
    req = struct.pack("<IIB23x", CLIENT_SSL | CLIENT_PROTOCOL_41, 1 << 24, 45)
    s.sendall(struct.pack("<I", len(req))[:3] + bytes([(seq + 1) & 0xFF]) + req)
    return True


def _served_certificate(port: int, timeout: float) -> bytes | None:
    """DER of the certificate the server at 127.0.0.1:port presents after an SSLRequest
    (no verification: we only look), or None when it offers no TLS or fails."""
    return served_certificate(port, timeout, _ssl_request)


_templates = TemplateCache()


def _template(run_as: tuple[int, int] | None) -> Path:
    """The template data directory, made on first use (see the module doc)."""
    def make(root: Path) -> None:
        builder = MariaDbServer(root, 0, run_as)
        builder._chown(root)
        builder._install_db()

    root = _templates.get(run_as, "tlslab-mariadb-template-",
                          lambda r: (r / "data" / "mysql").is_dir(), make)
    return root / "data"


class MariaDbServer:
    """One running MariaDB server in its own temporary directory (see the module doc)."""

    def __init__(self, root: Path, port: int, run_as: tuple[int, int] | None):
        self.root = root                      # temporary directory (removed by stop())
        self.data = root / "data"             # --datadir
        self.log_path = root / "mariadbd.err"
        self.socket_path = root / "mariadbd.sock"
        self.cert_path = root / "server-cert.pem"
        self.key_path = root / "server-key.pem"
        self.host = "127.0.0.1"
        self.port = port
        self.user, self.password, self.database = USER, PASSWORD, DATABASE
        self.ed25519_user = ED25519_USER
        self._run_as = run_as                 # (uid, gid) of `mysql` when we are root
        self.proc: subprocess.Popen | None = None
        self._stdout = None
        self.require_secure_transport = False

    # ---- start -------------------------------------------------------------------------

    @classmethod
    def start(cls, cert: Path | str, key: Path | str, *, chain: Path | str | None = None,
              require_secure_transport: bool = False, extra_args: list[str] | None = None,
              ready_timeout: float = READY_TIMEOUT_S) -> "MariaDbServer":
        """Starts a server with TLS serving `cert` (PEM; with `chain`, a PEM file of
        intermediates appended to it, so the server sends them too) and `key`.

        require_secure_transport: --require-secure-transport=ON (plaintext TCP logins are
        refused with error 3159). extra_args: more mariadbd options, as they are."""
        for prog in (MARIADBD, INSTALL_DB, CLIENT):
            if not prog.is_file():
                raise MariaDbServerError(f"{prog} not found: install the Debian packages "
                                         "mariadb-server and mariadb-client (scripts/setup does)")
        try:
            run_as = system_user_ids("mysql")
        except KeyError:
            raise MariaDbServerError("running as root and there is no `mysql` user (the "
                                     "Debian package mariadb-server creates it)") from None

        # Under the system temp dir (world-traversable), not pytest's tmp_path (root only).
        root = Path(tempfile.mkdtemp(prefix="tlslab-mariadb-"))
        server = cls(root, 0, run_as)
        server.require_secure_transport = require_secure_transport
        try:
            server._chown(root)
            server._copy_data(_template(run_as))
            server._install_tls_files(Path(cert), Path(key), Path(chain) if chain else None)
            # A port picked now could be taken by the time mariadbd binds it: a few tries.
            for attempt in range(5):
                server.port = free_port()
                if server._run(extra_args or [], ready_timeout):
                    break
                if "Bind on TCP/IP port" not in server.log_text() or attempt == 4:
                    raise MariaDbServerError("mariadbd did not start:\n" + server.log_tail())
            server._wait_served(pem_to_der(server.cert_path), ready_timeout,
                                "the server does not serve its certificate")
        except BaseException:
            server.stop()
            raise
        return server

    def _chown(self, path: Path) -> None:
        chown(path, self._run_as)

    def _as_server_user(self) -> dict:
        return as_user(self._run_as)

    def _run_tool(self, argv: list[str], stdin: str | None = None,
                  as_server_user: bool = True) -> str:
        kw = self._as_server_user() if as_server_user else {}
        try:
            cp = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                timeout=STEP_TIMEOUT_S, cwd=self.root, **kw)
        except subprocess.TimeoutExpired:
            raise MariaDbServerError(f"{argv[0]} did not finish within {STEP_TIMEOUT_S} s") from None
        if cp.returncode != 0:
            raise MariaDbServerError(f"{' '.join(argv)} failed ({cp.returncode}):\n"
                                     f"{cp.stdout}{cp.stderr}"[-4000:])
        return cp.stdout + cp.stderr

    def _install_db(self) -> None:
        """A new data directory in self.data with the accounts of the module doc."""
        self.data.mkdir()
        self._chown(self.data)
        argv = [str(INSTALL_DB), "--no-defaults", f"--datadir={self.data}",
                "--auth-root-authentication-method=normal", "--skip-test-db",
                "--skip-name-resolve", *_COMMON]
        if self._run_as:
            # install-db itself runs as root and hands mariadbd --user=mysql.
            argv.insert(2, f"--user={pwd.getpwuid(self._run_as[0]).pw_name}")
            self._run_tool(argv, as_server_user=False)
        else:
            self._run_tool(argv)
        out = self._run_tool([str(MARIADBD), "--no-defaults", "--bootstrap",
                              f"--datadir={self.data}", "--log-warnings=0", *_COMMON],
                             stdin=_SETUP_SQL)
        if "ERROR" in out:
            raise MariaDbServerError("bootstrap setup failed:\n" + out[-4000:])

    def _copy_data(self, template: Path) -> None:
        """The data directory as a copy of the template (cp -a keeps owners and modes)."""
        failure = copy_tree(template, self.data, STEP_TIMEOUT_S)
        if failure:
            raise MariaDbServerError(failure)

    def _install_tls_files(self, cert: Path, key: Path, chain: Path | None) -> None:
        self._write_owned(self.cert_path, cert.read_bytes()
                          + (b"\n" + chain.read_bytes() if chain else b""), 0o644)
        self._write_owned(self.key_path, key.read_bytes(), 0o600)

    def _write_owned(self, path: Path, data: bytes, mode: int) -> None:
        write_owned(path, data, mode, self._run_as)  # atomic: FLUSH SSL never sees half a file

    def _argv(self, extra_args: list[str]) -> list[str]:
        return [str(MARIADBD), "--no-defaults", f"--datadir={self.data}",
                f"--port={self.port}", "--bind-address=127.0.0.1",
                f"--socket={self.socket_path}", f"--pid-file={self.root / 'mariadbd.pid'}",
                f"--log-error={self.log_path}", f"--ssl-cert={self.cert_path}",
                f"--ssl-key={self.key_path}", "--skip-name-resolve",
                # Clients that give up in the TLS handshake count as connect errors; the
                # default (100) would block 127.0.0.1 after a long test run.
                "--max-connect-errors=1000000", "--max-connections=50",
                "--skip-log-bin", "--performance-schema=OFF",
                f"--require-secure-transport={'ON' if self.require_secure_transport else 'OFF'}",
                *_COMMON, *extra_args]

    def _run(self, extra_args: list[str], timeout: float) -> bool:
        """Starts mariadbd in the foreground; True once its log says it is ready, False if
        it exited first (the log says why). Raises if it is neither within the bound."""
        if self._stdout:
            self._stdout.close()
        try:
            self.log_path.unlink()
        except FileNotFoundError:
            pass
        self._stdout = open(self.root / "mariadbd.out", "ab")
        self.proc = subprocess.Popen(self._argv(extra_args), stdin=subprocess.DEVNULL,
                                     stdout=self._stdout, stderr=subprocess.STDOUT,
                                     cwd=self.root, start_new_session=True,
                                     **self._as_server_user())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if "ready for connections" in self.log_text():
                return True
            time.sleep(0.05)
        raise MariaDbServerError(f"mariadbd not ready within {timeout} s:\n" + self.log_tail())

    def _wait_served(self, der: bytes, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise MariaDbServerError("mariadbd exited:\n" + self.log_tail())
            if _served_certificate(self.port, timeout=2.0) == der:
                return
            time.sleep(0.1)
        raise MariaDbServerError(f"{what} within {timeout} s:\n" + self.log_tail())

    # ---- use -----------------------------------------------------------------------------

    def admin_sql(self, sql: str) -> str:
        """Runs SQL as root over the private Unix socket (the mariadb client, batch mode);
        returns its output. Raises MariaDbServerError when the statement fails."""
        env = dict(os.environ, MYSQL_PWD=ADMIN_PASSWORD)
        try:
            cp = subprocess.run([str(CLIENT), "--no-defaults", f"--socket={self.socket_path}",
                                 "--protocol=SOCKET", "-u", "root", "--batch",
                                 "--skip-column-names", "-e", sql],
                                capture_output=True, text=True, timeout=STEP_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise MariaDbServerError(f"admin SQL did not finish within {STEP_TIMEOUT_S} s: "
                                     f"{sql}") from None
        if cp.returncode != 0:
            raise MariaDbServerError(f"admin SQL failed ({cp.returncode}): {sql}\n{cp.stderr}")
        return cp.stdout

    def restart_with_certificate(self, cert: Path | str, key: Path | str, *,
                                 chain: Path | str | None = None,
                                 timeout: float = RELOAD_TIMEOUT_S) -> None:
        """Serves another certificate from now on: new files in place of the old ones, then
        FLUSH SSL; returns once a handshake shows the new certificate. Existing sessions keep
        theirs. A server that cannot load the new files keeps the old ones and FLUSH SSL
        fails: MariaDbServerError with its words and the log."""
        if self.proc is None or self.proc.poll() is not None:
            raise MariaDbServerError("the server is not running")
        cert = Path(cert)
        self._install_tls_files(cert, Path(key), Path(chain) if chain else None)
        try:
            self.admin_sql("FLUSH SSL")
        except MariaDbServerError as e:
            raise MariaDbServerError(f"{e}\n{self.log_tail()}") from None
        self._wait_served(pem_to_der(cert), timeout,
                          "the server did not take the new certificate")

    def set_require_secure_transport(self, on: bool) -> None:
        """SET GLOBAL require_secure_transport (dynamic in MariaDB 10.5+)."""
        self.admin_sql(f"SET GLOBAL require_secure_transport = {'ON' if on else 'OFF'}")
        self.require_secure_transport = on

    def served_certificate(self) -> bytes | None:
        """DER of the certificate served right now (None: no TLS)."""
        return _served_certificate(self.port, timeout=5.0)

    def version(self) -> str:
        return self.admin_sql("SELECT VERSION()").strip()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_text()
        try:
            text += (self.root / "mariadbd.out").read_text(errors="replace")
        except OSError:
            pass
        return "\n".join(text.splitlines()[-lines:])

    # ---- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM (clean shutdown), then SIGKILL (each bounded); removes the directory."""
        try:
            stop_process(self.proc, (signal.SIGTERM, signal.SIGKILL), STOP_TIMEOUT_S)
        finally:
            if self._stdout:
                self._stdout.close()
                self._stdout = None
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "MariaDbServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        pid = self.proc.pid if self.proc else None
        return f"MariaDbServer(127.0.0.1:{self.port}, pid {pid}, {self.root})"
