#include <arpa/inet.h>
#include <array>
#include <charconv>
#include <cstring>
#include <netdb.h>

#include <proxy/net/address.h>

namespace proxy::net {

std::string HostPort::to_string() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::expected<HostPort, std::string> parse_host_port(const std::string& text) {
    HostPort hp;
    std::string port_text;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::unexpected("'" + text + "': expected [IPv6]:PORT");
        }
        hp.host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return std::unexpected("'" + text + "': expected HOST:PORT");
        }
        hp.host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (hp.host.find(':') != std::string::npos) {
            return std::unexpected("'" + text + "': write IPv6 addresses as [ADDR]:PORT");
        }
    }
    if (hp.host.empty()) {
        return std::unexpected("'" + text + "': empty host");
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return std::unexpected("'" + text + "': port must be a number from 0 to 65535");
    }
    hp.port = static_cast<std::uint16_t>(port);
    return hp;
}

std::expected<sockaddr_storage, std::string> resolve(const HostPort& hp) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(hp.port);
    int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
        return std::unexpected("cannot resolve '" + hp.host + "': " + gai_strerror(rc));
    }
    sockaddr_storage out{};
    std::memcpy(&out, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    return out;
}

std::string format_address(const sockaddr* addr) {
    std::array<char, INET6_ADDRSTRLEN> host{};
    if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        inet_ntop(AF_INET, &in->sin_addr, host.data(), host.size());
        return std::string(host.data()) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        inet_ntop(AF_INET6, &in6->sin6_addr, host.data(), host.size());
        return "[" + std::string(host.data()) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    return "?";
}

} // namespace proxy::net
