#pragma once

// What the libuv shell's tests share: a machine that does nothing, loopback clients, and a
// bounded way to turn a loop until something happened (a failing test ends, never hangs).

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <functional>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <uv.h>

#include <proxy/core/session/machine.h>

namespace net_test {

// Idle: the session stays open, saying nothing, until it is closed.
class Idle final : public proxy::Machine {
  public:
    proxy::Actions handle(const proxy::Event& /*event*/) override { return {}; }
};

// connect_to: a client connected to 127.0.0.1:port (non-blocking once connected, if asked).
inline int connect_to(std::uint16_t port, bool nonblocking = true) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (nonblocking) {
        ::fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    return fd;
}

// peer_closed: the other end of the non-blocking `fd` has closed it (EOF or reset), now.
inline bool peer_closed(int fd) {
    char c = 0;
    ssize_t n = ::recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// run_until: turn `loop` until `done`, at most 400 times 5 ms.
inline void run_until(uv_loop_t* loop, const std::function<bool()>& done) {
    for (int i = 0; i < 400 && !done(); ++i) {
        uv_run(loop, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// closed_by_peer: the other end closed `fd` while `loop` turned (bounded).
inline bool closed_by_peer(uv_loop_t* loop, int fd) {
    bool closed = false;
    run_until(loop, [&] { return closed = peer_closed(fd); });
    return closed;
}

} // namespace net_test
