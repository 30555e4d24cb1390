#pragma once

// Theory of operation
// -------------------
// ProxySession is one client connection through the lab proxy, whatever the protocol: it connects
// upstream, runs the connect / handshake / idle timers, turns EOF into half-closes once the login
// went through, judges the client when a side leaves, and emits exactly one SessionRecord. What
// the bytes mean is the ProtocolAdapter's business:
//
//   Started -> ConnectUpstream, connect and handshake timers; a MySQL listener starts its
//              MysqlAdapter here (the server speaks first: its greeting goes to the adapter)
//   AwaitProtocol --first client bytes--> detect_protocol (by the listener's protocol and the
//                 first bytes) --> Relaying with a TdsAdapter | PostgresAdapter | TlsAdapter |
//                 PassthroughAdapter (a passthrough scenario, decided at accept)
//   Relaying: every event goes to the adapter through the SessionContext
//   EOF from one side after login: half-close towards the other, full close when both are done
//   the first end of the session -> the outcome and detail set, complete_record (which may add
//                 to the detail), one log line, Record, Close -> Finished
//
// Events are dispatched with std::visit over an overload set: a new event type that is not
// handled does not compile.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <proxy/core/session/handshake_fault.h>
#include <proxy/core/session/machine.h>
#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/session/protocol_detect.h>
#include <proxy/core/session/session_context.h>

namespace proxy {

class ProxySession final : public Machine {
  public:
    enum class Phase : std::uint8_t { AwaitProtocol, Relaying, Finished };

    ProxySession(ProxySettings settings, std::uint64_t id, std::string client_address);
    Actions handle(const Event& event) override;

    const SessionRecord& record() const { return ctx_.record(); }
    Phase phase() const { return phase_; }

  private:
    void on_started();
    void on_connected();
    void on_client_bytes(std::span<const std::uint8_t> bytes);
    void on_server_bytes(std::span<const std::uint8_t> bytes);
    void on_closed(Side side, const std::string& detail);
    void on_timer(int timer);
    void start_adapter(AdapterKind kind);
    // settle carries out what the adapter asked for during its step (a close, the end).
    void settle();
    void finish_now();
    bool has_login() const { return adapter_ && adapter_->has_login(); }
    Outcome judge_client_left() const;
    bool client_hello_seen() const;

    SessionContext ctx_;
    Phase phase_ = Phase::AwaitProtocol;
    std::unique_ptr<ProtocolAdapter> adapter_;
    HandshakeFault fault_;                  // the scenario's [fault], on what is sent to the client
    std::vector<std::uint8_t> first_bytes_; // until the protocol is known
    bool client_eof_ = false;
    bool server_eof_ = false;
};

} // namespace proxy
