#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <vector>

#include <tds/packet.h>

namespace tds {

// Message is the concatenated payload of the packets of one TDS message (MS-TDS 2.2.3: a
// message is one or more packets, the last with EOM).
struct Message {
    std::uint8_t type = 0;
    std::uint8_t first_status = 0; // status of the first packet (RESETCONNECTION lives there)
    std::vector<std::uint8_t> payload;
    std::size_t packet_count = 0;
    bool ignored = false; // the client set the Ignore bit: the server must discard it
};

// MessageAssembler groups packets into messages. An Attention packet may arrive while a message
// is incomplete: it is returned at once and the partial message is dropped (the client
// abandoned it). Any other change of type mid-message is an error.
class MessageAssembler {
  public:
    explicit MessageAssembler(std::size_t max_message_len) : max_message_len_(max_message_len) {}

    // add returns the finished message when `packet` ends one, nullopt when more packets are
    // needed, or MessageTooLarge / UnexpectedType.
    std::expected<std::optional<Message>, Error> add(const Packet& packet);
    bool in_progress() const { return in_progress_; }

  private:
    std::size_t max_message_len_;
    Message current_;
    bool in_progress_ = false;
};

} // namespace tds
