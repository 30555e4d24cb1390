#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace proxy::app {

// The admin API's reading of what a client sends, kept apart from the HTTP server so that it
// can be tested and fuzzed without sockets (fuzz/admin_request.cc).

// parse_json_body: a request body as JSON; nullopt when it is not valid JSON. Never throws.
std::optional<nlohmann::json> parse_json_body(std::string_view body);

// parse_id: a decimal id from a path or a query parameter; 0 (never an id) when the text is
// not a whole decimal number that fits 64 bits.
std::uint64_t parse_id(std::string_view text);

} // namespace proxy::app
