#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <standin/postgres/types.h>

namespace standin::postgres {

namespace {

constexpr TypeInfo kTypes[] = {
    {oid::kBool, "bool", "boolean", 1, 'B', 'b'},
    {oid::kBytea, "bytea", "bytea", -1, 'U', 'b'},
    {oid::kChar, "char", "\"char\"", 1, 'Z', 'b'},
    {oid::kName, "name", "name", 64, 'S', 'b'},
    {oid::kInt8, "int8", "bigint", 8, 'N', 'b'},
    {oid::kInt2, "int2", "smallint", 2, 'N', 'b'},
    {oid::kInt4, "int4", "integer", 4, 'N', 'b'},
    {oid::kRegproc, "regproc", "regproc", 4, 'N', 'b'},
    {oid::kText, "text", "text", -1, 'S', 'b'},
    {oid::kOid, "oid", "oid", 4, 'N', 'b'},
    {oid::kJson, "json", "json", -1, 'U', 'b'},
    {oid::kFloat4, "float4", "real", 4, 'N', 'b'},
    {oid::kFloat8, "float8", "double precision", 8, 'N', 'b'},
    {oid::kUnknown, "unknown", "unknown", -2, 'X', 'p'},
    {oid::kInet, "inet", "inet", -1, 'I', 'b'},
    {oid::kBpchar, "bpchar", "character", -1, 'S', 'b'},
    {oid::kVarchar, "varchar", "character varying", -1, 'S', 'b'},
    {oid::kDate, "date", "date", 4, 'D', 'b'},
    {oid::kTime, "time", "time without time zone", 8, 'D', 'b'},
    {oid::kTimestamp, "timestamp", "timestamp without time zone", 8, 'D', 'b'},
    {oid::kTimestamptz, "timestamptz", "timestamp with time zone", 8, 'D', 'b'},
    {oid::kInterval, "interval", "interval", 16, 'T', 'b'},
    {oid::kTimetz, "timetz", "time with time zone", 12, 'D', 'b'},
    {oid::kNumeric, "numeric", "numeric", -1, 'N', 'b'},
    {oid::kRegclass, "regclass", "regclass", 4, 'N', 'b'},
    {oid::kVoid, "void", "void", 4, 'P', 'p'},
    {oid::kUuid, "uuid", "uuid", 16, 'U', 'b'},
    {oid::kJsonb, "jsonb", "jsonb", -1, 'U', 'b'},
};

struct TypeAlias {
    std::string_view alias;
    std::uint32_t oid;
};

constexpr TypeAlias kAliases[] = {
    {"int", oid::kInt4},
    {"integer", oid::kInt4},
    {"smallint", oid::kInt2},
    {"bigint", oid::kInt8},
    {"real", oid::kFloat4},
    {"float", oid::kFloat8},
    {"double precision", oid::kFloat8},
    {"boolean", oid::kBool},
    {"character varying", oid::kVarchar},
    {"character", oid::kBpchar},
    {"char", oid::kBpchar},
    {"decimal", oid::kNumeric},
    {"dec", oid::kNumeric},
    {"timestamp without time zone", oid::kTimestamp},
    {"timestamp with time zone", oid::kTimestamptz},
    {"time without time zone", oid::kTime},
};

std::string trim(std::string_view s) {
    auto space = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && space(s[b])) {
        ++b;
    }
    while (e > b && space(s[e - 1])) {
        --e;
    }
    return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// pg_strtoint16/32/64: whitespace, sign, decimal digits (or 0x/0o/0b) with underscores between
// digits, whitespace.
enum class IntParse : std::uint8_t { Ok, Invalid, Range };

IntParse parse_integer(std::string_view text, std::int64_t min, std::int64_t max,
                       std::int64_t& out) {
    std::string s = trim(text);
    std::size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        ++i;
    }
    int base = 10;
    if (i + 1 < s.size() && s[i] == '0') {
        char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])));
        if (p == 'x') {
            base = 16;
        } else if (p == 'o') {
            base = 8;
        } else if (p == 'b') {
            base = 2;
        }
        if (base != 10) {
            i += 2;
        }
    }
    std::uint64_t v = 0;
    bool any = false;
    bool overflow = false;
    for (; i < s.size(); ++i) {
        char c = s[i];
        int d = -1;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) {
            d = std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        } else if (c == '_' && any && i + 1 < s.size() &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 1]))) {
            continue;
        }
        if (d < 0 || d >= base) {
            return IntParse::Invalid;
        }
        any = true;
        if (__builtin_mul_overflow(v, static_cast<std::uint64_t>(base), &v) ||
            __builtin_add_overflow(v, static_cast<std::uint64_t>(d), &v)) {
            overflow = true;
        }
    }
    if (!any) {
        return IntParse::Invalid;
    }
    if (overflow) {
        return IntParse::Range;
    }
    if (neg) {
        // magnitude of min: -(min + 1) + 1, computed without overflow
        auto limit = static_cast<std::uint64_t>(-(min + 1)) + 1;
        if (min >= 0 && v != 0) {
            return IntParse::Range;
        }
        if (v > limit) {
            return IntParse::Range;
        }
        out = v == 0 ? 0 : -static_cast<std::int64_t>(v - 1) - 1;
        return IntParse::Ok;
    }
    if (v > static_cast<std::uint64_t>(max)) {
        return IntParse::Range;
    }
    out = static_cast<std::int64_t>(v);
    return IntParse::Ok;
}

std::optional<double> parse_double(std::string_view text, bool& out_of_range) {
    out_of_range = false;
    std::string s = trim(text);
    std::string l = lower(s);
    if (l == "nan") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    if (l == "infinity" || l == "+infinity" || l == "inf" || l == "+inf") {
        return std::numeric_limits<double>::infinity();
    }
    if (l == "-infinity" || l == "-inf") {
        return -std::numeric_limits<double>::infinity();
    }
    if (s.empty()) {
        return std::nullopt;
    }
    for (char c : s) {
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
              c == '+' || c == '-')) {
            return std::nullopt;
        }
    }
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) {
        return std::nullopt;
    }
    if (errno == ERANGE && (v == 0.0 || std::isinf(v))) {
        out_of_range = true;
    }
    return v;
}

// --- dates ------------------------------------------------------------------------------------

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

constexpr std::int64_t kPostgresEpochDays = 10957; // 2000-01-01 - 1970-01-01

struct DateTimeParts {
    std::int64_t days = 0;     // since 1970-01-01
    std::int64_t micros = 0;   // in the day
    std::int64_t offset_s = 0; // east of UTC
    bool has_time = false;
    bool has_offset = false;
};

std::optional<DateTimeParts> parse_datetime(std::string_view text) {
    std::string s = trim(text);
    DateTimeParts p;
    int y = 0;
    int mo = 0;
    int d = 0;
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%d%n", &y, &mo, &d, &consumed) != 3 || mo < 1 || mo > 12 ||
        d < 1 || d > 31 || y < -4713 || y > 294276) {
        return std::nullopt;
    }
    static constexpr int kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > kMonthDays[mo - 1] || (mo == 2 && d == 29 && !leap)) {
        return std::nullopt;
    }
    p.days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    std::size_t i = static_cast<std::size_t>(consumed);
    if (i < s.size() && (s[i] == ' ' || s[i] == 'T' || s[i] == 't')) {
        ++i;
        int h = 0;
        int mi = 0;
        int n = 0;
        if (std::sscanf(s.c_str() + i, "%d:%d%n", &h, &mi, &n) != 2 || h > 24 || mi > 59) {
            return std::nullopt;
        }
        i += static_cast<std::size_t>(n);
        double sec = 0;
        if (i < s.size() && s[i] == ':') {
            ++i;
            char* end = nullptr;
            sec = std::strtod(s.c_str() + i, &end);
            if (end == s.c_str() + i || sec < 0 || sec >= 61) {
                return std::nullopt;
            }
            i = static_cast<std::size_t>(end - s.c_str());
        }
        p.has_time = true;
        p.micros = (static_cast<std::int64_t>(h) * 3600 + mi * 60) * 1000000 +
                   static_cast<std::int64_t>(std::llround(sec * 1e6));
        while (i < s.size() && s[i] == ' ') {
            ++i;
        }
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i] == '-' ? -1 : 1;
            ++i;
            int oh = 0;
            int om = 0;
            int n2 = 0;
            if (std::sscanf(s.c_str() + i, "%2d%n", &oh, &n2) != 1) {
                return std::nullopt;
            }
            i += static_cast<std::size_t>(n2);
            if (i < s.size() && s[i] == ':') {
                ++i;
            }
            if (i < s.size() && std::sscanf(s.c_str() + i, "%2d%n", &om, &n2) == 1) {
                i += static_cast<std::size_t>(n2);
            }
            p.offset_s = sign * (oh * 3600 + om * 60);
            p.has_offset = true;
        } else if (i < s.size() && (lower(s.substr(i)) == "z" || lower(s.substr(i)) == "utc")) {
            i = s.size();
            p.has_offset = true;
        }
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    return p;
}

std::string format_date(std::int64_t days) {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    return buf;
}

std::string format_time_of_day(std::int64_t micros) {
    auto h = micros / 3600000000LL;
    auto mi = micros / 60000000LL % 60;
    auto s = micros / 1000000LL % 60;
    auto frac = micros % 1000000LL;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(mi), static_cast<long long>(s));
    std::string out = buf;
    if (frac != 0) {
        std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
        std::string f = buf;
        while (f.back() == '0') {
            f.pop_back();
        }
        out += f;
    }
    return out;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

std::string format_timestamp(std::int64_t micros_since_1970, bool with_zone) {
    std::int64_t days = floor_div(micros_since_1970, 86400000000LL);
    std::int64_t in_day = micros_since_1970 - days * 86400000000LL;
    return format_date(days) + " " + format_time_of_day(in_day) + (with_zone ? "+00" : "");
}

std::optional<std::int64_t> timestamp_micros(const Value& v) {
    auto p = parse_datetime(v.text);
    if (!p) {
        return std::nullopt;
    }
    return p->days * 86400000000LL + p->micros - p->offset_s * 1000000LL;
}

std::expected<Value, ServerError> datetime_error(std::string_view type_name, std::string_view text,
                                                 std::optional<std::size_t> position) {
    auto e = errors::invalid_input(std::string(type_name), std::string(text), position,
                                   {"datetime.c", 4029, "DateTimeParseError"});
    e.sqlstate = "22007";
    return std::unexpected(e);
}

// --- binary helpers ---------------------------------------------------------------------------

void put_be(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

std::uint64_t get_be(const std::vector<std::uint8_t>& b) {
    std::uint64_t v = 0;
    for (auto x : b) {
        v = (v << 8) | x;
    }
    return v;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
        if (n == 0 || i + n > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += n;
    }
    return s.find('\0') == std::string_view::npos;
}

int hex_nibble(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string hex_of(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char c : bytes) {
        auto u = static_cast<unsigned char>(c);
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
    }
    return out;
}

// apply_numeric_typmod: numeric(p,s): round to s places, then at most p-s integer digits.
std::expected<Decimal, ServerError> apply_numeric_typmod(const Decimal& d, std::int32_t typmod) {
    if (typmod < 4 || d.special() != Decimal::Special::None) {
        return d;
    }
    int precision = ((typmod - 4) >> 16) & 0xFFFF;
    int scale = (typmod - 4) & 0xFFFF;
    Decimal r = d.round_to(scale);
    int max_digits = precision - scale;
    std::string text = r.to_string();
    std::size_t start = text[0] == '-' ? 1 : 0;
    auto point = text.find('.');
    std::string integer =
        text.substr(start, point == std::string::npos ? std::string::npos : point - start);
    int int_digits = integer == "0" ? 0 : static_cast<int>(integer.size());
    if (int_digits > max_digits) {
        ServerError e = errors::out_of_range("numeric field", {"numeric.c", 7917, "apply_typmod"});
        e.message = "numeric field overflow";
        e.detail = "A field with precision " + std::to_string(precision) + ", scale " +
                   std::to_string(scale) + " must round to an absolute value less than " +
                   (max_digits > 0 ? "10^" + std::to_string(max_digits) : std::string("1")) + ".";
        return std::unexpected(e);
    }
    return r;
}

} // namespace

const TypeInfo* type_by_oid(std::uint32_t type) {
    for (const auto& t : kTypes) {
        if (t.oid == type) {
            return &t;
        }
    }
    return nullptr;
}

const TypeInfo* type_by_name(std::string_view raw) {
    std::string name = lower(raw);
    if (name.starts_with("pg_catalog.")) {
        name = name.substr(11);
    }
    for (const auto& a : kAliases) {
        if (a.alias == name) {
            return type_by_oid(a.oid);
        }
    }
    for (const auto& t : kTypes) {
        if (t.name == name && t.oid != oid::kUnknown) {
            return &t;
        }
    }
    if (name == "unknown") {
        return type_by_oid(oid::kUnknown);
    }
    return nullptr;
}

std::string type_sql_name(std::uint32_t type) {
    if (const auto* t = type_by_oid(type)) {
        return std::string(t->sql_name);
    }
    return std::to_string(type);
}

bool is_integer_type(std::uint32_t t) {
    return t == oid::kInt2 || t == oid::kInt4 || t == oid::kInt8;
}

bool is_numeric_family(std::uint32_t t) {
    return is_integer_type(t) || t == oid::kNumeric || t == oid::kFloat4 || t == oid::kFloat8 ||
           t == oid::kOid;
}

bool is_string_type(std::uint32_t t) {
    return t == oid::kText || t == oid::kVarchar || t == oid::kBpchar || t == oid::kName ||
           t == oid::kUnknown;
}

Value Value::null_of(std::uint32_t type) {
    Value v;
    v.type = type;
    v.null = true;
    return v;
}

Value Value::of_text(std::uint32_t type, std::string text) {
    Value v;
    v.type = type;
    v.null = false;
    v.text = std::move(text);
    return v;
}

Value Value::of_bool(bool b) {
    return of_text(oid::kBool, b ? "t" : "f");
}

Value Value::of_int(std::uint32_t type, std::int64_t i) {
    return of_text(type, std::to_string(i));
}

Value Value::of_float(std::uint32_t type, double d) {
    Value v;
    v.type = type;
    v.null = false;
    v.real = type == oid::kFloat4 ? static_cast<double>(static_cast<float>(d)) : d;
    return v;
}

Value Value::of_numeric(const Decimal& d) {
    return of_text(oid::kNumeric, d.to_string());
}

std::optional<std::int64_t> Value::as_int() const {
    if (null) {
        return std::nullopt;
    }
    if (type == oid::kFloat4 || type == oid::kFloat8) {
        if (!std::isfinite(real) || std::fabs(real) > 9.2e18) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(std::rint(real));
    }
    if (type == oid::kNumeric) {
        auto d = Decimal::parse(text);
        return d ? d->to_int64() : std::nullopt;
    }
    std::int64_t out = 0;
    if (parse_integer(text, std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max(), out) != IntParse::Ok) {
        return std::nullopt;
    }
    return out;
}

std::optional<double> Value::as_double() const {
    if (null) {
        return std::nullopt;
    }
    if (type == oid::kFloat4 || type == oid::kFloat8) {
        return real;
    }
    bool range = false;
    return parse_double(text, range);
}

std::optional<Decimal> Value::as_decimal() const {
    if (null) {
        return std::nullopt;
    }
    if (type == oid::kFloat4 || type == oid::kFloat8) {
        return Decimal::parse(format_float(real, type == oid::kFloat4, 0));
    }
    return Decimal::parse(text);
}

std::optional<bool> Value::as_bool() const {
    if (null) {
        return std::nullopt;
    }
    return text == "t";
}

std::string format_float(double v, bool single, int extra_float_digits) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "Infinity" : "-Infinity";
    }
    char buf[64];
    if (extra_float_digits <= 0) {
        int digits = (single ? 6 : 15) + extra_float_digits;
        digits = std::max(digits, 1);
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        return buf;
    }
    // shortest exact form (PostgreSQL's Ryu output): fixed notation for decimal exponents in
    // [-4, 15) (float8) or [-4, 6) (float4), scientific otherwise.
    std::to_chars_result r{};
    if (single) {
        r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v),
                          std::chars_format::scientific);
    } else {
        r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    }
    std::string sci(buf, r.ptr);
    bool negative = sci.front() == '-';
    if (negative) {
        sci.erase(0, 1);
    }
    auto e = sci.find('e');
    std::string mantissa = sci.substr(0, e);
    int exponent = std::atoi(sci.c_str() + e + 1);
    std::string digits;
    for (char c : mantissa) {
        if (c != '.') {
            digits.push_back(c);
        }
    }
    std::string out = negative ? "-" : "";
    if (v == 0.0) {
        return out + "0";
    }
    int limit = single ? 6 : 15;
    if (exponent < -4 || exponent >= limit) {
        out += digits.substr(0, 1);
        if (digits.size() > 1) {
            out += "." + digits.substr(1);
        }
        char ebuf[16];
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        return out + ebuf;
    }
    if (exponent < 0) {
        out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
        return out;
    }
    auto int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0');
    } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
    return out;
}

std::expected<Value, ServerError> parse_text(std::uint32_t type, std::string_view text,
                                             std::optional<std::size_t> position,
                                             std::int32_t type_modifier) {
    auto invalid = [&](std::string_view type_name, SourceLocation where) {
        return std::unexpected(
            errors::invalid_input(std::string(type_name), std::string(text), position, where));
    };
    auto range = [&](std::string_view type_name, SourceLocation where) {
        return std::unexpected(
            errors::value_out_of_range(std::string(text), std::string(type_name), position, where));
    };
    switch (type) {
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8: {
        std::int64_t v = 0;
        std::int64_t min = type == oid::kInt2   ? -32768
                           : type == oid::kInt4 ? std::numeric_limits<std::int32_t>::min()
                                                : std::numeric_limits<std::int64_t>::min();
        std::int64_t max = type == oid::kInt2   ? 32767
                           : type == oid::kInt4 ? std::numeric_limits<std::int32_t>::max()
                                                : std::numeric_limits<std::int64_t>::max();
        auto r = parse_integer(text, min, max, v);
        auto name = type == oid::kInt2 ? "smallint" : type == oid::kInt4 ? "integer" : "bigint";
        SourceLocation bad = type == oid::kInt2   ? where::kStrToInt16
                             : type == oid::kInt4 ? where::kStrToInt32
                                                  : where::kStrToInt64;
        SourceLocation big = type == oid::kInt2   ? where::kStrToInt16Range
                             : type == oid::kInt4 ? where::kStrToInt32Range
                                                  : where::kStrToInt64Range;
        switch (r) {
        case IntParse::Ok:
            return Value::of_int(type, v);
        case IntParse::Invalid:
            return invalid(name, bad);
        case IntParse::Range:
            return range(name, big);
        }
        return invalid(name, bad);
    }
    case oid::kOid:
    case oid::kRegproc:
    case oid::kRegclass: {
        std::int64_t v = 0;
        auto r = parse_integer(text, std::numeric_limits<std::int32_t>::min(),
                               std::numeric_limits<std::uint32_t>::max(), v);
        if (r == IntParse::Invalid) {
            return invalid("oid", {"numutils.c", 921, "uint32in_subr"});
        }
        if (r == IntParse::Range) {
            return range("oid", {"numutils.c", 931, "uint32in_subr"});
        }
        return Value::of_int(type, static_cast<std::uint32_t>(v));
    }
    case oid::kBool: {
        std::string l = lower(trim(text));
        auto prefix_of = [&](std::string_view w) {
            return !l.empty() && l.size() <= w.size() && w.substr(0, l.size()) == l;
        };
        if (prefix_of("true") || prefix_of("yes") || l == "on" || l == "1") {
            return Value::of_bool(true);
        }
        if (prefix_of("false") || prefix_of("no") || l == "of" || l == "off" || l == "0") {
            return Value::of_bool(false);
        }
        return invalid("boolean", where::kBoolIn);
    }
    case oid::kFloat4:
    case oid::kFloat8: {
        bool out_of_range = false;
        auto v = parse_double(text, out_of_range);
        bool single = type == oid::kFloat4;
        if (!v) {
            return invalid(single ? "real" : "double precision",
                           single ? where::kFloat4In : where::kFloat8In);
        }
        if (out_of_range ||
            (single && std::isfinite(*v) &&
             (std::fabs(*v) > static_cast<double>(std::numeric_limits<float>::max()) ||
              (*v != 0 &&
               std::fabs(*v) < static_cast<double>(std::numeric_limits<float>::denorm_min()))))) {
            auto e = errors::value_out_of_range(
                std::string(text), single ? "real" : "double precision", position,
                single ? SourceLocation{"float.c", 287, "float4in_internal"}
                       : SourceLocation{"float.c", 489, "float8in_internal"});
            e.message = "\"" + std::string(text) + "\" is out of range for type " +
                        (single ? "real" : "double precision");
            return std::unexpected(e);
        }
        return Value::of_float(type, *v);
    }
    case oid::kNumeric: {
        auto d = Decimal::parse(text);
        if (!d) {
            return invalid("numeric", {"numeric.c", 803, "numeric_in"});
        }
        auto applied = apply_numeric_typmod(*d, type_modifier);
        if (!applied) {
            return std::unexpected(applied.error());
        }
        return Value::of_numeric(*applied);
    }
    case oid::kDate: {
        auto p = parse_datetime(text);
        if (!p) {
            return datetime_error("date", text, position);
        }
        return Value::of_text(type, format_date(p->days));
    }
    case oid::kTimestamp:
    case oid::kTimestamptz: {
        auto p = parse_datetime(text);
        if (!p) {
            return datetime_error(
                type == oid::kTimestamp ? "timestamp" : "timestamp with time zone", text, position);
        }
        std::int64_t micros = p->days * 86400000000LL + p->micros;
        if (type == oid::kTimestamptz) {
            micros -= p->offset_s * 1000000LL;
        }
        return Value::of_text(type, format_timestamp(micros, type == oid::kTimestamptz));
    }
    case oid::kUuid: {
        std::string hex;
        for (char c : trim(text)) {
            if (c == '-' || c == '{' || c == '}') {
                continue;
            }
            if (!std::isxdigit(static_cast<unsigned char>(c))) {
                return invalid("uuid", {"uuid.c", 133, "string_to_uuid"});
            }
            hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
        if (hex.size() != 32) {
            return invalid("uuid", {"uuid.c", 133, "string_to_uuid"});
        }
        return Value::of_text(type, hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" +
                                        hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
                                        hex.substr(20));
    }
    case oid::kBytea: {
        if (text.starts_with("\\x")) {
            std::string raw;
            auto h = text.substr(2);
            for (std::size_t i = 0; i < h.size(); i += 2) {
                if (i + 1 >= h.size() || hex_nibble(h[i]) < 0 || hex_nibble(h[i + 1]) < 0) {
                    return std::unexpected(
                        errors::invalid_input("bytea", std::string(text), position,
                                              {"encode.c", 291, "hex_decode_safe"}));
                }
                raw.push_back(static_cast<char>(hex_nibble(h[i]) * 16 + hex_nibble(h[i + 1])));
            }
            return Value::of_text(type, "\\x" + hex_of(raw));
        }
        return Value::of_text(type, "\\x" + hex_of(text));
    }
    case oid::kName: {
        std::string s(text);
        if (s.size() > 63) {
            s.resize(63);
        }
        return Value::of_text(type, s);
    }
    case oid::kVarchar:
    case oid::kBpchar: {
        // explicit casts truncate to the declared length; character(n) pads with spaces
        std::string s(text);
        if (type_modifier >= 4) {
            auto want = static_cast<std::size_t>(type_modifier - 4);
            std::size_t chars = 0;
            std::size_t cut = s.size();
            for (std::size_t k = 0; k < s.size(); ++k) {
                if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) {
                    if (chars == want) {
                        cut = k;
                        break;
                    }
                    ++chars;
                }
            }
            s.resize(cut);
            if (type == oid::kBpchar && chars < want) {
                s.append(want - chars, ' ');
            }
        }
        return Value::of_text(type, s);
    }
    case oid::kVoid:
        return Value::of_text(type, "");
    default:
        return Value::of_text(type, std::string(text));
    }
}

std::string format_text(const Value& v, const OutputOptions& options) {
    if (v.type == oid::kFloat4 || v.type == oid::kFloat8) {
        return format_float(v.real, v.type == oid::kFloat4, options.extra_float_digits);
    }
    return v.text;
}

bool has_binary_send(std::uint32_t type) {
    switch (type) {
    case oid::kBool:
    case oid::kBytea:
    case oid::kChar:
    case oid::kName:
    case oid::kInt8:
    case oid::kInt2:
    case oid::kInt4:
    case oid::kRegproc:
    case oid::kText:
    case oid::kOid:
    case oid::kJson:
    case oid::kFloat4:
    case oid::kFloat8:
    case oid::kUnknown:
    case oid::kBpchar:
    case oid::kVarchar:
    case oid::kDate:
    case oid::kTimestamp:
    case oid::kTimestamptz:
    case oid::kNumeric:
    case oid::kRegclass:
    case oid::kVoid:
    case oid::kUuid:
    case oid::kJsonb:
    case oid::kInet:
        return true;
    default:
        return false;
    }
}

std::vector<std::uint8_t> to_binary(const Value& v) {
    std::vector<std::uint8_t> out;
    switch (v.type) {
    case oid::kBool:
        out.push_back(v.text == "t" ? 1 : 0);
        return out;
    case oid::kInt2:
        put_be(out, static_cast<std::uint16_t>(v.as_int().value_or(0)), 2);
        return out;
    case oid::kInt4:
    case oid::kOid:
    case oid::kRegproc:
    case oid::kRegclass:
        put_be(out, static_cast<std::uint32_t>(v.as_int().value_or(0)), 4);
        return out;
    case oid::kInt8:
        put_be(out, static_cast<std::uint64_t>(v.as_int().value_or(0)), 8);
        return out;
    case oid::kFloat4:
        put_be(out, std::bit_cast<std::uint32_t>(static_cast<float>(v.real)), 4);
        return out;
    case oid::kFloat8:
        put_be(out, std::bit_cast<std::uint64_t>(v.real), 8);
        return out;
    case oid::kNumeric: {
        auto d = Decimal::parse(v.text);
        return d ? d->to_binary() : Decimal{}.to_binary();
    }
    case oid::kDate: {
        auto p = parse_datetime(v.text);
        put_be(out,
               static_cast<std::uint32_t>(
                   static_cast<std::int32_t>((p ? p->days : 0) - kPostgresEpochDays)),
               4);
        return out;
    }
    case oid::kTimestamp:
    case oid::kTimestamptz: {
        auto m = timestamp_micros(v).value_or(0);
        put_be(out, static_cast<std::uint64_t>(m - kPostgresEpochDays * 86400000000LL), 8);
        return out;
    }
    case oid::kUuid: {
        for (std::size_t i = 0; i + 1 < v.text.size(); ++i) {
            if (v.text[i] == '-') {
                continue;
            }
            if (i + 1 >= v.text.size() || hex_nibble(v.text[i]) < 0 ||
                hex_nibble(v.text[i + 1]) < 0) {
                break;
            }
            out.push_back(
                static_cast<std::uint8_t>(hex_nibble(v.text[i]) * 16 + hex_nibble(v.text[i + 1])));
            ++i;
        }
        return out;
    }
    case oid::kBytea: {
        for (std::size_t i = 2; i + 1 < v.text.size(); i += 2) {
            if (hex_nibble(v.text[i]) < 0 || hex_nibble(v.text[i + 1]) < 0) {
                break;
            }
            out.push_back(
                static_cast<std::uint8_t>(hex_nibble(v.text[i]) * 16 + hex_nibble(v.text[i + 1])));
        }
        return out;
    }
    case oid::kJsonb:
        out.push_back(1);
        out.insert(out.end(), v.text.begin(), v.text.end());
        return out;
    case oid::kInet: {
        // family, bits, is_cidr, address length, address (IPv4 only; others as text)
        unsigned a = 0;
        unsigned b = 0;
        unsigned c = 0;
        unsigned d = 0;
        if (std::sscanf(v.text.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
            out = {2,
                   32,
                   0,
                   4,
                   static_cast<std::uint8_t>(a),
                   static_cast<std::uint8_t>(b),
                   static_cast<std::uint8_t>(c),
                   static_cast<std::uint8_t>(d)};
            return out;
        }
        out.insert(out.end(), v.text.begin(), v.text.end());
        return out;
    }
    case oid::kVoid:
        return out;
    default:
        out.insert(out.end(), v.text.begin(), v.text.end());
        return out;
    }
}

std::expected<Value, ServerError> from_binary(std::uint32_t type,
                                              const std::vector<std::uint8_t>& bytes,
                                              std::size_t parameter_number) {
    auto wrong = [&]() {
        return std::unexpected(errors::incorrect_binary_format(parameter_number));
    };
    auto need = [&](std::size_t n) -> std::optional<ServerError> {
        if (bytes.size() < n) {
            return errors::insufficient_data();
        }
        if (bytes.size() > n) {
            return errors::incorrect_binary_format(parameter_number);
        }
        return std::nullopt;
    };
    switch (type) {
    case oid::kBool:
        if (auto e = need(1)) {
            return std::unexpected(*e);
        }
        return Value::of_bool(bytes[0] != 0);
    case oid::kInt2:
        if (auto e = need(2)) {
            return std::unexpected(*e);
        }
        return Value::of_int(type, static_cast<std::int16_t>(get_be(bytes)));
    case oid::kInt4:
        if (auto e = need(4)) {
            return std::unexpected(*e);
        }
        return Value::of_int(type, static_cast<std::int32_t>(get_be(bytes)));
    case oid::kOid:
    case oid::kRegproc:
    case oid::kRegclass:
        if (auto e = need(4)) {
            return std::unexpected(*e);
        }
        return Value::of_int(type, static_cast<std::uint32_t>(get_be(bytes)));
    case oid::kInt8:
        if (auto e = need(8)) {
            return std::unexpected(*e);
        }
        return Value::of_int(type, static_cast<std::int64_t>(get_be(bytes)));
    case oid::kFloat4:
        if (auto e = need(4)) {
            return std::unexpected(*e);
        }
        return Value::of_float(type, static_cast<double>(std::bit_cast<float>(
                                         static_cast<std::uint32_t>(get_be(bytes)))));
    case oid::kFloat8:
        if (auto e = need(8)) {
            return std::unexpected(*e);
        }
        return Value::of_float(type, std::bit_cast<double>(get_be(bytes)));
    case oid::kNumeric: {
        if (bytes.size() < 8) {
            return std::unexpected(errors::insufficient_data());
        }
        auto d = Decimal::from_binary(bytes);
        if (!d) {
            return wrong();
        }
        return Value::of_numeric(*d);
    }
    case oid::kDate: {
        if (auto e = need(4)) {
            return std::unexpected(*e);
        }
        auto days = static_cast<std::int32_t>(get_be(bytes)) + kPostgresEpochDays;
        return Value::of_text(type, format_date(days));
    }
    case oid::kTimestamp:
    case oid::kTimestamptz: {
        if (auto e = need(8)) {
            return std::unexpected(*e);
        }
        auto micros = static_cast<std::int64_t>(get_be(bytes));
        if (micros > 9000000000000000000LL || micros < -9000000000000000000LL) {
            return wrong();
        }
        return Value::of_text(type, format_timestamp(micros + kPostgresEpochDays * 86400000000LL,
                                                     type == oid::kTimestamptz));
    }
    case oid::kUuid: {
        if (auto e = need(16)) {
            return std::unexpected(*e);
        }
        std::string h = hex_of(std::string(bytes.begin(), bytes.end()));
        return Value::of_text(type, h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) +
                                        "-" + h.substr(16, 4) + "-" + h.substr(20));
    }
    case oid::kBytea:
        return Value::of_text(type, "\\x" + hex_of(std::string(bytes.begin(), bytes.end())));
    case oid::kJsonb: {
        if (bytes.empty() || bytes[0] != 1) {
            return wrong();
        }
        return Value::of_text(type, std::string(bytes.begin() + 1, bytes.end()));
    }
    default: {
        std::string s(bytes.begin(), bytes.end());
        if (!valid_utf8(s)) {
            auto e = errors::invalid_input("UTF8", s, std::nullopt,
                                           {"mbutils.c", 1665, "report_invalid_encoding"});
            e.sqlstate = "22021";
            e.message = "invalid byte sequence for encoding \"UTF8\"";
            return std::unexpected(e);
        }
        return parse_text(type, s);
    }
    }
}

std::expected<Value, ServerError> cast_value(const Value& v, std::uint32_t target,
                                             std::int32_t type_modifier,
                                             std::optional<std::size_t> position,
                                             const OutputOptions& options) {
    if (v.null) {
        return Value::null_of(target);
    }
    std::uint32_t from = v.type;
    if (from == oid::kUnknown || (is_string_type(from) && !is_string_type(target)) ||
        (from == target && (type_modifier >= 0))) {
        if (from == oid::kUnknown || is_string_type(from)) {
            return parse_text(target, v.text, from == oid::kUnknown ? position : std::nullopt,
                              type_modifier);
        }
    }
    if (from == target &&
        !(type_modifier >= 0 && (target == oid::kNumeric || is_string_type(target)))) {
        return v;
    }
    if (is_string_type(target)) {
        std::string text =
            from == oid::kBool ? (v.text == "t" ? "true" : "false") : format_text(v, options);
        return parse_text(target, text, std::nullopt, type_modifier);
    }
    auto cannot = [&]() {
        return std::unexpected(
            errors::cannot_cast(type_sql_name(from), type_sql_name(target), position.value_or(1)));
    };
    if (target == oid::kBool) {
        if (from == oid::kInt4) {
            return Value::of_bool(v.as_int().value_or(0) != 0);
        }
        return cannot();
    }
    if (from == oid::kBool) {
        if (target == oid::kInt4) {
            return Value::of_int(target, v.text == "t" ? 1 : 0);
        }
        return cannot();
    }
    if (!is_numeric_family(from) || !is_numeric_family(target)) {
        return cannot();
    }
    if (target == oid::kFloat4 || target == oid::kFloat8) {
        auto d = v.as_double();
        if (!d) {
            return cannot();
        }
        if (target == oid::kFloat4 && std::isfinite(*d) &&
            std::fabs(*d) > static_cast<double>(std::numeric_limits<float>::max())) {
            return std::unexpected(errors::out_of_range("value", {"float.c", 1198, "dtof"}));
        }
        return Value::of_float(target, *d);
    }
    if (target == oid::kNumeric) {
        auto d = v.as_decimal();
        if (!d) {
            return cannot();
        }
        auto applied = apply_numeric_typmod(*d, type_modifier);
        if (!applied) {
            return std::unexpected(applied.error());
        }
        return Value::of_numeric(*applied);
    }
    // integer targets (and oid)
    std::optional<std::int64_t> i;
    if (from == oid::kNumeric) {
        auto d = v.as_decimal();
        if (d && d->special() != Decimal::Special::None) {
            auto e =
                errors::feature_not_supported("cannot convert NaN to " + type_sql_name(target));
            if (d->special() != Decimal::Special::NaN) {
                e.message = "cannot convert infinity to " + type_sql_name(target);
            }
            e.location = {"numeric.c", 4381, "numeric_int4_opt_error"};
            return std::unexpected(e);
        }
        i = d ? d->to_int64() : std::nullopt;
    } else {
        i = v.as_int();
    }
    auto range_error = [&]() {
        std::string what = target == oid::kInt2   ? "smallint"
                           : target == oid::kInt8 ? "bigint"
                           : target == oid::kOid  ? "OID"
                                                  : "integer";
        SourceLocation loc =
            target == oid::kInt2 ? SourceLocation{"int.c", 355, "i4toi2"} : where::kInt84;
        return std::unexpected(errors::out_of_range(what, loc));
    };
    if (!i) {
        return range_error();
    }
    std::int64_t min = target == oid::kInt2   ? -32768
                       : target == oid::kInt4 ? std::numeric_limits<std::int32_t>::min()
                       : target == oid::kOid  ? 0
                                              : std::numeric_limits<std::int64_t>::min();
    std::int64_t max = target == oid::kInt2   ? 32767
                       : target == oid::kInt4 ? std::numeric_limits<std::int32_t>::max()
                       : target == oid::kOid  ? std::numeric_limits<std::uint32_t>::max()
                                              : std::numeric_limits<std::int64_t>::max();
    if (*i < min || *i > max) {
        return range_error();
    }
    return Value::of_int(target, *i);
}

} // namespace standin::postgres
