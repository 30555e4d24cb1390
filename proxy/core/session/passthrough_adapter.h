#pragma once

// PassthroughAdapter relays every byte untouched, both ways (a passthrough scenario: no
// interception at all). Its PassthroughObserver reads what is still plaintext (the PRELOGIN
// exchange) and the record types, so the record still says what the client did.

#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tds/passthrough_observer.h>

namespace proxy {

class PassthroughAdapter final : public ProtocolAdapter {
  public:
    void on_connected(SessionContext& /*ctx*/) override {}
    void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void flush(SessionContext& /*ctx*/) override {}
    bool has_login() const override;
    Outcome judge_client_left(const SessionContext& ctx) const override;
    Outcome server_left_before_login(const SessionContext& ctx) const override {
        return judge_client_left(ctx);
    }
    void complete_record(SessionContext& ctx) override;

  private:
    PassthroughObserver observer_;
};

} // namespace proxy
