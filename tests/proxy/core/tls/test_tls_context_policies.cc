// Server-context behaviours of old and picky servers (sigalgs, DH group, ClientHello sigalg
// limit, SNI policies), each against an in-memory OpenSSL client with specific settings.

#include <catch2/catch.hpp>

// Designated initializers name only what a case sets; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <certs/certificate_info.h>
#include <certs/issuer.h>
#include <certs/pem.h>
#include <proxy/core/tls/tls_context.h>
#include <proxy/core/tls/tls_endpoint.h>
#include <support/test_pki.h>

#include "../test_lab.h"

using support::lab;

using proxy::SniPolicy;
using proxy::TlsServerConfig;

namespace {

struct ClientSpec {
    std::string sigalgs;     // empty: OpenSSL's defaults
    std::string ciphers;     // TLS <= 1.2
    int max_version = 0;     // 0: default
    int security_level = -1; // -1: default (Debian: 2)
    std::string sni;         // empty: none
};

// Pair: the server as a TlsEndpoint (its ClientHello observer and alert record included), the
// client as a raw SSL object over memory BIOs.
struct Pair {
    certs::SslCtxPtr client_ctx;
    certs::SslPtr client;
    BIO* c_in = nullptr;
    BIO* c_out = nullptr;
    proxy::TlsEndpoint server;
    bool client_done = false;
    bool client_failed = false;
    std::string client_error;

    Pair(SSL_CTX* server_ctx, const ClientSpec& spec)
        : client_ctx(SSL_CTX_new(TLS_client_method())), server(server_ctx, proxy::TlsRole::Server) {
        SSL_CTX* c = client_ctx.get();
        if (spec.security_level >= 0) {
            SSL_CTX_set_security_level(c, spec.security_level);
        }
        if (spec.max_version != 0) {
            SSL_CTX_set_max_proto_version(c, spec.max_version);
        }
        if (!spec.ciphers.empty()) {
            REQUIRE(SSL_CTX_set_cipher_list(c, spec.ciphers.c_str()) == 1);
        }
        if (!spec.sigalgs.empty()) {
            REQUIRE(SSL_CTX_ctrl(c, SSL_CTRL_SET_SIGALGS_LIST, 0,
                                 const_cast<char*>(spec.sigalgs.c_str())) == 1);
        }
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        client.reset(SSL_new(c));
        c_in = BIO_new(BIO_s_mem());
        c_out = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(c_in, -1);
        BIO_set_mem_eof_return(c_out, -1);
        SSL_set_bio(client.get(), c_in, c_out);
        SSL_set_connect_state(client.get());
        if (!spec.sni.empty()) {
            SSL_ctrl(client.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(spec.sni.c_str()));
        }
    }

    void run() {
        for (int i = 0; i < 20; ++i) {
            if (!client_done && !client_failed) {
                ERR_clear_error();
                int r = SSL_do_handshake(client.get());
                if (r == 1) {
                    client_done = true;
                } else if (int e = SSL_get_error(client.get(), r); e != SSL_ERROR_WANT_READ) {
                    client_failed = true;
                    client_error = certs::openssl_error();
                }
            }
            std::vector<std::uint8_t> c2s(BIO_ctrl_pending(c_out));
            if (!c2s.empty()) {
                BIO_read(c_out, c2s.data(), static_cast<int>(c2s.size()));
                server.feed_ciphertext(c2s);
            }
            server.advance();
            auto s2c = server.take_ciphertext();
            if (!s2c.empty()) {
                BIO_write(c_in, s2c.data(), static_cast<int>(s2c.size()));
            }
            if (c2s.empty() && s2c.empty() && (client_done || client_failed)) {
                return;
            }
        }
    }

    std::string peer_subject() const {
        X509* peer = SSL_get0_peer_certificate(client.get());
        return peer != nullptr ? certs::describe(peer).subject : "";
    }
};

TlsServerConfig base_config() {
    TlsServerConfig cfg;
    cfg.cert = support::test_pki().leaf.cert.get();
    cfg.key = support::test_pki().leaf.key.get();
    cfg.min_version = TLS1_2_VERSION;
    cfg.max_version = TLS1_2_VERSION;
    return cfg;
}

certs::SslCtxPtr server_ctx(const TlsServerConfig& cfg) {
    auto ctx = proxy::make_server_context(cfg);
    REQUIRE(ctx);
    return std::move(*ctx);
}

const std::string kSha1Server = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA";

} // namespace

TEST_CASE("tls context: count_sigalgs reads the extension body and refuses malformed ones",
          "[core][tls][policy]") {
    const unsigned char two[] = {0x00, 0x04, 0x04, 0x01, 0x02, 0x01};
    CHECK(proxy::count_sigalgs(two, sizeof two) == 2u);
    const unsigned char odd[] = {0x00, 0x03, 0x04, 0x01, 0x02};
    CHECK_FALSE(proxy::count_sigalgs(odd, sizeof odd));
    const unsigned char lying[] = {0x00, 0x08, 0x04, 0x01};
    CHECK_FALSE(proxy::count_sigalgs(lying, sizeof lying));
    const unsigned char empty[] = {0x00};
    CHECK_FALSE(proxy::count_sigalgs(empty, sizeof empty));
    CHECK_FALSE(proxy::count_sigalgs(nullptr, 0));
}

TEST_CASE("tls context: sigalgs RSA+SHA1 signs the ServerKeyExchange with SHA-1 when offered",
          "[core][tls][policy]") {
    auto cfg = base_config();
    cfg.security_level = 0;
    cfg.cipher_list = kSha1Server;
    cfg.sigalgs = "RSA+SHA1";
    auto ctx = server_ctx(cfg);
    Pair p(ctx.get(), {.sigalgs = "RSA+SHA256:RSA+SHA1", .security_level = 0});
    p.run();
    REQUIRE(p.client_done);
    int nid = 0;
    REQUIRE(SSL_get_peer_signature_nid(p.client.get(), &nid) == 1);
    CHECK(nid == NID_sha1);
    int type = 0;
    REQUIRE(SSL_get_peer_signature_type_nid(p.client.get(), &type) == 1);
    CHECK(type == EVP_PKEY_RSA);
}

TEST_CASE("tls context: sigalgs RSA+SHA1 against a client that does not offer SHA-1 fails",
          "[core][tls][policy]") {
    // OpenSSL never signs with an algorithm the client did not offer (a real SChannel server
    // did): with no shared signature algorithm it ends the handshake with handshake_failure.
    auto cfg = base_config();
    cfg.security_level = 0;
    cfg.cipher_list = kSha1Server;
    cfg.sigalgs = "RSA+SHA1";
    auto ctx = server_ctx(cfg);
    Pair p(ctx.get(), {.sigalgs = "RSA+SHA256:RSA-PSS+SHA256:ECDSA+SHA256"});
    p.run();
    CHECK(p.client_failed);
    CHECK(p.server.state() == proxy::TlsState::Failed);
    REQUIRE(p.server.alert_sent());
    CHECK(p.server.alert_sent()->name == "handshake_failure");
    CHECK(p.server.failure_reason().find("no shared signature algorithms") != std::string::npos);
}

TEST_CASE("tls context: dh_group modp1024 serves the RFC 2409 1024-bit group on DHE suites",
          "[core][tls][policy]") {
    auto params = proxy::modp1024_parameters();
    REQUIRE(params);
    CHECK(EVP_PKEY_get_bits(params->get()) == 1024);

    auto cfg = base_config();
    cfg.security_level = 1;
    cfg.cipher_list = "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-SHA";
    cfg.dh_modp1024 = true;
    auto ctx = server_ctx(cfg);
    SECTION("a client at security level 1 gets the 1024-bit group") {
        Pair p(ctx.get(), {.security_level = 1});
        p.run();
        REQUIRE(p.client_done);
        EVP_PKEY* tmp = nullptr;
        REQUIRE(SSL_get_peer_tmp_key(p.client.get(), &tmp) == 1);
        certs::EvpPkeyPtr owned(tmp);
        CHECK(EVP_PKEY_get_bits(tmp) == 1024);
        BIGNUM* prime = nullptr;
        REQUIRE(EVP_PKEY_get_bn_param(tmp, OSSL_PKEY_PARAM_FFC_P, &prime) == 1);
        certs::BignumPtr got(prime);
        certs::BignumPtr want(BN_get_rfc2409_prime_1024(nullptr));
        CHECK(BN_cmp(got.get(), want.get()) == 0);
        CHECK(std::string(SSL_get_cipher_name(p.client.get())).rfind("DHE-RSA", 0) == 0);
    }
    SECTION("a client at security level 2 (Debian's default) refuses it: dh key too small") {
        Pair p(ctx.get(), {.security_level = 2});
        p.run();
        CHECK(p.client_failed);
        CHECK(p.client_error.find("dh key too small") != std::string::npos);
    }
    SECTION("a security level of 2 cannot even load the group") {
        cfg.security_level = 2;
        auto refused = proxy::make_server_context(cfg);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().find("modp1024") != std::string::npos);
    }
}

TEST_CASE("tls context: max_client_sigalgs refuses a ClientHello with many signature algorithms",
          "[core][tls][policy]") {
    auto cfg = base_config();
    cfg.max_client_sigalgs = 10;
    auto ctx = server_ctx(cfg);
    SECTION("OpenSSL's default list (more than 10): handshake_failure, the hello still recorded") {
        Pair p(ctx.get(), {.max_version = TLS1_2_VERSION, .sni = "localhost"});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "handshake_failure");
        REQUIRE(p.server.client_hello());
        CHECK(p.server.client_hello()->sni == "localhost");
    }
    SECTION("two signature algorithms: served") {
        Pair p(ctx.get(), {.sigalgs = "RSA+SHA256:RSA+SHA384", .max_version = TLS1_2_VERSION});
        p.run();
        CHECK(p.client_done);
        CHECK(p.server.handshake_done());
    }
    SECTION("exactly the limit: served") {
        Pair p(ctx.get(), {.sigalgs = "RSA+SHA256:RSA+SHA384:RSA+SHA512:RSA-PSS+SHA256:"
                                      "RSA-PSS+SHA384:RSA-PSS+SHA512:ECDSA+SHA256:ECDSA+SHA384:"
                                      "ECDSA+SHA512:ed25519"});
        p.run();
        CHECK(p.client_done);
    }
}

TEST_CASE("tls context: sni = require", "[core][tls][policy]") {
    auto cfg = base_config();
    cfg.sni = SniPolicy::Require;
    cfg.known_names = {"localhost"};
    auto ctx = server_ctx(cfg);
    SECTION("no SNI: fatal unrecognized_name") {
        Pair p(ctx.get(), {});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "unrecognized_name");
        CHECK(p.server.alert_sent()->fatal);
        CHECK(p.client_error.find("unrecognized name") != std::string::npos);
    }
    SECTION("any SNI: served") {
        Pair p(ctx.get(), {.sni = "anything.example"});
        p.run();
        CHECK(p.client_done);
    }
}

TEST_CASE("tls context: sni = known", "[core][tls][policy]") {
    auto cfg = base_config();
    cfg.sni = SniPolicy::Known;
    cfg.known_names = {"localhost", "lab-host"};
    auto ctx = server_ctx(cfg);
    SECTION("a name the server does not know: fatal unrecognized_name") {
        Pair p(ctx.get(), {.sni = "sql01.corp.example"});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "unrecognized_name");
    }
    SECTION("a lab name, in any case: served") {
        Pair p(ctx.get(), {.sni = "LAB-HOST"});
        p.run();
        CHECK(p.client_done);
    }
    SECTION("no SNI (a client that dials an address): served") {
        Pair p(ctx.get(), {});
        p.run();
        CHECK(p.client_done);
    }
}

TEST_CASE("tls context: sni = select shows the default certificate to other names",
          "[core][tls][policy]") {
    const auto& pki = support::test_pki();
    certs::CertificateProfile d;
    d.common_name = "default.tlslab.invalid";
    d.dns_names = {"default.tlslab.invalid"};
    auto fallback = certs::issue(d, pki.ca.cert.get(), pki.ca.key.get());
    REQUIRE(fallback);
    auto cfg = base_config();
    cfg.min_version = TLS1_2_VERSION;
    cfg.max_version = TLS1_3_VERSION;
    cfg.alpn = proxy::ServerAlpn::Tds8;
    cfg.sni = SniPolicy::Select;
    cfg.known_names = {"localhost"};
    cfg.default_cert = fallback->cert.get();
    cfg.default_key = fallback->key.get();
    auto ctx = server_ctx(cfg);
    fallback = std::unexpected("released: the context holds its own references");
    SECTION("a lab name: the scenario's certificate") {
        Pair p(ctx.get(), {.sni = "localhost"});
        p.run();
        REQUIRE(p.client_done);
        CHECK(p.peer_subject() == certs::describe(pki.leaf.cert.get()).subject);
        CHECK(p.server.client_hello()->sni == "localhost");
    }
    SECTION("no SNI: the default certificate") {
        Pair p(ctx.get(), {});
        p.run();
        REQUIRE(p.client_done);
        CHECK(p.peer_subject().find("CN=default.tlslab.invalid") != std::string::npos);
    }
    SECTION("another name: the default certificate, in TLS 1.2 too") {
        Pair p(ctx.get(), {.max_version = TLS1_2_VERSION, .sni = "sql01.corp.example"});
        p.run();
        REQUIRE(p.client_done);
        CHECK(p.peer_subject().find("CN=default.tlslab.invalid") != std::string::npos);
        CHECK(std::string(SSL_get_version(p.client.get())) == "TLSv1.2");
    }
    SECTION("select needs a default certificate") {
        auto bad = base_config();
        bad.sni = SniPolicy::Select;
        CHECK_FALSE(proxy::make_server_context(bad));
    }
}

// The catalogue's scenarios as materialize() builds their contexts.

TEST_CASE("scenario tls: tds8-tls1.3-only leaves TDS 7.x no version and TDS 8.0 TLS 1.3 only",
          "[core][tls][policy]") {
    auto rt = lab().runtime("tds8-tls1.3-only");
    SECTION("TDS 7.x context: even a TLS 1.3 client fails") {
        Pair p(rt->tds7_ctx.get(), {.sni = "localhost"});
        p.run();
        CHECK(p.client_failed);
        CHECK(p.server.state() == proxy::TlsState::Failed);
    }
    SECTION("TDS 8.0 context: TLS 1.3 served") {
        Pair p(rt->tds8_ctx.get(), {.sni = "localhost"});
        p.run();
        REQUIRE(p.client_done);
        CHECK(std::string(SSL_get_version(p.client.get())) == "TLSv1.3");
    }
    SECTION("TDS 8.0 context: a TLS 1.2 client is refused") {
        Pair p(rt->tds8_ctx.get(), {.max_version = TLS1_2_VERSION, .sni = "localhost"});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "protocol_version");
    }
}

TEST_CASE("scenario tls: tds8-tls1.2-only serves TLS 1.2 to TDS 7.x and TDS 8.0",
          "[core][tls][policy]") {
    auto rt = lab().runtime("tds8-tls1.2-only");
    for (SSL_CTX* ctx : {rt->tds7_ctx.get(), rt->tds8_ctx.get()}) {
        Pair p(ctx, {.sni = "localhost"});
        p.run();
        REQUIRE(p.client_done);
        CHECK(std::string(SSL_get_version(p.client.get())) == "TLSv1.2");
    }
}

TEST_CASE("scenario tls: tls1.0-rsa-3des serves TLS 1.0 with RSA key exchange, no 3DES here",
          "[core][tls][policy]") {
    auto rt = lab().runtime("tls1.0-rsa-3des");
    std::vector<std::string> names;
    STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(rt->tls_ctx.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
        std::string n = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i));
        if (n.rfind("TLS_", 0) != 0) { // the TLS 1.3 suites are listed too, never used here
            names.push_back(n);
        }
    }
    // OpenSSL 3.0 as Debian builds it has no DES-CBC3-SHA (no weak SSL ciphers).
    CHECK(names == std::vector<std::string>{"AES128-SHA", "AES256-SHA"});
    Pair p(rt->tls_ctx.get(),
           {.ciphers = "ALL:@SECLEVEL=0", .security_level = 0, .sni = "localhost"});
    SSL_set_min_proto_version(p.client.get(), TLS1_VERSION);
    p.run();
    REQUIRE(p.client_done);
    CHECK(std::string(SSL_get_version(p.client.get())) == "TLSv1");
    CHECK(std::string(SSL_get_cipher_name(p.client.get())) == "AES256-SHA");
}

TEST_CASE("scenario tls: rsa-key-exchange-only negotiates kRSA only", "[core][tls][policy]") {
    auto rt = lab().runtime("rsa-key-exchange-only");
    SECTION("a default client: an RSA key exchange suite, no temporary key") {
        Pair p(rt->tls_ctx.get(), {.sni = "localhost"});
        p.run();
        REQUIRE(p.client_done);
        CHECK(std::string(SSL_get_version(p.client.get())) == "TLSv1.2");
        CHECK(std::string(SSL_get_cipher_name(p.client.get())) == "AES256-GCM-SHA384");
        EVP_PKEY* tmp = nullptr;
        CHECK(SSL_get_peer_tmp_key(p.client.get(), &tmp) == 0);
    }
    SECTION("a client offering forward-secret suites only (as Go 1.22+): handshake_failure") {
        Pair p(rt->tls_ctx.get(), {.ciphers = "ECDHE:DHE", .sni = "localhost"});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "handshake_failure");
    }
}

TEST_CASE("scenario tls: the new TLS scenarios' contexts carry their policies",
          "[core][tls][policy]") {
    SECTION("sha1-handshake-signature: SHA-1 when offered") {
        auto rt = lab().runtime("sha1-handshake-signature");
        Pair p(rt->tds7_ctx.get(), {.sigalgs = "RSA+SHA256:RSA+SHA1", .security_level = 0});
        p.run();
        REQUIRE(p.client_done);
        int nid = 0;
        REQUIRE(SSL_get_peer_signature_nid(p.client.get(), &nid) == 1);
        CHECK(nid == NID_sha1);
    }
    SECTION("dhe-1024: a Debian-default client refuses the group") {
        auto rt = lab().runtime("dhe-1024");
        Pair p(rt->postgres_ctx.get(), {});
        p.run();
        CHECK(p.client_failed);
        CHECK(p.client_error.find("dh key too small") != std::string::npos);
    }
    SECTION("few-sigalgs-only: a default client gets handshake_failure") {
        auto rt = lab().runtime("few-sigalgs-only");
        Pair p(rt->tds8_ctx.get(), {});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "handshake_failure");
    }
    SECTION("sni-required: no SNI is unrecognized_name; localhost is served") {
        auto rt = lab().runtime("sni-required");
        Pair none(rt->tls_ctx.get(), {});
        none.run();
        REQUIRE(none.server.alert_sent());
        CHECK(none.server.alert_sent()->name == "unrecognized_name");
        Pair named(rt->tls_ctx.get(), {.sni = "localhost"});
        named.run();
        CHECK(named.client_done);
    }
    SECTION("sni-selects-cert: no SNI sees default.tlslab.invalid, localhost the lab leaf") {
        auto rt = lab().runtime("sni-selects-cert");
        Pair none(rt->tds8_ctx.get(), {});
        none.run();
        REQUIRE(none.client_done);
        CHECK(none.peer_subject().find("CN=default.tlslab.invalid") != std::string::npos);
        Pair named(rt->tds8_ctx.get(), {.sni = "localhost"});
        named.run();
        REQUIRE(named.client_done);
        CHECK(named.peer_subject() == rt->leaf_info->subject);
    }
    SECTION("sni-unknown: the certificate's own name is refused as SNI") {
        auto rt = lab().runtime("sni-unknown");
        Pair p(rt->tls_ctx.get(), {.sni = "sql01.corp.example"});
        p.run();
        CHECK(p.client_failed);
        REQUIRE(p.server.alert_sent());
        CHECK(p.server.alert_sent()->name == "unrecognized_name");
    }
}
