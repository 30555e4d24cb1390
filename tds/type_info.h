#pragma once

#include <cstdint>
#include <expected>

#include <tds/byte_reader.h>
#include <tds/byte_writer.h>
#include <tds/error.h>
#include <tds/sql_types.h>
#include <tds/version.h>

namespace tds {

// TYPE_INFO and data values on the wire (MS-TDS 2.2.5.4-2.2.5.6), for one protocol level.
// A server writes them in COLMETADATA, ROW and RETURNVALUE; a client writes them for RPC
// parameters, which the server reads.

// Type tokens (MS-TDS 2.2.5.4).
namespace type_token {
inline constexpr std::uint8_t kNull = 0x1F;
inline constexpr std::uint8_t kInt1 = 0x30;
inline constexpr std::uint8_t kBit = 0x32;
inline constexpr std::uint8_t kInt2 = 0x34;
inline constexpr std::uint8_t kInt4 = 0x38;
inline constexpr std::uint8_t kDateTim4 = 0x3A;
inline constexpr std::uint8_t kFlt4 = 0x3B;
inline constexpr std::uint8_t kMoney = 0x3C;
inline constexpr std::uint8_t kDateTime = 0x3D;
inline constexpr std::uint8_t kFlt8 = 0x3E;
inline constexpr std::uint8_t kMoney4 = 0x7A;
inline constexpr std::uint8_t kInt8 = 0x7F;
inline constexpr std::uint8_t kGuid = 0x24;
inline constexpr std::uint8_t kIntN = 0x26;
inline constexpr std::uint8_t kDecimal = 0x37; // legacy
inline constexpr std::uint8_t kNumeric = 0x3F; // legacy
inline constexpr std::uint8_t kBitN = 0x68;
inline constexpr std::uint8_t kDecimalN = 0x6A;
inline constexpr std::uint8_t kNumericN = 0x6C;
inline constexpr std::uint8_t kFltN = 0x6D;
inline constexpr std::uint8_t kMoneyN = 0x6E;
inline constexpr std::uint8_t kDateTimN = 0x6F;
inline constexpr std::uint8_t kDateN = 0x28;
inline constexpr std::uint8_t kTimeN = 0x29;
inline constexpr std::uint8_t kDateTime2N = 0x2A;
inline constexpr std::uint8_t kDateTimeOffsetN = 0x2B;
inline constexpr std::uint8_t kChar = 0x2F;      // legacy
inline constexpr std::uint8_t kVarChar = 0x27;   // legacy
inline constexpr std::uint8_t kBinary = 0x2D;    // legacy
inline constexpr std::uint8_t kVarBinary = 0x25; // legacy
inline constexpr std::uint8_t kBigVarBinary = 0xA5;
inline constexpr std::uint8_t kBigVarChar = 0xA7;
inline constexpr std::uint8_t kBigBinary = 0xAD;
inline constexpr std::uint8_t kBigChar = 0xAF;
inline constexpr std::uint8_t kNVarChar = 0xE7;
inline constexpr std::uint8_t kNChar = 0xEF;
inline constexpr std::uint8_t kXml = 0xF1;
inline constexpr std::uint8_t kUdt = 0xF0;
inline constexpr std::uint8_t kTvp = 0xF3;
inline constexpr std::uint8_t kJson = 0xF4;
inline constexpr std::uint8_t kVector = 0xF5;
inline constexpr std::uint8_t kText = 0x23;
inline constexpr std::uint8_t kImage = 0x22;
inline constexpr std::uint8_t kNText = 0x63;
inline constexpr std::uint8_t kVariant = 0x62;
} // namespace type_token

// wire_type is the type a server really sends a client of `level` for a declared type: what
// the client's generation does not know is sent the way SQL Server sends it to down-level
// clients (date/time types as nvarchar before 7.3; MAX types as text/ntext/image and
// sql_variant as nvarchar before 7.2; bigint as numeric(19,0) to 7.0).
TypeInfo wire_type(const TypeInfo& declared, Level level);
// wire_value converts a value of the declared type to the wire type wire_type chose.
Value wire_value(const Value& v, const TypeInfo& declared, const TypeInfo& wire);

// write_type_info writes TYPE_INFO for a wire type (after wire_type). Text, ntext and image
// columns in COLMETADATA carry a table name after TYPE_INFO: `with_table_name`.
void write_type_info(ByteWriter& w, const TypeInfo& wire, Level level, bool with_table_name);
// write_value writes one value (ROW data, RETURNVALUE value) of a wire type.
void write_value(ByteWriter& w, const TypeInfo& wire, const Value& v, Level level);

// write_user_type writes COLMETADATA's UserType: ULONG from 7.2, USHORT before.
void write_user_type(ByteWriter& w, std::uint32_t user_type, Level level);

// read_typed_value reads a TYPE_INFO and the value that follows it, as a client writes an RPC
// parameter (MS-TDS 2.2.6.6 ParamMetaData + ParamLenData). Errors: Truncated; BadValue for a
// length the type cannot have; UnknownType for a type token it does not know or cannot size
// (TVP, UDT, vector), which ends the reading of the request.
std::expected<TypedValue, Error> read_typed_value(ByteReader& r, Level level,
                                                  std::uint8_t* token_out = nullptr);

} // namespace tds
