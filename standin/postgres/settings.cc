#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <standin/postgres/settings.h>

namespace standin::postgres {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool iequal(std::string_view a, std::string_view b) {
    return lower(a) == lower(b);
}

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r\n\f\v");
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(" \t\r\n\f\v");
    return std::string(s.substr(b, e - b + 1));
}

// --- booleans (parse_bool_with_len) -----------------------------------------------------------

std::optional<bool> parse_bool(std::string_view raw) {
    auto v = lower(trim(raw));
    auto prefix_of = [&](std::string_view word) {
        return !v.empty() && v.size() <= word.size() && word.substr(0, v.size()) == v;
    };
    if (v.empty()) {
        return std::nullopt;
    }
    switch (v[0]) {
    case 't':
        if (prefix_of("true")) {
            return true;
        }
        break;
    case 'f':
        if (prefix_of("false")) {
            return false;
        }
        break;
    case 'y':
        if (prefix_of("yes")) {
            return true;
        }
        break;
    case 'n':
        if (prefix_of("no")) {
            return false;
        }
        break;
    case 'o':
        if (v.size() >= 2 && prefix_of("on")) {
            return true;
        }
        if (v.size() >= 2 && prefix_of("off")) {
            return false;
        }
        break;
    case '1':
        if (v.size() == 1) {
            return true;
        }
        break;
    case '0':
        if (v.size() == 1) {
            return false;
        }
        break;
    default:
        break;
    }
    return std::nullopt;
}

// --- units (guc.c's memory and time unit tables) ----------------------------------------------

struct UnitConversion {
    std::string_view unit;
    double multiplier; // in the smallest unit of its family: bytes or milliseconds
};

constexpr std::array<UnitConversion, 5> kMemoryUnits{{
    {"TB", 1024.0 * 1024 * 1024 * 1024},
    {"GB", 1024.0 * 1024 * 1024},
    {"MB", 1024.0 * 1024},
    {"kB", 1024.0},
    {"B", 1.0},
}};

constexpr std::array<UnitConversion, 6> kTimeUnits{{
    {"d", 86400000.0},
    {"h", 3600000.0},
    {"min", 60000.0},
    {"s", 1000.0},
    {"ms", 1.0},
    {"us", 0.001},
}};

bool memory_unit(std::string_view unit) {
    return unit == "B" || unit == "kB" || unit == "8kB" || unit == "MB";
}

double base_multiplier(std::string_view unit) {
    if (unit == "8kB") {
        return 8192.0;
    }
    for (const auto& u : kMemoryUnits) {
        if (u.unit == unit) {
            return u.multiplier;
        }
    }
    for (const auto& u : kTimeUnits) {
        if (u.unit == unit) {
            return u.multiplier;
        }
    }
    return 1.0;
}

// parse_number_with_unit: a number (integers in any base strtol accepts, or a decimal) and an
// optional unit, converted to the setting's base unit. nullopt when it does not parse.
std::optional<double> parse_number_with_unit(std::string_view raw, std::string_view base_unit,
                                             bool integer) {
    std::string text = trim(raw);
    if (text.empty()) {
        return std::nullopt;
    }
    const char* begin = text.c_str();
    char* end = nullptr;
    double value = 0;
    if (integer) {
        errno = 0;
        long long v = std::strtoll(begin, &end, 0);
        if (end == begin || errno == ERANGE) {
            return std::nullopt;
        }
        value = static_cast<double>(v);
        if (*end == '.' || *end == 'e' || *end == 'E') {
            value = std::strtod(begin, &end);
        }
    } else {
        value = std::strtod(begin, &end);
        if (end == begin) {
            return std::nullopt;
        }
    }
    std::string rest = trim(end);
    if (rest.empty()) {
        return value;
    }
    if (base_unit.empty()) {
        return std::nullopt;
    }
    bool memory = memory_unit(base_unit);
    for (const auto& u : memory ? std::span<const UnitConversion>(kMemoryUnits)
                                : std::span<const UnitConversion>(kTimeUnits)) {
        if (rest == u.unit) {
            return value * u.multiplier / base_multiplier(base_unit);
        }
    }
    return std::nullopt;
}

// format_with_unit: SHOW's form, the largest unit that represents the value exactly.
std::string format_integer_with_unit(long long value, std::string_view base_unit) {
    if (base_unit.empty() || value <= 0) {
        return std::to_string(value);
    }
    double in_smallest = static_cast<double>(value) * base_multiplier(base_unit);
    bool memory = memory_unit(base_unit);
    double base = base_multiplier(base_unit);
    for (const auto& u : memory ? std::span<const UnitConversion>(kMemoryUnits)
                                : std::span<const UnitConversion>(kTimeUnits)) {
        if (u.multiplier < base) {
            break;
        }
        double in_unit = in_smallest / u.multiplier;
        if (in_unit == std::floor(in_unit)) {
            return std::to_string(static_cast<long long>(in_unit)) + std::string(u.unit);
        }
    }
    return std::to_string(value) + std::string(base_unit);
}

std::string format_real(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string format_real_with_unit(double value, std::string_view base_unit) {
    if (base_unit.empty() || value <= 0) {
        return format_real(value);
    }
    double in_smallest = value * base_multiplier(base_unit);
    bool memory = memory_unit(base_unit);
    for (const auto& u : memory ? std::span<const UnitConversion>(kMemoryUnits)
                                : std::span<const UnitConversion>(kTimeUnits)) {
        double in_unit = in_smallest / u.multiplier;
        if (in_unit == std::rint(in_unit) && in_unit >= 1) {
            return format_real(in_unit) + std::string(u.unit);
        }
    }
    return format_real(value) + std::string(base_unit);
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto at = s.find(sep, start);
        out.emplace_back(
            s.substr(start, at == std::string_view::npos ? s.size() - start : at - start));
        if (at == std::string_view::npos) {
            break;
        }
        start = at + 1;
    }
    return out;
}

// --- encodings (pg_encname_tbl, names cleaned of non-alphanumerics) ---------------------------

struct EncodingName {
    std::string_view alias;
    std::string_view canonical;
};

constexpr EncodingName kEncodings[] = {
    {"abc", "WIN1258"},
    {"alt", "WIN866"},
    {"big5", "BIG5"},
    {"euccn", "EUC_CN"},
    {"eucjis2004", "EUC_JIS_2004"},
    {"eucjp", "EUC_JP"},
    {"euckr", "EUC_KR"},
    {"euctw", "EUC_TW"},
    {"gb18030", "GB18030"},
    {"gbk", "GBK"},
    {"iso88591", "LATIN1"},
    {"iso885910", "LATIN6"},
    {"iso885913", "LATIN7"},
    {"iso885914", "LATIN8"},
    {"iso885915", "LATIN9"},
    {"iso885916", "LATIN10"},
    {"iso88592", "LATIN2"},
    {"iso88593", "LATIN3"},
    {"iso88594", "LATIN4"},
    {"iso88595", "ISO_8859_5"},
    {"iso88596", "ISO_8859_6"},
    {"iso88597", "ISO_8859_7"},
    {"iso88598", "ISO_8859_8"},
    {"iso88599", "LATIN5"},
    {"johab", "JOHAB"},
    {"koi8", "KOI8R"},
    {"koi8r", "KOI8R"},
    {"koi8u", "KOI8U"},
    {"latin1", "LATIN1"},
    {"latin10", "LATIN10"},
    {"latin2", "LATIN2"},
    {"latin3", "LATIN3"},
    {"latin4", "LATIN4"},
    {"latin5", "LATIN5"},
    {"latin6", "LATIN6"},
    {"latin7", "LATIN7"},
    {"latin8", "LATIN8"},
    {"latin9", "LATIN9"},
    {"mskanji", "SJIS"},
    {"muleinternal", "MULE_INTERNAL"},
    {"shiftjis", "SJIS"},
    {"shiftjis2004", "SHIFT_JIS_2004"},
    {"sjis", "SJIS"},
    {"sqlascii", "SQL_ASCII"},
    {"tcvn", "WIN1258"},
    {"tcvn5712", "WIN1258"},
    {"uhc", "UHC"},
    {"unicode", "UTF8"},
    {"utf8", "UTF8"},
    {"vscii", "WIN1258"},
    {"win", "WIN1251"},
    {"win1250", "WIN1250"},
    {"win1251", "WIN1251"},
    {"win1252", "WIN1252"},
    {"win1253", "WIN1253"},
    {"win1254", "WIN1254"},
    {"win1255", "WIN1255"},
    {"win1256", "WIN1256"},
    {"win1257", "WIN1257"},
    {"win1258", "WIN1258"},
    {"win866", "WIN866"},
    {"win874", "WIN874"},
    {"win932", "SJIS"},
    {"win936", "GBK"},
    {"win949", "UHC"},
    {"win950", "BIG5"},
    {"windows1250", "WIN1250"},
    {"windows1251", "WIN1251"},
    {"windows1252", "WIN1252"},
    {"windows1253", "WIN1253"},
    {"windows1254", "WIN1254"},
    {"windows1255", "WIN1255"},
    {"windows1256", "WIN1256"},
    {"windows1257", "WIN1257"},
    {"windows1258", "WIN1258"},
    {"windows866", "WIN866"},
    {"windows874", "WIN874"},
    {"windows932", "SJIS"},
    {"windows936", "GBK"},
    {"windows949", "UHC"},
    {"windows950", "BIG5"},
};

// --- time zones -------------------------------------------------------------------------------

// The zone names clients send most (JVM and OS defaults), spelled as the tz database spells
// them: PostgreSQL looks names up case-insensitively and reports the database's spelling.
constexpr std::string_view kZones[] = {
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Africa/Nairobi",
    "America/Anchorage",
    "America/Argentina/Buenos_Aires",
    "America/Bogota",
    "America/Chicago",
    "America/Denver",
    "America/Halifax",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/New_York",
    "America/Phoenix",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Toronto",
    "America/Vancouver",
    "Asia/Bangkok",
    "Asia/Calcutta",
    "Asia/Dhaka",
    "Asia/Dubai",
    "Asia/Ho_Chi_Minh",
    "Asia/Hong_Kong",
    "Asia/Jakarta",
    "Asia/Jerusalem",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Taipei",
    "Asia/Tehran",
    "Asia/Tokyo",
    "Atlantic/Reykjavik",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Melbourne",
    "Australia/Perth",
    "Australia/Sydney",
    "CET",
    "CST6CDT",
    "EET",
    "EST",
    "EST5EDT",
    "Etc/GMT",
    "Etc/UCT",
    "Etc/UTC",
    "Etc/Universal",
    "Etc/Zulu",
    "Europe/Amsterdam",
    "Europe/Athens",
    "Europe/Berlin",
    "Europe/Brussels",
    "Europe/Bucharest",
    "Europe/Budapest",
    "Europe/Copenhagen",
    "Europe/Dublin",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Europe/Kiev",
    "Europe/Kyiv",
    "Europe/Lisbon",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Moscow",
    "Europe/Oslo",
    "Europe/Paris",
    "Europe/Prague",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Vienna",
    "Europe/Warsaw",
    "Europe/Zurich",
    "GMT",
    "Greenwich",
    "HST",
    "MET",
    "MST",
    "MST7MDT",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "PST8PDT",
    "UCT",
    "UTC",
    "Universal",
    "US/Central",
    "US/Eastern",
    "US/Mountain",
    "US/Pacific",
    "WET",
    "Zulu",
};

bool zone_like(std::string_view name) {
    // Area/Location names of the tz database: letters, digits, '_', '-', '+', '/'.
    if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') {
        return false;
    }
    bool slash = false;
    for (char c : name) {
        if (c == '/') {
            slash = true;
        } else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
                   c != '+') {
            return false;
        }
    }
    return slash && std::isalpha(static_cast<unsigned char>(name.front()));
}

bool posix_zone(std::string_view name) {
    // std offset [dst [offset]]: "EST5EDT", "UTC+3", "<-07>+07", "+02:00".
    std::size_t i = 0;
    auto abbreviation = [&]() {
        if (i < name.size() && name[i] == '<') {
            auto close = name.find('>', i);
            if (close == std::string_view::npos || close - i < 4) {
                return false;
            }
            i = close + 1;
            return true;
        }
        std::size_t start = i;
        while (i < name.size() && std::isalpha(static_cast<unsigned char>(name[i]))) {
            ++i;
        }
        return i - start >= 3;
    };
    auto offset = [&]() {
        if (i < name.size() && (name[i] == '+' || name[i] == '-')) {
            ++i;
        }
        std::size_t start = i;
        while (i < name.size() &&
               (std::isdigit(static_cast<unsigned char>(name[i])) || name[i] == ':')) {
            ++i;
        }
        return i > start;
    };
    if (!name.empty() &&
        (name[0] == '+' || name[0] == '-' || std::isdigit(static_cast<unsigned char>(name[0])))) {
        return offset() && i == name.size();
    }
    if (!abbreviation() || !offset()) {
        return false;
    }
    if (i == name.size()) {
        return true;
    }
    if (!abbreviation()) {
        return false;
    }
    if (i < name.size()) {
        offset();
    }
    return i == name.size() || name[i] == ',';
}

// --- application_name (pg_clean_ascii with escapes, PostgreSQL 16) ----------------------------

std::string clean_ascii(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 32 || u > 126) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// keywords that quote_identifier must quote (PostgreSQL's reserved and type/function-name
// keywords most likely to appear in a search_path).
constexpr std::string_view kQuotedKeywords[] = {
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "bigint",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "from",
    "grant",
    "greatest",
    "group",
    "having",
    "in",
    "initially",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "lateral",
    "leading",
    "least",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "nchar",
    "none",
    "normalize",
    "not",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "row",
    "select",
    "session_user",
    "setof",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
};

} // namespace

std::string quote_identifier(std::string_view name) {
    bool safe = !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            safe = false;
        }
    }
    if (safe && std::find(std::begin(kQuotedKeywords), std::end(kQuotedKeywords), name) !=
                    std::end(kQuotedKeywords)) {
        safe = false;
    }
    if (safe) {
        return std::string(name);
    }
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::optional<std::string> canonical_client_encoding(std::string_view name) {
    std::string cleaned;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            cleaned.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    for (const auto& e : kEncodings) {
        if (e.alias == cleaned) {
            // PostgreSQL keeps "UNICODE" as written (old JDBC drivers read it back).
            if (name == "UNICODE") {
                return std::string(name);
            }
            return std::string(e.canonical);
        }
    }
    return std::nullopt;
}

std::expected<std::string, std::string> canonical_datestyle(std::string_view value,
                                                            std::string_view current) {
    // check_datestyle: a list of style and order keywords.
    std::string style = "ISO";
    std::string order = "MDY";
    if (auto comma = current.find(", "); comma != std::string_view::npos) {
        style = std::string(current.substr(0, comma));
        order = std::string(current.substr(comma + 2));
    }
    bool have_style = false;
    bool have_order = false;
    bool conflict = false;
    for (const auto& raw : split(value, ',')) {
        auto word = trim(raw);
        if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
            word = word.substr(1, word.size() - 2);
        }
        auto w = lower(word);
        auto set_style = [&](std::string s) {
            if (have_style && style != s) {
                conflict = true;
            }
            style = std::move(s);
            have_style = true;
        };
        auto set_order = [&](std::string o) {
            if (have_order && order != o) {
                conflict = true;
            }
            order = std::move(o);
            have_order = true;
        };
        if (w == "iso") {
            set_style("ISO");
        } else if (w == "sql") {
            set_style("SQL");
        } else if (w.starts_with("postgres")) {
            set_style("Postgres");
        } else if (w == "german") {
            set_style("German");
            if (!have_order) {
                order = "DMY";
            }
        } else if (w == "ymd") {
            set_order("YMD");
        } else if (w == "dmy" || w.starts_with("euro")) {
            set_order("DMY");
        } else if (w == "mdy" || w == "us" || w.starts_with("noneuro")) {
            set_order("MDY");
        } else if (w == "default") {
            // the boot value, "ISO, MDY"
            if (!have_style) {
                style = "ISO";
            }
            if (!have_order) {
                order = "MDY";
            }
        } else {
            return std::unexpected("Unrecognized key word: \"" + word + "\".");
        }
    }
    if (conflict) {
        return std::unexpected(std::string("Conflicting \"datestyle\" specifications."));
    }
    return style + ", " + order;
}

std::optional<std::string> canonical_time_zone(std::string_view name) {
    std::string n = trim(name);
    for (auto z : kZones) {
        if (iequal(z, n)) {
            return std::string(z);
        }
    }
    if (zone_like(n) || posix_zone(n)) {
        return n;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

Settings::Settings(const ServerIdentity& identity) : identity_(identity) {
    for (const auto& d : setting_catalog()) {
        current_.known[std::string(d.name)] = std::string(d.initial);
    }
    auto& k = current_.known;
    k["server_version"] = identity.server_version;
    // server_version_num: major * 10000 + minor for 10 and later ("16.4" -> 160004).
    {
        int major = 0;
        int minor = 0;
        auto dot = identity.server_version.find('.');
        std::from_chars(identity.server_version.data(),
                        identity.server_version.data() + identity.server_version.size(), major);
        if (dot != std::string::npos) {
            std::from_chars(identity.server_version.data() + dot + 1,
                            identity.server_version.data() + identity.server_version.size(), minor);
        }
        k["server_version_num"] = std::to_string(major * 10000 + minor);
    }
    k["session_authorization"] = identity.user;
    k["TimeZone"] = identity.time_zone;
    k["log_timezone"] = identity.time_zone;
    k["scram_iterations"] = std::to_string(identity.scram_iterations);
    defaults_ = current_.known;
    committed_ = current_;
}

std::optional<std::string> Settings::value(std::string_view name) const {
    if (const auto* d = find_setting(name)) {
        auto it = current_.known.find(std::string(d->name));
        return it == current_.known.end() ? std::string() : it->second;
    }
    auto it = current_.placeholders.find(lower(name));
    if (it != current_.placeholders.end()) {
        return it->second.value;
    }
    return std::nullopt;
}

std::optional<std::string> Settings::show_name(std::string_view name) const {
    if (const auto* d = find_setting(name)) {
        return std::string(d->name);
    }
    auto it = current_.placeholders.find(lower(name));
    if (it != current_.placeholders.end()) {
        return it->second.spelling;
    }
    return std::nullopt;
}

std::expected<void, ServerError> Settings::check_context(const SettingDefinition& d,
                                                         std::string_view given_name,
                                                         bool at_startup) const {
    std::string name(given_name);
    switch (d.context) {
    case SettingContext::Internal:
        return std::unexpected(errors::cannot_change(std::string(d.name)));
    case SettingContext::Postmaster:
        return std::unexpected(errors::cannot_change_without_restart(std::string(d.name)));
    case SettingContext::Backend:
        if (at_startup) {
            return {};
        }
        return std::unexpected(errors::cannot_change_now(std::string(d.name)));
    case SettingContext::Sighup:
        return std::unexpected(errors::cannot_change_now(std::string(d.name)));
    case SettingContext::SuperuserBackend:
        if (at_startup) {
            auto e = errors::permission_denied_to_set(name);
            e.location = {"guc.c", 3449, "set_config_option_ext"};
            return std::unexpected(e);
        }
        return std::unexpected(errors::cannot_change_now(std::string(d.name)));
    case SettingContext::Superuser:
        return std::unexpected(errors::permission_denied_to_set(name));
    case SettingContext::User:
        return {};
    }
    return {};
}

std::expected<std::string, ServerError> Settings::validate(const SettingDefinition& d,
                                                           std::string_view given_name,
                                                           std::string_view value) const {
    std::string name(given_name);
    std::string canonical(d.name);
    switch (d.kind) {
    case SettingKind::Bool: {
        auto b = parse_bool(value);
        if (!b) {
            return std::unexpected(errors::requires_boolean(name));
        }
        return std::string(*b ? "on" : "off");
    }
    case SettingKind::Integer: {
        auto v = parse_number_with_unit(value, d.unit, true);
        if (!v) {
            return std::unexpected(errors::invalid_parameter_value(name, std::string(value)));
        }
        double rounded = std::rint(*v);
        double min = std::strtod(std::string(d.min).c_str(), nullptr);
        double max = std::strtod(std::string(d.max).c_str(), nullptr);
        if (rounded < min || rounded > max) {
            std::string shown = std::to_string(static_cast<long long>(rounded));
            if (!d.unit.empty()) {
                shown += " " + std::string(d.unit);
            }
            return std::unexpected(
                errors::out_of_range_setting(shown, name, std::string(d.min), std::string(d.max)));
        }
        return format_integer_with_unit(static_cast<long long>(rounded), d.unit);
    }
    case SettingKind::Real: {
        auto v = parse_number_with_unit(value, d.unit, false);
        if (!v || std::isnan(*v)) {
            return std::unexpected(errors::invalid_parameter_value(name, std::string(value)));
        }
        double min = std::strtod(std::string(d.min).c_str(), nullptr);
        double max = std::strtod(std::string(d.max).c_str(), nullptr);
        if (*v < min || *v > max) {
            return std::unexpected(errors::out_of_range_setting(
                format_real(*v), name, std::string(d.min), std::string(d.max)));
        }
        return format_real_with_unit(*v, d.unit);
    }
    case SettingKind::Enum: {
        auto options = split(d.enum_values, '|');
        auto want = trim(value);
        for (const auto& o : options) {
            if (iequal(o, want)) {
                return o;
            }
        }
        std::string hint = "Available values: ";
        for (std::size_t i = 0; i < options.size(); ++i) {
            hint += (i ? ", " : "") + options[i];
        }
        hint += ".";
        return std::unexpected(errors::invalid_parameter_value(name, std::string(value), {}, hint));
    }
    case SettingKind::String:
        break;
    }
    // string settings with check hooks
    if (canonical == "DateStyle") {
        auto current = this->value("DateStyle").value_or("ISO, MDY");
        auto r = canonical_datestyle(value, current);
        if (!r) {
            auto e = errors::invalid_parameter_value(canonical, std::string(value), r.error());
            e.location = {"guc.c", 6743, "call_string_check_hook"};
            return std::unexpected(e);
        }
        return *r;
    }
    if (canonical == "client_encoding") {
        auto r = canonical_client_encoding(value);
        if (!r) {
            auto e = errors::invalid_parameter_value(canonical, std::string(value));
            e.location = {"guc.c", 6743, "call_string_check_hook"};
            return std::unexpected(e);
        }
        return *r;
    }
    if (canonical == "TimeZone" || canonical == "log_timezone") {
        auto r = canonical_time_zone(value);
        if (!r) {
            auto e = errors::invalid_parameter_value(canonical, std::string(value));
            e.location = {"guc.c", 6743, "call_string_check_hook"};
            return std::unexpected(e);
        }
        return *r;
    }
    if (canonical == "application_name" || canonical == "cluster_name") {
        return clean_ascii(value);
    }
    return std::string(value);
}

void Settings::assign(const std::string& key, std::string value, SettingScope scope,
                      bool placeholder, std::string_view spelling) {
    auto apply = [&](Values& v) {
        if (placeholder) {
            auto it = v.placeholders.find(key);
            if (it == v.placeholders.end()) {
                v.placeholders[key] = Placeholder{std::string(spelling), value};
            } else {
                it->second.value = value;
            }
        } else {
            v.known[key] = value;
        }
    };
    apply(current_);
    if (scope == SettingScope::Session) {
        apply(committed_);
    } else if (placeholder && !committed_.placeholders.contains(key)) {
        // a placeholder made by SET LOCAL stays defined (empty) after the transaction
        committed_.placeholders[key] = Placeholder{std::string(spelling), ""};
    }
}

std::expected<void, ServerError> Settings::set(std::string_view name,
                                               const std::vector<SettingArgument>& args,
                                               SettingScope scope, bool in_transaction_block) {
    if (args.empty()) {
        return reset(name, in_transaction_block);
    }
    const auto* d = find_setting(name);
    std::string text;
    if (d != nullptr && d->list()) {
        bool quote = d->name == "search_path" || d->name == "temp_tablespaces" ||
                     d->name.ends_with("preload_libraries");
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (i > 0) {
                text += ", ";
            }
            text += quote && args[i].kind == SettingArgument::Kind::String
                        ? quote_identifier(args[i].text)
                        : args[i].text;
        }
    } else {
        if (args.size() > 1) {
            if (d == nullptr && name.find('.') == std::string_view::npos) {
                return std::unexpected(errors::unrecognized_parameter(std::string(name)));
            }
            return std::unexpected(errors::takes_one_argument(d != nullptr ? std::string(d->name)
                                                                           : std::string(name)));
        }
        text = args.front().text;
    }
    return set_text(name, text, scope, in_transaction_block);
}

std::expected<void, ServerError> Settings::set_text(std::string_view name, std::string_view value,
                                                    SettingScope scope, bool in_transaction_block,
                                                    bool at_startup) {
    if (scope == SettingScope::Local && !in_transaction_block) {
        return {}; // PostgreSQL warns and does nothing; the caller sends the WARNING
    }
    const auto* d = find_setting(name);
    if (d == nullptr) {
        if (name.find('.') == std::string_view::npos) {
            return std::unexpected(errors::unrecognized_parameter(std::string(name)));
        }
        assign(lower(name), std::string(value), scope, true, name);
        return {};
    }
    if (auto c = check_context(*d, name, at_startup); !c) {
        return std::unexpected(c.error());
    }
    auto v = validate(*d, name, value);
    if (!v) {
        return std::unexpected(v.error());
    }
    assign(std::string(d->name), std::move(*v), scope, false, d->name);
    return {};
}

std::expected<void, ServerError> Settings::reset(std::string_view name,
                                                 bool /*in_transaction_block*/) {
    const auto* d = find_setting(name);
    if (d == nullptr) {
        if (name.find('.') == std::string_view::npos) {
            return std::unexpected(errors::unrecognized_parameter(std::string(name)));
        }
        auto key = lower(name);
        auto it = current_.placeholders.find(key);
        if (it != current_.placeholders.end()) {
            assign(key, "", SettingScope::Session, true, name);
        }
        return {};
    }
    if (auto c = check_context(*d, name, false); !c) {
        return std::unexpected(c.error());
    }
    assign(std::string(d->name), defaults_[std::string(d->name)], SettingScope::Session, false,
           d->name);
    return {};
}

void Settings::reset_all(bool /*in_transaction_block*/) {
    for (const auto& d : setting_catalog()) {
        if (d.context == SettingContext::User && d.name != "transaction_isolation" &&
            d.name != "transaction_read_only" && d.name != "transaction_deferrable" &&
            d.name != "role") {
            assign(std::string(d.name), defaults_[std::string(d.name)], SettingScope::Session,
                   false, d.name);
        }
    }
    for (auto& [key, p] : current_.placeholders) {
        assign(key, "", SettingScope::Session, true, p.spelling);
    }
}

void Settings::begin_transaction() {
    frames_.clear();
    frames_.push_back(Frame{current_, current_});
    committed_ = current_;
}

void Settings::commit_transaction() {
    current_ = committed_;
    frames_.clear();
}

void Settings::rollback_transaction() {
    if (!frames_.empty()) {
        current_ = frames_.front().current;
    }
    committed_ = current_;
    frames_.clear();
}

void Settings::define_savepoint() {
    frames_.push_back(Frame{current_, committed_});
}

void Settings::release_savepoint() {
    if (frames_.size() > 1) {
        frames_.pop_back();
    }
}

void Settings::rollback_to_savepoint() {
    if (frames_.size() > 1) {
        current_ = frames_.back().current;
        committed_ = frames_.back().committed;
    }
}

std::vector<std::pair<std::string, std::string>> Settings::take_reports() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : setting_catalog()) {
        if (!d.reported()) {
            continue;
        }
        std::string name(d.name);
        const auto& v = current_.known[name];
        auto it = reported_.find(name);
        if (it == reported_.end() || it->second != v) {
            reported_[name] = v;
            out.emplace_back(name, v);
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> Settings::take_startup_reports() {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto name : startup_report_order()) {
        std::string n(name);
        const auto& v = current_.known[n];
        reported_[n] = v;
        out.emplace_back(n, v);
    }
    return out;
}

std::vector<std::vector<std::string>> Settings::show_all() const {
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : setting_catalog()) {
        if (d.hidden()) {
            continue;
        }
        auto it = current_.known.find(std::string(d.name));
        rows.push_back({std::string(d.name), it == current_.known.end() ? "" : it->second,
                        std::string(d.description)});
    }
    return rows;
}

} // namespace standin::postgres
