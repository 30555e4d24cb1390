#include <tds/all_headers.h>
#include <tds/byte_writer.h>

namespace tds {

namespace {
constexpr std::uint16_t kTransactionDescriptorHeader = 0x0002;
constexpr std::size_t kHeaderFixedLen = 6;            // HeaderLength(4) + HeaderType(2)
constexpr std::size_t kTransactionDescriptorLen = 12; // descriptor(8) + outstanding(4)
} // namespace

std::expected<AllHeaders, Error> read_all_headers(ByteReader& r) {
    AllHeaders out;
    auto total = r.u32le();
    if (!total || *total < 4 || *total - 4 > r.remaining()) {
        return std::unexpected(Error::BadAllHeaders);
    }
    ByteReader headers(*r.bytes(*total - 4));
    while (!headers.empty()) {
        auto len = headers.u32le();
        auto type = headers.u16le();
        if (!len || !type || *len < kHeaderFixedLen ||
            *len - kHeaderFixedLen > headers.remaining()) {
            return std::unexpected(Error::BadAllHeaders);
        }
        auto data = headers.bytes(*len - kHeaderFixedLen);
        // A transaction descriptor header too short to hold one is skipped, not read.
        if (*type == kTransactionDescriptorHeader && data->size() >= kTransactionDescriptorLen) {
            ByteReader d(*data);
            out.transaction_descriptor = d.u64le();
            out.outstanding_requests = d.u32le();
        }
    }
    return out;
}

void write_all_headers(ByteWriter& w, std::uint64_t transaction_descriptor,
                       std::uint32_t outstanding_requests) {
    w.u32le(4 + kHeaderFixedLen + kTransactionDescriptorLen);
    w.u32le(kHeaderFixedLen + kTransactionDescriptorLen);
    w.u16le(kTransactionDescriptorHeader);
    w.u64le(transaction_descriptor);
    w.u32le(outstanding_requests);
}

} // namespace tds
