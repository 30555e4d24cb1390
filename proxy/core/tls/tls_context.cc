#include <algorithm>
#include <cctype>
#include <cstring>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <certs/pem.h>
#include <proxy/core/tls/session_store.h>
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

constexpr unsigned kExtServerName = 0;
constexpr unsigned kExtSignatureAlgorithms = 13;

// ServerPolicy: what the ClientHello callback enforces; owned by the SSL_CTX (ex_data).
struct ServerPolicy {
    std::optional<int> max_client_sigalgs;
    SniPolicy sni = SniPolicy::Ignore;
    std::vector<std::string> names;
    certs::SslCtxPtr default_ctx; // select: the context with the default certificate
};

void free_policy(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                 void* /*argp*/) {
    delete static_cast<ServerPolicy*>(ptr);
}

int policy_index() {
    static const int index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr, free_policy);
    return index;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// hello_sni: the host_name of the ClientHello's server_name extension ("" when absent or
// malformed): list length(2), then type(1) = 0, name length(2), name.
std::string hello_sni(SSL* ssl) {
    const unsigned char* data = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, kExtServerName, &data, &len) != 1 || len < 5 ||
        data[2] != 0) {
        return {};
    }
    std::size_t n = static_cast<std::size_t>((data[3] << 8) | data[4]);
    return 5 + n <= len ? std::string(reinterpret_cast<const char*>(data + 5), n) : std::string();
}

// enforce: the scenario's server behaviour at the ClientHello; false with *alert set refuses it.
bool enforce(const ServerPolicy& policy, SSL* ssl, int* alert) {
    if (policy.max_client_sigalgs) {
        const unsigned char* data = nullptr;
        std::size_t len = 0;
        if (SSL_client_hello_get0_ext(ssl, kExtSignatureAlgorithms, &data, &len) == 1) {
            auto count = count_sigalgs(data, len);
            if (!count || *count > static_cast<std::size_t>(*policy.max_client_sigalgs)) {
                *alert = SSL_AD_HANDSHAKE_FAILURE;
                return false;
            }
        }
    }
    if (policy.sni == SniPolicy::Ignore) {
        return true;
    }
    std::string sni = hello_sni(ssl);
    bool known = std::any_of(policy.names.begin(), policy.names.end(),
                             [&](const std::string& n) { return iequals(n, sni); });
    switch (policy.sni) {
    case SniPolicy::Ignore:
        return true;
    case SniPolicy::Require:
        if (sni.empty()) {
            *alert = SSL_AD_UNRECOGNIZED_NAME;
            return false;
        }
        return true;
    case SniPolicy::Known:
        if (!sni.empty() && !known) {
            *alert = SSL_AD_UNRECOGNIZED_NAME;
            return false;
        }
        return true;
    case SniPolicy::Select:
        if ((sni.empty() || !known) && policy.default_ctx) {
            // Before the extensions are processed: the whole handshake uses the default context
            // (same versions, ciphers, ALPN and callbacks, another certificate).
            SSL_set_SSL_CTX(ssl, policy.default_ctx.get());
        }
        return true;
    }
    return true;
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
    // The observer first: a refused ClientHello is still recorded.
    if (TlsEndpoint* ep = TlsEndpoint::from(ssl)) {
        ep->on_client_hello(ssl);
    }
    const auto* policy = static_cast<const ServerPolicy*>(arg);
    if (policy != nullptr && !enforce(*policy, ssl, alert)) {
        return SSL_CLIENT_HELLO_ERROR;
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
    // OpenSSL's record buffers (about 17 KiB each way) are freed while a connection is idle: a
    // lab holds thousands of idle sessions, two TLS legs each.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
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

std::optional<std::size_t> count_sigalgs(const unsigned char* body, std::size_t len) {
    if (body == nullptr || len < 2) {
        return std::nullopt;
    }
    std::size_t list = static_cast<std::size_t>((body[0] << 8) | body[1]);
    if (list + 2 != len || list % 2 != 0) {
        return std::nullopt;
    }
    return list / 2;
}

namespace {
using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, certs::OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, certs::OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, certs::OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
} // namespace

std::expected<certs::EvpPkeyPtr, std::string> modp1024_parameters() {
    certs::BignumPtr p(BN_get_rfc2409_prime_1024(nullptr));
    certs::BignumPtr g(BN_new());
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!p || !g || !bld || BN_set_word(g.get(), 2) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g.get()) != 1) {
        return std::unexpected("DH parameters: " + certs::openssl_error());
    }
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1 ||
        EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_KEY_PARAMETERS, params.get()) != 1) {
        return std::unexpected("DH parameters: " + certs::openssl_error());
    }
    return certs::EvpPkeyPtr(raw);
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
    // No tickets and no session cache unless asked: nothing may follow the handshake on a
    // login-only leg, and every connection of a lab run should show the full handshake.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    if (config.issue_tickets) {
        SSL_CTX_set_num_tickets(ctx.get(), 1);
    } else {
        SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx.get(), 0);
    }
    if (!config.sigalgs.empty() && SSL_CTX_ctrl(ctx.get(), SSL_CTRL_SET_SIGALGS_LIST, 0,
                                                const_cast<char*>(config.sigalgs.c_str())) != 1) {
        return std::unexpected("sigalgs '" + config.sigalgs + "': " + certs::openssl_error());
    }
    if (config.dh_modp1024) {
        auto dh = modp1024_parameters();
        if (!dh) {
            return std::unexpected(dh.error());
        }
        SSL_CTX_ctrl(ctx.get(), SSL_CTRL_SET_DH_AUTO, 0, nullptr);
        if (SSL_CTX_set0_tmp_dh_pkey(ctx.get(), dh->get()) != 1) {
            return std::unexpected("DH group modp1024 (needs security level 1 or lower): " +
                                   certs::openssl_error());
        }
        (void)dh->release(); // the context owns it now
    }
    ServerPolicy* policy = nullptr;
    if (config.max_client_sigalgs || config.sni != SniPolicy::Ignore) {
        auto owned = std::make_unique<ServerPolicy>();
        owned->max_client_sigalgs = config.max_client_sigalgs;
        owned->sni = config.sni;
        owned->names = config.known_names;
        if (config.sni == SniPolicy::Select) {
            if (config.default_cert == nullptr || config.default_key == nullptr) {
                return std::unexpected("sni = select needs a default certificate");
            }
            TlsServerConfig other = config;
            other.cert = config.default_cert;
            other.key = config.default_key;
            other.chain.clear();
            other.sni = SniPolicy::Ignore;
            other.max_client_sigalgs.reset();
            auto made = make_server_context(other);
            if (!made) {
                return std::unexpected("default certificate: " + made.error());
            }
            owned->default_ctx = std::move(*made);
        }
        if (SSL_CTX_set_ex_data(ctx.get(), policy_index(), owned.get()) != 1) {
            return std::unexpected("SSL_CTX_set_ex_data: " + certs::openssl_error());
        }
        policy = owned.release(); // freed with the context (free_policy)
    }
    SSL_CTX_set_client_hello_cb(ctx.get(), on_client_hello, policy);
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
    if (config.resume_sessions) {
        if (auto kept = enable_session_store(ctx.get()); !kept) {
            return std::unexpected(kept.error());
        }
    }
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
