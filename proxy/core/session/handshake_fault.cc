#include <cstdio>

#include <proxy/core/session/handshake_fault.h>

namespace proxy {

namespace {

std::string seconds_text(std::chrono::system_clock::duration d) {
    double s = std::chrono::duration<double>(d).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s < 0 ? 0.0 : s);
    return buf;
}

} // namespace

void HandshakeFault::after_step(SessionContext& ctx, bool hello_seen) {
    if (state_ == State::AwaitHello) {
        if (!hello_seen) {
            return;
        }
        fault_ = ctx.scenario().scenario.fault;
        hello_at_ = ctx.now();
        if (fault_.stall_after_client_hello) {
            state_ = State::Stalled;
            ctx.push(action::CancelTimer{SessionContext::kHandshakeTimer});
            ctx.push(action::StartTimer{kTimer, kStallLimitMs});
            ctx.log(LogLevel::Info, "fault: the ClientHello stays unanswered");
        } else if (fault_.handshake_delay_ms > 0) {
            state_ = State::Holding;
            delayed_ = true;
            ctx.push(
                action::StartTimer{kTimer, static_cast<std::uint64_t>(fault_.handshake_delay_ms)});
        } else if (fault_.reset_after_server_hello) {
            state_ = State::ResetNext;
        } else {
            state_ = State::Done;
            return;
        }
    }
    if (state_ == State::Done) {
        return;
    }
    Actions pending = ctx.take_actions();
    bool sent_to_client = false;
    for (auto& a : pending) {
        auto* send = std::get_if<action::Send>(&a);
        if (send == nullptr || send->side != Side::Client) {
            ctx.push(std::move(a));
            continue;
        }
        switch (state_) {
        case State::Stalled:
            dropped_ += send->bytes.size();
            ctx.record().bytes_to_client -= send->bytes.size(); // never sent
            break;
        case State::Holding:
            held_.insert(held_.end(), send->bytes.begin(), send->bytes.end());
            break;
        case State::ResetNext:
        case State::AwaitHello:
        case State::Done:
            sent_to_client = true;
            ctx.push(std::move(a));
            break;
        }
    }
    if (state_ == State::ResetNext && sent_to_client) {
        state_ = State::Done;
        ctx.finish(Outcome::ClosedDuringHandshake,
                   "connection reset by the scenario after the ServerHello flight "
                   "(reset_after_server_hello)",
                   false, true);
    }
}

bool HandshakeFault::on_timer(SessionContext& ctx, int timer) {
    if (timer != kTimer) {
        return false;
    }
    switch (state_) {
    case State::Holding:
        state_ = State::Done;
        if (!held_.empty()) {
            // Counted in bytes_to_client when the adapter sent them.
            ctx.push(action::Send{Side::Client, std::exchange(held_, {})});
        }
        break;
    case State::Stalled:
        ctx.finish(Outcome::ClosedDuringHandshake,
                   "the client was still waiting after " + seconds_text(ctx.now() - hello_at_) +
                       " (the lab's limit)",
                   false);
        break;
    case State::AwaitHello:
    case State::ResetNext:
    case State::Done:
        break;
    }
    return true;
}

std::string HandshakeFault::note(std::chrono::system_clock::time_point now) const {
    if (state_ == State::Stalled) {
        return "the server never answered the ClientHello (fault stall_after_client_hello); "
               "the connection stayed open " +
               seconds_text(now - hello_at_) + " after it";
    }
    if (delayed_) {
        return "the server's first flight was held " + std::to_string(fault_.handshake_delay_ms) +
               " ms (fault handshake_delay_ms)";
    }
    return {};
}

} // namespace proxy
