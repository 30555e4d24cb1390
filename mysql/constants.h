#pragma once

// MySQL and MariaDB client/server protocol constants (MySQL source documentation "Client/Server
// Protocol", MariaDB KB "Client/Server Protocol"). Standard library only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mysql {

// Capability flags, the lower 32 bits both servers share (MySQL's CLIENT_*). MariaDB servers
// clear bit 0 (CLIENT_MYSQL, MySQL's CLIENT_LONG_PASSWORD) and then carry 32 more capability
// bits in the last 4 bytes of the greeting's and the client's reserved filler.
namespace cap {
inline constexpr std::uint32_t LongPassword = 1U << 0; // MariaDB: CLIENT_MYSQL
inline constexpr std::uint32_t FoundRows = 1U << 1;
inline constexpr std::uint32_t LongFlag = 1U << 2;
inline constexpr std::uint32_t ConnectWithDb = 1U << 3;
inline constexpr std::uint32_t NoSchema = 1U << 4;
inline constexpr std::uint32_t Compress = 1U << 5;
inline constexpr std::uint32_t Odbc = 1U << 6;
inline constexpr std::uint32_t LocalFiles = 1U << 7;
inline constexpr std::uint32_t IgnoreSpace = 1U << 8;
inline constexpr std::uint32_t Protocol41 = 1U << 9;
inline constexpr std::uint32_t Interactive = 1U << 10;
inline constexpr std::uint32_t Ssl = 1U << 11;
inline constexpr std::uint32_t IgnoreSigpipe = 1U << 12;
inline constexpr std::uint32_t Transactions = 1U << 13;
inline constexpr std::uint32_t Reserved = 1U << 14;
inline constexpr std::uint32_t SecureConnection = 1U << 15; // "Reserved2" in MySQL 8
inline constexpr std::uint32_t MultiStatements = 1U << 16;
inline constexpr std::uint32_t MultiResults = 1U << 17;
inline constexpr std::uint32_t PsMultiResults = 1U << 18;
inline constexpr std::uint32_t PluginAuth = 1U << 19;
inline constexpr std::uint32_t ConnectAttrs = 1U << 20;
inline constexpr std::uint32_t PluginAuthLenencData = 1U << 21;
inline constexpr std::uint32_t CanHandleExpiredPasswords = 1U << 22;
inline constexpr std::uint32_t SessionTrack = 1U << 23;
inline constexpr std::uint32_t DeprecateEof = 1U << 24;
inline constexpr std::uint32_t OptionalResultsetMetadata = 1U << 25;
inline constexpr std::uint32_t ZstdCompression = 1U << 26;
inline constexpr std::uint32_t QueryAttributes = 1U << 27;
inline constexpr std::uint32_t MultiFactorAuth = 1U << 28;
inline constexpr std::uint32_t CapabilityExtension = 1U << 29;
inline constexpr std::uint32_t SslVerifyServerCert = 1U << 30;
inline constexpr std::uint32_t RememberOptions = 1U << 31;
} // namespace cap

// MariaDB's extended capabilities (the upper 32 bits, MARIADB_CLIENT_*).
namespace mariadb_cap {
inline constexpr std::uint32_t Progress = 1U << 0;
inline constexpr std::uint32_t ComMulti = 1U << 1;
inline constexpr std::uint32_t StmtBulkOperations = 1U << 2;
inline constexpr std::uint32_t ExtendedMetadata = 1U << 3;
inline constexpr std::uint32_t CacheMetadata = 1U << 4;
inline constexpr std::uint32_t BulkUnitResults = 1U << 5;
} // namespace mariadb_cap

// Server status flags (SERVER_STATUS_*).
namespace status {
inline constexpr std::uint16_t InTrans = 0x0001;
inline constexpr std::uint16_t Autocommit = 0x0002;
inline constexpr std::uint16_t MoreResultsExists = 0x0008;
inline constexpr std::uint16_t NoGoodIndexUsed = 0x0010;
inline constexpr std::uint16_t NoIndexUsed = 0x0020;
inline constexpr std::uint16_t CursorExists = 0x0040;
inline constexpr std::uint16_t LastRowSent = 0x0080;
inline constexpr std::uint16_t DbDropped = 0x0100;
inline constexpr std::uint16_t NoBackslashEscapes = 0x0200;
inline constexpr std::uint16_t MetadataChanged = 0x0400;
inline constexpr std::uint16_t QueryWasSlow = 0x0800;
inline constexpr std::uint16_t PsOutParams = 0x1000;
inline constexpr std::uint16_t InTransReadonly = 0x2000;
inline constexpr std::uint16_t SessionStateChanged = 0x4000;
} // namespace status

// Commands: the first byte of a packet the client sends after authentication.
enum class Command : std::uint8_t {
    Sleep = 0x00,
    Quit = 0x01,
    InitDb = 0x02,
    Query = 0x03,
    FieldList = 0x04,
    CreateDb = 0x05,
    DropDb = 0x06,
    Refresh = 0x07,
    Shutdown = 0x08,
    Statistics = 0x09,
    ProcessInfo = 0x0A,
    Connect = 0x0B,
    ProcessKill = 0x0C,
    Debug = 0x0D,
    Ping = 0x0E,
    Time = 0x0F,
    DelayedInsert = 0x10,
    ChangeUser = 0x11,
    BinlogDump = 0x12,
    TableDump = 0x13,
    ConnectOut = 0x14,
    RegisterSlave = 0x15,
    StmtPrepare = 0x16,
    StmtExecute = 0x17,
    StmtSendLongData = 0x18,
    StmtClose = 0x19,
    StmtReset = 0x1A,
    SetOption = 0x1B,
    StmtFetch = 0x1C,
    Daemon = 0x1D,
    BinlogDumpGtid = 0x1E,
    ResetConnection = 0x1F,
    Clone = 0x20,
};
// "COM_QUERY"; a byte that is no command gives "COM_0x.." (see command_name).
std::string_view to_string(Command c);
// command_name: the name of any first byte ("COM_QUERY", "COM_0x7F" for an unknown one).
std::string command_name(std::uint8_t first_byte);

// Column types (enum_field_types) as the binary protocol and column definitions carry them.
enum class ColumnType : std::uint8_t {
    Decimal = 0x00,
    Tiny = 0x01,
    Short = 0x02,
    Long = 0x03,
    Float = 0x04,
    Double = 0x05,
    Null = 0x06,
    Timestamp = 0x07,
    LongLong = 0x08,
    Int24 = 0x09,
    Date = 0x0A,
    Time = 0x0B,
    DateTime = 0x0C,
    Year = 0x0D,
    NewDate = 0x0E,
    VarChar = 0x0F,
    Bit = 0x10,
    Timestamp2 = 0x11,
    DateTime2 = 0x12,
    Time2 = 0x13,
    TypedArray = 0x14,
    Vector = 0xF2,
    Json = 0xF5,
    NewDecimal = 0xF6,
    Enum = 0xF7,
    Set = 0xF8,
    TinyBlob = 0xF9,
    MediumBlob = 0xFA,
    LongBlob = 0xFB,
    Blob = 0xFC,
    VarString = 0xFD,
    String = 0xFE,
    Geometry = 0xFF,
};
std::string_view to_string(ColumnType t);
// is_column_type: whether a byte read from the wire names one of the types above.
bool is_column_type(std::uint8_t b);

// Column definition flags (*_FLAG).
namespace column_flag {
inline constexpr std::uint16_t NotNull = 0x0001;
inline constexpr std::uint16_t PrimaryKey = 0x0002;
inline constexpr std::uint16_t UniqueKey = 0x0004;
inline constexpr std::uint16_t MultipleKey = 0x0008;
inline constexpr std::uint16_t Blob = 0x0010;
inline constexpr std::uint16_t Unsigned = 0x0020;
inline constexpr std::uint16_t Zerofill = 0x0040;
inline constexpr std::uint16_t Binary = 0x0080;
inline constexpr std::uint16_t Enum = 0x0100;
inline constexpr std::uint16_t AutoIncrement = 0x0200;
inline constexpr std::uint16_t Timestamp = 0x0400;
inline constexpr std::uint16_t Set = 0x0800;
inline constexpr std::uint16_t NoDefaultValue = 0x1000;
inline constexpr std::uint16_t OnUpdateNow = 0x2000;
inline constexpr std::uint16_t Num = 0x8000;
} // namespace column_flag

// Character set / collation ids the lab uses.
namespace charset {
inline constexpr std::uint8_t Latin1SwedishCi = 8;
inline constexpr std::uint8_t Utf8mb3GeneralCi = 33;
inline constexpr std::uint8_t Binary = 63;
inline constexpr std::uint8_t Utf8mb4GeneralCi = 45;
inline constexpr std::uint8_t Utf8mb4UnicodeCi = 224;
inline constexpr std::uint8_t Utf8mb4_0900AiCi = 255; // MySQL 8.0's default
} // namespace charset

// Packet framing limits.
inline constexpr std::size_t kMaxPayloadChunk = 0xFFFFFF; // a longer payload continues
// The default bound of one logical packet (MySQL's max_allowed_packet is 64 MiB by default;
// a lab proxy refuses beyond this).
inline constexpr std::size_t kDefaultMaxPacket = 64 * 1024 * 1024;

} // namespace mysql
