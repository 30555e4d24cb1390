#include <array>

#include <proxy/net/child_process.h>

namespace proxy::net {

ChildProcess::ChildProcess(uv_loop_t* loop, std::vector<std::string> argv, Done done)
    : loop_(loop), argv_(std::move(argv)), done_(std::move(done)) {}

bool ChildProcess::start(std::string& error) {
    uv_pipe_init(loop_, &out_, 0);
    out_.data = this;
    ++open_handles_;
    std::vector<char*> args;
    args.reserve(argv_.size() + 1);
    for (auto& a : argv_) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    std::array<uv_stdio_container_t, 3> stdio{};
    stdio[0].flags = UV_IGNORE;
    // uv_stdio_flags is a set of bits: an OR of two is not one of its enumerators, by design.
    // NOLINTNEXTLINE(clang-analyzer-optin.core.EnumCastOutOfRange)
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&out_);
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    uv_process_options_t opts{};
    opts.file = args[0];
    opts.args = args.data();
    opts.exit_cb = on_exit;
    opts.stdio_count = 3;
    opts.stdio = stdio.data();
    process_.data = this;
    int rc = uv_spawn(loop_, &process_, &opts);
    if (rc != 0) {
        error = argv_[0] + ": " + uv_strerror(rc);
        uv_close(reinterpret_cast<uv_handle_t*>(&out_), nullptr);
        return false;
    }
    ++open_handles_;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&out_), on_alloc, on_read);
    return true;
}

void ChildProcess::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<ChildProcess*>(h->data);
    *buf = uv_buf_init(self->buf_.data(), static_cast<unsigned>(self->buf_.size()));
}

void ChildProcess::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<ChildProcess*>(s->data);
    if (n > 0) {
        self->output_.append(buf->base, static_cast<std::size_t>(n));
        return;
    }
    if (n < 0) {
        self->drained_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(s), on_closed);
    }
}

void ChildProcess::on_exit(uv_process_t* p, int64_t status, int signal) {
    auto* self = static_cast<ChildProcess*>(p->data);
    self->exit_status_ = signal != 0 ? 128 + signal : static_cast<int>(status);
    self->exited_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(p), on_closed);
}

void ChildProcess::on_closed(uv_handle_t* h) {
    auto* self = static_cast<ChildProcess*>(h->data);
    --self->open_handles_;
    self->maybe_done();
}

void ChildProcess::maybe_done() {
    if (open_handles_ == 0 && exited_ && done_) {
        auto done = std::move(done_);
        done(exit_status_, output_);
    }
}

} // namespace proxy::net
