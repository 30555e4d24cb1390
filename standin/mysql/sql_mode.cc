#include <array>
#include <span>

#include <standin/mysql/sql_mode.h>
#include <standin/mysql/variables.h>

namespace standin::mysql {

namespace {

// Bit i is the i-th name; an empty name is a bit no mode has (MySQL 8.0's NOT_USED_n).
// MySQL 8.0: sql/system_variables.h and sys_vars.cc (sql_mode_names); MariaDB 10.11 / 11.4:
// the same list read back from a real server with every bit set.
constexpr std::array<std::string_view, 33> kMysql80 = {
    "REAL_AS_FLOAT",
    "PIPES_AS_CONCAT",
    "ANSI_QUOTES",
    "IGNORE_SPACE",
    "",
    "ONLY_FULL_GROUP_BY",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_DIR_IN_CREATE",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "ANSI",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ALLOW_INVALID_DATES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "TRADITIONAL",
    "",
    "HIGH_NOT_PRECEDENCE",
    "NO_ENGINE_SUBSTITUTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "TIME_TRUNCATE_FRACTIONAL",
};
constexpr std::array<std::string_view, 35> kMariadb = {
    "REAL_AS_FLOAT",
    "PIPES_AS_CONCAT",
    "ANSI_QUOTES",
    "IGNORE_SPACE",
    "IGNORE_BAD_TABLE_OPTIONS",
    "ONLY_FULL_GROUP_BY",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_DIR_IN_CREATE",
    "POSTGRESQL",
    "ORACLE",
    "MSSQL",
    "DB2",
    "MAXDB",
    "NO_KEY_OPTIONS",
    "NO_TABLE_OPTIONS",
    "NO_FIELD_OPTIONS",
    "MYSQL323",
    "MYSQL40",
    "ANSI",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ALLOW_INVALID_DATES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "TRADITIONAL",
    "NO_AUTO_CREATE_USER",
    "HIGH_NOT_PRECEDENCE",
    "NO_ENGINE_SUBSTITUTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "EMPTY_STRING_IS_NULL",
    "SIMULTANEOUS_ASSIGNMENT",
    "TIME_ROUND_FRACTIONAL",
};

std::span<const std::string_view> names_of(Flavour f) {
    switch (f) {
    case Flavour::Mysql80:
        return kMysql80;
    case Flavour::Mariadb114:
        return kMariadb;
    }
    return kMysql80;
}

std::uint64_t bit_of(Flavour f, std::string_view name) {
    auto names = names_of(f);
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!names[i].empty() && names[i] == name) {
            return std::uint64_t{1} << i;
        }
    }
    return 0;
}

std::uint64_t bits_of(Flavour f, std::initializer_list<std::string_view> names) {
    std::uint64_t out = 0;
    for (auto n : names) {
        out |= bit_of(f, n);
    }
    return out;
}

// The combination modes add their members (the servers' expand_sql_mode); what each adds is
// the server's own: MySQL 8.0's ANSI includes ONLY_FULL_GROUP_BY, MariaDB's does not, and
// MariaDB's TRADITIONAL includes NO_AUTO_CREATE_USER (both read back from real servers or
// taken from the manual).
std::uint64_t expand(Flavour f, std::uint64_t bits) {
    auto has = [&](std::string_view n) {
        return (bits & bit_of(f, n)) != 0;
    };
    std::uint64_t out = bits;
    if (has("ANSI")) {
        out |= bits_of(f, {"REAL_AS_FLOAT", "PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"});
        if (f == Flavour::Mysql80) {
            out |= bit_of(f, "ONLY_FULL_GROUP_BY");
        }
    }
    if (has("TRADITIONAL")) {
        out |= bits_of(f, {"STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "NO_ZERO_IN_DATE",
                           "NO_ZERO_DATE", "ERROR_FOR_DIVISION_BY_ZERO", "NO_AUTO_CREATE_USER",
                           "NO_ENGINE_SUBSTITUTION"});
    }
    if (f == Flavour::Mariadb114) {
        const std::uint64_t like_others =
            bits_of(f, {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE", "NO_KEY_OPTIONS",
                        "NO_TABLE_OPTIONS", "NO_FIELD_OPTIONS"});
        for (std::string_view n : {"POSTGRESQL", "MSSQL", "DB2"}) {
            if (has(n)) {
                out |= like_others;
            }
        }
        if (has("ORACLE")) {
            out |= like_others | bits_of(f, {"NO_AUTO_CREATE_USER", "SIMULTANEOUS_ASSIGNMENT"});
        }
        if (has("MAXDB")) {
            out |= like_others | bit_of(f, "NO_AUTO_CREATE_USER");
        }
        if (has("MYSQL323") || has("MYSQL40")) {
            out |= bit_of(f, "HIGH_NOT_PRECEDENCE");
        }
    }
    return out;
}

} // namespace

std::expected<std::uint64_t, std::string> parse_sql_mode(Flavour f, std::string_view list) {
    std::uint64_t bits = 0;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto comma = list.find(',', start);
        auto element = list.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                          : comma - start);
        auto trimmed = element;
        while (!trimmed.empty() && trimmed.back() == ' ') {
            trimmed.remove_suffix(1);
        }
        if (!trimmed.empty()) {
            auto bit = bit_of(f, upper(trimmed));
            if (bit == 0) {
                return std::unexpected(std::string(element));
            }
            bits |= bit;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return expand(f, bits);
}

std::expected<std::uint64_t, std::string> sql_mode_of_number(Flavour f, std::uint64_t bits) {
    auto names = names_of(f);
    for (std::size_t i = 0; i < 64; ++i) {
        if ((bits >> i & 1U) != 0 && (i >= names.size() || names[i].empty())) {
            return std::unexpected(std::to_string(bits));
        }
    }
    return expand(f, bits);
}

std::string format_sql_mode(Flavour f, std::uint64_t bits) {
    auto names = names_of(f);
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if ((bits >> i & 1U) != 0 && !names[i].empty()) {
            if (!out.empty()) {
                out += ',';
            }
            out += names[i];
        }
    }
    return out;
}

Syntax syntax_of(std::string_view shown) {
    Syntax s;
    std::size_t start = 0;
    while (start <= shown.size()) {
        auto comma = shown.find(',', start);
        auto name = shown.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                        : comma - start);
        s.no_backslash_escapes |= name == "NO_BACKSLASH_ESCAPES";
        s.ansi_quotes |= name == "ANSI_QUOTES";
        s.pipes_as_concat |= name == "PIPES_AS_CONCAT";
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return s;
}

} // namespace standin::mysql
