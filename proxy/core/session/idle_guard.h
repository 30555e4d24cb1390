#pragma once

// IdleGuard wraps a stand-in's machine (`tlslab serve`, the lab's in-process servers) with
// --idle-timeout: every byte from the client restarts one timer; when it fires the connection is
// closed with one log line ("idle for N s"). The wrapped machine sees every other event as
// before and never sees the guard's timer (its id is the guard's own). 0: no timer.

#include <memory>

#include <proxy/core/session/machine.h>

namespace proxy {

class IdleGuard final : public Machine {
  public:
    static constexpr int kIdleTimer = 900; // machines use small positive ids

    IdleGuard(std::unique_ptr<Machine> inner, std::uint64_t idle_timeout_ms)
        : inner_(std::move(inner)), idle_timeout_ms_(idle_timeout_ms) {}
    Actions handle(const Event& event) override;

  private:
    std::unique_ptr<Machine> inner_;
    std::uint64_t idle_timeout_ms_;
    bool closed_ = false;
};

// guard_idle: `inner` wrapped in an IdleGuard, or itself when the timeout is 0.
std::unique_ptr<Machine> guard_idle(std::unique_ptr<Machine> inner, std::uint64_t idle_timeout_ms);

} // namespace proxy
