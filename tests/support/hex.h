#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace support {

// from_hex reads hex digits, ignoring white space and ':' between them ("12 01 00 2F").
// A malformed string is a bug in the test: it throws.
std::vector<std::uint8_t> from_hex(std::string_view text);
std::string to_hex(std::span<const std::uint8_t> bytes);

} // namespace support
