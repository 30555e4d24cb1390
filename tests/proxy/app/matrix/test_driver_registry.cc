#include <catch2/catch.hpp>

TEST_CASE("placeholder for matrix/test_driver_registry", "[.]") {}
