#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <tests/proxy/net/net_test_support.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include <proxy/net/listener.h>
#include <proxy/net/session_limit.h>

using proxy::net::Listener;
using proxy::net::SessionLimit;
using proxy::net::SessionRegistry;
using proxy::net::SessionSlot;

TEST_CASE("SessionLimit: places up to the limit, refusals counted, a slot gives its place back",
          "[net][limit]") {
    auto limit = SessionLimit::create(2);
    auto a = limit->try_acquire();
    auto b = limit->try_acquire();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(limit->live() == 2);
    CHECK_FALSE(limit->try_acquire());
    CHECK_FALSE(limit->try_acquire());
    CHECK(limit->refused() == 2);
    CHECK(limit->live() == 2);

    SessionSlot moved = std::move(*a);
    CHECK(moved.held());
    CHECK_FALSE(a->held()); // NOLINT: a moved-from slot holds nothing
    a.reset();
    CHECK(limit->live() == 2); // the place moved, it was not given back
    moved.release();
    CHECK(limit->live() == 1);
    moved.release(); // twice is once
    CHECK(limit->live() == 1);
    {
        auto c = limit->try_acquire();
        REQUIRE(c);
        CHECK(limit->live() == 2);
    }
    CHECK(limit->live() == 1);
    b.reset();
    CHECK(limit->live() == 0);
    CHECK(limit->refused() == 2);
}

TEST_CASE("SessionLimit: 0 is unlimited and still counts", "[net][limit]") {
    auto limit = SessionLimit::create(0);
    std::vector<SessionSlot> slots;
    for (int i = 0; i < 1000; ++i) {
        auto s = limit->try_acquire();
        REQUIRE(s);
        slots.push_back(std::move(*s));
    }
    CHECK(limit->live() == 1000);
    CHECK(limit->refused() == 0);
    slots.clear();
    CHECK(limit->live() == 0);
}

TEST_CASE("SessionLimit: one log line per interval, the refusals held back are told",
          "[net][limit]") {
    auto limit = SessionLimit::create(1);
    std::uint64_t held = 99;
    CHECK(limit->should_log(5000, held));
    CHECK(held == 0);
    CHECK_FALSE(limit->should_log(5000, held));
    CHECK_FALSE(limit->should_log(5999, held));
    CHECK_FALSE(limit->should_log(5500, held));
    CHECK(limit->should_log(6000, held));
    CHECK(held == 3);
    CHECK_FALSE(limit->should_log(6001, held));
    CHECK(limit->should_log(9000, held));
    CHECK(held == 1);
}

TEST_CASE("SessionLimit: exact under contention from several threads", "[net][limit]") {
    auto limit = SessionLimit::create(100);
    std::atomic<int> got{0};
    std::vector<std::thread> threads;
    std::vector<std::vector<SessionSlot>> kept(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) {
                if (auto s = limit->try_acquire()) {
                    ++got;
                    kept[t].push_back(std::move(*s));
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(got == 100);
    CHECK(limit->live() == 100);
    CHECK(limit->refused() == 3900);
    kept.clear();
    CHECK(limit->live() == 0);
}

using net_test::closed_by_peer;
using net_test::connect_to;
using net_test::Idle;
using net_test::run_until;

TEST_CASE("Listener with --max-sessions 2: the third client is closed at once and counted; the "
          "count goes down once a session's handles are closed",
          "[net][limit][listener]") {
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        SessionRegistry registry;
        int made = 0;
        Listener listener(
            &loop, registry, "limit-test",
            [&made](const proxy::net::SessionInfo&) -> std::unique_ptr<proxy::Machine> {
                ++made;
                return std::make_unique<Idle>();
            });
        auto limit = SessionLimit::create(2);
        listener.set_limit(limit);
        REQUIRE(listener.listen({"127.0.0.1", 0}));
        std::uint16_t port = listener.bound_port();

        int a = connect_to(port);
        int b = connect_to(port);
        run_until(&loop, [&] { return registry.size() == 2; });
        REQUIRE(registry.size() == 2);
        CHECK(limit->live() == 2);

        int c = connect_to(port);
        ::send(c, "hello", 5, MSG_NOSIGNAL);
        CHECK(closed_by_peer(&loop, c));
        CHECK(limit->refused() == 1);
        CHECK(limit->live() == 2);
        CHECK(registry.size() == 2);
        CHECK(made == 2); // no machine for the refused one

        // The held sessions are still open: nothing arrives, no EOF.
        char ch = 0;
        CHECK(::recv(a, &ch, 1, 0) < 0);
        CHECK(::recv(b, &ch, 1, 0) < 0);

        // Close one session: its place comes back only when its handles are closed.
        registry.close_where([](const proxy::net::Session& s) { return s.id() == 1; }, "test");
        CHECK(limit->live() == 2); // uv_close has not called back yet
        run_until(&loop, [&] { return registry.size() == 1; });
        CHECK(limit->live() == 1);

        int d = connect_to(port);
        run_until(&loop, [&] { return registry.size() == 2; });
        CHECK(registry.size() == 2);
        CHECK(limit->live() == 2);
        CHECK(limit->refused() == 1);
        CHECK(made == 3);

        registry.close_all("test over");
        bool closed = false;
        listener.close([&closed] { closed = true; });
        run_until(&loop, [&] { return closed && registry.size() == 0; });
        CHECK(limit->live() == 0);
        for (int fd : {a, b, c, d}) {
            ::close(fd);
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}
