// PostgreSQL through the proxy, in memory: a client (TlsStream + the pg codec, as a driver does)
// <-> ProxySession <-> PostgresServeSession (the stand-in), every byte carried by the test.

#include <algorithm>
#include <functional>
#include <random>

#include <catch2/catch.hpp>

#include <certs/channel_binding.h>
#include <pg/messages.h>
#include <proxy/core/postgres/postgres_serve_session.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tls/tls_stream.h>
#include <support/test_pki.h>

#include "../../../standin/postgres/pg_test_client.h"
#include "../test_lab.h"

using proxy::Outcome;
using support::lab;

namespace {

const std::vector<std::uint8_t> kAlpnPg = {10, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};

certs::SslCtxPtr client_ctx(bool verify, bool alpn) {
    proxy::TlsClientConfig c;
    c.verify = verify;
    if (verify) {
        c.trusted = {lab().ca->cert()};
    }
    auto ctx = *proxy::make_client_context(c);
    if (alpn) {
        SSL_CTX_set_alpn_protos(ctx.get(), kAlpnPg.data(), static_cast<unsigned>(kAlpnPg.size()));
    }
    return ctx;
}

// The stand-in's server context: the test PKI's leaf, ALPN postgresql.
const certs::SslCtxPtr& serve_ctx() {
    static certs::SslCtxPtr ctx = [] {
        const auto& pki = support::test_pki();
        proxy::TlsServerConfig s;
        s.cert = pki.leaf.cert.get();
        s.key = pki.leaf.key.get();
        s.min_version = TLS1_2_VERSION;
        s.max_version = TLS1_3_VERSION;
        s.alpn = proxy::ServerAlpn::Postgres;
        return *proxy::make_server_context(s);
    }();
    return ctx;
}

struct PgChain {
    proxy::PostgresServeSettings serve_settings;
    std::unique_ptr<proxy::PostgresServeSession> server;
    std::unique_ptr<proxy::ProxySession> proxy_session;
    certs::SslCtxPtr ctx;
    std::optional<proxy::TlsStream> tls;  // the client's TLS, once started
    std::vector<std::uint8_t> client_out; // clear bytes the client sends (before TLS)
    std::vector<std::uint8_t> client_in;  // clear bytes the client received
    std::vector<std::uint8_t> to_client, to_server, to_proxy_from_server;
    std::vector<std::shared_ptr<const proxy::SessionRecord>> records;
    std::vector<std::string> logs;
    bool proxy_closed = false;
    bool server_closed = false;
    bool pending_connect = false;
    std::optional<std::string> client_error;

    explicit PgChain(std::shared_ptr<const proxy::ScenarioRuntime> scenario,
                     const std::function<void(proxy::ProxySettings&)>& tweak = {},
                     standin::postgres::AuthMethod auth = standin::postgres::AuthMethod::Password,
                     bool verify = true, bool alpn = false)
        : ctx(client_ctx(verify, alpn)) {
        serve_settings.encryption = proxy::PostgresEncryption::Off;
        serve_settings.ctx = serve_ctx().get();
        serve_settings.tls_server_end_point =
            certs::tls_server_end_point(support::test_pki().leaf.cert.get());
        serve_settings.responder.auth = auth;
        server =
            std::make_unique<proxy::PostgresServeSession>(serve_settings, 4242, "127.0.0.1:6000");
        proxy::ProxySettings ps;
        ps.scenario = std::move(scenario);
        ps.protocol = proxy::ListenerProtocol::Postgres;
        ps.upstream.postgres = lab().upstream_any.get();
        ps.upstream_verified = true;
        ps.upstream_name = "localhost";
        if (tweak) {
            tweak(ps);
        }
        proxy_session = std::make_unique<proxy::ProxySession>(std::move(ps), 9, "127.0.0.1:5000");
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
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                proxy_closed = true;
            } else if (auto* r = std::get_if<proxy::action::Record>(&a)) {
                records.push_back(r->record);
            } else if (std::holds_alternative<proxy::action::ConnectUpstream>(a)) {
                pending_connect = true;
            } else if (auto* l = std::get_if<proxy::action::Log>(&a)) {
                logs.push_back(l->text);
            }
        }
    }
    void run_server(proxy::Actions acts) {
        for (auto& a : acts) {
            if (auto* s = std::get_if<proxy::action::Send>(&a)) {
                to_proxy_from_server.insert(to_proxy_from_server.end(), s->bytes.begin(),
                                            s->bytes.end());
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                server_closed = true;
            }
        }
    }

    // The client's side: clear bytes or TLS.
    void send(std::span<const std::uint8_t> bytes) {
        if (tls) {
            tls->write(bytes);
        } else {
            client_out.insert(client_out.end(), bytes.begin(), bytes.end());
        }
    }
    void send(const pg::Message& m) { send(pg::encode(m)); }
    void start_tls() { tls.emplace(ctx.get(), proxy::TlsRole::Client, "localhost"); }

    bool step() {
        bool moved = false;
        if (pending_connect) {
            pending_connect = false;
            moved = true;
            run_proxy(proxy_session->handle(proxy::event::Connected{}));
        }
        auto c2p = std::exchange(client_out, {});
        if (tls) {
            auto t = tls->take_output();
            c2p.insert(c2p.end(), t.begin(), t.end());
        }
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
            if (tls) {
                auto st = tls->on_ciphertext(p2c);
                if (st.error) {
                    client_error = st.error;
                }
                client_in.insert(client_in.end(), st.plaintext.begin(), st.plaintext.end());
            } else {
                client_in.insert(client_in.end(), p2c.begin(), p2c.end());
            }
        }
        return moved;
    }
    void pump() {
        for (int i = 0; i < 1000 && step(); ++i) {
        }
    }

    void ssl_request() {
        pg::StartupPacket r;
        r.kind = pg::StartupKind::SslRequest;
        r.code = pg::kSslRequestCode;
        send(pg::encode_startup(r));
        pump();
    }
    void startup(std::string user = "lab") {
        pg::StartupPacket p;
        p.kind = pg::StartupKind::Startup;
        p.code = pg::kProtocol30;
        p.parameters = {{"user", user}, {"database", "lab"}, {"application_name", "chain-test"}};
        send(pg::encode_startup(p));
        pump();
    }
    // messages: the regular messages the client received after `skip` bytes.
    std::vector<pg::Message> messages(std::size_t skip = 0) const {
        pg::MessageReader r;
        r.feed(std::span<const std::uint8_t>(client_in).subspan(skip));
        std::vector<pg::Message> out;
        while (true) {
            auto m = r.next();
            if (!m || !*m) {
                break;
            }
            out.push_back(**m);
        }
        return out;
    }
    bool received(char type, std::size_t skip = 0) const {
        auto ms = messages(skip);
        return std::any_of(ms.begin(), ms.end(),
                           [&](const pg::Message& m) { return m.type == type; });
    }
    // login: SSLRequest, TLS, startup, cleartext password.
    void login(const std::string& password = "lab-password") {
        ssl_request();
        REQUIRE(client_in == std::vector<std::uint8_t>{'S'});
        client_in.clear();
        start_tls();
        pump();
        if (client_error) {
            return;
        }
        startup();
        send(pg::password(password));
        pump();
    }
    void client_closes() {
        run_proxy(proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
        pump();
        if (!proxy_closed) {
            run_proxy(proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""}));
        }
    }
    const proxy::SessionRecord& record() const {
        REQUIRE(records.size() == 1);
        return *records.front();
    }
    bool logged(const std::string& needle) const {
        return std::any_of(logs.begin(), logs.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    }
};

} // namespace

TEST_CASE("postgres valid: SSLRequest, TLS, startup and password through the proxy",
          "[core][postgres]") {
    PgChain c(lab().runtime("valid"));
    c.login();
    REQUIRE_FALSE(c.client_error);
    CHECK(c.received(pg::backend::kReadyForQuery));
    auto before = c.client_in.size();
    c.send(pg::query("SELECT 1"));
    c.pump();
    auto reply = c.messages(before);
    REQUIRE(reply.size() >= 3);
    CHECK(reply.front().type == pg::backend::kRowDescription);
    CHECK(reply.back().type == pg::backend::kReadyForQuery);
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "postgres");
    CHECK(r.outcome == Outcome::LoginEncrypted);
    REQUIRE(r.postgres);
    CHECK(r.postgres->negotiation == "SSLRequest answered S");
    CHECK(r.postgres->ssl_answer == "S");
    CHECK(r.postgres->upstream_answer == "S");
    CHECK(r.postgres->protocol_version == "3.0");
    CHECK(r.postgres->auth_method == "password");
    CHECK(r.postgres->authenticated);
    REQUIRE(r.login);
    CHECK(r.login->user_name == "lab");
    CHECK(r.login->database == "lab");
    CHECK(r.login->app_name == "chain-test");
    CHECK(r.login->through_tls);
    CHECK(r.login->password_length == 12);
    CHECK_FALSE(r.login->password);
    CHECK(r.client_tls.established);
    CHECK(r.upstream_verification == "verified");
    CHECK_FALSE(c.logged("EXPOSED"));
}

TEST_CASE("postgres: the password is kept only with reveal_secrets, and a broken certificate the "
          "client accepted is called out",
          "[core][postgres]") {
    PgChain c(
        lab().runtime("self-signed"), [](proxy::ProxySettings& s) { s.reveal_secrets = true; },
        standin::postgres::AuthMethod::Password, /*verify=*/false);
    c.login();
    REQUIRE_FALSE(c.client_error);
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginEncrypted);
    REQUIRE(r.login);
    CHECK(r.login->password == "lab-password");
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with password 'lab-password'"));
    CHECK(c.logged("through the 'self-signed' certificate"));
}

TEST_CASE("postgres: a validating client refuses a self-signed certificate with its alert",
          "[core][postgres]") {
    PgChain c(lab().runtime("self-signed"));
    c.ssl_request();
    c.client_in.clear();
    c.start_tls();
    c.pump();
    CHECK(c.client_error);
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::Alert);
    REQUIRE(r.alert);
    CHECK(r.alert->name == "unknown_ca");
    CHECK_FALSE(r.login);
}

TEST_CASE("pg-ssl-refused: the client is answered N; one that goes on sends its password in clear",
          "[core][postgres][downgrade]") {
    PgChain c(lab().runtime("pg-ssl-refused"));
    c.ssl_request();
    REQUIRE(c.client_in == std::vector<std::uint8_t>{'N'});
    c.client_in.clear();
    c.startup();
    c.send(pg::password("lab-password"));
    c.pump();
    CHECK(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginPlaintext);
    REQUIRE(r.postgres);
    CHECK(r.postgres->negotiation == "SSLRequest answered N, then plaintext");
    CHECK(r.postgres->upstream_answer == "S"); // the server leg stays encrypted
    CHECK(r.upstream_mode == tds::EncryptionMode::Full);
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with a 12-character password in clear"));
    CHECK(c.logged("in PLAINTEXT"));
}

TEST_CASE("pg-ssl-refused: a ClientHello after the N is not direct SSL: the connection closes, as "
          "PostgreSQL closes it (invalid length of startup packet)",
          "[core][postgres][downgrade]") {
    PgChain c(lab().runtime("pg-ssl-refused"));
    c.ssl_request();
    REQUIRE(c.client_in == std::vector<std::uint8_t>{'N'});
    c.client_in.clear();
    c.start_tls(); // postgres.js in sslmode require: TLS anyway
    c.pump();
    CHECK(c.proxy_closed);
    CHECK(c.client_in.empty()); // no ServerHello, no message: the connection just ends
    REQUIRE(c.records.size() == 1);
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::ProtocolError);
    CHECK_THAT(r.detail, Catch::Contains("invalid length of startup packet"));
    REQUIRE(r.postgres);
    CHECK_FALSE(r.postgres->direct_ssl);
}

TEST_CASE("postgres: a plaintext StartupMessage is relayed, or refused as a hostssl-only server "
          "refuses it",
          "[core][postgres]") {
    SECTION("accepted") {
        PgChain c(lab().runtime("valid"));
        c.startup();
        c.send(pg::password("lab-password"));
        c.pump();
        CHECK(c.received(pg::backend::kReadyForQuery));
        c.client_closes();
        CHECK(c.record().outcome == Outcome::LoginPlaintext);
        CHECK(c.record().postgres->negotiation == "plaintext");
        CHECK(c.record().upstream_mode == tds::EncryptionMode::None); // mirrored in clear
    }
    SECTION("refused") {
        PgChain c(lab().runtime("valid"),
                  [](proxy::ProxySettings& s) { s.postgres_refuse_plaintext = true; });
        c.startup();
        auto ms = c.messages();
        REQUIRE(ms.size() == 1);
        REQUIRE(ms[0].type == pg::backend::kErrorResponse);
        auto n = pg::decode_notice(ms[0].body);
        REQUIRE(n);
        CHECK(n->sqlstate() == "28000");
        CHECK(n->message() == "no pg_hba.conf entry for host \"127.0.0.1\", user \"lab\", "
                              "database \"lab\", no encryption");
        CHECK(c.proxy_closed);
        CHECK(c.record().outcome == Outcome::LoginPlaintext);
    }
}

TEST_CASE("postgres: GSSENCRequest is answered N, then SSLRequest goes on", "[core][postgres]") {
    PgChain c(lab().runtime("valid"));
    pg::StartupPacket g;
    g.kind = pg::StartupKind::GssEncRequest;
    g.code = pg::kGssEncRequestCode;
    c.send(pg::encode_startup(g));
    c.pump();
    REQUIRE(c.client_in == std::vector<std::uint8_t>{'N'});
    c.client_in.clear();
    c.login();
    CHECK(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    CHECK(c.record().postgres->negotiation == "GSSENCRequest, then SSLRequest answered S");
}

TEST_CASE("postgres direct SSL: ALPN postgresql required, as PostgreSQL 17",
          "[core][postgres][direct]") {
    SECTION("with ALPN") {
        PgChain c(lab().runtime("valid"), {}, standin::postgres::AuthMethod::Password, true, true);
        c.start_tls();
        c.pump();
        REQUIRE_FALSE(c.client_error);
        c.startup();
        c.send(pg::password("lab-password"));
        c.pump();
        CHECK(c.received(pg::backend::kReadyForQuery));
        c.client_closes();
        const auto& r = c.record();
        CHECK(r.outcome == Outcome::LoginEncrypted);
        CHECK(r.postgres->direct_ssl);
        CHECK(r.postgres->negotiation == "direct SSL");
        CHECK(r.client_tls.alpn == "postgresql");
    }
    SECTION("without ALPN: the handshake completes, then the server closes") {
        PgChain c(lab().runtime("valid"), {}, standin::postgres::AuthMethod::Password, true, false);
        c.start_tls();
        c.pump();
        CHECK(c.proxy_closed);
        const auto& r = c.record();
        CHECK(r.outcome == Outcome::ClosedAfterHandshake);
        CHECK(r.detail.find("direct SSL without ALPN") != std::string::npos);
    }
    SECTION("pg-no-alpn: a server that selects no ALPN lets the handshake through") {
        PgChain c(lab().runtime("pg-no-alpn"), {}, standin::postgres::AuthMethod::Password, true,
                  true);
        c.start_tls();
        c.pump();
        REQUIRE_FALSE(c.client_error);
        CHECK_FALSE(c.proxy_closed);
    }
}

TEST_CASE("postgres: an auto listener tells an SSLRequest from a PRELOGIN", "[core][postgres]") {
    PgChain c(lab().runtime("valid"),
              [](proxy::ProxySettings& s) { s.protocol = proxy::ListenerProtocol::Auto; });
    c.login();
    CHECK(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    CHECK(c.record().protocol == "postgres");
}

TEST_CASE("postgres: a CancelRequest is relayed untouched to the upstream", "[core][postgres]") {
    PgChain c(lab().runtime("valid"));
    pg::StartupPacket cancel;
    cancel.kind = pg::StartupKind::CancelRequest;
    cancel.code = pg::kCancelRequestCode;
    cancel.process_id = 4242;
    cancel.secret_key = {1, 2, 3, 4};
    c.send(pg::encode_startup(cancel));
    c.pump();
    CHECK(c.server_closed); // the stand-in has nothing to cancel and closes, as PostgreSQL does
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""}));
    const auto& r = c.record();
    REQUIRE(r.postgres);
    CHECK(r.postgres->cancel_request);
    CHECK(r.postgres->negotiation == "CancelRequest");
}

TEST_CASE("postgres: data behind the SSLRequest is refused, as PostgreSQL refuses it",
          "[core][postgres]") {
    PgChain c(lab().runtime("valid"));
    pg::StartupPacket r;
    r.kind = pg::StartupKind::SslRequest;
    r.code = pg::kSslRequestCode;
    auto bytes = pg::encode_startup(r);
    bytes.push_back('Q');
    c.send(bytes);
    c.pump();
    CHECK(c.proxy_closed);
    auto ms = c.messages();
    REQUIRE(ms.size() == 1);
    auto n = pg::decode_notice(ms[0].body);
    REQUIRE(n);
    CHECK(n->message() == "received unencrypted data after SSL request");
    CHECK(c.record().outcome == Outcome::ProtocolError);
}

TEST_CASE("postgres: hostile bytes end the session with one record, never a crash",
          "[core][postgres][hostile]") {
    std::mt19937 rng(20261129);
    for (int i = 0; i < 200; ++i) {
        PgChain c(lab().runtime("valid"));
        std::vector<std::uint8_t> junk(1 + rng() % 64);
        for (auto& b : junk) {
            b = static_cast<std::uint8_t>(rng());
        }
        if (i % 2 == 0) {
            junk[0] = 0; // look like a startup packet
        }
        c.send(junk);
        c.pump();
        c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
        CHECK(c.records.size() == 1);
    }
}

namespace {

// scram_login: SSLRequest, TLS, startup, then SCRAM as a driver does it: PLUS when offered and
// `plus`, binding to the certificate the client was shown; otherwise 'y' (libpq's prefer over
// TLS) or 'n'.
void scram_login(PgChain& c, bool plus, char flag_without_plus = 'y') {
    c.ssl_request();
    REQUIRE(c.client_in == std::vector<std::uint8_t>{'S'});
    c.client_in.clear();
    c.start_tls();
    c.pump();
    REQUIRE_FALSE(c.client_error);
    c.startup();
    auto ms = c.messages();
    REQUIRE(ms.size() == 1);
    auto request = pg::decode_auth_request(ms[0].body);
    REQUIRE(request);
    REQUIRE(request->code == static_cast<std::uint32_t>(pg::AuthCode::Sasl));
    bool offered_plus = std::find(request->mechanisms.begin(), request->mechanisms.end(),
                                  "SCRAM-SHA-256-PLUS") != request->mechanisms.end();
    std::optional<pgtest::ScramClient> scram;
    if (plus && offered_plus) {
        auto binding = certs::tls_server_end_point(c.tls->endpoint().peer_certificate());
        scram.emplace("lab-password", 'p', binding);
    } else {
        scram.emplace("lab-password", flag_without_plus);
    }
    auto before = c.client_in.size();
    c.send(pgtest::sasl_initial(scram->mechanism(), scram->client_first()));
    c.pump();
    auto next = c.messages(before);
    REQUIRE_FALSE(next.empty());
    if (next[0].type != pg::backend::kAuthentication) {
        return; // refused at the first message
    }
    auto cont = pg::decode_auth_request(next[0].body);
    REQUIRE(cont);
    std::string server_first(cont->data.begin(), cont->data.end());
    before = c.client_in.size();
    c.send(pgtest::sasl_response(scram->client_final(server_first)));
    c.pump();
}

std::string first_error(const PgChain& c) {
    for (const auto& m : c.messages()) {
        if (m.type == pg::backend::kErrorResponse) {
            return pg::decode_notice(m.body)->message();
        }
    }
    return {};
}

} // namespace

TEST_CASE("postgres SCRAM-SHA-256-PLUS: the server refuses a binding to the lab's certificate, and "
          "the record says the client's channel binding defeated the interception",
          "[core][postgres][scram]") {
    PgChain c(lab().runtime("valid"), {}, standin::postgres::AuthMethod::ScramSha256);
    scram_login(c, true);
    CHECK(first_error(c) == "SCRAM channel binding check failed");
    CHECK_FALSE(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    const auto& r = c.record();
    REQUIRE(r.postgres);
    CHECK(r.postgres->auth_method == "SCRAM-SHA-256-PLUS");
    CHECK(r.postgres->channel_binding == "used (tls-server-end-point)");
    CHECK(r.postgres->sasl_offered ==
          std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    CHECK(r.postgres->channel_binding_defeated);
    CHECK_FALSE(r.postgres->authenticated);
    CHECK(r.postgres->auth_error == "28000 SCRAM channel binding check failed");
    CHECK(c.logged("the client's channel binding defeated the interception"));
    CHECK(r.outcome == Outcome::LoginEncrypted); // it accepted the certificate and went on
}

TEST_CASE("postgres SCRAM without binding through the proxy: authenticated, nothing exposed",
          "[core][postgres][scram]") {
    PgChain c(lab().runtime("valid"), {}, standin::postgres::AuthMethod::ScramSha256);
    scram_login(c, false, 'n');
    CHECK(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.postgres->auth_method == "SCRAM-SHA-256");
    CHECK(r.postgres->channel_binding == "not supported (n)");
    CHECK(r.postgres->authenticated);
    CHECK_FALSE(c.logged("EXPOSED"));
}

TEST_CASE("pg-no-channel-binding: PLUS is stripped; a client that says 'y' is caught by a server "
          "that supports binding",
          "[core][postgres][scram][downgrade]") {
    PgChain c(lab().runtime("pg-no-channel-binding"), {},
              standin::postgres::AuthMethod::ScramSha256);
    scram_login(c, true); // PLUS is not offered: the client falls back with 'y'
    CHECK(first_error(c) == "SCRAM channel binding negotiation error");
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.postgres->sasl_offered == std::vector<std::string>{"SCRAM-SHA-256"});
    CHECK(r.postgres->channel_binding == "supported, not used (y)");
    CHECK_FALSE(r.postgres->authenticated);
    CHECK(c.logged("removed SCRAM-SHA-256-PLUS"));
    CHECK(c.logged("SCRAM caught it"));
}

TEST_CASE("postgres md5: the hash is masked unless reveal_secrets, and called out in clear",
          "[core][postgres]") {
    PgChain c(lab().runtime("pg-ssl-refused"), {}, standin::postgres::AuthMethod::Md5);
    c.ssl_request();
    c.client_in.clear();
    c.startup();
    auto ms = c.messages();
    REQUIRE(ms.size() == 1);
    auto request = pg::decode_auth_request(ms[0].body);
    REQUIRE(request);
    REQUIRE(request->code == static_cast<std::uint32_t>(pg::AuthCode::Md5Password));
    std::string salt(request->salt.begin(), request->salt.end());
    std::string inner = pgtest::md5_hex("lab-password" + std::string("lab"));
    c.send(pg::password("md5" + pgtest::md5_hex(inner + salt)));
    c.pump();
    CHECK(c.received(pg::backend::kReadyForQuery));
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.postgres->auth_method == "md5");
    CHECK_FALSE(r.postgres->md5_hash);
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with an MD5 password response"));
}

TEST_CASE("postgres passthrough: bytes untouched, the negotiation and the login still recorded",
          "[core][postgres][passthrough]") {
    PgChain c(lab().runtime("passthrough"), {}, standin::postgres::AuthMethod::Password,
              /*verify=*/false);
    c.login();
    REQUIRE_FALSE(c.client_error);
    CHECK(c.received(pg::backend::kReadyForQuery));
    // The client met the stand-in's own certificate, not a scenario's.
    CHECK(X509_cmp(c.tls->endpoint().peer_certificate(), support::test_pki().leaf.cert.get()) == 0);
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "postgres");
    CHECK(r.outcome == Outcome::LoginEncrypted);
    REQUIRE(r.postgres);
    CHECK(r.postgres->negotiation == "SSLRequest answered S");
}

TEST_CASE("postgres passthrough: a client that refuses the certificate is recorded with its alert",
          "[core][postgres][passthrough]") {
    PgChain c(lab().runtime("passthrough")); // verifies against the lab CA: the stand-in's
                                             // certificate is from another CA
    c.ssl_request();
    c.client_in.clear();
    c.start_tls();
    c.pump();
    CHECK(c.client_error);
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    const auto& r = c.record();
    CHECK(r.protocol == "postgres");
    CHECK(r.outcome == Outcome::Alert);
    REQUIRE(r.alert);
    CHECK(r.alert->name == "unknown_ca");
}

TEST_CASE("postgres max_message_bytes: a client message over the limit ends that session, exactly",
          "[core][postgres][limits]") {
    PgChain c(lab().runtime("valid"), [](proxy::ProxySettings& s) { s.max_message_bytes = 4096; });
    c.login();
    REQUIRE_FALSE(c.client_error);
    REQUIRE(c.received(pg::backend::kReadyForQuery));
    // Under the limit: relayed and answered.
    auto before = c.client_in.size();
    c.send(pg::query("SELECT 1"));
    c.pump();
    CHECK(c.received(pg::backend::kReadyForQuery, before));
    REQUIRE_FALSE(c.proxy_closed);
    // Over it: the header alone says so; nothing reaches the server.
    c.send(pg::query(std::string(5000, 'x')));
    auto bytes = c.tls->take_output();
    auto acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, bytes});
    std::string detail =
        "limit max-message-bytes=4096 reached: a PostgreSQL message from the client is longer";
    REQUIRE(acts.size() == 5);
    CHECK(std::get<proxy::action::StartTimer>(acts[0]).timer == proxy::SessionContext::kIdleTimer);
    CHECK(std::get<proxy::action::Log>(acts[1]).level == proxy::LogLevel::Warn);
    CHECK(std::get<proxy::action::Log>(acts[1]).text == detail);
    CHECK_THAT(std::get<proxy::action::Log>(acts[2]).text,
               Catch::EndsWith("-> login-encrypted: " + detail));
    const auto& record = *std::get<proxy::action::Record>(acts[3]).record;
    CHECK(record.outcome == Outcome::LoginEncrypted);
    CHECK(record.detail == detail);
    CHECK_FALSE(std::get<proxy::action::Close>(acts[4]).flush);
}

TEST_CASE("postgres stand-in max_message_bytes: FATAL invalid message length, the limit logged",
          "[core][postgres][limits]") {
    proxy::PostgresServeSettings settings;
    settings.encryption = proxy::PostgresEncryption::None;
    settings.responder.auth = standin::postgres::AuthMethod::Trust;
    settings.max_message_bytes = 1024;
    proxy::PostgresServeSession s(settings, 1, "127.0.0.1:1");
    s.handle(proxy::event::Started{});
    pg::StartupPacket p;
    p.kind = pg::StartupKind::Startup;
    p.code = pg::kProtocol30;
    p.parameters = {{"user", "lab"}, {"database", "lab"}};
    auto startup = pg::encode_startup(p);
    auto login = s.handle(proxy::event::BytesReceived{proxy::Side::Client, startup});
    REQUIRE_FALSE(login.empty());
    auto big = pg::encode(pg::query(std::string(2000, 'x')));
    auto acts = s.handle(proxy::event::BytesReceived{proxy::Side::Client,
                                                     std::span<const std::uint8_t>(big).first(5)});
    REQUIRE(acts.size() == 3);
    const auto& fatal = std::get<proxy::action::Send>(acts[0]).bytes;
    CHECK(std::string(fatal.begin(), fatal.end()).find("invalid message length") !=
          std::string::npos);
    CHECK(std::get<proxy::action::Log>(acts[1]).text ==
          "limit max-message-bytes=1024 reached: a PostgreSQL message from the client is longer");
    CHECK(std::get<proxy::action::Close>(acts[2]).flush);
}
