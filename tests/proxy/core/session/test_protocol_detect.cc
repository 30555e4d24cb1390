#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <proxy/core/session/protocol_detect.h>
#include <proxy/core/tls/client_hello_peek.h>
#include <proxy/core/tls/tls_context.h>
#include <support/hex.h>
#include <support/test_pki.h>

using proxy::AdapterKind;
using proxy::ListenerProtocol;

namespace {

// A real OpenSSL ClientHello offering `alpn` (wire format; empty: no ALPN extension).
std::vector<std::uint8_t> hello_with_alpn(std::vector<std::uint8_t> alpn) {
    proxy::TlsClientConfig c;
    auto ctx = *proxy::make_client_context(c);
    if (!alpn.empty()) {
        REQUIRE(SSL_CTX_set_alpn_protos(ctx.get(), alpn.data(),
                                        static_cast<unsigned>(alpn.size())) == 0);
    }
    proxy::TlsEndpoint ep(ctx.get(), proxy::TlsRole::Client, "localhost");
    ep.advance();
    return ep.take_ciphertext();
}

std::vector<std::uint8_t> wire(std::initializer_list<std::string_view> protocols) {
    std::vector<std::uint8_t> out;
    for (auto p : protocols) {
        out.push_back(static_cast<std::uint8_t>(p.size()));
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

} // namespace

TEST_CASE("auto tells TDS and PostgreSQL apart by their first bytes", "[core][detect]") {
    // PRELOGIN packet header
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto,
                                 support::from_hex("12 01 00 2f 00 00 01 00")) == AdapterKind::Tds);
    // SSLRequest, GSSENCRequest (PostgreSQL docs, Message Formats)
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto,
                                 support::from_hex("00 00 00 08 04 d2 16 2f")) ==
          AdapterKind::Postgres);
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto,
                                 support::from_hex("00 00 00 08 04 d2 16 30")) ==
          AdapterKind::Postgres);
    // CancelRequest (3.0: 16 bytes)
    CHECK(proxy::detect_protocol(
              ListenerProtocol::Auto,
              support::from_hex("00 00 00 10 04 d2 16 2e 00 00 30 39 01 02 03 04")) ==
          AdapterKind::Postgres);
    // StartupMessage 3.0 and 3.2 in clear: length, version, "user\0lab\0\0"
    CHECK(proxy::detect_protocol(
              ListenerProtocol::Auto,
              support::from_hex("00 00 00 12 00 03 00 00 75 73 65 72 00 6c 61 62 00 00")) ==
          AdapterKind::Postgres);
    CHECK(proxy::detect_protocol(
              ListenerProtocol::Auto,
              support::from_hex("00 00 00 12 00 03 00 02 75 73 65 72 00 6c 61 62 00 00")) ==
          AdapterKind::Postgres);
    // Anything else goes to TDS, which relays it untouched as "unknown".
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto, support::from_hex("47 45 54 20 2f 20")) ==
          AdapterKind::Tds);
    // A version-2 StartupMessage or a request code PostgreSQL does not know: not PostgreSQL.
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto,
                                 support::from_hex("00 00 00 08 00 02 00 00")) == AdapterKind::Tds);
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto,
                                 support::from_hex("00 00 00 08 04 d2 16 31")) == AdapterKind::Tds);
}

TEST_CASE("auto waits for eight bytes of a possible PostgreSQL packet", "[core][detect]") {
    auto ssl_request = support::from_hex("00 00 00 08 04 d2 16 2f");
    for (std::size_t n = 1; n < ssl_request.size(); ++n) {
        std::span<const std::uint8_t> cut(ssl_request.data(), n);
        CHECK_FALSE(proxy::detect_protocol(ListenerProtocol::Auto, cut).has_value());
    }
    CHECK_FALSE(proxy::detect_protocol(ListenerProtocol::Auto, {}).has_value());
}

TEST_CASE("a TLS ClientHello goes by its ALPN: postgresql, tds/8.0 or none, anything else",
          "[core][detect]") {
    auto pg = hello_with_alpn(wire({"postgresql"}));
    auto tds8 = hello_with_alpn(wire({"tds/8.0"}));
    auto none = hello_with_alpn({});
    auto http = hello_with_alpn(wire({"h2", "http/1.1"}));
    CHECK(proxy::peek_alpn(pg) == std::vector<std::string>{"postgresql"});
    CHECK(proxy::peek_alpn(http) == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(proxy::peek_alpn(none) == std::vector<std::string>{});
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto, pg) == AdapterKind::Postgres);
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto, tds8) == AdapterKind::Tds);
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto, none) == AdapterKind::Tds);
    CHECK(proxy::detect_protocol(ListenerProtocol::Auto, http) == AdapterKind::Tls);
    // Until the record is whole, wait.
    std::span<const std::uint8_t> part(pg.data(), pg.size() - 1);
    CHECK_FALSE(proxy::detect_protocol(ListenerProtocol::Auto, part).has_value());
    // A truncated ALPN extension never over-reads.
    for (std::size_t n = 0; n < pg.size(); ++n) {
        std::span<const std::uint8_t> cut(pg.data(), n);
        CHECK_FALSE(proxy::peek_alpn(cut).has_value());
    }
}

TEST_CASE("a fixed listener protocol decides alone", "[core][detect]") {
    auto prelogin = support::from_hex("12 01 00 2f 00 00 01 00");
    CHECK(proxy::detect_protocol(ListenerProtocol::Postgres, prelogin) == AdapterKind::Postgres);
    CHECK(proxy::detect_protocol(ListenerProtocol::Tls, prelogin) == AdapterKind::Tls);
    CHECK(proxy::detect_protocol(ListenerProtocol::Tds,
                                 support::from_hex("00 00 00 08 04 d2 16 2f")) == AdapterKind::Tds);
    CHECK(proxy::detect_protocol(ListenerProtocol::Postgres, {}) == AdapterKind::Postgres);
}

TEST_CASE("listener protocol names", "[core][detect]") {
    CHECK(proxy::listener_protocol_from_name("auto") == ListenerProtocol::Auto);
    CHECK(proxy::listener_protocol_from_name("tds") == ListenerProtocol::Tds);
    CHECK(proxy::listener_protocol_from_name("postgres") == ListenerProtocol::Postgres);
    CHECK(proxy::listener_protocol_from_name("postgresql") == ListenerProtocol::Postgres);
    CHECK(proxy::listener_protocol_from_name("tls") == ListenerProtocol::Tls);
    CHECK(proxy::listener_protocol_from_name("mysql") == ListenerProtocol::Mysql);
    CHECK(proxy::listener_protocol_from_name("mariadb") == ListenerProtocol::Mysql);
    CHECK_FALSE(proxy::listener_protocol_from_name("oracle").has_value());
}

TEST_CASE("a MySQL listener decides without any client byte; auto never picks MySQL",
          "[core][detect][mysql]") {
    // The server speaks first: the adapter starts at accept.
    CHECK(proxy::detect_protocol(ListenerProtocol::Mysql, {}) == AdapterKind::Mysql);
    CHECK(proxy::detect_protocol(ListenerProtocol::Mysql,
                                 support::from_hex("12 01 00 2f 00 00 01 00")) ==
          AdapterKind::Mysql);
    CHECK(proxy::to_string(AdapterKind::Mysql) == "mysql");
    // A MySQL SSLRequest (32 bytes, seq 1, CLIENT_SSL) and a HandshakeResponse41's first bytes
    // reach an auto listener only if the client spoke first: never MySQL.
    auto ssl_request = support::from_hex("20 00 00 01 00 8a a2 01 00 00 00 01 2d 00 00 00 00 00 "
                                         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    auto kind = proxy::detect_protocol(ListenerProtocol::Auto, ssl_request);
    REQUIRE(kind.has_value());
    CHECK(*kind != AdapterKind::Mysql);
}
