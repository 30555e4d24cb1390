#include <catch2/catch.hpp>

#include <proxy/net/address.h>

using proxy::net::parse_host_port;

TEST_CASE("HOST:PORT parsing", "[net][address]") {
    SECTION("IPv4 and names") {
        auto a = parse_host_port("127.0.0.1:14330");
        REQUIRE(a);
        CHECK(a->host == "127.0.0.1");
        CHECK(a->port == 14330);
        CHECK(parse_host_port("localhost:0")->port == 0);
    }
    SECTION("IPv6 in brackets") {
        auto a = parse_host_port("[::1]:1433");
        REQUIRE(a);
        CHECK(a->host == "::1");
        CHECK(a->to_string() == "[::1]:1433");
    }
    SECTION("errors say what is wrong") {
        CHECK_FALSE(parse_host_port("127.0.0.1"));
        CHECK_FALSE(parse_host_port(":1433"));
        CHECK_FALSE(parse_host_port("::1:1433"));
        CHECK_FALSE(parse_host_port("[::1]1433"));
        CHECK_FALSE(parse_host_port("host:65536"));
        CHECK_FALSE(parse_host_port("host:12a"));
        CHECK_THAT(parse_host_port("::1:1433").error(), Catch::Contains("[ADDR]:PORT"));
    }
}
