#pragma once

// Theory of operation
// -------------------
// Transparent interception: the host's packet filter (iptables REDIRECT in the nat table, see
// scripts/transparent) rewrites a client's connection to the real server so that it lands on
// tlslab's listener. Connection tracking remembers where the client meant to go; the listener
// asks the kernel for it on the accepted socket (getsockopt SO_ORIGINAL_DST for IPv4,
// IP6T_SO_ORIGINAL_DST for IPv6) and uses it as that session's upstream.
//
// The socket call is the only I/O here (query_original_destination); what its answer means is
// pure and tested with byte vectors: decode_original_destination checks the family and length of
// what the kernel wrote, and judge_original_destination refuses a destination that is the
// listener itself (a client that dialled the proxy directly, or a rule that redirects the
// proxy's own upstream connection back to it: a loop).

#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <sys/socket.h>

namespace proxy::net {

// decode_original_destination: the sockaddr_in (family AF_INET) or sockaddr_in6 (AF_INET6) the
// kernel wrote, as `raw` bytes. Errors say what is wrong (short, wrong family, port 0).
std::expected<sockaddr_storage, std::string>
decode_original_destination(std::span<const std::byte> raw, int expected_family);

// same_endpoint: the same address and port; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) equals
// the IPv4 address (a dual-stack listener sees IPv4 clients that way).
bool same_endpoint(const sockaddr* a, const sockaddr* b);

// judge_original_destination: the destination to connect to, or why not. `local` is the
// accepted socket's own address (getsockname): an original destination equal to it means no
// redirect happened (the client dialled tlslab itself), which would make tlslab its own upstream.
std::expected<sockaddr_storage, std::string>
judge_original_destination(const sockaddr_storage& original, const sockaddr_storage& local);

// query_original_destination asks the kernel (connection tracking) for the accepted socket's
// original destination. Errors name the cause: no conntrack entry (ENOENT: no redirect rule
// matched this connection), or the socket call's error.
std::expected<sockaddr_storage, std::string> query_original_destination(int fd);

} // namespace proxy::net
