// Packet framing (MySQL docs "MySQL Packets"): 3-byte length, sequence id, payload; payloads
// of 0xFFFFFF bytes or more are split, a chunk of exactly 0xFFFFFF saying "more follows".

#include <catch2/catch.hpp>

#include <mysql/packet.h>

#include "mysql_test_util.h"

using namespace mysql_test;

namespace {

std::vector<mysql::Packet> read_all(mysql::PacketReader& reader) {
    std::vector<mysql::Packet> out;
    for (;;) {
        auto p = reader.next();
        REQUIRE(p);
        if (!*p) {
            return out;
        }
        out.push_back(std::move(**p));
    }
}

} // namespace

TEST_CASE("a small packet frames with its length and sequence id", "[mysql][packet]") {
    std::uint8_t next = 0;
    CHECK(mysql::frame(0, hex("0E"), &next) == hex("01 00 00 00 0E"));
    CHECK(next == 1);
    CHECK(mysql::frame(7, {}, &next) == hex("00 00 00 07"));
    CHECK(next == 8);
    CHECK(mysql::frame(0xFF, hex("01"), &next) == hex("01 00 00 FF 01"));
    CHECK(next == 0); // sequence ids wrap

    std::vector<std::uint8_t> out = hex("AA");
    mysql::append_frame(out, 2, hex("03 53"));
    CHECK(out == hex("AA 02 00 00 02 03 53"));
}

TEST_CASE("a payload of exactly 0xFFFFFF bytes is followed by an empty chunk", "[mysql][packet]") {
    const Bytes payload(mysql::kMaxPayloadChunk, 0x5A);
    std::uint8_t next = 0;
    const Bytes wire = mysql::frame(3, payload, &next);
    REQUIRE(wire.size() == 4 + mysql::kMaxPayloadChunk + 4);
    CHECK(Bytes(wire.begin(), wire.begin() + 4) == hex("FF FF FF 03"));
    CHECK(Bytes(wire.end() - 4, wire.end()) == hex("00 00 00 04"));
    CHECK(next == 5);

    mysql::PacketReader reader;
    reader.feed(wire);
    auto packets = read_all(reader);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].sequence == 3);
    CHECK(packets[0].last_sequence == 4);
    CHECK(packets[0].payload == payload);
    CHECK(reader.buffered() == 0);
}

TEST_CASE("a longer payload continues in a shorter chunk", "[mysql][packet]") {
    Bytes payload(mysql::kMaxPayloadChunk + 5);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::uint8_t>(i * 7);
    }
    std::uint8_t next = 0;
    const Bytes wire = mysql::frame(0xFF, payload, &next); // the second chunk wraps to 0
    CHECK(wire.size() == payload.size() + 8);
    CHECK(next == 1);
    CHECK(Bytes(wire.begin() + 4 + mysql::kMaxPayloadChunk,
                wire.begin() + 8 + mysql::kMaxPayloadChunk) == hex("05 00 00 00"));

    mysql::PacketReader reader;
    // Fed in uneven pieces: nothing comes out until the last chunk is whole.
    std::size_t fed = 0;
    for (std::size_t step : {3UL, 1000UL, 0xFFFFFFUL - 1000}) {
        const std::size_t n = std::min(step, wire.size() - fed);
        reader.feed(std::span<const std::uint8_t>(wire).subspan(fed, n));
        fed += n;
        auto p = reader.next();
        REQUIRE(p);
        CHECK_FALSE(*p);
    }
    reader.feed(std::span<const std::uint8_t>(wire).subspan(fed));
    auto packets = read_all(reader);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].sequence == 0xFF);
    CHECK(packets[0].last_sequence == 0);
    CHECK(packets[0].payload == payload);
}

TEST_CASE("packets come out one at a time, byte by byte", "[mysql][packet]") {
    const Bytes wire = hex("01 00 00 00 0E  05 00 00 00 19 01 00 00 00  00 00 00 00");
    mysql::PacketReader reader;
    std::vector<mysql::Packet> packets;
    for (std::uint8_t b : wire) {
        reader.feed(std::span<const std::uint8_t>(&b, 1));
        auto more = read_all(reader);
        packets.insert(packets.end(), more.begin(), more.end());
    }
    REQUIRE(packets.size() == 3);
    CHECK(packets[0].payload == hex("0E"));
    CHECK(packets[1].payload == hex("19 01 00 00 00"));
    CHECK(packets[2].payload.empty());
}

TEST_CASE("a continuation chunk with the wrong sequence id ends the stream", "[mysql][packet]") {
    Bytes wire = mysql::frame(0, Bytes(mysql::kMaxPayloadChunk, 1));
    wire.back() = 9; // the empty chunk should carry 1
    mysql::PacketReader reader;
    reader.feed(wire);
    auto p = reader.next();
    REQUIRE_FALSE(p);
    CHECK(p.error() == mysql::Error::BadValue);
    reader.feed(hex("01 00 00 00 0E"));
    auto again = reader.next();
    REQUIRE_FALSE(again);
    CHECK(again.error() == mysql::Error::BadValue); // the error repeats
}

TEST_CASE("a packet above the limit is TooLong as soon as its header is there", "[mysql][packet]") {
    mysql::PacketReader reader(16);
    reader.feed(hex("10 00 00 00"));
    auto fits = reader.next();
    REQUIRE(fits);
    CHECK_FALSE(*fits); // 16 bytes announced: allowed, waiting

    mysql::PacketReader small(16);
    small.feed(hex("11 00 00 00"));
    auto p = small.next();
    REQUIRE_FALSE(p);
    CHECK(p.error() == mysql::Error::TooLong);

    // Joined chunks count together: 0xFFFFFF + 2 with a limit of 0xFFFFFF.
    mysql::PacketReader joined(mysql::kMaxPayloadChunk);
    joined.feed(hex("FF FF FF 00"));
    joined.feed(Bytes(mysql::kMaxPayloadChunk, 0));
    joined.feed(hex("02 00 00 01"));
    auto j = joined.next();
    REQUIRE_FALSE(j);
    CHECK(j.error() == mysql::Error::TooLong);
}

TEST_CASE("take_buffered hands back what follows an SSLRequest", "[mysql][packet]") {
    // A captured SSLRequest (mariadb 10.11 client) followed by the start of a ClientHello.
    const Bytes ssl = load_vectors("mariadb10.11_cli_ssl_request.hex").at(1).frame;
    Bytes wire = ssl;
    const Bytes hello = hex("16 03 01 02 00 01 00 01 fc 03 03");
    wire.insert(wire.end(), hello.begin(), hello.end());
    mysql::PacketReader reader;
    reader.feed(wire);
    auto p = reader.next();
    REQUIRE(p);
    REQUIRE(*p);
    CHECK((*p)->sequence == 1);
    CHECK((*p)->payload.size() == 32);
    CHECK(reader.buffered() == hello.size());
    CHECK(reader.take_buffered() == hello);
    CHECK(reader.buffered() == 0);
}
