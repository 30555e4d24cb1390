#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxy/app/matrix/child_process.h>

namespace proxy::app::matrix {

namespace {

// A pipe whose ends close themselves.
struct Pipe {
    std::array<int, 2> fd{-1, -1};
    Pipe() = default;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() {
        close_read();
        close_write();
    }
    bool open() { return ::pipe2(fd.data(), O_CLOEXEC) == 0; }
    void close_read() {
        if (fd[0] >= 0) {
            ::close(fd[0]);
            fd[0] = -1;
        }
    }
    void close_write() {
        if (fd[1] >= 0) {
            ::close(fd[1]);
            fd[1] = -1;
        }
    }
};

} // namespace

CommandResult run_command(const std::string& command, std::chrono::milliseconds limit) {
    using clock = std::chrono::steady_clock;
    CommandResult result;
    Pipe out;
    Pipe err;
    if (!out.open() || !err.open()) {
        result.spawn_error = std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    auto start = clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        result.spawn_error = std::string("fork: ") + std::strerror(errno);
        return result;
    }
    if (pid == 0) {
        // The child: only async-signal-safe calls until exec.
        ::setpgid(0, 0);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
        }
        ::dup2(out.fd[1], 1);
        ::dup2(err.fd[1], 2);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid, pid); // also here: no race with the child's own call
    out.close_write();
    err.close_write();
    auto deadline = start + limit;
    std::optional<clock::time_point> kill_at;
    std::array<char, 16384> buf{};
    bool out_open = true;
    bool err_open = true;
    while (out_open || err_open) {
        auto now = clock::now();
        if (!result.timed_out && now >= deadline) {
            result.timed_out = true;
            ::kill(-pid, SIGTERM);
            kill_at = now + std::chrono::seconds(2);
        }
        if (kill_at && now >= *kill_at) {
            ::kill(-pid, SIGKILL);
            break; // grandchildren may hold the pipes; stop reading
        }
        auto until = kill_at ? *kill_at : deadline;
        auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        std::array<pollfd, 2> fds{pollfd{out_open ? out.fd[0] : -1, POLLIN, 0},
                                  pollfd{err_open ? err.fd[0] : -1, POLLIN, 0}};
        int n = ::poll(fds.data(), fds.size(),
                       static_cast<int>(std::clamp<long long>(wait_ms, 0, 1000)));
        if (n < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            ssize_t got = ::read(fds[i].fd, buf.data(), buf.size());
            std::string& sink = i == 0 ? result.out : result.err;
            if (got > 0) {
                if (sink.size() < kMaxCapture) {
                    sink.append(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(got),
                                                                  kMaxCapture - sink.size()));
                }
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                (i == 0 ? out_open : err_open) = false;
            }
        }
    }
    int status = 0;
    // The shell has ended or is being killed: reap it (bounded by the kill above).
    while (true) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (clock::now() >= deadline && !result.timed_out) {
            result.timed_out = true;
            ::kill(-pid, SIGTERM);
            kill_at = clock::now() + std::chrono::seconds(2);
        }
        if (kill_at && clock::now() >= *kill_at) {
            ::kill(-pid, SIGKILL);
        }
        ::usleep(20'000);
    }
    // Whatever the driver left running in its group goes with it.
    ::kill(-pid, SIGKILL);
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    }
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return result;
}

} // namespace proxy::app::matrix
