#pragma once

// Theory of operation
// -------------------
// SessionLimit is `--max-sessions` for one listener: how many sessions it may hold at once, the
// live count, how many connections it refused, and when it last said so in the log. One object is
// shared by everything that accepts for the listener (one Listener per event loop, should there be
// several), so every field is atomic and no lock is taken on the accept path.
//
//   accept: try_acquire() -> a SessionSlot (the session holds it until the session object is
//           destroyed, i.e. after the close callback of its last handle) or none: refuse
//   refuse: the connection is accepted and closed at once, nothing read; refused() counts it;
//           should_log() lets one warning through per interval and counts the ones it held back
//
// A SessionSlot is move-only: destroying a live one gives its place back.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace proxy::net {

class SessionLimit;

class SessionSlot {
  public:
    SessionSlot() = default;
    explicit SessionSlot(std::shared_ptr<SessionLimit> limit) : limit_(std::move(limit)) {}
    SessionSlot(SessionSlot&& other) noexcept : limit_(std::exchange(other.limit_, {})) {}
    SessionSlot& operator=(SessionSlot&& other) noexcept {
        if (this != &other) {
            release();
            limit_ = std::exchange(other.limit_, {});
        }
        return *this;
    }
    SessionSlot(const SessionSlot&) = delete;
    SessionSlot& operator=(const SessionSlot&) = delete;
    ~SessionSlot() { release(); }

    bool held() const { return limit_ != nullptr; }
    void release();

  private:
    std::shared_ptr<SessionLimit> limit_;
};

class SessionLimit : public std::enable_shared_from_this<SessionLimit> {
  public:
    // The default of --max-sessions (see docs/limits.md): every proxied session holds two file
    // descriptors, so 10,000 fill a 20,000-descriptor limit, and well above the soak's 5,000 held.
    static constexpr std::size_t kDefaultMaxSessions = 10'000;
    // At most one "limit reached" line per listener per this many milliseconds.
    static constexpr std::uint64_t kLogIntervalMs = 1000;

    // max_sessions 0: unlimited (still counted).
    static std::shared_ptr<SessionLimit> create(std::size_t max_sessions) {
        return std::shared_ptr<SessionLimit>(new SessionLimit(max_sessions));
    }

    // try_acquire: a slot while fewer than max sessions are live; none (and refused() counts one
    // more) once the limit is reached.
    std::optional<SessionSlot> try_acquire();

    // should_log: whether a refusal at `now_ms` (a monotonic clock) may be logged; `held_back`
    // receives how many refusals were not logged since the last line that was.
    bool should_log(std::uint64_t now_ms, std::uint64_t& held_back);

    std::size_t max_sessions() const { return max_; }
    std::size_t live() const { return live_.load(std::memory_order_relaxed); }
    std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

  private:
    friend class SessionSlot;
    explicit SessionLimit(std::size_t max_sessions) : max_(max_sessions) {}
    void release_one() { live_.fetch_sub(1, std::memory_order_acq_rel); }

    const std::size_t max_;
    std::atomic<std::size_t> live_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::uint64_t> next_log_ms_{0};
    std::atomic<std::uint64_t> held_back_{0};
};

} // namespace proxy::net
