#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <tds/type_info.h>
#include <tds/utf16.h>

namespace tds {

namespace {

namespace tt = type_token;

constexpr std::uint16_t kCharBinNull = 0xFFFF;
constexpr std::uint64_t kPlpNull = 0xFFFFFFFFFFFFFFFFULL;
constexpr std::uint64_t kPlpUnknownLength = 0xFFFFFFFFFFFFFFFEULL;
constexpr std::uint32_t kTextMaxBytes = 0x7FFFFFFF;
constexpr std::uint32_t kNTextMaxBytes = 0x7FFFFFFE;
constexpr std::uint8_t kTextPointerLen = 16;
constexpr std::size_t kTimestampLen = 8;
constexpr std::int32_t kDays0001To1900 = 693595; // days from 0001-01-01 to 1900-01-01
constexpr std::uint64_t kTicksPerSecond = 10'000'000;
constexpr std::uint64_t kTicksPerDay = 86'400 * kTicksPerSecond;
constexpr std::size_t kMaxPlpBytes = 64 * 1024 * 1024; // a request guard, not a protocol limit
constexpr std::uint32_t kVariantMaxLen = 8009;         // MS-TDS 2.2.5.4.3

std::uint8_t decimal_storage(std::uint8_t precision) {
    if (precision <= 9) {
        return 5;
    }
    if (precision <= 19) {
        return 9;
    }
    if (precision <= 28) {
        return 13;
    }
    return 17;
}

// time_bytes: 3, 4 or 5 bytes of time for a scale (MS-TDS 2.2.5.5.1.8).
std::size_t time_bytes(std::uint8_t scale) {
    return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

std::uint64_t pow10(unsigned n) {
    std::uint64_t p = 1;
    while (n-- > 0) {
        p *= 10;
    }
    return p;
}

bool is_max(const TypeInfo& t) {
    return t.length == kMaxLength;
}

bool is_character(SqlType t) {
    return t == SqlType::Char || t == SqlType::VarChar || t == SqlType::NChar ||
           t == SqlType::NVarChar || t == SqlType::Text || t == SqlType::NText;
}

// --- writing --------------------------------------------------------------------------------

void write_collation(ByteWriter& w, const TypeInfo& t, Level level) {
    if (has_collation(level)) {
        w.bytes(t.collation);
    }
}

bool is_unicode(SqlType t) {
    return t == SqlType::NChar || t == SqlType::NVarChar || t == SqlType::NText ||
           t == SqlType::Xml;
}

Bytes character_bytes(const TypeInfo& t, const std::string& s) {
    return is_unicode(t.type) ? utf8_to_utf16le(s) : utf8_to_cp1252(s);
}

// value_bytes: the raw bytes of a character or binary value.
Bytes value_bytes(const TypeInfo& t, const Value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        return character_bytes(t, *s);
    }
    if (const auto* b = std::get_if<Bytes>(&v)) {
        return *b;
    }
    auto text = format_value(v, t);
    return text ? character_bytes(t, *text) : Bytes{};
}

std::int64_t as_int(const Value& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
        return *n;
    }
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b ? 1 : 0;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return static_cast<std::int64_t>(*d);
    }
    return 0;
}

double as_double(const Value& v) {
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    return static_cast<double>(as_int(v));
}

Decimal as_decimal(const Value& v) {
    if (const auto* d = std::get_if<Decimal>(&v)) {
        return *d;
    }
    std::int64_t n = as_int(v);
    Decimal d;
    d.negative = n < 0;
    std::uint64_t mag = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    d.digits = std::to_string(mag);
    return d;
}

// rescale gives the digits of d at `scale` (truncating extra fraction digits).
Decimal rescale(Decimal d, std::uint8_t scale) {
    if (d.scale < scale) {
        d.digits.append(scale - d.scale, '0');
    } else if (d.scale > scale) {
        std::size_t cut = d.scale - scale;
        d.digits = d.digits.size() > cut ? d.digits.substr(0, d.digits.size() - cut) : "0";
    }
    d.scale = scale;
    return d;
}

void write_le(ByteWriter& w, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        w.u8(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
    }
}

void write_time_date(ByteWriter& w, const DateTime& t, std::uint8_t scale, bool time, bool date) {
    if (time) {
        write_le(w, t.ticks / pow10(7 - std::min<std::uint8_t>(scale, 7)), time_bytes(scale));
    }
    if (date) {
        write_le(w, static_cast<std::uint32_t>(t.days), 3);
    }
}

void write_plp(ByteWriter& w, const std::optional<Bytes>& data) {
    if (!data) {
        w.u64le(kPlpNull);
        return;
    }
    w.u64le(data->size());
    if (!data->empty()) {
        w.u32le(static_cast<std::uint32_t>(data->size()));
        w.bytes(*data);
    }
    w.u32le(0); // PLP terminator
}

// variant_base: the base type a sql_variant cell carries for a value.
TypeInfo variant_base(const Value& v) {
    struct Visitor {
        TypeInfo operator()(std::monostate) const { return int_type(); }
        TypeInfo operator()(bool) const { return bit_type(); }
        TypeInfo operator()(std::int64_t n) const {
            return n >= std::numeric_limits<std::int32_t>::min() &&
                           n <= std::numeric_limits<std::int32_t>::max()
                       ? int_type()
                       : bigint_type();
        }
        TypeInfo operator()(double) const { return float_type(); }
        TypeInfo operator()(const Decimal& d) const {
            auto p = static_cast<std::uint8_t>(std::clamp<std::size_t>(
                std::max<std::size_t>(d.digits.size(), d.scale + 1), 1, 38));
            return numeric_type(p, d.scale);
        }
        TypeInfo operator()(const std::string& s) const {
            auto chars = utf8_to_utf16le(s).size() / 2;
            return nvarchar_type(
                static_cast<std::uint32_t>(std::clamp<std::size_t>(chars, 128, 4000)));
        }
        TypeInfo operator()(const Bytes& b) const {
            return varbinary_type(
                static_cast<std::uint32_t>(std::clamp<std::size_t>(b.size(), 1, 8000)));
        }
        TypeInfo operator()(const DateTime&) const { return datetime_type(); }
        TypeInfo operator()(const Guid&) const {
            TypeInfo t;
            t.type = SqlType::UniqueIdentifier;
            return t;
        }
    };
    return std::visit(Visitor{}, v);
}

void write_variant(ByteWriter& w, const Value& v, SqlType hint) {
    if (is_null(v)) {
        w.u32le(0);
        return;
    }
    TypeInfo base = variant_base(v);
    if (std::holds_alternative<std::int64_t>(v) &&
        (hint == SqlType::TinyInt || hint == SqlType::SmallInt || hint == SqlType::BigInt)) {
        base.type = hint;
    }
    ByteWriter body;
    const SqlType bt = base.type;
    if (bt == SqlType::Bit) {
        body.u8(tt::kBit);
        body.u8(0);
        body.u8(as_int(v) != 0 ? 1 : 0);
    } else if (bt == SqlType::TinyInt) {
        body.u8(tt::kInt1);
        body.u8(0);
        body.u8(static_cast<std::uint8_t>(as_int(v)));
    } else if (bt == SqlType::SmallInt) {
        body.u8(tt::kInt2);
        body.u8(0);
        body.u16le(static_cast<std::uint16_t>(as_int(v)));
    } else if (bt == SqlType::Int) {
        body.u8(tt::kInt4);
        body.u8(0);
        body.u32le(static_cast<std::uint32_t>(as_int(v)));
    } else if (bt == SqlType::BigInt) {
        body.u8(tt::kInt8);
        body.u8(0);
        body.u64le(static_cast<std::uint64_t>(as_int(v)));
    } else if (bt == SqlType::Float) {
        body.u8(tt::kFlt8);
        body.u8(0);
        body.u64le(std::bit_cast<std::uint64_t>(as_double(v)));
    } else if (bt == SqlType::Numeric) {
        Decimal d = as_decimal(v);
        body.u8(tt::kNumericN);
        body.u8(2);
        body.u8(base.precision);
        body.u8(base.scale);
        body.u8(d.negative ? 0 : 1);
        body.bytes(decimal_to_le(d, decimal_storage(base.precision) - 1u));
    } else if (bt == SqlType::NVarChar) {
        Bytes b = value_bytes(base, v);
        b.resize(std::min<std::size_t>(b.size(), base.length)); // within the 8009-byte instance
        body.u8(tt::kNVarChar);
        body.u8(7);
        body.bytes(base.collation);
        body.u16le(static_cast<std::uint16_t>(base.length));
        body.bytes(b);
    } else if (bt == SqlType::VarBinary) {
        Bytes b = value_bytes(base, v);
        b.resize(std::min<std::size_t>(b.size(), base.length));
        body.u8(tt::kBigVarBinary);
        body.u8(2);
        body.u16le(static_cast<std::uint16_t>(base.length));
        body.bytes(b);
    } else if (bt == SqlType::DateTime) {
        const auto& t = std::get<DateTime>(v);
        body.u8(tt::kDateTime);
        body.u8(0);
        body.u32le(static_cast<std::uint32_t>(t.days - kDays0001To1900));
        body.u32le(static_cast<std::uint32_t>((t.ticks * 3 + 50'000) / 100'000));
    } else { // UniqueIdentifier: variant_base chooses only the types above
        body.u8(tt::kGuid);
        body.u8(0);
        body.bytes(std::get<Guid>(v));
    }
    w.u32le(static_cast<std::uint32_t>(body.size()));
    w.bytes(body.data());
}

// fixed_token: the fixed-length type SQL Server uses for a NOT NULL column of this type
// (MS-TDS 2.2.5.4.1: "Non-nullable values are returned using these fixed-length data types").
std::optional<std::uint8_t> fixed_token(const TypeInfo& t) {
    if (t.nullable) {
        return std::nullopt;
    }
    switch (t.type) {
    case SqlType::Bit:
        return tt::kBit;
    case SqlType::TinyInt:
        return tt::kInt1;
    case SqlType::SmallInt:
        return tt::kInt2;
    case SqlType::Int:
        return tt::kInt4;
    case SqlType::BigInt:
        return tt::kInt8;
    case SqlType::Real:
        return tt::kFlt4;
    case SqlType::Float:
        return tt::kFlt8;
    case SqlType::SmallMoney:
        return tt::kMoney4;
    case SqlType::Money:
        return tt::kMoney;
    case SqlType::SmallDateTime:
        return tt::kDateTim4;
    case SqlType::DateTime:
        return tt::kDateTime;
    case SqlType::Decimal:
    case SqlType::Numeric:
    case SqlType::Date:
    case SqlType::Time:
    case SqlType::DateTime2:
    case SqlType::DateTimeOffset:
    case SqlType::Char:
    case SqlType::VarChar:
    case SqlType::NChar:
    case SqlType::NVarChar:
    case SqlType::Text:
    case SqlType::NText:
    case SqlType::Binary:
    case SqlType::VarBinary:
    case SqlType::Image:
    case SqlType::UniqueIdentifier:
    case SqlType::Variant:
    case SqlType::Xml:
        break;
    }
    return std::nullopt;
}

// date_text_chars: how long the text of a 7.3 date/time type is (what a down-level client
// gets instead of it), or nullopt for any other type.
std::optional<std::uint32_t> date_text_chars(const TypeInfo& t) {
    const std::uint32_t fraction = t.scale > 0 ? 1u + t.scale : 0u; // ".fffffff"
    if (t.type == SqlType::Date) {
        return 10u; // yyyy-mm-dd
    }
    if (t.type == SqlType::Time) {
        return 8u + fraction; // hh:mm:ss
    }
    if (t.type == SqlType::DateTime2) {
        return 19u + fraction;
    }
    if (t.type == SqlType::DateTimeOffset) {
        return 26u + fraction; // + " +hh:mm"
    }
    return std::nullopt;
}

} // namespace

TypeInfo wire_type(const TypeInfo& declared, Level level) {
    TypeInfo t = declared;
    if (!has_new_date_types(level)) {
        auto as_nvarchar = [&](std::uint32_t chars) {
            TypeInfo n = nvarchar_type(chars);
            n.nullable = declared.nullable;
            return n;
        };
        if (auto chars = date_text_chars(declared)) {
            return as_nvarchar(*chars);
        }
    }
    if (!is_72_plus(level)) {
        if (declared.type == SqlType::Variant) {
            TypeInfo n = nvarchar_type(4000);
            n.nullable = declared.nullable;
            return n;
        }
        if (is_max(declared) || declared.type == SqlType::Xml) {
            if (declared.type == SqlType::VarChar) {
                t.type = SqlType::Text;
                t.length = kTextMaxBytes;
            } else if (declared.type == SqlType::VarBinary) {
                t.type = SqlType::Image;
                t.length = kTextMaxBytes;
            } else {
                t.type = SqlType::NText;
                t.length = kNTextMaxBytes;
            }
            return t;
        }
    }
    if (!has_bigint(level) && declared.type == SqlType::BigInt) {
        TypeInfo n = numeric_type(19, 0);
        n.nullable = declared.nullable;
        return n;
    }
    return t;
}

Value wire_value(const Value& v, const TypeInfo& declared, const TypeInfo& wire) {
    if (is_null(v) || declared.type == wire.type) {
        return v;
    }
    if (is_character(wire.type) && !is_character(declared.type)) {
        auto text = format_value(v, declared);
        return text ? Value{*text} : Value{};
    }
    if (wire.type == SqlType::Numeric || wire.type == SqlType::Decimal) {
        return as_decimal(v);
    }
    return v;
}

void write_user_type(ByteWriter& w, std::uint32_t user_type, Level level) {
    if (is_72_plus(level)) {
        w.u32le(user_type);
    } else {
        w.u16le(static_cast<std::uint16_t>(user_type));
    }
}

void write_type_info(ByteWriter& w, const TypeInfo& t, Level level, bool with_table_name) {
    if (auto fixed = fixed_token(t)) {
        w.u8(*fixed);
        return;
    }
    switch (t.type) {
    case SqlType::Bit:
        w.u8(tt::kBitN);
        w.u8(1);
        return;
    case SqlType::TinyInt:
        w.u8(tt::kIntN);
        w.u8(1);
        return;
    case SqlType::SmallInt:
        w.u8(tt::kIntN);
        w.u8(2);
        return;
    case SqlType::Int:
        w.u8(tt::kIntN);
        w.u8(4);
        return;
    case SqlType::BigInt:
        w.u8(tt::kIntN);
        w.u8(8);
        return;
    case SqlType::Decimal:
    case SqlType::Numeric:
        w.u8(t.type == SqlType::Decimal ? tt::kDecimalN : tt::kNumericN);
        w.u8(decimal_storage(t.precision));
        w.u8(t.precision);
        w.u8(t.scale);
        return;
    case SqlType::Real:
        w.u8(tt::kFltN);
        w.u8(4);
        return;
    case SqlType::Float:
        w.u8(tt::kFltN);
        w.u8(8);
        return;
    case SqlType::SmallMoney:
        w.u8(tt::kMoneyN);
        w.u8(4);
        return;
    case SqlType::Money:
        w.u8(tt::kMoneyN);
        w.u8(8);
        return;
    case SqlType::SmallDateTime:
        w.u8(tt::kDateTimN);
        w.u8(4);
        return;
    case SqlType::DateTime:
        w.u8(tt::kDateTimN);
        w.u8(8);
        return;
    case SqlType::Date:
        w.u8(tt::kDateN);
        return;
    case SqlType::Time:
        w.u8(tt::kTimeN);
        w.u8(t.scale);
        return;
    case SqlType::DateTime2:
        w.u8(tt::kDateTime2N);
        w.u8(t.scale);
        return;
    case SqlType::DateTimeOffset:
        w.u8(tt::kDateTimeOffsetN);
        w.u8(t.scale);
        return;
    case SqlType::Char:
    case SqlType::VarChar:
    case SqlType::NChar:
    case SqlType::NVarChar: {
        static constexpr std::uint8_t kTokens[] = {tt::kBigChar, tt::kBigVarChar, tt::kNChar,
                                                   tt::kNVarChar};
        w.u8(kTokens[static_cast<int>(t.type) - static_cast<int>(SqlType::Char)]);
        w.u16le(static_cast<std::uint16_t>(t.length));
        write_collation(w, t, level);
        return;
    }
    case SqlType::Binary:
        w.u8(tt::kBigBinary);
        w.u16le(static_cast<std::uint16_t>(t.length));
        return;
    case SqlType::VarBinary:
        w.u8(tt::kBigVarBinary);
        w.u16le(static_cast<std::uint16_t>(t.length));
        return;
    case SqlType::Text:
    case SqlType::NText:
    case SqlType::Image:
        w.u8(t.type == SqlType::Text    ? tt::kText
             : t.type == SqlType::NText ? tt::kNText
                                        : tt::kImage);
        w.u32le(t.length);
        if (t.type != SqlType::Image) {
            write_collation(w, t, level);
        }
        if (with_table_name) {
            // No base table: a one-part empty name before 7.2, zero parts from 7.2.
            if (is_72_plus(level)) {
                w.u8(0);
            } else {
                w.u16le(0);
            }
        }
        return;
    case SqlType::UniqueIdentifier:
        w.u8(tt::kGuid);
        w.u8(16);
        return;
    case SqlType::Variant:
        w.u8(tt::kVariant);
        w.u32le(kVariantMaxLen);
        return;
    case SqlType::Xml:
        w.u8(tt::kXml);
        w.u8(0); // no schema
        return;
    }
}

void write_value(ByteWriter& w, const TypeInfo& t, const Value& v, Level level) {
    const bool null = is_null(v);
    if (fixed_token(t) && !null) {
        // The same bytes as the nullable form, without the length prefix.
        ByteWriter tmp;
        TypeInfo nullable = t;
        nullable.nullable = true;
        write_value(tmp, nullable, v, level);
        w.bytes(std::span<const std::uint8_t>(tmp.data()).subspan(1));
        return;
    }
    switch (t.type) {
    case SqlType::Bit:
    case SqlType::TinyInt:
    case SqlType::SmallInt:
    case SqlType::Int:
    case SqlType::BigInt: {
        static constexpr std::uint8_t kLen[] = {1, 1, 2, 4, 8};
        std::uint8_t n = kLen[static_cast<int>(t.type)];
        if (null) {
            w.u8(0);
            return;
        }
        w.u8(n);
        std::int64_t i = as_int(v);
        write_le(w, static_cast<std::uint64_t>(t.type == SqlType::Bit ? (i != 0 ? 1 : 0) : i), n);
        return;
    }
    case SqlType::Decimal:
    case SqlType::Numeric: {
        if (null) {
            w.u8(0);
            return;
        }
        std::uint8_t n = decimal_storage(t.precision);
        Decimal d = rescale(as_decimal(v), t.scale);
        w.u8(n);
        w.u8(d.negative ? 0 : 1);
        w.bytes(decimal_to_le(d, n - 1u));
        return;
    }
    case SqlType::Real:
        if (null) {
            w.u8(0);
            return;
        }
        w.u8(4);
        w.u32le(std::bit_cast<std::uint32_t>(static_cast<float>(as_double(v))));
        return;
    case SqlType::Float:
        if (null) {
            w.u8(0);
            return;
        }
        w.u8(8);
        w.u64le(std::bit_cast<std::uint64_t>(as_double(v)));
        return;
    case SqlType::SmallMoney:
    case SqlType::Money: {
        if (null) {
            w.u8(0);
            return;
        }
        Decimal d = rescale(as_decimal(v), 4);
        auto mag = decimal_to_le(d, 8);
        std::uint64_t u = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            u |= static_cast<std::uint64_t>(mag[i]) << (8 * i);
        }
        // two's complement in unsigned arithmetic: the minimum (-2^63) has no positive twin
        const auto money = static_cast<std::int64_t>(d.negative ? 0 - u : u);
        if (t.type == SqlType::SmallMoney) {
            w.u8(4);
            w.u32le(static_cast<std::uint32_t>(money));
        } else {
            w.u8(8);
            w.u32le(static_cast<std::uint32_t>(static_cast<std::uint64_t>(money) >> 32));
            w.u32le(static_cast<std::uint32_t>(money & 0xFFFFFFFF));
        }
        return;
    }
    case SqlType::SmallDateTime:
    case SqlType::DateTime: {
        const auto* dt = std::get_if<DateTime>(&v);
        if (null || dt == nullptr) {
            w.u8(0);
            return;
        }
        const std::int32_t days = dt->days - kDays0001To1900;
        if (t.type == SqlType::SmallDateTime) {
            w.u8(4);
            w.u16le(static_cast<std::uint16_t>(days));
            w.u16le(static_cast<std::uint16_t>(dt->ticks / (60 * kTicksPerSecond)));
        } else {
            w.u8(8);
            w.u32le(static_cast<std::uint32_t>(days));
            w.u32le(static_cast<std::uint32_t>((dt->ticks * 3 + 50'000) / 100'000));
        }
        return;
    }
    case SqlType::Date:
    case SqlType::Time:
    case SqlType::DateTime2:
    case SqlType::DateTimeOffset: {
        const auto* dt = std::get_if<DateTime>(&v);
        if (null || dt == nullptr) {
            w.u8(0);
            return;
        }
        DateTime utc = *dt;
        if (t.type == SqlType::DateTimeOffset) {
            // stored as UTC plus the offset
            std::int64_t ticks = static_cast<std::int64_t>(dt->ticks) -
                                 static_cast<std::int64_t>(dt->offset_minutes) * 60 *
                                     static_cast<std::int64_t>(kTicksPerSecond);
            const auto per_day = static_cast<std::int64_t>(kTicksPerDay);
            std::int32_t day_shift = 0;
            while (ticks < 0) {
                ticks += per_day;
                --day_shift;
            }
            while (ticks >= per_day) {
                ticks -= per_day;
                ++day_shift;
            }
            utc.ticks = static_cast<std::uint64_t>(ticks);
            utc.days += day_shift;
        }
        const bool time = t.type != SqlType::Date;
        const bool date = t.type != SqlType::Time;
        std::size_t len = (time ? time_bytes(t.scale) : 0) + (date ? 3 : 0) +
                          (t.type == SqlType::DateTimeOffset ? 2 : 0);
        w.u8(static_cast<std::uint8_t>(len));
        write_time_date(w, utc, t.scale, time, date);
        if (t.type == SqlType::DateTimeOffset) {
            w.u16le(static_cast<std::uint16_t>(dt->offset_minutes));
        }
        return;
    }
    case SqlType::Char:
    case SqlType::VarChar:
    case SqlType::NChar:
    case SqlType::NVarChar:
    case SqlType::Binary:
    case SqlType::VarBinary: {
        if (is_max(t) && is_72_plus(level)) {
            write_plp(w, null ? std::nullopt : std::optional<Bytes>(value_bytes(t, v)));
            return;
        }
        if (null) {
            w.u16le(kCharBinNull);
            return;
        }
        Bytes b = value_bytes(t, v);
        std::size_t cap = std::min<std::size_t>(t.length, 8000);
        if (t.type == SqlType::NChar || t.type == SqlType::Char || t.type == SqlType::Binary) {
            // fixed length: padded with spaces (or zeros for binary)
            std::uint8_t pad = t.type == SqlType::Binary ? 0 : 0x20;
            for (std::size_t i = b.size(); i < cap; ++i) {
                b.push_back((t.type == SqlType::NChar && i % 2 == 1) ? 0 : pad);
            }
        }
        b.resize(std::min(b.size(), cap));
        w.u16le(static_cast<std::uint16_t>(b.size()));
        w.bytes(b);
        return;
    }
    case SqlType::Text:
    case SqlType::NText:
    case SqlType::Image: {
        if (null) {
            w.u8(0); // no text pointer
            return;
        }
        Bytes b = value_bytes(t, v);
        w.u8(kTextPointerLen);
        for (std::uint8_t i = 0; i < kTextPointerLen; ++i) {
            w.u8(0xAA); // a dummy text pointer: clients only test that one is present
        }
        for (std::size_t i = 0; i < kTimestampLen; ++i) {
            w.u8(0);
        }
        w.u32le(static_cast<std::uint32_t>(b.size()));
        w.bytes(b);
        return;
    }
    case SqlType::UniqueIdentifier:
        if (const auto* g = std::get_if<Guid>(&v)) {
            w.u8(16);
            w.bytes(*g);
        } else {
            w.u8(0);
        }
        return;
    case SqlType::Variant:
        write_variant(w, v, t.variant_base);
        return;
    case SqlType::Xml: {
        write_plp(w, null ? std::nullopt : std::optional<Bytes>(value_bytes(t, v)));
        return;
    }
    }
}

// --- reading --------------------------------------------------------------------------------

namespace {

std::optional<std::uint64_t> read_le(ByteReader& r, std::size_t n) {
    auto b = r.bytes(n);
    if (!b) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        v |= static_cast<std::uint64_t>((*b)[i]) << (8 * i);
    }
    return v;
}

std::int64_t sign_extend(std::uint64_t v, std::size_t bytes) {
    if (bytes >= 8) {
        return static_cast<std::int64_t>(v);
    }
    const std::uint64_t sign = 1ULL << (8 * bytes - 1);
    return static_cast<std::int64_t>((v ^ sign) - sign);
}

using Read = std::expected<Value, Error>;

Read fixed_int(ByteReader& r, std::size_t n, bool is_bit, bool unsigned_byte) {
    auto v = read_le(r, n);
    if (!v) {
        return std::unexpected(Error::Truncated);
    }
    if (is_bit) {
        return Value{*v != 0};
    }
    return Value{unsigned_byte ? static_cast<std::int64_t>(*v) : sign_extend(*v, n)};
}

Read float_of(ByteReader& r, std::size_t n) {
    auto v = read_le(r, n);
    if (!v) {
        return std::unexpected(Error::Truncated);
    }
    if (n == 4) {
        return Value{static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(*v)))};
    }
    return Value{std::bit_cast<double>(*v)};
}

Read money_of(ByteReader& r, std::size_t n) {
    std::int64_t units = 0;
    if (n == 4) {
        auto v = read_le(r, 4);
        if (!v) {
            return std::unexpected(Error::Truncated);
        }
        units = sign_extend(*v, 4);
    } else {
        auto hi = read_le(r, 4);
        auto lo = read_le(r, 4);
        if (!hi || !lo) {
            return std::unexpected(Error::Truncated);
        }
        units = static_cast<std::int64_t>((*hi << 32) | *lo);
    }
    std::uint64_t mag =
        units < 0 ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
    Bytes le(8);
    for (std::size_t i = 0; i < 8; ++i) {
        le[i] = static_cast<std::uint8_t>(mag >> (8 * i));
    }
    return Value{decimal_from_le(le, 4, units < 0)};
}

Read datetime_of(ByteReader& r, std::size_t n) {
    // MS-TDS 2.2.5.5.1.8: smalldatetime minutes and datetime 300ths stay within one day;
    // datetime starts at 1753-01-01 (day -53690) and ends at 9999-12-31 (day 2958463).
    constexpr std::int64_t kFirstDatetimeDay = -53690;
    constexpr std::int64_t kLastDatetimeDay = 2958463;
    constexpr std::uint64_t kMinutesPerDay = 1440;
    constexpr std::uint64_t kThreeHundredthsPerDay = 300ULL * 86400;
    if (n == 4) {
        auto days = read_le(r, 2);
        auto mins = read_le(r, 2);
        if (!days || !mins) {
            return std::unexpected(Error::Truncated);
        }
        if (*mins >= kMinutesPerDay) {
            return std::unexpected(Error::BadValue);
        }
        return Value{DateTime{static_cast<std::int32_t>(*days) + kDays0001To1900,
                              *mins * 60 * kTicksPerSecond, 0}};
    }
    auto days = read_le(r, 4);
    auto frac = read_le(r, 4);
    if (!days || !frac) {
        return std::unexpected(Error::Truncated);
    }
    const std::int64_t day = sign_extend(*days, 4);
    if (day < kFirstDatetimeDay || day > kLastDatetimeDay || *frac >= kThreeHundredthsPerDay) {
        return std::unexpected(Error::BadValue);
    }
    return Value{
        DateTime{static_cast<std::int32_t>(day + kDays0001To1900), *frac * 100'000 / 3, 0}};
}

Read new_date_of(ByteReader& r, SqlType type, std::uint8_t scale, std::size_t len) {
    const bool time = type != SqlType::Date;
    const bool date = type != SqlType::Time;
    std::size_t want =
        (time ? time_bytes(scale) : 0) + (date ? 3 : 0) + (type == SqlType::DateTimeOffset ? 2 : 0);
    if (len != want) {
        return std::unexpected(Error::BadValue);
    }
    DateTime dt;
    if (time) {
        auto v = read_le(r, time_bytes(scale));
        if (!v) {
            return std::unexpected(Error::Truncated);
        }
        dt.ticks = *v * pow10(7 - scale);
        if (dt.ticks >= kTicksPerDay) {
            return std::unexpected(Error::BadValue);
        }
    }
    if (date) {
        auto v = read_le(r, 3);
        if (!v) {
            return std::unexpected(Error::Truncated);
        }
        dt.days = static_cast<std::int32_t>(*v);
    }
    if (type == SqlType::DateTimeOffset) {
        auto v = read_le(r, 2);
        if (!v) {
            return std::unexpected(Error::Truncated);
        }
        dt.offset_minutes = static_cast<std::int16_t>(sign_extend(*v, 2));
        if (dt.offset_minutes < -840 || dt.offset_minutes > 840) { // MS-TDS 2.2.5.5.1.8
            return std::unexpected(Error::BadValue);
        }
        // to local time
        std::int64_t ticks = static_cast<std::int64_t>(dt.ticks) +
                             static_cast<std::int64_t>(dt.offset_minutes) * 60 *
                                 static_cast<std::int64_t>(kTicksPerSecond);
        const auto per_day = static_cast<std::int64_t>(kTicksPerDay);
        while (ticks < 0) {
            ticks += per_day;
            --dt.days;
        }
        while (ticks >= per_day) {
            ticks -= per_day;
            ++dt.days;
        }
        dt.ticks = static_cast<std::uint64_t>(ticks);
    }
    return Value{dt};
}

Value character_value(SqlType type, std::span<const std::uint8_t> b) {
    if (is_unicode(type)) {
        return Value{utf16le_to_utf8(b)};
    }
    if (is_character(type)) {
        return Value{cp1252_to_utf8(b)};
    }
    return Value{Bytes(b.begin(), b.end())};
}

std::expected<std::optional<Bytes>, Error> read_plp(ByteReader& r) {
    auto total = r.u64le();
    if (!total) {
        return std::unexpected(Error::Truncated);
    }
    if (*total == kPlpNull) {
        return std::optional<Bytes>{};
    }
    if (*total != kPlpUnknownLength && *total > kMaxPlpBytes) {
        return std::unexpected(Error::BadValue);
    }
    Bytes out;
    for (;;) {
        auto chunk = r.u32le();
        if (!chunk) {
            return std::unexpected(Error::Truncated);
        }
        if (*chunk == 0) {
            break;
        }
        if (out.size() + *chunk > kMaxPlpBytes) {
            return std::unexpected(Error::BadValue);
        }
        auto b = r.bytes(*chunk);
        if (!b) {
            return std::unexpected(Error::Truncated);
        }
        out.insert(out.end(), b->begin(), b->end());
    }
    if (*total != kPlpUnknownLength && *total != out.size()) {
        return std::unexpected(Error::BadValue);
    }
    return std::optional<Bytes>{std::move(out)};
}

Read decimal_of(ByteReader& r, std::size_t len, std::uint8_t scale) {
    if (len != 5 && len != 9 && len != 13 && len != 17) { // MS-TDS 2.2.5.4.3
        return std::unexpected(Error::BadValue);
    }
    auto sign = r.u8();
    auto mag = r.bytes(len - 1);
    if (!sign || !mag) {
        return std::unexpected(Error::Truncated);
    }
    return Value{decimal_from_le(*mag, scale, *sign == 0)};
}

std::optional<std::array<std::uint8_t, 5>> read_collation(ByteReader& r, Level level) {
    std::array<std::uint8_t, 5> c = kDefaultCollation;
    if (!has_collation(level)) {
        return c;
    }
    auto b = r.bytes(5);
    if (!b) {
        return std::nullopt;
    }
    std::copy(b->begin(), b->end(), c.begin());
    return c;
}

// variant_fixed_length: the data length of a fixed-length sql_variant base type.
std::optional<std::size_t> variant_fixed_length(std::uint8_t base) {
    switch (base) {
    case tt::kInt1:
    case tt::kBit:
        return 1;
    case tt::kInt2:
        return 2;
    case tt::kInt4:
    case tt::kFlt4:
    case tt::kMoney4:
    case tt::kDateTim4:
        return 4;
    case tt::kInt8:
    case tt::kFlt8:
    case tt::kMoney:
    case tt::kDateTime:
        return 8;
    default:
        return std::nullopt;
    }
}

// read_variant_value: a sql_variant instance of `len` bytes (len > 0).
Read read_variant_value(ByteReader& r, std::size_t len) {
    auto body_bytes = r.bytes(len);
    if (!body_bytes) {
        return std::unexpected(Error::Truncated);
    }
    ByteReader b(*body_bytes);
    auto base = b.u8();
    auto prop_len = b.u8();
    if (!base || !prop_len) {
        return std::unexpected(Error::BadValue);
    }
    auto props = b.bytes(*prop_len);
    if (!props) {
        return std::unexpected(Error::BadValue);
    }
    ByteReader p(*props);
    const std::size_t data_len = b.remaining();
    // A fixed-length base type fills the value exactly (MS-TDS 2.2.5.5.4): any other length
    // is damage (and more than 8 bytes cannot be read as one integer).
    if (auto fixed = variant_fixed_length(*base); fixed && *fixed != data_len) {
        return std::unexpected(Error::BadValue);
    }
    switch (*base) {
    case tt::kInt1:
    case tt::kBit:
    case tt::kInt2:
    case tt::kInt4:
    case tt::kInt8:
        return fixed_int(b, data_len, *base == tt::kBit, *base == tt::kInt1);
    case tt::kFlt4:
    case tt::kFlt8:
        return float_of(b, data_len);
    case tt::kMoney:
    case tt::kMoney4:
        return money_of(b, data_len);
    case tt::kDateTime:
    case tt::kDateTim4:
        return datetime_of(b, data_len);
    case tt::kGuid: {
        Guid g{};
        auto d = b.bytes(16);
        if (!d) {
            return std::unexpected(Error::BadValue);
        }
        std::copy(d->begin(), d->end(), g.begin());
        return Value{g};
    }
    case tt::kDateN:
        return new_date_of(b, SqlType::Date, 0, data_len);
    case tt::kTimeN:
    case tt::kDateTime2N:
    case tt::kDateTimeOffsetN: {
        auto scale = p.u8();
        if (!scale || *scale > 7) {
            return std::unexpected(Error::BadValue);
        }
        SqlType t = *base == tt::kTimeN        ? SqlType::Time
                    : *base == tt::kDateTime2N ? SqlType::DateTime2
                                               : SqlType::DateTimeOffset;
        return new_date_of(b, t, *scale, data_len);
    }
    case tt::kNumericN:
    case tt::kDecimalN: {
        auto precision = p.u8();
        auto scale = p.u8();
        if (!precision || !scale) {
            return std::unexpected(Error::BadValue);
        }
        return decimal_of(b, data_len, *scale);
    }
    case tt::kBigVarChar:
    case tt::kBigChar:
        return character_value(SqlType::VarChar, b.rest());
    case tt::kNVarChar:
    case tt::kNChar:
        return character_value(SqlType::NVarChar, b.rest());
    case tt::kBigVarBinary:
    case tt::kBigBinary:
        return character_value(SqlType::VarBinary, b.rest());
    default:
        return std::unexpected(Error::UnknownType);
    }
}

// The BYTELEN types (INTN, BITN, FLTN, MONEYN, DATETIMN, GUID): the SQL type a max length
// means, the value lengths each allows, and how a value of that length reads.
SqlType bytelen_type(std::uint8_t token, std::uint8_t max) {
    switch (token) {
    case tt::kIntN:
        return max == 1   ? SqlType::TinyInt
               : max == 2 ? SqlType::SmallInt
               : max == 8 ? SqlType::BigInt
                          : SqlType::Int;
    case tt::kBitN:
        return SqlType::Bit;
    case tt::kFltN:
        return max == 4 ? SqlType::Real : SqlType::Float;
    case tt::kMoneyN:
        return max == 4 ? SqlType::SmallMoney : SqlType::Money;
    case tt::kDateTimN:
        return max == 4 ? SqlType::SmallDateTime : SqlType::DateTime;
    default:
        return SqlType::UniqueIdentifier; // GUID
    }
}

bool bytelen_length_allowed(std::uint8_t token, std::uint8_t len) {
    switch (token) {
    case tt::kIntN:
        return len == 1 || len == 2 || len == 4 || len == 8;
    case tt::kBitN:
        return len == 1;
    case tt::kFltN:
    case tt::kMoneyN:
    case tt::kDateTimN:
        return len == 4 || len == 8;
    default:
        return len == 16; // GUID
    }
}

Read read_bytelen_value(ByteReader& r, std::uint8_t token, std::uint8_t len) {
    switch (token) {
    case tt::kIntN:
        return fixed_int(r, len, false, len == 1);
    case tt::kBitN:
        return fixed_int(r, 1, true, false);
    case tt::kFltN:
        return float_of(r, len);
    case tt::kMoneyN:
        return money_of(r, len);
    case tt::kDateTimN:
        return datetime_of(r, len);
    default: { // GUID
        auto b = r.bytes(16);
        if (!b) {
            return std::unexpected(Error::Truncated);
        }
        Guid g{};
        std::copy(b->begin(), b->end(), g.begin());
        return Value{g};
    }
    }
}

} // namespace

std::expected<TypedValue, Error> read_typed_value(ByteReader& r, Level level,
                                                  std::uint8_t* token_out) {
    auto token = r.u8();
    if (!token) {
        return std::unexpected(Error::Truncated);
    }
    if (token_out != nullptr) {
        *token_out = *token;
    }
    TypedValue out;
    TypeInfo& t = out.type;
    auto fail = [](Error e) {
        return std::unexpected(e);
    };
    auto set = [&](Read v) -> std::expected<TypedValue, Error> {
        if (!v) {
            return std::unexpected(v.error());
        }
        out.value = std::move(*v);
        return out;
    };
    // Fixed-length types: no length anywhere.
    switch (*token) {
    case tt::kNull:
        t.type = SqlType::Int;
        return out;
    case tt::kInt1:
        t = tinyint_type();
        return set(fixed_int(r, 1, false, true));
    case tt::kBit:
        t = bit_type();
        return set(fixed_int(r, 1, true, false));
    case tt::kInt2:
        t = smallint_type();
        return set(fixed_int(r, 2, false, false));
    case tt::kInt4:
        t = int_type();
        return set(fixed_int(r, 4, false, false));
    case tt::kInt8:
        t = bigint_type();
        return set(fixed_int(r, 8, false, false));
    case tt::kFlt4:
        t.type = SqlType::Real;
        return set(float_of(r, 4));
    case tt::kFlt8:
        t = float_type();
        return set(float_of(r, 8));
    case tt::kMoney:
        t.type = SqlType::Money;
        return set(money_of(r, 8));
    case tt::kMoney4:
        t.type = SqlType::SmallMoney;
        return set(money_of(r, 4));
    case tt::kDateTime:
        t = datetime_type();
        return set(datetime_of(r, 8));
    case tt::kDateTim4:
        t.type = SqlType::SmallDateTime;
        return set(datetime_of(r, 4));
    default:
        break;
    }
    // BYTELEN types: TYPE_INFO has a max length byte, the value a length byte (0 = NULL), and
    // each type allows only some lengths.
    switch (*token) {
    case tt::kIntN:
    case tt::kBitN:
    case tt::kFltN:
    case tt::kMoneyN:
    case tt::kDateTimN:
    case tt::kGuid: {
        auto max = r.u8();
        auto len = max ? r.u8() : std::nullopt;
        if (!max || !len) {
            return fail(Error::Truncated);
        }
        if (*len != 0 && *len > *max) {
            return fail(Error::BadValue);
        }
        t.type = bytelen_type(*token, *max);
        if (*len == 0) {
            return out; // NULL
        }
        if (!bytelen_length_allowed(*token, *len)) {
            return fail(Error::BadValue);
        }
        return set(read_bytelen_value(r, *token, *len));
    }
    case tt::kDecimalN:
    case tt::kNumericN:
    case tt::kDecimal:
    case tt::kNumeric: {
        auto max = r.u8();
        auto precision = max ? r.u8() : std::nullopt;
        auto scale = precision ? r.u8() : std::nullopt;
        auto len = scale ? r.u8() : std::nullopt;
        if (!max || !precision || !scale || !len) {
            return fail(Error::Truncated);
        }
        if (*precision < 1 || *precision > 38 || *scale > *precision) {
            return fail(Error::BadValue);
        }
        t = (*token == tt::kDecimalN || *token == tt::kDecimal) ? decimal_type(*precision, *scale)
                                                                : numeric_type(*precision, *scale);
        if (*len == 0) {
            return out;
        }
        return set(decimal_of(r, *len, *scale));
    }
    case tt::kDateN:
    case tt::kTimeN:
    case tt::kDateTime2N:
    case tt::kDateTimeOffsetN: {
        if (!is_72_plus(level) || !has_new_date_types(level)) {
            return fail(Error::UnknownType); // 7.3 types from a client that did not negotiate 7.3
        }
        std::uint8_t scale = 0;
        if (*token != tt::kDateN) {
            auto s = r.u8();
            if (!s) {
                return fail(Error::Truncated);
            }
            if (*s > 7) {
                return fail(Error::BadValue);
            }
            scale = *s;
        }
        t.type = *token == tt::kDateN        ? SqlType::Date
                 : *token == tt::kTimeN      ? SqlType::Time
                 : *token == tt::kDateTime2N ? SqlType::DateTime2
                                             : SqlType::DateTimeOffset;
        t.scale = scale;
        auto len = r.u8();
        if (!len) {
            return fail(Error::Truncated);
        }
        if (*len == 0) {
            return out;
        }
        return set(new_date_of(r, t.type, scale, *len));
    }
    case tt::kChar:
    case tt::kVarChar:
    case tt::kBinary:
    case tt::kVarBinary: {
        // legacy BYTELEN character/binary types
        auto max = r.u8();
        if (!max) {
            return fail(Error::Truncated);
        }
        const bool chars = *token == tt::kChar || *token == tt::kVarChar;
        t.type = *token == tt::kChar      ? SqlType::Char
                 : *token == tt::kVarChar ? SqlType::VarChar
                 : *token == tt::kBinary  ? SqlType::Binary
                                          : SqlType::VarBinary;
        t.length = *max;
        auto len = r.u8();
        if (!len) {
            return fail(Error::Truncated);
        }
        if (*len == 0) { // the legacy types cannot tell an empty value from NULL
            return out;
        }
        auto b = r.bytes(*len);
        if (!b) {
            return fail(Error::Truncated);
        }
        out.value =
            chars ? character_value(SqlType::VarChar, *b) : Value{Bytes(b->begin(), b->end())};
        return out;
    }
    case tt::kBigVarChar:
    case tt::kBigChar:
    case tt::kNVarChar:
    case tt::kNChar:
    case tt::kBigVarBinary:
    case tt::kBigBinary: {
        auto max = r.u16le();
        if (!max) {
            return fail(Error::Truncated);
        }
        const bool collated = *token == tt::kBigVarChar || *token == tt::kBigChar ||
                              *token == tt::kNVarChar || *token == tt::kNChar;
        t.type = *token == tt::kBigVarChar     ? SqlType::VarChar
                 : *token == tt::kBigChar      ? SqlType::Char
                 : *token == tt::kNVarChar     ? SqlType::NVarChar
                 : *token == tt::kNChar        ? SqlType::NChar
                 : *token == tt::kBigVarBinary ? SqlType::VarBinary
                                               : SqlType::Binary;
        t.length = *max;
        if (collated) {
            auto c = read_collation(r, level);
            if (!c) {
                return fail(Error::Truncated);
            }
            t.collation = *c;
        }
        if (*max == kMaxLength) {
            if (!is_72_plus(level)) {
                return fail(Error::BadValue);
            }
            auto plp = read_plp(r);
            if (!plp) {
                return fail(plp.error());
            }
            if (*plp) {
                out.value = character_value(t.type, **plp);
            }
            return out;
        }
        auto len = r.u16le();
        if (!len) {
            return fail(Error::Truncated);
        }
        if (*len == kCharBinNull) {
            return out;
        }
        if (*len > *max) {
            return fail(Error::BadValue);
        }
        auto b = r.bytes(*len);
        if (!b) {
            return fail(Error::Truncated);
        }
        out.value = character_value(t.type, *b);
        return out;
    }
    case tt::kText:
    case tt::kNText:
    case tt::kImage: {
        auto max = r.u32le();
        if (!max) {
            return fail(Error::Truncated);
        }
        t.type = *token == tt::kText    ? SqlType::Text
                 : *token == tt::kNText ? SqlType::NText
                                        : SqlType::Image;
        t.length = *max;
        if (*token != tt::kImage) {
            auto c = read_collation(r, level);
            if (!c) {
                return fail(Error::Truncated);
            }
            t.collation = *c;
        }
        auto len = r.u32le();
        if (!len) {
            return fail(Error::Truncated);
        }
        if (*len == 0xFFFFFFFF) {
            return out;
        }
        if (*len > kMaxPlpBytes) {
            return fail(Error::BadValue);
        }
        auto b = r.bytes(*len);
        if (!b) {
            return fail(Error::Truncated);
        }
        out.value = character_value(t.type, *b);
        return out;
    }
    case tt::kVariant: {
        if (!is_72_plus(level)) {
            return fail(Error::UnknownType); // introduced in TDS 7.2 (MS-TDS 2.2.5.4.3)
        }
        auto max = r.u32le();
        if (!max) {
            return fail(Error::Truncated);
        }
        t = variant_type();
        auto len = r.u32le();
        if (!len) {
            return fail(Error::Truncated);
        }
        if (*len == 0) {
            return out;
        }
        if (*len > kVariantMaxLen) {
            return fail(Error::BadValue);
        }
        return set(read_variant_value(r, *len));
    }
    case tt::kXml: {
        if (!is_72_plus(level)) {
            return fail(Error::UnknownType);
        }
        auto schema = r.u8();
        if (!schema) {
            return fail(Error::Truncated);
        }
        if (*schema != 0) {
            auto db = r.u8();
            if (!db || !r.skip(static_cast<std::size_t>(*db) * 2)) {
                return fail(Error::Truncated);
            }
            auto owner = r.u8();
            if (!owner || !r.skip(static_cast<std::size_t>(*owner) * 2)) {
                return fail(Error::Truncated);
            }
            auto coll = r.u16le();
            if (!coll || !r.skip(static_cast<std::size_t>(*coll) * 2)) {
                return fail(Error::Truncated);
            }
        }
        t.type = SqlType::Xml;
        t.length = kMaxLength;
        auto plp = read_plp(r);
        if (!plp) {
            return fail(plp.error());
        }
        if (*plp) {
            out.value = character_value(SqlType::Xml, **plp);
        }
        return out;
    }
    default:
        return fail(Error::UnknownType);
    }
}

} // namespace tds
