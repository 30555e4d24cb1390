#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tds {

// SqlType names the SQL Server data types the codec reads and writes. The wire encoding (which
// TYPE_INFO token, which length prefix) is type_info.h's job; this file is the model.
enum class SqlType : std::uint8_t {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Decimal,
    Numeric,
    Real,
    Float,
    SmallMoney,
    Money,
    SmallDateTime,
    DateTime,
    Date,
    Time,
    DateTime2,
    DateTimeOffset,
    Char,
    VarChar,
    NChar,
    NVarChar,
    Text,
    NText,
    Binary,
    VarBinary,
    Image,
    UniqueIdentifier,
    Variant,
    Xml,
};

std::string_view to_string(SqlType t);

// kMaxLength marks varchar(max), nvarchar(max), varbinary(max): the PLP encoding (TDS 7.2+).
inline constexpr std::uint32_t kMaxLength = 0xFFFF;

// SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with flags, sort id 52 (SQL Server's default).
inline constexpr std::array<std::uint8_t, 5> kDefaultCollation = {0x09, 0x04, 0xD0, 0x00, 0x34};

// TypeInfo is one column's or parameter's declared type.
struct TypeInfo {
    SqlType type = SqlType::Int;
    // Bytes for character and binary types (nvarchar(10) is 20), kMaxLength for MAX.
    std::uint32_t length = 0;
    std::uint8_t precision = 0; // decimal/numeric
    std::uint8_t scale = 0;     // decimal/numeric, time, datetime2, datetimeoffset
    std::array<std::uint8_t, 5> collation = kDefaultCollation;
    bool nullable = true;
    // sql_variant only: the base type its values carry (int, bigint, tinyint, ...); Variant
    // means "chosen from each value".
    SqlType variant_base = SqlType::Variant;

    bool operator==(const TypeInfo&) const = default;
};

// Shorthands for the types a server declares.
TypeInfo int_type();
TypeInfo bigint_type();
TypeInfo smallint_type();
TypeInfo tinyint_type();
TypeInfo bit_type();
TypeInfo float_type();
TypeInfo decimal_type(std::uint8_t precision, std::uint8_t scale);
TypeInfo numeric_type(std::uint8_t precision, std::uint8_t scale);
TypeInfo nvarchar_type(std::uint32_t chars); // chars > 4000: nvarchar(max)
TypeInfo nchar_type(std::uint32_t chars);
TypeInfo varchar_type(std::uint32_t chars);   // chars > 8000: varchar(max)
TypeInfo varbinary_type(std::uint32_t bytes); // bytes > 8000: varbinary(max)
TypeInfo binary_type(std::uint32_t bytes);
TypeInfo sysname_type(); // nvarchar(128), not null
TypeInfo datetime_type();
TypeInfo datetime2_type(std::uint8_t scale = 7);
TypeInfo datetimeoffset_type(std::uint8_t scale = 7);
TypeInfo variant_type(); // sql_variant

// Decimal is an exact number: its digits (no sign, no point, at least one), the number of
// them after the point, and the sign.
struct Decimal {
    std::string digits = "0";
    std::uint8_t scale = 0;
    bool negative = false;

    bool operator==(const Decimal&) const = default;
};

// DateTime covers every date/time type: days since 0001-01-01, 100 ns ticks since midnight,
// and the offset from UTC in minutes (datetimeoffset only).
struct DateTime {
    std::int32_t days = 0;
    std::uint64_t ticks = 0;
    std::int16_t offset_minutes = 0;

    bool operator==(const DateTime&) const = default;
};

using Bytes = std::vector<std::uint8_t>;
using Guid = std::array<std::uint8_t, 16>;

// Value is one cell or parameter value; monostate is NULL. Character data is UTF-8 here and
// converted at the wire (UTF-16LE for the N types, code page 1252 for the others).
using Value = std::variant<std::monostate, bool, std::int64_t, double, Decimal, std::string, Bytes,
                           DateTime, Guid>;

bool is_null(const Value& v);

// A parameter of an RPC or a sql_variant cell keeps its type with its value.
struct TypedValue {
    TypeInfo type;
    Value value;
};

// Calendar helpers (proleptic Gregorian, as SQL Server's date types).
std::int32_t days_from_civil(int year, unsigned month, unsigned day);
void civil_from_days(std::int32_t days, int& year, unsigned& month, unsigned& day);

// format_value renders a value as SQL Server converts it to nvarchar: datetime as
// "2026-11-29 08:24:16.123", datetime2 with its scale, datetimeoffset with "+00:00", bit as
// 1/0, binary as 0x..., decimal with its scale. NULL gives nullopt.
std::optional<std::string> format_value(const Value& v, const TypeInfo& type);

// Decimal arithmetic on the wire's little-endian magnitude (MS-TDS 2.2.5.5.1.6).
Bytes decimal_to_le(const Decimal& d, std::size_t bytes);
Decimal decimal_from_le(std::span<const std::uint8_t> magnitude, std::uint8_t scale, bool negative);
// Parses "12", "-1.50", "3e5" is not a decimal. nullopt if the text is not a plain decimal.
std::optional<Decimal> parse_decimal(std::string_view text);

// Code page 1252 for varchar data: what the default collation stores.
std::string cp1252_to_utf8(std::span<const std::uint8_t> bytes);
Bytes utf8_to_cp1252(std::string_view text); // unmappable characters become '?'

} // namespace tds
