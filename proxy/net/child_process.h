#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

namespace proxy::net {

// ChildProcess runs a program on the event loop (uv_spawn) and collects its stdout; `done` runs
// with the exit status and the output once the process has exited and its pipe is drained.
// stderr is passed through to ours. Owned by the caller; destroy it only after `done` ran.
class ChildProcess {
  public:
    using Done = std::function<void(int exit_status, const std::string& out)>;

    ChildProcess(uv_loop_t* loop, std::vector<std::string> argv, Done done);
    ~ChildProcess() = default;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // start: false with a message when the program cannot be started.
    bool start(std::string& error);

  private:
    static void on_exit(uv_process_t* p, int64_t status, int signal);
    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
    static void on_closed(uv_handle_t* h);
    void maybe_done();

    uv_loop_t* loop_;
    std::vector<std::string> argv_;
    Done done_;
    uv_process_t process_{};
    uv_pipe_t out_{};
    std::string output_;
    std::array<char, 16384> buf_{};
    int exit_status_ = -1;
    bool exited_ = false;
    bool drained_ = false;
    int open_handles_ = 0;
};

} // namespace proxy::net
