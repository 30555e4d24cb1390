#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <vector>

#include <catch2/catch.hpp>

#include <proxy/net/address.h>
#include <proxy/net/original_destination.h>

using namespace proxy::net;

namespace {

sockaddr_storage v4(const char* ip, std::uint16_t port) {
    sockaddr_storage s{};
    auto* in = reinterpret_cast<sockaddr_in*>(&s);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, ip, &in->sin_addr);
    return s;
}

sockaddr_storage v6(const char* ip, std::uint16_t port) {
    sockaddr_storage s{};
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &in6->sin6_addr);
    return s;
}

template <typename T> std::vector<std::byte> bytes_of(const T& value, std::size_t n = sizeof(T)) {
    std::vector<std::byte> out(n);
    std::memcpy(out.data(), &value, n);
    return out;
}

sockaddr_in in4(const char* ip, std::uint16_t port) {
    auto s = v4(ip, port);
    sockaddr_in out{};
    std::memcpy(&out, &s, sizeof out);
    return out;
}

sockaddr_in6 in6(const char* ip, std::uint16_t port) {
    auto s = v6(ip, port);
    sockaddr_in6 out{};
    std::memcpy(&out, &s, sizeof out);
    return out;
}

const sockaddr* sa(const sockaddr_storage& s) {
    return reinterpret_cast<const sockaddr*>(&s);
}

} // namespace

TEST_CASE("the original destination as the kernel writes it", "[net][transparent]") {
    SECTION("IPv4: a sockaddr_in") {
        auto raw = bytes_of(in4("10.20.2.2", 5432));
        auto d = decode_original_destination(raw, AF_INET);
        REQUIRE(d);
        CHECK(format_address(sa(*d)) == "10.20.2.2:5432");
    }
    SECTION("IPv6: a sockaddr_in6") {
        auto raw = bytes_of(in6("fd00::2", 1433));
        auto d = decode_original_destination(raw, AF_INET6);
        REQUIRE(d);
        CHECK(format_address(sa(*d)) == "[fd00::2]:1433");
    }
    SECTION("hostile or odd answers are errors, never a crash") {
        auto s4 = in4("10.0.0.1", 1433);
        CHECK_THAT(decode_original_destination(bytes_of(s4, 7), AF_INET).error(),
                   Catch::Contains("too short"));
        CHECK_THAT(decode_original_destination({}, AF_INET6).error(), Catch::Contains("too short"));
        CHECK_THAT(decode_original_destination(bytes_of(s4), AF_INET6).error(),
                   Catch::Contains("too short"));
        auto s6 = in6("::1", 1433);
        CHECK_THAT(decode_original_destination(bytes_of(s6), AF_INET).error(),
                   Catch::Contains("family"));
        auto zero = in4("10.0.0.1", 0);
        CHECK_THAT(decode_original_destination(bytes_of(zero), AF_INET).error(),
                   Catch::Contains("port 0"));
        CHECK_FALSE(decode_original_destination(bytes_of(s4), AF_UNIX));
    }
}

TEST_CASE("a destination that is the proxy itself is a loop", "[net][transparent]") {
    auto local = v4("10.20.1.1", 15432);
    SECTION("a redirected connection goes on to the server") {
        auto d = judge_original_destination(v4("10.20.2.2", 5432), local);
        REQUIRE(d);
        CHECK(format_address(sa(*d)) == "10.20.2.2:5432");
    }
    SECTION("no redirect: the original destination is the listener's own address") {
        auto d = judge_original_destination(v4("10.20.1.1", 15432), local);
        REQUIRE_FALSE(d);
        CHECK_THAT(d.error(), Catch::Contains("10.20.1.1:15432 is this proxy itself"));
    }
    SECTION("same address, other port: not a loop") {
        CHECK(judge_original_destination(v4("10.20.1.1", 5432), local));
    }
    SECTION("a dual-stack listener sees IPv4 as IPv4-mapped IPv6") {
        CHECK_FALSE(
            judge_original_destination(v4("10.20.1.1", 15432), v6("::ffff:10.20.1.1", 15432)));
        CHECK(same_endpoint(sa(v6("::ffff:10.20.1.1", 1)), sa(v4("10.20.1.1", 1))));
        CHECK_FALSE(same_endpoint(sa(v6("::ffff:10.20.1.1", 1)), sa(v4("10.20.1.2", 1))));
        CHECK(same_endpoint(sa(v6("fd00::1", 9)), sa(v6("fd00::1", 9))));
        CHECK_FALSE(same_endpoint(sa(v6("fd00::1", 9)), sa(v6("fd00::2", 9))));
    }
}
