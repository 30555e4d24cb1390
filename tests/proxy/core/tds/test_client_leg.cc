#include <catch2/catch.hpp>

#include <support/test_pki.h>
#include <tds/packet_assembler.h>

#include "../leg_pair.h"

using proxy::ClientLeg;
using proxy::ServerLeg;
using tds::EncryptionMode;

namespace {

constexpr std::uint8_t kOn = 0x01;
constexpr std::uint8_t kOff = 0x00;

std::vector<std::uint8_t> server_answer(std::uint8_t encryption) {
    auto payload = tds::PreloginBuilder{}
                       .version({16, 0, 1000, 0})
                       .encryption(encryption)
                       .instance_ok()
                       .thread_id_empty()
                       .mars(false)
                       .build();
    return tds::write_message(static_cast<std::uint8_t>(tds::PacketType::TabularResult), payload,
                              4096, 0);
}

ClientLeg::Config server_config() {
    const auto& pki = support::test_pki();
    return {pki.tds7_server.get(), pki.tds8_server.get()};
}

ServerLeg::Config client_config(SSL_CTX* ctx = nullptr) {
    return {ctx != nullptr ? ctx : support::test_pki().client_trusting.get(), "localhost"};
}

// handshake runs PRELOGIN and the wrapped handshake for `mode`; returns the pair ready for login.
void tds7_handshake(support::LegPair& p, std::uint8_t client_enc, std::uint8_t answer,
                    EncryptionMode mode) {
    p.client.send_prelogin(support::client_prelogin(client_enc));
    p.pump();
    REQUIRE(p.server_saw([](const auto& o) { return o.prelogin_complete; }));
    REQUIRE(p.server.phase() == ClientLeg::Phase::AwaitDecision);
    p.server_out.push_back(p.server.answer_prelogin(server_answer(answer), mode));
    p.pump();
    REQUIRE(p.client_saw([](const auto& o) { return o.prelogin_answered; }));
    p.client_out.push_back(p.client.start(mode));
    p.pump();
}

bool is_single_wrapped_message(const std::vector<std::uint8_t>& chunk) {
    tds::PacketAssembler a;
    a.feed(chunk);
    std::size_t packets = 0;
    bool eom_seen = false;
    while (auto p = a.next()) {
        if (!*p) {
            break;
        }
        if (eom_seen || (*p)->header.type != 0x12) {
            return false;
        }
        eom_seen = (*p)->header.end_of_message();
        ++packets;
    }
    return packets > 0 && eom_seen && a.buffered() == 0;
}

} // namespace

TEST_CASE("full encryption: TLS wrapped in PRELOGIN, then TDS inside TLS", "[core][client_leg]") {
    auto chunk = GENERATE(std::size_t{1}, std::size_t{7}, std::size_t{4096}, SIZE_MAX);
    support::LegPair p(server_config(), client_config());
    p.feed_chunk = chunk;
    tds7_handshake(p, kOn, kOn, EncryptionMode::Full);

    REQUIRE(p.server.phase() == ClientLeg::Phase::Tls);
    REQUIRE(p.client.phase() == ServerLeg::Phase::Tls);
    CHECK(p.server.protocol() == proxy::Protocol::Tds7);
    CHECK(p.server.mode() == EncryptionMode::Full);
    CHECK(p.server.tls()->version() == "TLSv1.2");

    SECTION("every server flight during the handshake is one PRELOGIN message") {
        // chunk 0 is the plaintext PRELOGIN answer; the flights follow.
        REQUIRE(p.server_chunks.size() >= 3);
        for (std::size_t i = 1; i < p.server_chunks.size(); ++i) {
            CHECK(is_single_wrapped_message(p.server_chunks[i]));
        }
    }
    SECTION("the ClientHello is observed") {
        const auto& hello = p.server.tls()->client_hello();
        REQUIRE(hello.has_value());
        CHECK(hello->sni == "localhost");
        CHECK_FALSE(hello->offered_versions.empty());
    }
    SECTION("LOGIN7 and the reply cross the TLS session byte for byte") {
        auto login = support::login7_message(support::lab_login());
        p.client.send_packet(login);
        p.pump();
        auto got = p.server_packets();
        REQUIRE_FALSE(got.empty());
        CHECK(got.back().bytes == login);
        CHECK(got.back().header.type == 0x10);

        auto reply = tds::write_message(
            0x04, std::vector<std::uint8_t>{0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 4096, 51);
        p.server.send_packet(reply);
        p.pump();
        auto back = p.client_packets();
        REQUIRE_FALSE(back.empty());
        CHECK(back.back().bytes == reply);
    }
}

TEST_CASE("login-only: the first LOGIN7 packet inside TLS, everything after in plaintext",
          "[core][client_leg]") {
    auto chunk = GENERATE(std::size_t{1}, std::size_t{13}, SIZE_MAX);
    support::LegPair p(server_config(), client_config());
    p.feed_chunk = chunk;
    tds7_handshake(p, kOff, kOff, EncryptionMode::LoginOnly);
    REQUIRE(p.server.phase() == ClientLeg::Phase::LoginOnlyTls);

    auto login = support::login7_message(support::lab_login());
    auto batch = support::sql_batch_message("SELECT 1");
    p.client.send_packet(login);
    p.client.send_packet(batch); // right behind it, as plaintext
    auto wire = p.client.take_output();
    // The batch travels in clear on the wire, right after the TLS record of the login.
    REQUIRE(wire.size() > batch.size());
    CHECK(std::equal(batch.begin(), batch.end(),
                     wire.end() - static_cast<std::ptrdiff_t>(batch.size())));
    CHECK(wire[0] == 0x17); // the login itself is an application-data record

    for (std::size_t i = 0; i < wire.size(); i += chunk) {
        p.server_out.push_back(
            p.server.on_bytes(std::span(wire).subspan(i, std::min(chunk, wire.size() - i))));
    }
    auto got = p.server_packets();
    REQUIRE(got.size() >= 2);
    CHECK(got[got.size() - 2].bytes == login);
    CHECK(got.back().bytes == batch);
    CHECK(p.server.phase() == ClientLeg::Phase::Plain);
    CHECK(p.server.mode() == EncryptionMode::LoginOnly);

    auto reply = tds::write_message(
        0x04, std::vector<std::uint8_t>{0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 4096, 51);
    p.server.send_packet(reply);
    CHECK(p.server.take_output() == reply); // the login response goes back in clear
}

TEST_CASE("no encryption: LOGIN7 in clear right after the answer", "[core][client_leg]") {
    support::LegPair p(server_config(), client_config());
    tds7_handshake(p, 0x02, 0x02, EncryptionMode::None);
    auto login = support::login7_message(support::lab_login());
    p.client.send_packet(login);
    p.pump();
    CHECK(p.server_saw([](const auto& o) { return o.plaintext_login; }));
    CHECK(p.server.phase() == ClientLeg::Phase::Plain);
    CHECK(p.server_packets().back().bytes == login);
}

TEST_CASE("TDS 8.0: TLS first with ALPN tds/8.0, PRELOGIN inside", "[core][client_leg]") {
    auto chunk = GENERATE(std::size_t{1}, SIZE_MAX);
    support::LegPair p(server_config(), client_config(support::test_pki().client_tds8.get()));
    p.feed_chunk = chunk;
    p.client.start_tls_first();
    p.pump();
    REQUIRE(p.server.protocol() == proxy::Protocol::Tds8);
    REQUIRE(p.server.phase() == ClientLeg::Phase::Tls);
    CHECK(p.server.tls()->version() == "TLSv1.3");
    CHECK(p.server.tls()->alpn_selected() == "tds/8.0");
    REQUIRE(p.server.tls()->client_hello().has_value());
    CHECK(p.server.tls()->client_hello()->alpn == std::vector<std::string>{"tds/8.0"});

    auto prelogin = support::client_prelogin(0x02);
    p.client.send_packet(prelogin);
    p.pump();
    REQUIRE_FALSE(p.server_packets().empty());
    CHECK(p.server_packets().back().bytes == prelogin);
}

TEST_CASE("a client that rejects the certificate: its alert comes back wrapped and is named",
          "[core][client_leg]") {
    auto other = support::client_trusting_other_ca();
    support::LegPair p(server_config(), client_config(other.get()));
    p.client.send_prelogin(support::client_prelogin(kOn));
    p.pump();
    p.server_out.push_back(p.server.answer_prelogin(server_answer(kOn), EncryptionMode::Full));
    p.pump();
    p.client_out.push_back(p.client.start(EncryptionMode::Full));
    p.pump();
    CHECK(p.client.phase() == ServerLeg::Phase::Failed);
    REQUIRE(p.client_saw([](const auto& o) { return o.error.has_value(); }));
    REQUIRE(p.server.phase() == ClientLeg::Phase::Failed);
    REQUIRE(p.server.tls()->alert_received().has_value());
    CHECK(p.server.tls()->alert_received()->name == "unknown_ca");
    auto failed = std::find_if(p.server_out.begin(), p.server_out.end(),
                               [](const auto& o) { return o.error.has_value(); });
    REQUIRE(failed != p.server_out.end());
    CHECK_THAT(*failed->error, Catch::Contains("unknown ca"));
}

TEST_CASE("a client dialling another name rejects the certificate", "[core][client_leg]") {
    support::LegPair p(server_config(),
                       {support::test_pki().client_trusting.get(), "db.example.com"});
    tds7_handshake(p, kOn, kOn, EncryptionMode::Full);
    CHECK(p.client.phase() == ServerLeg::Phase::Failed);
    REQUIRE(p.server.tls()->alert_received().has_value());
    CHECK(p.server.tls()->alert_received()->code == 42); // bad_certificate from OpenSSL
}

TEST_CASE("first bytes that are neither PRELOGIN nor TLS are passed up untouched",
          "[core][client_leg]") {
    ClientLeg leg(server_config());
    const std::vector<std::uint8_t> http = {'G', 'E', 'T', ' ', '/'};
    auto out = leg.on_bytes(http);
    CHECK(leg.protocol() == proxy::Protocol::Unknown);
    CHECK(out.raw == http);
    CHECK(leg.on_bytes(http).raw == http);
}

TEST_CASE("hostile bytes fail the leg with a reason, never crash", "[core][client_leg]") {
    ClientLeg leg(server_config());
    SECTION("packet length below 8") {
        const std::vector<std::uint8_t> bad = {0x12, 0x01, 0x00, 0x04, 0, 0, 1, 0};
        auto out = leg.on_bytes(bad);
        REQUIRE(out.error);
        CHECK(leg.phase() == ClientLeg::Phase::Failed);
    }
    SECTION("a packet of another type where PRELOGIN is due") {
        auto login = support::login7_message(support::lab_login());
        login[0] = 0x12; // first byte says PRELOGIN...
        auto second = support::login7_message(support::lab_login());
        auto out = leg.on_bytes(login);
        // ...but a whole LOGIN7 message body is not a PRELOGIN option table: it must not be
        // accepted as anything but a PRELOGIN message, which the owner then rejects.
        CHECK((out.error.has_value() || out.prelogin_complete));
    }
    SECTION("garbage where the ClientHello is due") {
        auto out = leg.on_bytes(support::client_prelogin(kOn));
        REQUIRE(out.prelogin_complete);
        leg.answer_prelogin(server_answer(kOn), EncryptionMode::Full);
        std::vector<std::uint8_t> junk_payload(40, 0x16);
        auto junk = tds::write_message(0x12, junk_payload, 4096, 0);
        auto failed = leg.on_bytes(junk);
        REQUIRE(failed.error);
        CHECK_THAT(*failed.error, Catch::Contains("TLS handshake failed"));
    }
    SECTION("TLS after PRELOGIN on a listener without a certificate") {
        ClientLeg plain({nullptr, nullptr});
        auto out = plain.on_bytes(support::client_prelogin(kOn));
        plain.answer_prelogin(server_answer(0x02), EncryptionMode::None);
        std::vector<std::uint8_t> hello_payload = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
        auto failed = plain.on_bytes(tds::write_message(0x12, hello_payload, 4096, 0));
        REQUIRE(failed.error);
        CHECK_THAT(*failed.error, Catch::Contains("no certificate"));
    }
}
