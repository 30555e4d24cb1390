#pragma once

// The drivers a matrix runs. A driver is a command template (the driver contract,
// probes/README.md) with named configurations: option sets appended to the command. Built-in
// drivers come from the probes' registry, probes/drivers.json, which ships beside the binary;
// a user's own driver is NAME=COMMAND on the command line.

#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace proxy::app::matrix {

struct DriverConfig {
    std::string name;
    std::string args; // appended to the driver's command; placeholders unexpanded
    std::string description;
};

struct DriverSpec {
    std::string name;
    std::string protocol;      // tds, postgres, mysql
    std::string client;        // what runs (registry); empty for a user's driver
    std::string command;       // template
    std::string install;       // template of the install command; empty for a user's driver
    std::string sanity_config; // the configuration whose `valid` cell must connect
    std::vector<DriverConfig> configs;
    bool builtin = false;
};

class DriverRegistry {
  public:
    static std::expected<DriverRegistry, std::string> parse(const std::string& json_text,
                                                            const std::filesystem::path& probes);
    static std::expected<DriverRegistry, std::string> load(const std::filesystem::path& probes);

    const DriverSpec* find(const std::string& name) const;
    const std::vector<DriverSpec>& drivers() const { return drivers_; }
    const std::filesystem::path& probes_dir() const { return probes_; }

  private:
    std::filesystem::path probes_;
    std::vector<DriverSpec> drivers_;
};

// find_probes_dir: --probes, else $TLSLAB_PROBES, else the probes folder beside the binary
// (<exe>/probes, <exe>/../probes, <exe>/../share/tlslab/probes), else the source tree's.
std::optional<std::filesystem::path> find_probes_dir(const std::optional<std::string>& option);

// parse_driver_option: "NAME=COMMAND" (a user's driver) or "NAME" (from the registry).
struct DriverOption {
    std::string name;
    std::optional<std::string> command;
};
std::expected<DriverOption, std::string> parse_driver_option(const std::string& text);

// parse_config_option: "NAME=ARGS" (a named option set) or "NAME" (a registry configuration).
struct ConfigOption {
    std::string name;
    std::optional<std::string> args;
};
std::expected<ConfigOption, std::string> parse_config_option(const std::string& text);

} // namespace proxy::app::matrix
