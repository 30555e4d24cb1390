#pragma once

// The data types the stand-in produces and accepts, with PostgreSQL's OIDs, names and sizes,
// and Value: one datum (or NULL) of such a type. Values are converted the way PostgreSQL's
// type input/output and send/receive functions do:
//   - text input (the ...in functions) with their errors: "invalid input syntax for type
//     integer", "value ... is out of range for type bigint", ...;
//   - text output, including float output under extra_float_digits (shortest exact form when
//     it is positive, %g with 15+n / 6+n digits otherwise) and numeric's display scale;
//   - binary send/receive for bool, int2/4/8, oid, float4/8, numeric, text-like types, bytea,
//     date, timestamp(tz), uuid, void, inet (what pgx and asyncpg ask for in binary).

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <standin/postgres/decimal.h>
#include <standin/postgres/server_error.h>

namespace standin::postgres {

namespace oid {
inline constexpr std::uint32_t kBool = 16;
inline constexpr std::uint32_t kBytea = 17;
inline constexpr std::uint32_t kChar = 18;
inline constexpr std::uint32_t kName = 19;
inline constexpr std::uint32_t kInt8 = 20;
inline constexpr std::uint32_t kInt2 = 21;
inline constexpr std::uint32_t kInt4 = 23;
inline constexpr std::uint32_t kRegproc = 24;
inline constexpr std::uint32_t kText = 25;
inline constexpr std::uint32_t kOid = 26;
inline constexpr std::uint32_t kJson = 114;
inline constexpr std::uint32_t kFloat4 = 700;
inline constexpr std::uint32_t kFloat8 = 701;
inline constexpr std::uint32_t kUnknown = 705;
inline constexpr std::uint32_t kInet = 869;
inline constexpr std::uint32_t kBpchar = 1042;
inline constexpr std::uint32_t kVarchar = 1043;
inline constexpr std::uint32_t kDate = 1082;
inline constexpr std::uint32_t kTime = 1083;
inline constexpr std::uint32_t kTimestamp = 1114;
inline constexpr std::uint32_t kTimestamptz = 1184;
inline constexpr std::uint32_t kTimetz = 1266;
inline constexpr std::uint32_t kInterval = 1186;
inline constexpr std::uint32_t kNumeric = 1700;
inline constexpr std::uint32_t kRegclass = 2205;
inline constexpr std::uint32_t kVoid = 2278;
inline constexpr std::uint32_t kUuid = 2950;
inline constexpr std::uint32_t kJsonb = 3802;
} // namespace oid

struct TypeInfo {
    std::uint32_t oid = 0;
    std::string_view name;     // pg_type.typname: "int4" (the column name of a cast)
    std::string_view sql_name; // format_type: "integer" (error messages)
    std::int16_t length = -1;  // typlen
    char category = 'U';       // typcategory: N numeric, S string, B boolean, D datetime, ...
    char kind = 'b';           // typtype
};

const TypeInfo* type_by_oid(std::uint32_t oid);
// type_by_name: a type name as SQL writes it in a cast, lower case ("int", "integer",
// "double precision", "character varying", "timestamptz", "pg_catalog.int4", ...).
const TypeInfo* type_by_name(std::string_view name);
std::string type_sql_name(std::uint32_t oid);

bool is_integer_type(std::uint32_t oid);   // int2, int4, int8
bool is_numeric_family(std::uint32_t oid); // integers, numeric, float4, float8, oid
bool is_string_type(std::uint32_t oid);    // text, varchar, bpchar, name, unknown

struct Value {
    std::uint32_t type = oid::kUnknown;
    bool null = true;
    std::string text;  // canonical text form (all types but floats)
    double real = 0.0; // float4 / float8

    static Value null_of(std::uint32_t type);
    static Value of_text(std::uint32_t type, std::string text);
    static Value of_bool(bool b);
    static Value of_int(std::uint32_t type, std::int64_t v);
    static Value of_float(std::uint32_t type, double v);
    static Value of_numeric(const Decimal& d);

    std::optional<std::int64_t> as_int() const;
    std::optional<double> as_double() const;
    std::optional<Decimal> as_decimal() const;
    std::optional<bool> as_bool() const;
};

// Output formatting options of the session.
struct OutputOptions {
    int extra_float_digits = 1;
};

// parse_text: the type's input function. `position` goes into the error (the literal's place).
std::expected<Value, ServerError> parse_text(std::uint32_t type, std::string_view text,
                                             std::optional<std::size_t> position = std::nullopt,
                                             std::int32_t type_modifier = -1);
// format_text: the type's output function.
std::string format_text(const Value& v, const OutputOptions& options);
std::string format_float(double v, bool single, int extra_float_digits);

// Binary: send and receive functions. receive errors are PostgreSQL's (22P03 "incorrect binary
// data format" for a wrong length).
bool has_binary_send(std::uint32_t type);
std::vector<std::uint8_t> to_binary(const Value& v);
std::expected<Value, ServerError> from_binary(std::uint32_t type,
                                              const std::vector<std::uint8_t>& bytes,
                                              std::size_t parameter_number);

// cast: converts a value to another type as an explicit cast (::type, CAST) does.
std::expected<Value, ServerError> cast_value(const Value& v, std::uint32_t target,
                                             std::int32_t type_modifier,
                                             std::optional<std::size_t> position,
                                             const OutputOptions& options);

} // namespace standin::postgres
