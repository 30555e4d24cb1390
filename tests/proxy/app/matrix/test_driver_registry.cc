// The probes' registry as shipped, bad registries as errors, and the --driver / --config forms.

#include <fstream>
#include <random>

#include <catch2/catch.hpp>

#include <proxy/app/matrix/driver_registry.h>

using namespace proxy::app::matrix;

TEST_CASE("the shipped probes/drivers.json loads: every driver, its sanity config among its "
          "configs, a probe that exists",
          "[matrix]") {
    std::filesystem::path probes = std::filesystem::path(TLSLAB_SOURCE_DIR) / "probes";
    auto r = DriverRegistry::load(probes);
    REQUIRE(r);
    CHECK(r->drivers().size() >= 30);
    for (const char* name : {"tedious19", "tedious14", "odbc", "jdbc", "jdbc9", "jdbc10", "psql",
                             "node-pg", "node-pg80", "mysql2", "mysql2-v2", "mariadb-cli"}) {
        INFO(name);
        REQUIRE(r->find(name) != nullptr);
    }
    for (const auto& d : r->drivers()) {
        INFO(d.name);
        CHECK(d.command.starts_with("{probes}/"));
        auto folder = d.command.substr(9, d.command.find('/', 9) - 9);
        CHECK(std::filesystem::is_regular_file(probes / folder / "probe"));
        CHECK(d.command.find("{port}") != std::string::npos);
        bool has_ca = false;
        for (const auto& c : d.configs) {
            CHECK_FALSE(c.description.empty());
            if (c.name == d.sanity_config) {
                has_ca = c.args.find("{ca}") != std::string::npos;
            }
        }
        // The sanity cell must trust the lab CA, or `valid` cannot pass.
        CHECK((has_ca || d.name == "tedious14" || d.name == "node-pg80"));
    }
}

TEST_CASE("a broken registry is an error naming what is wrong", "[matrix]") {
    CHECK_FALSE(DriverRegistry::parse("not json", "/p"));
    CHECK(DriverRegistry::parse(R"({"version": 2, "drivers": {}})", "/p").error() ==
          "\"version\" must be 1");
    auto no_sanity = DriverRegistry::parse(
        R"({"version": 1, "drivers": {"d": {"protocol": "tds", "command": "x", "sanity": "s",
            "configs": {"a": {"args": ""}}}}})",
        "/p");
    REQUIRE_FALSE(no_sanity);
    CHECK(no_sanity.error().find("sanity config \"s\"") != std::string::npos);
    CHECK_FALSE(DriverRegistry::parse(
        R"({"version": 1, "drivers": {"d": {"protocol": "oracle", "command": "x", "sanity": "a",
            "configs": {"a": {"args": ""}}}}})",
        "/p"));
    CHECK_FALSE(DriverRegistry::load("/nonexistent"));
}

TEST_CASE("the driver and config options: NAME, NAME=COMMAND, NAME=ARGS", "[matrix]") {
    auto byname = parse_driver_option("tedious19");
    REQUIRE(byname);
    CHECK_FALSE(byname->command);
    auto mine = parse_driver_option("mine=psql -h {host} -p {port} -c 'select 1'");
    REQUIRE(mine);
    CHECK(mine->name == "mine");
    CHECK(*mine->command == "psql -h {host} -p {port} -c 'select 1'");
    CHECK_FALSE(parse_driver_option("mine="));
    CHECK_FALSE(parse_driver_option("bad name=x"));
    auto cfg = parse_config_option("strict=--encrypt strict --ca {ca}");
    REQUIRE(cfg);
    CHECK(*cfg->args == "--encrypt strict --ca {ca}");
    auto empty = parse_config_option("defaults=");
    REQUIRE(empty);
    CHECK(empty->args == std::string());
    CHECK_FALSE(parse_config_option("=x"));
}

TEST_CASE("a mangled registry is an error value, never a crash", "[matrix]") {
    std::filesystem::path probes = std::filesystem::path(TLSLAB_SOURCE_DIR) / "probes";
    std::string text(std::filesystem::file_size(probes / "drivers.json"), '\0');
    std::ifstream in(probes / "drivers.json", std::ios::binary);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    REQUIRE(text.size() > 1000);
    std::mt19937 rng(7);
    int parsed = 0;
    for (int round = 0; round < 300; ++round) {
        std::string m = text;
        for (int edits = 0; edits < 1 + round % 8; ++edits) {
            std::size_t at = rng() % m.size();
            switch (rng() % 3) {
            case 0:
                m[at] = static_cast<char>(rng() % 256);
                break;
            case 1:
                m.erase(at, rng() % 40);
                break;
            default:
                m.insert(at, "{\"configs\": 5, \"sanity\": [], ");
                break;
            }
        }
        auto r = DriverRegistry::parse(m, probes);
        parsed += r ? 1 : 0;
        if (r) {
            for (const auto& d : r->drivers()) {
                CHECK_FALSE(d.configs.empty());
            }
        }
    }
    CHECK(parsed < 300);
}
