"""tlslab PostgreSQL probe: psql 15 (Debian postgresql-client-15) on Debian's libpq 15.

Contract: the PostgreSQL section of ../README.md. Python standard library only (pgprobe from
../pg-python, which is standard library too), run with the system python3.

How one run works: one psql process, /usr/lib/postgresql/15/bin/psql (not /usr/bin/psql,
which is postgresql-common's wrapper that may pick another version), started as

    psql -X -q -A -t -w -v ON_ERROR_STOP=0 -P pager=off -P null=<token> -F <US> -R <RS> CONNINFO

with the password in PGPASSWORD (never in argv) and every option a libpq keyword in CONNINFO
(host port user dbname sslmode sslrootcert channel_binding sslnegotiation connect_timeout),
so libpq judges the words itself. stdin carries a script typed as a user would: the query,
then with --session one statement per step. Around each statement two local psql commands
mark where it starts and ends in each output stream, `\\echo` on stdout (rows) and `\\warn` on
stderr (errors, notices); the end marker on stdout carries psql's own :ERROR and :SQLSTATE of
that statement. `\\conninfo` after the login tells whether the connection is SSL (psql's
printSSLInfo, libpq PQsslInUse/PQsslAttribute). Nothing extra is sent to the server.

A failed connection: psql prints libpq's message and exits 2; psql never shows an SQLSTATE for
it, so error_code is CONNECTION_BAD (libpq's status name for what exit 2 means) and the exit
status is in exit_status. Each phase (the login, the query, each step) is bounded by --timeout
+ 3 s from the stdout marker that starts it; then psql is killed and the run says so.
"""

import ctypes
import math
import os
import queue
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg-python"))
import pgprobe  # noqa: E402

DRIVER = "psql"
PSQL = "/usr/lib/postgresql/15/bin/psql"
NULL = "\x01NULL\x01"
US, RS = "\x1f", "\x1e"
MARK = "@@tlslab:"
GRACE_S = 3.0
PARAM_SKIPPED = ("psql 15 has no parameter binding (\\bind came with psql 16): every statement "
                 "typed into it goes to the server as a simple query, as text")
SSL_LINE = re.compile(r"^SSL connection \(protocol: ([^,]+), cipher: ([^,]+)", re.M)


def conninfo_value(v) -> str:
    v = str(v)
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def psql_version():
    try:
        out = subprocess.run([PSQL, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"psql \(PostgreSQL\) (.+)", out.strip())
    return m.group(1) if m else out.strip() or None


def libpq_version():
    """PQlibVersion() of the libpq.so.5 that psql itself loads (found with ldd)."""
    try:
        out = subprocess.run(["ldd", PSQL], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"libpq\.so\.5 => (\S+)", out)
        lib = ctypes.CDLL(m.group(1) if m else "libpq.so.5")
        n = lib.PQlibVersion()
    except (OSError, subprocess.SubprocessError, AttributeError):
        return None
    return f"{n // 10000}.{n % 10000}"


def to_value(segment: str):
    """First column of the first row of psql's unaligned, tuples-only output."""
    text = segment[:-1] if segment.endswith("\n") else segment
    if text == "":
        return None
    first = text.split(RS, 1)[0].split(US, 1)[0]
    if first == NULL:
        return None
    if re.fullmatch(r"-?\d{1,15}", first):
        return int(first)
    return first


def statement(sql: str) -> str:
    """The text typed for one statement: its own trailing ';' (psql sends on ';')."""
    return sql.rstrip().rstrip(";").rstrip() + ";"


def build_script(a) -> tuple[str, list[str]]:
    """The stdin script and the names of its marked parts, in order."""
    parts = [("query", a.query)] if a.query else []
    if a.session:
        parts += [(name, sql) for name, sql in pgprobe.SESSION if name != "param"]
    lines = [f"\\echo {MARK}login", f"\\warn {MARK}login", "\\conninfo"]
    for name, sql in parts:
        lines += [f"\\echo {MARK}begin {name}", f"\\warn {MARK}begin {name}", statement(sql),
                  f"\\echo {MARK}end {name} :ERROR :SQLSTATE", f"\\warn {MARK}end {name}"]
    lines += [f"\\echo {MARK}bye"]
    return "\n".join(lines) + "\n", [n for n, _ in parts]


def split_parts(text: str) -> dict:
    """name -> (body, end marker fields) from one stream; 'login' -> text before the first
    begin; '' -> text before the login marker."""
    out = {}
    current, body = "", []
    for line in text.splitlines(keepends=True):
        if line.startswith(MARK):
            words = line[len(MARK):].split()
            if words and words[0] == "login":
                out[""] = ("".join(body), None)
                current, body = "login", []
            elif words and words[0] == "begin" and len(words) > 1:
                out[current] = ("".join(body), out.get(current, (None, None))[1])
                current, body = words[1], []
            elif words and words[0] == "end" and len(words) > 1:
                out[words[1]] = ("".join(body), words[2:])
                current, body = "after " + words[1], []
            elif words and words[0] == "bye":
                out[current] = ("".join(body), out.get(current, (None, None))[1])
                current, body = "bye", []
            continue
        body.append(line)
    if current not in out:
        out[current] = ("".join(body), None)
    return out


def main(argv):
    a = pgprobe.parse_args(DRIVER, argv, "libpq sslmode: disable allow prefer require verify-ca verify-full")
    result = pgprobe.base_result(DRIVER)
    pv, lv = psql_version(), libpq_version()
    result["libpq_version"] = lv
    result["version"] = f"{pv or '?'} / libpq {lv or '?'}"
    if not os.access(PSQL, os.X_OK):
        result.update(error_code="NOT_INSTALLED", error=f"{PSQL} missing: run ./install")
        if a.session:
            result["session"] = pgprobe.not_run_steps("NOT_INSTALLED", "not run: " + result["error"])
        pgprobe.emit(result)
        return
    home = pgprobe.private_environment()

    kv = {"host": a.host, "port": a.port, "user": a.user, "dbname": a.database,
          "connect_timeout": max(2, math.ceil(a.timeout))}
    if a.encrypt:
        kv["sslmode"] = a.encrypt
    if a.ca:
        kv["sslrootcert"] = a.ca
    if a.channel_binding:
        kv["channel_binding"] = a.channel_binding
    if a.ssl_negotiation:
        kv["sslnegotiation"] = a.ssl_negotiation
    result["sslrootcert"] = a.ca
    conninfo = " ".join(f"{k}={conninfo_value(v)}" for k, v in kv.items())
    script, names = build_script(a)

    env = dict(os.environ, PGPASSWORD=a.password, LC_ALL="C.UTF-8", HOME=home)
    argv_psql = [PSQL, "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=0", "-P", "pager=off",
                 "-P", f"null={NULL}", "-F", US, "-R", RS, conninfo]
    proc = subprocess.Popen(argv_psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8",
                            errors="replace")
    progress = queue.Queue()
    out_chunks, err_chunks = [], []

    def read(stream, sink, report):
        for line in stream:
            sink.append(line)
            if report and line.startswith(MARK):
                progress.put(line)
        if report:
            progress.put(None)

    threads = [threading.Thread(target=read, args=(proc.stdout, out_chunks, True), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, err_chunks, False), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.stdin.write(script)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # psql already gave up (a failed connection): its output says why

    # Follow the stdout markers; each phase gets its own bound.
    bound = a.timeout + GRACE_S
    phase, deadline, killed = "login", time.monotonic() + bound, None
    while True:
        try:
            line = progress.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            killed = phase
            proc.kill()
            break
        if line is None:
            break
        words = line[len(MARK):].split()
        if words[0] == "begin":
            phase = words[1]
        elif words[0] == "login":
            phase = "login"
        deadline = time.monotonic() + bound
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    for t in threads:
        t.join(timeout=5)
    rc = proc.returncode
    out = split_parts("".join(out_chunks))
    err = split_parts("".join(err_chunks))
    kill_msg = f"probe: psql killed: no progress in '{killed}' within {bound:g} s" if killed else None

    if "login" not in out:
        text = "".join(err_chunks).strip()
        result.update(error=kill_msg or text or f"psql exited {rc} without output",
                      exit_status=rc)
        if killed:
            result["error_code"] = "PROBE_TIMEOUT"
            if text:
                result["stderr"] = text
        else:
            result["error_code"] = "CONNECTION_BAD" if rc == 2 else f"PSQL_EXIT_{rc}"
        if a.session:
            result["session"] = pgprobe.not_run_steps(result["error_code"], "not run: no connection")
        pgprobe.emit(result)
        return

    result["connected"] = True
    m = SSL_LINE.search(out["login"][0])
    result["ssl"] = m is not None
    if m:
        result["tls_version"] = m.group(1)
    if rc not in (0, None) and not killed:
        result["exit_status"] = rc

    def outcome(name):
        """(ok, value, error_code, error) of one marked part; None if it never ended."""
        if name not in out or out[name][1] is None:
            return None
        body, fields = out[name]
        text = err.get(name, ("", None))[0].strip()
        failed = bool(fields) and fields[0] == "true"
        if failed:
            code = fields[1] if len(fields) > 1 and fields[1] != "00000" else "ERROR"
            return False, None, code, text or "psql reported an error with no text"
        return True, to_value(body), None, None

    def unfinished(name):
        if killed == name:
            return "PROBE_TIMEOUT", kill_msg
        if killed:
            return "PROBE_TIMEOUT", f"not run: '{killed}' did not finish"
        tail = "".join(err_chunks).strip().splitlines()
        why = f"not run: psql ended (exit {rc}) before this statement"
        return "CONNECTION_BAD" if rc == 2 else "NOT_RUN", why + (f": {tail[-1]}" if tail else "")

    if a.query:
        o = outcome("query")
        if o is None:
            result["error_code"], result["error"] = unfinished("query")
        else:
            ok, value, code, text = o
            result["value"] = value
            if not ok:
                result.update(error_code=code, error=text)

    if a.session:
        steps = []
        for name in pgprobe.SESSION_STEPS:
            if name == "param":
                steps.append({"step": name, "ok": None, "skipped": PARAM_SKIPPED})
                continue
            step = pgprobe.new_step(name)
            o = outcome(name)
            if o is None:
                step["error_code"], step["error"] = unfinished(name)
            else:
                ok, value, code, text = o
                step.update(ok=ok, value=value, error_code=code, error=text)
            steps.append(step)
        result["session"] = steps
    pgprobe.emit(result)


if __name__ == "__main__":
    pgprobe.main_guard(DRIVER, main, sys.argv[1:])
