#!/usr/bin/env python3
"""tlslab driver probe for Microsoft's `sqlcmd` (go-sqlcmd, built by ./install into bin/sqlcmd).

Contract: probes/README.md.  Python standard library only; the pinned client is the Go
module in go.mod/go.sum.  The probe RUNS THE REAL sqlcmd BINARY the way a user does; nothing of
go-sqlcmd is linked in here.

How one run works:
  * `sqlcmd -S tcp:HOST,PORT -U USER -l T -t T -h -1 -W -s <US> -y 0 -x -b -i script.sql`
    with the password in SQLCMDPASSWORD (sqlcmd's own variable; it never shows in argv);
  * the contract's options in sqlcmd's words: --encrypt MODE -> `-N MODE`,
    --trust-server-certificate -> `-C`, --host-name-in-certificate NAME -> `-F NAME`;
  * --ca FILE: sqlcmd has no CA option (its `-J` pins one exact server certificate, it does not
    name a CA, and it has no connection-string option), and it validates through Go's crypto/x509,
    which on Linux takes its roots from SSL_CERT_FILE / SSL_CERT_DIR. So --ca sets
    SSL_CERT_FILE=FILE and SSL_CERT_DIR=<an empty temp dir>: exactly that CA is trusted (without
    SSL_CERT_DIR, Go would add /etc/ssl/certs). Without --ca both are removed from the
    environment, so sqlcmd uses the system trust;
  * HOME is a temp dir (no ~/.sqlcmd/sqlconfig can fill in a server, user or password) and every
    ambient SQLCMD* variable is dropped;
  * the script: before each part, sqlcmd's own `:OUT FILE` and `:ERROR FILE` commands send that
    part's results and errors to files of their own, so each step's output and error is
    attributed without sending anything extra to the server. These commands run on the client
    after login, so the first file existing is the login marker. A failed login prints sqlcmd's
    error on stdout (twice: go-sqlcmd writes it in ConnectDb and again in run());
  * `-h -1` no headers, `-W` trailing spaces trimmed, `-s \\x1f` a column separator no value
    contains, `-y 0` variable-length values not truncated (@@VERSION), `-x` the query's text is
    not scanned for $(variables), `-b` an error ends sqlcmd with a non-zero exit;
  * --session: `:ON ERROR ignore` first (so the `error` step does not end the script), then one
    part per step (see SESSION below). sqlcmd has no parameter binding, so `param` is skipped.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

DRIVER = "sqlcmd"
HERE = os.path.dirname(os.path.abspath(__file__))
SQLCMD = os.path.join(HERE, "bin", "sqlcmd")
COL_SEP = "\x1f"
GRACE_S = 5  # over the bound sqlcmd has from -l/-t, so sqlcmd reports its own timeout first

SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")
# (step, SQL text sent as one batch) in the contract's order; None = skipped (reason below)
SESSION = [
    ("begin", "BEGIN TRAN"),
    ("trancount", "SELECT @@TRANCOUNT"),
    ("system", SYSTEM_SQL),
    ("param", None),
    ("commit", "COMMIT"),
    ("trancount_after", "SELECT @@TRANCOUNT"),
    ("error", "SELECT * FROM tlslab_no_such_table"),
    ("again", "SELECT 1"),
]
PARAM_SKIPPED = ("sqlcmd has no parameter binding: every batch goes to the server as SQL text "
                 "(a SQL batch, never an RPC); its scripting variables (:setvar, -v, $(name)) "
                 "are text substitution done by sqlcmd before sending, not parameters")

MSG_RE = re.compile(r"^Msg (\d+), Level (\d+), State (\d+), Server .*$", re.M)
AFFECTED_RE = re.compile(r"^\(\d+ rows? affected\)$")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="probe", description="Microsoft sqlcmd (go-sqlcmd) probe "
                                "(tlslab driver contract, probes/README.md)")
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca", help="PEM CA file: trusted through SSL_CERT_FILE (sqlcmd has no CA option)")
    p.add_argument("--encrypt", help="sqlcmd -N: mandatory|m|optional|o|strict|s|disable|"
                   "true|false|yes|no|1|0|t|f")
    p.add_argument("--trust-server-certificate", action="store_true", help="sqlcmd -C")
    p.add_argument("--host-name-in-certificate", help="sqlcmd -F NAME")
    p.add_argument("--user", default="lab")
    p.add_argument("--password", default="lab-password")
    p.add_argument("--query", default="SELECT 1")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="sqlcmd -l (login) and -t (each batch), whole seconds, rounded up")
    p.add_argument("--session", action="store_true",
                   help="after --query, run the session script (../README.md)")
    a = p.parse_args(argv)  # argparse itself exits 2 on a usage error
    if not 0 < a.port < 65536:
        p.error("--port must be 1..65535")
    if not a.timeout > 0:
        p.error("--timeout must be > 0")
    # MODE goes to -N verbatim, so sqlcmd itself judges it; only block what could be a flag
    if a.encrypt is not None and not re.fullmatch(r"[A-Za-z0-9]+", a.encrypt):
        p.error("--encrypt must be one word (sqlcmd -N: mandatory|optional|strict|disable|true|false|...)")
    if not a.host.strip() or a.host.startswith("-") or "," in a.host:
        p.error("--host must be a host name or an IP literal")
    if a.host_name_in_certificate is not None and a.host_name_in_certificate.startswith("-"):
        p.error("--host-name-in-certificate must not start with '-'")
    # the query travels as lines of a sqlcmd script: a line that is only GO would end the batch
    for line in a.query.splitlines():
        if re.fullmatch(r"\s*go(\s+\d+)?\s*", line, re.I):
            p.error("--query must not contain a line that is only the batch terminator GO")
    return a


def sqlcmd_version(env):
    """`sqlcmd --version` prints a banner and 'Version: v1.10.0'."""
    try:
        out = subprocess.run([SQLCMD, "--version"], capture_output=True, text=True, timeout=10,
                             env=env, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^Version:\s*(\S+)", out, re.M)
    return m.group(1) if m else None


def mssqldb_version():
    """The go-mssqldb release linked into bin/sqlcmd, from the Go build info in the binary."""
    try:
        with open(SQLCMD, "rb") as f:
            data = f.read()
    except OSError:
        return None
    m = re.search(rb"\ndep\tgithub\.com/microsoft/go-mssqldb\t(v[0-9A-Za-z.+-]+)", data)
    return m.group(1).decode() if m else None


def server_arg(host, port):
    # sqlcmd's -S is [tcp:]server[,port]; an IPv6 literal needs brackets (sqlcmd pastes
    # "server:port" into a URL)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tcp:{host},{port}"


def clean_env(tmp, a):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SQLCMD") and k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    env.update({"HOME": home, "SQLCMDPASSWORD": a.password, "LC_ALL": "C.UTF-8"})
    if a.ca:
        certdir = os.path.join(tmp, "no-certs")
        os.mkdir(certdir)
        env["SSL_CERT_FILE"] = os.path.abspath(a.ca)
        env["SSL_CERT_DIR"] = certdir
    return env


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def to_json_value(text):
    # sqlcmd prints every value as text: integers back as JSON numbers, NULL as null
    if text == "NULL":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def result_body(out):
    """The rows of a part's first result set as sqlcmd printed them (rows end with a blank line
    and "(N rows affected)"; a value may hold line breaks, e.g. @@VERSION); None if no rows."""
    text = out.replace("\r\n", "\n")
    if text == "" or AFFECTED_RE.match(text.split("\n", 1)[0]):
        return None
    end = re.search(r"\n\n\(\d+ rows? affected\)", text)
    return text[:end.start()] if end else text.rstrip("\n")


def first_value(body):
    """First column of the first row: up to the first column separator or line break."""
    return re.split(r"[\x1f\n]", body, maxsplit=1)[0]


def error_fields(err_text):
    """(error_code, error) from what sqlcmd printed as errors."""
    text = err_text.strip()
    if not text:
        return None, None
    m = MSG_RE.search(text)
    if m:
        return int(m.group(1)), text
    return short_code(text), text


def short_code(text):
    """sqlcmd prints no number for client-side failures: a short code from its text."""
    t = text.lower()
    if "does not support encryption" in t:
        return "ENCRYPT_NOT_SUPPORTED"
    if "login error" in t:
        return "LOGIN_ERROR"       # e.g. 18456: go-mssqldb's "login error: Login failed ..."
    if "tls handshake failed" in t or "x509:" in t or "certificate" in t:
        return "TLS_HANDSHAKE"
    if "timeout" in t or "deadline" in t or "i/o timeout" in t:
        return "TIMEOUT"
    if "connection refused" in t or "unable to open tcp" in t or "no such host" in t:
        return "CONNECT"
    if "connection reset" in t or "eof" in t or "broken pipe" in t or "bad connection" in t \
            or "connection is already closed" in t:
        return "CONNECTION_LOST"
    if t.startswith("sqlcmd: error:") or "sqlcmd:" in t:
        return "SQLCMD_ERROR"
    return "ERROR"


def dedupe_lines(text):
    """go-sqlcmd prints a connection failure twice; keep each line once, in order."""
    return "\n".join(dict.fromkeys(ln for ln in text.splitlines() if ln.strip()))


def build_script(tmp, a):
    """The sqlcmd script: one part per step, each with its own :OUT/:ERROR files."""
    parts = [("query", a.query)]
    if a.session:
        parts += [(name, sql) for name, sql in SESSION if sql is not None]
    lines = [":ON ERROR ignore"] if a.session else []
    files = {}
    for i, (name, sql) in enumerate(parts):
        out = os.path.join(tmp, f"{i}-{name}.out")
        err = os.path.join(tmp, f"{i}-{name}.err")
        files[name] = (out, err)
        lines += [f":OUT {out}", f":ERROR {err}", sql, "GO"]
    lines += [":OUT stdout", ":ERROR stdout", ""]
    path = os.path.join(tmp, "script.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path, files


def part_result(files, name, killed_msg):
    """(ran, value, body, error_code, error) of one part of the script. A part ran when its
    :OUT file exists; it finished when the next part's file exists (or sqlcmd was not killed)."""
    names = list(files)
    out_path, err_path = files[name]
    out, err = read(out_path), read(err_path)
    if out is None:
        return False, None, None, None, None
    body = result_body(out)
    value = to_json_value(first_value(body)) if body is not None else None
    code, error = error_fields(err or "")
    i = names.index(name)
    finished = i + 1 < len(names) and os.path.exists(files[names[i + 1]][0])
    if killed_msg and not finished and error is None:
        code, error = "TIMEOUT", killed_msg  # sqlcmd was killed while this part ran
    return True, value, body, code, error


def run_bounded(cmd, env, tmp, files, step_bound):
    """Runs sqlcmd with stdout/stderr to files in tmp. Each phase (the login, then each part of
    the script) gets step_bound seconds: a part starts when its :OUT file appears. sqlcmd's own
    -l bounds only the TCP connect and -t each batch, so a server that accepts and then says
    nothing would hold it forever. Returns (exit code or None, killed message or None)."""
    names = list(files)
    parts = [files[n][0] for n in names]
    with open(os.path.join(tmp, "stdout"), "wb") as so, open(os.path.join(tmp, "stderr"), "wb") as se:
        p = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL, env=env,
                             cwd=tmp, start_new_session=True)
        seen = 0  # parts started so far
        deadline = time.monotonic() + step_bound
        while True:
            try:
                return p.wait(0.05), None
            except subprocess.TimeoutExpired:
                pass
            while seen < len(parts) and os.path.exists(parts[seen]):
                seen += 1
                deadline = time.monotonic() + step_bound
            if time.monotonic() >= deadline:
                p.kill()
                p.wait()
                what = "log in" if seen == 0 else f"finish its '{names[seen - 1]}' batch"
                return None, (f"probe: sqlcmd did not {what} within {step_bound} s and was killed "
                              f"(sqlcmd's -l bounds only the TCP connect, -t only a running batch)")


def run(a):
    result = {"driver": DRIVER, "version": None, "connected": False,
              "error_code": None, "error": None, "value": None}
    if not (os.path.isfile(SQLCMD) and os.access(SQLCMD, os.X_OK)):
        result.update(error_code="NOT_INSTALLED", error=f"{SQLCMD} missing: run {HERE}/install")
        if a.session:
            result["session"] = not_run_steps("NOT_INSTALLED", "sqlcmd is not installed")
        return result

    timeout_s = max(1, math.ceil(a.timeout))
    with tempfile.TemporaryDirectory(prefix="tlslab-sqlcmd-") as tmp:
        env = clean_env(tmp, a)
        result["version"] = sqlcmd_version(env)
        lib = mssqldb_version()
        if lib:
            result["go_mssqldb"] = lib
        script, files = build_script(tmp, a)
        cmd = [SQLCMD, "-S", server_arg(a.host, a.port), "-U", a.user,
               "-l", str(timeout_s), "-t", str(timeout_s),
               "-h", "-1", "-W", "-s", COL_SEP, "-y", "0", "-x", "-b", "-i", script]
        if a.encrypt is not None:
            cmd += ["-N", a.encrypt]
        if a.trust_server_certificate:
            cmd.append("-C")
        if a.host_name_in_certificate is not None:
            cmd += ["-F", a.host_name_in_certificate]
        result["argv"] = [c if c != COL_SEP else "\\x1f" for c in cmd[1:]]
        t0 = time.monotonic()
        rc, killed_msg = run_bounded(cmd, env, tmp, files, timeout_s + GRACE_S)
        result["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
        result["exit_code"] = rc
        stdout = read(os.path.join(tmp, "stdout")) or ""
        stderr = read(os.path.join(tmp, "stderr")) or ""

        ran, value, _row, code, error = part_result(files, "query", killed_msg)
        result["connected"] = ran
        if ran:
            result.update(value=value, error_code=code, error=error)
        else:
            # login failed: sqlcmd printed why on stdout (and usage errors on stderr)
            text = dedupe_lines(stdout + "\n" + stderr)
            if killed_msg:
                code, error = "TIMEOUT", (text + "\n" if text else "") + killed_msg
            else:
                code, error = error_fields(text)
            result.update(error_code=code or "ERROR",
                          error=error or f"sqlcmd exited {rc} without a message")
        if stderr.strip() and ran:
            result["stderr"] = stderr.strip()

        if a.session:
            result["session"] = session_steps(files, ran, result, killed_msg)
    return result


def not_run_steps(code, why):
    steps = []
    for name, sql in SESSION:
        if sql is None:
            steps.append({"step": name, "ok": None, "skipped": PARAM_SKIPPED, "value": None,
                          "error_code": None, "error": None})
        else:
            steps.append({"step": name, "ok": False, "value": None, "error_code": code,
                          "error": why})
    return steps


def session_steps(files, connected, result, killed_msg):
    if not connected:
        return not_run_steps(result["error_code"], "not run: no login (" + (result["error"] or "") + ")")
    steps = []
    for name, sql in SESSION:
        if sql is None:
            steps.append({"step": name, "ok": None, "skipped": PARAM_SKIPPED, "value": None,
                          "error_code": None, "error": None})
            continue
        ran, value, body, code, error = part_result(files, name, killed_msg)
        if not ran:
            steps.append({"step": name, "ok": False, "value": None,
                          "error_code": "TIMEOUT" if killed_msg else "NOT_RUN",
                          "error": killed_msg or "not run: sqlcmd ended before this step",
                          "sql": sql})
            continue
        step = {"step": name, "ok": error is None, "value": value if error is None else None,
                "error_code": code, "error": error, "sql": sql}
        if name == "system" and error is None and body is not None:
            step["row"] = body.split(COL_SEP)  # one row: every column, as sqlcmd printed it
        steps.append(step)
    return steps


def main(argv):
    a = parse_args(argv)
    try:
        result = run(a)
    except Exception as e:  # never leave the caller without its JSON line
        result = {"driver": DRIVER, "version": None, "connected": False,
                  "error_code": "PROBE_ERROR", "error": f"{type(e).__name__}: {e}", "value": None}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
