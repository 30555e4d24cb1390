#include <proxy/core/session/idle_guard.h>

namespace proxy {

Actions IdleGuard::handle(const Event& event) {
    if (closed_) {
        return {};
    }
    if (const auto* timer = std::get_if<event::TimerFired>(&event);
        timer != nullptr && timer->timer == kIdleTimer) {
        closed_ = true;
        std::string reason = "idle for " + std::to_string(idle_timeout_ms_ / 1000) + " s";
        Actions actions;
        actions.emplace_back(action::Log{LogLevel::Info, reason});
        actions.emplace_back(action::Close{std::move(reason), false, false});
        return actions;
    }
    Actions actions = inner_->handle(event);
    bool restart = std::holds_alternative<event::Started>(event) ||
                   std::holds_alternative<event::BytesReceived>(event);
    for (const auto& a : actions) {
        if (std::holds_alternative<action::Close>(a)) {
            closed_ = true; // the inner machine ended the connection: no timer to restart
        }
    }
    if (restart && !closed_) {
        actions.emplace_back(action::StartTimer{kIdleTimer, idle_timeout_ms_});
    }
    return actions;
}

std::unique_ptr<Machine> guard_idle(std::unique_ptr<Machine> inner, std::uint64_t idle_timeout_ms) {
    if (idle_timeout_ms == 0) {
        return inner;
    }
    return std::make_unique<IdleGuard>(std::move(inner), idle_timeout_ms);
}

} // namespace proxy
