// Values: the Val constructors (each with the column definition the servers send for such a
// value), conversions, comparison, and the result column definitions.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::size_t utf8_chars(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            ++n;
        }
    }
    return n;
}

Val null_val() {
    Val v;
    v.kind = Val::Kind::Null;
    v.meta.type = ColumnType::Null;
    v.meta.character_set = 63;
    v.meta.column_length = 0;
    v.meta.flags = column_flag::Binary;
    return v;
}

Val int_val(const Ctx& c, std::string text, bool not_null, bool is_unsigned,
            std::optional<std::uint32_t> length) {
    Val v;
    v.kind = is_unsigned ? Val::Kind::UInt : Val::Kind::Int;
    auto len = length.value_or(static_cast<std::uint32_t>(text.size()));
    v.meta.type = (c.my() || len >= 11) ? ColumnType::LongLong : ColumnType::Long;
    v.meta.column_length = len;
    v.meta.character_set = 63;
    v.meta.flags =
        static_cast<std::uint16_t>((not_null ? column_flag::NotNull : 0) | column_flag::Binary |
                                   c.num_flag() | (is_unsigned ? column_flag::Unsigned : 0));
    v.text = std::move(text);
    return v;
}

Val string_val(const Ctx& c, std::string text, bool not_null, std::optional<std::uint32_t> chars) {
    Val v;
    v.kind = Val::Kind::String;
    const auto& coll = c.conn();
    v.meta.type = ColumnType::VarString;
    v.meta.character_set = coll.id;
    v.meta.column_length =
        static_cast<std::uint32_t>(chars.value_or(utf8_chars(text)) * coll.max_bytes);
    v.meta.flags = not_null ? column_flag::NotNull : 0;
    v.meta.decimals = c.string_decimals();
    v.text = std::move(text);
    return v;
}

std::string format_double(double d) {
    if (std::isnan(d) || std::isinf(d)) {
        return "0";
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    std::string s(buf, r.ptr);
    auto e = s.find("e+");
    if (e != std::string::npos) {
        s.erase(e + 1, 1);
    }
    return s;
}

Val double_val(const Ctx& c, double d, std::uint32_t length) {
    Val v;
    v.kind = Val::Kind::Double;
    v.text = format_double(d);
    v.meta.type = ColumnType::Double;
    v.meta.column_length = length;
    v.meta.character_set = 63;
    v.meta.decimals = 31;
    v.meta.flags =
        static_cast<std::uint16_t>(column_flag::NotNull | column_flag::Binary | c.num_flag());
    return v;
}

std::size_t scale_of(std::string_view t) {
    auto dot = t.find('.');
    return dot == std::string_view::npos ? 0 : t.size() - dot - 1;
}

Val decimal_val(const Ctx& c, std::string text) {
    Val v;
    v.kind = Val::Kind::Decimal;
    auto scale = scale_of(text);
    std::size_t digits = 0;
    for (char ch : text) {
        digits += is_digit(ch) ? 1 : 0;
    }
    v.meta.type = ColumnType::NewDecimal;
    v.meta.column_length = static_cast<std::uint32_t>(digits + (scale > 0 ? 1 : 0) + 1);
    v.meta.decimals = static_cast<std::uint8_t>(scale);
    v.meta.character_set = 63;
    v.meta.flags =
        static_cast<std::uint16_t>(column_flag::NotNull | column_flag::Binary | c.num_flag());
    v.text = std::move(text);
    return v;
}

std::string format_fixed(long double d, std::size_t scale) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.*Lf", static_cast<int>(scale), d);
    return buf;
}

std::int64_t now_us(const SessionState& s) {
    if (s.clock) {
        return s.clock();
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Val datetime_val(const Ctx& c, std::int64_t us) {
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    Val v;
    v.kind = Val::Kind::DateTime;
    v.text = buf;
    v.meta.type = ColumnType::DateTime;
    v.meta.column_length = 19;
    v.meta.character_set = 63;
    v.meta.flags = column_flag::NotNull | column_flag::Binary;
    (void)c;
    return v;
}

long double as_number(const Val& v) {
    if (v.is_null()) {
        return 0;
    }
    return std::strtold(v.text.c_str(), nullptr);
}

bool truthy(const Val& v) {
    return !v.is_null() && as_number(v) != 0;
}

Val bool_val(const Ctx& c, std::optional<bool> b) {
    if (!b) {
        auto v = null_val();
        return v;
    }
    return int_val(c, *b ? "1" : "0");
}

std::string user_at_host(const SessionState& s) {
    return s.user + "@" + s.client_host;
}

void warn(Ctx& c, std::uint16_t code, std::string message) {
    if (!c.describing && c.s.diagnostics.size() < 64) {
        c.s.diagnostics.push_back({"Warning", code, std::move(message)});
    }
}

Val typed_null(Val v) {
    v.kind = Val::Kind::Null;
    v.text.clear();
    v.meta.flags = static_cast<std::uint16_t>(v.meta.flags & ~column_flag::NotNull);
    return v;
}

std::int64_t to_int(const Val& v) {
    auto d = as_number(v);
    if (d > 9.2e18L) {
        return INT64_MAX;
    }
    if (d < -9.2e18L) {
        return INT64_MIN;
    }
    return static_cast<std::int64_t>(d);
}

Val long_val(const Ctx& c, std::int64_t n, std::uint32_t len) {
    Val v = int_val(c, std::to_string(n), true, false, len);
    if (!c.my()) {
        v.meta.type = len > 10 ? ColumnType::LongLong : ColumnType::Long;
    }
    return v;
}

int compare_vals(const Val& a, const Val& b) {
    if (a.is_null() || b.is_null()) {
        return a.is_null() == b.is_null() ? 0 : (a.is_null() ? -1 : 1);
    }
    if (a.numeric() || b.numeric()) {
        auto x = as_number(a);
        auto y = as_number(b);
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    auto la = lower(a.text);
    auto lb = lower(b.text);
    // PAD SPACE collations ignore trailing spaces
    while (!la.empty() && la.back() == ' ') {
        la.pop_back();
    }
    while (!lb.empty() && lb.back() == ' ') {
        lb.pop_back();
    }
    return la < lb ? -1 : (la > lb ? 1 : 0);
}

ColumnDefinition text_column(const Ctx& c, std::string name, std::uint32_t chars, bool not_null) {
    ColumnDefinition d;
    d.name = std::move(name);
    d.character_set = c.conn().id;
    d.column_length = chars * c.conn().max_bytes;
    d.type = ColumnType::VarString;
    d.flags = not_null ? column_flag::NotNull : 0;
    d.decimals = 0;
    return d;
}

ColumnDefinition number_column(const Ctx& c, std::string name, std::uint32_t length,
                               ColumnType type) {
    ColumnDefinition d;
    d.name = std::move(name);
    d.character_set = 63;
    d.column_length = length;
    d.type = type;
    d.flags = static_cast<std::uint16_t>(column_flag::NotNull | column_flag::Unsigned |
                                         column_flag::Binary | c.num_flag());
    return d;
}

ColumnDefinition catalog_column(const Ctx& c, const CatalogColumn& col) {
    ColumnDefinition d;
    d.name = std::string(col.name);
    d.org_name = d.name;
    std::uint16_t not_null = col.nullable ? 0 : column_flag::NotNull;
    switch (col.type) {
    case CatalogType::Varchar:
        d = text_column(c, d.name, col.length, !col.nullable);
        break;
    case CatalogType::BigintUnsigned:
    case CatalogType::Bigint:
    case CatalogType::Int:
        d.type = col.type == CatalogType::Int ? ColumnType::Long : ColumnType::LongLong;
        d.character_set = 63;
        d.column_length = col.length;
        d.flags = static_cast<std::uint16_t>(
            not_null | column_flag::Binary | c.num_flag() |
            (col.type == CatalogType::BigintUnsigned ? column_flag::Unsigned : 0));
        break;
    case CatalogType::Datetime:
        d.type = ColumnType::DateTime;
        d.character_set = 63;
        d.column_length = 19;
        d.flags = static_cast<std::uint16_t>(not_null | column_flag::Binary);
        break;
    case CatalogType::Text:
        d.type = ColumnType::Blob;
        d.character_set = c.conn().id;
        d.column_length = 0xFFFFFFFF;
        d.flags = static_cast<std::uint16_t>(not_null | column_flag::Blob);
        break;
    case CatalogType::Decimal:
        d.type = ColumnType::NewDecimal;
        d.character_set = 63;
        d.column_length = col.length;
        d.decimals = 3;
        d.flags = static_cast<std::uint16_t>(not_null | column_flag::Binary | c.num_flag());
        break;
    case CatalogType::Double:
        d.type = ColumnType::Double;
        d.character_set = 63;
        d.column_length = col.length;
        d.decimals = 31;
        d.flags = static_cast<std::uint16_t>(not_null | column_flag::Binary | c.num_flag());
        break;
    }
    d.org_name = std::string(col.name);
    return d;
}

Val cell(const ColumnDefinition& def, const std::optional<std::string>& text) {
    Val v;
    v.meta = def;
    if (!text) {
        v.kind = Val::Kind::Null;
        return v;
    }
    v.text = *text;
    auto t = def.type;
    if (t == ColumnType::LongLong || t == ColumnType::Long || t == ColumnType::Tiny ||
        t == ColumnType::Short || t == ColumnType::Int24) {
        v.kind = (def.flags & column_flag::Unsigned) != 0 ? Val::Kind::UInt : Val::Kind::Int;
    } else if (t == ColumnType::NewDecimal) {
        v.kind = Val::Kind::Decimal;
    } else if (t == ColumnType::Double || t == ColumnType::Float) {
        v.kind = Val::Kind::Double;
    } else if (t == ColumnType::DateTime || t == ColumnType::Date || t == ColumnType::Timestamp) {
        v.kind = Val::Kind::DateTime;
    } else {
        v.kind = Val::Kind::String;
    }
    return v;
}

std::optional<std::string> text_of(const Val& v) {
    if (v.is_null()) {
        return std::nullopt;
    }
    return v.text;
}

// user_value_of: what `SET @v = value` / `@v := value` stores (SELECT @v gives it that type).
UserValue user_value_of(const Val& v) {
    UserValue u;
    u.kind = v.is_null()                    ? UserValue::Kind::Null
             : v.kind == Val::Kind::Int     ? UserValue::Kind::Int
             : v.kind == Val::Kind::UInt    ? UserValue::Kind::UInt
             : v.kind == Val::Kind::Decimal ? UserValue::Kind::Decimal
             : v.kind == Val::Kind::Double  ? UserValue::Kind::Double
                                            : UserValue::Kind::String;
    u.text = v.text;
    return u;
}

} // namespace standin::mysql::execution
