#pragma once

// MysqlPassthroughObserver reads a relayed MySQL/MariaDB connection without touching it: the
// server's greeting (version, MariaDB or not, CLIENT_SSL), the client's first packet (an
// SSLRequest, or a HandshakeResponse41 in clear: user, database, plugin, attributes) and, once
// TLS hides the rest, the client's record types. A client that sends two application-data
// records after the handshake began has logged in (TLS 1.3: its Finished, then the
// HandshakeResponse; TLS 1.2: the HandshakeResponse, then its next packet); one that sends a
// clear alert record refused. TLS 1.3 encrypts alerts too: a refusal there shows as a close,
// which stays "TLS started".

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <mysql/packet.h>
#include <proxy/core/session/session_record.h>

namespace proxy {

class MysqlPassthroughObserver {
  public:
    enum class Seen : std::uint8_t {
        Nothing,
        TlsStarted,     // an SSLRequest
        LoginPlaintext, // a HandshakeResponse in clear
        LoginEncrypted, // application data from the client after the handshake began
        Alert,          // the client sent a (clear) alert record
    };

    MysqlPassthroughObserver();

    void on_client(std::span<const std::uint8_t> bytes);
    void on_server(std::span<const std::uint8_t> bytes);

    Seen seen() const { return seen_; }
    std::optional<int> alert_code() const { return alert_code_; }
    // What could be read: the negotiation, the greeting, the client's capabilities, plugin and
    // attributes (a login in clear).
    const MysqlSummary& summary() const { return summary_; }
    // The HandshakeResponse's login, when it crossed in clear.
    const std::optional<LoginSummary>& login() const { return login_; }

  private:
    void scan_client_records();

    enum class Phase : std::uint8_t { First, Tls, GaveUp };
    Phase phase_ = Phase::First;
    mysql::PacketReader client_reader_;
    mysql::PacketReader server_reader_;
    bool greeting_read_ = false;
    std::vector<std::uint8_t> records_; // TLS bytes from the client, until a record is whole
    std::size_t app_records_ = 0;
    Seen seen_ = Seen::Nothing;
    std::optional<int> alert_code_;
    MysqlSummary summary_;
    std::optional<LoginSummary> login_;
};

} // namespace proxy
