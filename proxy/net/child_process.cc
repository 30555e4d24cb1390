#include <algorithm>
#include <array>
#include <csignal>

#include <proxy/net/child_process.h>

namespace proxy::net {

namespace {

using Clock = std::chrono::steady_clock;

uv_handle_t* as_handle(auto* h) {
    return reinterpret_cast<uv_handle_t*>(h);
}
uv_stream_t* as_stream(uv_pipe_t* p) {
    return reinterpret_cast<uv_stream_t*>(p);
}

} // namespace

// Run: the handles of one child and what it produced. It belongs to its ChildProcess until
// that is destroyed with handles still open; then it belongs to itself and is freed by the last
// close callback.
struct ChildProcess::Run {
    uv_loop_t* loop;
    ChildOptions options;
    Done done;
    bool owned = true;

    uv_process_t process{};
    uv_pipe_t out{};
    uv_pipe_t err{};
    uv_timer_t timer{};
    // Initialised and not yet closing.
    bool process_open = false;
    bool out_open = false;
    bool err_open = false;
    bool timer_open = false;
    int open_handles = 0; // initialised and not yet closed

    bool exited = false;
    int pid = 0;
    Clock::time_point started;
    ChildResult result;
    std::array<char, 16384> buf{};

    Run(uv_loop_t* l, ChildOptions o, Done d)
        : loop(l), options(std::move(o)), done(std::move(d)) {}

    void close(uv_handle_t* h, bool& open) {
        if (open) {
            open = false;
            uv_close(h, on_closed);
        }
    }
    void close_pipes() {
        close(as_handle(&out), out_open);
        close(as_handle(&err), err_open);
    }

    // signal: to the whole group when the child leads one, else to the child while it runs.
    void signal(int signum) {
        if (options.own_process_group) {
            uv_kill(-pid, signum);
        } else if (!exited) {
            uv_process_kill(&process, signum);
        }
    }

    // The child is over once it exited and its pipes are at their end (or abandoned).
    void maybe_finish() {
        if (exited && !out_open && !err_open) {
            close(as_handle(&timer), timer_open);
        }
    }

    static Run* of(uv_handle_t* h) { return static_cast<Run*>(h->data); }

    static void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
        auto* self = of(h);
        *buf = uv_buf_init(self->buf.data(), static_cast<unsigned>(self->buf.size()));
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* self = of(as_handle(s));
        bool is_out = s == as_stream(&self->out);
        if (n > 0) {
            std::string& sink = is_out ? self->result.out : self->result.err;
            std::size_t room =
                self->options.max_capture - std::min(sink.size(), self->options.max_capture);
            sink.append(buf->base, std::min(static_cast<std::size_t>(n), room));
            return;
        }
        if (n < 0) { // the end, or an error: either way nothing more comes
            self->close(as_handle(s), is_out ? self->out_open : self->err_open);
            self->maybe_finish();
        }
    }

    static void on_exit(uv_process_t* p, int64_t status, int term_signal) {
        auto* self = of(as_handle(p));
        self->exited = true;
        self->result.term_signal = term_signal;
        if (term_signal == 0) {
            self->result.exit_status = static_cast<int>(status);
        }
        // Whatever the child left running in its group goes with it.
        if (self->options.own_process_group) {
            uv_kill(-self->pid, SIGKILL);
        }
        self->close(as_handle(p), self->process_open);
        if (!self->owned) {
            self->close_pipes();
        }
        self->maybe_finish();
    }

    static void on_limit(uv_timer_t* t) {
        auto* self = of(as_handle(t));
        self->result.timed_out = true;
        self->signal(SIGTERM);
        uv_timer_start(t, on_grace_over, static_cast<uint64_t>(self->options.kill_grace.count()),
                       0);
    }

    static void on_grace_over(uv_timer_t* t) {
        auto* self = of(as_handle(t));
        self->signal(SIGKILL);
        // A helper outside the group may hold the pipes open: stop reading.
        self->close_pipes();
        self->maybe_finish();
    }

    static void on_closed(uv_handle_t* h) {
        auto* self = of(h);
        if (--self->open_handles > 0) {
            return;
        }
        if (!self->owned) {
            delete self;
            return;
        }
        if (self->exited && self->done) {
            self->result.elapsed =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - self->started);
            // `done` may destroy the ChildProcess, and with it this Run: take what it needs.
            auto done = std::move(self->done);
            auto result = std::move(self->result);
            done(result);
        }
    }
};

ChildProcess::ChildProcess(uv_loop_t* loop, ChildOptions options, Done done)
    : run_(new Run(loop, std::move(options), std::move(done))) {}

ChildProcess::~ChildProcess() {
    if (run_->open_handles == 0) {
        delete run_;
        return;
    }
    // Still running: the child goes, its handles close on the loop and free the Run.
    run_->owned = false;
    run_->done = nullptr;
    if (!run_->exited && run_->process_open) {
        run_->signal(SIGKILL);
    }
    run_->close(as_handle(&run_->timer), run_->timer_open);
    run_->close_pipes();
}

std::expected<void, std::string> ChildProcess::start() {
    Run& r = *run_;
    if (r.options.argv.empty()) {
        return std::unexpected("no program to run");
    }
    auto init = [&r](uv_handle_t* h, bool& open) {
        h->data = &r;
        open = true;
        ++r.open_handles;
    };
    uv_pipe_init(r.loop, &r.out, 0);
    init(as_handle(&r.out), r.out_open);
    if (r.options.capture_stderr) {
        uv_pipe_init(r.loop, &r.err, 0);
        init(as_handle(&r.err), r.err_open);
    }
    uv_timer_init(r.loop, &r.timer);
    init(as_handle(&r.timer), r.timer_open);

    std::vector<char*> args;
    args.reserve(r.options.argv.size() + 1);
    for (auto& a : r.options.argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    // uv_stdio_flags is a set of bits: an OR of two is not one of its enumerators, by design.
    // NOLINTNEXTLINE(clang-analyzer-optin.core.EnumCastOutOfRange)
    auto pipe_to_us = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    std::array<uv_stdio_container_t, 3> stdio{};
    stdio[0].flags = UV_IGNORE; // /dev/null
    stdio[1].flags = pipe_to_us;
    stdio[1].data.stream = as_stream(&r.out);
    if (r.options.capture_stderr) {
        stdio[2].flags = pipe_to_us;
        stdio[2].data.stream = as_stream(&r.err);
    } else {
        stdio[2].flags = UV_INHERIT_FD;
        stdio[2].data.fd = 2;
    }
    uv_process_options_t opts{};
    opts.file = args[0];
    opts.args = args.data();
    opts.exit_cb = Run::on_exit;
    opts.stdio_count = static_cast<int>(stdio.size());
    opts.stdio = stdio.data();
    if (r.options.own_process_group) {
        opts.flags = UV_PROCESS_DETACHED;
    }
    r.started = Clock::now();
    // uv_spawn initialises the process handle even when it fails: it is closed either way.
    int rc = uv_spawn(r.loop, &r.process, &opts);
    init(as_handle(&r.process), r.process_open);
    if (rc != 0) {
        r.exited = true; // nothing to wait for; `done` does not run
        r.done = nullptr;
        r.close(as_handle(&r.process), r.process_open);
        r.close(as_handle(&r.timer), r.timer_open);
        r.close_pipes();
        return std::unexpected(r.options.argv[0] + ": " + uv_strerror(rc));
    }
    r.pid = r.process.pid;
    uv_read_start(as_stream(&r.out), Run::on_alloc, Run::on_read);
    if (r.options.capture_stderr) {
        uv_read_start(as_stream(&r.err), Run::on_alloc, Run::on_read);
    }
    if (r.options.time_limit) {
        uv_timer_start(
            &r.timer, Run::on_limit,
            static_cast<uint64_t>(std::max<std::int64_t>(r.options.time_limit->count(), 0)), 0);
    }
    return {};
}

namespace {

// PrivateLoop: a loop of the calling thread's own, closed after every handle on it closed.
class PrivateLoop {
  public:
    PrivateLoop() { ok_ = uv_loop_init(&loop_) == 0; }
    PrivateLoop(const PrivateLoop&) = delete;
    PrivateLoop& operator=(const PrivateLoop&) = delete;
    ~PrivateLoop() {
        if (!ok_) {
            return;
        }
        uv_run(&loop_, UV_RUN_DEFAULT); // close callbacks still pending
        uv_walk(
            &loop_,
            [](uv_handle_t* h, void*) {
                if (uv_is_closing(h) == 0) {
                    uv_close(h, nullptr);
                }
            },
            nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }
    bool ok() const { return ok_; }
    uv_loop_t* get() { return &loop_; }

  private:
    uv_loop_t loop_{};
    bool ok_ = false;
};

} // namespace

std::expected<ChildResult, std::string> run_child(ChildOptions options) {
    PrivateLoop loop;
    if (!loop.ok()) {
        return std::unexpected("cannot create an event loop");
    }
    std::optional<ChildResult> result;
    ChildProcess child(loop.get(), std::move(options),
                       [&result](const ChildResult& r) { result = r; });
    if (auto started = child.start(); !started) {
        return std::unexpected(started.error());
    }
    uv_run(loop.get(), UV_RUN_DEFAULT);
    if (!result) {
        return std::unexpected("the event loop ended before the child");
    }
    return std::move(*result);
}

} // namespace proxy::net
