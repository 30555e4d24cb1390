#include <cerrno>
#include <cstring>

#include <proxy/app/outputs/event_sink.h>

namespace proxy::app {

std::expected<std::unique_ptr<EventSink>, std::string> EventSink::open(const std::string& target) {
    if (target == "-") {
        return std::unique_ptr<EventSink>(new EventSink(stdout, false));
    }
    std::FILE* f = std::fopen(target.c_str(), "a");
    if (f == nullptr) {
        return std::unexpected(target + ": " + std::strerror(errno));
    }
    return std::unique_ptr<EventSink>(new EventSink(f, true));
}

EventSink::~EventSink() {
    if (owned_) {
        std::fclose(file_);
    } else {
        std::fflush(file_);
    }
}

void EventSink::write(const nlohmann::json& event) {
    // dump with replacement: a name from the wire that is not UTF-8 must not throw here.
    std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
}

} // namespace proxy::app
