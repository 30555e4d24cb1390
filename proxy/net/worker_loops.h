#pragma once

// Theory of operation
// -------------------
// WorkerLoops is `--threads N`: N-1 event loops beside the main one, each on a thread of its
// own with its own SessionRegistry and LoopBridge. The main loop keeps the listening sockets,
// the admin API and the lab's state; its Listener accepts every connection and hands each in
// turn to a loop (the main one included): the accepted socket goes to a worker through the
// worker's bridge, and the worker makes the Session there (Session::adopt). A session lives and
// ends on one loop; what it reports (records, messages) is posted to the main loop, which owns
// the outputs. So nothing a session touches is shared with another loop except what is
// thread-safe by design (TLS contexts, scenario runtimes, the --max-sessions count, the logger).
//
//   set up (main thread):   WorkerLoops w(N - 1, main_registry)  (loops and bridges made)
//   run:                    w.start()  (threads run their loops)
//   any thread:             w[i].bridge().post(task)  (task runs on worker i's thread)
//   stop (main thread):     w.stop(reason, all_ended)  each worker closes its sessions and its
//                           bridge; its loop ends once its last handle is closed; the thread
//                           of the last one to end calls all_ended (post it to the main loop)
//   after the main loop:    w.join()  (also in the destructor)
//
// Session ids stay unique across loops: every worker's registry draws from the main registry's
// counter.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <uv.h>

#include <proxy/net/loop_bridge.h>
#include <proxy/net/session.h>

namespace proxy::net {

class WorkerLoop {
  public:
    explicit WorkerLoop(const SessionRegistry& ids_from);
    WorkerLoop(const WorkerLoop&) = delete;
    WorkerLoop& operator=(const WorkerLoop&) = delete;
    ~WorkerLoop();

    uv_loop_t* loop() { return &loop_; }
    // registry: touch only on this worker's thread (through bridge()) once started.
    SessionRegistry& registry() { return registry_; }
    LoopBridge& bridge() { return *bridge_; }

  private:
    friend class WorkerLoops;
    uv_loop_t loop_{};
    SessionRegistry registry_;
    std::unique_ptr<LoopBridge> bridge_;
    std::thread thread_;
};

class WorkerLoops {
  public:
    // The most loops --threads may ask for.
    static constexpr std::size_t kMaxThreads = 64;

    WorkerLoops(std::size_t count, const SessionRegistry& ids_from);
    WorkerLoops(const WorkerLoops&) = delete;
    WorkerLoops& operator=(const WorkerLoops&) = delete;
    ~WorkerLoops();

    std::size_t size() const { return workers_.size(); }
    WorkerLoop& operator[](std::size_t i) { return *workers_[i]; }

    void start();
    // stop: every worker closes its live sessions with `reason` and then its bridge; `all_ended`
    // runs once, on the thread of the last worker whose loop ended (at once if there are none).
    void stop(const std::string& reason, std::function<void()> all_ended);
    // join waits for the worker threads (after stop()).
    void join();

  private:
    std::vector<std::unique_ptr<WorkerLoop>> workers_;
    std::shared_ptr<std::atomic<std::size_t>> running_;
    std::function<void()> all_ended_;
    bool started_ = false;
};

// default_thread_count: one event loop per core the process may run on (at least 1).
std::size_t default_thread_count();

} // namespace proxy::net
