#include <algorithm>

#include <mysql/packet.h>

namespace mysql {

namespace {

constexpr std::size_t kHeaderSize = 4;

} // namespace

void append_frame(std::vector<std::uint8_t>& out, std::uint8_t sequence,
                  std::span<const std::uint8_t> payload, std::uint8_t* next_sequence) {
    std::size_t offset = 0;
    std::size_t chunk = 0;
    // A chunk of exactly 0xFFFFFF bytes says "more follows", so a payload that is a multiple of
    // it (or empty) ends with a shorter, possibly empty, chunk.
    do {
        chunk = std::min(payload.size() - offset, kMaxPayloadChunk);
        out.push_back(static_cast<std::uint8_t>(chunk));
        out.push_back(static_cast<std::uint8_t>(chunk >> 8));
        out.push_back(static_cast<std::uint8_t>(chunk >> 16));
        out.push_back(sequence++);
        out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(offset),
                   payload.begin() + static_cast<std::ptrdiff_t>(offset + chunk));
        offset += chunk;
    } while (chunk == kMaxPayloadChunk);
    if (next_sequence != nullptr) {
        *next_sequence = sequence;
    }
}

std::vector<std::uint8_t> frame(std::uint8_t sequence, std::span<const std::uint8_t> payload,
                                std::uint8_t* next_sequence) {
    std::vector<std::uint8_t> out;
    out.reserve(payload.size() + kHeaderSize * (1 + payload.size() / kMaxPayloadChunk));
    append_frame(out, sequence, payload, next_sequence);
    return out;
}

void PacketReader::feed(std::span<const std::uint8_t> bytes) {
    if (error_) {
        return;
    }
    // Drop what was framed before growing the buffer again.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::expected<std::optional<Packet>, Error> PacketReader::next() {
    if (error_) {
        return std::unexpected(*error_);
    }
    // Walk the chunk headers first; copy only once the whole logical packet is there.
    std::size_t at = start_;
    std::size_t total = 0;
    std::uint8_t first_sequence = 0;
    std::uint8_t sequence = 0;
    bool first = true;
    for (;;) {
        if (buffer_.size() - at < kHeaderSize) {
            return std::optional<Packet>{};
        }
        const std::size_t length = static_cast<std::size_t>(buffer_[at]) |
                                   static_cast<std::size_t>(buffer_[at + 1]) << 8 |
                                   static_cast<std::size_t>(buffer_[at + 2]) << 16;
        const std::uint8_t chunk_sequence = buffer_[at + 3];
        if (first) {
            first_sequence = chunk_sequence;
        } else if (chunk_sequence != static_cast<std::uint8_t>(sequence + 1)) {
            error_ = Error::BadValue;
            return std::unexpected(*error_);
        }
        sequence = chunk_sequence;
        first = false;
        if (length > max_payload_ - std::min(total, max_payload_) || total > max_payload_) {
            error_ = Error::TooLong;
            return std::unexpected(*error_);
        }
        if (buffer_.size() - at - kHeaderSize < length) {
            return std::optional<Packet>{};
        }
        total += length;
        at += kHeaderSize + length;
        if (length < kMaxPayloadChunk) {
            break;
        }
    }
    Packet packet;
    packet.sequence = first_sequence;
    packet.last_sequence = sequence;
    packet.payload.reserve(total);
    std::size_t pos = start_;
    while (pos < at) {
        const std::size_t length = static_cast<std::size_t>(buffer_[pos]) |
                                   static_cast<std::size_t>(buffer_[pos + 1]) << 8 |
                                   static_cast<std::size_t>(buffer_[pos + 2]) << 16;
        const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(pos + kHeaderSize);
        packet.payload.insert(packet.payload.end(), begin,
                              begin + static_cast<std::ptrdiff_t>(length));
        pos += kHeaderSize + length;
    }
    start_ = at;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return std::optional<Packet>{std::move(packet)};
}

std::vector<std::uint8_t> PacketReader::take_buffered() {
    std::vector<std::uint8_t> out(buffer_.begin() + static_cast<std::ptrdiff_t>(start_),
                                  buffer_.end());
    buffer_.clear();
    start_ = 0;
    return out;
}

} // namespace mysql
