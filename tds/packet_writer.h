#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <tds/packet.h>

namespace tds {

// split_message cuts one message into packets of at most `packet_len` bytes (header included),
// numbering them from `first_packet_id` (mod 256) and setting EOM on the last. An empty payload
// still gives one packet (Attention is a bare header).
std::vector<Packet> split_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                                  std::size_t packet_len, std::uint16_t spid,
                                  std::uint8_t first_packet_id = 1);

// write_message is split_message with the packets' bytes concatenated.
std::vector<std::uint8_t> write_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                                        std::size_t packet_len, std::uint16_t spid,
                                        std::uint8_t first_packet_id = 1);

} // namespace tds
