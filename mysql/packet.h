#pragma once

// MySQL packet framing (MySQL docs "MySQL Packets"): a 3-byte little-endian payload length, a
// 1-byte sequence id, then the payload. A payload of 0xFFFFFF bytes or more is split into
// 0xFFFFFF-byte chunks followed by a shorter one (possibly empty), each with the next sequence
// id. The sequence id starts at 0 with each command (and with the server's greeting) and counts
// up on both sides of one exchange; the client's SSLRequest and the handshake response that
// follows it inside TLS carry 1 and 2.
//
// Standard library only. PacketReader is bounds-checked and never buffers more than its limit.

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <vector>

#include <mysql/constants.h>
#include <mysql/wire.h>

namespace mysql {

struct Packet {
    std::uint8_t sequence = 0;      // of the first chunk
    std::uint8_t last_sequence = 0; // of the last chunk (equal unless the payload was split)
    std::vector<std::uint8_t> payload;
};

// frame: the wire bytes of one logical packet starting at `sequence` (split as above). Returns
// the bytes; `next_sequence` (if given) receives the id the following packet must carry.
std::vector<std::uint8_t> frame(std::uint8_t sequence, std::span<const std::uint8_t> payload,
                                std::uint8_t* next_sequence = nullptr);
void append_frame(std::vector<std::uint8_t>& out, std::uint8_t sequence,
                  std::span<const std::uint8_t> payload, std::uint8_t* next_sequence = nullptr);

// PacketReader frames logical packets out of a byte stream. feed() buffers; next() returns a
// whole packet (chunks joined), nullopt when more bytes are needed, or an error after which the
// stream is unusable: TooLong when the joined payload would exceed the limit (judged as soon as
// a chunk header is there), BadValue when a continuation chunk's sequence id is not the next
// one. An error repeats.
class PacketReader {
  public:
    explicit PacketReader(std::size_t max_payload = kDefaultMaxPacket)
        : max_payload_(max_payload) {}
    void feed(std::span<const std::uint8_t> bytes);
    std::expected<std::optional<Packet>, Error> next();
    std::size_t buffered() const { return buffer_.size() - start_; }
    // take_buffered hands back the bytes not yet framed (e.g. when TLS starts after an
    // SSLRequest: what follows it is a ClientHello, not a packet).
    std::vector<std::uint8_t> take_buffered();

  private:
    std::size_t max_payload_;
    std::vector<std::uint8_t> buffer_;
    std::size_t start_ = 0;
    std::optional<Error> error_;
};

} // namespace mysql
