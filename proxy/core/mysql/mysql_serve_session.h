#pragma once

// Theory of operation
// -------------------
// MysqlServeSession is one connection to `tlslab serve --protocol mysql`: the greeting, the
// SSLRequest and TLS, in front of a standin::mysql::Responder (the MySQL stand-in), with the
// listener's encryption setting as the policy:
//
//   off   : the greeting has no CLIENT_SSL (have_ssl=DISABLED); an SSLRequest is refused as
//           the real server does (it closes the connection)
//   on    : CLIENT_SSL offered; a login in clear is served too
//   force : CLIENT_SSL offered; a login in clear gets ERROR 3159 (require_secure_transport)
//
//   Started -> the greeting (the server speaks first)
//   AwaitResponse: SSLRequest (seq 1) -> TLS with the listener's certificate, then the
//                  HandshakeResponse41 inside (seq 2); or HandshakeResponse41 in clear (seq 1)
//   Authenticating / Command phase: every packet to the responder, its bytes back in the leg's
//                  mode; its close ends the session.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <mysql/packet.h>
#include <proxy/core/session/machine.h>
#include <proxy/core/tls/tls_stream.h>
#include <standin/mysql/config.h>

namespace standin::mysql {
class Responder;
struct Output;
} // namespace standin::mysql

namespace proxy {

enum class MysqlEncryption : std::uint8_t { Off, On, Force };
std::string_view to_string(MysqlEncryption e);
std::optional<MysqlEncryption> mysql_encryption_from_name(std::string_view name);

struct MysqlServeSettings {
    MysqlEncryption encryption = MysqlEncryption::On;
    SSL_CTX* ctx = nullptr; // TLS 1.2-1.3; null for `off`
    // SHA-256 of the DER of the certificate in ctx (MariaDB's zero-configuration SSL check)
    std::vector<std::uint8_t> certificate_sha256;
    standin::mysql::Config responder;
    std::uint64_t login_timeout_ms = 30000;
    // --max-message-bytes: a longer packet from the client gets ERR 1153 and the connection is
    // closed. 16 MiB unless set (MariaDB's max_allowed_packet; `tlslab serve` passes its option).
    std::size_t max_message_bytes = std::size_t{16} * 1024 * 1024;
};

class MysqlServeSession final : public Machine {
  public:
    static constexpr int kLoginTimer = 1;

    MysqlServeSession(const MysqlServeSettings& settings, std::uint32_t connection_id,
                      std::string client_address);
    ~MysqlServeSession() override;
    Actions handle(const Event& event) override;

  private:
    enum class Phase : std::uint8_t { Clear, AwaitClientHello, Handshake, InTls };
    void on_bytes(std::span<const std::uint8_t> bytes, Actions& actions);
    void on_tls_bytes(std::span<const std::uint8_t> bytes, Actions& actions);
    void on_packets(Actions& actions);
    void absorb(standin::mysql::Output out, Actions& actions);
    void send(std::span<const std::uint8_t> bytes);
    void flush(Actions& actions);
    void close(Actions& actions, LogLevel level, std::string reason, bool flush = true);
    bool authenticated() const;

    const MysqlServeSettings& settings_;
    std::uint32_t connection_id_;
    std::string client_address_;
    Phase phase_ = Phase::Clear;
    std::vector<std::uint8_t> hello_; // the bytes after the SSLRequest until a TLS record is whole
    std::optional<TlsStream> tls_;
    ::mysql::PacketReader reader_;
    std::unique_ptr<standin::mysql::Responder> responder_;
    std::vector<std::uint8_t> out_;
    bool first_packet_ = true;
    bool closed_ = false;
};

} // namespace proxy
