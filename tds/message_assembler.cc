#include <tds/message_assembler.h>

namespace tds {

std::expected<std::optional<Message>, Error> MessageAssembler::add(const Packet& packet) {
    const auto& h = packet.header;
    if (h.type == static_cast<std::uint8_t>(PacketType::Attention)) {
        in_progress_ = false;
        current_ = Message{};
        Message m;
        m.type = h.type;
        m.first_status = h.status;
        auto pl = packet.payload();
        m.payload.assign(pl.begin(), pl.end());
        m.packet_count = 1;
        return std::optional<Message>{std::move(m)};
    }
    if (!in_progress_) {
        current_ = Message{};
        current_.type = h.type;
        current_.first_status = h.status;
        in_progress_ = true;
    } else if (current_.type != h.type) {
        return std::unexpected(Error::UnexpectedType);
    }
    auto pl = packet.payload();
    if (current_.payload.size() + pl.size() > max_message_len_) {
        return std::unexpected(Error::MessageTooLarge);
    }
    current_.payload.insert(current_.payload.end(), pl.begin(), pl.end());
    ++current_.packet_count;
    if (!h.end_of_message()) {
        return std::optional<Message>{};
    }
    current_.ignored = (h.status & status::kIgnore) != 0;
    in_progress_ = false;
    return std::optional<Message>{std::move(current_)};
}

} // namespace tds
