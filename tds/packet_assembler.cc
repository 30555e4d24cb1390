#include <tds/packet_assembler.h>

namespace tds {

void PacketAssembler::feed(std::span<const std::uint8_t> bytes) {
    // Compact lazily so that feeding byte by byte stays linear.
    if (start_ > 0 && start_ >= buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

std::expected<std::optional<Packet>, Error> PacketAssembler::next() {
    auto avail = std::span<const std::uint8_t>(buf_).subspan(start_);
    if (avail.empty()) {
        // Drained: give the buffer back (a proxy holds thousands of idle assemblers).
        std::vector<std::uint8_t>().swap(buf_);
        start_ = 0;
        return std::optional<Packet>{};
    }
    if (avail.size() < kHeaderLen) {
        return std::optional<Packet>{};
    }
    auto header = parse_header(avail);
    if (!header) {
        return std::unexpected(header.error());
    }
    if (header->length > max_packet_len_) {
        return std::unexpected(Error::PacketTooLarge);
    }
    if (avail.size() < header->length) {
        return std::optional<Packet>{};
    }
    Packet p;
    p.header = *header;
    p.bytes.assign(avail.begin(), avail.begin() + header->length);
    start_ += header->length;
    return std::optional<Packet>{std::move(p)};
}

std::vector<std::uint8_t> PacketAssembler::take_buffered() {
    std::vector<std::uint8_t> out(buf_.begin() + static_cast<std::ptrdiff_t>(start_), buf_.end());
    buf_.clear();
    start_ = 0;
    return out;
}

} // namespace tds
