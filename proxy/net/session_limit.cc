#include <proxy/net/session_limit.h>

namespace proxy::net {

void SessionSlot::release() {
    if (limit_) {
        limit_->release_one();
        limit_.reset();
    }
}

std::optional<SessionSlot> SessionLimit::try_acquire() {
    std::size_t now = live_.load(std::memory_order_relaxed);
    do {
        if (max_ != 0 && now >= max_) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return std::nullopt;
        }
    } while (!live_.compare_exchange_weak(now, now + 1, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return SessionSlot(shared_from_this());
}

bool SessionLimit::should_log(std::uint64_t now_ms, std::uint64_t& held_back) {
    std::uint64_t next = next_log_ms_.load(std::memory_order_relaxed);
    while (now_ms >= next) {
        if (next_log_ms_.compare_exchange_weak(next, now_ms + kLogIntervalMs,
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed)) {
            held_back = held_back_.exchange(0, std::memory_order_acq_rel);
            return true;
        }
    }
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

} // namespace proxy::net
