#pragma once

// Theory of operation
// -------------------
// ServeSession is one connection to `tlslab serve`: a ClientLeg (framing and TLS) in front of a
// Responder (standin/sqlserver, the SQL Server stand-in), with the server's encryption setting as
// the policy that answers PRELOGIN.
//
//   Started -> login timer
//   PRELOGIN (TDS 7.x) -> answer from the MS-TDS table for the configured setting:
//       off    : Force Encryption = No  (client OFF -> OFF, login-only; ON/REQ -> ON; NOT_SUP ->
//       NOT_SUP) force  : Force Encryption = Yes (client OFF/ON/REQ -> full TLS; NOT_SUP -> REQ,
//       then refused) strict : Force Strict Encryption: a plain PRELOGIN is closed; only TLS-first
//       is served none   : no certificate: NOT_SUP to everyone
//     A client that then logs in without the encryption it agreed to is closed.
//   TLS first (TDS 8.0) -> handshake with ALPN tds/8.0, then PRELOGIN inside TLS, answered in kind
//   LOGIN7, batches, RPC, TM requests, attention -> Responder; replies cut into packets of the
//   negotiated size. Any protocol error, TLS failure, EOF or the login timer -> Close, with one log
//   line.

#include <cstdint>
#include <optional>

#include <proxy/core/session/machine.h>
#include <proxy/core/tds/client_leg.h>
#include <standin/sqlserver/responder.h>
#include <tds/encryption.h>
#include <tds/message_assembler.h>

namespace proxy {

enum class ServeEncryption : std::uint8_t { Off, Force, Strict, None };
std::string_view to_string(ServeEncryption e);
std::optional<ServeEncryption> serve_encryption_from_name(std::string_view name);

struct ServeSettings {
    ServeEncryption encryption = ServeEncryption::Off;
    SSL_CTX* tds7_ctx = nullptr; // TLS <= 1.2 (inside PRELOGIN); null for `none`
    SSL_CTX* tds8_ctx = nullptr; // TLS 1.2-1.3 with ALPN tds/8.0; null for `none`
    standin::sqlserver::ResponderConfig responder;
    std::uint64_t login_timeout_ms = 30000;
    // --max-message-bytes: a longer message from the client closes the connection.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class ServeSession final : public Machine {
  public:
    static constexpr int kLoginTimer = 1;

    ServeSession(const ServeSettings& settings, std::uint16_t spid);
    Actions handle(const Event& event) override;

  private:
    void absorb(ClientLeg::Output out, Actions& actions);
    void on_prelogin(Actions& actions);
    void on_message(const tds::Message& message, Actions& actions);
    void answer_tds8_prelogin(const tds::Message& message, Actions& actions);
    void send_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                      std::size_t packet_len);
    void close(Actions& actions, LogLevel level, std::string reason, bool flush = true);
    void flush_output(Actions& actions);

    const ServeSettings& settings_;
    std::uint16_t spid_;
    ClientLeg leg_;
    standin::sqlserver::Responder responder_;
    tds::MessageAssembler messages_;
    std::size_t packet_size_ = tds::kDefaultPacketLen;
    std::optional<tds::Negotiation> negotiation_;
    bool closed_ = false;
};

} // namespace proxy
