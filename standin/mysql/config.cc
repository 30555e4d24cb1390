#include <standin/mysql/config.h>

namespace standin::mysql {

std::string_view to_string(Flavour f) {
    switch (f) {
    case Flavour::Mysql80:
        return "mysql";
    case Flavour::Mariadb114:
        return "mariadb";
    }
    return "?";
}

std::optional<Flavour> flavour_from_name(std::string_view name) {
    for (auto f : {Flavour::Mysql80, Flavour::Mariadb114}) {
        if (name == to_string(f)) {
            return f;
        }
    }
    return std::nullopt;
}

std::string_view to_string(AuthPlugin p) {
    switch (p) {
    case AuthPlugin::NativePassword:
        return "mysql_native_password";
    case AuthPlugin::CachingSha2:
        return "caching_sha2_password";
    case AuthPlugin::ClearPassword:
        return "mysql_clear_password";
    }
    return "?";
}

std::optional<AuthPlugin> auth_plugin_from_name(std::string_view name) {
    for (auto p :
         {AuthPlugin::NativePassword, AuthPlugin::CachingSha2, AuthPlugin::ClearPassword}) {
        if (name == to_string(p)) {
            return p;
        }
    }
    return std::nullopt;
}

} // namespace standin::mysql
