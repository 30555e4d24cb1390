#pragma once

#include <functional>

#include <uv.h>

namespace proxy::net {

// EventLoop owns one libuv loop and the SIGINT/SIGTERM watchers. run() returns when every
// handle is closed. On the first signal `on_stop` runs (it closes listeners and sessions) and
// the watchers close, so a second signal ends the process the default way.
class EventLoop {
  public:
    EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    ~EventLoop();

    uv_loop_t* get() { return &loop_; }
    void run(std::function<void()> on_stop);
    // stop_watching_signals closes the signal handles so the loop can end by itself.
    void stop_watching_signals();
    // drain runs the loop until every handle is closed: for start-up failures, after the owner
    // closed its listeners and bridges, so their close callbacks run before they are freed.
    void drain();

  private:
    static void on_signal(uv_signal_t* handle, int signum);

    uv_loop_t loop_{};
    uv_signal_t sigint_{};
    uv_signal_t sigterm_{};
    bool watching_ = false;
    std::function<void()> on_stop_;
};

} // namespace proxy::net
