#pragma once

// Theory of operation
// -------------------
// CertificateFetch is a client that goes only as far as the server's certificate, for
// `tlslab proxy --transparent --certificate mirror`. It is sans-IO: start() gives the first bytes
// to send, on_bytes() takes what the server said and gives what to send next, until done() with
// the certificate or an error. Per protocol, as a driver does it:
//
//   tds       PRELOGIN (ENCRYPTION ON) -> the answer -> TLS wrapped in PRELOGIN packets (the
//             proxy's own ServerLeg, as its upstream leg does)
//   postgres  SSLRequest -> 'S' -> TLS
//   mysql     the server's greeting -> SSLRequest (CLIENT_SSL) -> TLS
//   tls       TLS at once
//
// The TLS leg never verifies (it only reads), and the fetch sends no login.

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <sys/socket.h>
#include <vector>

#include <certs/openssl_ptr.h>
#include <mysql/packet.h>
#include <proxy/core/session/session_context.h>
#include <proxy/core/tds/server_leg.h>
#include <proxy/core/tls/tls_endpoint.h>

namespace proxy::app {

class CertificateFetch {
  public:
    // ctx: a non-verifying client context (TLS 1.0-1.3 so that old servers answer too).
    CertificateFetch(ListenerProtocol protocol, SSL_CTX* ctx, std::string server_name);

    std::vector<std::uint8_t> start();
    std::vector<std::uint8_t> on_bytes(std::span<const std::uint8_t> bytes);
    bool done() const { return cert_ != nullptr || error_.has_value(); }
    // The server's leaf (owned), or why there is none.
    std::expected<certs::X509Ptr, std::string> take_result();

  private:
    std::vector<std::uint8_t> start_tls();
    std::vector<std::uint8_t> step_tls(std::span<const std::uint8_t> bytes);
    void fail(std::string why) {
        if (!error_) {
            error_ = std::move(why);
        }
    }
    void keep_certificate(X509* cert);

    enum class Phase : std::uint8_t { Start, AwaitAnswer, AwaitGreeting, Tls, Tds };
    ListenerProtocol protocol_;
    SSL_CTX* ctx_;
    std::string server_name_;
    Phase phase_ = Phase::Start;
    std::unique_ptr<TlsEndpoint> tls_;
    std::unique_ptr<ServerLeg> tds_;
    mysql::PacketReader mysql_reader_;
    certs::X509Ptr cert_;
    std::optional<std::string> error_;
};

// fetch_certificate connects to `server` and runs a CertificateFetch over a blocking socket:
// the calling thread waits at most `timeout`.
std::expected<certs::X509Ptr, std::string> fetch_certificate(const sockaddr_storage& server,
                                                             ListenerProtocol protocol,
                                                             SSL_CTX* ctx,
                                                             std::chrono::milliseconds timeout);

} // namespace proxy::app
