#include <catch2/catch.hpp>

#include <proxy/core/tls/tls_context.h>
#include <proxy/core/tls/tls_endpoint.h>
#include <support/test_pki.h>

namespace {

using proxy::TlsEndpoint;
using proxy::TlsRole;

// handshake: a client endpoint against a server endpoint over memory, until both are quiet
// (the server's TLS 1.3 ticket, sent after its Finished, is read by the client too).
void handshake(TlsEndpoint& client, TlsEndpoint& server) {
    for (int i = 0; i < 20; ++i) {
        client.advance();
        auto c2s = client.take_ciphertext();
        server.feed_ciphertext(c2s);
        server.advance();
        auto s2c = server.take_ciphertext();
        client.feed_ciphertext(s2c);
        client.advance();
        if (c2s.empty() && s2c.empty() && client.handshake_done()) {
            return;
        }
    }
}

certs::SslCtxPtr server_context(bool tickets, int max_version) {
    proxy::TlsServerConfig cfg;
    cfg.cert = support::test_pki().leaf.cert.get();
    cfg.key = support::test_pki().leaf.key.get();
    cfg.min_version = TLS1_2_VERSION;
    cfg.max_version = max_version;
    cfg.issue_tickets = tickets;
    auto ctx = proxy::make_server_context(cfg);
    REQUIRE(ctx);
    return std::move(*ctx);
}

certs::SslCtxPtr client_context(bool resume, X509* trusted) {
    proxy::TlsClientConfig c;
    c.verify = true;
    c.trusted = {trusted};
    c.resume_sessions = resume;
    auto ctx = proxy::make_client_context(c);
    REQUIRE(ctx);
    return std::move(*ctx);
}

// connect: one connection from client_ctx to server_ctx for `name`; whether it resumed.
bool connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& name,
             long* verify = nullptr) {
    TlsEndpoint client(client_ctx, TlsRole::Client, name);
    TlsEndpoint server(server_ctx, TlsRole::Server);
    handshake(client, server);
    if (verify != nullptr) {
        *verify = client.verify_result();
    }
    return client.session_reused();
}

} // namespace

TEST_CASE("session store: the second connection to a server resumes, per server name",
          "[tls][session_store]") {
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        CAPTURE(version);
        auto server = server_context(true, version);
        auto client = client_context(true, support::test_pki().ca.cert.get());
        CHECK_FALSE(connect(client.get(), server.get(), "localhost"));
        CHECK(connect(client.get(), server.get(), "localhost"));
        CHECK(connect(client.get(), server.get(), "localhost"));
        // Another name has no session of its own yet.
        CHECK_FALSE(connect(client.get(), server.get(), "127.0.0.1"));
    }
}

TEST_CASE("session store: nothing is resumed without tickets from the server, or without a store",
          "[tls][session_store]") {
    auto no_tickets = server_context(false, TLS1_3_VERSION);
    auto client = client_context(true, support::test_pki().ca.cert.get());
    CHECK_FALSE(connect(client.get(), no_tickets.get(), "localhost"));
    CHECK_FALSE(connect(client.get(), no_tickets.get(), "localhost"));
    auto tickets = server_context(true, TLS1_3_VERSION);
    auto plain = client_context(false, support::test_pki().ca.cert.get());
    CHECK_FALSE(connect(plain.get(), tickets.get(), "localhost"));
    CHECK_FALSE(connect(plain.get(), tickets.get(), "localhost"));
}

TEST_CASE("session store: a session whose certificate failed verification is never offered",
          "[tls][session_store]") {
    auto server = server_context(true, TLS1_2_VERSION);
    // The client trusts only the leaf itself (not a CA): every handshake fails verification,
    // and must keep failing rather than resume.
    auto client = client_context(true, support::test_pki().leaf.cert.get());
    long verify = X509_V_OK;
    CHECK_FALSE(connect(client.get(), server.get(), "localhost", &verify));
    CHECK(verify != X509_V_OK);
    CHECK_FALSE(connect(client.get(), server.get(), "localhost", &verify));
    CHECK(verify != X509_V_OK);
}
