#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace proxy {

inline constexpr unsigned char kAlpnTds8[] = {7, 't', 'd', 's', '/', '8', '.', '0'};
inline constexpr unsigned char kAlpnPostgres[] = {10,  'p', 'o', 's', 't', 'g',
                                                  'r', 'e', 's', 'q', 'l'};

// Which ALPN protocol a server-role context selects.
enum class ServerAlpn : std::uint8_t {
    None,     // ignore the extension
    Tds8,     // "tds/8.0" when offered; other offers get a handshake without ALPN
    Postgres, // "postgresql" when offered; other offers get no_application_protocol (PG 17)
};

// What a server-role TLS context presents and allows.
struct TlsServerConfig {
    X509* cert = nullptr;     // borrowed: up-ref'd into the context
    EVP_PKEY* key = nullptr;  // borrowed
    std::vector<X509*> chain; // extra certificates sent after the leaf
    int min_version = 0;      // TLS1_VERSION ... TLS1_3_VERSION; 0 = OpenSSL default
    int max_version = 0;
    ServerAlpn alpn = ServerAlpn::None;
    // only_version: behave like a server that knows only this version (a fixed-version method):
    // it ignores supported_versions and answers a newer client with its own ServerHello, so the
    // client reports the protocol error itself, as against a real old server.
    int only_version = 0;
    std::optional<int> security_level; // lower it to serve weak keys and old versions
    std::string cipher_list;           // TLS <= 1.2 ciphers; empty = OpenSSL default
};

// make_server_context builds an SSL_CTX for the client-facing leg: no session tickets, no
// session cache, no renegotiation, so that no post-handshake record can ever land on a leg that
// goes back to plaintext (login-only), and the ClientHello observer installed.
std::expected<certs::SslCtxPtr, std::string> make_server_context(const TlsServerConfig& config);

// What a client-role TLS context trusts and offers.
struct TlsClientConfig {
    std::vector<X509*> trusted; // borrowed; empty with verify = true means the system store
    bool verify = false;
    int min_version = 0;
    int max_version = 0;
    bool alpn_tds8 = false;
};

std::expected<certs::SslCtxPtr, std::string> make_client_context(const TlsClientConfig& config);

// tls_version_from_name maps "1.0".."1.3" (or "TLSv1.2") to the OpenSSL constant.
std::optional<int> tls_version_from_name(const std::string& name);

} // namespace proxy
