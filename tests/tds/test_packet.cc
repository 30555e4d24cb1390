#include <catch2/catch.hpp>

#include <tds/packet.h>

#include "tds_test_util.h"

using namespace tds_test;

TEST_CASE("parse_header reads the MS-TDS 4.1 client PRELOGIN header", "[tds][packet]") {
    const Bytes bytes = hex("12 01 00 2F 00 00 01 00");
    auto h = tds::parse_header(bytes);
    REQUIRE(h);
    CHECK(h->type == 0x12);
    CHECK(h->status == tds::status::kEndOfMessage);
    CHECK(h->length == 0x2F);
    CHECK(h->spid == 0);
    CHECK(h->packet_id == 1);
    CHECK(h->window == 0);
    CHECK(h->end_of_message());

    SECTION("serialize writes the same 8 bytes back") {
        auto out = h->serialize();
        CHECK(to_hex(out) == to_hex(bytes));
    }
}

TEST_CASE("packet header length and SPID are big-endian", "[tds][packet]") {
    // A real login response header from tlslab serve: length 373, SPID 0x35.
    const Bytes bytes = hex("04 01 01 75 00 35 01 00");
    auto h = tds::parse_header(bytes);
    REQUIRE(h);
    CHECK(h->length == 373);
    CHECK(h->spid == 0x35);

    SECTION("serialize keeps the byte order") {
        tds::PacketHeader w;
        w.type = 0x04;
        w.status = 0x01;
        w.length = 0x1234;
        w.spid = 0xABCD;
        w.packet_id = 7;
        w.window = 0;
        CHECK(to_hex(w.serialize()) == "0401"
                                       "1234"
                                       "abcd"
                                       "0700");
    }
}

TEST_CASE("parse_header ignores bytes after the header", "[tds][packet]") {
    const Bytes bytes = hex("10 01 00 0A 00 00 01 00 AA BB");
    auto h = tds::parse_header(bytes);
    REQUIRE(h);
    CHECK(h->type == 0x10);
    CHECK(h->length == 10);
}

TEST_CASE("parse_header rejects a truncated header", "[tds][packet]") {
    const Bytes full = hex("12 01 00 2F 00 00 01 00");
    for (std::size_t n = 0; n < tds::kHeaderLen; ++n) {
        CAPTURE(n);
        const Bytes cut = prefix(full, n);
        CHECK(error_of(tds::parse_header(cut)) == tds::Error::Truncated);
    }
}

TEST_CASE("parse_header rejects a length below 8 or above 32767", "[tds][packet]") {
    auto with_length = [](std::uint16_t len) {
        return Bytes{0x04,
                     0x01,
                     static_cast<std::uint8_t>(len >> 8),
                     static_cast<std::uint8_t>(len & 0xFF),
                     0,
                     0,
                     1,
                     0};
    };
    SECTION("too short to hold its own header") {
        for (std::uint16_t len : {0, 1, 7}) {
            CAPTURE(len);
            CHECK(error_of(tds::parse_header(with_length(len))) == tds::Error::BadPacketLength);
        }
    }
    SECTION("beyond the protocol maximum") {
        for (std::uint16_t len : {32768, 40000, 65535}) {
            CAPTURE(len);
            CHECK(error_of(tds::parse_header(with_length(len))) == tds::Error::BadPacketLength);
        }
    }
    SECTION("the limits themselves are valid") {
        for (std::uint16_t len : {8, 512, 4096, 32767}) {
            CAPTURE(len);
            auto h = tds::parse_header(with_length(len));
            REQUIRE(h);
            CHECK(h->length == len);
        }
    }
}

TEST_CASE("end_of_message looks at the EOM bit only", "[tds][packet]") {
    tds::PacketHeader h;
    h.status = tds::status::kEndOfMessage | tds::status::kResetConnection; // go-mssqldb's 0x09
    CHECK(h.end_of_message());
    h.status = tds::status::kResetConnection;
    CHECK_FALSE(h.end_of_message());
    h.status = tds::status::kIgnore;
    CHECK_FALSE(h.end_of_message());
    h.status = tds::status::kNormal;
    CHECK_FALSE(h.end_of_message());
}

TEST_CASE("make_packet recomputes the length and keeps the exact bytes", "[tds][packet]") {
    tds::PacketHeader h;
    h.type = 0x04;
    h.status = tds::status::kEndOfMessage;
    h.length = 9999; // wrong on purpose: make_packet must overwrite it
    h.spid = 0x0035;
    h.packet_id = 1;
    const Bytes payload = hex("FD 00 00 00 00 00 00 00 00 00 00 00 00");
    auto p = tds::make_packet(h, payload);
    CHECK(p.header.length == 21);
    CHECK(to_hex(p.bytes) == "04010015003501"
                             "00"
                             "fd000000000000000000000000");
    CHECK(to_hex(p.payload()) == to_hex(payload));

    SECTION("an empty payload gives a bare header (Attention)") {
        tds::PacketHeader a;
        a.type = static_cast<std::uint8_t>(tds::PacketType::Attention);
        a.status = tds::status::kEndOfMessage;
        auto att = tds::make_packet(a, {});
        CHECK(to_hex(att.bytes) == "0601000800000000");
        CHECK(att.payload().empty());
    }
}

TEST_CASE("packet types have the MS-TDS values and names", "[tds][packet]") {
    using tds::PacketType;
    CHECK(static_cast<int>(PacketType::SqlBatch) == 0x01);
    CHECK(static_cast<int>(PacketType::TabularResult) == 0x04);
    CHECK(static_cast<int>(PacketType::Attention) == 0x06);
    CHECK(static_cast<int>(PacketType::Login7) == 0x10);
    CHECK(static_cast<int>(PacketType::PreLogin) == 0x12);
    CHECK(tds::to_string(PacketType::PreLogin) == "PRELOGIN");
    CHECK(tds::to_string(PacketType::Login7) == "LOGIN7");
    CHECK(tds::to_string(PacketType::TabularResult) == "tabular result");
    CHECK(tds::to_string(static_cast<PacketType>(0x53)) == "unknown"); // SMP header
}
