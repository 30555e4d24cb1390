#pragma once

// TlsStream is one raw-TLS leg (TLS records straight on TCP, as PostgreSQL after SSLRequest or
// direct SSL, and the generic TLS relay use): ciphertext in, plaintext out, and the reverse,
// over a TlsEndpoint. Nothing is framed inside it; the owner frames what the plaintext carries.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <proxy/core/tls/tls_endpoint.h>

namespace proxy {

class TlsStream {
  public:
    struct Step {
        std::vector<std::uint8_t> plaintext; // application data received
        bool established = false;            // the handshake completed in this step
        bool closed = false;                 // the peer sent close_notify
        std::optional<std::string> error;    // the leg failed (handshake or record error)
    };

    // ctx is borrowed. The client role sends its ClientHello at once (take_output).
    TlsStream(SSL_CTX* ctx, TlsRole role, const std::string& server_name = {});

    Step on_ciphertext(std::span<const std::uint8_t> bytes);
    // write: plaintext to send; held until the handshake completes.
    void write(std::span<const std::uint8_t> plaintext);
    std::vector<std::uint8_t> take_output();

    const TlsEndpoint& endpoint() const { return *tls_; }
    bool established() const { return tls_->handshake_done(); }
    bool failed() const { return failed_; }

  private:
    std::unique_ptr<TlsEndpoint> tls_;
    std::vector<std::uint8_t> output_;
    std::vector<std::uint8_t> pending_; // plaintext written before the handshake completed
    bool failed_ = false;
};

} // namespace proxy
