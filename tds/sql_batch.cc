#include <tds/byte_reader.h>
#include <tds/sql_batch.h>
#include <tds/utf16.h>

namespace tds {

namespace {
constexpr std::uint16_t kTransactionDescriptorHeader = 0x0002;
constexpr std::size_t kHeaderFixedLen = 6; // HeaderLength(4) + HeaderType(2)
} // namespace

std::expected<SqlBatch, Error> decode_sql_batch(std::span<const std::uint8_t> payload,
                                                bool has_all_headers) {
    SqlBatch batch;
    std::size_t text_at = 0;
    if (has_all_headers) {
        ByteReader r(payload);
        auto total = r.u32le();
        if (!total || *total < 4 || *total > payload.size()) {
            return std::unexpected(Error::BadAllHeaders);
        }
        ByteReader headers(payload.subspan(4, *total - 4));
        while (!headers.empty()) {
            auto len = headers.u32le();
            auto type = headers.u16le();
            if (!len || !type || *len < kHeaderFixedLen ||
                *len - kHeaderFixedLen > headers.remaining()) {
                return std::unexpected(Error::BadAllHeaders);
            }
            auto data = headers.bytes(*len - kHeaderFixedLen);
            if (*type == kTransactionDescriptorHeader && data->size() >= 12) {
                ByteReader d(*data);
                batch.transaction_descriptor = d.u64le();
                batch.outstanding_requests = d.u32le();
            }
        }
        text_at = *total;
    }
    batch.text = utf16le_to_utf8(payload.subspan(text_at));
    return batch;
}

} // namespace tds
