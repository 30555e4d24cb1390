#pragma once

// PostgresPassthroughObserver reads a relayed PostgreSQL connection without touching it: the
// clear startup phase (SSLRequest / GSSENCRequest and their one-byte answers, a StartupMessage
// in clear) and, once TLS hides the rest, the client's record types. A client that sends two
// application-data records after the handshake began has logged in (TLS 1.3: its Finished, then
// the StartupMessage; TLS 1.2: the StartupMessage, then its authentication answer); one that
// sends an alert record refused. TLS 1.3 encrypts alerts too: a refusal there shows as one
// record and a close, which stays "handshake began".

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace proxy {

class PostgresPassthroughObserver {
  public:
    enum class Seen : std::uint8_t {
        Nothing,
        TlsStarted,     // SSLRequest answered 'S', or direct SSL
        LoginPlaintext, // a StartupMessage in clear
        LoginEncrypted, // application data from the client after the handshake began
        Alert,          // the client sent a (clear) alert record
    };

    void on_client(std::span<const std::uint8_t> bytes);
    void on_server(std::span<const std::uint8_t> bytes);

    Seen seen() const { return seen_; }
    std::optional<int> alert_code() const { return alert_code_; }
    // "SSLRequest answered S", "direct SSL", "plaintext", ...
    const std::string& negotiation() const { return negotiation_; }

  private:
    void scan_client_records();

    enum class Phase : std::uint8_t { Startup, AwaitAnswer, Tls, Clear, GaveUp };
    Phase phase_ = Phase::Startup;
    std::vector<std::uint8_t> client_;
    std::size_t app_records_ = 0;
    Seen seen_ = Seen::Nothing;
    std::optional<int> alert_code_;
    std::string negotiation_;
};

} // namespace proxy
