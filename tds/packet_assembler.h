#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <vector>

#include <tds/packet.h>

namespace tds {

// PacketAssembler turns a byte stream, split anywhere, into whole TDS packets.
//
// feed() appends bytes; next() returns the next whole packet, nullopt when more bytes are
// needed, or an error for a header that cannot be a TDS packet (length below 8 or above the
// limit). After an error the stream is unusable: the caller closes the connection.
class PacketAssembler {
  public:
    // max_packet_len: the largest packet accepted (the negotiated size, at most 32767).
    explicit PacketAssembler(std::size_t max_packet_len = kMaxPacketLen)
        : max_packet_len_(max_packet_len) {}

    void feed(std::span<const std::uint8_t> bytes);
    std::expected<std::optional<Packet>, Error> next();

    // The bytes fed but not yet returned as packets (for a leg that switches framing).
    std::vector<std::uint8_t> take_buffered();
    std::size_t buffered() const { return buf_.size() - start_; }
    void set_max_packet_len(std::size_t len) { max_packet_len_ = len; }

  private:
    std::vector<std::uint8_t> buf_;
    std::size_t start_ = 0;
    std::size_t max_packet_len_;
};

} // namespace tds
