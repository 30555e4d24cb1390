#pragma once

// The configuration parameters (GUCs) of a PostgreSQL 16.4 server as a user without superuser
// rights sees them: every row of SHOW ALL, in its order (names sorted case-insensitively), with
// the type, context, unit, range and allowed values from pg_settings and the value SHOW prints
// on a freshly initialised server. The rows were read from a PostgreSQL 16.4 server
// (`SHOW ALL` and `SELECT ... FROM pg_settings` as a plain user); host-specific values are
// replaced by a stock server's (port 5432, listen_addresses '*').
//
// Three settings exist only for SHOW and SET (GUC_NO_SHOW_ALL): is_superuser,
// session_authorization and role; they are in hidden_settings().

#include <cstdint>
#include <span>
#include <string_view>

namespace standin::postgres {

enum class SettingKind : std::uint8_t { Bool, Integer, Real, String, Enum };

// Who may change a setting (pg_settings.context).
enum class SettingContext : std::uint8_t {
    Internal,         // never (server_version, is_superuser, ...)
    Postmaster,       // only at server start
    Sighup,           // only in the configuration file
    SuperuserBackend, // superusers, at connection start
    Backend,          // at connection start
    Superuser,        // superusers
    User,             // anybody, any time
};

namespace setting_flag {
inline constexpr std::uint8_t kReport = 1; // GUC_REPORT: ParameterStatus on change
inline constexpr std::uint8_t kList = 2;   // GUC_LIST_INPUT: SET takes a list
inline constexpr std::uint8_t kHidden = 4; // GUC_NO_SHOW_ALL
} // namespace setting_flag

struct SettingDefinition {
    std::string_view name; // canonical spelling ("DateStyle")
    SettingKind kind;
    SettingContext context;
    std::string_view unit;        // pg_settings.unit: "", "ms", "s", "min", "kB", "8kB", "MB", "B"
    std::string_view min;         // Integer/Real
    std::string_view max;         // Integer/Real
    std::string_view enum_values; // Enum: "a|b|c"
    std::string_view initial;     // as SHOW prints it
    std::uint8_t flags;
    std::string_view description;

    bool reported() const { return (flags & setting_flag::kReport) != 0; }
    bool list() const { return (flags & setting_flag::kList) != 0; }
    bool hidden() const { return (flags & setting_flag::kHidden) != 0; }
};

std::span<const SettingDefinition> setting_catalog();
// find_setting: case-insensitive lookup (PostgreSQL folds setting names).
const SettingDefinition* find_setting(std::string_view name);

// The order in which PostgreSQL 16 sends the GUC_REPORT settings after AuthenticationOk
// (its GUC hash table's order, observed on 16.4).
std::span<const std::string_view> startup_report_order();

} // namespace standin::postgres
