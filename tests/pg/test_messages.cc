#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

TEST_CASE("encode frames a message: type, length counting itself and the body, body",
          "[pg][messages]") {
    // psql's "SELECT 1", captured (vectors/psql15_scram_client.hex).
    const pg::Message q{'Q', bytes_of(with_nuls("SELECT 1\0"))};
    CHECK(to_hex(pg::encode(q)) == to_hex(hex("51 00 00 00 0d 53 45 4c 45 43 54 20 31 00")));
    // No body: the 5 header bytes (Terminate, captured).
    CHECK(to_hex(pg::encode(pg::Message{'X', {}})) == to_hex(hex("58 00 00 00 04")));
}

TEST_CASE("append adds a framed message after what is there", "[pg][messages]") {
    // pgbench -M extended sends Parse, Bind, Describe, Execute and Sync in one write
    // (vectors/pgbench15_extended_client.hex, lines 2 to 6).
    const auto lines = load_lines("pgbench15_extended_client.hex");
    Bytes batch;
    for (std::size_t i = 1; i <= 5; ++i) {
        pg::append(batch, message_of(lines.at(i)));
    }
    CHECK(to_hex(batch) ==
          to_hex(concat({lines.at(1), lines.at(2), lines.at(3), lines.at(4), lines.at(5)})));
}

TEST_CASE("to_string names every error", "[pg][messages]") {
    CHECK(pg::to_string(pg::Error::Truncated) == "truncated");
    CHECK(pg::to_string(pg::Error::BadLength) == "bad length");
    CHECK(pg::to_string(pg::Error::TooLong) == "too long");
    CHECK(pg::to_string(pg::Error::MissingTerminator) == "missing terminator");
    CHECK(pg::to_string(pg::Error::TrailingBytes) == "trailing bytes");
    CHECK(pg::to_string(pg::Error::BadValue) == "bad value");
}
