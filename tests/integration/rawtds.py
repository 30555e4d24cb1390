"""Just enough TDS, in plain Python, to play a misbehaving (or a minimal well-behaved) client.

Used by the integration tests to send what no real driver sends: garbage, broken packet
headers, half handshakes, and a bare-bones LOGIN7 / SQL batch / ATTENTION sequence with a
chosen packet size. Standard library only (socket, ssl, struct). Every read is bounded by a
deadline; nothing here can block forever.

References: MS-TDS 2.2.3.1 (packet header), 2.2.6.5 (PRELOGIN), 2.2.6.4 (LOGIN7),
2.2.6.7 (SQL batch + ALL_HEADERS), 2.2.7 (tokens).
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import struct
import time
from dataclasses import dataclass

# Packet types (MS-TDS 2.2.3.1.1)
SQL_BATCH = 0x01
TABULAR_RESULT = 0x04
ATTENTION = 0x06
LOGIN7 = 0x10
PRELOGIN = 0x12

STATUS_EOM = 0x01
HEADER_LEN = 8
DEFAULT_PACKET_LEN = 4096

# PRELOGIN ENCRYPTION values (MS-TDS 2.2.6.5)
ENCRYPT_OFF = 0x00
ENCRYPT_ON = 0x01
ENCRYPT_NOT_SUP = 0x02
ENCRYPT_REQ = 0x03

TDS74 = 0x74000004

# Tokens (MS-TDS 2.2.7)
TOKEN_ERROR = 0xAA
TOKEN_INFO = 0xAB
TOKEN_LOGINACK = 0xAD
TOKEN_ENVCHANGE = 0xE3
TOKEN_DONE = 0xFD
TOKEN_DONEPROC = 0xFE
TOKEN_DONEINPROC = 0xFF

DONE_MORE = 0x0001
DONE_ERROR = 0x0002
DONE_ATTN = 0x0020
ENV_PACKET_SIZE = 4


class ProtocolError(AssertionError):
    """The server said something this minimal client did not expect."""


# ---- packets --------------------------------------------------------------------------------

def header(ptype: int, length: int, status: int = STATUS_EOM, spid: int = 0,
           packet_id: int = 1) -> bytes:
    """An 8-byte TDS packet header; `length` is written as given (it may be a lie)."""
    return struct.pack(">BBHHBB", ptype, status, length, spid, packet_id, 0)


def packet(ptype: int, payload: bytes, status: int = STATUS_EOM, packet_id: int = 1) -> bytes:
    return header(ptype, HEADER_LEN + len(payload), status, packet_id=packet_id) + payload


def packets(ptype: int, payload: bytes, packet_len: int = DEFAULT_PACKET_LEN) -> bytes:
    """One message cut into packets of at most packet_len bytes (EOM on the last)."""
    room = packet_len - HEADER_LEN
    chunks = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
    out = b""
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        out += packet(ptype, chunk, STATUS_EOM if last else 0, packet_id=(i + 1) % 256)
    return out


def prelogin_payload(encryption: int = ENCRYPT_ON, version: tuple = (16, 0, 0, 0)) -> bytes:
    """PRELOGIN options VERSION, ENCRYPTION, TERMINATOR."""
    n_opts = 2
    data_off = n_opts * 5 + 1
    major, minor, build, sub = version
    ver = struct.pack(">BBHH", major, minor, build, sub)
    table = (struct.pack(">BHH", 0x00, data_off, len(ver))
             + struct.pack(">BHH", 0x01, data_off + len(ver), 1)
             + b"\xff")
    return table + ver + bytes([encryption])


def prelogin_packet(encryption: int = ENCRYPT_ON) -> bytes:
    return packet(PRELOGIN, prelogin_payload(encryption))


def login7_payload(user: str, password: str, *, packet_size: int = DEFAULT_PACKET_LEN,
                   tds_version: int = TDS74, host: str = "tlslab-it", app: str = "tlslab-raw",
                   server: str = "localhost", library: str = "rawtds",
                   database: str = "") -> bytes:
    """A LOGIN7 for SQL authentication (MS-TDS 2.2.6.4)."""
    def enc(s: str) -> bytes:
        return s.encode("utf-16-le")

    def scramble(s: str) -> bytes:
        return bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in enc(s))

    fixed_len = 94
    fields = [  # (bytes, count written in the offset table: characters, or bytes for cbUnused)
        (enc(host), len(host)), (enc(user), len(user)), (scramble(password), len(password)),
        (enc(app), len(app)), (enc(server), len(server)), (b"", 0),
        (enc(library), len(library)), (b"", 0), (enc(database), len(database)),
    ]
    offsets = b""
    data = b""
    for blob, count in fields:
        offsets += struct.pack("<HH", fixed_len + len(data), count)
        data += blob
    tail_off = fixed_len + len(data)
    offsets += b"\x00" * 6                        # ClientID (MAC)
    offsets += struct.pack("<HH", tail_off, 0)    # SSPI
    offsets += struct.pack("<HH", tail_off, 0)    # AtchDBFile
    offsets += struct.pack("<HH", tail_off, 0)    # ChangePassword
    offsets += struct.pack("<I", 0)               # cbSSPILong
    head = struct.pack("<IIIIII", fixed_len + len(data), tds_version, packet_size,
                       0x07000000, os.getpid() & 0xFFFFFFFF, 0)
    head += bytes([0xE0, 0x03, 0x00, 0x00])       # OptionFlags1/2 (ODBC, no integrated auth)
    head += struct.pack("<iI", 0, 0x0409)         # ClientTimeZone, ClientLCID
    body = head + offsets
    assert len(body) == fixed_len, len(body)
    return body + data


def sql_batch_payload(sql: str) -> bytes:
    """SQL batch with ALL_HEADERS (transaction descriptor), as TDS 7.2+ requires."""
    txn = struct.pack("<IHQI", 18, 2, 0, 1)
    return struct.pack("<I", 4 + len(txn)) + txn + sql.encode("utf-16-le")


# ---- tokens ---------------------------------------------------------------------------------

@dataclass
class Token:
    type: int
    body: bytes


def walk_tokens(payload: bytes) -> list[Token]:
    """Length-prefixed and DONE tokens only (enough for login, SET and attention replies)."""
    out, i = [], 0
    while i < len(payload):
        t = payload[i]
        if t in (TOKEN_ERROR, TOKEN_INFO, TOKEN_LOGINACK, TOKEN_ENVCHANGE):
            (n,) = struct.unpack_from("<H", payload, i + 1)
            out.append(Token(t, payload[i + 3:i + 3 + n]))
            i += 3 + n
        elif t in (TOKEN_DONE, TOKEN_DONEPROC, TOKEN_DONEINPROC):
            out.append(Token(t, payload[i + 1:i + 13]))
            i += 13
        else:
            raise ProtocolError(f"token 0x{t:02x} at {i} not understood by walk_tokens")
    if i != len(payload):
        raise ProtocolError("token stream overruns the message")
    return out


def done_status(tok: Token) -> int:
    return struct.unpack_from("<H", tok.body, 0)[0]


def envchange_packet_size(tokens: list[Token]) -> int | None:
    for t in tokens:
        if t.type == TOKEN_ENVCHANGE and t.body[0] == ENV_PACKET_SIZE:
            n = t.body[1]
            return int(t.body[2:2 + 2 * n].decode("utf-16-le"))
    return None


# ---- sockets --------------------------------------------------------------------------------

def connect(port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_closed(sock: socket.socket, bound: float) -> tuple[str, bytes]:
    """Reads until the peer closes. Returns ("eof"|"reset"|"open", bytes read) within bound."""
    deadline = time.monotonic() + bound
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "open", got
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return "reset", got
        if not data:
            return "eof", got
        got += data


def drain_is_closed(sock: socket.socket) -> bool:
    """Non-blocking: reads (and drops) whatever is pending; True if the peer has closed."""
    while True:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, ConnectionAbortedError):
            return True


def client_hello(server_hostname: str = "localhost", alpn: list[str] | None = None) -> bytes:
    """The bytes of a genuine TLS ClientHello (Python's OpenSSL), without a socket."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


@dataclass
class Packet:
    type: int
    status: int
    length: int
    payload: bytes


class TdsConn:
    """A TDS 7.x client connection: plain, or TLS wrapped in PRELOGIN packets (TDS 7 style)
    and then TLS for every later packet ('full' encryption). Bounded reads throughout."""

    def __init__(self, sock: socket.socket, timeout: float = 5.0):
        self.sock = sock
        self.timeout = timeout
        self.tls: ssl.SSLObject | None = None
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._plain = b""  # decrypted (or plain) bytes not yet consumed

    # raw transport
    def _send(self, data: bytes) -> None:
        if self.tls is None:
            self.sock.sendall(data)
        else:
            self.tls.write(data)
            self.sock.sendall(self._out.read())

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the server before the deadline")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolError("server closed the connection")
        if self.tls is None:
            self._plain += data
            return
        self._in.write(data)
        while True:
            try:
                self._plain += self.tls.read(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:
                raise ProtocolError("server sent close_notify")

    def _take(self, n: int, deadline: float) -> bytes:
        while len(self._plain) < n:
            self._fill(deadline)
        data, self._plain = self._plain[:n], self._plain[n:]
        return data

    # packets and messages
    def send_message(self, ptype: int, payload: bytes, packet_len: int = DEFAULT_PACKET_LEN):
        self._send(packets(ptype, payload, packet_len))

    def send_raw(self, data: bytes) -> None:
        self._send(data)

    def read_packet(self) -> Packet:
        deadline = time.monotonic() + self.timeout
        h = self._take(HEADER_LEN, deadline)
        ptype, status, length, _spid, _pid, _win = struct.unpack(">BBHHBB", h)
        if length < HEADER_LEN:
            raise ProtocolError(f"packet length {length} below 8")
        return Packet(ptype, status, length, self._take(length - HEADER_LEN, deadline))

    def read_message(self) -> tuple[bytes, list[Packet]]:
        pkts = []
        while True:
            p = self.read_packet()
            pkts.append(p)
            if p.status & STATUS_EOM:
                return b"".join(x.payload for x in pkts), pkts

    # handshakes
    def prelogin(self, encryption: int) -> int:
        """Sends PRELOGIN, returns the server's ENCRYPTION answer."""
        self.send_raw(prelogin_packet(encryption))
        payload, _ = self.read_message()
        i = 0
        while payload[i] != 0xFF:
            opt, off, n = struct.unpack_from(">BHH", payload, i)
            if opt == 0x01 and n >= 1:
                return payload[off]
            i += 5
        raise ProtocolError("PRELOGIN answer without ENCRYPTION")

    def tds7_tls_handshake(self, ctx: ssl.SSLContext, server_hostname: str) -> None:
        """TLS handshake carried in PRELOGIN packets (TDS 7.x), then TLS for all packets."""
        tls = ctx.wrap_bio(self._in, self._out, server_hostname=server_hostname)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            flight = self._out.read()
            if flight:
                self.sock.sendall(packet(PRELOGIN, flight))
            # the server's flight arrives in PRELOGIN packets; feed their payloads to TLS
            h = self._take(HEADER_LEN, deadline)
            ptype, status, length, *_ = struct.unpack(">BBHHBB", h)
            if ptype != PRELOGIN:
                raise ProtocolError(f"expected a PRELOGIN-wrapped TLS record, got type {ptype}")
            self._in.write(self._take(length - HEADER_LEN, deadline))
        flight = self._out.read()
        if flight:  # TLS 1.2: nothing left; kept for completeness
            self.sock.sendall(packet(PRELOGIN, flight))
        self.tls = tls
        # bytes already buffered past the handshake are TLS records now
        leftover, self._plain = self._plain, b""
        if leftover:
            self._in.write(leftover)

    def login(self, user: str, password: str, packet_size: int = DEFAULT_PACKET_LEN):
        self.send_message(LOGIN7, login7_payload(user, password, packet_size=packet_size))
        payload, pkts = self.read_message()
        return walk_tokens(payload), pkts

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
