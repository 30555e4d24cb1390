// ChildProcess / run_child: what a child wrote and how it ended, the time limit (SIGTERM, then
// SIGKILL), its process group going with it, and a ChildProcess destroyed while its child runs.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <proxy/net/child_process.h>

using namespace proxy::net;
using namespace std::chrono_literals;

namespace {

ChildOptions shell(const std::string& script) {
    ChildOptions o;
    o.argv = {"/bin/sh", "-c", script};
    return o;
}

// gone: the process no longer exists, or is a zombie (reaped by init shortly).
bool gone(int pid) {
    for (int i = 0; i < 50; ++i) {
        if (::kill(pid, 0) != 0) {
            return true;
        }
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string pid_s;
        std::string comm;
        char state = '?';
        stat >> pid_s >> comm >> state;
        if (!stat || state == 'Z') {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

int read_pid(const std::filesystem::path& file) {
    std::ifstream in(file);
    int pid = 0;
    in >> pid;
    return pid;
}

std::filesystem::path temp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("tlslab-" + name + "-" + std::to_string(::getpid()));
}

} // namespace

TEST_CASE("run_child keeps standard output, and standard error when asked", "[net][child]") {
    auto o = shell("echo out; echo err >&2; exit 3");
    o.capture_stderr = true;
    auto r = run_child(o);
    REQUIRE(r);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");
    CHECK(r->exit_status == 3);
    CHECK(r->term_signal == 0);
    CHECK_FALSE(r->timed_out);

    auto passed_through = run_child(shell("echo err >&2; echo out"));
    REQUIRE(passed_through);
    CHECK(passed_through->out == "out\n");
    CHECK(passed_through->err.empty());
    CHECK(passed_through->exit_status == 0);
}

TEST_CASE("run_child says when the child was ended by a signal", "[net][child]") {
    auto r = run_child(shell("kill -USR1 $$; sleep 5"));
    REQUIRE(r);
    CHECK_FALSE(r->exit_status);
    CHECK(r->term_signal == SIGUSR1);
    CHECK_FALSE(r->timed_out);
}

TEST_CASE("a child that ignores SIGTERM is killed after the grace", "[net][child]") {
    auto o = shell("trap '' TERM; exec sleep 30");
    o.time_limit = 200ms;
    o.kill_grace = 300ms;
    auto r = run_child(o);
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK_FALSE(r->exit_status);
    CHECK(r->term_signal == SIGKILL);
    CHECK(r->elapsed >= 500ms);
    CHECK(r->elapsed < 5s);
}

TEST_CASE("a group leader's exit takes what it left in its group", "[net][child]") {
    auto pidfile = temp_file("group");
    // The helper keeps standard output open: without the group kill the run would last 30 s.
    auto o = shell("sleep 30 & echo $! > " + pidfile.string() + "; echo led");
    o.own_process_group = true;
    auto r = run_child(o);
    REQUIRE(r);
    CHECK(r->out == "led\n");
    CHECK(r->exit_status == 0);
    CHECK_FALSE(r->timed_out);
    CHECK(r->elapsed < 5s);
    int helper = read_pid(pidfile);
    REQUIRE(helper > 0);
    CHECK(gone(helper));
    std::filesystem::remove(pidfile);
}

TEST_CASE("run_child bounds what it keeps and reads the rest", "[net][child]") {
    auto o = shell("head -c 100000 /dev/zero; echo tail >&2");
    o.capture_stderr = true;
    o.max_capture = 1000;
    auto r = run_child(o);
    REQUIRE(r);
    CHECK(r->exit_status == 0);
    CHECK(r->out.size() == 1000);
    CHECK(r->err == "tail\n");
}

TEST_CASE("run_child on several threads at once, each on its own loop", "[net][child]") {
    constexpr int kThreads = 4;
    std::vector<std::optional<ChildResult>> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t, &results] {
            auto o = shell("sleep 0.2; echo " + std::to_string(t) + "; exit " + std::to_string(t));
            o.own_process_group = true;
            o.time_limit = 10s;
            if (auto r = run_child(o)) {
                results[static_cast<std::size_t>(t)] = *r;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (int t = 0; t < kThreads; ++t) {
        const auto& r = results[static_cast<std::size_t>(t)];
        REQUIRE(r);
        CHECK(r->out == std::to_string(t) + "\n");
        CHECK(r->exit_status == t);
        CHECK_FALSE(r->timed_out);
    }
}

TEST_CASE("a program that cannot be started is an error, not a result", "[net][child]") {
    ChildOptions o;
    o.argv = {"/nonexistent/tlslab-no-such-program"};
    auto r = run_child(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("/nonexistent/tlslab-no-such-program") != std::string::npos);
    CHECK_FALSE(run_child(ChildOptions{}));
}

TEST_CASE("destroying a ChildProcess while its child runs kills it; the loop closes",
          "[net][child]") {
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    auto pidfile = temp_file("destroy");
    bool done = false;
    auto child = std::make_unique<ChildProcess>(
        &loop, shell("echo $$ > " + pidfile.string() + "; exec sleep 30"),
        [&done](const ChildResult&) { done = true; });
    REQUIRE(child->start());
    int pid = 0;
    for (int i = 0; i < 100 && pid == 0; ++i) {
        uv_run(&loop, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(20ms);
        pid = read_pid(pidfile);
    }
    REQUIRE(pid > 0);
    child.reset();
    auto before = std::chrono::steady_clock::now();
    uv_run(&loop, UV_RUN_DEFAULT); // the handles close once the killed child is reaped
    CHECK(std::chrono::steady_clock::now() - before < 5s);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK_FALSE(done);
    CHECK(gone(pid));
    std::filesystem::remove(pidfile);
}
