#include <catch2/catch.hpp>

#include <tds/packet_assembler.h>
#include <tds/packet_writer.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

// A client stream as a proxy sees it: real go-mssqldb PRELOGIN and LOGIN7 packets, tedious'
// 756-byte initial SQL batch re-cut into 100-byte packets (a multi-packet message), a real
// SELECT 1 batch, and an Attention.
std::vector<Bytes> client_stream_packets() {
    std::vector<Bytes> packets;
    packets.push_back(load_vector("go_prelogin.hex"));
    packets.push_back(load_vector("go_login7.hex"));
    const Bytes batch = payload_of(load_vector("tedious_initial_sql.hex"));
    for (auto& p : tds::split_message(0x01, batch, 100, 0)) {
        packets.push_back(p.bytes);
    }
    packets.push_back(load_vector("go_sql_batch.hex"));
    packets.push_back(hex("06 01 00 08 00 00 01 00"));
    return packets;
}

Bytes joined(const std::vector<Bytes>& packets) {
    Bytes out;
    for (const auto& p : packets) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// drain pulls every whole packet out of the assembler; an error fails the test.
void drain(tds::PacketAssembler& a, std::vector<Bytes>& out) {
    while (true) {
        auto next = a.next();
        REQUIRE(next);
        if (!*next) {
            return;
        }
        CHECK((*next)->header.length == (*next)->bytes.size());
        out.push_back((*next)->bytes);
    }
}

} // namespace

TEST_CASE("PacketAssembler returns the packets of a stream fed in one piece",
          "[tds][packet_assembler]") {
    const auto expected = client_stream_packets();
    REQUIRE(expected.size() == 13); // 2 + 9 packets of the 748-byte batch + 1 + 1
    const Bytes stream = joined(expected);

    tds::PacketAssembler a;
    a.feed(stream);
    std::vector<Bytes> got;
    drain(a, got);
    CHECK(got == expected);
    CHECK(a.buffered() == 0);
}

TEST_CASE("PacketAssembler gives the same packets whatever the split of the stream",
          "[tds][packet_assembler]") {
    const auto expected = client_stream_packets();
    const Bytes stream = joined(expected);

    SECTION("split in two at every byte") {
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            tds::PacketAssembler a;
            std::vector<Bytes> got;
            const Bytes head = prefix(stream, cut);
            const Bytes tail(stream.begin() + static_cast<std::ptrdiff_t>(cut), stream.end());
            a.feed(head);
            drain(a, got);
            a.feed(tail);
            drain(a, got);
            REQUIRE(got == expected);
            REQUIRE(a.buffered() == 0);
        }
    }
    SECTION("one byte at a time, a packet appearing exactly when its last byte arrives") {
        tds::PacketAssembler a;
        std::vector<Bytes> got;
        std::size_t fed = 0;
        std::size_t boundary = 0;
        std::size_t packet_index = 0;
        for (auto b : stream) {
            const std::uint8_t one[1] = {b};
            a.feed(one);
            ++fed;
            const std::size_t before = got.size();
            drain(a, got);
            if (packet_index < expected.size() && fed == boundary + expected[packet_index].size()) {
                REQUIRE(got.size() == before + 1);
                boundary = fed;
                ++packet_index;
            } else {
                REQUIRE(got.size() == before);
            }
        }
        CHECK(got == expected);
    }
}

TEST_CASE("PacketAssembler waits for a whole header and a whole packet",
          "[tds][packet_assembler]") {
    const Bytes packet = load_vector("go_prelogin.hex");
    tds::PacketAssembler a;

    a.feed(prefix(packet, 7));
    auto r = a.next();
    REQUIRE(r);
    CHECK_FALSE(*r);
    CHECK(a.buffered() == 7);

    a.feed(Bytes(packet.begin() + 7, packet.end() - 1));
    r = a.next();
    REQUIRE(r);
    CHECK_FALSE(*r);
    CHECK(a.buffered() == packet.size() - 1);

    a.feed(Bytes(packet.end() - 1, packet.end()));
    r = a.next();
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->bytes == packet);
    CHECK((*r)->header.type == 0x12);
    CHECK(to_hex((*r)->payload()) == to_hex(payload_of(packet)));
}

TEST_CASE("PacketAssembler rejects a header that cannot be a TDS packet",
          "[tds][packet_assembler]") {
    SECTION("length below 8") {
        tds::PacketAssembler a;
        a.feed(hex("12 01 00 07 00 00 01 00"));
        CHECK(error_of(a.next()) == tds::Error::BadPacketLength);
    }
    SECTION("length above 32767, even before the body arrives") {
        tds::PacketAssembler a;
        a.feed(hex("12 01 80 00 00 00 01 00"));
        CHECK(error_of(a.next()) == tds::Error::BadPacketLength);
    }
    SECTION("the error stays: the stream is not resynchronised") {
        tds::PacketAssembler a;
        a.feed(hex("12 01 00 00 00 00 01 00"));
        a.feed(load_vector("go_prelogin.hex"));
        CHECK(error_of(a.next()) == tds::Error::BadPacketLength);
        CHECK(error_of(a.next()) == tds::Error::BadPacketLength);
    }
}

TEST_CASE("PacketAssembler enforces the negotiated packet size", "[tds][packet_assembler]") {
    const Bytes payload(4096 - 8 + 1, 0xAB); // a 4097-byte packet
    const Bytes too_big = tds::write_message(0x04, payload, 32767, 0);
    REQUIRE(too_big.size() == 4097);

    SECTION("a packet one byte over the limit is refused from its header alone") {
        tds::PacketAssembler a(4096);
        a.feed(prefix(too_big, 8));
        CHECK(error_of(a.next()) == tds::Error::PacketTooLarge);
    }
    SECTION("a packet of exactly the limit is accepted") {
        const Bytes exact = tds::write_message(0x04, Bytes(4096 - 8, 0xCD), 32767, 0);
        tds::PacketAssembler a(4096);
        a.feed(exact);
        auto r = a.next();
        REQUIRE(r);
        REQUIRE(*r);
        CHECK((*r)->bytes.size() == 4096);
    }
    SECTION("set_max_packet_len raises the limit (after ENVCHANGE packet size)") {
        tds::PacketAssembler a(4096);
        a.set_max_packet_len(8000);
        a.feed(too_big);
        auto r = a.next();
        REQUIRE(r);
        REQUIRE(*r);
        CHECK((*r)->bytes == too_big);
    }
}

TEST_CASE("take_buffered hands over the bytes not yet returned as packets",
          "[tds][packet_assembler]") {
    const Bytes packet = load_vector("go_prelogin.hex");
    const Bytes tls = hex("16 03 01 00 05 01 02 03 04 05"); // what follows on the wire
    tds::PacketAssembler a;
    a.feed(concat({packet, tls}));
    auto r = a.next();
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->bytes == packet);
    CHECK(a.buffered() == tls.size());
    CHECK(a.take_buffered() == tls);
    CHECK(a.buffered() == 0);

    SECTION("the assembler is empty and usable afterwards") {
        a.feed(packet);
        auto again = a.next();
        REQUIRE(again);
        REQUIRE(*again);
        CHECK((*again)->bytes == packet);
    }
}
