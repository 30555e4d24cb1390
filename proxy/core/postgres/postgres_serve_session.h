#pragma once

// Theory of operation
// -------------------
// PostgresServeSession is one connection to `tlslab serve --protocol postgres`: the startup phase
// and TLS in front of a standin::postgres::Responder (the PostgreSQL stand-in), with the
// listener's encryption setting as the policy:
//
//   off   : SSLRequest answered 'S'; a StartupMessage in clear is served too (ssl = on with
//           `host` lines in pg_hba.conf)
//   force : 'S'; a StartupMessage in clear gets the FATAL of a hostssl-only server
//   none  : 'N' to every SSLRequest (ssl = off); a direct-SSL client meets a closed connection
//
//   AwaitStartup (clear):
//     SSLRequest -> 'S' | 'N';  GSSENCRequest -> 'N';  CancelRequest -> closed (nothing runs)
//     0x16 -> direct SSL: TLS first, ALPN postgresql required (PostgreSQL 17)
//     StartupMessage -> the responder (or the FATAL above)
//   InTls: the StartupMessage inside TLS -> the responder; then every message -> the responder
//   The responder's bytes go back in the leg's mode; its close ends the session.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pg/messages.h>
#include <proxy/core/session/machine.h>
#include <proxy/core/tls/tls_stream.h>
#include <standin/postgres/responder.h>

namespace proxy {

enum class PostgresEncryption : std::uint8_t { Off, Force, None };
std::string_view to_string(PostgresEncryption e);
std::optional<PostgresEncryption> postgres_encryption_from_name(std::string_view name);

struct PostgresServeSettings {
    PostgresEncryption encryption = PostgresEncryption::Off;
    SSL_CTX* ctx = nullptr; // TLS 1.2-1.3, ALPN postgresql; null for `none`
    // RFC 5929 tls-server-end-point data of the certificate in ctx (for SCRAM-SHA-256-PLUS).
    std::vector<std::uint8_t> tls_server_end_point;
    standin::postgres::Config responder;
    std::uint64_t login_timeout_ms = 30000;
    // --max-message-bytes: a longer message from the client closes the connection.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class PostgresServeSession final : public Machine {
  public:
    static constexpr int kLoginTimer = 1;

    PostgresServeSession(const PostgresServeSettings& settings, std::uint32_t process_id,
                         std::string client_address);
    Actions handle(const Event& event) override;

  private:
    enum class Phase : std::uint8_t { AwaitStartup, AwaitClientHello, Handshake, InTls, Session };
    void on_bytes(std::span<const std::uint8_t> bytes, Actions& actions);
    void on_clear(Actions& actions);
    void on_tls_bytes(std::span<const std::uint8_t> bytes, Actions& actions);
    void on_startup_packet(std::span<const std::uint8_t> packet, Actions& actions);
    void on_messages(Actions& actions);
    void absorb(standin::postgres::Output out, Actions& actions);
    void send(std::span<const std::uint8_t> bytes);
    void flush(Actions& actions);
    void close(Actions& actions, LogLevel level, std::string reason, bool flush = true);

    const PostgresServeSettings& settings_;
    std::uint32_t process_id_;
    std::string client_address_;
    Phase phase_ = Phase::AwaitStartup;
    std::vector<std::uint8_t> clear_; // clear bytes not yet framed (before and inside TLS)
    std::optional<TlsStream> tls_;
    bool direct_ = false;
    pg::MessageReader reader_;
    std::optional<standin::postgres::Responder> responder_;
    std::vector<std::uint8_t> out_;
    bool closed_ = false;
};

} // namespace proxy
