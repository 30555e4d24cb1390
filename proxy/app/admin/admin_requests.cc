#include <charconv>

#include <proxy/app/admin/admin_requests.h>

namespace proxy::app {

std::optional<nlohmann::json> parse_json_body(std::string_view body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        return std::nullopt;
    }
    return j;
}

std::uint64_t parse_id(std::string_view text) {
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    return ec == std::errc{} && end == text.data() + text.size() ? id : 0;
}

} // namespace proxy::app
