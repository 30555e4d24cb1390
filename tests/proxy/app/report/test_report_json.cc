#include <catch2/catch.hpp>

TEST_CASE("placeholder for report/test_report_json", "[.]") {}
