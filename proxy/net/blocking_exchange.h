#pragma once

// run_blocking_exchange drives a sans-IO client (start / on_bytes / done) over a blocking TCP
// connection with one overall deadline. For short, one-off conversations outside the event loop's
// sessions (reading a real server's certificate before a transparent session starts); it blocks
// the calling thread for at most `timeout`.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace proxy::net {

struct ExchangeSteps {
    std::function<std::vector<std::uint8_t>()> start;
    std::function<std::vector<std::uint8_t>(std::span<const std::uint8_t>)> on_bytes;
    std::function<bool()> done;
};

// Errors: cannot connect, the deadline passed, the server closed first.
std::expected<void, std::string> run_blocking_exchange(const sockaddr_storage& to,
                                                       const ExchangeSteps& steps,
                                                       std::chrono::milliseconds timeout);

} // namespace proxy::net
