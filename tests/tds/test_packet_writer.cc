#include <catch2/catch.hpp>

#include <tds/packet_writer.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

Bytes counting_payload(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(i * 7);
    }
    return b;
}

} // namespace

TEST_CASE("write_message puts a small payload in one EOM packet", "[tds][packet_writer]") {
    const Bytes payload = hex("AA BB CC");
    CHECK(to_hex(tds::write_message(0x04, payload, 4096, 0x0035)) == "0401000b00350100"
                                                                     "aabbcc");
}

TEST_CASE("write_message of the lab server's PRELOGIN answer gives the 6.1 header",
          "[tds][packet_writer]") {
    const Bytes wire = load_vector("server_prelogin.hex");
    CHECK(tds::write_message(0x04, payload_of(wire), 4096, 0) == wire);
}

TEST_CASE("an empty payload gives one bare header (Attention)", "[tds][packet_writer]") {
    CHECK(to_hex(tds::write_message(0x06, {}, 4096, 0)) == "0601000800000100");
    auto packets = tds::split_message(0x06, {}, 4096, 0);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].header.end_of_message());
}

TEST_CASE("split_message cuts at the packet size, numbers packets and sets EOM on the last",
          "[tds][packet_writer]") {
    const Bytes payload = counting_payload(10000);
    auto packets = tds::split_message(0x04, payload, 4096, 0x0042);
    REQUIRE(packets.size() == 3);

    const std::size_t sizes[] = {4096, 4096, 8 + (10000 - 2 * 4088)};
    Bytes rejoined;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        CAPTURE(i);
        const auto& p = packets[i];
        CHECK(p.bytes.size() == sizes[i]);
        CHECK(p.header.length == sizes[i]);
        CHECK(p.header.type == 0x04);
        CHECK(p.header.spid == 0x0042);
        CHECK(p.header.packet_id == i + 1);
        CHECK(p.header.end_of_message() == (i == 2));
        // The header inside the bytes says the same as the parsed header.
        auto h = tds::parse_header(p.bytes);
        REQUIRE(h);
        CHECK(h->length == p.bytes.size());
        CHECK(h->status == (i == 2 ? tds::status::kEndOfMessage : tds::status::kNormal));
        auto pl = p.payload();
        rejoined.insert(rejoined.end(), pl.begin(), pl.end());
    }
    CHECK(rejoined == payload);
}

TEST_CASE("a payload that fills its packets exactly gets no empty trailing packet",
          "[tds][packet_writer]") {
    auto packets = tds::split_message(0x01, counting_payload(2 * 504), 512, 0);
    REQUIRE(packets.size() == 2);
    CHECK(packets[0].bytes.size() == 512);
    CHECK(packets[1].bytes.size() == 512);
    CHECK_FALSE(packets[0].header.end_of_message());
    CHECK(packets[1].header.end_of_message());
}

TEST_CASE("packet ids start where asked and wrap modulo 256", "[tds][packet_writer]") {
    auto packets = tds::split_message(0x12, counting_payload(30), 18, 0, 255);
    REQUIRE(packets.size() == 3);
    CHECK(packets[0].header.packet_id == 255);
    CHECK(packets[1].header.packet_id == 0);
    CHECK(packets[2].header.packet_id == 1);
    CHECK(packets[0].bytes[6] == 255);
    CHECK(packets[1].bytes[6] == 0);
}

TEST_CASE("split_message clamps a packet size outside 9..32767", "[tds][packet_writer]") {
    SECTION("above the protocol maximum") {
        auto packets = tds::split_message(0x04, counting_payload(40000), 65535, 0);
        REQUIRE(packets.size() == 2);
        CHECK(packets[0].bytes.size() == 32767);
        CHECK(packets[1].bytes.size() == 8 + 40000 - 32759);
    }
    SECTION("below a header plus one byte") {
        auto packets = tds::split_message(0x04, counting_payload(3), 4, 0);
        REQUIRE(packets.size() == 3);
        for (const auto& p : packets) {
            CHECK(p.bytes.size() == 9);
        }
    }
}

TEST_CASE("write_message is split_message's packets back to back", "[tds][packet_writer]") {
    const Bytes payload = counting_payload(1000);
    Bytes joined;
    for (const auto& p : tds::split_message(0x04, payload, 300, 7, 3)) {
        joined.insert(joined.end(), p.bytes.begin(), p.bytes.end());
    }
    CHECK(tds::write_message(0x04, payload, 300, 7, 3) == joined);
}
