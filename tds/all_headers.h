#pragma once

#include <cstdint>
#include <expected>
#include <optional>

#include <tds/byte_reader.h>
#include <tds/byte_writer.h>
#include <tds/error.h>

namespace tds {

// ALL_HEADERS (MS-TDS 2.2.5.3) open every SQL batch, RPC and Transaction Manager request from a
// TDS 7.2+ client: TotalLength(4), then headers of HeaderLength(4) HeaderType(2) data.
struct AllHeaders {
    // Header type 2: the transaction the request runs in (0 outside one) and the number of
    // requests the client has outstanding on the connection.
    std::optional<std::uint64_t> transaction_descriptor;
    std::optional<std::uint32_t> outstanding_requests;
};

// read_all_headers reads ALL_HEADERS at the reader's position and leaves it just after them.
// Errors: BadAllHeaders when the lengths do not add up.
std::expected<AllHeaders, Error> read_all_headers(ByteReader& r);

// The header a client writes: TotalLength 22 with one transaction descriptor header.
void write_all_headers(ByteWriter& w, std::uint64_t transaction_descriptor,
                       std::uint32_t outstanding_requests = 1);

} // namespace tds
