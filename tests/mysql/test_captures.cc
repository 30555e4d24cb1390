// Whole captured sessions: every packet is framed by PacketReader (the vectors hold one packet a
// line, split by an independent script), its sequence id checked, decoded with the decoder its
// kind calls for and rebuilt with the matching encoder; the rebuilt bytes must be the captured
// bytes.

#include <catch2/catch.hpp>

#include <mysql/commands.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>

#include "mysql_test_util.h"

using namespace mysql_test;

namespace {

template <typename T> T ok(std::expected<T, mysql::Error> r) {
    REQUIRE(r);
    return std::move(*r);
}

struct Session {
    std::uint32_t caps = 0; // agreed: server's & client's
    std::size_t columns = 0;
    std::vector<mysql::BoundParameter> bound;
    std::uint16_t params = 0;
};

Bytes rebuild(const CapturedPacket& p, Session& s) {
    const Bytes b = p.payload();
    const std::string& k = p.kind;
    if (k == "greeting") {
        const auto h = ok(mysql::decode_handshake(b));
        s.caps = h.capabilities;
        return mysql::encode_handshake(h);
    }
    if (k == "handshake_response") {
        const auto r = ok(mysql::decode_handshake_response(b));
        s.caps &= r.capabilities;
        return mysql::encode_handshake_response(r);
    }
    if (k == "ssl_request") {
        return mysql::encode_ssl_request(ok(mysql::decode_ssl_request(b)));
    }
    if (k == "ok") {
        CHECK(mysql::decode_err(b).error() == mysql::Error::BadValue);
        return mysql::encode_ok(ok(mysql::decode_ok(b, s.caps)), s.caps);
    }
    if (k == "err") {
        CHECK(mysql::is_err(b));
        return mysql::encode_err(ok(mysql::decode_err(b)));
    }
    if (k == "eof") {
        CHECK(mysql::is_eof(b));
        return mysql::encode_eof(ok(mysql::decode_eof(b)));
    }
    if (k == "column_count") {
        // MariaDB with MARIADB_CLIENT_CACHE_METADATA adds a "metadata follows" byte.
        mysql::Reader r(b);
        s.columns = static_cast<std::size_t>(**r.lenenc_int());
        mysql::Writer w;
        w.lenenc_int(s.columns);
        if (!r.at_end()) {
            CHECK(r.remaining() == 1);
            w.bytes(r.rest_bytes());
        }
        return w.take();
    }
    if (k == "column") {
        auto c = ok(mysql::decode_column(b));
        return mysql::encode_column(c);
    }
    if (k == "text_row") {
        return mysql::encode_text_row(ok(mysql::decode_text_row(b, s.columns)));
    }
    if (k == "binary_row") {
        // No binary-row decoder (the codec encodes rows); the captured rows are matched value
        // by value against encode_binary_row in test_responses. Here: the header and bitmap.
        CHECK(b.at(0) == 0x00);
        CHECK(b.size() >= 1 + (s.columns + 7 + 2) / 8);
        return b;
    }
    if (k == "prepare_ok") {
        const auto prep = ok(mysql::decode_prepare_ok(b));
        s.params = prep.params;
        return mysql::encode_prepare_ok(prep);
    }
    if (k == "query") {
        return mysql::encode_query(ok(mysql::decode_query(b, s.caps)).text);
    }
    if (k == "stmt_execute") {
        const auto e = ok(mysql::decode_stmt_execute(b, s.params, s.bound, s.caps));
        if (e.new_params_bound) {
            s.bound = e.params;
        }
        CHECK(*mysql::statement_id_of(b) == e.statement_id);
        return b;
    }
    CHECK(mysql::command_name(b.at(0)).starts_with("COM_"));
    return b; // stmt_prepare, stmt_close, ping, quit: the command byte and raw arguments
}

} // namespace

TEST_CASE("captured sessions frame, decode and re-encode byte for byte", "[mysql][captures]") {
    for (const auto& file : vector_files()) {
        CAPTURE(file);
        const auto packets = load_vectors(file);
        REQUIRE_FALSE(packets.empty());
        // Framing: each direction's packets fed as one stream come out as the lines.
        for (char direction : {'C', 'S'}) {
            Bytes stream;
            std::vector<Bytes> payloads;
            for (const auto& p : packets) {
                if (p.direction == direction) {
                    stream.insert(stream.end(), p.frame.begin(), p.frame.end());
                    payloads.push_back(p.payload());
                }
            }
            mysql::PacketReader reader;
            reader.feed(stream);
            for (const auto& expected : payloads) {
                auto next = reader.next();
                REQUIRE(next);
                REQUIRE(*next);
                CHECK((*next)->payload == expected);
            }
            CHECK(reader.buffered() == 0);
        }
        // Sequence ids: 0 for a command and the greeting, counting up within an exchange.
        std::uint8_t expected_sequence = 0;
        Session session;
        for (const auto& p : packets) {
            CAPTURE(p.kind, support::to_hex(p.frame));
            const bool starts_exchange =
                p.direction == 'C' && p.kind != "handshake_response" && p.kind != "ssl_request";
            if (starts_exchange || p.kind == "greeting") {
                expected_sequence = 0;
            }
            CHECK(p.sequence() == expected_sequence);
            expected_sequence = static_cast<std::uint8_t>(p.sequence() + 1);
            CHECK(rebuild(p, session) == p.payload());
            CHECK(mysql::frame(p.sequence(), p.payload()) == p.frame);
        }
    }
}
