#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <sys/socket.h>

namespace proxy::net {

// HostPort is a HOST:PORT as the user wrote it ("127.0.0.1:14330", "[::1]:1433", "db:1433").
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const; // brackets around IPv6 literals
};

// parse_host_port checks the syntax only. Errors name what is wrong.
std::expected<HostPort, std::string> parse_host_port(const std::string& text);

// resolve turns a HostPort into a socket address (the first getaddrinfo answer; numeric
// addresses need no lookup). Blocking: for start-up only.
std::expected<sockaddr_storage, std::string> resolve(const HostPort& hp);

// format_address gives "127.0.0.1:5000" or "[::1]:5000".
std::string format_address(const sockaddr* addr);

} // namespace proxy::net
