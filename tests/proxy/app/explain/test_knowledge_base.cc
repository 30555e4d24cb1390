#include <catch2/catch.hpp>

TEST_CASE("placeholder for explain/test_knowledge_base", "[.]") {}
