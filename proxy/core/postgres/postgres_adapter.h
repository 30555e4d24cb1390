#pragma once

// Theory of operation
// -------------------
// PostgresAdapter carries the PostgreSQL protocol through a ProxySession. Client side:
//
//   AwaitStartup (clear):
//     SSLRequest     -> 'S' (then TLS with the scenario's certificate) or 'N' (refuse_ssl)
//     GSSENCRequest  -> 'N' (the lab has no Kerberos), back to AwaitStartup
//     0x16           -> direct SSL (PostgreSQL 17): TLS first, ALPN postgresql required
//     CancelRequest  -> relayed untouched to the upstream on this session's own connection
//     StartupMessage -> in clear: relayed, or refused with the FATAL a hostssl-only server sends
//   InTls: the StartupMessage (or a CancelRequest) inside TLS
//   Relaying: regular messages, framed, inspected, relayed one by one
//
// Upstream side, independent of what the client was shown: when the client asked for TLS (either
// way) the proxy sends its own SSLRequest and goes TLS on 'S' (clear on 'N', recorded); a client
// in clear is mirrored in clear. The StartupMessage goes up once that leg is ready.
//
// Inspection: the StartupMessage (user, database, application_name, options), the server's
// authentication request, and the client's answer: a cleartext password or MD5 hash (masked
// unless --reveal-secrets; EXPOSED when read where it should not have been), the SCRAM mechanism
// chosen and the channel-binding flag. A server that refuses a SCRAM-SHA-256-PLUS proof bound to
// the lab's certificate is recorded: the client's channel binding defeated the interception.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pg/messages.h>
#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tls/tls_stream.h>

namespace proxy {

class PostgresAdapter final : public ProtocolAdapter {
  public:
    explicit PostgresAdapter(const SessionContext& ctx);

    void on_connected(SessionContext& ctx) override;
    void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void flush(SessionContext& ctx) override;
    bool has_login() const override { return startup_sent_; }
    Outcome judge_client_left(const SessionContext& ctx) const override;
    Outcome server_left_before_login(const SessionContext& ctx) const override;
    void complete_record(SessionContext& ctx) override;
    const TlsEndpoint* client_tls() const override {
        return client_tls_ ? &client_tls_->endpoint() : nullptr;
    }

    enum class ClientPhase : std::uint8_t {
        AwaitStartup,     // clear: a startup packet or a direct-SSL ClientHello
        AwaitClientHello, // answered 'S': the next byte starts TLS
        Handshake,        // TLS handshake with the client
        InTls,            // TLS up: the startup packet inside
        Relaying,         // regular messages (inside TLS or in clear)
        Cancel,           // a CancelRequest: raw relay
        Failed,
    };
    enum class ServerPhase : std::uint8_t {
        Idle,           // nothing decided yet
        AwaitSslAnswer, // our SSLRequest is out
        Handshake,      // TLS with the upstream
        Ready,          // TLS up, or clear by choice
        Failed,
    };

  private:
    void client_plain(SessionContext& ctx); // process client_plain_ in the current phase
    bool on_startup_packet(SessionContext& ctx, std::span<const std::uint8_t> packet);
    void on_startup_message(SessionContext& ctx, const pg::StartupPacket& p,
                            std::span<const std::uint8_t> packet);
    void start_client_tls(SessionContext& ctx, bool direct);
    void feed_client_tls(SessionContext& ctx, std::span<const std::uint8_t> bytes);
    void relay_client_messages(SessionContext& ctx);
    void relay_server_messages(SessionContext& ctx);
    void inspect_client(SessionContext& ctx, const pg::Message& m);
    // inspect_server may rewrite the message (the downgrade scenarios).
    void inspect_server(SessionContext& ctx, pg::Message& m);
    void server_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes);
    void start_upstream_ssl(SessionContext& ctx);
    void upstream_ready(SessionContext& ctx);
    void to_client(std::span<const std::uint8_t> bytes);
    void to_server(std::span<const std::uint8_t> bytes);
    void note_client_tls(SessionContext& ctx);
    void expose(SessionContext& ctx, const std::string& secret);
    PostgresSummary& summary(SessionContext& ctx);

    ClientPhase client_phase_ = ClientPhase::AwaitStartup;
    ServerPhase server_phase_ = ServerPhase::Idle;
    std::vector<std::uint8_t> client_plain_; // clear bytes from the client not yet framed
    std::vector<std::uint8_t> hello_;        // the first TLS record, until it is whole
    std::optional<TlsStream> client_tls_;
    std::optional<TlsStream> server_tls_;
    pg::MessageReader client_reader_;
    pg::MessageReader server_reader_;
    std::vector<std::uint8_t> out_client_;        // clear bytes for the client, in order
    std::vector<std::uint8_t> held_for_upstream_; // clear bytes waiting for the upstream leg
    std::vector<std::uint8_t> server_plain_out_;  // clear bytes for an upstream in clear
    bool client_wants_tls_ = false;               // SSLRequest answered 'S', or direct SSL
    bool startup_sent_ = false;
    bool cancel_ = false;
    bool authenticated_ = false;
    std::uint32_t last_auth_code_ = 0; // what the server asked for last
    bool client_used_plus_ = false;
    bool plaintext_startup_ = false;
};

std::string_view to_string(PostgresAdapter::ClientPhase p);

} // namespace proxy
