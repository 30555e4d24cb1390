#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tds {

// TDS strings are UTF-16LE. utf16le_to_utf8 decodes surrogate pairs; an odd trailing byte or an
// unpaired surrogate becomes U+FFFD rather than an error, so a log line always has something
// readable to show.
std::string utf16le_to_utf8(std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> utf8_to_utf16le(std::string_view text);

} // namespace tds
