#include <cstddef>
#include <random>

#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

// A whole server stream as a proxy reads it: PostgreSQL 15's answer to psql's SCRAM login and
// SELECT 1 (four 'R', thirteen 'S', 'K', 'Z', 'T', 'D', 'C', 'Z').
const char* const kScramServer = "psql15_scram_server.hex";

// drain pulls every whole message out of the reader; an error fails the test.
void drain(pg::MessageReader& r, std::vector<Bytes>& out) {
    while (true) {
        auto next = r.next();
        REQUIRE(next);
        if (!*next) {
            return;
        }
        out.push_back(pg::encode(**next));
    }
}

Bytes slice(const Bytes& b, std::size_t from, std::size_t to) {
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from),
                 b.begin() + static_cast<std::ptrdiff_t>(to));
}

// header: a type byte and a length field.
Bytes header(char type, std::uint32_t length) {
    return {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(length >> 24),
            static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 8),
            static_cast<std::uint8_t>(length)};
}

} // namespace

TEST_CASE("MessageReader frames a captured server stream fed in one piece",
          "[pg][message_reader]") {
    const auto expected = load_lines(kScramServer);
    REQUIRE(expected.size() == 23);
    pg::MessageReader r;
    r.feed(load_stream(kScramServer));
    std::vector<Bytes> got;
    drain(r, got);
    CHECK(got == expected);
    CHECK(r.buffered() == 0);
    auto again = r.next();
    REQUIRE(again);
    CHECK_FALSE(*again);
}

TEST_CASE("MessageReader gives the same messages whatever the split of the stream",
          "[pg][message_reader]") {
    const auto expected = load_lines(kScramServer);
    const Bytes stream = load_stream(kScramServer);

    SECTION("byte by byte") {
        pg::MessageReader r;
        std::vector<Bytes> got;
        for (std::size_t i = 0; i < stream.size(); ++i) {
            r.feed(slice(stream, i, i + 1));
            drain(r, got);
        }
        CHECK(got == expected);
        CHECK(r.buffered() == 0);
    }
    SECTION("split in two at every byte") {
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            pg::MessageReader r;
            std::vector<Bytes> got;
            r.feed(slice(stream, 0, cut));
            drain(r, got);
            r.feed(slice(stream, cut, stream.size()));
            drain(r, got);
            CHECK(got == expected);
        }
    }
    SECTION("random chunks") {
        std::mt19937 rng(20240611);
        for (int round = 0; round < 50; ++round) {
            pg::MessageReader r;
            std::vector<Bytes> got;
            std::size_t at = 0;
            while (at < stream.size()) {
                const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 40);
                r.feed(slice(stream, at, at + n));
                at += n;
                drain(r, got);
            }
            CHECK(got == expected);
        }
    }
}

TEST_CASE("MessageReader waits for the header and then for the body", "[pg][message_reader]") {
    // ReadyForQuery 'I', captured.
    const Bytes rfq = hex("5a 00 00 00 05 49");
    pg::MessageReader r;
    for (std::size_t i = 0; i + 1 < rfq.size(); ++i) {
        CAPTURE(i);
        r.feed(slice(rfq, i, i + 1));
        auto next = r.next();
        REQUIRE(next);
        CHECK_FALSE(*next);
        CHECK(r.buffered() == i + 1);
    }
    r.feed(slice(rfq, rfq.size() - 1, rfq.size()));
    auto next = r.next();
    REQUIRE(next);
    REQUIRE(*next);
    CHECK((*next)->type == 'Z');
    CHECK((*next)->body == Bytes{'I'});

    // A message without a body (Sync, captured from pgbench) is its 5 header bytes.
    r.feed(hex("53 00 00 00 04"));
    next = r.next();
    REQUIRE(next);
    REQUIRE(*next);
    CHECK((*next)->type == 'S');
    CHECK((*next)->body.empty());
}

TEST_CASE("MessageReader refuses a length below 4 as soon as it is there", "[pg][message_reader]") {
    for (std::uint32_t length : {0U, 1U, 2U, 3U}) {
        CAPTURE(length);
        pg::MessageReader r;
        r.feed(header('Q', length));
        CHECK(error_of(r.next()) == pg::Error::BadLength);
        // The stream is unusable: the error repeats.
        CHECK(error_of(r.next()) == pg::Error::BadLength);
    }
}

TEST_CASE("MessageReader refuses a length above its limit before the body arrives",
          "[pg][message_reader]") {
    SECTION("a configured limit") {
        pg::MessageReader r(100);
        r.feed(concat({header('D', 100), Bytes(96, 0x41)}));
        auto ok = r.next();
        REQUIRE(ok);
        REQUIRE(*ok);
        CHECK((*ok)->body.size() == 96);
        r.feed(header('D', 101));
        CHECK(error_of(r.next()) == pg::Error::TooLong);
        CHECK(error_of(r.next()) == pg::Error::TooLong);
    }
    SECTION("the default limit, 64 MiB") {
        pg::MessageReader r;
        r.feed(header('D', static_cast<std::uint32_t>(pg::kDefaultMaxMessageLength)));
        auto wait = r.next();
        REQUIRE(wait);
        CHECK_FALSE(*wait); // within the limit: waits for the body
        pg::MessageReader over;
        over.feed(header('D', static_cast<std::uint32_t>(pg::kDefaultMaxMessageLength + 1)));
        CHECK(error_of(over.next()) == pg::Error::TooLong);
    }
    SECTION("lengths with the top bit set") {
        for (std::uint32_t length : {0x7FFFFFFFU, 0x80000000U, 0xFFFFFFFFU}) {
            CAPTURE(length);
            pg::MessageReader r;
            r.feed(header('T', length));
            CHECK(error_of(r.next()) == pg::Error::TooLong);
        }
    }
}

TEST_CASE("MessageReader hands back the bytes it has not framed", "[pg][message_reader]") {
    const auto lines = load_lines(kScramServer);
    pg::MessageReader r;
    const Bytes partial = prefix(lines[1], 10);
    r.feed(concat({lines[0], partial}));
    auto first = r.next();
    REQUIRE(first);
    REQUIRE(*first);
    CHECK(pg::encode(**first) == lines[0]);
    auto wait = r.next();
    REQUIRE(wait);
    CHECK_FALSE(*wait);
    CHECK(r.buffered() == partial.size());
    CHECK(r.take_buffered() == partial);
    CHECK(r.buffered() == 0);
    CHECK(r.take_buffered().empty());
    // The reader starts afresh.
    r.feed(lines[2]);
    auto third = r.next();
    REQUIRE(third);
    REQUIRE(*third);
    CHECK(pg::encode(**third) == lines[2]);
}

TEST_CASE("A proxy reads the SSLRequest answer byte, then frames the rest",
          "[pg][message_reader]") {
    // psql with sslmode=prefer against a server without SSL: 'N' (no framing), then the
    // session. The proxy takes the byte itself and feeds the rest to a MessageReader.
    const auto lines = load_lines("psql15_ssl_refused_server.hex");
    const Bytes stream = load_stream("psql15_ssl_refused_server.hex");
    REQUIRE(stream.at(0) == pg::kSslRefused);
    pg::MessageReader r;
    r.feed(slice(stream, 1, stream.size()));
    std::vector<Bytes> got;
    drain(r, got);
    CHECK(got == std::vector<Bytes>(lines.begin() + 1, lines.end()));
}
