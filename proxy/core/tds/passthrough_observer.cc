#include <proxy/core/tds/passthrough_observer.h>
#include <tds/packet.h>

namespace proxy {

namespace {
constexpr std::uint8_t kTlsAlert = 0x15;
constexpr std::uint8_t kTlsHandshake = 0x16;
constexpr std::uint8_t kTlsApplicationData = 0x17;
constexpr std::size_t kTlsRecordHeader = 5;
} // namespace

void PassthroughObserver::on_client(std::span<const std::uint8_t> bytes) {
    if (bytes.empty() || gave_up_) {
        return;
    }
    if (!first_byte_) {
        first_byte_ = bytes[0];
        if (bytes[0] == kTlsHandshake) {
            seen_ = Seen::TlsStarted;
            client_raw_tls_ = true;
        } else if (bytes[0] != static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
            gave_up_ = true;
            return;
        }
    }
    // After the wrapped handshake the client writes raw records: a record header (0x14..0x17)
    // where a TDS header (never those types) should start.
    if (!client_raw_tls_ && seen_ == Seen::TlsStarted && client_packets_.buffered() == 0 &&
        bytes[0] >= 0x14 && bytes[0] <= 0x17) {
        client_raw_tls_ = true;
    }
    if (client_raw_tls_) {
        scan_tls_records(bytes);
        return;
    }
    client_packets_.feed(bytes);
    while (true) {
        auto next = client_packets_.next();
        if (!next || !*next) {
            if (!next) {
                gave_up_ = true;
            }
            return;
        }
        const tds::Packet& p = **next;
        auto payload = p.payload();
        if (!client_prelogin_) {
            if (auto m = client_messages_.add(p); m && *m) {
                client_prelogin_ = std::move(**m);
            }
            continue;
        }
        if (p.header.type == static_cast<std::uint8_t>(tds::PacketType::Login7)) {
            if (seen_ == Seen::Nothing) {
                seen_ = Seen::LoginPlaintext;
            }
            gave_up_ = true; // the rest is plain TDS we do not need
            return;
        }
        if (p.header.type == static_cast<std::uint8_t>(tds::PacketType::PreLogin) &&
            !payload.empty()) {
            if (payload[0] == kTlsHandshake && seen_ == Seen::Nothing) {
                seen_ = Seen::TlsStarted;
            }
            if (payload[0] == kTlsAlert) {
                seen_ = Seen::Alert;
                if (payload.size() >= kTlsRecordHeader + 2) {
                    alert_code_ = payload[kTlsRecordHeader + 1];
                }
            }
            // A wrapped Finished (inside ChangeCipherSpec..) ends the wrapping: from the next
            // packet on the client writes raw records. We cannot see the handshake end, so a
            // raw record header (0x14..0x17) where a TDS header should be tells us.
            auto rest = client_packets_.take_buffered();
            if (!rest.empty() && rest[0] >= 0x14 && rest[0] <= 0x17) {
                client_raw_tls_ = true;
                scan_tls_records(rest);
                return;
            }
            client_packets_.feed(rest);
            continue;
        }
    }
}

void PassthroughObserver::scan_tls_records(std::span<const std::uint8_t> bytes) {
    record_buf_.insert(record_buf_.end(), bytes.begin(), bytes.end());
    std::size_t pos = 0;
    while (record_buf_.size() - pos >= kTlsRecordHeader) {
        std::uint8_t type = record_buf_[pos];
        std::size_t len =
            (static_cast<std::size_t>(record_buf_[pos + 3]) << 8) | record_buf_[pos + 4];
        if (record_buf_.size() - pos < kTlsRecordHeader + len) {
            break;
        }
        if (type == kTlsApplicationData && seen_ != Seen::Alert) {
            seen_ = Seen::LoginEncrypted;
        } else if (type == kTlsAlert && seen_ != Seen::LoginEncrypted) {
            seen_ = Seen::Alert;
            if (len == 2) { // a plaintext alert (encrypted ones are longer)
                alert_code_ = record_buf_[pos + kTlsRecordHeader + 1];
            }
        } else if (type < 0x14 || type > 0x17) {
            gave_up_ = true;
            break;
        }
        pos += kTlsRecordHeader + len;
    }
    record_buf_.erase(record_buf_.begin(), record_buf_.begin() + static_cast<std::ptrdiff_t>(pos));
    if (seen_ == Seen::LoginEncrypted) {
        gave_up_ = true;
    }
}

void PassthroughObserver::on_server(std::span<const std::uint8_t> bytes) {
    // Only the server's first message (the PRELOGIN answer) is of interest; anything that is not
    // one ends the parsing, so a relayed stream is never held here.
    constexpr std::size_t kMaxAnswer = 64 * 1024;
    if (server_answer_ || server_gave_up_ || !first_byte_ || *first_byte_ != 0x12) {
        return;
    }
    server_packets_.feed(bytes);
    while (true) {
        auto next = server_packets_.next();
        if (!next || server_packets_.buffered() > kMaxAnswer) {
            server_gave_up_ = true;
            server_packets_.take_buffered();
            return;
        }
        if (!*next) {
            return;
        }
        if ((*next)->header.type != 0x04) {
            server_gave_up_ = true;
            server_packets_.take_buffered();
            return;
        }
        auto m = server_messages_.add(**next);
        if (!m) {
            server_gave_up_ = true;
            server_packets_.take_buffered();
            return;
        }
        if (*m) {
            server_answer_ = std::move(**m);
            server_packets_.take_buffered();
            return;
        }
    }
}

} // namespace proxy
