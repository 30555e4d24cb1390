#pragma once

// Theory of operation
// -------------------
// HandshakeFault carries out a scenario's [fault] for every protocol the proxy serves, at the
// one place they all meet: the actions a ProxySession step sends towards the client. The
// protocol adapters only say whether their client-facing TLS endpoint has consumed a
// ClientHello (ProtocolAdapter::client_tls); from the step in which it has, the bytes towards the
// client are the server's first flight (inside PRELOGIN packets for TDS 7.x, raw TLS records for
// TDS 8.0, PostgreSQL, MySQL and the generic relay):
//
//   stall_after_client_hello  the flight is never sent; the handshake timer gives way to the
//                             lab's limit (kStallLimitMs), so the client's own timeout decides;
//                             the record says how long the client waited
//   handshake_delay_ms        the flight is held and a timer started; it goes out when the timer
//                             fires (everything sent meanwhile goes out behind it, in order)
//   reset_after_server_hello  the flight is sent, then the session ends with a TCP reset
//
// The scenario is read when the ClientHello has been seen: a scenario chosen at the ClientHello
// (SNI rules) brings its own fault.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <proxy/core/session/session_context.h>
#include <scenarios/scenario.h>

namespace proxy {

class HandshakeFault {
  public:
    static constexpr int kTimer = 4; // beside SessionContext's connect/handshake/idle timers
    static constexpr std::uint64_t kStallLimitMs = 120'000;

    // after_step filters the step's pending actions in ctx; hello_seen: the client-facing TLS
    // endpoint has consumed a ClientHello.
    void after_step(SessionContext& ctx, bool hello_seen);
    // on_timer: true when `timer` was the fault's (the held flight goes out, or the stall ends).
    bool on_timer(SessionContext& ctx, int timer);
    // note: what the fault did, for the record's detail ("" when it did nothing).
    std::string note(std::chrono::system_clock::time_point now) const;

  private:
    enum class State : std::uint8_t { AwaitHello, Stalled, Holding, ResetNext, Done };
    State state_ = State::AwaitHello;
    scenarios::FaultBehaviour fault_;
    std::chrono::system_clock::time_point hello_at_{};
    std::vector<std::uint8_t> held_;
    std::size_t dropped_ = 0;
    bool delayed_ = false;
};

} // namespace proxy
