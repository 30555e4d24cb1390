#pragma once

// Theory of operation
// -------------------
// make_server_context builds the SSL_CTX a scenario shows the client; make_client_context the
// one a leg uses towards a real server. Besides versions, ciphers and ALPN, a server context can
// behave like particular real servers:
//   sigalgs             the server's own signature algorithms (ServerKeyExchange,
//                       CertificateVerify), "RSA+SHA1" for an old SChannel
//   dh_group modp1024   DHE suites use the 1024-bit RFC 2409 Oakley group 2
//   max_client_sigalgs  a ClientHello listing more signature algorithms than this meets a
//                       fatal handshake_failure (an intolerant old stack)
//   sni                 require / known / select (see SniPolicy)
// All of them live in one ClientHello callback, after the observer that records the
// ClientHello for the lab (TlsEndpoint::on_client_hello), so a refused hello is still recorded.

#include <cstddef>
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

// What the server does with the ClientHello's server_name.
enum class SniPolicy : std::uint8_t {
    Ignore,  // any or none: the certificate
    Require, // none: fatal unrecognized_name
    Known,   // a name not in known_names: fatal unrecognized_name (none: the certificate)
    Select,  // a known name: the certificate; none or another: the default certificate
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
    // issue_tickets: let clients resume (one TLS 1.3 ticket; TLS 1.2 tickets to clients that
    // ask), as a server with resumption on. Off: every connection a full handshake.
    bool issue_tickets = false;
    std::string cipher_list; // TLS <= 1.2 ciphers; empty = OpenSSL default
    // The server's signature algorithms (OpenSSL list syntax, "RSA+SHA1"); empty: defaults.
    std::string sigalgs;
    // DHE suites use the 1024-bit Oakley group 2 (RFC 2409) instead of OpenSSL's choice; needs
    // a security level of 1 or lower.
    bool dh_modp1024 = false;
    // Refuse (fatal handshake_failure) a ClientHello with more signature_algorithms entries.
    std::optional<int> max_client_sigalgs;
    SniPolicy sni = SniPolicy::Ignore;
    // require / known / select: the names the server answers to (compared without case).
    std::vector<std::string> known_names;
    // select: what a ClientHello without SNI or with another name is shown (borrowed).
    X509* default_cert = nullptr;
    EVP_PKEY* default_key = nullptr;
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
    // resume_sessions: keep each server's session and offer it on the next connection to that
    // server name (session_store.h); off: every connection a full handshake.
    bool resume_sessions = false;
};

std::expected<certs::SslCtxPtr, std::string> make_client_context(const TlsClientConfig& config);

// tls_version_from_name maps "1.0".."1.3" (or "TLSv1.2") to the OpenSSL constant.
std::optional<int> tls_version_from_name(const std::string& name);

// count_sigalgs: the entries of a signature_algorithms extension body (2-byte list length,
// then 2 bytes per scheme); nullopt when the body is malformed.
std::optional<std::size_t> count_sigalgs(const unsigned char* body, std::size_t len);

// modp1024_parameters: DH parameters of the 1024-bit RFC 2409 Oakley group 2 (generator 2).
std::expected<certs::EvpPkeyPtr, std::string> modp1024_parameters();

} // namespace proxy
