#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <proxy/net/address.h>
#include <proxy/net/blocking_exchange.h>

namespace proxy::net {

namespace {

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::expected<void, std::string> wait_for(int fd, short events, Clock::time_point deadline) {
    pollfd p{fd, events, 0};
    int rc = 0;
    do {
        rc = ::poll(&p, 1, remaining_ms(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        return std::unexpected("timed out");
    }
    if (rc < 0) {
        return std::unexpected(std::string("poll: ") + std::strerror(errno));
    }
    return {};
}

std::expected<void, std::string> send_all(int fd, std::span<const std::uint8_t> bytes,
                                          Clock::time_point deadline) {
    while (!bytes.empty()) {
        if (auto ok = wait_for(fd, POLLOUT, deadline); !ok) {
            return ok;
        }
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return std::unexpected(std::string("send: ") + std::strerror(errno));
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

} // namespace

std::expected<void, std::string> run_blocking_exchange(const sockaddr_storage& to,
                                                       const ExchangeSteps& steps,
                                                       std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    const auto* addr = reinterpret_cast<const sockaddr*>(&to);
    std::string where = format_address(addr);
    Fd fd(::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return std::unexpected(std::string("socket: ") + std::strerror(errno));
    }
    socklen_t len = to.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (::connect(fd.get(), addr, len) != 0 && errno != EINPROGRESS) {
        return std::unexpected("cannot connect to " + where + ": " + std::strerror(errno));
    }
    if (auto ok = wait_for(fd.get(), POLLOUT, deadline); !ok) {
        return std::unexpected("cannot connect to " + where + ": " + ok.error());
    }
    int err = 0;
    socklen_t err_len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) {
        return std::unexpected("cannot connect to " + where + ": " + std::strerror(err));
    }
    if (auto ok = send_all(fd.get(), steps.start(), deadline); !ok) {
        return std::unexpected(where + ": " + ok.error());
    }
    std::array<std::uint8_t, 16 * 1024> buf{};
    while (!steps.done()) {
        if (auto ok = wait_for(fd.get(), POLLIN, deadline); !ok) {
            return std::unexpected(where + ": " + ok.error());
        }
        ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            return std::unexpected(where + ": the server closed the connection" +
                                   (n < 0 ? std::string(" (") + std::strerror(errno) + ")" : ""));
        }
        auto reply = steps.on_bytes(std::span(buf.data(), static_cast<std::size_t>(n)));
        if (auto ok = send_all(fd.get(), reply, deadline); !ok) {
            return std::unexpected(where + ": " + ok.error());
        }
    }
    return {};
}

} // namespace proxy::net
