#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <tests/proxy/net/net_test_support.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <proxy/core/session/session_record.h>
#include <proxy/net/listener.h>

using proxy::net::Listener;
using proxy::net::SessionRegistry;

namespace {

// Connects upstream, then shuts its write side to the server down and writes to it in the same
// step: uv_write refuses at once (EPIPE). Any end of the session is answered with one record.
class WriteAfterHalfClose final : public proxy::Machine {
  public:
    proxy::Actions handle(const proxy::Event& event) override {
        if (std::holds_alternative<proxy::event::Started>(event)) {
            return {proxy::action::ConnectUpstream{}};
        }
        if (std::holds_alternative<proxy::event::Connected>(event)) {
            return {proxy::action::HalfClose{proxy::Side::Server},
                    proxy::action::Send{proxy::Side::Server, {1, 2, 3}}};
        }
        if (recorded_) {
            return {};
        }
        recorded_ = true;
        return {proxy::action::Record{std::make_shared<const proxy::SessionRecord>()},
                proxy::action::Close{"done", false, false}};
    }

  private:
    bool recorded_ = false;
};

int listening_socket(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

} // namespace

TEST_CASE("a write the kernel refuses at once still ends the session through its machine: "
          "exactly one record",
          "[net][session][records]") {
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        std::uint16_t upstream_port = 0;
        int upstream = listening_socket(upstream_port);
        sockaddr_storage where{};
        auto* in = reinterpret_cast<sockaddr_in*>(&where);
        in->sin_family = AF_INET;
        in->sin_port = htons(upstream_port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);

        SessionRegistry registry;
        Listener listener(&loop, registry, "records-test",
                          [](const proxy::net::SessionInfo&) -> std::unique_ptr<proxy::Machine> {
                              return std::make_unique<WriteAfterHalfClose>();
                          });
        int records = 0;
        proxy::net::SessionHooks hooks;
        hooks.upstream = where;
        hooks.on_record = [&records](const std::shared_ptr<const proxy::SessionRecord>&) {
            ++records;
        };
        listener.set_hooks(hooks);
        REQUIRE(listener.listen({"127.0.0.1", 0}));
        int client = net_test::connect_to(listener.bound_port(), false);

        bool opened = false;
        for (int i = 0; i < 400 && !(opened && registry.size() == 0); ++i) {
            uv_run(&loop, UV_RUN_NOWAIT);
            opened = opened || registry.size() > 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        CHECK(opened);
        CHECK(registry.size() == 0); // the session ended ...
        CHECK(records == 1);         // ... and said so once
        ::close(client);
        ::close(upstream);
        registry.close_all("test over");
        bool closed = false;
        listener.close([&closed] { closed = true; });
        for (int i = 0; i < 400 && !closed; ++i) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
    }
    for (int i = 0; i < 400 && uv_loop_alive(&loop) != 0; ++i) { // bounded: fail, never hang
        uv_run(&loop, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(uv_loop_close(&loop) == 0);
}
