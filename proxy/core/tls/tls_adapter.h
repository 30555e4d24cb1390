#pragma once

// Theory of operation
// -------------------
// TlsAdapter is the generic mode (--protocol tls): TLS first from any client (HTTPS included),
// the scenario's certificate shown, the inner bytes relayed raw to the upstream over its own TLS
// leg. It knows nothing of what the bytes mean: the first application data from the client counts
// as its "login" (it trusted the certificate enough to talk).
//
//   AwaitClientHello --whole first record: SNI read, scenario chosen--> Handshaking
//   Handshaking --client handshake done--> Established (plaintext relayed both ways)
//   a first byte that is not a TLS handshake record: protocol error

#include <optional>
#include <vector>

#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tls/tls_stream.h>

namespace proxy {

class TlsAdapter final : public ProtocolAdapter {
  public:
    explicit TlsAdapter(const SessionContext& ctx);

    void on_connected(SessionContext& ctx) override;
    void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void flush(SessionContext& ctx) override;
    bool has_login() const override { return login_seen_; }
    Outcome judge_client_left(const SessionContext& ctx) const override;
    Outcome server_left_before_login(const SessionContext& /*ctx*/) const override {
        return Outcome::UpstreamFailed;
    }
    void complete_record(SessionContext& ctx) override;
    const TlsEndpoint* client_tls() const override {
        return client_ ? &client_->endpoint() : nullptr;
    }

  private:
    std::vector<std::uint8_t> hello_; // the first record, until it is whole
    std::optional<TlsStream> client_;
    std::optional<TlsStream> server_;
    bool login_seen_ = false;
};

} // namespace proxy
