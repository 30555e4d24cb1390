// original_destination: what the transparent mode reads from the kernel (SO_ORIGINAL_DST /
// IP6T_SO_ORIGINAL_DST): decode_original_destination over raw sockaddr bytes, then the judge
// against the accepted socket's own address, and same_endpoint.
//
// Input: byte 0 even: IPv4 expected, odd: IPv6; bytes 1-28: the local address (as raw
// sockaddr bytes, decoded the same way); the rest: the raw original destination.

#include <netinet/in.h>

#include <proxy/net/original_destination.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    int family = (data[0] & 1) == 0 ? AF_INET : AF_INET6;
    std::span<const std::byte> all(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    std::size_t local_len = all.size() < 28 ? all.size() : 28;
    auto local = proxy::net::decode_original_destination(all.first(local_len), family);
    auto original = proxy::net::decode_original_destination(all.subspan(local_len), family);
    if (!original) {
        fuzz::check(!original.error().empty(), "an error says what is wrong");
        return 0;
    }
    fuzz::check(original->ss_family == family, "the family asked for");
    const auto* o = reinterpret_cast<const sockaddr*>(&*original);
    fuzz::check(proxy::net::same_endpoint(o, o), "an endpoint equals itself");
    if (local) {
        auto judged = proxy::net::judge_original_destination(*original, *local);
        bool same = proxy::net::same_endpoint(o, reinterpret_cast<const sockaddr*>(&*local));
        fuzz::check(judged.has_value() != same, "the judge refuses exactly its own address");
    }
    return 0;
}
