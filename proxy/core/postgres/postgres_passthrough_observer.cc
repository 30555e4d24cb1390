#include <proxy/core/postgres/postgres_passthrough_observer.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsHandshake = 0x16;
constexpr std::uint8_t kTlsAlert = 0x15;
constexpr std::uint8_t kTlsApplicationData = 0x17;
constexpr std::uint32_t kSslRequestCode = 80877103;
constexpr std::uint32_t kGssEncRequestCode = 80877104;
constexpr std::size_t kMaxBuffered = 64 * 1024;

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

} // namespace

void PostgresPassthroughObserver::on_client(std::span<const std::uint8_t> bytes) {
    if (phase_ == Phase::GaveUp || phase_ == Phase::Clear) {
        return;
    }
    client_.insert(client_.end(), bytes.begin(), bytes.end());
    while (phase_ == Phase::Startup && !client_.empty()) {
        if (client_[0] == kTlsHandshake) {
            negotiation_ = negotiation_.empty() ? "direct SSL" : negotiation_ + ", then direct SSL";
            phase_ = Phase::Tls;
            seen_ = Seen::TlsStarted;
            break;
        }
        if (client_.size() < 8) {
            return;
        }
        std::uint32_t length = be32(client_, 0);
        std::uint32_t code = be32(client_, 4);
        if (length < 8 || length > 10004) {
            phase_ = Phase::GaveUp;
            return;
        }
        if (code == kSslRequestCode || code == kGssEncRequestCode) {
            negotiation_ += (negotiation_.empty() ? "" : ", then ") +
                            std::string(code == kSslRequestCode ? "SSLRequest" : "GSSENCRequest");
            client_.erase(client_.begin(), client_.begin() + 8);
            phase_ = Phase::AwaitAnswer;
            return;
        }
        if ((code >> 16) == 3) {
            negotiation_ = negotiation_.empty() ? "plaintext" : negotiation_ + ", then plaintext";
            seen_ = Seen::LoginPlaintext;
            phase_ = Phase::Clear;
            client_.clear();
            return;
        }
        phase_ = Phase::GaveUp; // a CancelRequest or not PostgreSQL: nothing more to read
        return;
    }
    if (phase_ == Phase::Tls) {
        scan_client_records();
    }
    if (client_.size() > kMaxBuffered) {
        phase_ = Phase::GaveUp;
    }
}

void PostgresPassthroughObserver::on_server(std::span<const std::uint8_t> bytes) {
    if (phase_ != Phase::AwaitAnswer || bytes.empty()) {
        return;
    }
    negotiation_ += std::string(" answered ") + static_cast<char>(bytes[0]);
    if (bytes[0] == 'S') {
        phase_ = Phase::Tls;
        seen_ = Seen::TlsStarted;
        scan_client_records();
    } else {
        phase_ = Phase::Startup; // 'N': the client goes on in clear, or asks again
        on_client({});
    }
}

void PostgresPassthroughObserver::scan_client_records() {
    std::size_t at = 0;
    while (client_.size() - at >= 5) {
        std::uint8_t type = client_[at];
        std::size_t len = (std::size_t{client_[at + 3]} << 8) | client_[at + 4];
        if (client_.size() - at < 5 + len) {
            break;
        }
        if (type == kTlsAlert && !alert_code_ && len >= 2 && seen_ != Seen::LoginEncrypted) {
            alert_code_ = client_[at + 6];
            seen_ = Seen::Alert;
        } else if (type == kTlsApplicationData && seen_ == Seen::TlsStarted &&
                   ++app_records_ >= 2) {
            seen_ = Seen::LoginEncrypted;
        }
        at += 5 + len;
    }
    client_.erase(client_.begin(), client_.begin() + static_cast<long>(at));
    if (seen_ == Seen::LoginEncrypted || seen_ == Seen::Alert) {
        phase_ = Phase::GaveUp; // decided: stop reading
    }
}

} // namespace proxy
