#include <tds/all_headers.h>
#include <tds/byte_reader.h>
#include <tds/sql_batch.h>
#include <tds/utf16.h>

namespace tds {

std::expected<SqlBatch, Error> decode_sql_batch(std::span<const std::uint8_t> payload,
                                                bool has_all_headers) {
    SqlBatch batch;
    ByteReader r(payload);
    if (has_all_headers) {
        auto headers = read_all_headers(r);
        if (!headers) {
            return std::unexpected(headers.error());
        }
        batch.transaction_descriptor = headers->transaction_descriptor;
        batch.outstanding_requests = headers->outstanding_requests;
    }
    batch.text = utf16le_to_utf8(r.rest());
    return batch;
}

} // namespace tds
