#include <sched.h>

#include <spdlog/spdlog.h>

#include <proxy/net/worker_loops.h>

namespace proxy::net {

WorkerLoop::WorkerLoop(const SessionRegistry& ids_from) {
    uv_loop_init(&loop_);
    registry_.share_ids_with(ids_from);
    bridge_ = std::make_unique<LoopBridge>(&loop_);
    // libuv opens a loop's spare descriptor (/dev/null, for running out of descriptors) with the
    // loop's first TCP handle. Done here, the worker's descriptors are all there from the
    // start: scripts/soak compares the proxy's descriptors before and after its load.
    auto* tcp = new uv_tcp_t{};
    uv_tcp_init(&loop_, tcp);
    uv_close(reinterpret_cast<uv_handle_t*>(tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    uv_run(&loop_, UV_RUN_NOWAIT);
}

WorkerLoop::~WorkerLoop() {
    if (thread_.joinable()) {
        thread_.join();
    }
    // A worker that never ran still has its bridge's handle open: close it and let it go.
    for (int i = 0; i < 100 && uv_loop_close(&loop_) == UV_EBUSY; ++i) {
        uv_run(&loop_, UV_RUN_NOWAIT);
    }
}

WorkerLoops::WorkerLoops(std::size_t count, const SessionRegistry& ids_from)
    : running_(std::make_shared<std::atomic<std::size_t>>(0)) {
    workers_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        workers_.push_back(std::make_unique<WorkerLoop>(ids_from));
    }
}

WorkerLoops::~WorkerLoops() {
    if (started_) {
        join();
        return;
    }
    for (auto& w : workers_) {
        w->bridge_->close(); // on this thread: the loop never ran on another
    }
}

void WorkerLoops::start() {
    started_ = true;
    running_->store(workers_.size());
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        WorkerLoop* w = workers_[i].get();
        w->thread_ = std::thread([this, w] {
            uv_run(w->loop(), UV_RUN_DEFAULT);
            if (running_->fetch_sub(1) == 1 && all_ended_) {
                all_ended_();
            }
        });
    }
}

void WorkerLoops::stop(const std::string& reason, std::function<void()> all_ended) {
    if (!started_ || workers_.empty()) {
        if (all_ended) {
            all_ended();
        }
        return;
    }
    // Set before any worker can end: the loops end only after the tasks posted below ran.
    all_ended_ = std::move(all_ended);
    for (auto& w : workers_) {
        WorkerLoop* worker = w.get();
        worker->bridge().post([worker, reason] {
            worker->registry().close_all(reason);
            worker->bridge().close();
        });
    }
}

void WorkerLoops::join() {
    for (auto& w : workers_) {
        if (w->thread_.joinable()) {
            w->thread_.join();
        }
    }
}

std::size_t default_thread_count() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        auto n = static_cast<std::size_t>(CPU_COUNT(&set));
        return std::clamp<std::size_t>(n, 1, WorkerLoops::kMaxThreads);
    }
    auto n = static_cast<std::size_t>(std::thread::hardware_concurrency());
    return std::clamp<std::size_t>(n, 1, WorkerLoops::kMaxThreads);
}

} // namespace proxy::net
