#include <csignal>

#include <spdlog/spdlog.h>

#include <proxy/net/event_loop.h>

namespace proxy::net {

EventLoop::EventLoop() {
    uv_loop_init(&loop_);
    uv_signal_init(&loop_, &sigint_);
    uv_signal_init(&loop_, &sigterm_);
    sigint_.data = this;
    sigterm_.data = this;
    // A client that vanishes must not kill the process with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
}

EventLoop::~EventLoop() {
    stop_watching_signals();
    // Let close callbacks run, then release the loop.
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

void EventLoop::run(std::function<void()> on_stop) {
    on_stop_ = std::move(on_stop);
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    watching_ = true;
    uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::drain() {
    stop_watching_signals();
    uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::stop_watching_signals() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&sigint_)) == 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    }
    watching_ = false;
}

void EventLoop::on_signal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<EventLoop*>(handle->data);
    spdlog::info("{}: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    self->stop_watching_signals();
    if (self->on_stop_) {
        self->on_stop_();
    }
}

} // namespace proxy::net
