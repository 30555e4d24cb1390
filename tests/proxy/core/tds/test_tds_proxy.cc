#include <ctime>
#include <filesystem>

#include <catch2/catch.hpp>

#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tds/login_router.h>
#include <proxy/core/tds/serve_session.h>
#include <scenarios/catalogue.h>
#include <support/hex.h>
#include <support/test_pki.h>
#include <tds/packet_writer.h>
#include <tds/token_reader.h>

#include "../leg_pair.h"
#include "../test_lab.h"

using proxy::ServerLeg;
using support::lab;
using tds::EncryptionMode;

namespace {

// Chain: ServerLeg (the driver) <-> ProxySession <-> ServeSession (the server), in memory.
struct Chain {
    proxy::ServeSettings serve_settings;
    std::unique_ptr<proxy::ServeSession> server;
    std::unique_ptr<proxy::ProxySession> proxy_session;
    ServerLeg client;
    std::vector<std::shared_ptr<const proxy::SessionRecord>> records;
    std::vector<std::uint8_t> to_client, to_server, to_proxy_from_server;
    bool proxy_closed = false;
    bool proxy_reset = false;
    bool server_closed = false;
    bool connect_ok = true;
    std::vector<tds::Packet> client_packets;
    std::optional<std::string> client_error;

    Chain(std::shared_ptr<const proxy::ScenarioRuntime> scenario, proxy::ServeEncryption enc,
          SSL_CTX* client_ctx = nullptr, bool connect = true,
          const std::function<void(proxy::ProxySettings&)>& tweak = {})
        : client(
              {client_ctx != nullptr ? client_ctx : lab().client_trusting_lab.get(), "localhost"}),
          connect_ok(connect) {
        const auto& pki = support::test_pki();
        serve_settings.encryption = enc;
        if (enc != proxy::ServeEncryption::None) {
            serve_settings.tds7_ctx = pki.tds7_server.get();
            serve_settings.tds8_ctx = pki.tds8_server.get();
        }
        server = std::make_unique<proxy::ServeSession>(serve_settings, 51);
        proxy::ProxySettings ps;
        ps.scenario = std::move(scenario);
        ps.upstream.tds7 = lab().upstream_tds7.get();
        ps.upstream.tds8 = lab().upstream_tds8.get();
        ps.upstream_verified = true;
        ps.upstream_name = "localhost";
        if (tweak) {
            tweak(ps);
        }
        proxy_session = std::make_unique<proxy::ProxySession>(std::move(ps), 7, "127.0.0.1:5000");
        run_proxy(proxy_session->handle(proxy::event::Started{}));
        run_server(server->handle(proxy::event::Started{}));
    }

    // received: the bytes of the BytesReceived that `acts` answer (what an action::Relay sends).
    void run_proxy(proxy::Actions acts, std::span<const std::uint8_t> received = {}) {
        for (auto& a : acts) {
            if (auto* s = std::get_if<proxy::action::Send>(&a)) {
                auto& to = s->side == proxy::Side::Client ? to_client : to_server;
                to.insert(to.end(), s->bytes.begin(), s->bytes.end());
            } else if (auto* relay = std::get_if<proxy::action::Relay>(&a)) {
                REQUIRE_FALSE(received.empty());
                auto& to = relay->side == proxy::Side::Client ? to_client : to_server;
                to.insert(to.end(), received.begin(), received.end());
            } else if (auto* c = std::get_if<proxy::action::Close>(&a)) {
                proxy_closed = true;
                proxy_reset = c->reset;
            } else if (auto* r = std::get_if<proxy::action::Record>(&a)) {
                records.push_back(r->record);
            } else if (std::holds_alternative<proxy::action::ConnectUpstream>(a)) {
                pending_connect = true;
            } else if (auto* l = std::get_if<proxy::action::Log>(&a)) {
                logs.push_back(l->text);
            } else if (auto* m = std::get_if<proxy::action::Message>(&a)) {
                messages.push_back(m->message);
            }
        }
    }
    void run_server(proxy::Actions acts) {
        for (auto& a : acts) {
            if (auto* s = std::get_if<proxy::action::Send>(&a)) {
                to_proxy_from_server.insert(to_proxy_from_server.end(), s->bytes.begin(),
                                            s->bytes.end());
                sent_by_server.insert(sent_by_server.end(), s->bytes.begin(), s->bytes.end());
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                server_closed = true;
            }
        }
    }

    bool step() {
        bool moved = false;
        if (pending_connect) {
            pending_connect = false;
            moved = true;
            if (connect_ok) {
                run_proxy(proxy_session->handle(proxy::event::Connected{}));
            } else {
                run_proxy(proxy_session->handle(proxy::event::ConnectFailed{"connection refused"}));
            }
        }
        auto c2p = client.take_output();
        if (!c2p.empty() && !proxy_closed) {
            moved = true;
            run_proxy(proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, c2p}),
                      c2p);
        }
        auto p2s = std::exchange(to_server, {});
        if (!p2s.empty() && !server_closed) {
            moved = true;
            run_server(server->handle(proxy::event::BytesReceived{proxy::Side::Client, p2s}));
        }
        auto s2p = std::exchange(to_proxy_from_server, {});
        if (!s2p.empty() && !proxy_closed) {
            moved = true;
            run_proxy(proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Server, s2p}),
                      s2p);
        }
        auto p2c = std::exchange(to_client, {});
        if (!p2c.empty()) {
            moved = true;
            received_by_client.insert(received_by_client.end(), p2c.begin(), p2c.end());
            auto out = client.on_bytes(p2c);
            if (out.error) {
                client_error = out.error;
            }
            for (auto& p : out.packets) {
                if (!out.prelogin_answered) {
                    client_packets.push_back(std::move(p));
                }
            }
        }
        return moved;
    }
    void pump() {
        for (int i = 0; i < 1000 && step(); ++i) {
        }
    }

    // login: PRELOGIN with `enc`, the mode the answer implies, LOGIN7.
    void login(std::uint8_t enc, const tds::Login7& login7 = support::lab_login()) {
        client.send_prelogin(support::client_prelogin(enc));
        pump();
        if (client.phase() != ServerLeg::Phase::AwaitDecision) {
            return;
        }
        auto answer = tds::Prelogin::parse(client.prelogin_answer()->payload);
        REQUIRE(answer);
        auto mode = tds::expected_mode(*tds::decode_encryption(enc),
                                       *tds::decode_encryption(*answer->encryption()));
        // A driver that goes on regardless (tedious answered NOT_SUP) logs in in clear.
        client.start(mode.value_or(EncryptionMode::None));
        pump();
        if (client_error) {
            return;
        }
        client.send_packet(support::login7_message(login7));
        pump();
    }

    void client_closes() {
        run_proxy(proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
        pump();
        if (!proxy_closed) {
            // the proxy half-closed towards the server; the server then closes too
            run_proxy(proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""}));
        }
    }

    bool logged_in() const {
        for (const auto& p : client_packets) {
            auto scan = tds::scan_tokens(p.payload());
            if (scan.login_ack) {
                return true;
            }
        }
        return false;
    }

    const proxy::SessionRecord& record() const {
        REQUIRE(records.size() == 1);
        return *records.front();
    }

    bool pending_connect = false;
    std::vector<std::uint8_t> sent_by_server;     // every byte the server sent
    std::vector<std::uint8_t> received_by_client; // every byte the client got, as on the wire
    std::vector<std::string> logs;
    std::vector<std::shared_ptr<const proxy::MessageRecord>> messages;
    bool logged(const std::string& needle) const {
        return std::any_of(logs.begin(), logs.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    }
};

certs::SslCtxPtr client_trusting_anything() {
    proxy::TlsClientConfig c; // verify = false: TrustServerCertificate=true
    return *proxy::make_client_context(c);
}

} // namespace

TEST_CASE("every built-in scenario materialises", "[core][proxy][scenarios]") {
    for (const auto& s : lab().catalogue.all()) {
        INFO(s.name);
        auto rt = proxy::materialize(s, *lab().ca, *lab().pki, lab().identity);
        REQUIRE(rt);
        CHECK((*rt)->tds7_ctx != nullptr);
        CHECK((*rt)->tds8_ctx != nullptr);
    }
}

TEST_CASE("valid: a TDS 7.x login through the proxy, recorded as login-encrypted",
          "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force);
    c.login(0x01);
    REQUIRE_FALSE(c.client_error);
    CHECK(c.logged_in());
    c.client.send_packet(support::sql_batch_message("SELECT 1"));
    c.pump();
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "tds7");
    CHECK(r.outcome == proxy::Outcome::LoginEncrypted);
    REQUIRE(r.client_prelogin);
    CHECK(r.client_prelogin->encryption_name == "ON");
    CHECK(r.client_prelogin->version == "19.2.2.0");
    REQUIRE(r.upstream_answer);
    CHECK(r.upstream_answer->encryption_name == "ON");
    CHECK(r.client_answer->encryption_name == "ON");
    CHECK(r.client_mode == EncryptionMode::Full);
    CHECK(r.upstream_mode == EncryptionMode::Full);
    CHECK(r.client_tls.version == "TLSv1.2");
    CHECK(r.client_tls.sni == "localhost");
    CHECK(r.upstream_verification == "verified");
    REQUIRE(r.certificate_shown);
    CHECK(r.certificate_shown->subject.find("CN=localhost") != std::string::npos);
    REQUIRE(r.upstream_certificate);
    CHECK(r.bytes_from_client > 0);
    CHECK(r.bytes_to_server > 0);
}

TEST_CASE("a client that rejects the certificate is recorded with its alert", "[core][proxy]") {
    auto other = support::client_trusting_other_ca();
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force, other.get());
    c.login(0x01);
    CHECK(c.client_error);
    CHECK(c.proxy_closed);
    const auto& r = c.record();
    CHECK(r.outcome == proxy::Outcome::Alert);
    REQUIRE(r.alert);
    CHECK(r.alert->name == "unknown_ca");
}

TEST_CASE("expired: an OpenSSL client that validates sends certificate_expired", "[core][proxy]") {
    Chain c(lab().runtime("expired"), proxy::ServeEncryption::Force);
    c.login(0x01);
    const auto& r = c.record();
    CHECK(r.outcome == proxy::Outcome::Alert);
    REQUIRE(r.alert);
    CHECK(r.alert->name == "certificate_expired");
    REQUIRE(r.certificate_shown);
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char iso[32];
    std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK(r.certificate_shown->not_after < std::string(iso)); // expired: in the past
}

TEST_CASE("login-only on both legs: LOGIN7 inside TLS, the rest in clear", "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Off);
    c.login(0x00);
    REQUIRE_FALSE(c.client_error);
    CHECK(c.logged_in());
    c.client.send_packet(support::sql_batch_message("SELECT 1"));
    c.pump();
    bool one = false;
    for (const auto& p : c.client_packets) {
        // `SELECT 1` is int NOT NULL: the fixed-length INT4 (0x38), no name, then ROW 1.
        const std::vector<std::uint8_t> row = {0x38, 0x00, 0xD1, 0x01, 0x00, 0x00, 0x00};
        auto pl = p.payload();
        one = one || std::search(pl.begin(), pl.end(), row.begin(), row.end()) != pl.end();
    }
    CHECK(one);
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.client_mode == EncryptionMode::LoginOnly);
    CHECK(r.upstream_mode == EncryptionMode::LoginOnly);
    CHECK(r.outcome == proxy::Outcome::LoginEncrypted);
}

TEST_CASE("no encryption: the login is recorded as plaintext", "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::None);
    c.login(0x02);
    CHECK(c.logged_in());
    c.client_closes();
    CHECK(c.record().outcome == proxy::Outcome::LoginPlaintext);
    CHECK(c.record().client_mode == EncryptionMode::None);
}

TEST_CASE("TDS 8.0 through the proxy: TLS first on both legs", "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Strict,
            lab().client_tds8_trusting_lab.get());
    c.client.start_tls_first();
    c.pump();
    REQUIRE(c.client.phase() == ServerLeg::Phase::Tls);
    CHECK(c.client.tls()->alpn_selected() == "tds/8.0");
    c.client.send_packet(support::client_prelogin(0x02));
    c.pump();
    auto l = support::lab_login();
    l.tds_version = tds::tds_version::k80;
    c.client.send_packet(support::login7_message(l));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "tds8");
    CHECK(r.outcome == proxy::Outcome::LoginEncrypted);
    CHECK(r.client_tls.alpn == "tds/8.0");
    CHECK(r.upstream_tls.alpn == "tds/8.0");
    REQUIRE(r.client_prelogin);
    CHECK(r.client_prelogin->encryption_name == "NOT_SUP");
}

TEST_CASE("a scenario that tells the client NOT_SUP: a client that goes on logs in in clear",
          "[core][proxy]") {
    auto s = *lab().catalogue.find("valid");
    s.name = "test-encrypt-not-supported";
    s.tds.encryption_to_client = 0x02;
    Chain c(lab().runtime(s), proxy::ServeEncryption::Force);
    c.login(0x01); // a tedious-like client: sent ON, told NOT_SUP, carries on without TLS
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.client_answer->encryption_name == "NOT_SUP");
    CHECK(r.upstream_answer->encryption_name == "ON");
    CHECK(r.upstream_mode == EncryptionMode::Full);
    CHECK(r.outcome == proxy::Outcome::LoginPlaintext);
}

TEST_CASE("reset-during-handshake resets the client once the ClientHello arrives",
          "[core][proxy]") {
    Chain c(lab().runtime("reset-during-handshake"), proxy::ServeEncryption::Force);
    c.login(0x01);
    CHECK(c.proxy_closed);
    CHECK(c.proxy_reset);
    CHECK(c.record().outcome == proxy::Outcome::ClosedDuringHandshake);
}

TEST_CASE("passthrough relays bytes untouched and still records the PRELOGIN and the login",
          "[core][proxy]") {
    Chain c(lab().runtime("passthrough"), proxy::ServeEncryption::Force,
            support::test_pki().client_trusting.get()); // the client meets the server's own cert
    c.login(0x01);
    REQUIRE_FALSE(c.client_error);
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == proxy::Outcome::LoginEncrypted);
    CHECK(r.protocol == "tds7");
}

TEST_CASE("passthrough forwards a read with action::Relay (no copy), counted in the record; bytes "
          "held until the server is connected go as a Send",
          "[core][proxy][relay]") {
    Chain c(lab().runtime("passthrough"), proxy::ServeEncryption::Force,
            support::test_pki().client_trusting.get());
    auto kinds = [](const proxy::Actions& acts) {
        std::string out;
        for (const auto& a : acts) {
            if (const auto* s = std::get_if<proxy::action::Send>(&a)) {
                out += std::string(s->side == proxy::Side::Server ? "send>server" : "send>client") +
                       "(" + std::to_string(s->bytes.size()) + ") ";
            } else if (const auto* r = std::get_if<proxy::action::Relay>(&a)) {
                out += r->side == proxy::Side::Server ? "relay>server " : "relay>client ";
            }
        }
        return out;
    };
    const std::vector<std::uint8_t> first{
        0x12}; // the first byte of a PRELOGIN, before the server is there
    auto acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, first});
    CHECK(kinds(acts).empty());
    acts = c.proxy_session->handle(proxy::event::Connected{});
    CHECK(kinds(acts) == "send>server(1) "); // held, so copied once
    const std::vector<std::uint8_t> rest{0x01, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00};
    acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, rest});
    CHECK(kinds(acts) == "relay>server ");
    const std::vector<std::uint8_t> later{0xAA, 0xBB};
    acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, later});
    CHECK(kinds(acts) == "relay>server ");
    const std::vector<std::uint8_t> answer{0x04, 0x01, 0x00, 0x08};
    acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Server, answer});
    CHECK(kinds(acts) == "relay>client ");
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""}));
    REQUIRE_FALSE(c.records.empty());
    CHECK(c.record().bytes_to_server == 10);
    CHECK(c.record().bytes_to_client == 4);
    CHECK(c.record().bytes_from_client == 10);
    CHECK(c.record().bytes_from_server == 4);
}

TEST_CASE("a LOGIN7 with no PRELOGIN (jTDS's default) is relayed in clear and recorded as a "
          "TDS 7.x login in clear",
          "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Off);
    c.client.start_plain();
    c.client.send_packet(support::login7_message(support::lab_login()));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "tds7");
    CHECK_FALSE(r.client_prelogin);
    CHECK_FALSE(r.upstream_answer);
    CHECK(r.outcome == proxy::Outcome::LoginPlaintext);
    REQUIRE(r.login);
    CHECK(r.login->user_name == "lab");
}

TEST_CASE("the server cannot be reached: upstream-failed", "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force, nullptr, false);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    CHECK(c.proxy_closed);
    CHECK(c.record().outcome == proxy::Outcome::UpstreamFailed);
    CHECK_THAT(c.record().detail, Catch::Contains("connection refused"));
}

TEST_CASE("the client leaving at any step ends the session with exactly one record",
          "[core][proxy]") {
    auto stop_at = GENERATE(range(0, 8));
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    bool started = false;
    for (int i = 0; i < stop_at; ++i) {
        if (!c.step()) {
            if (!started && c.client.phase() == ServerLeg::Phase::AwaitDecision) {
                c.client.start(EncryptionMode::Full);
                started = true;
            } else if (c.client.phase() == ServerLeg::Phase::Tls) {
                c.client.send_packet(support::login7_message(support::lab_login()));
            } else {
                break;
            }
        }
    }
    c.client_closes();
    CHECK(c.proxy_closed);
    REQUIRE(c.records.size() == 1);
    auto more = c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""});
    CHECK(more.empty());
}

TEST_CASE("bytes that are not TDS are relayed untouched as protocol unknown", "[core][proxy]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force);
    c.step(); // connect
    const std::string get = "GET / HTTP/1.1\r\n\r\n";
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(get.data()), get.size());
    c.run_proxy(c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, bytes}),
                bytes);
    CHECK(std::string(c.to_server.begin(), c.to_server.end()) == get);
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    CHECK(c.record().protocol == "unknown");
    CHECK(c.record().outcome == proxy::Outcome::ClosedBeforeTls);
}

TEST_CASE("LOGIN7 is decoded into the record; the password only with reveal_secrets",
          "[core][proxy][login]") {
    auto reveal = GENERATE(false, true);
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force, nullptr, true,
            [&](proxy::ProxySettings& s) { s.reveal_secrets = reveal; });
    c.login(0x01);
    c.client_closes();
    const auto& r = c.record();
    REQUIRE(r.login);
    CHECK(r.login->user_name == "lab");
    CHECK(r.login->app_name == "tlslab-tests");
    CHECK(r.login->library_name == "tlslab");
    CHECK(r.login->tds_version == "7.4");
    CHECK(r.login->auth_kind == "sql");
    CHECK(r.login->through_tls);
    CHECK(r.login->password_length == 12);
    CHECK(r.login->password.has_value() == reveal);
    if (reveal) {
        CHECK(*r.login->password == "lab-password");
    }
    // A validating client on a valid certificate exposes nothing worth a warning.
    CHECK_FALSE(c.logged("EXPOSED"));
}

TEST_CASE("a login read through a certificate the client should have rejected is called out",
          "[core][proxy][login]") {
    auto trusting = client_trusting_anything();
    Chain c(lab().runtime("self-signed"), proxy::ServeEncryption::Force, trusting.get(), true,
            [](proxy::ProxySettings& s) { s.reveal_secrets = true; });
    c.login(0x01);
    CHECK(c.logged_in());
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with password 'lab-password'"));
    CHECK(c.logged("'self-signed' certificate, which a validating client must reject"));
}

TEST_CASE("a plaintext login is called out", "[core][proxy][login]") {
    auto s = *lab().catalogue.find("encrypt-not-supported");
    Chain c(lab().runtime(s), proxy::ServeEncryption::Force);
    c.login(0x01);
    CHECK(c.logged("in PLAINTEXT"));
    CHECK(c.logged("a 12-character password (--reveal-secrets shows it)"));
}

TEST_CASE("record_messages: batches and server errors after login become message records",
          "[core][proxy][messages]") {
    auto login_only = GENERATE(false, true);
    Chain c(lab().runtime("valid"),
            login_only ? proxy::ServeEncryption::Off : proxy::ServeEncryption::Force, nullptr, true,
            [](proxy::ProxySettings& s) { s.record_messages = true; });
    c.login(login_only ? 0x00 : 0x01);
    c.client.send_packet(support::sql_batch_message("SELECT 1"));
    c.pump();
    c.client.send_packet(support::sql_batch_message("DROP TABLE x"));
    c.pump();
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages[0]->kind == "sql_batch");
    CHECK(c.messages[0]->text == "SELECT 1");
    CHECK(c.messages[0]->session_id == 7);
    CHECK(c.messages[1]->text == "DROP TABLE x");
    CHECK(c.messages[2]->kind == "error");
    CHECK(c.messages[2]->number == 3701u);
    CHECK_FALSE(c.messages[2]->from_client);
}

TEST_CASE("the chooser can switch the scenario at the ClientHello, by SNI",
          "[core][proxy][rules]") {
    auto expired = lab().runtime("expired");
    std::vector<proxy::SessionFacts> asked;
    Chain c(
        lab().runtime("valid"), proxy::ServeEncryption::Force, nullptr, true,
        [&](proxy::ProxySettings& s) {
            s.choose =
                [&](const proxy::SessionFacts& f) -> std::shared_ptr<const proxy::ScenarioRuntime> {
                asked.push_back(f);
                return f.stage == proxy::SessionFacts::Stage::ClientHello && f.sni == "localhost"
                           ? expired
                           : nullptr;
            };
        });
    c.login(0x01);
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].stage == proxy::SessionFacts::Stage::Prelogin);
    CHECK(asked[0].prelogin_version == "19.2.2.0");
    CHECK(asked[1].sni == "localhost");
    const auto& r = c.record();
    CHECK(r.scenario == "expired");
    REQUIRE(r.alert);
    CHECK(r.alert->name == "certificate_expired");
}

// ---- [tds] PRELOGIN faults, strict-only, routing (scenarios 57-60) ----------------------------

namespace {

// first_packet: the first TDS packet of a byte stream (plaintext PRELOGIN phase).
std::vector<std::uint8_t> first_packet(const std::vector<std::uint8_t>& bytes) {
    auto h = tds::parse_header(bytes);
    REQUIRE(h);
    REQUIRE(bytes.size() >= h->length);
    return std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + h->length);
}

// routing_tokens: every routing ENVCHANGE the client's packets carried.
std::vector<tds::RoutingTarget> routing_tokens(const std::vector<tds::Packet>& packets) {
    std::vector<tds::RoutingTarget> out;
    for (const auto& p : packets) {
        for (const auto& e : tds::scan_tokens(p.payload()).env_changes) {
            if (e.routing) {
                out.push_back(*e.routing);
            }
        }
    }
    return out;
}

} // namespace

TEST_CASE("prelogin-unknown-encryption: the answer reaches the client with ENCRYPTION 0x05, "
          "every other byte as the server sent it",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("prelogin-unknown-encryption"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    REQUIRE(c.client.phase() == ServerLeg::Phase::AwaitDecision);
    auto from_server = first_packet(c.sent_by_server);
    auto to_client = first_packet(c.received_by_client);
    REQUIRE(to_client.size() == from_server.size());
    auto parsed = tds::Prelogin::parse(std::span(from_server).subspan(tds::kHeaderLen));
    REQUIRE(parsed);
    std::size_t at = 0;
    for (const auto& o : parsed->options()) {
        if (o.token == tds::prelogin_token::kEncryption) {
            at = tds::kHeaderLen + o.offset;
        }
    }
    REQUIRE(at != 0);
    CHECK(from_server[at] == 0x01); // the stand-in (forced encryption) said ON
    auto expected = from_server;
    expected[at] = 0x05;
    CHECK(to_client == expected);
    // go-mssqldb: any byte but NOT_SUP means TLS; the proxy carries it fully
    c.client.start(EncryptionMode::Full);
    c.pump();
    REQUIRE_FALSE(c.client_error);
    c.client.send_packet(support::login7_message(support::lab_login()));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.client_answer->encryption_name == "0x05");
    CHECK(r.upstream_answer->encryption_name == "ON");
    CHECK(r.outcome == proxy::Outcome::LoginEncrypted);
}

TEST_CASE("prelogin-unknown-encryption: a client that takes 0x05 as 'no TLS' (tedious) logs in "
          "in plaintext",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("prelogin-unknown-encryption"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    c.client.start(EncryptionMode::None);
    c.client.send_packet(support::login7_message(support::lab_login()));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == proxy::Outcome::LoginPlaintext);
    CHECK(r.upstream_mode == EncryptionMode::Full);
    CHECK(c.logged("EXPOSED"));
}

TEST_CASE("prelogin-no-encryption-option: the answer loses the ENCRYPTION entry and byte, the "
          "offsets follow",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("prelogin-no-encryption-option"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    auto from_server = first_packet(c.sent_by_server);
    // The stand-in answers in the tds-protocol.md 6.1 layout: VERSION ENCRYPTION INSTOPT
    // THREADID(empty) MARS.
    REQUIRE(from_server.size() == 0x2B);
    REQUIRE(support::to_hex(std::span(from_server).subspan(8, 26)) ==
            "00001a000601002000010200210001030022000004002200"
            "01ff");
    std::vector<std::uint8_t> version(from_server.begin() + 34, from_server.begin() + 40);
    auto expected = support::from_hex("04 01 00 25");
    expected.insert(expected.end(), from_server.begin() + 4, from_server.begin() + 8); // SPID, id
    auto table =
        support::from_hex("00 00 15 00 06 02 00 1B 00 01 03 00 1C 00 00 04 00 1C 00 01 FF");
    expected.insert(expected.end(), table.begin(), table.end());
    expected.insert(expected.end(), version.begin(), version.end());
    expected.push_back(0x00); // INSTOPT ok
    expected.push_back(0x00); // MARS off
    CHECK(support::to_hex(c.received_by_client) == support::to_hex(expected));
    REQUIRE(c.client.prelogin_answer());
    auto shown = tds::Prelogin::parse(c.client.prelogin_answer()->payload);
    REQUIRE(shown);
    CHECK_FALSE(shown->encryption());

    // tedious: no option read, no TLS: LOGIN7 in clear
    c.client.start(EncryptionMode::None);
    c.client.send_packet(support::login7_message(support::lab_login()));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.client_answer->encryption_name == "absent");
    CHECK(r.upstream_answer->encryption_name == "ON");
    CHECK(r.outcome == proxy::Outcome::LoginPlaintext);
}

TEST_CASE("prelogin-no-encryption-option: a client that aborts (go-mssqldb, mssql-jdbc) is "
          "recorded as closed before TLS",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("prelogin-no-encryption-option"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    c.client_closes();
    CHECK(c.record().outcome == proxy::Outcome::ClosedBeforeTls);
    CHECK(c.record().client_answer->encryption_name == "absent");
}

TEST_CASE("strict-only-server: a TDS 7.x PRELOGIN gets no answer and a reset",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("strict-only-server"), proxy::ServeEncryption::Force);
    c.client.send_prelogin(support::client_prelogin(0x01));
    c.pump();
    CHECK(c.received_by_client.empty());
    CHECK(c.proxy_closed);
    CHECK(c.proxy_reset);
    const auto& r = c.record();
    CHECK(r.protocol == "tds7");
    CHECK(r.outcome == proxy::Outcome::ClosedBeforeTls);
    CHECK_THAT(r.detail, Catch::Contains("17819") && Catch::Contains("strict (TDS 8.0)"));
    REQUIRE(r.client_prelogin);
    CHECK(r.client_prelogin->encryption_name == "ON");
    CHECK_FALSE(r.upstream_answer); // nothing went up
}

TEST_CASE("strict-only-server: TLS first (TDS 8.0) is served", "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("strict-only-server"), proxy::ServeEncryption::Strict,
            lab().client_tds8_trusting_lab.get());
    c.client.start_tls_first();
    c.pump();
    REQUIRE(c.client.phase() == ServerLeg::Phase::Tls);
    c.client.send_packet(support::client_prelogin(0x02));
    c.pump();
    auto l = support::lab_login();
    l.tds_version = tds::tds_version::k80;
    c.client.send_packet(support::login7_message(l));
    c.pump();
    CHECK(c.logged_in());
    c.client_closes();
    CHECK(c.record().protocol == "tds8");
    CHECK(c.record().outcome == proxy::Outcome::LoginEncrypted);
}

TEST_CASE("redirect-wrong-host: ENVCHANGE 20 right after LOGINACK, exactly once, with the "
          "listener's port",
          "[core][proxy][tds-faults]") {
    Chain c(lab().runtime("redirect-wrong-host"), proxy::ServeEncryption::Force, nullptr, true,
            [](proxy::ProxySettings& s) { s.listen_port = 14330; });
    c.login(0x01);
    REQUIRE_FALSE(c.client_error);
    CHECK(c.logged_in());
    auto routes = routing_tokens(c.client_packets);
    REQUIRE(routes.size() == 1);
    CHECK(routes[0].protocol == 0);
    CHECK(routes[0].port == 14330);
    CHECK(routes[0].alternate_server == "sql-replica.lab.test");
    // where: the bytes right after LOGINACK are the routing token, then the server's DONE
    bool placed = false;
    for (const auto& p : c.client_packets) {
        auto pl = p.payload();
        auto scan = tds::scan_tokens(pl);
        if (!scan.login_ack) {
            continue;
        }
        auto token = tds::TokenWriter().env_routing(14330, "sql-replica.lab.test").take();
        REQUIRE(pl.size() >= scan.login_ack_end + token.size());
        CHECK(std::equal(token.begin(), token.end(),
                         pl.begin() + static_cast<std::ptrdiff_t>(scan.login_ack_end)));
        // the server's own response, routing token taken out, is what the server sent
        CHECK(scan.dones.size() >= 1);
        CHECK(p.header.status == tds::status::kEndOfMessage);
        CHECK(p.header.length == p.bytes.size());
        placed = true;
    }
    CHECK(placed);
    // later messages are not touched
    c.client.send_packet(support::sql_batch_message("SELECT 1"));
    c.pump();
    CHECK(routing_tokens(c.client_packets).size() == 1);
    c.client_closes();
    CHECK_THAT(c.record().detail,
               Catch::Contains("routed the client to sql-replica.lab.test:14330"));
    CHECK(c.record().outcome == proxy::Outcome::LoginEncrypted);
    CHECK_FALSE(c.logged("EXPOSED")); // the first connection's name is in the certificate
}

TEST_CASE("redirect-wrong-host: the routed connection is not routed again; a validating client "
          "refuses the certificate",
          "[core][proxy][tds-faults]") {
    auto login = support::lab_login();
    login.server_name = "sql-replica.lab.test";
    SECTION("a client that does not validate logs in, no routing token") {
        auto any = client_trusting_anything();
        Chain c(lab().runtime("redirect-wrong-host"), proxy::ServeEncryption::Force, any.get(),
                true, [](proxy::ProxySettings& s) { s.listen_port = 14330; });
        c.login(0x01, login);
        CHECK(c.logged_in());
        CHECK(routing_tokens(c.client_packets).empty());
        c.client_closes();
        CHECK_THAT(c.record().detail, Catch::Contains("not routed again"));
        CHECK(c.logged("EXPOSED")); // through a certificate that does not name the routed host
    }
    SECTION("a client that checks the name against sql-replica.lab.test fails the handshake") {
        Chain c(lab().runtime("redirect-wrong-host"), proxy::ServeEncryption::Force, nullptr, true,
                [](proxy::ProxySettings& s) { s.listen_port = 14330; });
        c.client = ServerLeg({lab().client_trusting_lab.get(), "sql-replica.lab.test"});
        c.login(0x01, login);
        CHECK(c.client_error);
        CHECK_FALSE(c.logged_in());
        CHECK(c.record().outcome == proxy::Outcome::Alert);
    }
}

TEST_CASE("LoginRouter: a failed login is relayed untouched and ends the watch",
          "[core][proxy][tds-faults]") {
    proxy::LoginRouter router("sql-replica.lab.test", 1433);
    tds::ServerMessage m;
    m.number = 18456;
    m.severity = 14;
    m.text = "Login failed for user 'x'.";
    auto payload = tds::TokenWriter().error(m).done(tds::done_status::kError).take();
    auto packets = tds::split_message(0x04, payload, 4096, 51);
    REQUIRE(packets.size() == 1);
    auto out = router.server_packet(packets[0], std::string("localhost"));
    REQUIRE(out.size() == 1);
    CHECK(out[0] == packets[0].bytes);
    CHECK_FALSE(router.watching());
    CHECK_FALSE(router.routed());
}

TEST_CASE("LoginRouter: a login response over several packets is held until EOM and cut again "
          "at the server's packet size",
          "[core][proxy][tds-faults]") {
    proxy::LoginRouter router("sql-replica.lab.test", 1433);
    tds::TokenWriter w;
    for (int i = 0; i < 12; ++i) {
        tds::ServerMessage info;
        info.number = 5701;
        info.text = std::string(40, 'x');
        w.info(info);
    }
    auto payload = w.login_ack(0x74000004, "Microsoft SQL Server", 16, 0, 1000).done(0).take();
    auto packets = tds::split_message(0x04, payload, 512, 51);
    REQUIRE(packets.size() > 2);
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto got = router.server_packet(packets[i], std::string("localhost"));
        if (i + 1 < packets.size()) {
            CHECK(got.empty());
        }
        out.insert(out.end(), got.begin(), got.end());
    }
    CHECK(router.routed());
    std::vector<std::uint8_t> joined;
    for (const auto& b : out) {
        CHECK(b.size() <= 512);
        joined.insert(joined.end(), b.begin() + static_cast<std::ptrdiff_t>(tds::kHeaderLen),
                      b.end());
    }
    auto scan = tds::scan_tokens(joined);
    REQUIRE(scan.login_ack);
    REQUIRE(scan.env_changes.size() == 1);
    REQUIRE(scan.env_changes[0].routing);
    CHECK(joined.size() == payload.size() + 3 + 1 + 2 + 5 + 40 + 2);
    CHECK(tds::parse_header(out.back())->status == tds::status::kEndOfMessage);
    CHECK(proxy::names_route_host("SQL-Replica.lab.test\\inst", "sql-replica.lab.test"));
    CHECK_FALSE(proxy::names_route_host("sql-replica.lab.test.evil", "sql-replica.lab.test"));
}

TEST_CASE("max_message_bytes: a client message over the limit ends that session with a record "
          "naming the limit; the packets before it were relayed, the one over it was not",
          "[core][proxy][limits]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force, nullptr, true,
            [](proxy::ProxySettings& s) { s.max_message_bytes = 8192; });
    c.login(0x01);
    REQUIRE(c.logged_in());
    REQUIRE_FALSE(c.proxy_closed);
    // A 10,000-byte SQL batch in packets of 4096: the third packet crosses 8192.
    std::vector<std::uint8_t> payload(10000, 'x');
    auto packets =
        tds::split_message(static_cast<std::uint8_t>(tds::PacketType::SqlBatch), payload, 4096, 0);
    REQUIRE(packets.size() == 3);
    c.client.send_packet(packets[0].bytes);
    c.client.send_packet(packets[1].bytes);
    c.pump();
    CHECK_FALSE(c.proxy_closed);
    c.client.send_packet(packets[2].bytes);
    auto bytes = c.client.take_output();
    auto acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, bytes});
    // Exactly: the idle timer restarted by the bytes, the warning naming the limit, the summary
    // line, the record, the close without flushing; nothing sent to the server.
    std::string detail = "limit max-message-bytes=8192 reached: a TDS message (SQL batch) from "
                         "the client is longer";
    REQUIRE(acts.size() == 5);
    CHECK(std::get<proxy::action::StartTimer>(acts[0]).timer == proxy::SessionContext::kIdleTimer);
    CHECK(std::get<proxy::action::Log>(acts[1]).level == proxy::LogLevel::Warn);
    CHECK(std::get<proxy::action::Log>(acts[1]).text == detail);
    CHECK(std::get<proxy::action::Log>(acts[2]).level == proxy::LogLevel::Info);
    CHECK_THAT(std::get<proxy::action::Log>(acts[2]).text,
               Catch::EndsWith("-> login-encrypted: " + detail));
    const auto& record = *std::get<proxy::action::Record>(acts[3]).record;
    CHECK(record.outcome == proxy::Outcome::LoginEncrypted);
    CHECK(record.detail == detail);
    const auto& close = std::get<proxy::action::Close>(acts[4]);
    CHECK(close.reason == detail);
    CHECK_FALSE(close.flush);
    CHECK_FALSE(close.reset);
}

TEST_CASE("max_message_bytes: messages up to the limit pass; a server response over it is relayed "
          "(only not scanned)",
          "[core][proxy][limits]") {
    Chain c(lab().runtime("valid"), proxy::ServeEncryption::Force, nullptr, true,
            [](proxy::ProxySettings& s) {
                s.max_message_bytes = 300;
                s.record_messages = true;
            });
    c.login(0x01);
    REQUIRE(c.logged_in());
    REQUIRE_FALSE(c.proxy_closed);
    auto before = c.client_packets.size();
    c.client.send_packet(support::sql_batch_message("SELECT @@VERSION"));
    c.pump();
    CHECK_FALSE(c.proxy_closed);
    CHECK(c.records.empty());
    REQUIRE(c.messages.size() == 1);
    CHECK(c.messages[0]->text == "SELECT @@VERSION");
    // The answer (@@VERSION in UTF-16 is longer than 300 bytes) reached the client whole.
    std::size_t answer = 0;
    for (std::size_t i = before; i < c.client_packets.size(); ++i) {
        answer += c.client_packets[i].payload().size();
    }
    CHECK(answer > 300);
    CHECK(c.logged("relayed, not scanned for errors"));
}
