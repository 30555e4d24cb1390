#include <catch2/catch.hpp>

#include <proxy/core/tls/client_hello_peek.h>
#include <support/test_pki.h>

#include "../leg_pair.h"

namespace {

// A real ClientHello from OpenSSL, for `name` (empty: no SNI).
std::vector<std::uint8_t> client_hello(const std::string& name) {
    proxy::TlsEndpoint c(support::test_pki().client_trusting.get(), proxy::TlsRole::Client, name);
    c.advance();
    return c.take_ciphertext();
}

} // namespace

TEST_CASE("the SNI of a real ClientHello is read before any TLS object exists", "[core][peek]") {
    auto hello = client_hello("db.lab.test");
    REQUIRE(proxy::tls_record_complete(hello));
    CHECK(proxy::peek_sni(hello) == "db.lab.test");
    CHECK(proxy::peek_sni(client_hello("127.0.0.1")) == ""); // no SNI for IP literals
}

TEST_CASE("a truncated or foreign record never over-reads", "[core][peek]") {
    auto hello = client_hello("localhost");
    for (std::size_t n = 0; n < hello.size(); ++n) {
        std::vector<std::uint8_t> cut(hello.begin(),
                                      hello.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_FALSE(proxy::tls_record_complete(cut));
        CHECK_FALSE(proxy::peek_sni(cut).has_value());
    }
    std::vector<std::uint8_t> alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30};
    CHECK_FALSE(proxy::peek_sni(alert).has_value());
}

TEST_CASE("a record header longer than TLS allows is not waited for", "[core][peek]") {
    // A garbage sender announcing 65,535 bytes (scripts/soak) must be refused at once, not held
    // until the handshake timeout while the proxy waits for a record no TLS peer sends.
    std::vector<std::uint8_t> huge = {0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00};
    CHECK(proxy::tls_record_complete(huge));
    CHECK_FALSE(proxy::peek_sni(huge).has_value());
    CHECK_FALSE(proxy::peek_alpn(huge).has_value());
    // the longest record TLS allows is still waited for
    std::vector<std::uint8_t> longest = {0x16, 0x03, 0x03, 0x48, 0x00, 0x01};
    CHECK_FALSE(proxy::tls_record_complete(longest));
}

TEST_CASE(
    "a leg that pauses at the ClientHello reports the SNI and goes on with the chosen context",
    "[core][peek][client_leg]") {
    auto cfg = proxy::ClientLeg::Config{support::test_pki().tds7_server.get(),
                                        support::test_pki().tds8_server.get(), 4096, true};
    support::LegPair p(cfg, {support::test_pki().client_trusting.get(), "localhost"});
    p.client.send_prelogin(support::client_prelogin(0x01));
    p.pump();
    auto answer = tds::PreloginBuilder{}.version({16, 0, 0, 0}).encryption(0x01).build();
    p.server_out.push_back(p.server.answer_prelogin(tds::write_message(0x04, answer, 4096, 0),
                                                    tds::EncryptionMode::Full));
    p.pump();
    p.client_out.push_back(p.client.start(tds::EncryptionMode::Full));
    p.pump();
    REQUIRE(p.server.phase() == proxy::ClientLeg::Phase::AwaitTlsDecision);
    auto paused = std::find_if(p.server_out.begin(), p.server_out.end(),
                               [](const auto& o) { return o.paused_sni.has_value(); });
    REQUIRE(paused != p.server_out.end());
    CHECK(*paused->paused_sni == "localhost");
    p.server_out.push_back(p.server.start_tls(support::test_pki().tds7_server.get()));
    p.pump();
    CHECK(p.server.phase() == proxy::ClientLeg::Phase::Tls);
    CHECK(p.client.phase() == proxy::ServerLeg::Phase::Tls);
}
