#include <cstring>

#include <openssl/err.h>

#include <certs/pem.h>
#include <proxy/core/tls/tls_context.h>
#include <proxy/core/tls/tls_endpoint.h>
#include <proxy/core/tls/tls_keylog.h>

namespace proxy {

namespace {

const SSL_METHOD* server_method(int only_version);

int select_tds8(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* /*arg*/) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kAlpnTds8, sizeof kAlpnTds8, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    // A client that offers other protocols only still gets a handshake: the lab records it.
    return SSL_TLSEXT_ERR_NOACK;
}

// select_postgres: as PostgreSQL 17's alpn_cb: "postgresql" when offered; a client that offers
// ALPN without it meets a fatal no_application_protocol alert (RFC 7301).
int select_postgres(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* /*arg*/) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kAlpnPostgres, sizeof kAlpnPostgres, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int on_client_hello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
    if (TlsEndpoint* ep = TlsEndpoint::from(ssl)) {
        ep->on_client_hello(ssl);
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

void on_info(const SSL* ssl, int where, int value) {
    if ((where & SSL_CB_ALERT) == 0) {
        return;
    }
    if (TlsEndpoint* ep = TlsEndpoint::from(ssl)) {
        ep->on_alert((where & SSL_CB_WRITE) != 0, value);
    }
}

void apply_common(SSL_CTX* ctx, int min_version, int max_version) {
    if (min_version != 0) {
        SSL_CTX_set_min_proto_version(ctx, min_version);
    }
    if (max_version != 0) {
        SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    SSL_CTX_set_info_callback(ctx, on_info);
    install_keylog(ctx);
    // Old SQL Servers choke on the CBC empty-fragment countermeasure (tedious, FreeTDS).
    SSL_CTX_set_options(ctx, SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
}

} // namespace

std::optional<int> tls_version_from_name(const std::string& raw) {
    std::string name = raw;
    if (name.rfind("TLSv", 0) == 0 || name.rfind("tlsv", 0) == 0) {
        name = name.substr(4);
    }
    if (name == "1.0" || name == "1") {
        return TLS1_VERSION;
    }
    if (name == "1.1") {
        return TLS1_1_VERSION;
    }
    if (name == "1.2") {
        return TLS1_2_VERSION;
    }
    if (name == "1.3") {
        return TLS1_3_VERSION;
    }
    return std::nullopt;
}

namespace {
const SSL_METHOD* server_method(int only_version) {
    // The fixed-version methods are deprecated for good reasons; an old-server scenario is the
    // one place that wants exactly their behaviour.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    switch (only_version) {
    case TLS1_VERSION:
        return TLSv1_server_method();
    case TLS1_1_VERSION:
        return TLSv1_1_server_method();
    case TLS1_2_VERSION:
        return TLSv1_2_server_method();
    default:
        return TLS_server_method();
    }
#pragma GCC diagnostic pop
}
} // namespace

std::expected<certs::SslCtxPtr, std::string> make_server_context(const TlsServerConfig& config) {
    certs::SslCtxPtr ctx(SSL_CTX_new(server_method(config.only_version)));
    if (!ctx) {
        return std::unexpected("SSL_CTX_new: " + certs::openssl_error());
    }
    // The security level first: it decides whether a weak leaf may even be loaded.
    if (config.security_level) {
        SSL_CTX_set_security_level(ctx.get(), *config.security_level);
    }
    if (!config.cipher_list.empty() &&
        SSL_CTX_set_cipher_list(ctx.get(), config.cipher_list.c_str()) != 1) {
        return std::unexpected("cipher list '" + config.cipher_list +
                               "': " + certs::openssl_error());
    }
    apply_common(ctx.get(), config.min_version, config.max_version);
    if (SSL_CTX_use_certificate(ctx.get(), config.cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), config.key) != 1) {
        return std::unexpected("server certificate: " + certs::openssl_error());
    }
    for (X509* extra : config.chain) {
        X509_up_ref(extra);
        if (SSL_CTX_add1_chain_cert(ctx.get(), extra) != 1) {
            X509_free(extra);
            return std::unexpected("chain certificate: " + certs::openssl_error());
        }
        X509_free(extra); // add1 took its own reference
    }
    // No tickets and no session cache: nothing may follow the handshake on a login-only leg,
    // and every connection of a lab run should show the full handshake.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_client_hello_cb(ctx.get(), on_client_hello, nullptr);
    switch (config.alpn) {
    case ServerAlpn::None:
        break;
    case ServerAlpn::Tds8:
        SSL_CTX_set_alpn_select_cb(ctx.get(), select_tds8, nullptr);
        break;
    case ServerAlpn::Postgres:
        SSL_CTX_set_alpn_select_cb(ctx.get(), select_postgres, nullptr);
        break;
    }
    return ctx;
}

std::expected<certs::SslCtxPtr, std::string> make_client_context(const TlsClientConfig& config) {
    certs::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        return std::unexpected("SSL_CTX_new: " + certs::openssl_error());
    }
    apply_common(ctx.get(), config.min_version, config.max_version);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    if (config.verify) {
        if (config.trusted.empty()) {
            SSL_CTX_set_default_verify_paths(ctx.get());
        } else {
            X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
            for (X509* ca : config.trusted) {
                X509_STORE_add_cert(store, ca);
            }
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    }
    if (config.alpn_tds8 && SSL_CTX_set_alpn_protos(ctx.get(), kAlpnTds8, sizeof kAlpnTds8) != 0) {
        return std::unexpected("ALPN: " + certs::openssl_error());
    }
    return ctx;
}

} // namespace proxy
