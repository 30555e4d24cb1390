#pragma once

// ChildProcess: tlslab's one way to run a program (libuv uv_spawn on an event loop).
//
// Theory of operation. The child's standard input is /dev/null; its standard output is read
// through a pipe and kept (up to `max_capture` bytes, the rest read and dropped, so a flood
// neither blocks the child nor grows memory); its standard error is either kept the same way or
// passed through to ours. With `own_process_group` the child is started detached
// (UV_PROCESS_DETACHED: leader of a new session and process group), so whatever it forks can be
// signalled with it: signals then go to the whole group (kill(-pid)), and when the leader exits
// whatever it left in its group is killed too. With a `time_limit` a uv_timer sends SIGTERM at
// the limit and SIGKILL `kill_grace` later, and at that point stops reading (a helper that left
// the group may hold the pipes open forever). `done` runs once, with a ChildResult, after the
// child exited, both pipes are at their end (or abandoned) and every handle is closed.
//
// Ownership: the libuv handles live in a private run state that frees itself when its last
// handle closed, so the ChildProcess may be destroyed at any time. Destroying it before `done`
// ran kills the child (its group), drops `done`, and leaves the handles to close on the loop:
// the loop's owner runs the loop once more before closing it (net::EventLoop does; run_child
// does for its private loop).
//
// run_child is the blocking form: a private loop on the calling thread, one ChildProcess on it,
// run until done, the loop closed after its last handle. Threads may call it concurrently (each
// has its own loop; libuv reaps each loop's children by pid).

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

namespace proxy::net {

struct ChildOptions {
    std::vector<std::string> argv; // argv[0]: a path, or a name looked up in PATH
    bool capture_stderr = false;   // false: the child writes to our standard error
    bool own_process_group = false;
    std::optional<std::chrono::milliseconds> time_limit; // none: no limit
    std::chrono::milliseconds kill_grace{2000};          // SIGTERM to SIGKILL
    std::size_t max_capture = 4 * 1024 * 1024;           // per stream
};

struct ChildResult {
    std::string out;
    std::string err;                // empty unless capture_stderr
    std::optional<int> exit_status; // none: ended by a signal
    int term_signal = 0;            // the signal that ended it, or 0
    bool timed_out = false;         // the time limit was reached (and the child signalled)
    std::chrono::milliseconds elapsed{0};
};

class ChildProcess {
  public:
    using Done = std::function<void(const ChildResult& result)>;

    ChildProcess(uv_loop_t* loop, ChildOptions options, Done done);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // start spawns the child; an error (and `done` never runs) when it cannot be started.
    // Call it once.
    std::expected<void, std::string> start();

  private:
    struct Run;
    Run* run_;
};

// run_child: the child run to its end on a private loop on this thread (see above).
std::expected<ChildResult, std::string> run_child(ChildOptions options);

} // namespace proxy::net
