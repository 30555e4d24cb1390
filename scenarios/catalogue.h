#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <scenarios/scenario.h>

namespace scenarios {

// Catalogue is the ordered set of scenarios: the built-in ones (compiled into the binary from
// scenarios/catalogue/*.toml) first in file-name order, then the user's. A user scenario with
// a built-in's name replaces it in place.
class Catalogue {
  public:
    // builtin: the catalogue shipped in the binary. Throws nothing; a broken built-in file is a
    // build bug caught by the tests.
    static std::expected<Catalogue, std::string> builtin();

    // add_directory loads every *.toml in `dir`. Errors name the file and the key.
    std::expected<void, std::string> add_directory(const std::filesystem::path& dir);
    // add_text parses one scenario file's text (`origin` names it in errors).
    std::expected<void, std::string> add_text(std::string_view text, const std::string& origin);

    const std::vector<Scenario>& all() const { return scenarios_; }
    const Scenario* find(std::string_view name) const;
    std::vector<std::string> names() const;

  private:
    void put(Scenario s);
    std::vector<Scenario> scenarios_;
};

// parse_scenario validates one TOML document: unknown keys, wrong types and impossible values
// are errors of the form "<origin>: <key>: <what is wrong>".
std::expected<Scenario, std::string> parse_scenario(std::string_view text,
                                                    const std::string& origin);

} // namespace scenarios
