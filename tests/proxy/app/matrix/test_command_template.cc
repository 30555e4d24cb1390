// Command templates: placeholders become shell-quoted words, so whatever a value holds the
// command the shell runs has the same words.

#include <catch2/catch.hpp>

#include <proxy/app/matrix/child_process.h>
#include <proxy/app/matrix/command_template.h>

using namespace proxy::app::matrix;

TEST_CASE("expand_template quotes values and refuses unknown placeholders", "[matrix]") {
    std::map<std::string, std::string> v = {{"host", "localhost"},
                                            {"port", "14330"},
                                            {"ca", "/tmp/my dir/ca.pem"},
                                            {"scenario", "it's; rm -rf /"}};
    auto cmd = expand_template("probe --host {host} --port {port} --ca {ca}", v);
    REQUIRE(cmd);
    CHECK(*cmd == "probe --host localhost --port 14330 --ca '/tmp/my dir/ca.pem'");
    auto hostile = expand_template("echo {scenario}", v);
    REQUIRE(hostile);
    CHECK(*hostile == "echo 'it'\\''s; rm -rf /'");
    auto unknown = expand_template("probe {hots}", v);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().find("{hots}") != std::string::npos);
    CHECK_FALSE(expand_template("probe {host", v));
    CHECK(shell_quote("") == "''");
}

TEST_CASE("a quoted value reaches the program as one word, unchanged", "[matrix]") {
    std::map<std::string, std::string> v = {{"x", "a b'c\"d$(id)`id`\\e;f|g&h"}};
    auto cmd = expand_template("printf '%s\\n' {x}", v);
    REQUIRE(cmd);
    auto r = run_command(*cmd, std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(r.out == v["x"] + "\n");
}
