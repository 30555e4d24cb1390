#!/usr/bin/env python3
"""tlslab driver probe for FreeTDS `tsql` (Debian package freetds-bin 1.3.17, GnuTLS build).

Contract: probes/README.md.  Python standard library only, so there is no lockfile:
the pinned driver is the Debian package, installed by ./install.

How one run works:
  * a throw-away freetds.conf with a single section is written to a temp dir
    (FreeTDS reads it through FREETDSCONF);
  * tsql is started with `-S <section> -U user -P -` (password read from the first stdin line,
    so it never shows in argv) and `-o qh` (quiet: no prompts, banners, row counts or the
    connect-counter on stderr; no column headers);
  * stdin then carries the tsql command `version` (printed by tsql itself, only once a login
    has succeeded: it is our login marker), the query, `go` and `exit`;
  * TDSDUMP and TDSDUMPCONFIG point to temp files: FreeTDS writes the real TLS failure reason
    (certificate status, host name mismatch, GnuTLS handshake error) and config errors only
    there, never to the user, so we copy those lines into `cause`.

--session (the session script of ../README.md) types the script into tsql as a user would, one
batch per step, each ended by `go` (see SESSION below): `BEGIN TRAN` and `COMMIT` are plain SQL
batches, and `param` is skipped (tsql has no parameter binding). To tell the steps apart without
sending anything extra to the server, two local tsql commands follow the login and every `go`:
`version` (prints "using TDS version N.N" on stdout, where the rows go) and `:r` of a file that
cannot exist (prints "Unable to open input file '...-N'" on stderr, where the messages go). Each
stream is cut at its own markers: before the 1st = the login, then the query, then one piece per
step; so rows and messages are attributed without relying on how the two streams interleave.
Messages are tsql's "Msg N (severity S, state T) from SERVER Line L:" (the server's) and
"Error N (severity S):" (FreeTDS' own); a step is ok when it has no server message of severity
> 10 and no FreeTDS error. Each phase (the login, the query, each step) is bounded by --timeout
+ 2 s from the stdout marker that starts it; the top-level fields are what they are without
--session (the stdout and stderr of the login and the query).
"""

import argparse
import json
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

DRIVER = "tsql"
SECTION = "tlslab"
LOGIN_MARKER = "using TDS version "  # printed by tsql's `version` command
COL_SEP = "\x1f"  # unusual separators so values with tabs/newlines still parse
ROW_SEP = "\x1e\n"
GRACE_S = 2  # extra seconds over --timeout so FreeTDS can report its own timeout first

SYSTEM_SQL = ("SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), "
              "@@VERSION, GETDATE()")
# --session: (step, SQL text typed as one batch) in the contract's order; None = skipped
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
PARAM_SKIPPED = ("tsql has no parameter binding: every batch typed into it goes to the server as "
                 "SQL text (a SQL batch, never an RPC); it has no placeholders or variables")
# the `version` command's line, at the start of a line of the merged output (--session)
MARKER_RE = re.compile(r"^using TDS version (\S+)\n", re.M)
# tsql's message handler (server messages) and error handler (FreeTDS library errors)
SERVER_MSG_RE = re.compile(r'Msg (\d+) \(severity (\d+), state (\d+)\) from [^\n]*:\n\t"(.*?)"\n', re.S)
LIB_ERR_RE = re.compile(r"Error (\d+) \(severity (\d+)\):\n\t[^\n]*\n(?:\tOS error [^\n]*\n)?")

# gnutls_certificate_status_t bits (gnutls/gnutls.h, GnuTLS 3.7), to decode "Certificate status: N"
CERT_STATUS_BITS = {
    1 << 1: "INVALID", 1 << 5: "REVOKED", 1 << 6: "SIGNER_NOT_FOUND", 1 << 7: "SIGNER_NOT_CA",
    1 << 8: "INSECURE_ALGORITHM", 1 << 9: "NOT_ACTIVATED", 1 << 10: "EXPIRED",
    1 << 11: "SIGNATURE_FAILURE", 1 << 12: "REVOCATION_DATA_SUPERSEDED", 1 << 14: "UNEXPECTED_OWNER",
    1 << 15: "REVOCATION_DATA_ISSUED_IN_FUTURE", 1 << 16: "SIGNER_CONSTRAINTS_FAILURE",
    1 << 17: "MISMATCH", 1 << 18: "PURPOSE_MISMATCH", 1 << 19: "MISSING_OCSP_STATUS",
    1 << 20: "INVALID_OCSP_STATUS", 1 << 21: "UNKNOWN_CRIT_EXTENSIONS",
}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="probe", description="FreeTDS tsql probe (tlslab driver contract)")
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca")
    p.add_argument("--encrypt", help="FreeTDS `encryption`: off|request|require")
    p.add_argument("--trust-server-certificate", action="store_true")
    p.add_argument("--host-name-in-certificate")
    p.add_argument("--user", default="lab")
    p.add_argument("--password", default="lab-password")
    p.add_argument("--query", default="SELECT 1")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--session", action="store_true",
                   help="after --query, run the session script (../README.md)")
    a = p.parse_args(argv)  # argparse itself exits 2 on a usage error
    if not 0 < a.port < 65536:
        p.error("--port must be 1..65535")
    if not a.timeout > 0:
        p.error("--timeout must be > 0")
    # The MODE goes verbatim into freetds.conf so FreeTDS itself judges it (e.g. `strict` gives
    # 20214 "Local configuration error" in 1.3); only block what could inject other settings.
    if a.encrypt is not None and not re.fullmatch(r"[A-Za-z]+", a.encrypt):
        p.error("--encrypt must be a single word (FreeTDS: off|request|require)")
    # values travel as freetds.conf lines / stdin lines: no line breaks possible there
    for name in ("host", "ca", "user", "password"):
        v = getattr(a, name)
        if v is not None and ("\n" in v or "\r" in v):
            p.error(f"--{name} must not contain line breaks")
    if not a.host.strip():
        p.error("--host must not be empty")
    if a.session:
        # the query is typed into tsql: a line that is a tsql command would end the batch or tsql
        for line in a.query.splitlines():
            if re.match(r"\s*(go|exit|quit|bye|version|reset|:r)(\s|$)", line, re.I):
                p.error("--query must not contain a line that is a tsql command (go, exit, version, ...) with --session")
    return a


def tsql_version():
    """The version string FreeTDS reports about itself (`tsql -C`: 'Version: freetds v1.3.17')."""
    try:
        out = subprocess.run(["tsql", "-C"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Version:\s*freetds v(\S+)", out)
    return m.group(1) if m else None


def write_conf(path, a, timeout_s):
    lines = [
        f"[{SECTION}]",
        f"\thost = {a.host}",
        f"\tport = {a.port}",
        "\ttds version = 7.4",
        f"\tconnect timeout = {timeout_s}",
        f"\ttimeout = {timeout_s}",
    ]
    if a.encrypt is not None:
        # omitted -> FreeTDS default `request`
        lines.append(f"\tencryption = {a.encrypt}")
    if a.ca and not a.trust_server_certificate:
        # FreeTDS (GnuTLS) verifies the server certificate ONLY when `ca file` is set; without it
        # any certificate is accepted. So "trust server certificate" == no `ca file`, and
        # --trust-server-certificate wins over --ca. `check certificate hostname` stays at its
        # default (yes): with a CA, the name in `host` must match the certificate.
        lines.append(f"\tca file = {os.path.abspath(a.ca)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def clean_env(tmp, conf):
    # drop any ambient FreeTDS/Sybase settings (TDSVER, TDSPORT, DSQUERY, ...) that would override ours
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TDS", "SYB", "FREETDS")) and k not in ("DSQUERY",)}
    env.update({
        "FREETDSCONF": conf,
        "TDSDUMP": os.path.join(tmp, "tds.dump"),
        "TDSDUMPCONFIG": os.path.join(tmp, "config.dump"),
        "LC_ALL": "C.UTF-8",  # tsql derives its client charset from the locale
    })
    return env


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def dump_causes(tds_dump, config_dump):
    """Failure reasons FreeTDS only writes to its dump files (tls.c, config.c, login.c)."""
    causes = []
    for line in tds_dump.splitlines():
        m = re.match(r"tls\.c:\d+:(.*)", line)
        if m:
            text = m.group(1).strip()
            sm = re.fullmatch(r"Certificate status: (\d+)", text)
            if sm:
                st = int(sm.group(1))
                names = [n for bit, n in sorted(CERT_STATUS_BITS.items()) if st & bit]
                causes.append(f"{text} ({', '.join(names) or 'unknown bits'})")
            elif re.search(r"failed|does not match|Error|No login", text):
                causes.append(text)
    for line in config_dump.splitlines():
        m = re.match(r"config\.c:\d+:(.*)", line)
        if m and re.search(r"UNRECOGNIZED|Valid settings|name resolution failed", m.group(1)):
            causes.append(m.group(1).strip())
    # FreeTDS refuses a server that cannot encrypt (with `encryption = require`) without any
    # message: the dump only holds the server's PRELOGIN encryption byte and "login packet rejected"
    if not causes and "login packet rejected" in tds_dump:
        m = re.search(r"detected crypt flag (\d+)", tds_dump)
        if m:
            flag = int(m.group(1))
            name = {0: "ENCRYPT_OFF", 1: "ENCRYPT_ON", 2: "ENCRYPT_NOT_SUP", 3: "ENCRYPT_REQ"}.get(flag, "?")
            causes.append(f"login packet rejected after server PRELOGIN encryption = {flag} ({name})")
    # keep order, drop repeats
    return list(dict.fromkeys(causes))


def tls_version(tds_dump):
    """TLS version GnuTLS negotiated, from its debug log inside TDSDUMP: TLS 1.3 shows as
    "Negotiated version: 3.4" (supported_versions extension), older ones only as "Server's version"."""
    names = {"3.1": "TLSv1.0", "3.2": "TLSv1.1", "3.3": "TLSv1.2", "3.4": "TLSv1.3"}
    m = re.search(r"Negotiated version: (3\.\d)", tds_dump) or \
        re.search(r"Server's version: (3\.\d)", tds_dump)
    return names.get(m.group(1), m.group(1)) if m else None


def to_json_value(text):
    # tsql prints every value as text; give integers back as JSON numbers, NULL as null
    if text == "NULL":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def run(a):
    result = {"driver": DRIVER, "version": tsql_version(), "connected": False,
              "error_code": None, "error": None, "value": None}
    if a.host_name_in_certificate is not None:
        # FreeTDS 1.3 cannot verify against another name than `host` (only `check certificate
        # hostname = yes|no`), so we refuse rather than silently test something else.
        result.update(error_code="UNSUPPORTED_OPTION", unsupported=True,
                      error="--host-name-in-certificate: FreeTDS 1.3 has no host-name-in-certificate "
                            "override (only `check certificate hostname` yes/no); not run")
        if a.session:
            result["session"] = not_run_steps("UNSUPPORTED_OPTION", "not run: " + result["error"])
        return result
    if shutil.which("tsql") is None:
        result.update(error_code="NOT_INSTALLED", error="tsql not found on PATH: run ./install")
        if a.session:
            result["session"] = not_run_steps("NOT_INSTALLED", "not run: " + result["error"])
        return result
    if a.session:
        return run_session(a, result)

    timeout_s = max(1, math.ceil(a.timeout))
    with tempfile.TemporaryDirectory(prefix="tlslab-tsql-") as tmp:
        conf = os.path.join(tmp, "freetds.conf")
        write_conf(conf, a, timeout_s)
        env = clean_env(tmp, conf)
        stdin = f"{a.password}\nversion\n{a.query}\ngo\nexit\n"
        # stdbuf: stdout is a pipe, so without line buffering a killed tsql would lose the marker
        cmd = ["tsql", "-S", SECTION, "-U", a.user, "-P", "-", "-o", "qh",
               "-t", COL_SEP, "-r", ROW_SEP]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL"] + cmd
        t0 = time.monotonic()
        timed_out = False
        try:
            p = subprocess.run(cmd, input=stdin.encode(), capture_output=True, env=env,
                               timeout=timeout_s + GRACE_S)
            out, err = p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            timed_out = True
            out, err = e.stdout or b"", e.stderr or b""
        result["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace").strip()
        tds_dump = read(env["TDSDUMP"])
        config_dump = read(env["TDSDUMPCONFIG"])

    killed = f"probe: tsql did not finish within {timeout_s + GRACE_S} s and was killed" \
        if timed_out else None
    return finish(result, out, err, killed, tds_dump, config_dump)


def finish(result, out, err, killed, tds_dump, config_dump):
    """The contract's fields from what tsql printed: `out` (stdout: the login marker, then the
    query's rows), `err` (stderr: messages, stripped), `killed` (why tsql was killed, or None)."""
    timed_out = killed is not None
    # login succeeded iff tsql ran our `version` command (it only reads stdin after login)
    marker = out.find(LOGIN_MARKER)
    result["connected"] = marker >= 0
    if marker >= 0:
        nl = out.find("\n", marker)
        result["tds_version"] = out[marker + len(LOGIN_MARKER):nl if nl >= 0 else None].strip()
        rows = out[nl + 1:] if nl >= 0 else ""
        if rows:
            first_row = rows.split(ROW_SEP, 1)[0]
            result["value"] = to_json_value(first_row.split(COL_SEP, 1)[0])

    if timed_out:
        err = (err + "\n" if err else "") + killed
    if err:
        result["error"] = err
        msg = re.search(r"^Msg (\d+) \(severity", err, re.M)      # server message (18456, ...)
        lib = re.search(r"^Error (\d+) \(severity", err, re.M)    # FreeTDS library error (200xx)
        if msg:
            result["error_code"] = int(msg.group(1))
        elif lib:
            result["error_code"] = int(lib.group(1))
        elif timed_out:
            result["error_code"] = "TIMEOUT"
    causes = dump_causes(tds_dump, config_dump)
    os_err = re.search(r"^\s*(OS error .*)$", err, re.M)
    if os_err:
        causes.append(os_err.group(1).strip())
    if causes and result["error"] is not None:
        result["cause"] = "; ".join(causes)
    tv = tls_version(tds_dump)
    if tv:
        result["tls_version"] = tv
    return result


# ---- --session ---------------------------------------------------------------------------------

def skipped_step(name):
    return {"step": name, "ok": None, "skipped": PARAM_SKIPPED, "value": None,
            "error_code": None, "error": None}


def not_run_steps(code, why):
    return [skipped_step(name) if sql is None else
            {"step": name, "ok": False, "value": None, "error_code": code, "error": why}
            for name, sql in SESSION]


def run_bounded(cmd, stdin, env, phase_s):
    """Runs tsql, reading its stdout and stderr. Each phase (the login, then each batch) gets
    phase_s seconds from the stdout marker line that started it. Returns (stdout, stderr,
    exit code or None, killed: the index of the phase that outlived its bound, or None)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, start_new_session=True)

    def feed():  # in a thread: tsql may stop reading (a failed login) or read slowly
        try:
            p.stdin.write(stdin)
            p.stdin.close()
        except OSError:
            pass
    threading.Thread(target=feed, daemon=True).start()
    out_fd, err_fd = p.stdout.fileno(), p.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    open_fds = [out_fd, err_fd]
    seen = 0
    deadline = time.monotonic() + phase_s
    killed = None
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                killed = seen
                p.kill()
                break
            ready, _, _ = select.select(open_fds, [], [], min(left, 0.5))
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.remove(fd)  # EOF: tsql is exiting
                    continue
                bufs[fd] += chunk
                if fd == out_fd:
                    n = len(MARKER_RE.findall(bufs[fd].decode("utf-8", "replace")))
                    if n > seen:
                        seen = n
                        deadline = time.monotonic() + phase_s
        try:
            rc = p.wait(timeout=phase_s)
        except subprocess.TimeoutExpired:  # closed its output but did not exit
            p.kill()
            p.wait()
            killed = seen if killed is None else killed
        if killed is not None:
            rc = None
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    return bufs[out_fd].decode("utf-8", "replace"), bufs[err_fd].decode("utf-8", "replace"), rc, killed


def parse_messages(text):
    """tsql's stderr for one batch -> (messages, failure): its messages in order, and the code
    of the first error among them (a server message of severity > 10, a FreeTDS error), or None."""
    messages, failure = [], None
    pos = 0
    while pos < len(text):
        m = SERVER_MSG_RE.match(text, pos) or LIB_ERR_RE.match(text, pos)
        if m:
            messages.append(m.group(0).rstrip("\n"))
            code = int(m.group(1))
            if failure is None and (m.re is LIB_ERR_RE or int(m.group(2)) > 10):
                failure = code
            pos = m.end()
            continue
        # any other line: a message without a number (PRINT, tsql's own complaints)
        nl = text.find("\n", pos)
        line_end = nl + 1 if nl >= 0 else len(text)
        line = text[pos:line_end].rstrip("\n")
        if line.strip():
            messages.append(line)
            if failure is None and re.search(r"failed|error", line, re.I):
                failure = "TSQL_ERROR"  # e.g. "tds_submit_query() failed"
        pos = line_end
    return messages, failure


def parse_rows(text):
    """tsql's stdout for one batch -> its rows, as lists of column strings (a row cut short by
    a killed tsql is dropped)."""
    return [r.split(COL_SEP) for r in text.split(ROW_SEP)[:-1]]


def cut(text, marks):
    """text cut at the marker matches: the piece before the first, then after each."""
    starts = [0] + [m.end() for m in marks]
    ends = [m.start() for m in marks] + [len(text)]
    return [text[a:b] for a, b in zip(starts, ends)]


def run_session(a, result):
    timeout_s = max(1, math.ceil(a.timeout))
    phase_s = timeout_s + GRACE_S
    batches = [sql for _, sql in SESSION if sql is not None]
    # stderr markers: `:r FILE` of a file that cannot exist makes tsql print "Unable to open
    # input file 'FILE': ..." on stderr and nothing else (nothing reaches the server)
    token = os.urandom(6).hex()
    err_mark = f"/dev/null/tlslab-probe-{token}-"
    err_mark_re = re.compile(r"^Unable to open input file '" + re.escape(err_mark) +
                             r"(\d+)'[^\n]*\n", re.M)
    with tempfile.TemporaryDirectory(prefix="tlslab-tsql-") as tmp:
        conf = os.path.join(tmp, "freetds.conf")
        write_conf(conf, a, timeout_s)
        env = clean_env(tmp, conf)
        # after the login and after every batch: `version` (stdout marker), `:r` (stderr marker)
        lines = [a.password, "version", f":r {err_mark}0", a.query, "go", "version", f":r {err_mark}1"]
        for i, sql in enumerate(batches, start=2):
            lines += [sql, "go", "version", f":r {err_mark}{i}"]
        lines.append("exit")
        cmd = ["tsql", "-S", SECTION, "-U", a.user, "-P", "-", "-o", "qh",
               "-t", COL_SEP, "-r", ROW_SEP]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL"] + cmd
        t0 = time.monotonic()
        out, err, rc, killed_at = run_bounded(cmd, ("\n".join(lines) + "\n").encode(), env, phase_s)
        result["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
        tds_dump = read(env["TDSDUMP"])
        config_dump = read(env["TDSDUMPCONFIG"])

    marks = list(MARKER_RE.finditer(out))
    emarks = list(err_mark_re.finditer(err))
    # [0]: before the login marker; [1]: the query; [2 + k]: the k-th batch of the script
    out_pieces, err_pieces = cut(out, marks), cut(err, emarks)
    phases = ["log in", "finish its query batch"] + \
        [f"finish its '{n}' batch" for n, sql in SESSION if sql is not None]

    def killed_msg(i):
        return f"probe: tsql did not {phases[min(i, len(phases) - 1)]} within {phase_s} s and was killed"

    # the top-level fields as without --session: stdout up to the end of the query's rows,
    # stderr up to the end of the query's messages
    top_out = out[:marks[1].start()] if len(marks) > 1 else out
    top_err = "".join(err_pieces[:2]).strip()
    top_killed = killed_msg(killed_at) if killed_at in (0, 1) else None
    finish(result, top_out, top_err, top_killed, tds_dump, config_dump)
    result["exit_code"] = rc

    if not marks:
        why = result["error"] or f"tsql exited {rc} without a message"
        result["session"] = not_run_steps(result["error_code"] or "ERROR", f"not run: no login ({why})")
        return result
    steps = []
    i = 1
    for name, sql in SESSION:
        if sql is None:
            steps.append(skipped_step(name))
            continue
        i += 1  # this batch's pieces
        step = {"step": name, "ok": False, "value": None, "error_code": None, "error": None,
                "sql": sql}
        if len(marks) < i:  # the marker before this batch never came
            if killed_at is not None:
                step.update(error_code="TIMEOUT", error="not run: " + killed_msg(killed_at))
            else:
                step.update(error_code="NOT_RUN", error=f"not run: tsql ended (exit {rc}) before this step")
            steps.append(step)
            continue
        rows = parse_rows(out_pieces[i])
        messages, failure = parse_messages(err_pieces[i] if i < len(err_pieces) else "")
        text_msgs = "\n".join(messages)
        if len(marks) < i + 1:  # killed while this batch ran, or tsql ended during it
            why = killed_msg(i) if killed_at is not None else f"tsql ended (exit {rc}) during this step"
            fallback = "TIMEOUT" if killed_at is not None else "NOT_RUN"
            step.update(error_code=failure if failure is not None else fallback,
                        error=(text_msgs + "\n" if text_msgs else "") + why)
        elif failure is not None:
            step.update(error_code=failure, error=text_msgs)
        else:
            step["ok"] = True
            if rows:
                step["value"] = to_json_value(rows[0][0])
                if name == "system":
                    step["row"] = rows[0]  # every column, as tsql printed it
            if messages:
                step["messages"] = messages  # informational (severity <= 10, PRINT)
        steps.append(step)
    result["session"] = steps
    return result


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
