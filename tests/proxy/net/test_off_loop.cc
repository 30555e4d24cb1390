#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include <proxy/net/off_loop.h>

TEST_CASE("run_off_loop: work on a worker thread, done on the loop thread, the loop free meanwhile",
          "[net][off_loop]") {
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    auto loop_thread = std::this_thread::get_id();
    std::thread::id work_thread;
    std::thread::id done_thread;
    int done_calls = 0;
    std::atomic<bool> release{false};
    // The work waits until a timer on the loop releases it: that can only happen if the loop
    // keeps running while the work is in progress.
    proxy::net::run_off_loop(
        &loop,
        [&] {
            work_thread = std::this_thread::get_id();
            auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            while (!release && std::chrono::steady_clock::now() < give_up) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        },
        [&] {
            done_thread = std::this_thread::get_id();
            ++done_calls;
        });
    uv_timer_t timer{};
    uv_timer_init(&loop, &timer);
    timer.data = &release;
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<std::atomic<bool>*>(t->data)->store(true); }, 20,
        0);
    auto t0 = std::chrono::steady_clock::now();
    uv_run(&loop, UV_RUN_DEFAULT); // returns once the timer fired and the job is done
    auto took = std::chrono::steady_clock::now() - t0;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    REQUIRE(uv_loop_close(&loop) == 0);
    CHECK(done_calls == 1);
    CHECK(work_thread != loop_thread);
    CHECK(done_thread == loop_thread);
    CHECK(took < std::chrono::seconds(2)); // released by the timer, not by giving up
}
