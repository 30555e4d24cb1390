// MySQL/MariaDB through the proxy, in memory: a client (TlsStream + the mysql codec, with its
// own scrambles, as a driver does) <-> ProxySession <-> MysqlServeSession (the stand-in), every
// byte carried by the test.

#include <algorithm>
#include <functional>
#include <random>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>
#include <proxy/core/mysql/mysql_serve_session.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tls/tls_stream.h>
#include <standin/mysql/auth_crypto.h>
#include <support/test_pki.h>

#include "../test_lab.h"

using proxy::Outcome;
using support::lab;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes digest(const EVP_MD* md, std::span<const std::uint8_t> a,
             std::span<const std::uint8_t> b = {}) {
    Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, md, nullptr);
    EVP_DigestUpdate(c, a.data(), a.size());
    EVP_DigestUpdate(c, b.data(), b.size());
    unsigned len = 0;
    EVP_DigestFinal_ex(c, out.data(), &len);
    EVP_MD_CTX_free(c);
    return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The client's scrambles, written from the MySQL docs ("Native Authentication", "Caching SHA-2
// Pluggable Authentication"), independent of the stand-in's.
Bytes native_response(std::string_view password, std::span<const std::uint8_t> scramble) {
    auto h1 = digest(EVP_sha1(), bytes_of(password));
    auto h2 = digest(EVP_sha1(), h1);
    auto h3 = digest(EVP_sha1(), scramble, h2);
    for (std::size_t i = 0; i < h1.size(); ++i) {
        h1[i] ^= h3[i];
    }
    return h1;
}

Bytes caching_sha2_response(std::string_view password, std::span<const std::uint8_t> scramble) {
    auto h1 = digest(EVP_sha256(), bytes_of(password));
    auto h2 = digest(EVP_sha256(), h1);
    auto h3 = digest(EVP_sha256(), h2, scramble);
    for (std::size_t i = 0; i < h1.size(); ++i) {
        h1[i] ^= h3[i];
    }
    return h1;
}

// rsa_password: caching_sha2_password's full authentication without TLS: the password and its
// NUL, XOR the scramble (cycled), RSA-OAEP-encrypted to the server's public key (PEM).
Bytes rsa_password(std::string_view password, std::span<const std::uint8_t> scramble,
                   std::span<const std::uint8_t> pem) {
    Bytes plain(password.begin(), password.end());
    plain.push_back(0);
    for (std::size_t i = 0; i < plain.size(); ++i) {
        plain[i] ^= scramble[i % scramble.size()];
    }
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(key != nullptr);
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(key, nullptr);
    REQUIRE(EVP_PKEY_encrypt_init(c) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1);
    std::size_t len = 0;
    REQUIRE(EVP_PKEY_encrypt(c, nullptr, &len, plain.data(), plain.size()) == 1);
    Bytes out(len);
    REQUIRE(EVP_PKEY_encrypt(c, out.data(), &len, plain.data(), plain.size()) == 1);
    out.resize(len);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(key);
    return out;
}

Bytes password_in_clear(std::string_view password) {
    Bytes b(password.begin(), password.end());
    b.push_back(0);
    return b;
}

certs::SslCtxPtr client_ctx(bool verify) {
    proxy::TlsClientConfig c;
    c.verify = verify;
    if (verify) {
        c.trusted = {lab().ca->cert()};
    }
    return *proxy::make_client_context(c);
}

// The stand-in's server context: the test PKI's leaf, TLS 1.2-1.3, no ALPN (as MySQL).
const certs::SslCtxPtr& serve_ctx() {
    static certs::SslCtxPtr ctx = [] {
        const auto& pki = support::test_pki();
        proxy::TlsServerConfig s;
        s.cert = pki.leaf.cert.get();
        s.key = pki.leaf.key.get();
        s.min_version = TLS1_2_VERSION;
        s.max_version = TLS1_3_VERSION;
        return *proxy::make_server_context(s);
    }();
    return ctx;
}

Bytes leaf_sha256() {
    unsigned char* der = nullptr;
    int len = i2d_X509(support::test_pki().leaf.cert.get(), &der);
    REQUIRE(len > 0);
    Bytes out = digest(EVP_sha256(), {der, static_cast<std::size_t>(len)});
    OPENSSL_free(der);
    return out;
}

constexpr std::uint32_t kClientCaps =
    mysql::cap::LongPassword | mysql::cap::LongFlag | mysql::cap::ConnectWithDb |
    mysql::cap::Protocol41 | mysql::cap::Transactions | mysql::cap::SecureConnection |
    mysql::cap::MultiStatements | mysql::cap::MultiResults | mysql::cap::PluginAuth |
    mysql::cap::ConnectAttrs | mysql::cap::PluginAuthLenencData | mysql::cap::DeprecateEof;

struct ChainOptions {
    std::function<void(proxy::ProxySettings&)> tweak = {};
    standin::mysql::Flavour flavour = standin::mysql::Flavour::Mysql80;
    std::optional<standin::mysql::AuthPlugin> auth = std::nullopt;
    proxy::MysqlEncryption encryption = proxy::MysqlEncryption::On;
    bool verify = true;       // the client verifies against the lab CA
    bool start_server = true; // false: the test plays the server's bytes itself
    bool drip = false;        // deliver every byte to the proxy on its own
};

struct MyChain {
    proxy::MysqlServeSettings serve_settings;
    std::unique_ptr<proxy::MysqlServeSession> server;
    std::unique_ptr<proxy::ProxySession> proxy_session;
    certs::SslCtxPtr ctx;
    bool drip = false;
    bool hold_server = false;             // keep the server's bytes from the proxy for now
    std::optional<proxy::TlsStream> tls;  // the client's TLS, once started
    std::vector<std::uint8_t> client_out; // clear bytes the client sends (before TLS)
    std::vector<std::uint8_t> client_in;  // clear bytes the client received, not yet read
    std::vector<std::uint8_t> to_client, to_server, to_proxy_from_server;
    std::vector<std::uint8_t> server_sent; // everything the stand-in sent (its own view)
    std::vector<std::uint8_t> proxy_sent_to_server;
    std::vector<std::shared_ptr<const proxy::SessionRecord>> records;
    std::vector<std::shared_ptr<const proxy::MessageRecord>> messages;
    std::vector<std::string> logs;
    bool proxy_closed = false;
    bool server_closed = false;
    bool pending_connect = false;
    std::optional<std::string> client_error;
    mysql::PacketReader reader;
    std::optional<mysql::Handshake> greeting;
    std::uint32_t caps = 0; // the client's capabilities

    explicit MyChain(std::shared_ptr<const proxy::ScenarioRuntime> scenario,
                     const ChainOptions& o = {})
        : ctx(client_ctx(o.verify)), drip(o.drip) {
        serve_settings.encryption = o.encryption;
        serve_settings.ctx = serve_ctx().get();
        serve_settings.certificate_sha256 = leaf_sha256();
        serve_settings.responder.flavour = o.flavour;
        serve_settings.responder.auth = o.auth;
        server = std::make_unique<proxy::MysqlServeSession>(serve_settings, 4242, "127.0.0.1:6000");
        proxy::ProxySettings ps;
        ps.scenario = std::move(scenario);
        ps.protocol = proxy::ListenerProtocol::Mysql;
        ps.upstream.mysql = lab().upstream_any.get();
        ps.upstream_verified = true;
        ps.upstream_name = "localhost";
        if (o.tweak) {
            o.tweak(ps);
        }
        proxy_session = std::make_unique<proxy::ProxySession>(std::move(ps), 9, "127.0.0.1:5000");
        run_proxy(proxy_session->handle(proxy::event::Started{}));
        if (o.start_server) {
            run_server(server->handle(proxy::event::Started{}));
        }
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
            } else if (auto* m = std::get_if<proxy::action::Message>(&a)) {
                messages.push_back(m->message);
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
                server_sent.insert(server_sent.end(), s->bytes.begin(), s->bytes.end());
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                server_closed = true;
            }
        }
    }
    void to_proxy(proxy::Side side, std::span<const std::uint8_t> bytes) {
        if (!drip) {
            run_proxy(proxy_session->handle(proxy::event::BytesReceived{side, bytes}), bytes);
            return;
        }
        for (std::size_t i = 0; i < bytes.size() && !proxy_closed; ++i) {
            run_proxy(proxy_session->handle(proxy::event::BytesReceived{side, bytes.subspan(i, 1)}),
                      bytes.subspan(i, 1));
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
    void send(std::uint8_t sequence, std::span<const std::uint8_t> payload) {
        send(mysql::frame(sequence, payload));
    }
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
            to_proxy(proxy::Side::Client, c2p);
        }
        auto p2s = std::exchange(to_server, {});
        proxy_sent_to_server.insert(proxy_sent_to_server.end(), p2s.begin(), p2s.end());
        if (!p2s.empty() && !server_closed) {
            moved = true;
            run_server(server->handle(proxy::event::BytesReceived{proxy::Side::Client, p2s}));
        }
        auto s2p = hold_server ? Bytes{} : std::exchange(to_proxy_from_server, {});
        if (!s2p.empty() && !proxy_closed) {
            moved = true;
            to_proxy(proxy::Side::Server, s2p);
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

    // next: the next whole packet the client received, if any.
    std::optional<mysql::Packet> next() {
        reader.feed(std::exchange(client_in, {}));
        auto p = reader.next();
        REQUIRE(p);
        return *p;
    }
    mysql::Packet expect_packet() {
        auto p = next();
        REQUIRE(p);
        return *p;
    }

    // The greeting, as the client was shown it.
    const mysql::Handshake& read_greeting() {
        pump();
        auto p = expect_packet();
        CHECK(p.sequence == 0);
        auto g = mysql::decode_handshake(p.payload);
        REQUIRE(g);
        greeting = *g;
        return *greeting;
    }
    void ssl_request() {
        caps = (kClientCaps & greeting->capabilities) | mysql::cap::Ssl;
        mysql::SslRequest r;
        r.capabilities = caps;
        r.max_packet_size = 16 * 1024 * 1024;
        r.character_set = mysql::charset::Utf8mb4GeneralCi;
        send(1, mysql::encode_ssl_request(r));
        start_tls(); // no answer: the ClientHello follows at once
        pump();
    }
    // response: the HandshakeResponse41 at `sequence`, answering the greeting's scramble.
    void response(std::uint8_t sequence, const std::string& plugin,
                  const std::string& password = "lab-password", const std::string& user = "lab") {
        if (caps == 0) {
            caps = kClientCaps & greeting->capabilities;
        }
        mysql::HandshakeResponse r;
        r.capabilities = caps;
        r.max_packet_size = 16 * 1024 * 1024;
        r.character_set = mysql::charset::Utf8mb4GeneralCi;
        r.user = user;
        r.database = "lab";
        r.auth_plugin = plugin;
        if (plugin == "mysql_native_password") {
            r.auth_response = native_response(password, greeting->auth_plugin_data);
        } else if (plugin == "caching_sha2_password") {
            r.auth_response = caching_sha2_response(password, greeting->auth_plugin_data);
        } else if (plugin == "mysql_clear_password") {
            r.auth_response = password_in_clear(password);
        }
        r.attributes = {{"_client_name", "libmysql"},
                        {"_client_version", "8.0.40"},
                        {"program_name", "chain-test"}};
        send(sequence, mysql::encode_handshake_response(r));
        pump();
    }
    // authenticate: answer what the server asks until OK or ERR; returns that last packet.
    mysql::Packet authenticate(const std::string& password = "lab-password") {
        Bytes scramble = greeting->auth_plugin_data;
        for (int round = 0; round < 8; ++round) {
            auto p = expect_packet();
            REQUIRE_FALSE(p.payload.empty());
            auto next_seq = static_cast<std::uint8_t>(p.sequence + 1);
            switch (p.payload[0]) {
            case 0x00:
            case 0xFF:
                return p;
            case 0xFE: {
                auto sw = mysql::decode_auth_switch(p.payload);
                REQUIRE(sw);
                scramble = sw->data;
                if (!scramble.empty() && scramble.back() == 0) {
                    scramble.pop_back();
                }
                if (sw->plugin == "mysql_native_password") {
                    send(next_seq, native_response(password, scramble));
                } else if (sw->plugin == "caching_sha2_password") {
                    send(next_seq, caching_sha2_response(password, scramble));
                } else if (sw->plugin == "mysql_clear_password") {
                    send(next_seq, password_in_clear(password));
                } else {
                    FAIL("unexpected plugin " << sw->plugin);
                }
                break;
            }
            case 0x01:
                if (p.payload.size() == 2 && p.payload[1] == 0x04) {
                    // Full authentication: the password in clear over TLS; without TLS, ask
                    // for the server's RSA key (as --get-server-public-key).
                    send(next_seq, tls ? password_in_clear(password) : Bytes{0x02});
                } else if (p.payload.size() == 2 && p.payload[1] == 0x03) {
                    // fast path: OK follows
                } else {
                    REQUIRE_FALSE(tls);
                    send(next_seq,
                         rsa_password(password, scramble, std::span(p.payload).subspan(1)));
                }
                break;
            default:
                FAIL("unexpected packet during authentication");
            }
            pump();
        }
        FAIL("no end of authentication");
        return {};
    }
    // query: COM_QUERY at seq 0; the first packet of the answer.
    mysql::Packet query(const std::string& sql) {
        Bytes payload{0x03};
        payload.insert(payload.end(), sql.begin(), sql.end());
        send(0, payload);
        pump();
        auto p = expect_packet();
        CHECK(p.sequence == 1);
        while (next()) {
        }
        return p;
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
    const proxy::MysqlSummary& summary() const {
        REQUIRE(record().mysql);
        return *record().mysql;
    }
    bool logged(const std::string& needle) const {
        return std::any_of(logs.begin(), logs.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    }
    // tls_login: greeting, SSLRequest, TLS, HandshakeResponse (seq 2), authentication.
    mysql::Packet tls_login(const std::string& plugin,
                            const std::string& password = "lab-password") {
        read_greeting();
        ssl_request();
        if (client_error) {
            return {};
        }
        REQUIRE(tls->established());
        response(2, plugin, password);
        return authenticate(password);
    }
};

} // namespace

TEST_CASE("mysql valid: greeting, SSLRequest, TLS, caching_sha2_password full authentication "
          "through the proxy",
          "[core][mysql]") {
    standin::mysql::forget_cached_logins();
    MyChain c(lab().runtime("valid"));
    auto end = c.tls_login("caching_sha2_password");
    REQUIRE_FALSE(c.client_error);
    CHECK(end.payload[0] == 0x00);
    CHECK(end.sequence == 5); // response 2, 0x01 0x04 at 3, password 4, OK 5
    auto answer = c.query("SELECT 1");
    CHECK(answer.payload == Bytes{0x01}); // one column
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "mysql");
    CHECK(r.outcome == Outcome::LoginEncrypted);
    const auto& s = c.summary();
    CHECK(s.server_version == "8.0.40");
    CHECK_FALSE(s.server_is_mariadb);
    CHECK(s.upstream_offered_ssl);
    CHECK(s.client_shown_ssl);
    CHECK(s.ssl_request);
    CHECK(s.negotiation == "SSLRequest");
    CHECK(s.upstream_leg == "TLS");
    CHECK(s.client_plugin == "caching_sha2_password");
    CHECK(s.auth_plugins == std::vector<std::string>{"caching_sha2_password"});
    CHECK(s.auth_path == "full: password in clear (TLS)");
    CHECK(s.password_read);
    CHECK(s.authenticated);
    CHECK(s.auth_error.empty());
    CHECK(s.commands_after_ok);
    CHECK(s.first_command == "COM_QUERY");
    CHECK((s.client_capabilities & mysql::cap::Ssl) != 0);
    REQUIRE(r.login);
    CHECK(r.login->user_name == "lab");
    CHECK(r.login->database == "lab");
    CHECK(r.login->app_name == "chain-test");
    CHECK(r.login->library_name == "libmysql 8.0.40");
    CHECK(r.login->through_tls);
    CHECK(r.login->password_length == 12);
    CHECK_FALSE(r.login->password); // masked without reveal_secrets
    CHECK(r.client_tls.established);
    CHECK(r.upstream_tls.established);
    CHECK(r.upstream_verification == "verified");
    CHECK_FALSE(c.logged("EXPOSED"));
    CHECK(c.logged("SSLRequest, server leg TLS"));
}

TEST_CASE("mysql: the greeting is relayed faithfully, CLIENT_SSL aside", "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.encryption = proxy::MysqlEncryption::Off});
    c.read_greeting();
    mysql::PacketReader r;
    r.feed(c.server_sent);
    auto original = r.next();
    REQUIRE(original);
    REQUIRE(*original);
    auto upstream = mysql::decode_handshake((*original)->payload);
    REQUIRE(upstream);
    CHECK((upstream->capabilities & mysql::cap::Ssl) == 0);   // the stand-in with encryption off
    CHECK((c.greeting->capabilities & mysql::cap::Ssl) != 0); // the proxy offers TLS anyway
    auto shown = *c.greeting;
    shown.capabilities &= ~mysql::cap::Ssl;
    CHECK(mysql::encode_handshake(shown) == (*original)->payload);
}

TEST_CASE("mysql: a TLS client in front of a server that offers no SSL: the upstream leg is clear "
          "and the connection phase is renumbered",
          "[core][mysql][renumber]") {
    MyChain c(lab().runtime("valid"), {.auth = standin::mysql::AuthPlugin::NativePassword,
                                       .encryption = proxy::MysqlEncryption::Off});
    auto end = c.tls_login("mysql_native_password");
    REQUIRE_FALSE(c.client_error);
    CHECK(end.payload[0] == 0x00);
    CHECK(end.sequence == 3); // the client's numbering: response 2, OK 3
    // The server saw the response at seq 1 without CLIENT_SSL, in clear.
    mysql::PacketReader up;
    up.feed(c.proxy_sent_to_server);
    auto first = up.next();
    REQUIRE(first);
    REQUIRE(*first);
    CHECK((*first)->sequence == 1);
    auto resp = mysql::decode_handshake_response((*first)->payload);
    REQUIRE(resp);
    CHECK((resp->capabilities & mysql::cap::Ssl) == 0);
    CHECK(resp->user == "lab");
    c.query("SELECT 1");
    c.client_closes();
    const auto& s = c.summary();
    CHECK(c.record().outcome == Outcome::LoginEncrypted);
    CHECK_FALSE(s.upstream_offered_ssl);
    CHECK(s.client_shown_ssl);
    CHECK(s.upstream_leg == "clear (the server offers no SSL)");
    CHECK(c.record().upstream_mode == tds::EncryptionMode::None);
}

TEST_CASE("mysql: a client byte at a time and a server byte at a time change nothing",
          "[core][mysql][split]") {
    MyChain c(lab().runtime("valid"),
              {.auth = standin::mysql::AuthPlugin::NativePassword, .drip = true});
    auto end = c.tls_login("mysql_native_password");
    REQUIRE_FALSE(c.client_error);
    CHECK(end.payload[0] == 0x00);
    c.query("SELECT 1");
    c.client_closes();
    CHECK(c.record().outcome == Outcome::LoginEncrypted);
    CHECK(c.summary().authenticated);
}

TEST_CASE("mysql: caching_sha2_password's fast path after a cached login", "[core][mysql]") {
    standin::mysql::forget_cached_logins();
    {
        MyChain first(lab().runtime("valid"));
        first.tls_login("caching_sha2_password");
    }
    MyChain c(lab().runtime("valid"));
    auto end = c.tls_login("caching_sha2_password");
    CHECK(end.payload[0] == 0x00);
    CHECK(end.sequence == 4); // response 2, 0x01 0x03 at 3, OK 4
    c.client_closes();
    const auto& s = c.summary();
    CHECK(s.auth_path == "fast");
    CHECK_FALSE(s.password_read);
    CHECK_FALSE(c.record().login->password_length);
}

TEST_CASE("mysql: a server-leg TLS error after the client left does not undo its login",
          "[core][mysql]") {
    // MariaDB's OpenSSL answers the FIN the proxy relays from a client that left without
    // COM_QUIT or close_notify with a fatal alert; the client's verdict stands.
    MyChain c(lab().runtime("valid"), {.auth = standin::mysql::AuthPlugin::NativePassword});
    auto end = c.tls_login("mysql_native_password");
    REQUIRE(end.payload[0] == 0x00);
    c.query("SELECT 1");
    c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    REQUIRE_FALSE(c.proxy_closed);
    // a record the server leg cannot decrypt: a TLS error on the upstream leg
    const std::vector<std::uint8_t> junk = {0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5};
    c.run_proxy(c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Server, junk}));
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginEncrypted);
    CHECK(r.detail.starts_with("the server's TLS leg ended after the login"));
}

TEST_CASE("mysql: a server leg whose handshake fails while the client's login waits for it is "
          "the server leg failing, not a login",
          "[core][mysql]") {
    // The proxy's upstream context trusts the lab CA, which did not sign the stand-in's
    // certificate; the server's handshake is held back until the client has sent its
    // HandshakeResponse, which the proxy can only hold.
    static const certs::SslCtxPtr trusts_lab_ca = client_ctx(true);
    MyChain c(lab().runtime("valid"),
              {.tweak = [](proxy::ProxySettings& s) { s.upstream.mysql = trusts_lab_ca.get(); },
               .auth = standin::mysql::AuthPlugin::NativePassword});
    c.read_greeting();
    c.hold_server = true;
    c.ssl_request();
    REQUIRE(c.tls->established());
    c.response(2, "mysql_native_password");
    REQUIRE(c.records.empty());
    c.hold_server = false;
    c.pump();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::UpstreamFailed);
    CHECK(r.detail.starts_with("server leg: "));
    CHECK(r.detail.find("certificate verify failed") != std::string::npos);
}

TEST_CASE("mysql native password through an AuthSwitchRequest: the plugins in order",
          "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.auth = standin::mysql::AuthPlugin::NativePassword});
    auto end = c.tls_login("caching_sha2_password"); // MySQL 8 clients start with this
    CHECK(end.payload[0] == 0x00);
    c.client_closes();
    const auto& s = c.summary();
    CHECK(s.client_plugin == "caching_sha2_password");
    CHECK(s.auth_plugins ==
          std::vector<std::string>{"caching_sha2_password", "mysql_native_password"});
    CHECK(s.authenticated);
    CHECK_FALSE(s.password_read);
    CHECK(c.record().login->auth_kind == "mysql_native_password");
}

TEST_CASE("mysql: a wrong password is the server's ERR 1045, recorded", "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.auth = standin::mysql::AuthPlugin::NativePassword});
    auto end = c.tls_login("mysql_native_password", "not-the-password");
    REQUIRE(end.payload[0] == 0xFF);
    auto err = mysql::decode_err(end.payload);
    REQUIRE(err);
    CHECK(err->code == 1045);
    c.client_closes();
    const auto& s = c.summary();
    CHECK_FALSE(s.authenticated);
    CHECK(s.auth_error.starts_with("1045 28000 Access denied for user 'lab'@"));
    CHECK(c.record().outcome == Outcome::LoginEncrypted); // the login went through TLS
}

TEST_CASE("mysql: reveal_secrets keeps the password, and a certificate the client should have "
          "refused is called out",
          "[core][mysql]") {
    standin::mysql::forget_cached_logins();
    MyChain c(lab().runtime("self-signed"),
              {.tweak = [](proxy::ProxySettings& s) { s.reveal_secrets = true; }, .verify = false});
    auto end = c.tls_login("caching_sha2_password");
    REQUIRE_FALSE(c.client_error);
    CHECK(end.payload[0] == 0x00);
    c.query("SELECT 1");
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginEncrypted);
    REQUIRE(r.login);
    CHECK(r.login->password == "lab-password");
    CHECK(c.summary().password_via == "caching_sha2_password full authentication");
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with password 'lab-password'"));
    CHECK(c.logged("through the 'self-signed' certificate"));
}

TEST_CASE("mysql: a validating client refuses a self-signed certificate with its alert",
          "[core][mysql]") {
    MyChain c(lab().runtime("self-signed"));
    c.read_greeting();
    c.ssl_request();
    CHECK(c.client_error);
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::Alert);
    REQUIRE(r.alert);
    CHECK(r.alert->name == "unknown_ca");
    CHECK_FALSE(r.login);
    CHECK(c.summary().ssl_request);
}

TEST_CASE("mysql-ssl-hidden: a greeting without CLIENT_SSL; a client that goes on logs in in "
          "clear, and so does the server leg (what a server without TLS would see)",
          "[core][mysql][downgrade]") {
    MyChain c(lab().runtime("mysql-ssl-hidden"),
              {.auth = standin::mysql::AuthPlugin::NativePassword});
    const auto& g = c.read_greeting();
    CHECK((g.capabilities & mysql::cap::Ssl) == 0);
    c.response(1, "mysql_native_password");
    auto end = c.authenticate();
    REQUIRE(end.payload[0] == 0x00);
    CHECK(end.sequence == 2);
    // Upstream: the response itself at 1, in clear, without CLIENT_SSL.
    mysql::PacketReader up;
    up.feed(c.proxy_sent_to_server);
    auto first = up.next();
    REQUIRE(first);
    REQUIRE(*first);
    CHECK((*first)->sequence == 1);
    CHECK_FALSE(mysql::is_ssl_request((*first)->payload));
    auto response = mysql::decode_handshake_response((*first)->payload);
    REQUIRE(response);
    CHECK((response->capabilities & mysql::cap::Ssl) == 0);
    CHECK(response->user == "lab");
    c.query("SELECT 1");
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginPlaintext);
    const auto& s = c.summary();
    CHECK(s.negotiation == "plaintext (SSL not offered)");
    CHECK_FALSE(s.client_shown_ssl);
    CHECK(s.upstream_offered_ssl);
    CHECK(s.upstream_leg == "clear (mirrors the client, who was shown no SSL)");
    CHECK_FALSE(r.upstream_tls.established);
    CHECK(c.logged("removed CLIENT_SSL"));
    CHECK(c.logged("EXPOSED: read the login of user 'lab'"));
    CHECK(c.logged("in PLAINTEXT"));
}

TEST_CASE("mysql-ssl-hidden: a client that requires TLS leaves after the greeting",
          "[core][mysql][downgrade]") {
    MyChain c(lab().runtime("mysql-ssl-hidden"));
    c.read_greeting();
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::ClosedBeforeTls);
    CHECK(c.summary().negotiation == "no answer to the greeting (SSL not offered)");
    CHECK(r.detail.find("without CLIENT_SSL") != std::string::npos);
}

TEST_CASE("mysql: mysql_clear_password in clear is read, masked, and called out", "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.auth = standin::mysql::AuthPlugin::ClearPassword});
    c.read_greeting();
    c.response(1, "mysql_clear_password");
    auto end = c.authenticate();
    CHECK(end.payload[0] == 0x00);
    c.client_closes();
    const auto& s = c.summary();
    CHECK(s.negotiation == "plaintext (SSL offered)");
    CHECK(s.upstream_leg == "clear (mirrors the client in clear)");
    CHECK(s.password_read);
    CHECK(s.password_via == "mysql_clear_password");
    CHECK(c.record().login->password_length == 12);
    CHECK_FALSE(c.record().login->password);
    CHECK(c.logged("a 12-character password in clear (--reveal-secrets shows it)"));
}

TEST_CASE("mysql: caching_sha2_password full authentication in clear goes by RSA: nothing to "
          "read but the request for the key",
          "[core][mysql]") {
    standin::mysql::forget_cached_logins();
    MyChain c(lab().runtime("valid"));
    c.read_greeting();
    c.response(1, "caching_sha2_password");
    auto end = c.authenticate();
    REQUIRE(end.payload[0] == 0x00);
    CHECK(end.sequence == 6); // response 1, 0x04 at 2, 0x02 at 3, key 4, RSA 5, OK 6
    c.query("SELECT 1");
    c.client_closes();
    const auto& s = c.summary();
    CHECK(s.auth_path == "full: RSA public key requested, then RSA");
    CHECK_FALSE(s.password_read);
    CHECK(c.record().outcome == Outcome::LoginPlaintext);
    CHECK(c.logged("EXPOSED: read the login of user 'lab' with a caching_sha2_password response"));
}

TEST_CASE("mysql: require_secure_transport refuses a HandshakeResponse in clear with ERR 3159",
          "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.tweak = [](proxy::ProxySettings& s) {
                  s.mysql_refuse_plaintext = true;
              }});
    c.read_greeting();
    c.response(1, "caching_sha2_password");
    auto p = c.expect_packet();
    CHECK(p.sequence == 2);
    auto err = mysql::decode_err(p.payload);
    REQUIRE(err);
    CHECK(err->code == 3159);
    CHECK(err->sql_state == "HY000");
    CHECK(err->message == "Connections using insecure transport are prohibited while "
                          "--require_secure_transport=ON.");
    CHECK(c.proxy_closed);
    CHECK(c.proxy_sent_to_server.empty()); // nothing of the login went upstream
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginPlaintext);
    CHECK(r.detail.find("require_secure_transport") != std::string::npos);
    CHECK(c.summary().auth_error.starts_with("3159 HY000"));
}

TEST_CASE("mysql: require_secure_transport in front of MariaDB answers as MariaDB does: 1045",
          "[core][mysql][mariadb]") {
    MyChain c(lab().runtime("valid"),
              {.tweak = [](proxy::ProxySettings& s) { s.mysql_refuse_plaintext = true; },
               .flavour = standin::mysql::Flavour::Mariadb114});
    c.read_greeting();
    c.response(1, "mysql_native_password");
    auto p = c.expect_packet();
    auto err = mysql::decode_err(p.payload);
    REQUIRE(err);
    CHECK(err->code == 1045);
    CHECK(err->sql_state == "28000");
    CHECK(err->message.starts_with("Access denied for user 'lab'@'"));
    CHECK(err->message.ends_with("' (using password: YES)"));
    CHECK(err->message.find(':') == err->message.rfind(':')); // the address, without a port
    CHECK(c.proxy_sent_to_server.empty());
    CHECK(c.summary().auth_error.starts_with("1045 28000 Access denied"));
}

TEST_CASE("mariadb 11.4: the OK carries the zero-configuration check; a client that leaves "
          "before any command aborted after OK",
          "[core][mysql][mariadb]") {
    MyChain c(lab().runtime("valid"), {.flavour = standin::mysql::Flavour::Mariadb114});
    const auto& g = c.read_greeting();
    CHECK(g.is_mariadb());
    c.ssl_request();
    c.response(2, "mysql_native_password");
    auto end = c.authenticate();
    REQUIRE(end.payload[0] == 0x00);
    c.client_closes(); // the check does not match the lab's certificate: the client aborts
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::AbortedAfterOk);
    const auto& s = c.summary();
    CHECK(s.server_is_mariadb);
    CHECK(s.authenticated);
    CHECK(s.zero_config_check);
    CHECK_FALSE(s.commands_after_ok);
    CHECK(r.detail.find("aborted after the server's OK") != std::string::npos);
    CHECK(r.detail.find("zero-configuration") != std::string::npos);
}

TEST_CASE("mysql: a client that sends a command after the OK is not an abort", "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.flavour = standin::mysql::Flavour::Mariadb114});
    c.read_greeting();
    c.ssl_request();
    c.response(2, "mysql_native_password");
    c.authenticate();
    c.query("SELECT 1");
    c.client_closes();
    CHECK(c.record().outcome == Outcome::LoginEncrypted);
    CHECK(c.summary().first_command == "COM_QUERY");
}

TEST_CASE("mysql: record_messages keeps the queries and the server's errors", "[core][mysql]") {
    MyChain c(lab().runtime("valid"),
              {.tweak = [](proxy::ProxySettings& s) { s.record_messages = true; },
               .auth = standin::mysql::AuthPlugin::NativePassword});
    c.tls_login("mysql_native_password");
    c.query("SELECT 1");
    auto err = c.query("SELEC 1");
    CHECK(err.payload[0] == 0xFF);
    c.client_closes();
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages[0]->kind == "query");
    CHECK(c.messages[0]->text == "SELECT 1");
    CHECK(c.messages[1]->text == "SELEC 1");
    CHECK(c.messages[2]->kind == "error");
    CHECK_FALSE(c.messages[2]->from_client);
    CHECK(c.messages[2]->number == 1064u);
    CHECK(c.messages[2]->detail == "42000");
    CHECK(c.messages[2]->text.starts_with("You have an error in your SQL syntax"));
}

TEST_CASE("mysql: an ERR greeting is relayed and ends the session", "[core][mysql]") {
    MyChain c(lab().runtime("valid"), {.start_server = false});
    c.pump(); // connected
    mysql::ErrPacket e;
    e.code = 1040;
    e.has_sql_state = false;
    e.message = "Too many connections";
    c.to_proxy_from_server = mysql::frame(0, mysql::encode_err(e));
    c.pump();
    auto p = c.expect_packet();
    auto relayed = mysql::decode_err(p.payload);
    REQUIRE(relayed);
    CHECK(relayed->code == 1040);
    CHECK(relayed->message == "Too many connections");
    CHECK(c.proxy_closed);
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::UpstreamFailed);
    CHECK(r.detail.find("1040 Too many connections") != std::string::npos);
}

TEST_CASE("mysql: the server's greeting goes to the adapter even before the client speaks",
          "[core][mysql]") {
    MyChain c(lab().runtime("valid"));
    c.pump();
    CHECK(c.proxy_session->phase() == proxy::ProxySession::Phase::Relaying);
    CHECK_FALSE(c.client_in.empty());
}

TEST_CASE("mysql: hostile client bytes end only that session, with a protocol error",
          "[core][mysql][hostile]") {
    SECTION("a packet longer than the connection phase allows") {
        MyChain c(lab().runtime("valid"));
        c.read_greeting();
        c.send(Bytes{0xFF, 0xFF, 0xFF, 0x01, 0x00});
        c.pump();
        CHECK(c.proxy_closed);
        CHECK(c.record().outcome == Outcome::ProtocolError);
        auto p = c.expect_packet();
        auto err = mysql::decode_err(p.payload);
        REQUIRE(err);
        CHECK(err->code == 1043);
    }
    SECTION("a HandshakeResponse cut short") {
        MyChain c(lab().runtime("valid"));
        c.read_greeting();
        c.send(1, Bytes{0x05, 0xA2, 0x00});
        c.pump();
        CHECK(c.proxy_closed);
        CHECK(c.record().outcome == Outcome::ProtocolError);
    }
    SECTION("an SSLRequest followed by something that is not TLS") {
        MyChain c(lab().runtime("valid"));
        c.read_greeting();
        c.caps = (kClientCaps & c.greeting->capabilities) | mysql::cap::Ssl;
        mysql::SslRequest r;
        r.capabilities = c.caps;
        auto bytes = mysql::frame(1, mysql::encode_ssl_request(r));
        bytes.insert(bytes.end(), {'G', 'E', 'T', ' '});
        c.send(bytes);
        c.pump();
        CHECK(c.proxy_closed);
        CHECK(c.record().outcome == Outcome::ProtocolError);
    }
    SECTION("random bytes") {
        std::mt19937 rng(20261204);
        for (int i = 0; i < 200; ++i) {
            MyChain c(lab().runtime("valid"));
            c.pump();
            Bytes junk(1 + rng() % 96);
            for (auto& b : junk) {
                b = static_cast<std::uint8_t>(rng());
            }
            if (i % 2 == 0 && junk.size() >= 4) {
                junk[0] = static_cast<std::uint8_t>(junk.size() - 4); // a plausible header
                junk[1] = junk[2] = 0;
                junk[3] = 1;
            }
            c.send(junk);
            c.pump();
            c.run_proxy(c.proxy_session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
            CHECK(c.records.size() == 1);
        }
    }
}

TEST_CASE("mysql passthrough: bytes untouched, the greeting and a login in clear recorded",
          "[core][mysql][passthrough]") {
    MyChain c(lab().runtime("passthrough"), {.auth = standin::mysql::AuthPlugin::NativePassword});
    c.read_greeting();
    c.response(1, "mysql_native_password");
    auto end = c.authenticate();
    CHECK(end.payload[0] == 0x00);
    c.query("SELECT 1");
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.protocol == "mysql");
    CHECK(r.outcome == Outcome::LoginPlaintext);
    REQUIRE(r.mysql);
    CHECK(r.mysql->server_version == "8.0.40");
    CHECK(r.mysql->negotiation == "plaintext (SSL offered)");
    REQUIRE(r.login);
    CHECK(r.login->user_name == "lab");
    CHECK(r.login->app_name == "chain-test");
}

TEST_CASE("mysql passthrough: a TLS login is seen by its records", "[core][mysql][passthrough]") {
    MyChain c(lab().runtime("passthrough"),
              {.auth = standin::mysql::AuthPlugin::NativePassword, .verify = false});
    auto end = c.tls_login("mysql_native_password");
    REQUIRE_FALSE(c.client_error);
    CHECK(end.payload[0] == 0x00);
    c.query("SELECT 1");
    c.client_closes();
    const auto& r = c.record();
    CHECK(r.outcome == Outcome::LoginEncrypted);
    CHECK(r.mysql->negotiation == "SSLRequest");
}

TEST_CASE("mysql max_message_bytes: a command packet over the limit gets MySQL's ERR 1153, then "
          "that session ends, exactly",
          "[core][mysql][limits]") {
    standin::mysql::forget_cached_logins();
    MyChain c(lab().runtime("valid"), {.tweak = [](proxy::ProxySettings& s) {
                  s.max_message_bytes = 4096;
              }});
    auto end = c.tls_login("caching_sha2_password");
    REQUIRE_FALSE(c.client_error);
    REQUIRE(end.payload[0] == 0x00);
    CHECK(c.query("SELECT 1").payload == Bytes{0x01}); // under the limit: answered
    Bytes payload{0x03};
    payload.insert(payload.end(), 5000, 'x');
    c.send(0, payload);
    auto bytes = c.tls->take_output();
    auto acts = c.proxy_session->handle(proxy::event::BytesReceived{proxy::Side::Client, bytes});
    std::string detail =
        "limit max-message-bytes=4096 reached: a MySQL packet from the client is longer";
    // The session flushes and closes once: nothing of the packet went to the server.
    std::size_t closes = 0;
    for (const auto& a : acts) {
        if (const auto* close = std::get_if<proxy::action::Close>(&a); close != nullptr) {
            ++closes;
            CHECK(close->flush); // the ERR below is delivered before the connection closes
            CHECK_FALSE(close->reset);
        }
        if (const auto* send = std::get_if<proxy::action::Send>(&a); send != nullptr) {
            CHECK(send->side == proxy::Side::Client);
        }
    }
    CHECK(closes == 1);
    // What the client reads, through its TLS: ER_NET_PACKET_TOO_LARGE, sequence 1.
    c.run_proxy(acts);
    c.pump();
    auto err = c.expect_packet();
    CHECK(err.sequence == 1);
    auto parsed = mysql::decode_err(err.payload);
    REQUIRE(parsed);
    CHECK(parsed->code == 1153);
    CHECK(parsed->sql_state == "08S01");
    CHECK(parsed->message == "Got a packet bigger than 'max_allowed_packet' bytes");
    std::size_t warnings = 0;
    const proxy::SessionRecord* record = nullptr;
    for (const auto& a : acts) {
        if (const auto* log = std::get_if<proxy::action::Log>(&a);
            log != nullptr && log->level == proxy::LogLevel::Warn) {
            ++warnings;
            CHECK(log->text == detail);
        }
        if (const auto* rec = std::get_if<proxy::action::Record>(&a); rec != nullptr) {
            record = rec->record.get();
        }
    }
    CHECK(warnings == 1);
    REQUIRE(record != nullptr);
    CHECK(record->outcome == Outcome::LoginEncrypted);
    CHECK(record->detail == detail);
}
