#include <string>

#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

// psql 15 (libpq 15) StartupMessage, user scram_user, application_name tlslab, captured in
// front of PostgreSQL 15.18 (vectors/psql15_scram_client.hex, first line).
const char* const kPsqlStartup = "00 00 00 43 00 03 00 00"
                                 "75 73 65 72 00 73 63 72 61 6d 5f 75 73 65 72 00"       // user
                                 "64 61 74 61 62 61 73 65 00 70 6f 73 74 67 72 65 73 00" // db
                                 "61 70 70 6c 69 63 61 74 69 6f 6e 5f 6e 61 6d 65 00"    // app
                                 "74 6c 73 6c 61 62 00"
                                 "00";

// The same psql with sslmode=prefer: SSLRequest (vectors/psql15_ssl_refused_client.hex).
const char* const kPsqlSslRequest = "00 00 00 08 04 d2 16 2f";

// GSSENCRequest as the protocol docs define it: length 8, code 80877104.
const char* const kDocsGssEncRequest = "00 00 00 08 04 d2 16 30";

// psql 15 CancelRequest after SIGINT: pid 0x7e3d, the 4-byte key of protocol 3.0
// (vectors/psql15_cancel_request.hex).
const char* const kPsqlCancelRequest = "00 00 00 10 04 d2 16 2e 00 00 7e 3d f5 73 05 a0";

// A raw client asking for protocol 3.2 with a _pq_ option (vectors/raw32_negotiate_client.hex;
// PostgreSQL 15 answered NegotiateProtocolVersion 3.0).
const char* const kRaw32Startup = "00 00 00 3d 00 03 00 02"
                                  "75 73 65 72 00 70 6f 73 74 67 72 65 73 00"
                                  "64 61 74 61 62 61 73 65 00 70 6f 73 74 67 72 65 73 00"
                                  "5f 70 71 5f 2e 74 6c 73 6c 61 62 5f 70 72 6f 62 65 00 31 00"
                                  "00";

Bytes length_prefixed(const Bytes& after_length) {
    const auto n = static_cast<std::uint32_t>(after_length.size() + 4);
    Bytes out{static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
              static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    out.insert(out.end(), after_length.begin(), after_length.end());
    return out;
}

// A StartupMessage of 3.0 with the given bytes after the version.
Bytes startup30(std::string_view pairs) {
    return length_prefixed(concat({hex("00 03 00 00"), bytes_of(pairs)}));
}

pg::StartupPacket decode_ok(const Bytes& packet) {
    auto p = pg::decode_startup(packet);
    REQUIRE(p);
    return *p;
}

} // namespace

TEST_CASE("decode_startup reads psql's StartupMessage and encode_startup rebuilds it",
          "[pg][startup]") {
    const Bytes packet = hex(kPsqlStartup);
    const auto p = decode_ok(packet);
    CHECK(p.kind == pg::StartupKind::Startup);
    CHECK(p.code == 196608);
    CHECK(p.code == pg::kProtocol30);
    CHECK(p.major() == 3);
    CHECK(p.minor() == 0);
    using Pair = std::pair<std::string, std::string>;
    CHECK(p.parameters == std::vector<Pair>{{"user", "scram_user"},
                                            {"database", "postgres"},
                                            {"application_name", "tlslab"}});
    CHECK(p.parameter("user") == "scram_user");
    CHECK(p.parameter("database") == "postgres");
    CHECK_FALSE(p.parameter("options"));
    CHECK(p.secret_key.empty());
    CHECK(to_hex(pg::encode_startup(p)) == to_hex(packet));
}

TEST_CASE("A 3.2 StartupMessage with a _pq_ option keeps the version and the option",
          "[pg][startup]") {
    const Bytes packet = hex(kRaw32Startup);
    const auto p = decode_ok(packet);
    CHECK(p.kind == pg::StartupKind::Startup);
    CHECK(p.code == pg::kProtocol32);
    CHECK(p.code == 196610);
    CHECK(p.minor() == 2);
    CHECK(p.parameter("_pq_.tlslab_probe") == "1");
    CHECK(to_hex(pg::encode_startup(p)) == to_hex(packet));
}

TEST_CASE("SSLRequest and GSSENCRequest are 8-byte request packets", "[pg][startup]") {
    const auto ssl = decode_ok(hex(kPsqlSslRequest));
    CHECK(ssl.kind == pg::StartupKind::SslRequest);
    CHECK(ssl.code == pg::kSslRequestCode);
    CHECK(ssl.major() == 1234);
    CHECK(ssl.minor() == 5679);
    CHECK(to_hex(pg::encode_startup(ssl)) == to_hex(hex(kPsqlSslRequest)));

    const auto gss = decode_ok(hex(kDocsGssEncRequest));
    CHECK(gss.kind == pg::StartupKind::GssEncRequest);
    CHECK(gss.code == pg::kGssEncRequestCode);
    CHECK(to_hex(pg::encode_startup(gss)) == to_hex(hex(kDocsGssEncRequest)));

    // The kind decides the code on the wire.
    pg::StartupPacket p;
    p.kind = pg::StartupKind::SslRequest;
    CHECK(to_hex(pg::encode_startup(p)) == to_hex(hex(kPsqlSslRequest)));

    // PostgreSQL ignores bytes after an SSLRequest's code (PostgreSQL 15 answered 'N' to a
    // 12-byte one); the codec holds the request to its documented 8 bytes.
    CHECK(error_of(pg::decode_startup(hex("00 00 00 0c 04 d2 16 2f 61 62 63 64"))) ==
          pg::Error::TrailingBytes);
    CHECK(error_of(pg::decode_startup(hex("00 00 00 09 04 d2 16 30 00"))) ==
          pg::Error::TrailingBytes);
}

TEST_CASE("CancelRequest carries a process id and a key of 4 bytes (3.0) or up to 256 (3.2)",
          "[pg][startup]") {
    SECTION("psql's 3.0 cancel request") {
        const Bytes packet = hex(kPsqlCancelRequest);
        const auto p = decode_ok(packet);
        CHECK(p.kind == pg::StartupKind::CancelRequest);
        CHECK(p.code == pg::kCancelRequestCode);
        CHECK(p.process_id == 0x7e3d);
        CHECK(to_hex(p.secret_key) == "f57305a0");
        CHECK(p.parameters.empty());
        CHECK(to_hex(pg::encode_startup(p)) == to_hex(packet));
        // The pid and key match the BackendKeyData of the canceled session.
        const auto key =
            pg::decode_backend_key_data(body_of(load_lines("psql15_canceled_server.hex").at(14)));
        REQUIRE(key);
        CHECK(key->process_id == p.process_id);
        CHECK(key->secret_key == p.secret_key);
    }
    SECTION("3.2 keys: PostgreSQL 18 sends 32 bytes, accepts 1 to 256") {
        for (std::size_t n : {1U, 4U, 32U, 243U}) {
            CAPTURE(n);
            pg::StartupPacket p;
            p.kind = pg::StartupKind::CancelRequest;
            p.process_id = 4242;
            for (std::size_t i = 0; i < n; ++i) {
                p.secret_key.push_back(static_cast<std::uint8_t>(i * 7 + 1));
            }
            const Bytes packet = pg::encode_startup(p);
            CHECK(packet.size() == 12 + n);
            const Bytes header = {0, 0, 0, static_cast<std::uint8_t>(12 + n)};
            CHECK(to_hex(prefix(packet, 12)) ==
                  to_hex(concat({header, hex("04 d2 16 2e 00 00 10 92")})));
            const auto back = decode_ok(packet);
            CHECK(back.process_id == 4242);
            CHECK(back.secret_key == p.secret_key);
        }
    }
    SECTION("a key of 256 bytes passes; 0 or more than 256 bytes, a cut process id fail") {
        CHECK(error_of(pg::decode_startup(hex("00 00 00 0c 04 d2 16 2e 00 00 7e 3d"))) ==
              pg::Error::BadLength);
        CHECK(error_of(pg::decode_startup(hex("00 00 00 0a 04 d2 16 2e 00 00"))) ==
              pg::Error::Truncated);
        CHECK(error_of(pg::decode_startup(hex("00 00 00 08 04 d2 16 2e"))) == pg::Error::Truncated);
        const Bytes longest = concat({hex("04 d2 16 2e 00 00 7e 3d"), Bytes(256, 0xAB)});
        CHECK(decode_ok(length_prefixed(longest)).secret_key == Bytes(256, 0xAB));
        const Bytes too_long = concat({hex("04 d2 16 2e 00 00 7e 3d"), Bytes(257, 0xAB)});
        CHECK(error_of(pg::decode_startup(length_prefixed(too_long))) == pg::Error::TooLong);
    }
}

TEST_CASE("startup_packet_length needs 4 bytes and applies the server's bounds", "[pg][startup]") {
    const Bytes packet = hex(kPsqlStartup);
    for (std::size_t n = 0; n < 4; ++n) {
        CAPTURE(n);
        auto l = pg::startup_packet_length(prefix(packet, n));
        REQUIRE(l);
        CHECK_FALSE(*l);
    }
    for (std::size_t n = 4; n <= packet.size(); ++n) {
        auto l = pg::startup_packet_length(prefix(packet, n));
        REQUIRE(l);
        CHECK(*l == std::optional<std::size_t>(0x43));
    }
    auto length = [](std::uint32_t v) {
        return pg::startup_packet_length(
            Bytes{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                  static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
    };
    // Below 8: no room for a code ("invalid length of startup packet").
    for (std::uint32_t v : {0U, 1U, 4U, 7U}) {
        CAPTURE(v);
        CHECK(error_of(length(v)) == pg::Error::BadLength);
    }
    CHECK(*length(8) == std::optional<std::size_t>(8));
    // PostgreSQL refuses len - 4 > MAX_STARTUP_PACKET_LENGTH (10000): 10004 in all passes,
    // 10005 does not (checked against PostgreSQL 15: the first got AuthenticationOk, the second
    // a closed connection and "invalid length of startup packet" in the log).
    CHECK(*length(10004) == std::optional<std::size_t>(10004));
    CHECK(error_of(length(10005)) == pg::Error::TooLong);
    CHECK(error_of(length(0x7FFFFFFF)) == pg::Error::TooLong);
    CHECK(error_of(length(0x80000000)) == pg::Error::TooLong);
    CHECK(error_of(length(0xFFFFFFFF)) == pg::Error::TooLong);
}

TEST_CASE("decode_startup accepts a packet of the largest length PostgreSQL accepts",
          "[pg][startup]") {
    const std::string head = with_nuls("user\0postgres\0application_name\0");
    // 4 (length) + 4 (version) + head + value + NUL + terminator = 10004
    const std::string value(10004 - 8 - head.size() - 2, 'x');
    Bytes packet = startup30(head + value + std::string(2, '\0'));
    REQUIRE(packet.size() == 10004);
    const auto p = decode_ok(packet);
    CHECK(p.parameter("application_name") == value);
    CHECK(pg::encode_startup(p) == packet);

    Bytes longer = startup30(head + value + "y" + std::string(2, '\0'));
    REQUIRE(longer.size() == 10005);
    CHECK(error_of(pg::decode_startup(longer)) == pg::Error::TooLong);
}

TEST_CASE("decode_startup refuses a packet whose length disagrees with its bytes",
          "[pg][startup]") {
    const Bytes packet = hex(kPsqlStartup);
    SECTION("every cut of the packet") {
        for (std::size_t n = 0; n < packet.size(); ++n) {
            CAPTURE(n);
            CHECK(error_of(pg::decode_startup(prefix(packet, n))) ==
                  (n < 4 ? pg::Error::Truncated : pg::Error::BadLength));
        }
    }
    SECTION("a byte more than the length") {
        CHECK(error_of(pg::decode_startup(with_trailing_byte(packet))) == pg::Error::TrailingBytes);
    }
    SECTION("a length below 8") {
        CHECK(error_of(pg::decode_startup(hex("00 00 00 04 00 03 00 00"))) == pg::Error::BadLength);
    }
}

TEST_CASE("decode_startup checks the StartupMessage layout as ProcessStartupPacket does",
          "[pg][startup]") {
    // Each case was also sent to PostgreSQL 15; its answer is in the comment.
    SECTION("the terminator must be there") {
        // FATAL 08P01 "invalid startup packet layout: expected terminator as last byte"
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0postgres\0")))) ==
              pg::Error::MissingTerminator);
        // the shortest packet, a version and nothing else
        CHECK(error_of(pg::decode_startup(hex("00 00 00 08 00 03 00 00"))) ==
              pg::Error::MissingTerminator);
    }
    SECTION("the terminator must be the last byte") {
        // FATAL 08P01, as above
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0postgres\0\0x\0")))) ==
              pg::Error::TrailingBytes);
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("\0\0")))) ==
              pg::Error::TrailingBytes);
    }
    SECTION("a name without its value") {
        // FATAL 08P01, as above
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0postgres\0database\0")))) ==
              pg::Error::Truncated);
    }
    SECTION("a value or a name without its NUL") {
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0postgres")))) ==
              pg::Error::MissingTerminator);
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0postgres\0data")))) ==
              pg::Error::MissingTerminator);
    }
    SECTION("empty values are values") {
        // user "": PostgreSQL reads it, then FATAL 28000 "no PostgreSQL user name specified";
        // database "": PostgreSQL uses the user name (AuthenticationOk).
        auto p = decode_ok(startup30(with_nuls("user\0\0\0")));
        CHECK(p.parameter("user") == "");
        p = decode_ok(startup30(with_nuls("user\0postgres\0database\0\0\0")));
        CHECK(p.parameter("database") == "");
        CHECK(p.parameters.size() == 2);
        // "user\0\0" alone: the empty value, then no terminator.
        CHECK(error_of(pg::decode_startup(startup30(with_nuls("user\0\0")))) ==
              pg::Error::MissingTerminator);
    }
    SECTION("no parameters at all") {
        const auto p = decode_ok(hex("00 00 00 09 00 03 00 00 00"));
        CHECK(p.kind == pg::StartupKind::Startup);
        CHECK(p.parameters.empty());
    }
    SECTION("a repeated parameter: the last one counts, as in the server") {
        const auto p = decode_ok(startup30(with_nuls("user\0a\0user\0b\0\0")));
        CHECK(p.parameters.size() == 2);
        CHECK(p.parameter("user") == "b");
    }
}

TEST_CASE("decode_startup: request codes and versions", "[pg][startup]") {
    // 1234.5681 is no request: PostgreSQL 15 answered "unsupported frontend protocol
    // 1234.5681"; the codec calls it a bad value.
    CHECK(error_of(pg::decode_startup(hex("00 00 00 08 04 d2 16 31"))) == pg::Error::BadValue);
    CHECK(error_of(pg::decode_startup(hex("00 00 00 09 04 d2 00 00 00"))) == pg::Error::BadValue);
    // Other versions decode; the caller refuses them (PostgreSQL 15: "unsupported frontend
    // protocol 4.0: server supports 3.0 to 3.0").
    const auto v4 = decode_ok(hex("00 00 00 17 00 04 00 00 75 73 65 72 00 70 6f 73 74 67 72 65 "
                                  "73 00 00"));
    CHECK(v4.kind == pg::StartupKind::Startup);
    CHECK(v4.major() == 4);
    CHECK(v4.parameter("user") == "postgres");
}

TEST_CASE("encode_startup writes parameters in order and never a malformed packet",
          "[pg][startup]") {
    pg::StartupPacket p;
    p.code = pg::kProtocol32;
    p.parameters = {{"user", "alice"}, {"database", ""}, {"", "dropped"}, {"options", "a\0b"}};
    const Bytes packet = pg::encode_startup(p);
    const std::string pairs = with_nuls("user\0alice\0database\0\0options\0a\0\0");
    CHECK(to_hex(packet) == to_hex(length_prefixed(concat({hex("00 03 00 02"), bytes_of(pairs)}))));
    const auto back = decode_ok(packet);
    CHECK(back.parameter("options") == "a"); // cut at the NUL
    CHECK(back.parameters.size() == 3);
}

TEST_CASE("to_string names every startup kind", "[pg][startup]") {
    CHECK(pg::to_string(pg::StartupKind::Startup) == "StartupMessage");
    CHECK(pg::to_string(pg::StartupKind::SslRequest) == "SSLRequest");
    CHECK(pg::to_string(pg::StartupKind::GssEncRequest) == "GSSENCRequest");
    CHECK(pg::to_string(pg::StartupKind::CancelRequest) == "CancelRequest");
}
