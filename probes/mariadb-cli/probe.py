"""tlslab MySQL probe: the `mariadb` command-line client of Debian 12 (package mariadb-client,
MariaDB 10.11, on Connector/C 3.3 from libmariadb3; system OpenSSL 3.0).

Contract: the "MySQL probes" section of ../README.md. Python standard library only (myprobe
from ../mysql-python, standard library too), run with the system python3.

One run is one process:

    mariadb --no-defaults --protocol=TCP -h HOST -P PORT -u USER -D DATABASE --batch
            --skip-column-names --force --connect-timeout=S [TLS options]

with the password in MYSQL_PWD (never in argv). --no-defaults: no /etc/mysql/*.cnf and no
~/.my.cnf is read, so the client's built-in defaults apply (Debian's 50-client.cnf sets no TLS
option anyway). --protocol=TCP: "localhost" would otherwise mean the Unix socket. stdin
carries `status` (the client's own report: "SSL: Cipher in use is ..." or "Not in use",
mysql_get_ssl_cipher on the client side), the query, and SHOW SESSION STATUS LIKE
'Ssl_version' (the client does not print its TLS version; this is the server's view).

--ssl-mode maps to the client's own options:

    DISABLED         --skip-ssl
    PREFERRED        --ssl (its default: TLS when offered, plaintext otherwise)
    REQUIRED         cannot be expressed: 10.11 refuses a server without TLS only with
                     --ssl-verify-server-cert: UNSUPPORTED_MODE, not run
    VERIFY_CA        --ssl --ssl-ca=FILE (the chain is verified, SSL_VERIFY_PEER, only when a
                     CA file is given; no name check; still plaintext if the server offers no
                     TLS). Without --ca: UNSUPPORTED_MODE
    VERIFY_IDENTITY  --ssl --ssl-verify-server-cert (+ --ssl-ca=FILE)
    (not passed)     nothing (+ --ssl-ca=FILE with --ca)

A failed connection: the client prints "ERROR 2026 (HY000): TLS/SSL error: ..." and exits 1;
error_code is the number, sql_state the SQLSTATE. The whole run is bounded by --timeout + 3 s,
then the client is killed.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mysql-python"))
import myprobe  # noqa: E402

DRIVER = "mariadb-cli"
CLIENT = "/usr/bin/mariadb"
GRACE_S = 3.0
ERROR_LINE = re.compile(r"^ERROR (\d+) \(([0-9A-Z]{5})\)(?: at line \d+)?: (.*)$", re.M)
SSL_LINE = re.compile(r"^SSL:\s+(.*)$", re.M)


def client_version():
    try:
        out = subprocess.run([CLIENT, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Distrib ([^,]+),", out)
    return m.group(1) if m else out.strip() or None


def libmariadb_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libmariadb3"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip() or None


def tls_options(mode, ca):
    if mode == "DISABLED":
        return ["--skip-ssl"]
    if mode == "REQUIRED":
        return None
    if mode == "VERIFY_CA" and not ca:
        return None
    opts = []
    if mode in ("PREFERRED", "VERIFY_CA", "VERIFY_IDENTITY"):
        opts.append("--ssl")
    if mode == "VERIFY_IDENTITY":
        opts.append("--ssl-verify-server-cert")
    if ca:
        opts.append(f"--ssl-ca={ca}")
    return opts


def main(argv):
    a = myprobe.parse_args(DRIVER, argv)
    result = myprobe.base_result(DRIVER, a.ssl_mode)
    cv = client_version()
    result["version"] = cv
    result["libmariadb_version"] = libmariadb_version()
    if not os.access(CLIENT, os.X_OK):
        result.update(error_code="NOT_INSTALLED", error=f"{CLIENT} missing: run ./install")
        myprobe.emit(result)
        return
    opts = tls_options(a.ssl_mode, a.ca)
    if opts is None:
        result["ssl_settings"] = {}
        why = ("the mariadb 10.11 client has no REQUIRED: it refuses a server without TLS only "
               "with --ssl-verify-server-cert" if a.ssl_mode == "REQUIRED" else
               "the mariadb 10.11 client verifies the chain only against a CA file it is "
               "given (--ssl-ca): VERIFY_CA needs --ca")
        myprobe.unsupported(result, why)
        myprobe.emit(result)
        return
    result["ssl_settings"] = {"options": opts}
    home = myprobe.private_environment()
    t = max(1, int(round(a.timeout)))
    argv_cli = [CLIENT, "--no-defaults", "--protocol=TCP", "-h", a.host, "-P", str(a.port),
                "-u", a.user, "-D", a.database, "--batch", "--skip-column-names", "--force",
                f"--connect-timeout={t}", *opts]
    script = "status\n" + (a.query.rstrip().rstrip(";") + ";\n" if a.query else "") \
        + myprobe.STATUS_VERSION + ";\n"
    env = dict(os.environ, MYSQL_PWD=a.password, HOME=home, LC_ALL="C.UTF-8")
    try:
        cp = subprocess.run(argv_cli, input=script, capture_output=True, text=True,
                            errors="replace", env=env, timeout=a.timeout + GRACE_S)
    except subprocess.TimeoutExpired as e:
        result.update(error_code="PROBE_TIMEOUT",
                      error=f"probe: mariadb killed: no end within {a.timeout + GRACE_S:g} s")
        if e.stderr:
            result["stderr"] = e.stderr if isinstance(e.stderr, str) else e.stderr.decode(errors="replace")
        myprobe.emit(result)
        return
    out, err = cp.stdout, cp.stderr.strip()
    m_ssl = SSL_LINE.search(out)
    if m_ssl is None:
        # No status block: the connection failed (or the client died before it).
        m = ERROR_LINE.search(err)
        if m:
            result.update(error_code=int(m.group(1)), sql_state=m.group(2), error=m.group(3))
        else:
            result.update(error_code=f"EXIT_{cp.returncode}",
                          error=err or f"mariadb exited {cp.returncode} without output")
        result["exit_status"] = cp.returncode
        myprobe.emit(result)
        return

    result["connected"] = True
    ssl_text = m_ssl.group(1).strip()
    result["ssl"] = ssl_text.startswith("Cipher in use is")
    result["ssl_source"] = "driver"
    if result["ssl"]:
        result["cipher"] = ssl_text[len("Cipher in use is"):].strip() or None
    m = re.search(r"^Server version:\s+(.*)$", out, re.M)
    if m:
        result["server_version"] = m.group(1).strip()
    # The rows after the status block (which ends with a line of dashes and an empty line).
    lines = out.splitlines()
    dash = max(i for i, ln in enumerate(lines) if re.fullmatch(r"-{5,}", ln))
    rows = [ln for ln in lines[dash + 1:] if ln != ""]
    version_rows = [ln for ln in rows if ln.startswith("Ssl_version\t")]
    if version_rows:
        result["tls_version"] = version_rows[-1].split("\t", 1)[1] or None
        result["from_server_status"] = ["tls_version"]
        rows = rows[:rows.index(version_rows[-1])]
    if a.query:
        m = ERROR_LINE.search(err)
        if m:
            result.update(error_code=int(m.group(1)), sql_state=m.group(2), error=m.group(3))
        elif rows:
            first = rows[0].split("\t", 1)[0]
            result["value"] = (None if first == "NULL" else
                               int(first) if re.fullmatch(r"-?\d{1,15}", first) else first)
    if cp.returncode != 0:
        result["exit_status"] = cp.returncode
    myprobe.emit(result)


if __name__ == "__main__":
    myprobe.main_guard(DRIVER, main, sys.argv[1:])
