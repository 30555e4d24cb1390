#include <memory>

#include <spdlog/spdlog.h>

#include <proxy/net/off_loop.h>

namespace proxy::net {

namespace {

struct OffLoopJob {
    uv_work_t req{};
    std::function<void()> work;
    std::function<void()> done;
};

void on_work(uv_work_t* req) {
    auto* job = static_cast<OffLoopJob*>(req->data);
    job->work();
}

void on_after_work(uv_work_t* req, int /*status: UV_ECANCELED is not used (no uv_cancel)*/) {
    std::unique_ptr<OffLoopJob> job(static_cast<OffLoopJob*>(req->data));
    job->done();
}

} // namespace

void run_off_loop(uv_loop_t* loop, std::function<void()> work, std::function<void()> done) {
    auto job = std::make_unique<OffLoopJob>();
    job->req.data = job.get();
    job->work = std::move(work);
    job->done = std::move(done);
    int rc = uv_queue_work(loop, &job->req, on_work, on_after_work);
    if (rc != 0) {
        // Cannot happen for a live loop; never leave the caller waiting: run both here.
        spdlog::warn("uv_queue_work: {}; running the job on the loop thread", uv_strerror(rc));
        job->work();
        job->done();
        return;
    }
    static_cast<void>(job.release()); // owned by the request until on_after_work
}

} // namespace proxy::net
