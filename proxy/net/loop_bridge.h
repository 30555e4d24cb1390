#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>

#include <uv.h>

namespace proxy::net {

// LoopBridge hands work from another thread (the admin API's) to the event loop, which owns
// all lab state: post() queues a task and wakes the loop; call() waits for its result, bounded
// in time, so a stuck or stopping loop answers "unavailable" instead of hanging a client.
class LoopBridge {
  public:
    explicit LoopBridge(uv_loop_t* loop);
    LoopBridge(const LoopBridge&) = delete;
    LoopBridge& operator=(const LoopBridge&) = delete;
    ~LoopBridge() = default;

    void post(std::function<void()> task);
    // close: no more tasks; the handle is closed (call from the loop thread).
    void close();

    template <typename F>
    auto call(F f, std::chrono::milliseconds timeout = std::chrono::seconds(5))
        -> std::optional<decltype(f())> {
        using R = decltype(f());
        auto promise = std::make_shared<std::promise<R>>();
        auto future = promise->get_future();
        post([promise, f = std::move(f)]() mutable { promise->set_value(f()); });
        if (future.wait_for(timeout) != std::future_status::ready) {
            return std::nullopt;
        }
        return future.get();
    }

  private:
    static void on_async(uv_async_t* handle);
    uv_async_t async_{};
    std::mutex mutex_;
    std::deque<std::function<void()>> tasks_;
    bool closed_ = false;
};

} // namespace proxy::net
