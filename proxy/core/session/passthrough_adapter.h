#pragma once

// PassthroughAdapter relays every byte untouched, both ways (a passthrough scenario: no
// interception at all). An observer of the session's protocol reads what is still plaintext
// (TDS: the PRELOGIN exchange; PostgreSQL: the SSLRequest and its answer; MySQL: the greeting,
// the SSLRequest or a HandshakeResponse in clear) and the record types, so the record still says
// what the client did. On a MySQL listener the server speaks first: the listener says which.

#include <proxy/core/mysql/mysql_passthrough_observer.h>
#include <proxy/core/postgres/postgres_passthrough_observer.h>
#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tds/passthrough_observer.h>

namespace proxy {

class PassthroughAdapter final : public ProtocolAdapter {
  public:
    explicit PassthroughAdapter(ListenerProtocol protocol) : protocol_(protocol) {}
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
    bool postgres() const { return protocol_ == ListenerProtocol::Postgres || pg_detected_; }
    bool mysql() const { return protocol_ == ListenerProtocol::Mysql; }

    ListenerProtocol protocol_;
    bool decided_ = false; // which protocol the first bytes are
    bool pg_detected_ = false;
    PassthroughObserver observer_;
    PostgresPassthroughObserver pg_observer_;
    MysqlPassthroughObserver mysql_observer_;
};

} // namespace proxy
