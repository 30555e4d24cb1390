#include <proxy/app/matrix/child_process.h>
#include <proxy/net/child_process.h>

namespace proxy::app::matrix {

CommandResult run_command(const std::string& command, std::chrono::milliseconds limit) {
    net::ChildOptions options;
    options.argv = {"/bin/sh", "-c", command};
    options.capture_stderr = true;
    options.own_process_group = true;
    options.time_limit = limit;
    options.kill_grace = std::chrono::seconds(2);
    options.max_capture = kMaxCapture;
    CommandResult result;
    auto run = net::run_child(std::move(options));
    if (!run) {
        result.spawn_error = run.error();
        return result;
    }
    result.out = std::move(run->out);
    result.err = std::move(run->err);
    result.exit_status = run->exit_status;
    result.timed_out = run->timed_out;
    result.elapsed = run->elapsed;
    return result;
}

} // namespace proxy::app::matrix
