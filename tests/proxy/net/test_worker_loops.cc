#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <tests/proxy/net/net_test_support.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include <proxy/net/listener.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/worker_loops.h>

using net_test::connect_to;
using net_test::Idle;
using net_test::run_until;
using proxy::net::Listener;
using proxy::net::SessionLimit;
using proxy::net::SessionRegistry;
using proxy::net::WorkerLoops;

namespace {

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

struct Made {
    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, std::thread::id>> sessions;
    std::size_t size() {
        std::lock_guard lock(mutex);
        return sessions.size();
    }
};

} // namespace

TEST_CASE("WorkerLoops, as --threads 2: connections alternate between the loops, each session's "
          "machine is made "
          "on its loop's thread, ids stay unique, and stopping closes the workers' sessions",
          "[net][threads]") {
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        SessionRegistry registry;
        WorkerLoops workers(1, registry);
        Made made;
        Listener listener(
            &loop, registry, "threads-test",
            [&made](const proxy::net::SessionInfo& info) -> std::unique_ptr<proxy::Machine> {
                std::lock_guard lock(made.mutex);
                made.sessions.emplace_back(info.id, std::this_thread::get_id());
                return std::make_unique<Idle>();
            });
        auto limit = SessionLimit::create(0);
        listener.set_limit(limit);
        listener.set_handoffs({{&workers[0], {}}});
        REQUIRE(listener.listen({"127.0.0.1", 0}));
        workers.start();
        // Every descriptor a worker needs exists once it is made (scripts/soak counts them).
        std::size_t descriptors_before = open_descriptors();

        std::vector<int> clients;
        for (int i = 0; i < 6; ++i) {
            clients.push_back(connect_to(listener.bound_port()));
        }
        run_until(&loop, [&] { return made.size() == 6; });
        REQUIRE(made.size() == 6);
        CHECK(listener.given() == std::vector<std::uint64_t>{3, 3});
        CHECK(registry.size() == 3);
        auto on_worker = workers[0].bridge().call([&] { return workers[0].registry().size(); });
        REQUIRE(on_worker);
        CHECK(*on_worker == 3);
        CHECK(limit->live() == 6);

        std::set<std::uint64_t> ids;
        std::set<std::thread::id> threads;
        for (const auto& [id, thread] : made.sessions) {
            ids.insert(id);
            threads.insert(thread);
        }
        CHECK(ids == std::set<std::uint64_t>{1, 2, 3, 4, 5, 6});
        CHECK(threads.size() == 2);
        CHECK(threads.contains(std::this_thread::get_id()));

        // Stopping: the worker closes its sessions and its loop ends; ours are closed here.
        std::atomic<bool> ended{false};
        registry.close_all("test over");
        workers.stop("test over", [&ended] { ended = true; });
        run_until(&loop, [&] { return ended.load() && registry.size() == 0; });
        CHECK(ended.load());
        workers.join();
        CHECK(limit->live() == 0);
        std::size_t closed = 0;
        for (int fd : clients) {
            closed += net_test::peer_closed(fd) ? 1 : 0;
        }
        CHECK(closed == 6);
        for (int& fd : clients) {
            ::close(fd);
            fd = -1;
        }
        CHECK(open_descriptors() == descriptors_before);

        // A connection handed to a worker that has stopped is closed, and its place given back.
        int late = connect_to(listener.bound_port());
        int late2 = connect_to(listener.bound_port());
        run_until(&loop, [&] { return listener.given()[1] == 4; });
        CHECK(listener.given() == std::vector<std::uint64_t>{4, 4});
        // late went to this loop (turn 7) and is held; late2 to the stopped worker (turn 8).
        bool dropped = false;
        run_until(&loop, [&] { return dropped = net_test::peer_closed(late2); });
        CHECK(dropped);
        CHECK_FALSE(net_test::peer_closed(late));
        CHECK(registry.size() == 1);
        registry.close_all("test over");
        run_until(&loop, [&] { return registry.size() == 0 && limit->live() == 0; });
        CHECK(limit->live() == 0);
        ::close(late);
        ::close(late2);
        bool closed_listener = false;
        listener.close([&closed_listener] { closed_listener = true; });
        run_until(&loop, [&] { return closed_listener; });
    }
    run_until(&loop, [&] { return uv_loop_alive(&loop) == 0; });
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("WorkerLoops that never started close cleanly; default_thread_count is at least one",
          "[net][threads]") {
    SessionRegistry registry;
    {
        WorkerLoops workers(3, registry);
        CHECK(workers.size() == 3);
    }
    CHECK(proxy::net::default_thread_count() >= 1);
    CHECK(proxy::net::default_thread_count() <= WorkerLoops::kMaxThreads);
}
