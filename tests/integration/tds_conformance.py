"""A raw TDS test client and an independent, strict token-stream reader (standard library only).

Written for test_conformance.py, the suite that judges whether `tlslab serve` answers like a real
SQL Server 2022. It shares nothing with the server's own codec: every layout here was written
from MS-TDS v39 (sections cited as [2.2.7.x]) and, where the spec leaves a choice to the
product, from what SQL Server is known to do (each such place says how sure it is).

  rawtds.py             sockets, packets, PRELOGIN packet, TLS-in-PRELOGIN plumbing (reused)
  this module           LOGIN7 for every TDS version (86-byte fixed part for 7.0/7.1, FeatureExt
                        for 7.4+), ALL_HEADERS, SQL batch, RPC, Transaction Manager requests,
                        TLS-first (TDS 8.0, ALPN tds/8.0), and `parse_tokens`: a reader that
                        knows the per-version layouts and fails on any byte it cannot account
                        for, then `dump` for readable failure messages.

Per-version layouts ([2.2.7.x] "changed in TDS 7.2" notes):
  7.0, 7.1, 7.1 rev 1   ERROR/INFO LineNumber USHORT, DONE* RowCount LONG, UserType USHORT,
                        no ALL_HEADERS; 7.0 only: no COLLATION in TYPE_INFO
  7.2+                  LineNumber LONG, RowCount ULONGLONG, UserType ULONG, PLP (max) types,
                        sql_variant, xml, udt; ENVCHANGE types 8..19
  7.3+                  date, time, datetime2, datetimeoffset; 7.3B+ NBCROW
  7.4+, 8.0             FEATUREEXTACK
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import ssl
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import rawtds as R

# ---- versions -------------------------------------------------------------------------------

# rank: an ordered number for comparisons (7.1 rev 1 = 711, 7.3B = 731, 8.0 = 800)
@dataclass(frozen=True)
class TdsVersion:
    name: str          # test id: "7.0", "7.1rev1", "7.3B", "8.0", "too-new"
    login: int         # LOGIN7 TDSVersion, written little-endian ("client to server" column)
    ack: int           # LOGINACK TDSVersion the server must answer, read big-endian ([2.2.7.14]
                       # and appendix A note <69>)
    tls_first: bool = False
    feature_ext: bool = False   # send a FeatureExt block (7.4 and later clients do)

    @property
    def rank(self) -> int:
        return ACK_RANK[self.ack]

    @property
    def fixed86(self) -> bool:
        """LOGIN7 fixed part of 86 bytes: ibChangePassword/cchChangePassword and cbSSPILong
        were introduced in TDS 7.2 ([2.2.6.4])."""
        return self.login in (0x70000000, 0x71000000, 0x71000001)


# LOGINACK TDSVersion (big-endian) -> rank. Appendix A <69>: 7.0 -> 0x07000000,
# 7.1 -> 0x07010000, 7.1 rev 1 -> 0x71000001, 7.2 -> 0x72090002, 7.3A -> 0x730A0003,
# 7.3B -> 0x730B0003, 7.4 -> 0x74000004 (SQL Server 2012..2025 "in TDS 7.x flow").
# 8.0 -> 0x08000000: not in the table; SqlClient/tedious accept it as TDS 8.0's LOGINACK.
ACK_RANK = {0x07000000: 700, 0x07010000: 710, 0x71000001: 711, 0x72090002: 720,
            0x730A0003: 730, 0x730B0003: 731, 0x74000004: 740, 0x08000000: 800}
RANK_NAME = {700: "7.0", 710: "7.1", 711: "7.1rev1", 720: "7.2", 730: "7.3A", 731: "7.3B",
             740: "7.4", 800: "8.0"}

V70 = TdsVersion("7.0", 0x70000000, 0x07000000)
V71 = TdsVersion("7.1", 0x71000000, 0x07010000)
V71R1 = TdsVersion("7.1rev1", 0x71000001, 0x71000001)
V72 = TdsVersion("7.2", 0x72090002, 0x72090002)
V73A = TdsVersion("7.3A", 0x730A0003, 0x730A0003)
V73B = TdsVersion("7.3B", 0x730B0003, 0x730B0003)
V74 = TdsVersion("7.4", 0x74000004, 0x74000004, feature_ext=True)
V80 = TdsVersion("8.0", 0x08000000, 0x08000000, tls_first=True, feature_ext=True)
# Newer than anything the server knows: [2.2.6.4] "the server MUST use the highest TDS version
# that it can use" -> SQL Server 2022 answers 7.4 in a TDS 7.x flow.
VNEW = TdsVersion("too-new", 0x75000000, 0x74000004, feature_ext=True)
ALL_VERSIONS = [V70, V71, V71R1, V72, V73A, V73B, V74, V80, VNEW]


@dataclass(frozen=True)
class Layout:
    """What the token stream looks like at a negotiated version (from its LOGINACK rank)."""
    rank: int

    @property
    def wide(self) -> bool:   # 7.2+: LONG LineNumber, ULONGLONG RowCount, ULONG UserType
        return self.rank >= 720

    @property
    def collation(self) -> bool:   # COLLATION in TYPE_INFO: TDS 7.1 (SQL Server 2000) on
        return self.rank >= 710

    @property
    def name(self) -> str:
        return RANK_NAME.get(self.rank, str(self.rank))


# ---- constants ------------------------------------------------------------------------------

PKT_TM = 0x0E
PKT_RPC = 0x03
ST_RESETCONNECTION = 0x08
ST_RESETCONNECTIONSKIPTRAN = 0x10

DONE_MORE, DONE_ERROR, DONE_INXACT, DONE_COUNT, DONE_ATTN = 0x1, 0x2, 0x4, 0x10, 0x20
DONE_RPCINBATCH, DONE_SRVERROR = 0x80, 0x100
DONE_BITS = {DONE_MORE: "MORE", DONE_ERROR: "ERROR", DONE_INXACT: "INXACT", DONE_COUNT: "COUNT",
             DONE_ATTN: "ATTN", DONE_RPCINBATCH: "RPCINBATCH", DONE_SRVERROR: "SRVERROR"}
CURCMD_SELECT = 0xC1

TOKEN_NAMES = {0x81: "COLMETADATA", 0xD1: "ROW", 0xD2: "NBCROW", 0xA9: "ORDER", 0xA5: "COLINFO",
               0xA4: "TABNAME", 0xAA: "ERROR", 0xAB: "INFO", 0xAD: "LOGINACK",
               0xAE: "FEATUREEXTACK", 0xE3: "ENVCHANGE", 0xFD: "DONE", 0xFE: "DONEPROC",
               0xFF: "DONEINPROC", 0x79: "RETURNSTATUS", 0xAC: "RETURNVALUE", 0xED: "SSPI",
               0xEE: "FEDAUTHINFO", 0xE4: "SESSIONSTATE", 0xA3: "DATACLASSIFICATION",
               0x78: "OFFSET", 0x88: "ALTMETADATA", 0xD3: "ALTROW"}
DONE_KINDS = ("DONE", "DONEPROC", "DONEINPROC")

ENV_NAMES = {1: "database", 2: "language", 3: "charset", 4: "packetsize", 5: "sort-lcid",
             6: "sort-flags", 7: "collation", 8: "begin-tran", 9: "commit-tran",
             10: "rollback-tran", 11: "enlist-dtc", 12: "defect-tran", 13: "mirror-partner",
             15: "promote-tran", 16: "tm-address", 17: "tran-ended", 18: "reset-ack",
             19: "user-instance", 20: "routing", 21: "enhanced-routing"}

# TM request types ([2.2.6.9])
TM_GET_DTC_ADDRESS, TM_PROPAGATE_XACT, TM_BEGIN_XACT, TM_PROMOTE_XACT = 0, 1, 5, 6
TM_COMMIT_XACT, TM_ROLLBACK_XACT, TM_SAVE_XACT = 7, 8, 9

# RPC ProcIDs ([2.2.6.6])
SP_EXECUTESQL, SP_PREPARE, SP_EXECUTE, SP_PREPEXEC, SP_UNPREPARE = 10, 11, 12, 13, 15

# Latin1_General_CI_AS / SQL_Latin1_General_CP1_CI_AS as the spec examples write it
DEFAULT_COLLATION = bytes.fromhex("0904D00034")


# ---- data types ([2.2.5.4]) -----------------------------------------------------------------

FIXED = {0x1F: ("NULLTYPE", 0), 0x30: ("INT1", 1), 0x32: ("BIT", 1), 0x34: ("INT2", 2),
         0x38: ("INT4", 4), 0x3A: ("DATETIM4", 4), 0x3B: ("FLT4", 4), 0x3C: ("MONEY", 8),
         0x3D: ("DATETIME", 8), 0x3E: ("FLT8", 8), 0x7A: ("MONEY4", 4), 0x7F: ("INT8", 8)}
BYTELEN = {0x24: "GUID", 0x26: "INTN", 0x68: "BITN", 0x6D: "FLTN", 0x6E: "MONEYN",
           0x6F: "DATETIMN", 0x2F: "CHAR", 0x27: "VARCHAR", 0x2D: "BINARY", 0x25: "VARBINARY"}
DECIMALS = {0x37: "DECIMAL", 0x3F: "NUMERIC", 0x6A: "DECIMALN", 0x6C: "NUMERICN"}
SCALED = {0x29: "TIMEN", 0x2A: "DATETIME2N", 0x2B: "DATETIMEOFFSETN"}   # 7.3+
USHORTLEN = {0xA5: "BIGVARBINARY", 0xAD: "BIGBINARY", 0xA7: "BIGVARCHAR", 0xAF: "BIGCHAR",
             0xE7: "NVARCHAR", 0xEF: "NCHAR"}
CHAR_USHORT = (0xA7, 0xAF, 0xE7, 0xEF)
LONGLEN = {0x23: "TEXT", 0x63: "NTEXT", 0x22: "IMAGE", 0x62: "SSVARIANT"}
VALID_N_LEN = {0x26: (1, 2, 4, 8), 0x68: (1,), 0x6D: (4, 8), 0x6E: (4, 8), 0x6F: (4, 8),
               0x24: (16,)}
SCALE_LEN = {0x29: (3, 3, 3, 4, 4, 5, 5, 5), 0x2A: (6, 6, 6, 7, 7, 8, 8, 8),
             0x2B: (8, 8, 8, 9, 9, 10, 10, 10)}   # by scale 0..7 ([2.2.5.4.3] + [2.2.5.5.1.8])


@dataclass
class TypeInfo:
    code: int
    wire: str                       # the token name: INT4, INTN, NVARCHAR, ...
    size: int | None = None         # TYPE_VARLEN / MAX_BYTE_SIZE (0xFFFF for PLP max types)
    precision: int | None = None
    scale: int | None = None
    collation: bytes | None = None
    plp: bool = False
    table: list[str] | None = None  # text/ntext/image TableName parts (COLMETADATA only)

    @property
    def fixed(self) -> bool:
        return self.code in FIXED

    def sql(self) -> str:
        """The SQL type this TYPE_INFO describes ("int", "nvarchar(300)", "varbinary(max)")."""
        c, n = self.code, self.size
        if c in FIXED or c in VALID_N_LEN:
            n = FIXED[c][1] if c in FIXED else n
            return {(0x30, 1): "tinyint", (0x26, 1): "tinyint", (0x34, 2): "smallint",
                    (0x26, 2): "smallint", (0x38, 4): "int", (0x26, 4): "int",
                    (0x7F, 8): "bigint", (0x26, 8): "bigint", (0x32, 1): "bit",
                    (0x68, 1): "bit", (0x3B, 4): "real", (0x6D, 4): "real",
                    (0x3E, 8): "float", (0x6D, 8): "float", (0x3A, 4): "smalldatetime",
                    (0x6F, 4): "smalldatetime", (0x3D, 8): "datetime", (0x6F, 8): "datetime",
                    (0x7A, 4): "smallmoney", (0x6E, 4): "smallmoney", (0x3C, 8): "money",
                    (0x6E, 8): "money", (0x24, 16): "uniqueidentifier",
                    (0x1F, 0): "null"}.get((c, n), f"{self.wire}({n})")
        if c in DECIMALS:
            kind = "numeric" if c in (0x3F, 0x6C) else "decimal"
            return f"{kind}({self.precision},{self.scale})"
        if c == 0x28:
            return "date"
        if c in SCALED:
            return {0x29: "time", 0x2A: "datetime2", 0x2B: "datetimeoffset"}[c] + f"({self.scale})"
        if c in USHORTLEN:
            base = {0xA5: "varbinary", 0xAD: "binary", 0xA7: "varchar", 0xAF: "char",
                    0xE7: "nvarchar", 0xEF: "nchar"}[c]
            if self.plp:
                return f"{base}(max)"
            return f"{base}({n // 2 if c in (0xE7, 0xEF) else n})"
        if c in (0x2F, 0x27, 0x2D, 0x25):
            return {0x2F: "char", 0x27: "varchar", 0x2D: "binary", 0x25: "varbinary"}[c] + f"({n})"
        return {0x23: "text", 0x63: "ntext", 0x22: "image", 0x62: "sql_variant", 0xF1: "xml",
                0xF0: "udt", 0xF4: "json"}.get(c, f"0x{c:02X}")

    def describe(self) -> str:
        s = f"{self.sql()} [{self.wire} 0x{self.code:02X}"
        if self.size is not None and not self.fixed:
            s += f" len={self.size:#x}" if self.plp else f" len={self.size}"
        if self.collation is not None:
            s += f" coll={self.collation.hex()}"
        if self.table is not None:
            s += f" table={'.'.join(self.table)!r}"
        return s + "]"


@dataclass
class Column:
    name: str
    usertype: int
    flags: int
    type: TypeInfo

    @property
    def nullable(self) -> bool:
        return bool(self.flags & 0x0001)

    def describe(self) -> str:
        return (f"{self.name!r} {self.type.describe()} "
                f"{'NULL' if self.nullable else 'NOT NULL'} flags={self.flags:#06x}"
                + (f" usertype={self.usertype}" if self.usertype else ""))


@dataclass
class Variant:
    """A non-NULL sql_variant value: its base type and the decoded value."""
    base: TypeInfo
    value: Any

    def __repr__(self) -> str:
        return f"variant<{self.base.sql()}>{self.value!r}"


# ---- errors and the reader ------------------------------------------------------------------

class StreamError(AssertionError):
    """The bytes do not follow MS-TDS at the negotiated version."""

    def __init__(self, msg: str, offset: int):
        super().__init__(msg)
        self.msg, self.offset = msg, offset


class Reader:
    def __init__(self, data: bytes, start: int = 0, end: int | None = None):
        self.b = data
        self.i = start
        self.end = len(data) if end is None else end

    def left(self) -> int:
        return self.end - self.i

    def take(self, n: int, what: str = "") -> bytes:
        if n < 0 or self.i + n > self.end:
            raise StreamError(f"truncated{' ' + what if what else ''}: needs {n} bytes, "
                              f"{self.end - self.i} left", self.i)
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def u8(self, what=""): return self.take(1, what)[0]
    def u16(self, what=""): return struct.unpack("<H", self.take(2, what))[0]
    def u32(self, what=""): return struct.unpack("<I", self.take(4, what))[0]
    def i32(self, what=""): return struct.unpack("<i", self.take(4, what))[0]
    def u64(self, what=""): return struct.unpack("<Q", self.take(8, what))[0]

    def b_varchar(self, what="") -> str:
        return self._text(self.u8(what) * 2, what)

    def us_varchar(self, what="") -> str:
        return self._text(self.u16(what) * 2, what)

    def _text(self, n: int, what: str) -> str:
        at = self.i
        raw = self.take(n, what)
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError as e:
            raise StreamError(f"{what}: invalid UTF-16LE ({e})", at) from None

    def b_varbyte(self, what="") -> bytes:
        return self.take(self.u8(what), what)


def _fail(msg: str, at: int):
    raise StreamError(msg, at)


def read_type_info(r: Reader, lay: Layout, where: str) -> TypeInfo:
    """TYPE_INFO ([2.2.5.6]), with the per-version rules. `where` is COLMETADATA,
    RETURNVALUE or SSVARIANT (TableName only in COLMETADATA)."""
    at = r.i
    c = r.u8("type")
    if c in FIXED:
        return TypeInfo(c, FIXED[c][0], FIXED[c][1])
    if c in VALID_N_LEN:
        n = r.u8("length")
        if n not in VALID_N_LEN[c]:
            _fail(f"{BYTELEN[c]} with length {n} (valid: {VALID_N_LEN[c]})", at)
        return TypeInfo(c, BYTELEN[c], n)
    if c in BYTELEN:   # legacy CHAR/VARCHAR/BINARY/VARBINARY
        return TypeInfo(c, BYTELEN[c], r.u8("length"))
    if c in DECIMALS:
        n, p, s = r.u8("length"), r.u8("precision"), r.u8("scale")
        if not (1 <= p <= 38 and s <= p):
            _fail(f"{DECIMALS[c]} precision {p} scale {s}", at)
        want = 5 if p <= 9 else 9 if p <= 19 else 13 if p <= 28 else 17   # [2.2.5.5.1.6]
        if n != want:
            _fail(f"{DECIMALS[c]}({p},{s}) with max length {n} (must be {want})", at)
        return TypeInfo(c, DECIMALS[c], n, p, s)
    if c == 0x28 or c in SCALED:
        if lay.rank < 730:
            _fail(f"type 0x{c:02X} (date/time family) exists only from TDS 7.3, "
                  f"negotiated {lay.name}", at)
        if c == 0x28:
            return TypeInfo(c, "DATEN")
        s = r.u8("scale")
        if s > 7:
            _fail(f"{SCALED[c]} scale {s} > 7", at)
        return TypeInfo(c, SCALED[c], scale=s)
    if c in USHORTLEN:
        n = r.u16("max length")
        plp = n == 0xFFFF
        if plp and c not in (0xA5, 0xA7, 0xE7):
            _fail(f"{USHORTLEN[c]} with length 0xFFFF", at)
        if plp and lay.rank < 720:
            _fail(f"{USHORTLEN[c]}(max) (PLP) exists only from TDS 7.2, negotiated {lay.name}",
                  at)
        if not plp and (n > 8000 or (c in (0xE7, 0xEF) and n % 2)):
            _fail(f"{USHORTLEN[c]} with max length {n}", at)
        coll = r.take(5, "collation") if (c in CHAR_USHORT and lay.collation) else None
        return TypeInfo(c, USHORTLEN[c], n, collation=coll, plp=plp)
    if c in LONGLEN:
        n = r.u32("max length")
        if c == 0x62:
            if lay.rank < 710:
                _fail(f"sql_variant sent to a TDS {lay.name} client (SQL Server converts it "
                      f"for TDS 7.0 clients)", at)
            return TypeInfo(c, "SSVARIANT", n)
        coll = r.take(5, "collation") if (c in (0x23, 0x63) and lay.collation) else None
        table = None
        if where == "COLMETADATA":
            if lay.wide:
                parts = r.u8("NumParts")
                table = [r.us_varchar("PartName") for _ in range(parts)]
            else:
                table = [r.us_varchar("TableName")]
        return TypeInfo(c, LONGLEN[c], n, collation=coll, table=table)
    if c == 0xF1:   # XML: SCHEMA_PRESENT [DbName OWNING_SCHEMA XML_SCHEMA_COLLECTION]
        if lay.rank < 720:
            _fail(f"xml exists only from TDS 7.2, negotiated {lay.name}", at)
        if r.u8("SCHEMA_PRESENT"):
            r.b_varchar("DbName"), r.b_varchar("OWNING_SCHEMA")
            r.us_varchar("XML_SCHEMA_COLLECTION")
        return TypeInfo(c, "XML", 0xFFFF, plp=True)
    if c == 0xF0:   # UDT_INFO_IN_COLMETADATA
        if lay.rank < 720:
            _fail(f"udt exists only from TDS 7.2, negotiated {lay.name}", at)
        n = r.u16("MAX_BYTE_SIZE")
        r.b_varchar("DB_NAME"), r.b_varchar("SCHEMA_NAME"), r.b_varchar("TYPE_NAME")
        r.us_varchar("ASSEMBLY_QUALIFIED_NAME")
        return TypeInfo(c, "UDT", n, plp=True)
    _fail(f"unknown data type 0x{c:02X} in {where}", at)


def _dt_days(days: int, base=dt.datetime(1900, 1, 1)) -> dt.datetime:
    return base + dt.timedelta(days=days)


def _time_of(raw: bytes, scale: int) -> dt.timedelta:
    units = int.from_bytes(raw, "little")
    micros = units * 10 ** 6 // 10 ** scale if scale <= 6 else units // 10 ** (scale - 6)
    return dt.timedelta(microseconds=micros)


def _date_of(raw: bytes) -> dt.date:
    return dt.date(1, 1, 1) + dt.timedelta(days=int.from_bytes(raw, "little"))


def decode_fixed(code: int, raw: bytes, at: int, scale: int | None = None) -> Any:
    """A non-NULL value of a fixed-size representation (also used inside INTN & co)."""
    n = len(raw)
    if code in (0x30, 0x34, 0x38, 0x7F, 0x26):
        return int.from_bytes(raw, "little", signed=n != 1)   # tinyint is unsigned
    if code in (0x32, 0x68):
        if raw[0] not in (0, 1):
            _fail(f"bit value {raw[0]}", at)
        return bool(raw[0])
    if code in (0x3B, 0x3E, 0x6D):
        return struct.unpack("<f" if n == 4 else "<d", raw)[0]
    if code in (0x3C, 0x7A, 0x6E):
        if n == 4:
            return decimal.Decimal(struct.unpack("<i", raw)[0]) / 10000
        hi, lo = struct.unpack("<iI", raw)
        return decimal.Decimal((hi << 32) | lo) / 10000
    if code in (0x3D, 0x3A, 0x6F):
        if n == 4:
            days, minutes = struct.unpack("<HH", raw)
            return _dt_days(days) + dt.timedelta(minutes=minutes)
        days, ticks = struct.unpack("<iI", raw)
        if ticks >= 300 * 86400:
            _fail(f"datetime with {ticks} ticks (> one day)", at)
        return _dt_days(days) + dt.timedelta(microseconds=round(ticks * 10 ** 6 / 300))
    if code == 0x24:
        return uuid.UUID(bytes_le=raw)
    if code == 0x28:
        return _date_of(raw)
    if code == 0x29:
        return (dt.datetime.min + _time_of(raw, scale)).time()
    if code in (0x2A, 0x2B):
        tlen = len(raw) - 3 - (2 if code == 0x2B else 0)
        value = (dt.datetime.combine(_date_of(raw[tlen:tlen + 3]), dt.time())
                 + _time_of(raw[:tlen], scale))
        if code == 0x2A:
            return value
        (offset,) = struct.unpack("<h", raw[tlen + 3:])
        if not -840 <= offset <= 840:
            _fail(f"datetimeoffset offset {offset} minutes out of -840..840", at)
        tz = dt.timezone(dt.timedelta(minutes=offset))
        return value.replace(tzinfo=dt.timezone.utc).astimezone(tz)   # stored as UTC
    _fail(f"no decoder for type 0x{code:02X}", at)


def _decimal(raw: bytes, scale: int, at: int) -> decimal.Decimal:
    if raw[0] not in (0, 1):
        _fail(f"decimal sign byte {raw[0]}", at)
    mag = int.from_bytes(raw[1:], "little")
    return decimal.Decimal(mag if raw[0] else -mag).scaleb(-scale)


def _text_value(raw: bytes, ti: TypeInfo, at: int):
    if ti.code in (0xE7, 0xEF, 0x63):
        if len(raw) % 2:
            _fail(f"{ti.wire} value of odd length {len(raw)}", at)
        return raw.decode("utf-16-le", errors="strict")
    if ti.code in (0xA7, 0xAF, 0x23, 0x2F, 0x27):
        utf8 = ti.collation is not None and bool(ti.collation[3] & 0x04)   # fUTF8 ([2.2.5.1.2])
        return raw.decode("utf-8" if utf8 else "cp1252", errors="replace")
    return raw   # binary


def read_plp(r: Reader, what: str) -> bytes | None:
    at = r.i
    total = r.u64(f"{what} PLP length")
    if total == 0xFFFFFFFFFFFFFFFF:
        return None
    out = b""
    while True:
        n = r.u32(f"{what} PLP chunk length")
        if n == 0:
            break
        out += r.take(n, f"{what} PLP chunk")
    if total != 0xFFFFFFFFFFFFFFFE and total != len(out):
        _fail(f"{what}: PLP length says {total}, chunks hold {len(out)}", at)
    return out


def read_variant(r: Reader, lay: Layout, total: int, at: int) -> Variant:
    """SSVARIANT_INSTANCE ([2.2.5.5.4]): base type, prop bytes, properties, value."""
    end = r.i + total
    base = r.u8("variant base type")
    nprop = r.u8("variant prop bytes")
    expect = {**{k: 0 for k in (0x24, 0x32, 0x30, 0x34, 0x38, 0x7F, 0x3D, 0x3A, 0x3B, 0x3E, 0x3C,
                                0x7A, 0x28)},
              0x29: 1, 0x2A: 1, 0x2B: 1, 0xA5: 2, 0xAD: 2, 0x6C: 2, 0x6A: 2,
              0xA7: 7, 0xAF: 7, 0xE7: 7, 0xEF: 7}
    if base not in expect:
        _fail(f"sql_variant base type 0x{base:02X} not allowed", at)
    if nprop != expect[base]:
        _fail(f"sql_variant base 0x{base:02X} with {nprop} property bytes "
              f"(expected {expect[base]})", at)
    props = r.take(nprop, "variant properties")
    n = end - r.i
    if n <= 0:
        _fail("sql_variant without a value (a NULL must be the whole variant)", at)
    raw = r.take(n, "variant value")
    if base in FIXED:
        if n != FIXED[base][1]:
            _fail(f"sql_variant {FIXED[base][0]} value of {n} bytes", at)
        ti = TypeInfo(base, FIXED[base][0], n)
        return Variant(ti, decode_fixed(base, raw, at))
    if base == 0x24:
        return Variant(TypeInfo(base, "GUID", 16), decode_fixed(base, raw, at))
    if base == 0x28:
        return Variant(TypeInfo(base, "DATEN"), decode_fixed(base, raw, at))
    if base in SCALED:
        s = props[0]
        if s > 7 or n != SCALE_LEN[base][s]:
            _fail(f"sql_variant {SCALED[base]} scale {s} with {n} bytes", at)
        return Variant(TypeInfo(base, SCALED[base], scale=s), decode_fixed(base, raw, at, s))
    if base in (0x6A, 0x6C):
        ti = TypeInfo(base, DECIMALS[base], None, props[0], props[1])
        return Variant(ti, _decimal(raw, props[1], at))
    if base in (0xA5, 0xAD):
        ti = TypeInfo(base, USHORTLEN[base], struct.unpack("<H", props)[0])
        return Variant(ti, raw)
    ti = TypeInfo(base, USHORTLEN[base], struct.unpack("<H", props[5:])[0], collation=props[:5])
    return Variant(ti, _text_value(raw, ti, at))


def read_value(r: Reader, ti: TypeInfo, lay: Layout, what: str) -> Any:
    """TYPE_VARBYTE for one value of type ti. Returns None for NULL."""
    at = r.i
    c = ti.code
    if c in FIXED:
        if c == 0x1F:
            return None
        return decode_fixed(c, r.take(FIXED[c][1], what), at)
    if ti.plp:
        raw = read_plp(r, what)
        return None if raw is None else _text_value(raw, ti, at)
    if c in VALID_N_LEN:
        n = r.u8(what)
        if n == 0:
            return None
        if n != ti.size:
            _fail(f"{what}: {ti.wire}({ti.size}) value of length {n}", at)
        return decode_fixed(c, r.take(n, what), at)
    if c in DECIMALS:
        n = r.u8(what)
        if n == 0:
            return None
        if n - 1 not in (4, 8, 12, 16) or n > ti.size:
            _fail(f"{what}: {ti.wire} value of length {n} (max {ti.size})", at)
        return _decimal(r.take(n, what), ti.scale, at)
    if c == 0x28 or c in SCALED:
        n = r.u8(what)
        if n == 0:
            return None
        want = 3 if c == 0x28 else SCALE_LEN[c][ti.scale]
        if n != want:
            _fail(f"{what}: {ti.sql()} value of length {n} (must be {want})", at)
        return decode_fixed(c, r.take(n, what), at, ti.scale)
    if c in BYTELEN:   # legacy types
        n = r.u8(what)
        return None if n == 0 else _text_value(r.take(n, what), ti, at)
    if c in USHORTLEN:
        n = r.u16(what)
        if n == 0xFFFF:
            return None
        if n > ti.size:
            _fail(f"{what}: {ti.sql()} value of {n} bytes", at)
        return _text_value(r.take(n, what), ti, at)
    if c in (0x23, 0x63, 0x22):
        ptr = r.b_varbyte(f"{what} TextPointer")
        if not ptr:
            return None
        r.take(8, f"{what} Timestamp")
        n = r.u32(what)
        if n == 0xFFFFFFFF:
            return None
        return _text_value(r.take(n, what), ti, at)
    if c == 0x62:
        n = r.u32(what)
        if n == 0:
            return None
        if n > ti.size:
            _fail(f"{what}: sql_variant of {n} bytes (max {ti.size})", at)
        return read_variant(r, lay, n, at)
    _fail(f"no value reader for {ti.describe()}", at)


# ---- tokens ---------------------------------------------------------------------------------

def short(v: Any, limit: int = 72) -> str:
    """repr(v), long strings/bytes cut in the middle so dumps stay readable."""
    if isinstance(v, (list, tuple)):
        inner = ", ".join(short(x, limit) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
    r = repr(v)
    if len(r) <= limit:
        return r
    n = len(v) if isinstance(v, (str, bytes)) else len(r)
    unit = "bytes" if isinstance(v, bytes) else "chars"
    return f"{r[:limit // 2]}...{r[-limit // 4:]} ({n} {unit})"


class Token:
    """One token: kind ("DONE", "ROW", ...), its byte offset in the message, and fields."""

    def __init__(self, kind: str, off: int, **fields):
        self.kind, self.off = kind, off
        self.__dict__.update(fields)

    def describe(self) -> str:
        k = self.kind
        if k in DONE_KINDS:
            bits = "|".join(n for b, n in DONE_BITS.items() if self.status & b) or "FINAL"
            return (f"status={self.status:#06x} {bits} curcmd={self.curcmd:#06x} "
                    f"rows={self.rowcount}")
        if k in ("ERROR", "INFO"):
            return (f"{self.number} state={self.state} class={self.cls} {short(self.text, 200)} "
                    f"server={self.server!r} proc={self.proc!r} line={self.line}")
        if k == "ENVCHANGE":
            name = ENV_NAMES.get(self.type, "?")
            return f"type={self.type} ({name}) new={short(self.new)} old={short(self.old)}"
        if k == "LOGINACK":
            return (f"interface={self.interface} tds={self.tds_version:#010x} "
                    f"prog={self.prog_name!r} version={'.'.join(map(str, self.prog_version))}")
        if k == "FEATUREEXTACK":
            return " ".join(f"0x{f:02X}:{d.hex() or '-'}" for f, d in self.features) or "(none)"
        if k == "COLMETADATA":
            if self.columns is None:
                return "no metadata (0xFFFF)"
            return f"{len(self.columns)} column(s)\n" + "\n".join(
                f"      [{i}] {c.describe()}" for i, c in enumerate(self.columns))
        if k in ("ROW", "NBCROW"):
            return short(tuple(self.values))
        if k == "RETURNSTATUS":
            return str(self.value)
        if k == "RETURNVALUE":
            return (f"ordinal={self.ordinal} name={self.name!r} status={self.status:#04x} "
                    f"{self.type.describe()} flags={self.flags:#06x} value={short(self.value)}")
        if k == "ORDER":
            return f"columns={self.columns}"
        return ", ".join(f"{a}={v!r}" for a, v in self.__dict__.items() if a not in ("kind", "off"))

    def __repr__(self) -> str:
        return f"<{self.kind} @{self.off} {self.describe()}>"


def _envchange(r: Reader, lay: Layout, at: int) -> Token:
    t = r.u8("ENVCHANGE type")

    def zero(side):   # %x00: one zero byte
        b = r.u8(f"ENVCHANGE {t} {side}")
        if b:
            _fail(f"ENVCHANGE type {t}: {side} must be 0x00, got length {b}", at)
        return b""

    if t in (8, 9, 10, 11, 12, 16, 17, 18, 19, 13, 15) and lay.rank < 720:
        _fail(f"ENVCHANGE type {t} exists only from TDS 7.2 (negotiated {lay.name})", at)
    if t == 21 and lay.rank < 740:
        _fail("ENVCHANGE type 21 exists only from TDS 7.4", at)
    if t in (1, 2, 3, 4):
        new, old = r.b_varchar("new value"), r.b_varchar("old value")
    elif t in (5, 6, 13, 19):
        new, old = r.b_varchar("new value"), zero("old value")
    elif t == 7:
        new, old = r.b_varbyte("new collation"), r.b_varbyte("old collation")
        for v in (new, old):
            if len(v) not in (0, 5):
                _fail(f"ENVCHANGE collation of {len(v)} bytes (5 or empty)", at)
    elif t in (8, 9, 10, 11, 12, 17):
        # [2.2.7.9] table: 8 and 12 carry NEWVALUE, 9/10/11/17 OLDVALUE; the notes say 8, 11
        # and 17 carry a NEWVALUE ULONGLONG. Read both sides as B_VARBYTE of 0 or 8 bytes (what
        # SqlClient does) and check the side per type below.
        new, old = r.b_varbyte("new value"), r.b_varbyte("old value")
        for v in (new, old):
            if len(v) not in (0, 8):
                _fail(f"ENVCHANGE type {t}: transaction descriptor of {len(v)} bytes (8)", at)
        side = {8: "new", 12: "new", 9: "old", 10: "old"}.get(t)
        if side == "new" and (len(new) != 8 or old):
            _fail(f"ENVCHANGE type {t}: NEWVALUE must be the 8-byte descriptor, OLDVALUE 0x00", at)
        if side == "old" and (len(old) != 8 or new):
            _fail(f"ENVCHANGE type {t}: OLDVALUE must be the 8-byte descriptor, NEWVALUE 0x00", at)
        if side is None and len(new) + len(old) != 8:
            _fail(f"ENVCHANGE type {t}: exactly one side carries the 8-byte descriptor", at)
    elif t == 15:
        # "LENGTH for ENVCHANGE type 15 is sent as 0x01": the payload follows outside Length
        new = r.take(r.u32("DTC token length"), "DTC token")
        old = zero("old value")
    elif t == 16:
        new, old = r.b_varbyte("TM address"), zero("old value")
    elif t == 18:
        new, old = zero("new value"), zero("old value")
    elif t in (20, 21):
        n = r.u16("RoutingDataValueLength")
        sub = Reader(r.b, r.i, r.i + n)
        proto, port = sub.u8("Protocol"), sub.u16("ProtocolProperty")
        server = sub.us_varchar("AlternateServer")
        db = sub.us_varchar("AlternateDatabase") if t == 21 else None
        if sub.left():
            _fail("routing data longer than its fields", sub.i)
        r.i += n
        if r.u16("routing old value"):
            _fail("routing OLDVALUE must be 0x0000", at)
        new, old = (proto, port, server, db), b""
    else:
        _fail(f"unknown ENVCHANGE type {t}", at)
    return Token("ENVCHANGE", at, type=t, new=new, old=old)


def _info_error(kind: str, r: Reader, lay: Layout, at: int) -> Token:
    n = r.u16("length")
    body = Reader(r.b, r.i, r.i + n)
    f = dict(number=body.i32("Number"), state=body.u8("State"), cls=body.u8("Class"),
             text=body.us_varchar("MsgText"), server=body.b_varchar("ServerName"),
             proc=body.b_varchar("ProcName"))
    f["line"] = body.i32("LineNumber") if lay.wide else body.u16("LineNumber")
    if body.left():
        _fail(f"{kind}: Length {n} but the fields end {body.left()} bytes earlier "
              f"(LineNumber width at TDS {lay.name} is {4 if lay.wide else 2})", body.i)
    r.i += n
    return Token(kind, at, **f)


def _done(kind: str, r: Reader, lay: Layout, at: int) -> Token:
    status, cmd = r.u16("Status"), r.u16("CurCmd")
    rows = r.u64("DoneRowCount") if lay.wide else r.u32("DoneRowCount")
    allowed = sum(DONE_BITS) if kind == "DONEPROC" else sum(DONE_BITS) - DONE_RPCINBATCH
    if status & ~allowed:
        _fail(f"{kind} status {status:#06x} has unknown bits {status & ~allowed:#06x}", at)
    if kind == "DONEINPROC" and status & DONE_ATTN:
        _fail("DONEINPROC with DONE_ATTN", at)
    return Token(kind, at, status=status, curcmd=cmd, rowcount=rows)


def _colmetadata(r: Reader, lay: Layout, at: int) -> Token:
    count = r.u16("Count")
    if count == 0xFFFF:
        return Token("COLMETADATA", at, columns=None)
    if count == 0:
        _fail("COLMETADATA with 0 columns", at)
    cols = []
    for i in range(count):
        ut = r.u32(f"column {i} UserType") if lay.wide else r.u16(f"column {i} UserType")
        fl = r.u16(f"column {i} Flags")
        if fl & 0x0800:   # fEncrypted: only when column encryption was negotiated (never here)
            _fail(f"column {i}: fEncrypted set but COLUMNENCRYPTION was not negotiated", r.i)
        ti = read_type_info(r, lay, "COLMETADATA")
        name = r.b_varchar(f"column {i} ColName")
        cols.append(Column(name, ut, fl, ti))
    return Token("COLMETADATA", at, columns=cols)


def _row(kind: str, r: Reader, lay: Layout, at: int, cols: list[Column] | None) -> Token:
    if not cols:
        _fail(f"{kind} without a preceding COLMETADATA", at)
    nulls = set()
    if kind == "NBCROW":
        if lay.rank < 731:
            _fail(f"NBCROW exists only from TDS 7.3B (negotiated {lay.name})", at)
        bm = r.take((len(cols) + 7) // 8, "null bitmap")
        nulls = {i for i in range(len(cols)) if bm[i // 8] >> (i % 8) & 1}
    vals = []
    for i, c in enumerate(cols):
        vals.append(None if i in nulls else read_value(r, c.type, lay, f"column {i} {c.name!r}"))
    return Token(kind, at, values=vals)


def _returnvalue(r: Reader, lay: Layout, at: int) -> Token:
    ordinal = r.u16("ParamOrdinal")
    name = r.b_varchar("ParamName")
    status = r.u8("Status")
    if status not in (0x01, 0x02):
        _fail(f"RETURNVALUE status {status:#04x} (0x01 output parameter, 0x02 UDF)", at)
    ut = r.u32("UserType") if lay.wide else r.u16("UserType")
    fl = r.u16("Flags")
    if fl & 0x0800:
        _fail("RETURNVALUE fEncrypted without COLUMNENCRYPTION", at)
    ti = read_type_info(r, lay, "RETURNVALUE")
    val = read_value(r, ti, lay, f"RETURNVALUE {name!r}")
    return Token("RETURNVALUE", at, ordinal=ordinal, name=name, status=status, usertype=ut,
                 flags=fl, type=ti, value=val)


def _featureextack(r: Reader, lay: Layout, at: int) -> Token:
    if lay.rank < 740:
        _fail(f"FEATUREEXTACK exists only from TDS 7.4 (negotiated {lay.name})", at)
    feats = []
    while True:
        fid = r.u8("FeatureId")
        if fid == 0xFF:
            return Token("FEATUREEXTACK", at, features=feats)
        feats.append((fid, r.take(r.u32("FeatureAckDataLen"), "FeatureAckData")))


def parse_tokens(payload: bytes, lay: Layout) -> list[Token]:
    """Every token of one server message, strictly. Raises StreamError (with .tokens holding
    what was read before the bad byte) on anything it cannot account for."""
    r = Reader(payload)
    out: list[Token] = []
    cols: list[Column] | None = None
    try:
        while r.left():
            at = r.i
            t = r.u8()
            kind = TOKEN_NAMES.get(t)
            if kind == "COLMETADATA":
                tok = _colmetadata(r, lay, at)
                cols = tok.columns
            elif kind in ("ROW", "NBCROW"):
                tok = _row(kind, r, lay, at, cols)
            elif kind in ("ERROR", "INFO"):
                tok = _info_error(kind, r, lay, at)
            elif kind in DONE_KINDS:
                tok = _done(kind, r, lay, at)
            elif kind == "ENVCHANGE":
                n = r.u16("length")
                if n == 1 and r.left() > 1 and r.b[r.i] == 15:
                    # "LENGTH for ENVCHANGE type 15 is sent as 0x01": the payload follows it
                    tok = _envchange(r, lay, at)
                else:
                    sub = Reader(r.b, r.i, r.i + n)
                    if r.i + n > len(payload):
                        _fail(f"ENVCHANGE Length {n} runs past the message", at)
                    tok = _envchange(sub, lay, at)
                    if sub.left():
                        _fail(f"ENVCHANGE type {tok.type}: Length {n} leaves {sub.left()} "
                              f"unread bytes", sub.i)
                    r.i += n
            elif kind == "LOGINACK":
                n = r.u16("length")
                sub = Reader(r.b, r.i, r.i + n)
                iface = sub.u8("Interface")
                ver = struct.unpack(">I", sub.take(4, "TDSVersion"))[0]
                prog = sub.b_varchar("ProgName")
                pv = tuple(sub.take(4, "ProgVersion"))
                if sub.left():
                    _fail(f"LOGINACK Length {n} leaves {sub.left()} unread bytes", sub.i)
                r.i += n
                tok = Token("LOGINACK", at, interface=iface, tds_version=ver, prog_name=prog,
                            prog_version=(pv[0], pv[1], pv[2] << 8 | pv[3]))
                if ver in ACK_RANK:   # later tokens use the acknowledged layout
                    lay = Layout(ACK_RANK[ver])
            elif kind == "FEATUREEXTACK":
                tok = _featureextack(r, lay, at)
            elif kind == "RETURNSTATUS":
                tok = Token(kind, at, value=struct.unpack("<i", r.take(4, "Value"))[0])
            elif kind == "RETURNVALUE":
                tok = _returnvalue(r, lay, at)
            elif kind == "ORDER":
                n = r.u16("length")
                if n % 2:
                    _fail(f"ORDER length {n} is odd", at)
                tok = Token(kind, at, columns=[r.u16("ColNum") for _ in range(n // 2)])
            elif kind in ("COLINFO", "TABNAME"):
                # Only sent for FOR BROWSE queries; accounted for by length, bytes kept.
                n = r.u16("length")
                tok = Token(kind, at, raw=r.take(n, kind))
            elif kind is None:
                _fail(f"unknown token 0x{t:02X}", at)
            else:
                _fail(f"token {kind} (0x{t:02X}) is never sent to this client (not negotiated)",
                      at)
            out.append(tok)
    except StreamError as e:
        e.tokens = out
        raise
    return out


def layouts_that_parse(payload: bytes, exclude: int | None = None) -> list[str]:
    """Names of the versions whose layout reads the whole message (a diagnostic)."""
    ok = []
    for rank in sorted(RANK_NAME):
        if rank == exclude:
            continue
        try:
            parse_tokens(payload, Layout(rank))
            ok.append(RANK_NAME[rank])
        except StreamError:
            pass
    return ok


# ---- dumps ----------------------------------------------------------------------------------

def hexdump(b: bytes, start: int = 0, mark: int | None = None, width: int = 16) -> str:
    lines = []
    for off in range(start - start % width, len(b), width):
        chunk = b[off:off + width]
        hx = " ".join(("[" if mark == off + i else "") + f"{x:02x}" for i, x in enumerate(chunk))
        asc = "".join(chr(x) if 32 <= x < 127 else "." for x in chunk)
        lines.append(f"  {off:06x}  {hx:<{width * 3 + 1}} {asc}")
    return "\n".join(lines)


def dump(tokens: list[Token]) -> str:
    return "\n".join(f"  @{t.off:<5d} {t.kind:<13s} {t.describe()}" for t in tokens)


# ---- requests -------------------------------------------------------------------------------

def utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


def all_headers(descriptor: int = 0, outstanding: int = 1) -> bytes:
    """ALL_HEADERS with only the (required) transaction descriptor header ([2.2.5.3])."""
    txn = struct.pack("<IHQI", 18, 2, descriptor, outstanding)
    return struct.pack("<I", 4 + len(txn)) + txn


def feature_ext_block(features: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("<BI", f, len(d)) + d for f, d in features) + b"\xff"


# UTF8_SUPPORT (0x0A, client supports UTF-8) and an id SQL Server does not know (0x42), which
# [2.2.6.4] says a server "MUST skip" and must never acknowledge.
DEFAULT_FEATURES = [(0x0A, b"\x01"), (0x42, b"\xde\xad\xbe\xef")]


def login7(version: TdsVersion, user: str, password: str, *, host: str, app: str,
           server: str = "localhost", library: str = "tds-conformance", language: str = "",
           database: str = "", packet_size: int = 4096,
           features: list[tuple[int, bytes]] | None = None) -> bytes:
    """LOGIN7 ([2.2.6.4]). 86-byte fixed part for 7.0/7.1/7.1rev1 (no ibChangePassword/
    cchChangePassword/cbSSPILong), 94 for 7.2+. With features (7.4+): fExtension in
    OptionFlags3, ibExtension -> a DWORD ibFeatureExtLong -> the FeatureExt block at the end."""
    fixed = 86 if version.fixed86 else 94
    use_ext = features is not None

    def scramble(s: str) -> bytes:
        return bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in utf16(s))

    data = b""
    offsets = b""

    def add(blob: bytes, count: int) -> None:
        nonlocal data, offsets
        offsets += struct.pack("<HH", fixed + len(data), count)
        data += blob

    add(utf16(host), len(host))
    add(utf16(user), len(user))
    add(scramble(password), len(password))
    add(utf16(app), len(app))
    add(utf16(server), len(server))
    ext_at = len(data)
    add(b"\0\0\0\0" if use_ext else b"", 4 if use_ext else 0)    # ibExtension / ibUnused
    add(utf16(library), len(library))
    add(utf16(language), len(language))
    add(utf16(database), len(database))
    offsets += b"\x00\x11\x22\x33\x44\x55"                  # ClientID
    offsets += struct.pack("<HH", fixed + len(data), 0)     # SSPI
    offsets += struct.pack("<HH", fixed + len(data), 0)     # AtchDBFile
    if not version.fixed86:
        offsets += struct.pack("<HH", fixed + len(data), 0)  # ChangePassword
        offsets += struct.pack("<I", 0)                       # cbSSPILong
    if use_ext:
        fe_off = fixed + len(data)
        data = data[:ext_at] + struct.pack("<I", fe_off) + data[ext_at + 4:]
        data += feature_ext_block(features)
    flags3 = 0x10 if use_ext else 0x00
    head = struct.pack("<IIIIII", fixed + len(data), version.login, packet_size, 0x07000000,
                       os.getpid() & 0xFFFFFFFF, 0)
    # OptionFlags1: fUseDB|fDatabase|fSetLang (0xE0); OptionFlags2: fLanguage|fODBC (0x03)
    head += bytes([0xE0, 0x03, 0x00, flags3])
    head += struct.pack("<iI", 0, 0x0409)
    body = head + offsets
    assert len(body) == fixed, (len(body), fixed)
    return body + data


def sql_batch(sql: str, lay: Layout, descriptor: int = 0) -> bytes:
    """SQLBatch ([2.2.6.7]): ALL_HEADERS from TDS 7.2 on, none before."""
    return (all_headers(descriptor) if lay.wide else b"") + utf16(sql)


def tm_request(rtype: int, payload: bytes = b"", descriptor: int = 0) -> bytes:
    return all_headers(descriptor) + struct.pack("<H", rtype) + payload


def bvarbyte_name(name: str) -> bytes:
    """A transaction or savepoint name: B_VARBYTE of its UTF-16LE bytes (as SqlClient sends)."""
    b = utf16(name)
    return bytes([len(b)]) + b


def tm_begin_payload(isolation: int = 0, name: str = "") -> bytes:
    """TM_BEGIN_XACT: ISOLATION_LEVEL BEGIN_XACT_NAME."""
    return bytes([isolation]) + bvarbyte_name(name)


def tm_end_payload(name: str = "", begin_new: bool = False, isolation: int = 0,
                   new_name: str = "") -> bytes:
    """TM_COMMIT_XACT / TM_ROLLBACK_XACT: XACT_NAME XACT_FLAGS [ISOLATION_LEVEL BEGIN_XACT_NAME]."""
    p = bvarbyte_name(name) + bytes([0x01 if begin_new else 0x00])
    if begin_new:
        p += bytes([isolation]) + bvarbyte_name(new_name)
    return p


def tm_save_payload(name: str) -> bytes:
    return bvarbyte_name(name)


TM_DTC_PAYLOAD = b"\x00\x00"   # TM_GET_DTC_ADDRESS: a zero-length US_VARBYTE


# RPC parameters: (name, status, type_info_bytes, value_bytes)
@dataclass
class Param:
    name: str
    type_info: bytes
    value: bytes
    output: bool = False

    def encode(self) -> bytes:
        n = utf16(self.name)
        return bytes([len(self.name)]) + n + bytes([0x01 if self.output else 0x00]) \
            + self.type_info + self.value


def p_int(name: str, value: int | None, output: bool = False) -> Param:
    v = b"\x00" if value is None else b"\x04" + struct.pack("<i", value)
    return Param(name, b"\x26\x04", v, output)


def p_nvarchar(name: str, value: str, lay: Layout) -> Param:
    """nvarchar(4000) (8000 bytes max), COLLATION from TDS 7.1."""
    b = utf16(value)
    assert len(b) <= 8000, "p_nvarchar holds at most 4000 characters"
    ti = b"\xe7" + struct.pack("<H", 8000) + (DEFAULT_COLLATION if lay.collation else b"")
    return Param(name, ti, struct.pack("<H", len(b)) + b)


def rpc_request(proc: int | str, params: list[Param], lay: Layout, descriptor: int = 0,
                option_flags: int = 0) -> bytes:
    """RPCRequest ([2.2.6.6]): ALL_HEADERS (7.2+), NameLenProcID, OptionFlags, parameters."""
    out = all_headers(descriptor) if lay.wide else b""
    if isinstance(proc, int):
        out += struct.pack("<HH", 0xFFFF, proc)
    else:
        out += struct.pack("<H", len(proc)) + utf16(proc)
    out += struct.pack("<H", option_flags)
    return out + b"".join(p.encode() for p in params)


# ---- prelogin -------------------------------------------------------------------------------

def parse_prelogin(payload: bytes) -> dict[int, bytes]:
    """PRELOGIN options ([2.2.6.5]): token -> data. Strict about the option table."""
    opts: dict[int, bytes] = {}
    i = 0
    while True:
        if i >= len(payload):
            raise StreamError("PRELOGIN option table without TERMINATOR", i)
        tok = payload[i]
        if tok == 0xFF:
            break
        if i + 5 > len(payload):
            raise StreamError("PRELOGIN option entry truncated", i)
        _, off, n = struct.unpack_from(">BHH", payload, i)
        if off + n > len(payload):
            raise StreamError(f"PRELOGIN option {tok} points past the payload", i)
        opts[tok] = payload[off:off + n]
        i += 5
    return opts


# ---- the client -----------------------------------------------------------------------------

@dataclass
class PacketInfo:
    type: int
    status: int
    length: int
    spid: int
    packet_id: int


@dataclass
class Response:
    """One server message: what it answered, its packets and its tokens (or why they failed)."""
    what: str
    layout: Layout
    payload: bytes
    packets: list[PacketInfo]
    tokens: list[Token] = field(default_factory=list)
    parse_error: StreamError | None = None
    packet_size: int = 4096       # the size in force when the answer was read

    # -- readable failures
    def text(self) -> str:
        what = self.what if len(self.what) <= 160 else self.what[:110] + " ... " + self.what[-40:]
        head = (f"--- server answer to {what} (TDS {self.layout.name} layout, "
                f"{len(self.payload)} bytes in {len(self.packets)} packet(s): "
                + ", ".join(f"type={p.type:#04x} status={p.status:#04x} len={p.length} "
                            f"spid={p.spid}" for p in self.packets[:4])
                + (" ..." if len(self.packets) > 4 else "") + ")")
        body = dump(self.tokens) if self.tokens else "  (no token read)"
        if self.parse_error is not None:
            at = self.parse_error.offset
            lo = max(0, at - 48)
            body += (f"\n  !! stream error at byte {at}: {self.parse_error.msg}\n"
                     + hexdump(self.payload[:at + 64], lo, mark=at))
            others = layouts_that_parse(self.payload, exclude=self.layout.rank)
            body += ("\n  (the whole message parses with the layout of TDS "
                     + ", ".join(others) + ")" if others else
                     "\n  (no other TDS version's layout parses it either)")
        return f"{head}\n{body}"

    def fail(self, msg: str) -> AssertionError:
        return AssertionError(f"{msg}\n{self.text()}")

    def check(self, cond: bool, msg: str) -> None:
        __tracebackhide__ = True   # pytest: the caller's line, then the message and the dump
        if not cond:
            raise self.fail(msg)

    # -- queries
    def of(self, kind: str) -> list[Token]:
        return [t for t in self.tokens if t.kind == kind]

    def one(self, kind: str) -> Token:
        found = self.of(kind)
        self.check(len(found) == 1, f"expected exactly one {kind} token, found {len(found)}")
        return found[0]

    def env(self, t: int) -> list[Token]:
        return [x for x in self.tokens if x.kind == "ENVCHANGE" and x.type == t]

    @property
    def errors(self) -> list[Token]:
        return self.of("ERROR")

    @property
    def dones(self) -> list[Token]:
        return [t for t in self.tokens if t.kind in DONE_KINDS]

    def result_sets(self) -> list[tuple[list[Column], list[list[Any]], Token | None]]:
        """(columns, rows, the DONE*/next token that closed it) per COLMETADATA."""
        out = []
        cur = None
        for t in self.tokens:
            if t.kind == "COLMETADATA":
                cur = (t.columns, [], None)
                out.append(cur)
            elif t.kind in ("ROW", "NBCROW") and cur is not None:
                cur[1].append(t.values)
            elif t.kind in DONE_KINDS and cur is not None:
                out[-1] = (cur[0], cur[1], t)
                cur = None
        return out


class Conn(R.TdsConn):
    """rawtds.TdsConn that also keeps each packet's SPID and PacketID."""

    def read_full_message(self) -> tuple[bytes, list[PacketInfo]]:
        pkts, data = [], b""
        while True:
            deadline = time.monotonic() + self.timeout
            h = self._take(R.HEADER_LEN, deadline)
            ptype, status, length, spid, pid, _win = struct.unpack(">BBHHBB", h)
            if length < R.HEADER_LEN:
                raise R.ProtocolError(f"packet length {length} below 8")
            data += self._take(length - R.HEADER_LEN, deadline)
            pkts.append(PacketInfo(ptype, status, length, spid, pid))
            if status & R.STATUS_EOM:
                return data, pkts

    def tls_first_handshake(self, ctx: ssl.SSLContext, server_hostname: str) -> ssl.SSLObject:
        """TDS 8.0: TLS straight on TCP before any TDS byte ([MS-TDS 3.3.5.1])."""
        tls = ctx.wrap_bio(self._in, self._out, server_hostname=server_hostname)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            out = self._out.read()
            if out:
                self.sock.sendall(out)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("TLS-first handshake did not finish before the deadline")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise R.ProtocolError("server closed during the TLS-first handshake")
            self._in.write(data)
        out = self._out.read()
        if out:
            self.sock.sendall(out)
        self.tls = tls
        return tls


class Session:
    """One logged-in (or refused) raw TDS connection at a chosen version."""

    def __init__(self, conn: Conn, version: TdsVersion, user: str, app: str, hostname: str):
        self.conn = conn
        self.version = version
        self.user, self.app, self.hostname = user, app, hostname
        self.layout = Layout(version.rank)    # until LOGINACK says otherwise
        self.descriptor = 0
        self.prelogin: dict[int, bytes] = {}
        self.login_response: Response | None = None
        self.alpn: str | None = None
        self.packet_size = 4096
        self.features: list[tuple[int, bytes]] | None = None
        self.loginack: Token | None = None
        self.login_db: str | None = None
        self.language: str | None = None
        self.collation: bytes | None = None
        self.spid: int | None = None

    # -- connect + login
    @classmethod
    def open(cls, port: int, version: TdsVersion, *, host: str = "127.0.0.1",
             ca: str | None = None, user: str = "lab", password: str = "lab-password",
             app: str = "tds-conformance", hostname: str = "conformance-host",
             database: str = "", features: list[tuple[int, bytes]] | None = None,
             timeout: float = 5.0) -> "Session":
        sock = R.connect(port, host=host, timeout=timeout)
        conn = Conn(sock, timeout=timeout)
        s = cls(conn, version, user, app, hostname)
        try:
            if version.tls_first:
                ctx = ssl.create_default_context(cafile=ca)
                ctx.set_alpn_protocols(["tds/8.0"])
                tls = conn.tls_first_handshake(ctx, "localhost")
                s.alpn = tls.selected_alpn_protocol()
            # PRELOGIN: NOT_SUP in clear (serve --encryption none answers NOT_SUP, so LOGIN7
            # goes in clear); inside TLS-first the ENCRYPTION byte is not used (0x02 like
            # SqlClient/tedious/FreeTDS send there).
            conn.send_raw(R.prelogin_packet(R.ENCRYPT_NOT_SUP))
            payload, pk = conn.read_full_message()
            if pk[0].type != R.TABULAR_RESULT:
                raise AssertionError(f"PRELOGIN answer is packet type {pk[0].type:#04x}, not 0x04")
            s.prelogin = parse_prelogin(payload)
            enc = s.prelogin.get(0x01, b"?")
            if not version.tls_first and enc != bytes([R.ENCRYPT_NOT_SUP]):
                raise AssertionError(f"PRELOGIN ENCRYPTION answer {enc.hex()} to a NOT_SUP "
                                     f"client (expected 02: run serve --encryption none)")
            if features is None and version.feature_ext:
                features = DEFAULT_FEATURES
            s.features = features if version.feature_ext else None
            body = login7(version, user, password, host=hostname, app=app, database=database,
                          features=s.features)
            s.login_response = s._exchange(R.LOGIN7, body, f"LOGIN7 TDS {version.name} "
                                           f"(TDSVersion {version.login:#010x})")
        except (OSError, R.ProtocolError, TimeoutError, ssl.SSLError) as e:
            conn.close()
            raise AssertionError(f"TDS {version.name}: connection failed before the login "
                                 f"answer: {type(e).__name__}: {e}") from None
        ack = s.login_response.of("LOGINACK")
        if ack and ack[-1].tds_version in ACK_RANK:
            s.layout = Layout(ACK_RANK[ack[-1].tds_version])
        for t in s.login_response.env(4):
            try:
                s.packet_size = int(t.new)
            except ValueError:
                pass
        lr = s.login_response
        s.loginack = ack[-1] if ack else None
        s.login_db = lr.env(1)[-1].new if lr.env(1) else None
        s.language = lr.env(2)[-1].new if lr.env(2) else None
        s.collation = lr.env(7)[-1].new if lr.env(7) else None
        s.spid = lr.packets[0].spid if lr.packets else None
        return s

    @property
    def logged_in(self) -> bool:
        lr = self.login_response
        return (lr is not None and lr.parse_error is None and self.loginack is not None
                and not lr.errors and bool(lr.tokens) and lr.tokens[-1].kind == "DONE"
                and not lr.tokens[-1].status & DONE_ERROR)

    # -- requests
    def _exchange(self, ptype: int, payload: bytes, what: str, status: int = 0,
                  parse_layout: Layout | None = None) -> Response:
        pkts = R.packets(ptype, payload, self.packet_size)
        if status:   # RESETCONNECTION & co: first packet of the request only
            pkts = pkts[:1] + bytes([pkts[1] | status]) + pkts[2:]
        try:
            self.conn.send_raw(pkts)
            data, infos = self.conn.read_full_message()
        except (OSError, R.ProtocolError, TimeoutError, ssl.SSLError) as e:
            raise AssertionError(f"no answer to {what}: {type(e).__name__}: {e}") from None
        lay = parse_layout or self.layout
        resp = Response(what, lay, data, infos, packet_size=self.packet_size)
        try:
            resp.tokens = parse_tokens(data, lay)
        except StreamError as e:
            resp.tokens = getattr(e, "tokens", [])
            resp.parse_error = e
        self._track(resp)
        return resp

    def _track(self, resp: Response) -> None:
        for t in resp.tokens:
            if t.kind == "ENVCHANGE":
                if t.type == 8 and len(t.new) == 8:
                    self.descriptor = struct.unpack("<Q", t.new)[0]
                elif t.type in (9, 10, 17):
                    self.descriptor = 0

    def batch(self, sql: str, *, descriptor: int | None = None, status: int = 0) -> Response:
        d = self.descriptor if descriptor is None else descriptor
        flags = {ST_RESETCONNECTION: " [RESETCONNECTION]",
                 ST_RESETCONNECTIONSKIPTRAN: " [RESETCONNECTIONSKIPTRAN]"}.get(status, "")
        return self._exchange(R.SQL_BATCH, sql_batch(sql, self.layout, d),
                              f"SQL batch {sql!r}{flags}", status)

    def rpc(self, proc: int | str, params: list[Param], *,
            descriptor: int | None = None) -> Response:
        d = self.descriptor if descriptor is None else descriptor
        name = {10: "sp_executesql", 12: "sp_execute", 13: "sp_prepexec",
                15: "sp_unprepare"}.get(proc, proc) if isinstance(proc, int) else proc
        how = f"ProcID {proc}" if isinstance(proc, int) else "by name"
        return self._exchange(PKT_RPC, rpc_request(proc, params, self.layout, d),
                              f"RPC {name} ({how})")

    def tm(self, rtype: int, payload: bytes = b"", *, descriptor: int | None = None) -> Response:
        d = self.descriptor if descriptor is None else descriptor
        name = {0: "TM_GET_DTC_ADDRESS", 5: "TM_BEGIN_XACT", 7: "TM_COMMIT_XACT",
                8: "TM_ROLLBACK_XACT", 9: "TM_SAVE_XACT"}.get(rtype, str(rtype))
        return self._exchange(PKT_TM, tm_request(rtype, payload, d),
                              f"{name} (descriptor {d:#x})")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- stream rules shared by every response --------------------------------------------------

def check_stream(resp: Response, *, final: str = "DONE") -> None:
    """Rules every answer must follow, whatever the request:
    - it parses, strictly, to exactly the end of the message ([2.2.7]);
    - packets are type 0x04, no longer than the negotiated packet size, EOM on the last only;
    - the last token is `final` without DONE_MORE; every earlier DONE* has DONE_MORE
      ([2.2.7.6] "all but the final DONE token have DONE_MORE");
    - a DONEINPROC is followed by a DONEINPROC or DONEPROC ([2.2.7.7]);
    - DONE_ERROR is preceded by an ERROR token ([2.2.7.6] SHOULD; SQL Server does);
    - an ERROR of class >= 11 is followed by a DONE* with DONE_ERROR or DONE_SRVERROR;
    - DONE_COUNT after a result set counts its rows.
    """
    __tracebackhide__ = True
    resp.check(resp.parse_error is None, "the token stream does not parse")
    for i, p in enumerate(resp.packets):
        resp.check(p.type == R.TABULAR_RESULT, f"packet {i} has type {p.type:#04x}, not 0x04")
        resp.check(p.length <= resp.packet_size, f"packet {i} is {p.length} bytes, more than the "
                                                 f"negotiated packet size {resp.packet_size}")
        resp.check(p.spid == resp.packets[0].spid, f"packet {i}: SPID changed within a message")
        resp.check(not p.status & ~R.STATUS_EOM, f"packet {i}: status {p.status:#04x} has bits "
                                                 f"a server does not send")
        last = i == len(resp.packets) - 1
        resp.check(bool(p.status & R.STATUS_EOM) == last,
                   f"packet {i}: EOM {'missing on the last' if last else 'on a non-last'} packet")
    resp.check(bool(resp.tokens), "empty answer (a DONE is the least a server sends)")
    last = resp.tokens[-1]
    resp.check(last.kind == final, f"the last token is {last.kind}, expected {final}")
    resp.check(not last.status & DONE_MORE, f"the final {final} has DONE_MORE")
    dones = resp.dones
    for d in dones[:-1]:
        resp.check(bool(d.status & DONE_MORE), f"{d.kind} @{d.off} is not last but lacks DONE_MORE")
    for a, b in zip(dones, dones[1:]):
        if a.kind == "DONEINPROC":
            resp.check(b.kind in ("DONEINPROC", "DONEPROC"),
                       f"DONEINPROC @{a.off} followed by {b.kind} @{b.off}")
    for t in resp.tokens:
        # SQL Server sends messages of severity <= 10 as INFO (class 0, appendix A <53>) and
        # errors (11+) as ERROR ([2.2.7.10] class table).
        if t.kind == "INFO":
            resp.check(t.cls <= 10, f"INFO {t.number} @{t.off} with class {t.cls} (an error)")
        if t.kind == "ERROR":
            resp.check(t.cls >= 11, f"ERROR {t.number} @{t.off} with class {t.cls} (an INFO)")
    since_done: list[Token] = []
    rows = None
    for t in resp.tokens:
        if t.kind == "COLMETADATA":
            rows = 0
        elif t.kind in ("ROW", "NBCROW"):
            rows = (rows or 0) + 1
        if t.kind in DONE_KINDS:
            errs = [x for x in since_done if x.kind == "ERROR"]
            if t.status & DONE_ERROR:
                resp.check(bool(errs), f"{t.kind} @{t.off} has DONE_ERROR without an ERROR token")
            if any(e.cls >= 11 for e in errs):
                resp.check(bool(t.status & (DONE_ERROR | DONE_SRVERROR)),
                           f"{t.kind} @{t.off} after an ERROR of class >= 11 lacks DONE_ERROR")
            if rows is not None and t.status & DONE_COUNT:
                resp.check(t.rowcount == rows,
                           f"{t.kind} @{t.off} DONE_COUNT says {t.rowcount} rows, "
                           f"the result set had {rows}")
            since_done, rows = [], None
        else:
            since_done.append(t)
