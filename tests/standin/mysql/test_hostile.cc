#include <random>

#include <catch2/catch.hpp>

#include "mysql_test_client.h"

using mysqltest::Bytes;
using mysqltest::Client;

TEST_CASE("mysql stand-in: hostile bytes in every phase never crash", "[standin][mysql]") {
    std::mt19937 rng(1234);
    for (int round = 0; round < 300; ++round) {
        standin::mysql::Config cfg;
        cfg.flavour =
            round % 2 ? standin::mysql::Flavour::Mysql80 : standin::mysql::Flavour::Mariadb114;
        cfg.auth = standin::mysql::AuthPlugin::NativePassword;
        Client c(cfg);
        if (round % 3 != 0) {
            c.login("mysql_native_password",
                    mysqltest::native_response("lab-password", c.greeting.auth_plugin_data));
        }
        for (int i = 0; i < 20 && !c.closed; ++i) {
            Bytes payload(rng() % 64);
            for (auto& b : payload) {
                b = static_cast<std::uint8_t>(rng());
            }
            if (!payload.empty() && i % 2 == 0) {
                static constexpr std::uint8_t kCommands[] = {0x03, 0x16, 0x17, 0x18, 0x11,
                                                             0x1B, 0x02, 0x04, 0x19, 0x1A};
                payload[0] = kCommands[rng() % std::size(kCommands)];
            }
            c.send(0, payload);
        }
    }
    SUCCEED("no crash");
}

TEST_CASE("mysql stand-in: odd SQL never crashes and always answers", "[standin][mysql]") {
    standin::mysql::Config cfg;
    cfg.auth = standin::mysql::AuthPlugin::NativePassword;
    Client c(cfg);
    c.login("mysql_native_password",
            mysqltest::native_response("lab-password", c.greeting.auth_plugin_data));
    REQUIRE(c.ok());
    for (const char* q : {"'",
                          "\"abc",
                          "/* open",
                          "SELECT",
                          "SELECT (((1",
                          "SELECT 1 +* 2",
                          "SET",
                          "SET @@",
                          "SHOW",
                          "SELECT @@session.",
                          "SELECT `a",
                          ";;;",
                          "SELECT 99999999999999999999 * 99999999999999999999",
                          "SELECT 9223372036854775807 + 1",
                          "SELECT 1/0",
                          "USE",
                          "SELECT @",
                          "SELECT CONCAT()",
                          "SELECT nosuch()",
                          "SET NAMES nosuch"}) {
        c.query(q);
        CHECK_FALSE(c.replies.empty());
        CHECK_FALSE(c.closed);
    }
}
