#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include <tds/error.h>

namespace tds {

struct SqlBatch {
    std::string text; // UTF-8
    std::optional<std::uint64_t> transaction_descriptor;
    std::optional<std::uint32_t> outstanding_requests;
};

// decode_sql_batch reads a SQL batch payload. TDS 7.2+ clients put ALL_HEADERS first
// (MS-TDS 2.2.5.3): TotalLength(4) then headers of HeaderLength(4) HeaderType(2) data; the
// text (UTF-16LE) follows. Errors: BadAllHeaders when the header lengths do not add up.
std::expected<SqlBatch, Error> decode_sql_batch(std::span<const std::uint8_t> payload,
                                                bool has_all_headers = true);

} // namespace tds
