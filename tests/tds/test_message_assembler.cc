#include <catch2/catch.hpp>

#include <tds/message_assembler.h>
#include <tds/packet_assembler.h>
#include <tds/packet_writer.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

tds::Packet packet(std::uint8_t type, std::uint8_t status, const Bytes& payload,
                   std::uint8_t id = 1) {
    tds::PacketHeader h;
    h.type = type;
    h.status = status;
    h.packet_id = id;
    return tds::make_packet(h, payload);
}

tds::Packet packet_from_wire(const Bytes& bytes) {
    auto h = tds::parse_header(bytes);
    REQUIRE(h);
    REQUIRE(h->length == bytes.size());
    tds::Packet p;
    p.header = *h;
    p.bytes = bytes;
    return p;
}

struct Expected {
    std::uint8_t type;
    std::uint8_t first_status;
    Bytes payload;
    std::size_t packet_count;
};

// messages_of runs the stream through PacketAssembler then MessageAssembler, fed in the given
// chunks; any error fails the test.
std::vector<tds::Message> messages_of(const std::vector<Bytes>& chunks) {
    tds::PacketAssembler packets;
    tds::MessageAssembler messages(64 * 1024);
    std::vector<tds::Message> out;
    for (const auto& chunk : chunks) {
        packets.feed(chunk);
        while (true) {
            auto p = packets.next();
            REQUIRE(p);
            if (!*p) {
                break;
            }
            auto m = messages.add(**p);
            REQUIRE(m);
            if (*m) {
                out.push_back(std::move(**m));
            }
        }
    }
    return out;
}

void check_messages(const std::vector<tds::Message>& got, const std::vector<Expected>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].type == want[i].type);
        CHECK(got[i].first_status == want[i].first_status);
        CHECK(got[i].packet_count == want[i].packet_count);
        CHECK(to_hex(got[i].payload) == to_hex(want[i].payload));
        CHECK_FALSE(got[i].ignored);
    }
}

} // namespace

TEST_CASE("MessageAssembler returns a one-packet message at once", "[tds][message_assembler]") {
    const Bytes wire = load_vector("go_login7.hex");
    tds::MessageAssembler m(64 * 1024);
    auto r = m.add(packet_from_wire(wire));
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->type == 0x10);
    CHECK((*r)->first_status == tds::status::kEndOfMessage);
    CHECK((*r)->packet_count == 1);
    CHECK((*r)->payload == payload_of(wire));
    CHECK_FALSE(m.in_progress());
}

TEST_CASE("MessageAssembler joins the payloads of a multi-packet message",
          "[tds][message_assembler]") {
    const Bytes text = payload_of(load_vector("tedious_initial_sql.hex"));
    auto packets = tds::split_message(0x01, text, 512, 0);
    REQUIRE(packets.size() == 2);
    // RESETCONNECTION lives on the first packet only: first_status must keep it.
    packets[0].header.status |= tds::status::kResetConnection;

    tds::MessageAssembler m(64 * 1024);
    auto first = m.add(packets[0]);
    REQUIRE(first);
    CHECK_FALSE(*first);
    CHECK(m.in_progress());
    auto second = m.add(packets[1]);
    REQUIRE(second);
    REQUIRE(*second);
    CHECK((*second)->type == 0x01);
    CHECK((*second)->first_status == tds::status::kResetConnection);
    CHECK((*second)->packet_count == 2);
    CHECK((*second)->payload == text);
    CHECK_FALSE(m.in_progress());
}

TEST_CASE("PacketAssembler then MessageAssembler give the same messages whatever the split",
          "[tds][message_assembler][packet_assembler]") {
    const Bytes prelogin = load_vector("tedious_prelogin.hex");
    const Bytes login = load_vector("tedious_login7.hex");
    const Bytes initial_sql = payload_of(load_vector("tedious_initial_sql.hex"));
    const Bytes select1 = load_vector("go_sql_batch.hex");
    const Bytes stream =
        concat({prelogin, login, tds::write_message(0x01, initial_sql, 200, 0), select1});
    const std::vector<Expected> want = {
        {0x12, 0x01, payload_of(prelogin), 1},
        {0x10, 0x01, payload_of(login), 1},
        {0x01, 0x00, initial_sql, 4}, // 756 bytes in packets of 192 payload bytes
        {0x01, 0x09, payload_of(select1), 1},
    };

    SECTION("in one piece") {
        check_messages(messages_of({stream}), want);
    }
    SECTION("split in two at every byte") {
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            check_messages(messages_of({prefix(stream, cut),
                                        Bytes(stream.begin() + static_cast<std::ptrdiff_t>(cut),
                                              stream.end())}),
                           want);
        }
    }
    SECTION("one byte at a time") {
        std::vector<Bytes> chunks;
        for (auto b : stream) {
            chunks.push_back(Bytes{b});
        }
        check_messages(messages_of(chunks), want);
    }
}

TEST_CASE("MessageAssembler refuses a message beyond its size guard", "[tds][message_assembler]") {
    SECTION("exactly the guard is accepted") {
        tds::MessageAssembler m(100);
        auto r = m.add(packet(0x01, tds::status::kEndOfMessage, Bytes(100, 0x41)));
        REQUIRE(r);
        REQUIRE(*r);
        CHECK((*r)->payload.size() == 100);
    }
    SECTION("one byte more in a single packet is refused") {
        tds::MessageAssembler m(100);
        CHECK(error_of(m.add(packet(0x01, tds::status::kEndOfMessage, Bytes(101, 0x41)))) ==
              tds::Error::MessageTooLarge);
    }
    SECTION("the guard counts the whole message, not each packet") {
        tds::MessageAssembler m(100);
        auto first = m.add(packet(0x01, tds::status::kNormal, Bytes(60, 0x41), 1));
        REQUIRE(first);
        CHECK_FALSE(*first);
        CHECK(error_of(m.add(packet(0x01, tds::status::kEndOfMessage, Bytes(41, 0x42), 2))) ==
              tds::Error::MessageTooLarge);
    }
}

TEST_CASE("MessageAssembler refuses a change of type in the middle of a message",
          "[tds][message_assembler]") {
    tds::MessageAssembler m(64 * 1024);
    auto first = m.add(packet(0x10, tds::status::kNormal, Bytes(50, 0x01)));
    REQUIRE(first);
    CHECK_FALSE(*first);
    CHECK(error_of(m.add(packet(0x01, tds::status::kEndOfMessage, Bytes(10, 0x02)))) ==
          tds::Error::UnexpectedType);

    SECTION("the same type after a finished message is a new message, not an error") {
        tds::MessageAssembler fresh(64 * 1024);
        REQUIRE(fresh.add(packet(0x10, tds::status::kEndOfMessage, Bytes(5, 0x01))));
        auto next = fresh.add(packet(0x01, tds::status::kEndOfMessage, Bytes(3, 0x02)));
        REQUIRE(next);
        REQUIRE(*next);
        CHECK((*next)->type == 0x01);
    }
}

TEST_CASE("an Attention in the middle of a message is returned at once and drops the message",
          "[tds][message_assembler]") {
    tds::MessageAssembler m(64 * 1024);
    REQUIRE(m.add(packet(0x01, tds::status::kNormal, Bytes(40, 0x41), 1)));
    REQUIRE(m.in_progress());

    auto att = m.add(packet(0x06, tds::status::kEndOfMessage, {}));
    REQUIRE(att);
    REQUIRE(*att);
    CHECK((*att)->type == 0x06);
    CHECK((*att)->payload.empty());
    CHECK((*att)->packet_count == 1);
    CHECK_FALSE(m.in_progress());

    SECTION("the next message starts clean, without the abandoned bytes") {
        auto next = m.add(packet(0x01, tds::status::kEndOfMessage, hex("53 00"), 1));
        REQUIRE(next);
        REQUIRE(*next);
        CHECK(to_hex((*next)->payload) == "5300");
        CHECK((*next)->packet_count == 1);
    }
    SECTION("an Attention between messages is returned too") {
        auto again = m.add(packet(0x06, tds::status::kEndOfMessage, {}));
        REQUIRE(again);
        REQUIRE(*again);
        CHECK((*again)->type == 0x06);
    }
}

TEST_CASE("a message whose last packet has the Ignore bit is marked ignored",
          "[tds][message_assembler]") {
    tds::MessageAssembler m(64 * 1024);
    REQUIRE(m.add(packet(0x01, tds::status::kNormal, Bytes(10, 0x41), 1)));
    auto r =
        m.add(packet(0x01, tds::status::kEndOfMessage | tds::status::kIgnore, Bytes(10, 0x42), 2));
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->ignored);
    CHECK((*r)->payload.size() == 20);

    SECTION("the flag does not leak into the next message") {
        auto next = m.add(packet(0x01, tds::status::kEndOfMessage, Bytes(1, 0x43)));
        REQUIRE(next);
        REQUIRE(*next);
        CHECK_FALSE((*next)->ignored);
    }
}
