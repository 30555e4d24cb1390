#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <tds/sql_types.h>
#include <tds/utf16.h>

namespace tds {

std::string_view to_string(SqlType t) {
    switch (t) {
    case SqlType::Bit:
        return "bit";
    case SqlType::TinyInt:
        return "tinyint";
    case SqlType::SmallInt:
        return "smallint";
    case SqlType::Int:
        return "int";
    case SqlType::BigInt:
        return "bigint";
    case SqlType::Decimal:
        return "decimal";
    case SqlType::Numeric:
        return "numeric";
    case SqlType::Real:
        return "real";
    case SqlType::Float:
        return "float";
    case SqlType::SmallMoney:
        return "smallmoney";
    case SqlType::Money:
        return "money";
    case SqlType::SmallDateTime:
        return "smalldatetime";
    case SqlType::DateTime:
        return "datetime";
    case SqlType::Date:
        return "date";
    case SqlType::Time:
        return "time";
    case SqlType::DateTime2:
        return "datetime2";
    case SqlType::DateTimeOffset:
        return "datetimeoffset";
    case SqlType::Char:
        return "char";
    case SqlType::VarChar:
        return "varchar";
    case SqlType::NChar:
        return "nchar";
    case SqlType::NVarChar:
        return "nvarchar";
    case SqlType::Text:
        return "text";
    case SqlType::NText:
        return "ntext";
    case SqlType::Binary:
        return "binary";
    case SqlType::VarBinary:
        return "varbinary";
    case SqlType::Image:
        return "image";
    case SqlType::UniqueIdentifier:
        return "uniqueidentifier";
    case SqlType::Variant:
        return "sql_variant";
    case SqlType::Xml:
        return "xml";
    }
    return "?";
}

namespace {
TypeInfo simple(SqlType t) {
    TypeInfo i;
    i.type = t;
    return i;
}
constexpr std::uint32_t kMaxNChars = 4000;
constexpr std::uint32_t kMaxBytes = 8000;
} // namespace

TypeInfo int_type() {
    return simple(SqlType::Int);
}
TypeInfo bigint_type() {
    return simple(SqlType::BigInt);
}
TypeInfo smallint_type() {
    return simple(SqlType::SmallInt);
}
TypeInfo tinyint_type() {
    return simple(SqlType::TinyInt);
}
TypeInfo bit_type() {
    return simple(SqlType::Bit);
}
TypeInfo float_type() {
    return simple(SqlType::Float);
}
TypeInfo datetime_type() {
    return simple(SqlType::DateTime);
}
TypeInfo variant_type() {
    TypeInfo i = simple(SqlType::Variant);
    i.length = 8016; // SQL Server's maximum sql_variant size
    return i;
}

TypeInfo decimal_type(std::uint8_t precision, std::uint8_t scale) {
    TypeInfo i = simple(SqlType::Decimal);
    i.precision = precision;
    i.scale = scale;
    return i;
}

TypeInfo numeric_type(std::uint8_t precision, std::uint8_t scale) {
    TypeInfo i = decimal_type(precision, scale);
    i.type = SqlType::Numeric;
    return i;
}

TypeInfo nvarchar_type(std::uint32_t chars) {
    TypeInfo i = simple(SqlType::NVarChar);
    i.length = chars > kMaxNChars ? kMaxLength : std::max<std::uint32_t>(chars, 1) * 2;
    return i;
}

TypeInfo nchar_type(std::uint32_t chars) {
    TypeInfo i = simple(SqlType::NChar);
    i.length = std::clamp<std::uint32_t>(chars, 1, kMaxNChars) * 2;
    return i;
}

TypeInfo varchar_type(std::uint32_t chars) {
    TypeInfo i = simple(SqlType::VarChar);
    i.length = chars > kMaxBytes ? kMaxLength : std::max<std::uint32_t>(chars, 1);
    return i;
}

TypeInfo varbinary_type(std::uint32_t bytes) {
    TypeInfo i = simple(SqlType::VarBinary);
    i.length = bytes > kMaxBytes ? kMaxLength : std::max<std::uint32_t>(bytes, 1);
    return i;
}

TypeInfo binary_type(std::uint32_t bytes) {
    TypeInfo i = simple(SqlType::Binary);
    i.length = std::clamp<std::uint32_t>(bytes, 1, kMaxBytes);
    return i;
}

TypeInfo sysname_type() {
    TypeInfo i = nvarchar_type(128);
    i.nullable = false;
    return i;
}

TypeInfo datetime2_type(std::uint8_t scale) {
    TypeInfo i = simple(SqlType::DateTime2);
    i.scale = scale;
    return i;
}

TypeInfo datetimeoffset_type(std::uint8_t scale) {
    TypeInfo i = simple(SqlType::DateTimeOffset);
    i.scale = scale;
    return i;
}

bool is_null(const Value& v) {
    return std::holds_alternative<std::monostate>(v);
}

// Howard Hinnant's civil calendar algorithms, shifted to day 0 = 0001-01-01.
namespace {
constexpr std::int64_t kDaysFrom0000To0001 = 366; // year 0 is a leap year in the proleptic calendar
constexpr std::int64_t kEraDays = 146097;
} // namespace

std::int32_t days_from_civil(int year, unsigned month, unsigned day) {
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // days since 0000-03-01, then to days since 0001-01-01
    const std::int64_t since_0000_03_01 = era * kEraDays + static_cast<std::int64_t>(doe);
    return static_cast<std::int32_t>(since_0000_03_01 + 60 - kDaysFrom0000To0001);
}

void civil_from_days(std::int32_t days, int& year, unsigned& month, unsigned& day) {
    std::int64_t z = static_cast<std::int64_t>(days) + kDaysFrom0000To0001 - 60;
    const std::int64_t era = (z >= 0 ? z : z - kEraDays + 1) / kEraDays;
    const auto doe = static_cast<unsigned>(z - era * kEraDays);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<int>(y + (month <= 2 ? 1 : 0));
}

namespace {

constexpr std::uint64_t kTicksPerSecond = 10'000'000;

std::string date_text(std::int32_t days) {
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    return buf;
}

// time_text: hh:mm:ss plus `digits` fractional digits (0 for none).
std::string time_text(std::uint64_t ticks, unsigned digits) {
    const std::uint64_t secs = ticks / kTicksPerSecond;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02u:%02u:%02u", static_cast<unsigned>(secs / 3600),
                  static_cast<unsigned>(secs / 60 % 60), static_cast<unsigned>(secs % 60));
    std::string out = buf;
    if (digits > 0) {
        std::snprintf(buf, sizeof buf, "%07llu",
                      static_cast<unsigned long long>(ticks % kTicksPerSecond));
        out += '.';
        out += std::string(buf).substr(0, std::min<unsigned>(digits, 7));
    }
    return out;
}

std::string decimal_text(const Decimal& d) {
    std::string digits = d.digits.empty() ? "0" : d.digits;
    if (digits.size() <= d.scale) {
        digits.insert(0, d.scale - digits.size() + 1, '0');
    }
    std::string out = d.negative ? "-" : "";
    out += digits.substr(0, digits.size() - d.scale);
    if (d.scale > 0) {
        out += '.';
        out += digits.substr(digits.size() - d.scale);
    }
    return out;
}

} // namespace

std::optional<std::string> format_value(const Value& v, const TypeInfo& type) {
    struct Visitor {
        const TypeInfo& type;
        std::optional<std::string> operator()(std::monostate) const { return std::nullopt; }
        std::optional<std::string> operator()(bool b) const { return b ? "1" : "0"; }
        std::optional<std::string> operator()(std::int64_t n) const { return std::to_string(n); }
        std::optional<std::string> operator()(double d) const {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", d);
            return buf;
        }
        std::optional<std::string> operator()(const Decimal& d) const { return decimal_text(d); }
        std::optional<std::string> operator()(const std::string& s) const { return s; }
        std::optional<std::string> operator()(const Bytes& b) const {
            static constexpr char kHex[] = "0123456789ABCDEF";
            std::string out = "0x";
            for (auto c : b) {
                out += kHex[c >> 4];
                out += kHex[c & 0x0F];
            }
            return out;
        }
        std::optional<std::string> operator()(const DateTime& t) const {
            const SqlType t2 = type.type;
            if (t2 == SqlType::Date) {
                return date_text(t.days);
            }
            if (t2 == SqlType::Time) {
                return time_text(t.ticks, type.scale);
            }
            if (t2 == SqlType::DateTime2) {
                return date_text(t.days) + " " + time_text(t.ticks, type.scale);
            }
            if (t2 == SqlType::DateTimeOffset) {
                const int off = t.offset_minutes;
                char buf[16];
                std::snprintf(buf, sizeof buf, " %c%02d:%02d", off < 0 ? '-' : '+',
                              std::abs(off) / 60, std::abs(off) % 60);
                return date_text(t.days) + " " + time_text(t.ticks, type.scale) + buf;
            }
            if (t2 == SqlType::SmallDateTime) {
                return date_text(t.days) + " " + time_text(t.ticks, 0);
            }
            return date_text(t.days) + " " + time_text(t.ticks, 3);
        }
        std::optional<std::string> operator()(const Guid& g) const {
            // The wire's mixed-endian layout: first three groups little-endian.
            char buf[40];
            std::snprintf(buf, sizeof buf,
                          "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                          g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11],
                          g[12], g[13], g[14], g[15]);
            return buf;
        }
    };
    return std::visit(Visitor{type}, v);
}

Bytes decimal_to_le(const Decimal& d, std::size_t bytes) {
    // Multiply-accumulate the decimal digits into a little-endian byte magnitude.
    Bytes out(bytes, 0);
    for (char c : d.digits) {
        unsigned carry = static_cast<unsigned>(c - '0');
        for (auto& b : out) {
            unsigned v = static_cast<unsigned>(b) * 10 + carry;
            b = static_cast<std::uint8_t>(v & 0xFF);
            carry = v >> 8;
        }
    }
    return out;
}

Decimal decimal_from_le(std::span<const std::uint8_t> magnitude, std::uint8_t scale,
                        bool negative) {
    // Repeated division by 10 of the big-endian copy of the magnitude.
    std::vector<std::uint8_t> be(magnitude.rbegin(), magnitude.rend());
    std::string digits;
    auto nonzero = [&] {
        return std::any_of(be.begin(), be.end(), [](std::uint8_t b) { return b != 0; });
    };
    while (nonzero()) {
        unsigned rem = 0;
        for (auto& b : be) {
            unsigned cur = (rem << 8) | b;
            b = static_cast<std::uint8_t>(cur / 10);
            rem = cur % 10;
        }
        digits.push_back(static_cast<char>('0' + rem));
    }
    std::reverse(digits.begin(), digits.end());
    if (digits.empty()) {
        digits = "0";
    }
    return Decimal{digits, scale, negative && digits != "0"};
}

std::optional<Decimal> parse_decimal(std::string_view text) {
    Decimal d;
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        d.negative = text[i] == '-';
        ++i;
    }
    std::string digits;
    bool point = false;
    std::size_t scale = 0;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (c == '.' && !point) {
            point = true;
        } else if (c >= '0' && c <= '9') {
            digits.push_back(c);
            scale += point ? 1 : 0;
        } else {
            return std::nullopt;
        }
    }
    if (digits.empty() || scale > 38) {
        return std::nullopt;
    }
    auto first = digits.find_first_not_of('0');
    d.digits = first == std::string::npos ? "0" : digits.substr(first);
    d.scale = static_cast<std::uint8_t>(scale);
    d.negative = d.negative && d.digits != "0";
    return d;
}

namespace {
// Code page 1252's 0x80..0x9F block (the rest of 0xA0..0xFF is Latin-1).
constexpr char16_t kCp1252High[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
} // namespace

std::string cp1252_to_utf8(std::span<const std::uint8_t> bytes) {
    std::vector<std::uint8_t> u16;
    u16.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        char16_t c = (b >= 0x80 && b < 0xA0) ? kCp1252High[b - 0x80] : static_cast<char16_t>(b);
        u16.push_back(static_cast<std::uint8_t>(c & 0xFF));
        u16.push_back(static_cast<std::uint8_t>(c >> 8));
    }
    return utf16le_to_utf8(u16);
}

Bytes utf8_to_cp1252(std::string_view text) {
    auto u16 = utf8_to_utf16le(text);
    Bytes out;
    out.reserve(u16.size() / 2);
    for (std::size_t i = 0; i + 1 < u16.size(); i += 2) {
        char16_t c = static_cast<char16_t>(u16[i] | (u16[i + 1] << 8));
        if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) {
            out.push_back(static_cast<std::uint8_t>(c));
            continue;
        }
        auto it = std::find(std::begin(kCp1252High), std::end(kCp1252High), c);
        out.push_back(it != std::end(kCp1252High) && c != 0xFFFD
                          ? static_cast<std::uint8_t>(0x80 + (it - std::begin(kCp1252High)))
                          : static_cast<std::uint8_t>('?'));
    }
    return out;
}

} // namespace tds
