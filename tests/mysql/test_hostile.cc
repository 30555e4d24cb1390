// Hostile input: every captured packet cut at every length and mutated, plus deterministic
// random bytes, through every decoder. Nothing may crash or read out of bounds (the ASan + UBSan
// build runs this too); whatever a decoder accepts must be stable: encoding the decoded value
// and decoding that again gives the same bytes once more.

#include <functional>
#include <random>

#include <catch2/catch.hpp>

#include <mysql/commands.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>

#include "mysql_test_util.h"

using namespace mysql_test;

namespace {

constexpr std::uint32_t kAllCaps = 0xFFFFFFFFU;
constexpr std::uint32_t kCaps41 = mysql::cap::Protocol41 | mysql::cap::SecureConnection;

// A decoder with the encoder that inverts it; nullopt when the decoder refused the bytes.
using Roundtrip = std::function<std::optional<Bytes>(const Bytes&)>;

template <typename T, typename Encode>
std::optional<Bytes> via(std::expected<T, mysql::Error> decoded, Encode encode) {
    if (!decoded) {
        return std::nullopt;
    }
    return encode(*decoded);
}

// Decoders without an encoder: only that they return.
template <typename T> std::optional<Bytes> touch(std::expected<T, mysql::Error> decoded) {
    (void)decoded;
    return std::nullopt;
}

std::vector<std::pair<const char*, Roundtrip>> decoders() {
    std::vector<std::pair<const char*, Roundtrip>> out = {
        {"handshake",
         [](const Bytes& b) {
             return via(mysql::decode_handshake(b),
                        [](const auto& h) { return mysql::encode_handshake(h); });
         }},
        {"ssl_request",
         [](const Bytes& b) {
             return via(mysql::decode_ssl_request(b),
                        [](const auto& s) { return mysql::encode_ssl_request(s); });
         }},
        {"handshake_response",
         [](const Bytes& b) {
             return via(mysql::decode_handshake_response(b),
                        [](const auto& r) { return mysql::encode_handshake_response(r); });
         }},
        {"auth_switch",
         [](const Bytes& b) {
             return via(mysql::decode_auth_switch(b),
                        [](const auto& a) { return mysql::encode_auth_switch(a); });
         }},
        {"auth_more_data",
         [](const Bytes& b) {
             return via(mysql::decode_auth_more_data(b),
                        [](const auto& a) { return mysql::encode_auth_more_data(a); });
         }},
        {"err",
         [](const Bytes& b) {
             return via(mysql::decode_err(b), [](const auto& e) { return mysql::encode_err(e); });
         }},
        {"eof",
         [](const Bytes& b) {
             return via(mysql::decode_eof(b), [](const auto& e) { return mysql::encode_eof(e); });
         }},
        {"column",
         [](const Bytes& b) {
             return via(mysql::decode_column(b),
                        [](const auto& c) { return mysql::encode_column(c); });
         }},
        {"prepare_ok",
         [](const Bytes& b) {
             return via(mysql::decode_prepare_ok(b),
                        [](const auto& p) { return mysql::encode_prepare_ok(p); });
         }},
        {"long_data",
         [](const Bytes& b) {
             return touch(mysql::decode_stmt_long_data(b));
         }},
        {"statement_id",
         [](const Bytes& b) {
             return touch(mysql::statement_id_of(b));
         }},
        {"kinds",
         [](const Bytes& b) {
             (void)(mysql::is_ok(b) || mysql::is_err(b) || mysql::is_eof(b) ||
                    mysql::is_ssl_request(b));
             return std::optional<Bytes>{};
         }},
    };
    for (std::uint32_t caps : {0U, kCaps41, kAllCaps}) {
        out.emplace_back("ok", [caps](const Bytes& b) {
            return via(mysql::decode_ok(b, caps),
                       [caps](const auto& o) { return mysql::encode_ok(o, caps); });
        });
        out.emplace_back("change_user", [caps](const Bytes& b) {
            return touch(mysql::decode_change_user(b, caps));
        });
        out.emplace_back("query",
                         [caps](const Bytes& b) { return touch(mysql::decode_query(b, caps)); });
    }
    for (std::size_t columns : {0UL, 1UL, 3UL, 6UL}) {
        out.emplace_back("text_row", [columns](const Bytes& b) {
            return via(mysql::decode_text_row(b, columns),
                       [](const auto& v) { return mysql::encode_text_row(v); });
        });
    }
    for (std::uint16_t params : {0, 1, 2, 5}) {
        for (std::uint32_t caps : {kCaps41, kAllCaps}) {
            out.emplace_back("stmt_execute", [params, caps](const Bytes& b) {
                const std::vector<mysql::BoundParameter> previous(
                    params, mysql::BoundParameter{mysql::ColumnType::VarString, false, {}});
                return touch(mysql::decode_stmt_execute(b, params, previous, caps));
            });
        }
    }
    return out;
}

void check_all(const std::vector<std::pair<const char*, Roundtrip>>& all, const Bytes& input) {
    for (const auto& [name, roundtrip] : all) {
        auto once = roundtrip(input);
        if (!once) {
            continue;
        }
        auto twice = roundtrip(*once);
        CAPTURE(name, support::to_hex(input));
        REQUIRE(twice);
        CHECK(*twice == *once);
    }
}

// The packet reader on a raw stream: it must never hand out more than it was fed.
void check_reader(const Bytes& stream, std::size_t limit) {
    mysql::PacketReader reader(limit);
    reader.feed(stream);
    std::size_t out = 0;
    for (int i = 0; i < 1000; ++i) {
        auto p = reader.next();
        if (!p || !*p) {
            break;
        }
        out += (*p)->payload.size() + 4;
        REQUIRE((*p)->payload.size() <= limit);
    }
    CHECK(out + reader.buffered() <= stream.size());
}

std::vector<Bytes> captured_payloads() {
    std::vector<Bytes> out;
    for (const auto& file : vector_files()) {
        for (const auto& p : load_vectors(file)) {
            out.push_back(p.payload());
        }
    }
    return out;
}

} // namespace

TEST_CASE("every captured packet cut at every length", "[mysql][hostile]") {
    const auto all = decoders();
    for (const auto& payload : captured_payloads()) {
        for (std::size_t n = 0; n <= payload.size(); ++n) {
            check_all(all,
                      Bytes(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n)));
        }
    }
}

TEST_CASE("every captured packet with each byte replaced", "[mysql][hostile]") {
    const auto all = decoders();
    for (const auto& payload : captured_payloads()) {
        if (payload.size() > 200) {
            continue;
        }
        for (std::size_t i = 0; i < payload.size(); ++i) {
            for (std::uint8_t v : {0x00, 0x01, 0x7F, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF}) {
                Bytes mutated = payload;
                mutated[i] = v;
                check_all(all, mutated);
            }
        }
    }
}

TEST_CASE("random bytes through every decoder and the packet reader", "[mysql][hostile]") {
    const auto all = decoders();
    std::mt19937 rng(0x6D797371); // deterministic
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 96);
    for (int i = 0; i < 3000; ++i) {
        Bytes b(length(rng));
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(byte(rng));
        }
        check_all(all, b);
        check_reader(b, 64);
    }
}

TEST_CASE("huge lengths and 0xFF length prefixes are refused", "[mysql][hostile]") {
    // A lenenc string claiming 2^63 bytes in every place one is read.
    const Bytes huge = hex("FE 00 00 00 00 00 00 00 80");
    CHECK(mysql::decode_text_row(huge, 1).error() == mysql::Error::TooLong);
    Bytes column = huge;
    CHECK(mysql::decode_column(column).error() == mysql::Error::TooLong);
    Bytes ok = hex("00 00 00 02 00 00 00");
    ok.insert(ok.end(), huge.begin(), huge.end());
    CHECK(mysql::decode_ok(ok, kCaps41).error() == mysql::Error::TooLong);
    CHECK(mysql::decode_ok(hex("00 FF 00 02 00 00 00"), kCaps41).error() ==
          mysql::Error::BadLength);
    CHECK(mysql::decode_text_row(hex("FF"), 1).error() == mysql::Error::BadLength);
    CHECK(mysql::decode_column(hex("03 64 65 66 FF")).error() == mysql::Error::BadLength);
    // A connection-attribute block claiming 2^40 bytes.
    mysql::HandshakeResponse r;
    r.capabilities = mysql::cap::Protocol41 | mysql::cap::SecureConnection;
    r.user = "u";
    Bytes response = mysql::encode_handshake_response(r);
    response[2] |= 0x10; // CLIENT_CONNECT_ATTRS
    const Bytes attrs = hex("FE 00 00 00 00 00 01 00 00");
    response.insert(response.end(), attrs.begin(), attrs.end());
    CHECK(mysql::decode_handshake_response(response).error() == mysql::Error::TooLong);
    // The packet reader with a 1 MiB limit and a chunk header of 16 MiB - 1.
    mysql::PacketReader reader(1024 * 1024);
    reader.feed(hex("FF FF FF 00"));
    CHECK(reader.next().error() == mysql::Error::TooLong);
}
