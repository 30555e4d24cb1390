// CertificateFetch against in-memory servers: the stand-in's side of each protocol is played
// byte for byte here, and the TLS server is a TlsEndpoint with a lab scenario's context.

#include <catch2/catch.hpp>
#include <openssl/x509.h>

#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <proxy/app/lab/certificate_fetch.h>
#include <proxy/core/tls/tls_context.h>

#include "../../core/test_lab.h"

using proxy::ListenerProtocol;
using proxy::TlsEndpoint;
using proxy::TlsRole;
using proxy::app::CertificateFetch;

namespace {

certs::SslCtxPtr non_verifying_client() {
    proxy::TlsClientConfig c;
    c.min_version = TLS1_VERSION;
    auto ctx = proxy::make_client_context(c);
    REQUIRE(ctx);
    return std::move(*ctx);
}

// Runs TLS between the fetch (which just produced `hello`) and `server` until the fetch is done.
void finish_tls(CertificateFetch& fetch, TlsEndpoint& server, std::vector<std::uint8_t> hello) {
    std::vector<std::uint8_t> to_server = std::move(hello);
    for (int round = 0; round < 10 && !fetch.done(); ++round) {
        server.feed_ciphertext(to_server);
        server.advance();
        auto to_client = server.take_ciphertext();
        REQUIRE_FALSE(to_client.empty());
        to_server = fetch.on_bytes(to_client);
    }
    REQUIRE(fetch.done());
}

std::vector<std::uint8_t> mysql_greeting(std::uint32_t capabilities) {
    mysql::Handshake h;
    h.server_version = "8.0.40";
    h.connection_id = 7;
    h.auth_plugin_data.assign(20, 0x41);
    h.capabilities = capabilities;
    h.character_set = 255;
    h.auth_plugin_data_length = 21;
    h.auth_plugin_name = "caching_sha2_password";
    return mysql::frame(0, mysql::encode_handshake(h));
}

} // namespace

TEST_CASE("CertificateFetch: PostgreSQL sends SSLRequest, then reads the certificate after S",
          "[certificate_fetch]") {
    auto rt = support::lab().runtime("valid");
    auto client = non_verifying_client();
    CertificateFetch fetch(ListenerProtocol::Postgres, client.get(), "");
    CHECK(fetch.start() == std::vector<std::uint8_t>{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f});
    CHECK_FALSE(fetch.done());
    auto hello = fetch.on_bytes(std::vector<std::uint8_t>{'S'});
    REQUIRE(hello.size() > 5);
    CHECK(hello[0] == 0x16); // a TLS handshake record
    TlsEndpoint server(rt->postgres_ctx.get(), TlsRole::Server);
    finish_tls(fetch, server, std::move(hello));
    auto cert = fetch.take_result();
    REQUIRE(cert);
    CHECK(X509_cmp(cert->get(), rt->leaf.cert.get()) == 0);
}

TEST_CASE("CertificateFetch: PostgreSQL answers N or garbage: an error, no TLS",
          "[certificate_fetch]") {
    auto client = non_verifying_client();
    CertificateFetch refused(ListenerProtocol::Postgres, client.get(), "");
    refused.start();
    CHECK(refused.on_bytes(std::vector<std::uint8_t>{'N'}).empty());
    REQUIRE(refused.done());
    auto r = refused.take_result();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("refuses SSL") != std::string::npos);

    CertificateFetch old(ListenerProtocol::Postgres, client.get(), "");
    old.start();
    old.on_bytes(std::vector<std::uint8_t>{'E', 0, 0, 0, 5, 'x'});
    REQUIRE(old.done());
    CHECK_FALSE(old.take_result());
}

TEST_CASE("CertificateFetch: MySQL answers the greeting with SSLRequest and ClientHello",
          "[certificate_fetch]") {
    auto rt = support::lab().runtime("valid");
    auto client = non_verifying_client();
    CertificateFetch fetch(ListenerProtocol::Mysql, client.get(), "");
    CHECK(fetch.start().empty()); // the server speaks first
    auto greeting = mysql_greeting(mysql::cap::Protocol41 | mysql::cap::Ssl | 1U);
    // The greeting may come in pieces.
    CHECK(fetch.on_bytes(std::span(greeting).first(3)).empty());
    auto out = fetch.on_bytes(std::span(greeting).subspan(3));
    REQUIRE(out.size() > 4 + 32);
    CHECK(out[0] == 32); // SSLRequest: a 32-byte payload, sequence 1
    CHECK(out[3] == 1);
    std::uint32_t caps = out[4] | (out[5] << 8U) | (out[6] << 16U) | (std::uint32_t{out[7]} << 24U);
    CHECK((caps & mysql::cap::Ssl) != 0);
    CHECK(out[4 + 32] == 0x16); // then the ClientHello
    TlsEndpoint server(rt->tls_ctx.get(), TlsRole::Server);
    finish_tls(fetch, server, std::vector<std::uint8_t>(out.begin() + 4 + 32, out.end()));
    auto cert = fetch.take_result();
    REQUIRE(cert);
    CHECK(X509_cmp(cert->get(), rt->leaf.cert.get()) == 0);
}

TEST_CASE("CertificateFetch: a MySQL server without CLIENT_SSL, or a broken greeting: an error",
          "[certificate_fetch]") {
    auto client = non_verifying_client();
    CertificateFetch plain(ListenerProtocol::Mysql, client.get(), "");
    plain.start();
    CHECK(plain.on_bytes(mysql_greeting(mysql::cap::Protocol41 | 1U)).empty());
    REQUIRE(plain.done());
    auto r = plain.take_result();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("CLIENT_SSL") != std::string::npos);

    CertificateFetch broken(ListenerProtocol::Mysql, client.get(), "");
    broken.start();
    broken.on_bytes(std::vector<std::uint8_t>{3, 0, 0, 0, 0xff, 0xff, 0xff});
    REQUIRE(broken.done());
    CHECK_FALSE(broken.take_result());
}

TEST_CASE("CertificateFetch: tls starts TLS at once; a non-TLS answer is an error",
          "[certificate_fetch]") {
    auto rt = support::lab().runtime("self-signed");
    auto client = non_verifying_client();
    CertificateFetch fetch(ListenerProtocol::Tls, client.get(), "db.example");
    auto hello = fetch.start();
    REQUIRE_FALSE(hello.empty());
    TlsEndpoint server(rt->tls_ctx.get(), TlsRole::Server);
    finish_tls(fetch, server, std::move(hello));
    CHECK(server.sni_received() == "db.example");
    auto cert = fetch.take_result();
    REQUIRE(cert); // not verified: a self-signed certificate is read all the same
    CHECK(X509_cmp(cert->get(), rt->leaf.cert.get()) == 0);

    CertificateFetch junk(ListenerProtocol::Tls, client.get(), "");
    junk.start();
    junk.on_bytes(std::vector<std::uint8_t>{'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '4'});
    REQUIRE(junk.done());
    CHECK_FALSE(junk.take_result());
}

TEST_CASE("CertificateFetch: auto cannot be fetched", "[certificate_fetch]") {
    auto client = non_verifying_client();
    CertificateFetch fetch(ListenerProtocol::Auto, client.get(), "");
    CHECK(fetch.start().empty());
    REQUIRE(fetch.done());
    CHECK_FALSE(fetch.take_result());
}
