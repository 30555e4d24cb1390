#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>

#include <proxy/net/address.h>
#include <proxy/net/original_destination.h>

namespace proxy::net {

namespace {

// The IPv4 address behind `a` (itself, or the IPv4 inside an IPv4-mapped IPv6 address).
bool as_ipv4(const sockaddr* a, in_addr& addr, std::uint16_t& port) {
    if (a->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a);
        addr = in->sin_addr;
        port = in->sin_port;
        return true;
    }
    if (a->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            std::memcpy(&addr, &in6->sin6_addr.s6_addr[12], sizeof addr);
            port = in6->sin6_port;
            return true;
        }
    }
    return false;
}

} // namespace

std::expected<sockaddr_storage, std::string>
decode_original_destination(std::span<const std::byte> raw, int expected_family) {
    sockaddr_storage out{};
    std::size_t need = expected_family == AF_INET    ? sizeof(sockaddr_in)
                       : expected_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                     : 0;
    if (need == 0) {
        return std::unexpected("unsupported address family " + std::to_string(expected_family));
    }
    if (raw.size() < need) {
        return std::unexpected("original destination too short: " + std::to_string(raw.size()) +
                               " bytes, a socket address of this family needs " +
                               std::to_string(need));
    }
    std::memcpy(&out, raw.data(), need);
    if (out.ss_family != expected_family) {
        return std::unexpected("original destination has address family " +
                               std::to_string(out.ss_family) + ", expected " +
                               std::to_string(expected_family));
    }
    std::uint16_t port = expected_family == AF_INET
                             ? reinterpret_cast<const sockaddr_in*>(&out)->sin_port
                             : reinterpret_cast<const sockaddr_in6*>(&out)->sin6_port;
    if (port == 0) {
        return std::unexpected("original destination has port 0");
    }
    return out;
}

bool same_endpoint(const sockaddr* a, const sockaddr* b) {
    in_addr a4{};
    in_addr b4{};
    std::uint16_t ap = 0;
    std::uint16_t bp = 0;
    bool a_is4 = as_ipv4(a, a4, ap);
    bool b_is4 = as_ipv4(b, b4, bp);
    if (a_is4 || b_is4) {
        return a_is4 && b_is4 && ap == bp && a4.s_addr == b4.s_addr;
    }
    if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6) {
        return false;
    }
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(a);
    const auto* b6 = reinterpret_cast<const sockaddr_in6*>(b);
    return a6->sin6_port == b6->sin6_port &&
           std::memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0;
}

std::expected<sockaddr_storage, std::string>
judge_original_destination(const sockaddr_storage& original, const sockaddr_storage& local) {
    const auto* o = reinterpret_cast<const sockaddr*>(&original);
    if (same_endpoint(o, reinterpret_cast<const sockaddr*>(&local))) {
        return std::unexpected("refused: the original destination " + format_address(o) +
                               " is this proxy itself (the client dialled tlslab directly, or a "
                               "redirect loop); transparent mode needs a redirect rule (see "
                               "scripts/transparent)");
    }
    return original;
}

std::expected<sockaddr_storage, std::string> query_original_destination(int fd) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
        return std::unexpected(std::string("getsockname: ") + std::strerror(errno));
    }
    in_addr ignored{};
    std::uint16_t ignored_port = 0;
    // An IPv4 client, even on a dual-stack socket, has an IPv4 conntrack entry.
    bool v4 = as_ipv4(reinterpret_cast<const sockaddr*>(&local), ignored, ignored_port);
    int family = v4 ? AF_INET : AF_INET6;
    sockaddr_storage raw{};
    socklen_t len = sizeof raw;
    int rc = v4 ? ::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &raw, &len)
                : ::getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &raw, &len);
    if (rc != 0) {
        int err = errno;
        std::string what = v4 ? "SO_ORIGINAL_DST" : "IP6T_SO_ORIGINAL_DST";
        if (err == ENOENT) {
            return std::unexpected(what + ": no connection-tracking entry for this connection "
                                          "(no redirect rule matched it, or conntrack is off)");
        }
        return std::unexpected(what + ": " + std::strerror(err));
    }
    auto decoded = decode_original_destination(
        std::as_bytes(std::span(reinterpret_cast<const char*>(&raw), len)), family);
    if (!decoded) {
        return decoded;
    }
    return judge_original_destination(*decoded, local);
}

} // namespace proxy::net
