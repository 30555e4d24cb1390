#!/usr/bin/env python3
"""Seed the fuzz corpora of the text parsers from the repository's own inputs.

- scenario_toml: every built-in scenario file (scenarios/catalogue/*.toml), as users copy them.
- explain_text: each knowledge entry's message (knowledge/errors.json, quoted from real driver
  output) as pasted text; a small knowledge file cut from errors.json for KnowledgeBase::parse.
- admin_request: the request bodies the integration tests send (tests/integration/test_admin.py)
  and ids.
- standin_sql: the SQL string literals of the stand-in unit tests (tests/standin/**), what the
  drivers send on connect, per reader.
- original_destination: sockaddr_in / sockaddr_in6 as the kernel writes them (struct layouts of
  <netinet/in.h>), with a local address beside them.

Usage: fuzz/tools/seed_text.py [REPO]
"""

import hashlib
import json
import pathlib
import re
import socket
import struct
import sys

REPO = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def hashed(prefix, data):
    return f"{prefix}-{hashlib.sha1(data).hexdigest()[:12]}"


def scenarios():
    for f in sorted((REPO / "scenarios/catalogue").glob("*.toml")):
        write("scenario_toml", f.stem, f.read_bytes())


def explain():
    kb = json.loads((REPO / "knowledge/errors.json").read_text())
    for e in kb["entries"]:
        text = e["message"].encode()
        write("explain_text", hashed("message", text), b"\x00" + text)
    small = dict(kb)
    small["entries"] = kb["entries"][:3]
    small["families"] = [f for f in kb["families"]
                         if f.get("name", f.get("id")) in {e["family"] for e in small["entries"]}]
    write("explain_text", "knowledge-small", b"\x01" + json.dumps(small).encode())


def admin():
    src = (REPO / "tests/integration/test_admin.py").read_text()
    bodies = set()
    for m in re.finditer(r'"(?:POST|PUT)", "[^"]+", (\{[^\n]*?\}|\[[^\n]*?\]|b"[^"]*")', src):
        bodies.add(m.group(1))
    for b in sorted(bodies):
        if b.startswith('b"'):
            data = b[2:-1].encode()
        else:
            try:
                data = json.dumps(eval(b, {}, {})).encode()  # the test's Python literal
            except Exception:
                continue
        write("admin_request", hashed("body", data), b"\x00" + data)
    for body in ({"scenario": "expired", "count": 2}, {"scenario": "wrong-host", "sni": "db.lab"},
                 {"scenario": "expired", "client_address": "127.0.0.1", "listener": "proxy"},
                 {"scenario": "valid", "prelogin_version": "16.0"},
                 {"scenario": "expired", "reset_existing": True}):
        data = json.dumps(body).encode()
        write("admin_request", hashed("body", data), b"\x00" + data)
    for i in (b"1", b"42", b"18446744073709551615", b"18446744073709551616", b"-1"):
        write("admin_request", hashed("id", i), b"\x01" + i)


def standin_sql():
    lit = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    readers = {"sqlserver": (0, 1), "postgres": (2, 3), "mysql": (4, 5)}
    for proto, selectors in readers.items():
        seen = set()
        for f in sorted((REPO / "tests/standin" / proto).glob("*.cc")):
            for m in lit.finditer(f.read_text()):
                s = m.group(1)
                if len(s) < 6 or not re.match(r"\s*(SELECT|SET|BEGIN|COMMIT|ROLLBACK|USE|EXEC|"
                                              r"DECLARE|SHOW|INSERT|UPDATE|DELETE|CREATE|DROP|"
                                              r"IF|PREPARE|START|@)", s, re.I):
                    continue
                s = bytes(s, "utf-8").decode("unicode_escape").encode("utf-8", "replace")
                if s in seen or len(seen) >= 80:
                    continue
                seen.add(s)
                sel = selectors[1] if proto == "sqlserver" and s.startswith(b"@") else selectors[0]
                write("standin_sql", hashed(proto, s), bytes([sel]) + s)


def original_destination():
    def v4(addr, port):
        return struct.pack("=H", socket.AF_INET) + struct.pack(">H", port) + \
            socket.inet_aton(addr) + bytes(8)

    def v6(addr, port):
        return struct.pack("=H", socket.AF_INET6) + struct.pack(">H", port) + bytes(4) + \
            socket.inet_pton(socket.AF_INET6, addr) + bytes(4)

    local4, local6 = v4("127.0.0.1", 8443), v6("::1", 8443)
    pad = lambda b: b + bytes(28 - len(b))
    cases = {
        "v4-redirected": b"\x00" + pad(local4) + v4("10.0.0.5", 1433),
        "v4-self": b"\x00" + pad(local4) + v4("127.0.0.1", 8443),
        "v4-port0": b"\x00" + pad(local4) + v4("10.0.0.5", 0),
        "v4-short": b"\x00" + pad(local4) + v4("10.0.0.5", 1433)[:6],
        "v6-redirected": b"\x01" + local6 + v6("2001:db8::5", 5432),
        "v6-self": b"\x01" + local6 + v6("::1", 8443),
        "v6-mapped": b"\x01" + local6 + v6("::ffff:10.0.0.5", 3306),
    }
    for name, data in cases.items():
        write("original_destination", name, data)


if __name__ == "__main__":
    scenarios()
    explain()
    admin()
    standin_sql()
    original_destination()
