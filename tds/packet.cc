#include <algorithm>

#include <tds/byte_reader.h>
#include <tds/packet.h>

namespace tds {

std::string_view to_string(PacketType t) {
    switch (t) {
    case PacketType::SqlBatch:
        return "SQL batch";
    case PacketType::PreTds7Login:
        return "pre-TDS7 login";
    case PacketType::Rpc:
        return "RPC";
    case PacketType::TabularResult:
        return "tabular result";
    case PacketType::Attention:
        return "attention";
    case PacketType::BulkLoad:
        return "bulk load";
    case PacketType::FedAuthToken:
        return "federated authentication token";
    case PacketType::TransactionManager:
        return "transaction manager request";
    case PacketType::Login7:
        return "LOGIN7";
    case PacketType::Sspi:
        return "SSPI";
    case PacketType::PreLogin:
        return "PRELOGIN";
    }
    return "unknown";
}

std::array<std::uint8_t, kHeaderLen> PacketHeader::serialize() const {
    return {type,
            status,
            static_cast<std::uint8_t>(length >> 8),
            static_cast<std::uint8_t>(length & 0xFF),
            static_cast<std::uint8_t>(spid >> 8),
            static_cast<std::uint8_t>(spid & 0xFF),
            packet_id,
            window};
}

std::expected<PacketHeader, Error> parse_header(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    PacketHeader h;
    auto type = r.u8();
    auto st = r.u8();
    auto len = r.u16be();
    auto spid = r.u16be();
    auto id = r.u8();
    auto window = r.u8();
    if (!type || !st || !len || !spid || !id || !window) {
        return std::unexpected(Error::Truncated);
    }
    if (*len < kHeaderLen || *len > kMaxPacketLen) {
        return std::unexpected(Error::BadPacketLength);
    }
    h.type = *type;
    h.status = *st;
    h.length = *len;
    h.spid = *spid;
    h.packet_id = *id;
    h.window = *window;
    return h;
}

Packet make_packet(PacketHeader header, std::span<const std::uint8_t> payload) {
    header.length = static_cast<std::uint16_t>(kHeaderLen + payload.size());
    Packet p;
    p.header = header;
    auto head = header.serialize();
    // Sized once, then copied: GCC 12 at -O2 misreads reserve()+insert() here as an overflow.
    p.bytes.resize(header.length);
    std::copy(head.begin(), head.end(), p.bytes.begin());
    std::copy(payload.begin(), payload.end(),
              p.bytes.begin() + static_cast<std::ptrdiff_t>(kHeaderLen));
    return p;
}

} // namespace tds
