#!/usr/bin/env python3
"""Seed the fuzz corpora (fuzz/corpus/<target>/) from the unit tests' captured byte vectors.

The vectors are real driver and server traffic captured on loopback (see the comment at the top
of each file): tests/tds/vectors (go-mssqldb, JDBC, ODBC, tedious, tsql/FreeTDS, the stand-in),
tests/pg/vectors (psql 15, pgbench 15 against PostgreSQL 15), tests/mysql/vectors (MariaDB 10.11
client and server). Each seed is prefixed with the selector bytes its target reads (see the
comment at the top of fuzz/<target>.cc) and named after the vector it came from.

Usage: fuzz/tools/seed_from_vectors.py [REPO]   (REPO defaults to the checkout this file is in)
"""

import pathlib
import struct
import sys

REPO = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "fuzz" / "corpus"


def hex_bytes(path):
    text = "".join(l for l in path.read_text().splitlines() if not l.lstrip().startswith("#"))
    return bytes.fromhex("".join(text.split()).replace(":", ""))


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def tds_packets(stream):
    out, i = [], 0
    while i + 8 <= len(stream):
        n = struct.unpack(">H", stream[i + 2:i + 4])[0]
        if n < 8:
            break
        out.append(stream[i:i + n])
        i += n
    return out


def tds_payload(stream):
    return b"".join(p[8:] for p in tds_packets(stream))


def tds():
    for f in sorted((REPO / "tests/tds/vectors").glob("*.hex")):
        stream, name = hex_bytes(f), f.stem
        write("tds_packet", name, b"\xff\x00" + stream)
        write("tds_packet", name + "-bytewise", b"\x00\x00" + stream)
        payload = tds_payload(stream)
        if "prelogin" in name:
            write("tds_prelogin", name, payload)
        elif "login7" in name:
            write("tds_login7", name, payload)
        elif name.startswith("server_"):
            for level in (1, 2, 5):  # 7.1, 7.2, 7.4
                write("tds_tokens", f"{name}-level{level}", bytes([level]) + payload)
        elif "sql" in name:
            write("tds_requests", name, b"\x05" + payload)  # 7.4, SQL batch


def pg():
    for f in sorted((REPO / "tests/pg/vectors").glob("*.hex")):
        stream, name = hex_bytes(f), f.stem
        if name.endswith("_server"):
            write("pg_backend", name, b"\xff" + stream)
            write("pg_backend", name + "-bytewise", b"\x00" + stream)
        else:
            write("pg_frontend", name, b"\xff\x00" + stream)
            write("pg_frontend", name + "-bytewise", b"\x00\x00" + stream)


def mysql():
    for f in sorted((REPO / "tests/mysql/vectors").glob("*.hex")):
        client, server, caps = b"", b"", 0xFFFFFFFF
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) != 3 or line.startswith("#") or parts[0] not in ("C", "S"):
                continue
            packet = bytes.fromhex(parts[2])
            if parts[0] == "C":
                client += packet
                if parts[1] == "handshake_response" and len(packet) >= 8:
                    caps = struct.unpack("<I", packet[4:8])[0]
            else:
                server += packet
        name = f.stem
        if client:
            write("mysql_client", name, b"\xff\x01" + client)
            write("mysql_client", name + "-bytewise", b"\x00\x01" + client)
        if server:
            write("mysql_server", name, b"\xff" + struct.pack("<I", caps) + server)


if __name__ == "__main__":
    tds()
    pg()
    mysql()
