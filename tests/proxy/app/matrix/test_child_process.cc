// run_command: output and exit status captured, and a driver that hangs (with helpers of its
// own) stopped at its limit, group and all.

#include <filesystem>
#include <fstream>
#include <signal.h>

#include <catch2/catch.hpp>

#include <proxy/app/matrix/child_process.h>

using namespace proxy::app::matrix;
using namespace std::chrono_literals;

TEST_CASE("run_command captures both streams and the exit status", "[matrix]") {
    auto r = run_command("echo out; echo err >&2; exit 3", 10s);
    CHECK_FALSE(r.spawn_error);
    CHECK(r.out == "out\n");
    CHECK(r.err == "err\n");
    CHECK(r.exit_status == 3);
    CHECK_FALSE(r.timed_out);
    // standard input is empty, not the caller's
    CHECK(run_command("cat", 10s).out.empty());
}

TEST_CASE("run_command stops a hanging command and its children at the limit", "[matrix]") {
    auto pidfile =
        std::filesystem::temp_directory_path() / ("tlslab-child-" + std::to_string(::getpid()));
    // A helper in the background that would outlive the shell, and a shell that sleeps.
    auto r = run_command("sleep 30 & echo $! > " + pidfile.string() + "; sleep 30", 500ms);
    CHECK(r.timed_out);
    CHECK_FALSE(r.exit_status);
    CHECK(r.elapsed < 5s);
    std::ifstream in(pidfile);
    int helper = 0;
    in >> helper;
    REQUIRE(helper > 0);
    // The helper is gone (a zombie reaped by init at the latest shortly after).
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
        gone = ::kill(helper, 0) != 0;
        if (!gone) {
            std::ifstream stat("/proc/" + std::to_string(helper) + "/stat");
            std::string pid_s;
            std::string comm;
            char state = '?';
            stat >> pid_s >> comm >> state;
            gone = state == 'Z' || !stat;
        }
        if (!gone) {
            ::usleep(100'000);
        }
    }
    CHECK(gone);
    std::filesystem::remove(pidfile);
}

TEST_CASE("run_command bounds what it keeps of a flood", "[matrix]") {
    auto r = run_command("head -c 8000000 /dev/zero", 20s);
    CHECK(r.exit_status == 0);
    CHECK(r.out.size() == kMaxCapture);
}
