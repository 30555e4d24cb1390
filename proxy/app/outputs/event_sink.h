#pragma once

#include <cstdio>
#include <expected>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace proxy::app {

// EventSink writes one JSON object per line to a file (appending) or to stdout ("-"), flushed
// per line so a running lab can be followed with `tail -f` or read by a test at any moment.
class EventSink {
  public:
    static std::expected<std::unique_ptr<EventSink>, std::string> open(const std::string& target);
    ~EventSink();
    EventSink(const EventSink&) = delete;
    EventSink& operator=(const EventSink&) = delete;

    void write(const nlohmann::json& event);

  private:
    explicit EventSink(std::FILE* f, bool owned) : file_(f), owned_(owned) {}
    std::FILE* file_;
    bool owned_;
};

} // namespace proxy::app
