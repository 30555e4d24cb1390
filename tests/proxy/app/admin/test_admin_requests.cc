#include <catch2/catch.hpp>

#include <proxy/app/admin/admin_requests.h>

using proxy::app::parse_id;
using proxy::app::parse_json_body;

TEST_CASE("parse_json_body reads a rule body") {
    auto j = parse_json_body(R"({"scenario": "expired", "count": 2})");
    REQUIRE(j);
    CHECK((*j)["scenario"] == "expired");
    CHECK((*j)["count"] == 2);
}

TEST_CASE("parse_json_body refuses what is not JSON, without throwing") {
    CHECK_FALSE(parse_json_body(""));
    CHECK_FALSE(parse_json_body("{"));
    CHECK_FALSE(parse_json_body(R"({"scenario": "x",})"));
    CHECK_FALSE(parse_json_body("\xff\xfe"));
    CHECK_FALSE(parse_json_body(std::string(100000, '[')));
}

TEST_CASE("parse_id reads whole decimal ids only") {
    CHECK(parse_id("42") == 42);
    CHECK(parse_id("18446744073709551615") == 18446744073709551615ULL);
    CHECK(parse_id("18446744073709551616") == 0); // does not fit 64 bits
    CHECK(parse_id("") == 0);
    CHECK(parse_id("-1") == 0);
    CHECK(parse_id("12x") == 0);
    CHECK(parse_id(" 1") == 0);
}
