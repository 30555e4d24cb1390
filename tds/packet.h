#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>
#include <vector>

#include <tds/error.h>

namespace tds {

// MS-TDS 2.2.3.1.1. Values are the spec's; 0x04 carries every server response, the PRELOGIN
// response included.
enum class PacketType : std::uint8_t {
    SqlBatch = 0x01,
    PreTds7Login = 0x02,
    Rpc = 0x03,
    TabularResult = 0x04,
    Attention = 0x06,
    BulkLoad = 0x07,
    FedAuthToken = 0x08,
    TransactionManager = 0x0E,
    Login7 = 0x10,
    Sspi = 0x11,
    PreLogin = 0x12,
};

std::string_view to_string(PacketType t);

// MS-TDS 2.2.3.1.2 status bits.
namespace status {
inline constexpr std::uint8_t kNormal = 0x00;
inline constexpr std::uint8_t kEndOfMessage = 0x01;
inline constexpr std::uint8_t kIgnore = 0x02;
inline constexpr std::uint8_t kResetConnection = 0x08;
inline constexpr std::uint8_t kResetConnectionSkipTran = 0x10;
} // namespace status

inline constexpr std::size_t kHeaderLen = 8;
// MS-TDS 2.2.3.1.3: a packet is at most 32767 bytes; the size before negotiation is 4096.
inline constexpr std::size_t kMaxPacketLen = 32767;
inline constexpr std::size_t kMinNegotiatedPacketLen = 512;
inline constexpr std::size_t kDefaultPacketLen = 4096;

struct PacketHeader {
    std::uint8_t type = 0; // raw: a proxy must carry types it does not know
    std::uint8_t status = 0;
    std::uint16_t length = 0; // whole packet, header included (big-endian on the wire)
    std::uint16_t spid = 0;   // big-endian on the wire
    std::uint8_t packet_id = 0;
    std::uint8_t window = 0;

    bool end_of_message() const { return (status & status::kEndOfMessage) != 0; }
    std::array<std::uint8_t, kHeaderLen> serialize() const;
};

// parse_header reads the 8-byte header at the start of `bytes`. Errors: Truncated when fewer
// than 8 bytes, BadPacketLength when the length field is below 8 or above 32767.
std::expected<PacketHeader, Error> parse_header(std::span<const std::uint8_t> bytes);

// Packet is one whole TDS packet: its parsed header and its exact bytes (header included), so
// a relay can forward it unchanged.
struct Packet {
    PacketHeader header;
    std::vector<std::uint8_t> bytes;

    std::span<const std::uint8_t> payload() const {
        return std::span<const std::uint8_t>(bytes).subspan(kHeaderLen);
    }
};

// make_packet builds a packet from a header (its length field is recomputed) and a payload.
Packet make_packet(PacketHeader header, std::span<const std::uint8_t> payload);

} // namespace tds
