#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <mysql/responses.h>
#include <proxy/core/mysql/mysql_passthrough_observer.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsAlert = 0x15;
constexpr std::uint8_t kTlsApplicationData = 0x17;
constexpr std::size_t kMaxFirstPacket = 1024 * 1024;
constexpr std::size_t kMaxBuffered = 64 * 1024;

std::string attribute(const std::vector<std::pair<std::string, std::string>>& attributes,
                      std::string_view name) {
    for (const auto& [key, value] : attributes) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

} // namespace

MysqlPassthroughObserver::MysqlPassthroughObserver()
    : client_reader_(kMaxFirstPacket), server_reader_(kMaxFirstPacket) {}

void MysqlPassthroughObserver::on_server(std::span<const std::uint8_t> bytes) {
    if (greeting_read_) {
        return;
    }
    server_reader_.feed(bytes);
    auto next = server_reader_.next();
    if (!next) {
        greeting_read_ = true; // not MySQL as we know it: nothing more to read
        return;
    }
    if (!*next) {
        return;
    }
    greeting_read_ = true;
    server_reader_ = mysql::PacketReader(0);
    if (auto greeting = mysql::decode_handshake((*next)->payload)) {
        summary_.server_version = greeting->server_version;
        summary_.server_is_mariadb = greeting->is_mariadb();
        summary_.server_capabilities = greeting->capabilities;
        summary_.upstream_offered_ssl = (greeting->capabilities & mysql::cap::Ssl) != 0;
        summary_.client_shown_ssl = summary_.upstream_offered_ssl; // relayed untouched
    } else if (mysql::is_err((*next)->payload)) {
        if (auto err = mysql::decode_err((*next)->payload)) {
            summary_.auth_error = std::to_string(err->code) + " " + err->message;
        }
    }
}

void MysqlPassthroughObserver::on_client(std::span<const std::uint8_t> bytes) {
    switch (phase_) {
    case Phase::GaveUp:
        return;
    case Phase::Tls:
        records_.insert(records_.end(), bytes.begin(), bytes.end());
        scan_client_records();
        return;
    case Phase::First:
        break;
    }
    client_reader_.feed(bytes);
    auto next = client_reader_.next();
    if (!next) {
        phase_ = Phase::GaveUp;
        return;
    }
    if (!*next) {
        return;
    }
    const auto& payload = (*next)->payload;
    if (mysql::is_ssl_request(payload)) {
        summary_.ssl_request = true;
        summary_.negotiation = "SSLRequest";
        if (auto request = mysql::decode_ssl_request(payload)) {
            summary_.client_capabilities = request->capabilities;
        }
        seen_ = Seen::TlsStarted;
        phase_ = Phase::Tls;
        records_ = client_reader_.take_buffered();
        client_reader_ = mysql::PacketReader(0);
        scan_client_records();
        return;
    }
    phase_ = Phase::GaveUp; // in clear: the rest is the authentication, then commands
    client_reader_ = mysql::PacketReader(0);
    auto response = mysql::decode_handshake_response(payload);
    if (!response) {
        return;
    }
    seen_ = Seen::LoginPlaintext;
    summary_.negotiation =
        summary_.client_shown_ssl ? "plaintext (SSL offered)" : "plaintext (SSL not offered)";
    summary_.client_capabilities = response->capabilities;
    summary_.client_plugin = response->auth_plugin.value_or("");
    if (!summary_.client_plugin.empty()) {
        summary_.auth_plugins.push_back(summary_.client_plugin);
    }
    summary_.attributes = response->attributes;
    LoginSummary login;
    login.user_name = response->user;
    login.database = response->database.value_or("");
    login.app_name = attribute(response->attributes, "program_name");
    auto library = attribute(response->attributes, "_client_name");
    auto version = attribute(response->attributes, "_client_version");
    login.library_name = version.empty() ? library : library + " " + version;
    login.auth_kind = summary_.client_plugin;
    login.through_tls = false;
    login_ = std::move(login);
}

void MysqlPassthroughObserver::scan_client_records() {
    std::size_t at = 0;
    while (records_.size() - at >= 5) {
        std::uint8_t type = records_[at];
        std::size_t len = (std::size_t{records_[at + 3]} << 8) | records_[at + 4];
        if (records_.size() - at < 5 + len) {
            break;
        }
        if (type == kTlsAlert && !alert_code_ && len >= 2 && seen_ != Seen::LoginEncrypted) {
            alert_code_ = records_[at + 6];
            seen_ = Seen::Alert;
        } else if (type == kTlsApplicationData && seen_ == Seen::TlsStarted &&
                   ++app_records_ >= 2) {
            seen_ = Seen::LoginEncrypted;
        }
        at += 5 + len;
    }
    records_.erase(records_.begin(), records_.begin() + static_cast<long>(at));
    if (seen_ == Seen::LoginEncrypted || seen_ == Seen::Alert || records_.size() > kMaxBuffered) {
        phase_ = Phase::GaveUp; // decided: stop reading
        records_.clear();
    }
}

} // namespace proxy
