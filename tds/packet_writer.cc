#include <algorithm>

#include <tds/packet_writer.h>

namespace tds {

std::vector<Packet> split_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                                  std::size_t packet_len, std::uint16_t spid,
                                  std::uint8_t first_packet_id) {
    packet_len = std::clamp(packet_len, kHeaderLen + 1, kMaxPacketLen);
    const std::size_t chunk = packet_len - kHeaderLen;
    std::vector<Packet> out;
    std::size_t pos = 0;
    std::uint8_t id = first_packet_id;
    do {
        std::size_t n = std::min(chunk, payload.size() - pos);
        PacketHeader h;
        h.type = type;
        h.spid = spid;
        h.packet_id = id++;
        h.status = (pos + n == payload.size()) ? status::kEndOfMessage : status::kNormal;
        out.push_back(make_packet(h, payload.subspan(pos, n)));
        pos += n;
    } while (pos < payload.size());
    return out;
}

std::vector<std::uint8_t> write_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                                        std::size_t packet_len, std::uint16_t spid,
                                        std::uint8_t first_packet_id) {
    std::vector<std::uint8_t> bytes;
    for (auto& p : split_message(type, payload, packet_len, spid, first_packet_id)) {
        bytes.insert(bytes.end(), p.bytes.begin(), p.bytes.end());
    }
    return bytes;
}

} // namespace tds
