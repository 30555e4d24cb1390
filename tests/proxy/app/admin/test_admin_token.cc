#include <catch2/catch.hpp>

#include <proxy/app/admin/admin_server.h>

using proxy::app::bearer_matches;

TEST_CASE("bearer_matches: only 'Bearer ' and the exact token", "[admin][token]") {
    CHECK(bearer_matches("Bearer s3cret", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer s3cret ", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer s3cre", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer s3creT", "s3cret"));
    CHECK_FALSE(bearer_matches("bearer s3cret", "s3cret"));
    CHECK_FALSE(bearer_matches("s3cret", "s3cret"));
    CHECK_FALSE(bearer_matches("", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer ", "s3cret"));
    // A token with a NUL or any byte is compared as bytes, whole.
    std::string odd("a\0b", 3);
    CHECK(bearer_matches("Bearer " + odd, odd));
    CHECK_FALSE(bearer_matches("Bearer a", odd));
    // A long token, and a prefix of it.
    std::string long_token(4096, 'x');
    CHECK(bearer_matches("Bearer " + long_token, long_token));
    CHECK_FALSE(bearer_matches("Bearer " + long_token.substr(1), long_token));
}
