#pragma once

// What the MySQL stand-in behind `tlslab serve --protocol mysql` is: which server it plays, who
// may log in, and how. Policy only; the responder (responder.h) acts on it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace standin::mysql {

// Which real server the stand-in plays: its greeting (version, capabilities, collation), its
// default authentication plugin, its variables, and its error texts.
enum class Flavour : std::uint8_t {
    Mysql80,   // MySQL 8.0 (Community Server): caching_sha2_password by default
    Mariadb114 // MariaDB 11.4: mysql_native_password by default, zero-configuration SSL
};
std::string_view to_string(Flavour f);
std::optional<Flavour> flavour_from_name(std::string_view name); // "mysql", "mariadb"

// The plugin an account authenticates with.
enum class AuthPlugin : std::uint8_t {
    NativePassword, // mysql_native_password
    CachingSha2,    // caching_sha2_password (fast path after the first full authentication)
    ClearPassword,  // mysql_clear_password (the password in clear, as LDAP/PAM accounts)
};
std::string_view to_string(AuthPlugin p); // the plugin's wire name
std::optional<AuthPlugin> auth_plugin_from_name(std::string_view name);

struct Config {
    Flavour flavour = Flavour::Mysql80;
    std::string user = "lab";
    std::string password = "lab-password";
    std::string database = "lab";
    // empty: the flavour's default (caching_sha2_password for MySQL 8.0, mysql_native_password
    // for MariaDB 11.4)
    std::optional<AuthPlugin> auth;
    // empty: the flavour's (MySQL "8.0.40", MariaDB "11.4.4-MariaDB")
    std::string server_version;
    // like require_secure_transport=ON: a login in clear gets ERROR 3159 (MySQL) / 1045 +
    // MariaDB's text
    bool require_secure_transport = false;
    // microseconds since 1970 (UTC); empty: the system clock
    std::function<std::int64_t()> clock;
};

} // namespace standin::mysql
