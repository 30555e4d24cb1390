#include <catch2/catch.hpp>

#include <proxy/core/session/idle_guard.h>

namespace {

// Echo: sends back what it gets; closes on "bye".
class Echo final : public proxy::Machine {
  public:
    proxy::Actions handle(const proxy::Event& event) override {
        proxy::Actions out;
        if (const auto* b = std::get_if<proxy::event::BytesReceived>(&event)) {
            std::vector<std::uint8_t> bytes(b->bytes.begin(), b->bytes.end());
            if (std::string(bytes.begin(), bytes.end()) == "bye") {
                out.emplace_back(proxy::action::Close{"bye", true, false});
                return out;
            }
            out.emplace_back(proxy::action::Send{proxy::Side::Client, std::move(bytes)});
        } else if (const auto* t = std::get_if<proxy::event::TimerFired>(&event)) {
            timers.push_back(t->timer);
        }
        return out;
    }
    std::vector<int> timers;
};

std::vector<std::uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

} // namespace

TEST_CASE("IdleGuard: every client byte restarts the timer; when it fires, one log line and a "
          "close",
          "[core][limits][idle]") {
    auto inner = std::make_unique<Echo>();
    Echo* echo = inner.get();
    auto guard = proxy::guard_idle(std::move(inner), 5000);
    auto started = guard->handle(proxy::event::Started{});
    REQUIRE(started.size() == 1);
    CHECK(std::get<proxy::action::StartTimer>(started[0]).timer == proxy::IdleGuard::kIdleTimer);
    CHECK(std::get<proxy::action::StartTimer>(started[0]).ms == 5000);

    auto hi = bytes_of("hi");
    auto echoed = guard->handle(proxy::event::BytesReceived{proxy::Side::Client, hi});
    REQUIRE(echoed.size() == 2);
    CHECK(std::get<proxy::action::Send>(echoed[0]).bytes == hi);
    CHECK(std::get<proxy::action::StartTimer>(echoed[1]).ms == 5000);

    // The inner machine's own timers pass through; the guard's is not shown to it.
    CHECK(guard->handle(proxy::event::TimerFired{1}).empty());
    CHECK(echo->timers == std::vector<int>{1});

    auto fired = guard->handle(proxy::event::TimerFired{proxy::IdleGuard::kIdleTimer});
    REQUIRE(fired.size() == 2);
    CHECK(std::get<proxy::action::Log>(fired[0]).level == proxy::LogLevel::Info);
    CHECK(std::get<proxy::action::Log>(fired[0]).text == "idle for 5 s");
    CHECK(std::get<proxy::action::Close>(fired[1]).reason == "idle for 5 s");
    CHECK(echo->timers == std::vector<int>{1});
    // Closed: nothing more.
    CHECK(guard->handle(proxy::event::BytesReceived{proxy::Side::Client, hi}).empty());
}

TEST_CASE("IdleGuard: no timer restarted once the inner machine closed; 0 means no guard",
          "[core][limits][idle]") {
    auto guard = proxy::guard_idle(std::make_unique<Echo>(), 1000);
    guard->handle(proxy::event::Started{});
    auto bye = bytes_of("bye");
    auto closed = guard->handle(proxy::event::BytesReceived{proxy::Side::Client, bye});
    REQUIRE(closed.size() == 1);
    CHECK(std::holds_alternative<proxy::action::Close>(closed[0]));

    auto plain = proxy::guard_idle(std::make_unique<Echo>(), 0);
    CHECK(dynamic_cast<proxy::IdleGuard*>(plain.get()) == nullptr);
    CHECK(plain->handle(proxy::event::Started{}).empty());
}
