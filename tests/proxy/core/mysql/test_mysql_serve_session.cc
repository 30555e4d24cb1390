// MysqlServeSession driven by an in-memory client: the codec for the packets and a TlsStream
// (OpenSSL) for TLS after the SSLRequest, as a driver does. Every byte is carried by the test.

#include <random>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>
#include <proxy/core/mysql/mysql_serve_session.h>
#include <proxy/core/tls/tls_context.h>
#include <proxy/core/tls/tls_stream.h>
#include <standin/mysql/auth_crypto.h>
#include <support/test_pki.h>

#include "../../../standin/mysql/mysql_test_client.h"

namespace {

using mysqltest::Bytes;

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
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    X509_digest(support::test_pki().leaf.cert.get(), EVP_sha256(), out.data(), &n);
    out.resize(n);
    return out;
}

struct Harness {
    proxy::MysqlServeSettings settings;
    std::unique_ptr<proxy::MysqlServeSession> session;
    std::optional<proxy::TlsStream> tls;
    mysql::PacketReader reader;
    bool closed = false;
    std::optional<std::string> tls_error;
    std::vector<std::string> logs;
    mysql::Handshake greeting;
    std::uint32_t caps = mysqltest::client_caps();

    Harness(proxy::MysqlEncryption enc, standin::mysql::Flavour flavour,
            std::optional<standin::mysql::AuthPlugin> auth = std::nullopt) {
        settings.encryption = enc;
        if (enc != proxy::MysqlEncryption::Off) {
            settings.ctx = serve_ctx().get();
        }
        settings.certificate_sha256 = leaf_sha256();
        settings.responder.flavour = flavour;
        settings.responder.auth = auth;
        session = std::make_unique<proxy::MysqlServeSession>(settings, 77, "127.0.0.1:50000");
        absorb(session->handle(proxy::event::Started{}));
        auto p = packets();
        REQUIRE(p.size() == 1);
        greeting = *mysql::decode_handshake(p[0].payload);
    }

    void absorb(proxy::Actions actions) {
        for (auto& a : actions) {
            if (auto* send = std::get_if<proxy::action::Send>(&a)) {
                if (tls) {
                    auto step = tls->on_ciphertext(send->bytes);
                    if (step.error) {
                        tls_error = step.error;
                    }
                    reader.feed(step.plaintext);
                } else {
                    reader.feed(send->bytes);
                }
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                closed = true;
            } else if (auto* log = std::get_if<proxy::action::Log>(&a)) {
                logs.push_back(log->text);
            }
        }
    }
    void to_server(const Bytes& bytes) {
        if (!closed) {
            absorb(session->handle(proxy::event::BytesReceived{proxy::Side::Client, bytes}));
        }
    }
    void pump() {
        for (int i = 0; i < 100 && tls; ++i) {
            auto out = tls->take_output();
            if (out.empty()) {
                return;
            }
            to_server(out);
        }
    }
    void send(std::uint8_t seq, const Bytes& payload) {
        auto f = mysql::frame(seq, payload);
        if (tls) {
            tls->write(f);
            pump();
        } else {
            to_server(f);
        }
    }
    std::vector<mysql::Packet> packets() {
        std::vector<mysql::Packet> out;
        while (true) {
            auto p = reader.next();
            if (!p || !*p) {
                return out;
            }
            out.push_back(std::move(**p));
        }
    }
    void start_tls(SSL_CTX* client_ctx = support::test_pki().client_trusting.get()) {
        mysql::SslRequest r;
        r.capabilities = caps | mysql::cap::Ssl;
        r.max_packet_size = 16777216;
        r.character_set = 255;
        send(1, mysql::encode_ssl_request(r));
        tls.emplace(client_ctx, proxy::TlsRole::Client, "localhost");
        pump();
    }
    void login(const std::string& plugin, const Bytes& auth, std::uint8_t seq) {
        mysql::HandshakeResponse r;
        r.capabilities = caps | (tls ? mysql::cap::Ssl : 0);
        r.max_packet_size = 16777216;
        r.character_set = 255;
        r.user = "lab";
        r.auth_response = auth;
        r.database = "lab";
        r.auth_plugin = plugin;
        send(seq, mysql::encode_handshake_response(r));
    }
};

} // namespace

TEST_CASE("mysql serve (MariaDB, on): SSLRequest, TLS, native login, the zero-configuration "
          "check bound to the certificate, queries",
          "[core][mysql]") {
    Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mariadb114);
    CHECK((h.greeting.capabilities & mysql::cap::Ssl) != 0);
    CHECK(h.greeting.connection_id == 77);
    h.start_tls();
    REQUIRE_FALSE(h.tls_error);
    REQUIRE(h.tls->established());
    h.login("mysql_native_password",
            mysqltest::native_response("lab-password", h.greeting.auth_plugin_data), 2);
    auto p = h.packets();
    REQUIRE(p.size() == 1);
    CHECK(p[0].sequence == 3);
    auto ok = mysql::decode_ok(p[0].payload, h.caps);
    REQUIRE(ok);
    auto hash = mysqltest::sha1(mysqltest::sha1(mysqltest::bytes_of("lab-password")));
    auto expected = mysqltest::sha256(
        mysqltest::concat(mysqltest::concat(hash, h.greeting.auth_plugin_data), leaf_sha256()));
    CHECK(ok->info == std::string(1, '\x01') + mysqltest::hex_upper(expected));

    h.send(0,
           Bytes{0x03, 'S', 'H',  'O', 'W', ' ', 'S', 'T', 'A', 'T', 'U', 'S', ' ', 'L', 'I', 'K',
                 'E',  ' ', '\'', 'S', 's', 'l', '_', 'v', 'e', 'r', 's', 'i', 'o', 'n', '\''});
    p = h.packets();
    REQUIRE(p.size() == 5); // count, 2 columns, row, OK
    auto row = mysql::decode_text_row(p[3].payload, 2);
    REQUIRE(row);
    CHECK((*row)[1] == h.tls->endpoint().version());

    h.send(0, Bytes{0x01}); // COM_QUIT
    CHECK(h.closed);
}

TEST_CASE("mysql serve (MySQL, on): caching_sha2 full authentication inside TLS", "[core][mysql]") {
    standin::mysql::forget_cached_logins();
    Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mysql80);
    CHECK(h.greeting.auth_plugin_name == "caching_sha2_password");
    h.start_tls();
    h.login("caching_sha2_password",
            mysqltest::caching_sha2_fast("lab-password", h.greeting.auth_plugin_data), 2);
    auto p = h.packets();
    REQUIRE(p.size() == 1);
    CHECK(p[0].payload == Bytes({0x01, 0x04}));
    CHECK(p[0].sequence == 3);
    Bytes clear = mysqltest::bytes_of("lab-password");
    clear.push_back(0);
    h.send(4, clear);
    p = h.packets();
    REQUIRE(p.size() == 1);
    CHECK(p[0].sequence == 5);
    CHECK(p[0].payload[0] == 0x00);
    CHECK_FALSE(h.closed);
}

TEST_CASE("mysql serve: a 32-byte auth reply with the CLIENT_SSL bit is no SSLRequest",
          "[core][mysql]") {
    Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mysql80);
    h.login("mysql_native_password", Bytes(20, 0x41), 1); // -> AuthSwitchRequest
    auto p = h.packets();
    REQUIRE(p.size() == 1);
    REQUIRE(p[0].payload[0] == 0xFE);
    Bytes reply(32, 0xFF); // as a scramble may be: bit 11 (CLIENT_SSL) set
    h.send(3, reply);
    p = h.packets();
    REQUIRE(p.size() == 1);
    CHECK(p[0].payload == Bytes({0x01, 0x04}));
    CHECK_FALSE(h.closed);
}

TEST_CASE("mysql serve (force): a login in clear gets ERROR 3159 and the connection closes",
          "[core][mysql]") {
    Harness h(proxy::MysqlEncryption::Force, standin::mysql::Flavour::Mysql80,
              standin::mysql::AuthPlugin::NativePassword);
    CHECK((h.greeting.capabilities & mysql::cap::Ssl) != 0);
    h.login("mysql_native_password",
            mysqltest::native_response("lab-password", h.greeting.auth_plugin_data), 1);
    auto p = h.packets();
    REQUIRE(p.size() == 1);
    auto err = mysql::decode_err(p[0].payload);
    REQUIRE(err);
    CHECK(err->code == 3159);
    CHECK(h.closed);
}

TEST_CASE("mysql serve (off): no CLIENT_SSL; an SSLRequest anyway is a bad handshake",
          "[core][mysql]") {
    Harness h(proxy::MysqlEncryption::Off, standin::mysql::Flavour::Mysql80);
    CHECK((h.greeting.capabilities & mysql::cap::Ssl) == 0);
    mysql::SslRequest r;
    r.capabilities = h.caps | mysql::cap::Ssl;
    h.send(1, mysql::encode_ssl_request(r));
    auto p = h.packets();
    REQUIRE(p.size() == 1);
    CHECK(mysql::decode_err(p[0].payload)->code == 1043);
    CHECK(h.closed);
}

TEST_CASE("mysql serve: a client that refuses the certificate ends the session", "[core][mysql]") {
    Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mysql80);
    auto other = support::client_trusting_other_ca();
    h.start_tls(other.get());
    CHECK(h.closed);
}

TEST_CASE("mysql serve: the login timer, an oversized packet, and hostile bytes", "[core][mysql]") {
    {
        Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mysql80);
        h.absorb(
            h.session->handle(proxy::event::TimerFired{proxy::MysqlServeSession::kLoginTimer}));
        CHECK(h.closed);
    }
    {
        Harness h(proxy::MysqlEncryption::On, standin::mysql::Flavour::Mysql80);
        // a full 0xFFFFFF chunk, then a continuation: above the 16 MiB the stand-in accepts
        Bytes big(4 + 0xFFFFFF, 'x');
        big[0] = big[1] = big[2] = 0xFF;
        big[3] = 1;
        h.to_server(big);
        CHECK_FALSE(h.closed);
        h.to_server(Bytes{0x02, 0x00, 0x00, 0x02});
        CHECK(h.closed);
        auto p = h.packets();
        REQUIRE(p.size() == 1);
        CHECK(mysql::decode_err(p[0].payload)->code == 1153);
    }
    std::mt19937 rng(99);
    for (int round = 0; round < 200; ++round) {
        Harness h(round % 2 ? proxy::MysqlEncryption::On : proxy::MysqlEncryption::Force,
                  round % 3 ? standin::mysql::Flavour::Mysql80
                            : standin::mysql::Flavour::Mariadb114);
        for (int i = 0; i < 10 && !h.closed; ++i) {
            Bytes b(rng() % 80);
            for (auto& x : b) {
                x = static_cast<std::uint8_t>(rng());
            }
            if (i == 0 && b.size() > 4) {
                b[0] = static_cast<std::uint8_t>(b.size() - 4);
                b[1] = b[2] = 0;
                b[3] = 1;
            }
            h.to_server(b);
        }
    }
    SUCCEED("no crash");
}
