#include <cmath>
#include <limits>

#include <standin/sqlserver/builtins.h>
#include <standin/sqlserver/evaluator.h>
#include <standin/sqlserver/sql_lexer.h>
#include <tds/utf16.h>

namespace standin::sqlserver {

using tds::SqlType;
using tds::TypedValue;
using tds::TypeInfo;
using tds::Value;

namespace {

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };

bool is_unicode(SqlType t) {
    return t == SqlType::NVarChar || t == SqlType::NChar || t == SqlType::NText;
}
bool is_string(SqlType t) {
    return is_unicode(t) || t == SqlType::VarChar || t == SqlType::Char || t == SqlType::Text;
}
bool is_integer(SqlType t) {
    return t == SqlType::Int || t == SqlType::BigInt || t == SqlType::SmallInt ||
           t == SqlType::TinyInt || t == SqlType::Bit;
}
bool is_exact(SqlType t) {
    return t == SqlType::Decimal || t == SqlType::Numeric || t == SqlType::Money ||
           t == SqlType::SmallMoney;
}
bool is_number(SqlType t) {
    return is_integer(t) || is_exact(t) || t == SqlType::Float || t == SqlType::Real;
}

std::uint32_t chars_of(const TypeInfo& t) {
    if (t.length == tds::kMaxLength) {
        return 4001;
    }
    return is_unicode(t.type) ? t.length / 2 : t.length;
}

std::optional<double> to_double(const Value& v) {
    return std::visit(
        Overloaded{[](std::monostate) -> std::optional<double> { return std::nullopt; },
                   [](bool b) -> std::optional<double> { return b ? 1.0 : 0.0; },
                   [](std::int64_t n) -> std::optional<double> { return static_cast<double>(n); },
                   [](double d) -> std::optional<double> { return d; },
                   [](const tds::Decimal& d) -> std::optional<double> {
                       auto text = tds::format_value(Value{d}, tds::numeric_type(38, d.scale));
                       return text ? std::optional<double>(std::stod(*text)) : std::nullopt;
                   },
                   [](const std::string& s) -> std::optional<double> {
                       try {
                           std::size_t used = 0;
                           double d = std::stod(s, &used);
                           return used == s.size() ? std::optional<double>(d) : std::nullopt;
                       } catch (...) {
                           return std::nullopt;
                       }
                   },
                   [](const tds::Bytes&) -> std::optional<double> { return std::nullopt; },
                   [](const tds::DateTime&) -> std::optional<double> { return std::nullopt; },
                   [](const tds::Guid&) -> std::optional<double> {
                       return std::nullopt;
                   }},
        v);
}

std::optional<std::int64_t> to_int(const Value& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
        return *n;
    }
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b ? 1 : 0;
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
        std::string t = *s;
        while (!t.empty() && t.front() == ' ') {
            t.erase(0, 1);
        }
        while (!t.empty() && t.back() == ' ') {
            t.pop_back();
        }
        if (t.empty()) {
            return 0; // '' converts to 0
        }
        std::size_t i = (t[0] == '-' || t[0] == '+') ? 1 : 0;
        if (i == t.size()) {
            return std::nullopt;
        }
        for (std::size_t k = i; k < t.size(); ++k) {
            if (t[k] < '0' || t[k] > '9') {
                return std::nullopt;
            }
        }
        try {
            return std::stoll(t);
        } catch (...) {
            return std::nullopt;
        }
    }
    if (auto d = to_double(v)) {
        return static_cast<std::int64_t>(std::trunc(*d));
    }
    return std::nullopt;
}

// round_to_scale: a decimal at `scale` digits after the point, rounded half away from zero,
// as CAST to decimal(p, s) does.
tds::Decimal round_to_scale(tds::Decimal d, std::uint8_t scale) {
    if (d.scale <= scale) {
        d.digits.append(scale - d.scale, '0');
        d.scale = scale;
        return d;
    }
    const std::size_t cut = d.scale - scale;
    std::string digits = d.digits;
    if (digits.size() <= cut) {
        digits.insert(0, cut - digits.size() + 1, '0');
    }
    const bool round_up = digits[digits.size() - cut] >= '5';
    digits.resize(digits.size() - cut);
    if (round_up) {
        std::size_t k = digits.size();
        while (k > 0) {
            --k;
            if (digits[k] == '9') {
                digits[k] = '0';
                if (k == 0) {
                    digits.insert(digits.begin(), '1');
                }
            } else {
                ++digits[k];
                break;
            }
        }
    }
    auto first = digits.find_first_not_of('0');
    d.digits = first == std::string::npos ? "0" : digits.substr(first);
    d.scale = scale;
    d.negative = d.negative && d.digits != "0";
    return d;
}

// float_style0: a float as CAST(... AS varchar) shows it (style 0: at most six significant
// digits, scientific notation with a three-digit exponent when needed).
std::string float_style0(double x) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    std::string s = buf;
    auto e = s.find('e');
    if (e != std::string::npos) {
        std::string mant = s.substr(0, e);
        char sign = s[e + 1];
        std::string exp = s.substr(e + 2);
        while (exp.size() < 3) {
            exp.insert(0, "0");
        }
        s = mant + "e" + sign + exp;
    }
    return s;
}

std::string value_text(const TypedValue& v) {
    return tds::format_value(v.value, v.type).value_or("");
}

// parse_date_time reads the ISO 8601 forms SQL Server accepts whatever the language and date
// format: 'YYYY-MM-DD' or 'YYYYMMDD', optionally followed by 'T' or ' ' and
// 'hh:mm[:ss[.fffffff]]' and an offset ('Z', '+hh:mm'); or a time alone.
std::optional<tds::DateTime> parse_date_time(std::string_view s) {
    auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
        if (at + n > s.size()) {
            return std::nullopt;
        }
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (s[i] < '0' || s[i] > '9') {
                return std::nullopt;
            }
            v = v * 10 + (s[i] - '0');
        }
        return v;
    };
    while (!s.empty() && s.front() == ' ') {
        s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == ' ') {
        s.remove_suffix(1);
    }
    tds::DateTime out;
    std::size_t i = 0;
    bool have_date = false;
    if (s.size() >= 8 && s[2] != ':') {
        std::optional<int> y = digits(0, 4);
        std::optional<int> m;
        std::optional<int> d;
        if (s.size() >= 10 && s[4] == '-' && s[7] == '-') {
            m = digits(5, 2);
            d = digits(8, 2);
            i = 10;
        } else {
            m = digits(4, 2);
            d = digits(6, 2);
            i = 8;
        }
        if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1 || *d > 31 || *y < 1) {
            return std::nullopt;
        }
        int back_y = 0;
        unsigned back_m = 0;
        unsigned back_d = 0;
        out.days = tds::days_from_civil(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d));
        tds::civil_from_days(out.days, back_y, back_m, back_d);
        if (back_d != static_cast<unsigned>(*d)) {
            return std::nullopt; // 2001-02-30
        }
        have_date = true;
        if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
            ++i;
        }
    }
    if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        auto hh = digits(i, 2);
        if (!hh || i + 2 >= s.size() || s[i + 2] != ':') {
            return std::nullopt;
        }
        auto mm = digits(i + 3, 2);
        if (!mm) {
            return std::nullopt;
        }
        i += 5;
        int ss = 0;
        std::uint64_t frac = 0;
        if (i < s.size() && s[i] == ':') {
            auto sec = digits(i + 1, 2);
            if (!sec) {
                return std::nullopt;
            }
            ss = *sec;
            i += 3;
            if (i < s.size() && s[i] == '.') {
                ++i;
                std::size_t n = 0;
                while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                    if (n < 7) {
                        frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
                        ++n;
                    }
                    ++i;
                }
                for (; n < 7; ++n) {
                    frac *= 10;
                }
            }
        }
        if (*hh > 23 || *mm > 59 || ss > 59) {
            return std::nullopt;
        }
        out.ticks = (static_cast<std::uint64_t>(*hh) * 3600 + static_cast<std::uint64_t>(*mm) * 60 +
                     static_cast<std::uint64_t>(ss)) *
                        10'000'000 +
                    frac;
    } else if (!have_date) {
        return std::nullopt;
    }
    while (i < s.size() && s[i] == ' ') {
        ++i;
    }
    if (i == s.size()) {
        return out;
    }
    if (s[i] == 'Z' && i + 1 == s.size()) {
        return out;
    }
    if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
        auto oh = digits(i + 1, 2);
        auto om = digits(i + 4, 2);
        if (!oh || !om || *oh > 14 || *om > 59) {
            return std::nullopt;
        }
        int off = *oh * 60 + *om;
        out.offset_minutes = static_cast<std::int16_t>(s[i] == '-' ? -off : off);
        return out;
    }
    return std::nullopt;
}

bool fits(std::int64_t n, SqlType t) {
    switch (t) {
    case SqlType::TinyInt:
        return n >= 0 && n <= 255;
    case SqlType::SmallInt:
        return n >= -32768 && n <= 32767;
    case SqlType::Int:
        return n >= std::numeric_limits<std::int32_t>::min() &&
               n <= std::numeric_limits<std::int32_t>::max();
    case SqlType::Bit:
    case SqlType::BigInt:
    case SqlType::Decimal:
    case SqlType::Numeric:
    case SqlType::Real:
    case SqlType::Float:
    case SqlType::SmallMoney:
    case SqlType::Money:
    case SqlType::SmallDateTime:
    case SqlType::DateTime:
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
        return true;
    }
    return true;
}

// compare: -1/0/1, or nullopt when either side is NULL or they cannot be compared.
std::optional<int> compare(const TypedValue& a, const TypedValue& b) {
    if (tds::is_null(a.value) || tds::is_null(b.value)) {
        return std::nullopt;
    }
    if (is_string(a.type.type) && is_string(b.type.type)) {
        // default collation: case-insensitive, trailing spaces ignored
        auto x = lower_ascii(value_text(a));
        auto y = lower_ascii(value_text(b));
        while (!x.empty() && x.back() == ' ') {
            x.pop_back();
        }
        while (!y.empty() && y.back() == ' ') {
            y.pop_back();
        }
        return x < y ? -1 : x > y ? 1 : 0;
    }
    auto x = to_double(a.value);
    auto y = to_double(b.value);
    if (!x || !y) {
        auto sx = value_text(a);
        auto sy = value_text(b);
        return sx < sy ? -1 : sx > sy ? 1 : 0;
    }
    return *x < *y ? -1 : *x > *y ? 1 : 0;
}

Evaluated arithmetic(const std::string& op, const TypedValue& a, const TypedValue& b) {
    if (op == "+" && (is_string(a.type.type) || is_string(b.type.type)) &&
        !is_number(a.type.type) && !is_number(b.type.type)) {
        TypeInfo t = (is_unicode(a.type.type) || is_unicode(b.type.type))
                         ? tds::nvarchar_type(chars_of(a.type) + chars_of(b.type))
                         : tds::varchar_type(chars_of(a.type) + chars_of(b.type));
        if (tds::is_null(a.value) || tds::is_null(b.value)) {
            return TypedValue{t, Value{}};
        }
        return TypedValue{t, Value{value_text(a) + value_text(b)}};
    }
    const bool integers = is_integer(a.type.type) && is_integer(b.type.type);
    TypeInfo result = integers ? (a.type.type == SqlType::BigInt || b.type.type == SqlType::BigInt
                                      ? tds::bigint_type()
                                      : tds::int_type())
                               : tds::float_type();
    if (!integers && (is_exact(a.type.type) || is_exact(b.type.type)) &&
        a.type.type != SqlType::Float && b.type.type != SqlType::Float) {
        result = tds::numeric_type(38, std::max(a.type.scale, b.type.scale));
    }
    if (tds::is_null(a.value) || tds::is_null(b.value)) {
        return TypedValue{result, Value{}};
    }
    if (integers) {
        auto x = to_int(a.value);
        auto y = to_int(b.value);
        if (!x || !y) {
            return std::unexpected(errors::conversion_failed("varchar", value_text(a), "int"));
        }
        std::int64_t r = 0;
        if (op == "+") {
            r = *x + *y;
        } else if (op == "-") {
            r = *x - *y;
        } else if (op == "*") {
            r = *x * *y;
        } else if (op == "/" || op == "%") {
            if (*y == 0) {
                return std::unexpected(errors::divide_by_zero());
            }
            r = op == "/" ? *x / *y : *x % *y;
        } else if (op == "&") {
            r = *x & *y;
        } else if (op == "|") {
            r = *x | *y;
        } else if (op == "^") {
            r = *x ^ *y;
        }
        if (!fits(r, result.type)) {
            return std::unexpected(errors::arithmetic_overflow(type_name(result)));
        }
        return TypedValue{result, Value{r}};
    }
    auto x = to_double(a.value);
    auto y = to_double(b.value);
    if (!x || !y) {
        return std::unexpected(errors::conversion_failed("varchar", value_text(a), "float"));
    }
    double r = 0;
    if (op == "+") {
        r = *x + *y;
    } else if (op == "-") {
        r = *x - *y;
    } else if (op == "*") {
        r = *x * *y;
    } else if (op == "/") {
        if (*y == 0) {
            return std::unexpected(errors::divide_by_zero());
        }
        r = *x / *y;
    } else {
        return std::unexpected(errors::conversion_failed("float", value_text(a), "int"));
    }
    if (result.type == SqlType::Numeric) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(result.scale), r);
        auto d = tds::parse_decimal(buf);
        return TypedValue{result, d ? Value{*d} : Value{}};
    }
    return TypedValue{result, Value{r}};
}

} // namespace

std::string type_name(const TypeInfo& t) {
    return std::string(tds::to_string(t.type));
}

std::expected<TypeInfo, SqlError> resolve_type(const TypeSpec& spec, bool in_cast) {
    const std::string& n = spec.name;
    auto arg = [&](std::size_t i, std::uint32_t dflt) {
        return i < spec.args.size() ? spec.args[i] : dflt;
    };
    const std::uint32_t default_len = in_cast ? 30 : 1;
    struct Simple {
        std::string_view name;
        TypeInfo (*make)();
    };
    static const Simple kSimple[] = {
        {"int", tds::int_type},         {"integer", tds::int_type},
        {"bigint", tds::bigint_type},   {"smallint", tds::smallint_type},
        {"tinyint", tds::tinyint_type}, {"bit", tds::bit_type},
        {"float", tds::float_type},     {"datetime", tds::datetime_type},
        {"sysname", tds::sysname_type}, {"sql_variant", tds::variant_type},
    };
    for (const auto& s : kSimple) {
        if (n == s.name) {
            TypeInfo t = s.make();
            t.nullable = true;
            return t;
        }
    }
    TypeInfo t;
    if (n == "real") {
        t.type = SqlType::Real;
    } else if (n == "decimal" || n == "dec" || n == "numeric") {
        auto p = static_cast<std::uint8_t>(std::clamp<std::uint32_t>(arg(0, 18), 1, 38));
        auto s = static_cast<std::uint8_t>(std::min<std::uint32_t>(arg(1, 0), p));
        t = n == "numeric" ? tds::numeric_type(p, s) : tds::decimal_type(p, s);
    } else if (n == "money") {
        t.type = SqlType::Money;
    } else if (n == "smallmoney") {
        t.type = SqlType::SmallMoney;
    } else if (n == "smalldatetime") {
        t.type = SqlType::SmallDateTime;
    } else if (n == "date") {
        t.type = SqlType::Date;
    } else if (n == "time" || n == "datetime2" || n == "datetimeoffset") {
        t.type = n == "time"        ? SqlType::Time
                 : n == "datetime2" ? SqlType::DateTime2
                                    : SqlType::DateTimeOffset;
        t.scale = static_cast<std::uint8_t>(std::min<std::uint32_t>(arg(0, 7), 7));
    } else if (n == "varchar" || n == "char" || n == "character") {
        std::uint32_t len = spec.max ? 8001 : arg(0, default_len);
        t = tds::varchar_type(len);
        if (n != "varchar") {
            t.type = SqlType::Char;
        }
    } else if (n == "nvarchar" || n == "nchar") {
        t = tds::nvarchar_type(spec.max ? 4001 : arg(0, default_len));
        if (n == "nchar") {
            t = tds::nchar_type(arg(0, default_len));
        }
    } else if (n == "varbinary" || n == "binary") {
        t = n == "varbinary" ? tds::varbinary_type(spec.max ? 8001 : arg(0, default_len))
                             : tds::binary_type(arg(0, default_len));
    } else if (n == "uniqueidentifier") {
        t.type = SqlType::UniqueIdentifier;
    } else if (n == "text") {
        t = tds::varchar_type(8001);
    } else if (n == "ntext" || n == "xml") {
        t = tds::nvarchar_type(4001);
    } else if (n == "image") {
        t = tds::varbinary_type(8001);
    } else {
        return std::unexpected(errors::unknown_type(n));
    }
    t.nullable = true;
    return t;
}

Evaluated convert(const TypedValue& v, const TypeInfo& to) {
    TypedValue out{to, Value{}};
    if (tds::is_null(v.value)) {
        return out;
    }
    const SqlType from = v.type.type;
    if (to.type == SqlType::Variant) {
        out.value = v.value;
        return out;
    }
    if (is_string(to.type)) {
        std::string text =
            (from == SqlType::Float || from == SqlType::Real)
                ? float_style0(std::get_if<double>(&v.value) ? *std::get_if<double>(&v.value) : 0.0)
                : value_text(v);
        // truncated to the target length, as CAST does for strings
        const std::uint32_t max_chars = chars_of(to);
        auto units = tds::utf8_to_utf16le(text);
        if (to.length != tds::kMaxLength && units.size() / 2 > max_chars) {
            units.resize(static_cast<std::size_t>(max_chars) * 2);
            text = tds::utf16le_to_utf8(units);
        }
        out.value = text;
        return out;
    }
    if (is_integer(to.type)) {
        auto n = to_int(v.value);
        if (!n) {
            return std::unexpected(
                errors::conversion_failed(type_name(v.type), value_text(v), type_name(to)));
        }
        if (to.type == SqlType::Bit) {
            out.value = *n != 0;
            return out;
        }
        if (!fits(*n, to.type)) {
            return std::unexpected(errors::arithmetic_overflow(type_name(to)));
        }
        out.value = *n;
        return out;
    }
    if (to.type == SqlType::Float || to.type == SqlType::Real) {
        auto d = to_double(v.value);
        if (!d) {
            return std::unexpected(
                errors::conversion_failed(type_name(v.type), value_text(v), type_name(to)));
        }
        out.value = *d;
        return out;
    }
    if (is_exact(to.type)) {
        auto d = tds::parse_decimal(value_text(v));
        if (!d) {
            if (auto f = to_double(v.value)) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(to.scale), *f);
                d = tds::parse_decimal(buf);
            }
        }
        if (!d) {
            return std::unexpected(
                errors::conversion_failed(type_name(v.type), value_text(v), type_name(to)));
        }
        if (to.type == SqlType::Decimal || to.type == SqlType::Numeric) {
            auto scaled = round_to_scale(*d, to.scale);
            if (scaled.digits.size() > to.precision && scaled.digits != "0") {
                return std::unexpected(errors::arithmetic_overflow(type_name(to)));
            }
            out.value = scaled;
        } else {
            out.value = round_to_scale(*d, 4); // money: four decimals
        }
        return out;
    }
    if (to.type == SqlType::VarBinary || to.type == SqlType::Binary) {
        if (const auto* b = std::get_if<tds::Bytes>(&v.value)) {
            out.value = *b;
        } else {
            auto text = value_text(v);
            out.value = is_unicode(from) ? tds::utf8_to_utf16le(text) : tds::utf8_to_cp1252(text);
        }
        return out;
    }
    const bool to_date = to.type == SqlType::DateTime || to.type == SqlType::SmallDateTime ||
                         to.type == SqlType::Date || to.type == SqlType::Time ||
                         to.type == SqlType::DateTime2 || to.type == SqlType::DateTimeOffset;
    if (to_date && is_string(from)) {
        auto dt = parse_date_time(value_text(v));
        if (!dt) {
            return std::unexpected(SqlError{
                241, 1, 16,
                "Conversion failed when converting date and/or time from character string.",
                ErrorScope::Batch});
        }
        if (to.type == SqlType::Date) {
            dt->ticks = 0;
        }
        if (to.type == SqlType::Time) {
            dt->days = 0;
        }
        if (to.type != SqlType::DateTimeOffset) {
            dt->offset_minutes = 0;
        }
        out.value = *dt;
        return out;
    }
    if (std::holds_alternative<tds::DateTime>(v.value) ||
        std::holds_alternative<tds::Guid>(v.value)) {
        out.value = v.value;
        return out;
    }
    return std::unexpected(
        errors::conversion_failed(type_name(v.type), value_text(v), type_name(to)));
}

Evaluated evaluate(const Expr& e, const EvalContext& ctx) {
    return std::visit(
        Overloaded{
            [&](const Literal& l) -> Evaluated { return l.value; },
            [&](const VariableRef& v) -> Evaluated {
                auto it = ctx.variables.find(v.name);
                if (it == ctx.variables.end()) {
                    return std::unexpected(errors::undeclared_variable(v.name));
                }
                return it->second;
            },
            [&](const SystemVariableRef& v) -> Evaluated { return system_variable(v.name, ctx); },
            [&](const Niladic& n) -> Evaluated { return niladic_function(n.name, ctx); },
            [&](const FunctionCall& f) -> Evaluated {
                std::vector<TypedValue> args;
                for (const auto& a : f.args) {
                    auto v = evaluate(*a, ctx);
                    if (!v) {
                        return v;
                    }
                    args.push_back(std::move(*v));
                }
                return call_function(f.name, args, ctx);
            },
            [&](const ColumnRef& c) -> Evaluated {
                return std::unexpected(errors::invalid_column(c.name));
            },
            [&](const Cast& c) -> Evaluated {
                auto v = evaluate(*c.expr, ctx);
                if (!v) {
                    return v;
                }
                auto t = resolve_type(c.type, true);
                if (!t) {
                    return std::unexpected(t.error());
                }
                return convert(*v, *t);
            },
            [&](const Unary& u) -> Evaluated {
                auto v = evaluate(*u.operand, ctx);
                if (!v || u.op == '+') {
                    return v;
                }
                if (tds::is_null(v->value)) {
                    return v;
                }
                if (u.op == '~') {
                    auto n = to_int(v->value);
                    return TypedValue{v->type, n ? Value{~*n} : Value{}};
                }
                if (auto* n = std::get_if<std::int64_t>(&v->value)) {
                    *n = -*n;
                } else if (auto* d = std::get_if<double>(&v->value)) {
                    *d = -*d;
                } else if (auto* m = std::get_if<tds::Decimal>(&v->value)) {
                    m->negative = !m->negative && m->digits != "0";
                } else {
                    return std::unexpected(
                        errors::conversion_failed(type_name(v->type), value_text(*v), "int"));
                }
                return v;
            },
            [&](const Binary& b) -> Evaluated {
                if (b.op == "and" || b.op == "or" || b.op == "=" || b.op == "<>" || b.op == "!=" ||
                    b.op == "<" || b.op == ">" || b.op == "<=" || b.op == ">=" || b.op == "!<" ||
                    b.op == "!>") {
                    auto c = evaluate_condition(e, ctx);
                    if (!c) {
                        return std::unexpected(c.error());
                    }
                    return TypedValue{tds::bit_type(), Value{*c}};
                }
                auto l = evaluate(*b.lhs, ctx);
                if (!l) {
                    return l;
                }
                auto r = evaluate(*b.rhs, ctx);
                if (!r) {
                    return r;
                }
                return arithmetic(b.op, *l, *r);
            },
            [&](const Not&) -> Evaluated {
                auto c = evaluate_condition(e, ctx);
                if (!c) {
                    return std::unexpected(c.error());
                }
                return TypedValue{tds::bit_type(), Value{*c}};
            },
            [&](const IsNull&) -> Evaluated {
                auto c = evaluate_condition(e, ctx);
                if (!c) {
                    return std::unexpected(c.error());
                }
                return TypedValue{tds::bit_type(), Value{*c}};
            },
            [&](const ObjectAccess& o) -> Evaluated {
                return std::unexpected(errors::invalid_object(o.object));
            },
        },
        e.node);
}

namespace {

// Truth is SQL's three-valued logic: true, false or unknown (nullopt), so that NOT of an
// unknown stays unknown ("NOT (Transact-SQL)").
using Truth = std::expected<std::optional<bool>, SqlError>;

Truth truth(const Expr& e, const EvalContext& ctx) {
    if (const auto* b = std::get_if<Binary>(&e.node)) {
        if (b->op == "and" || b->op == "or") {
            auto l = truth(*b->lhs, ctx);
            if (!l) {
                return l;
            }
            const bool is_and = b->op == "and";
            if (*l && **l != is_and) {
                return *l; // false AND x, true OR x
            }
            auto r = truth(*b->rhs, ctx);
            if (!r) {
                return r;
            }
            if (*r && **r != is_and) {
                return *r;
            }
            if (!*l || !*r) {
                return std::optional<bool>{};
            }
            return std::optional<bool>{is_and};
        }
        static constexpr std::string_view kCompare[] = {"=",  "<>", "!=", "<", ">",
                                                        "<=", ">=", "!<", "!>"};
        if (std::find(std::begin(kCompare), std::end(kCompare), b->op) != std::end(kCompare)) {
            auto l = evaluate(*b->lhs, ctx);
            if (!l) {
                return std::unexpected(l.error());
            }
            auto r = evaluate(*b->rhs, ctx);
            if (!r) {
                return std::unexpected(r.error());
            }
            auto c = compare(*l, *r);
            if (!c) {
                return std::optional<bool>{};
            }
            const std::string& op = b->op;
            bool result = op == "="                  ? *c == 0
                          : op == "<>" || op == "!=" ? *c != 0
                          : op == "<"                ? *c < 0
                          : op == ">"                ? *c > 0
                          : op == "<=" || op == "!>" ? *c <= 0
                                                     : *c >= 0; // >=, !<
            return std::optional<bool>{result};
        }
    }
    if (const auto* n = std::get_if<Not>(&e.node)) {
        auto c = truth(*n->operand, ctx);
        if (!c || !*c) {
            return c;
        }
        return std::optional<bool>{!**c};
    }
    if (const auto* n = std::get_if<IsNull>(&e.node)) {
        auto v = evaluate(*n->operand, ctx);
        if (!v) {
            return std::unexpected(v.error());
        }
        return std::optional<bool>{tds::is_null(v->value) != n->negated};
    }
    // a value used as a condition (SQL Server rejects most with 4145): non-zero is true
    auto v = evaluate(e, ctx);
    if (!v) {
        return std::unexpected(v.error());
    }
    if (tds::is_null(v->value)) {
        return std::optional<bool>{};
    }
    return std::optional<bool>{to_int(v->value).value_or(0) != 0};
}

} // namespace

std::expected<bool, SqlError> evaluate_condition(const Expr& e, const EvalContext& ctx) {
    auto t = truth(e, ctx);
    if (!t) {
        return std::unexpected(t.error());
    }
    return t->value_or(false); // unknown is not true
}

} // namespace standin::sqlserver
