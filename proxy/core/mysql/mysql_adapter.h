#pragma once

// Theory of operation
// -------------------
// MysqlAdapter carries the MySQL/MariaDB protocol through a ProxySession. The server speaks
// first, so the adapter starts at accept (a MySQL listener says so) and waits for the upstream's
// greeting:
//
//   upstream greeting (HandshakeV10) -> shown to the client with CLIENT_SSL as the scenario says
//                                       (offered unless hide_ssl; the proxy does TLS even when
//                                       the upstream offers none), every other field as read;
//                                       an ERR greeting is relayed and ends the session
//   client, AwaitResponse (clear):
//     SSLRequest (seq 1)        -> TLS with the scenario's certificate (no answer: the
//                                  ClientHello follows at once), then the HandshakeResponse41
//                                  inside (seq 2)
//     HandshakeResponse41 (seq 1) in clear -> relayed, or refused with ERR 3159 as a server with
//                                  require_secure_transport=ON refuses it
//   Authenticating: every packet relayed one by one and read: AuthSwitchRequest,
//                   caching_sha2_password's 0x01 0x03 (fast) / 0x01 0x04 (full), the client's
//                   password in clear (full authentication over TLS, mysql_clear_password,
//                   sha256_password), the RSA key request; OK or ERR ends the phase
//   Commands: relayed both ways; COM_QUERY texts and ERR packets become message records
//
// The upstream leg is independent of what the client was shown: when the client goes TLS and
// the upstream offered CLIENT_SSL, the proxy sends its own SSLRequest and goes TLS; a client in
// clear is mirrored in clear (also under hide_ssl: the client meets what a server without TLS
// does, as it believes). When
// one leg has an SSLRequest and the other not, every packet of the connection phase is
// renumbered on the way through (the client's HandshakeResponse is seq 2 after an SSLRequest,
// seq 1 without); commands restart at 0 on both legs, so nothing is renumbered after the OK.
// CLIENT_SSL in the HandshakeResponse is set or cleared to match the upstream leg.
//
// MariaDB 11.4+ zero-configuration SSL: the OK after authentication carries a check bound to the
// server's certificate; a client that finds it does not match the certificate it was shown
// aborts before its first command. That is recorded as its own outcome (AbortedAfterOk).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tls/tls_stream.h>

namespace proxy {

class MysqlAdapter final : public ProtocolAdapter {
  public:
    // The longest packet read before the authentication ends (a HandshakeResponse with its
    // connection attributes, which MySQL caps at 64 KiB, an RSA key): beyond it the client is
    // hostile. After the OK, the MySQL default max_allowed_packet applies.
    static constexpr std::size_t kMaxConnectionPhasePacket = 1024 * 1024;

    explicit MysqlAdapter(const SessionContext& ctx);

    void on_connected(SessionContext& ctx) override;
    void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void flush(SessionContext& ctx) override;
    bool has_login() const override { return response_sent_; }
    Outcome judge_client_left(const SessionContext& ctx) const override;
    Outcome server_left_before_login(const SessionContext& ctx) const override;
    void complete_record(SessionContext& ctx) override;
    const TlsEndpoint* client_tls() const override {
        return client_tls_ ? &client_tls_->endpoint() : nullptr;
    }

    enum class ClientPhase : std::uint8_t {
        AwaitGreeting,    // the upstream has not greeted yet (client bytes are held)
        AwaitResponse,    // greeting shown: an SSLRequest or a HandshakeResponse in clear
        AwaitClientHello, // after the SSLRequest: the next byte starts TLS
        Handshake,        // TLS handshake with the client
        InTls,            // TLS up: the HandshakeResponse inside
        Authenticating,   // the authentication exchange
        Commands,         // after the server's OK
        Failed,
    };
    enum class ServerPhase : std::uint8_t {
        AwaitGreeting, // connected (or not yet): the server speaks first
        Idle,          // greeting read; the leg is decided by the client's first packet
        Handshake,     // our SSLRequest is out: TLS with the upstream
        Ready,         // TLS up, or clear by choice
        Failed,
    };

  private:
    enum class AuthStep : std::uint8_t {
        None,
        FullRequested,      // caching_sha2_password sent 0x01 0x04
        PublicKeyRequested, // the client asked for the server's RSA key
    };

    // Client side.
    void client_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes);
    void client_packets(SessionContext& ctx);
    void on_client_packet(SessionContext& ctx, mysql::Packet& p);
    void on_ssl_request(SessionContext& ctx, const mysql::Packet& p);
    void on_handshake_response(SessionContext& ctx, mysql::Packet& p);
    void feed_client_tls(SessionContext& ctx, std::span<const std::uint8_t> bytes);
    void note_client_tls(SessionContext& ctx);
    void inspect_client_auth(SessionContext& ctx, std::span<const std::uint8_t> data,
                             bool in_response);
    void inspect_command(SessionContext& ctx, const mysql::Packet& p);
    void read_password(SessionContext& ctx, std::span<const std::uint8_t> data,
                       const std::string& via);
    void expose(SessionContext& ctx, const std::string& secret);
    void refuse_client(SessionContext& ctx, std::uint8_t sequence, std::uint16_t code,
                       const std::string& sql_state, const std::string& message, Outcome outcome,
                       const std::string& detail);

    // Server side.
    void server_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes);
    void server_packets(SessionContext& ctx);
    void on_greeting(SessionContext& ctx, const mysql::Packet& p);
    void inspect_server_auth(SessionContext& ctx, std::span<const std::uint8_t> payload);
    void start_upstream_tls(SessionContext& ctx, const mysql::SslRequest& request);
    void upstream_clear(SessionContext& ctx, std::string why);
    void upstream_ready(SessionContext& ctx);

    void to_client(std::span<const std::uint8_t> bytes);
    void to_server(std::span<const std::uint8_t> bytes);
    MysqlSummary& summary(SessionContext& ctx);
    bool client_in_tls() const { return client_ssl_; }
    // The connection phase's numbering on each leg: an SSLRequest on one leg and not the other
    // shifts every later packet by one.
    std::uint8_t to_server_sequence(std::uint8_t client_sequence) const;
    std::uint8_t to_client_sequence(std::uint8_t server_sequence) const;
    // The capabilities both sides agreed on (they decide the OK packet's layout).
    std::uint32_t agreed_capabilities() const;

    ClientPhase client_phase_ = ClientPhase::AwaitGreeting;
    ServerPhase server_phase_ = ServerPhase::AwaitGreeting;
    mysql::PacketReader client_reader_;
    mysql::PacketReader server_reader_;
    std::vector<std::uint8_t> hello_; // the first TLS record, until it is whole
    std::optional<TlsStream> client_tls_;
    std::optional<TlsStream> server_tls_;
    std::vector<std::uint8_t> out_client_;        // clear bytes for the client, in order
    std::vector<std::uint8_t> held_for_upstream_; // clear bytes waiting for the upstream leg
    std::vector<std::uint8_t> server_plain_out_;  // clear bytes for an upstream in clear

    std::optional<mysql::Handshake> greeting_; // the upstream's, as read
    std::uint32_t client_capabilities_ = 0;
    std::uint8_t client_sequence_ = 1; // of the client's last packet (for an ERR answer)
    bool client_ssl_ = false;          // the client sent an SSLRequest
    bool server_ssl_ = false;          // the proxy sent one upstream
    bool response_sent_ = false;
    bool auth_done_ = false; // OK or ERR ended the authentication
    bool authenticated_ = false;
    bool command_seen_ = false; // a command other than COM_QUIT after the OK
    bool plaintext_login_ = false;
    std::string plugin_; // the plugin running now
    AuthStep auth_step_ = AuthStep::None;
};

std::string_view to_string(MysqlAdapter::ClientPhase p);

} // namespace proxy
