#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <proxy/app/matrix/driver_registry.h>

namespace proxy::app::matrix {

namespace {

using json = nlohmann::json;

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 64) {
        return false;
    }
    for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string text(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

} // namespace

std::expected<DriverRegistry, std::string>
DriverRegistry::parse(const std::string& json_text, const std::filesystem::path& probes) {
    json doc = json::parse(json_text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return std::unexpected("not valid JSON");
    }
    if (!doc.contains("version") || doc["version"] != 1) {
        return std::unexpected("\"version\" must be 1");
    }
    if (!doc.contains("drivers") || !doc["drivers"].is_object()) {
        return std::unexpected("no \"drivers\" object");
    }
    DriverRegistry r;
    r.probes_ = probes;
    for (const auto& [name, d] : doc["drivers"].items()) {
        if (!valid_name(name) || !d.is_object()) {
            return std::unexpected("driver \"" + name + "\": bad name or not an object");
        }
        DriverSpec s;
        s.name = name;
        s.builtin = true;
        s.protocol = text(d, "protocol");
        s.client = text(d, "client");
        s.command = text(d, "command");
        s.install = text(d, "install");
        s.sanity_config = text(d, "sanity");
        if (s.protocol != "tds" && s.protocol != "postgres" && s.protocol != "mysql") {
            return std::unexpected("driver \"" + name +
                                   "\": protocol must be tds, postgres or mysql");
        }
        if (s.command.empty()) {
            return std::unexpected("driver \"" + name + "\": no command");
        }
        if (!d.contains("configs") || !d["configs"].is_object() || d["configs"].empty()) {
            return std::unexpected("driver \"" + name + "\": no configs");
        }
        for (const auto& [cname, c] : d["configs"].items()) {
            if (!valid_name(cname) || !c.is_object()) {
                return std::unexpected("driver \"" + name + "\", config \"" + cname +
                                       "\": bad name or not an object");
            }
            s.configs.push_back({cname, text(c, "args"), text(c, "description")});
        }
        bool sanity_known = false;
        for (const auto& c : s.configs) {
            sanity_known = sanity_known || c.name == s.sanity_config;
        }
        if (!sanity_known) {
            return std::unexpected("driver \"" + name + "\": sanity config \"" + s.sanity_config +
                                   "\" is not one of its configs");
        }
        r.drivers_.push_back(std::move(s));
    }
    return r;
}

std::expected<DriverRegistry, std::string>
DriverRegistry::load(const std::filesystem::path& probes) {
    auto file = probes / "drivers.json";
    std::ifstream in(file);
    if (!in) {
        return std::unexpected("cannot read " + file.string());
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = parse(ss.str(), probes);
    if (!r) {
        return std::unexpected(file.string() + ": " + r.error());
    }
    return r;
}

const DriverSpec* DriverRegistry::find(const std::string& name) const {
    for (const auto& d : drivers_) {
        if (d.name == name) {
            return &d;
        }
    }
    return nullptr;
}

std::optional<std::filesystem::path> find_probes_dir(const std::optional<std::string>& option) {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto usable = [&](const fs::path& p) {
        return fs::is_regular_file(p / "drivers.json", ec);
    };
    if (option) {
        return fs::path(*option); // as given: a missing registry is reported by load()
    }
    if (const char* env = std::getenv("TLSLAB_PROBES"); env != nullptr && *env != '\0') {
        return fs::path(env);
    }
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto dir = exe.parent_path();
        for (const auto& candidate : {dir / "probes", dir.parent_path() / "probes",
                                      dir.parent_path() / "share" / "tlslab" / "probes"}) {
            if (usable(candidate)) {
                return fs::weakly_canonical(candidate, ec);
            }
        }
    }
#ifdef TLSLAB_SOURCE_DIR
    if (fs::path src = fs::path(TLSLAB_SOURCE_DIR) / "probes"; usable(src)) {
        return src;
    }
#endif
    return std::nullopt;
}

std::expected<DriverOption, std::string> parse_driver_option(const std::string& text_in) {
    auto eq = text_in.find('=');
    DriverOption o;
    o.name = text_in.substr(0, eq);
    if (!valid_name(o.name)) {
        return std::unexpected("--driver " + text_in +
                               ": NAME (letters, digits, '-', '_', '.') or NAME=COMMAND");
    }
    if (eq != std::string::npos) {
        o.command = text_in.substr(eq + 1);
        if (o.command->find_first_not_of(" \t") == std::string::npos) {
            return std::unexpected("--driver " + o.name + "=: the command is empty");
        }
    }
    return o;
}

std::expected<ConfigOption, std::string> parse_config_option(const std::string& text_in) {
    auto eq = text_in.find('=');
    ConfigOption o;
    o.name = text_in.substr(0, eq);
    if (!valid_name(o.name)) {
        return std::unexpected("--config " + text_in +
                               ": NAME (letters, digits, '-', '_', '.') or NAME=ARGS");
    }
    if (eq != std::string::npos) {
        o.args = text_in.substr(eq + 1);
    }
    return o;
}

} // namespace proxy::app::matrix
