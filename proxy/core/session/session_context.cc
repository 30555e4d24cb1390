#include <algorithm>

#include <proxy/core/session/session_context.h>

namespace proxy {

namespace {
// A transcript (for --pcap) stops growing here: a lab records logins, not bulk transfers.
constexpr std::size_t kMaxTranscriptBytes = 16 * 1024 * 1024;
} // namespace

std::string_view to_string(ListenerProtocol p) {
    switch (p) {
    case ListenerProtocol::Auto:
        return "auto";
    case ListenerProtocol::Tds:
        return "tds";
    case ListenerProtocol::Postgres:
        return "postgres";
    case ListenerProtocol::Tls:
        return "tls";
    case ListenerProtocol::Mysql:
        return "mysql";
    }
    return "?";
}

std::optional<ListenerProtocol> listener_protocol_from_name(std::string_view name) {
    for (auto p : {ListenerProtocol::Auto, ListenerProtocol::Tds, ListenerProtocol::Postgres,
                   ListenerProtocol::Tls, ListenerProtocol::Mysql}) {
        if (name == to_string(p)) {
            return p;
        }
    }
    if (name == "postgresql" || name == "pg") {
        return ListenerProtocol::Postgres;
    }
    if (name == "mariadb") {
        return ListenerProtocol::Mysql;
    }
    return std::nullopt;
}

SessionContext::SessionContext(ProxySettings settings, std::uint64_t id, std::string client_address)
    : settings_(std::move(settings)) {
    record_.id = id;
    record_.scenario = settings_.scenario->scenario.name;
    record_.client_address = std::move(client_address);
    record_.original_destination = settings_.original_destination;
    record_.upstream_verification = settings_.upstream_verified ? "not reached" : "not verified";
    record_.listen_port = settings_.listen_port;
}

void SessionContext::send(Side side, std::vector<std::uint8_t> bytes) {
    if (bytes.empty()) {
        return;
    }
    if (side == Side::Server && !connected_) {
        held_for_server_.insert(held_for_server_.end(), bytes.begin(), bytes.end());
        return;
    }
    (side == Side::Client ? record_.bytes_to_client : record_.bytes_to_server) += bytes.size();
    actions_.push_back(action::Send{side, std::move(bytes)});
}

void SessionContext::relay(Side side, std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) {
        return;
    }
    bool whole_event = bytes.data() == received_.data() && bytes.size() == received_.size();
    if (!whole_event || (side == Side::Server && !connected_)) {
        send(side, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        return;
    }
    (side == Side::Client ? record_.bytes_to_client : record_.bytes_to_server) += bytes.size();
    actions_.push_back(action::Relay{side});
}

void SessionContext::set_connected() {
    connected_ = true;
    send(Side::Server, std::exchange(held_for_server_, {}));
}

void SessionContext::log(LogLevel level, std::string text) {
    actions_.push_back(action::Log{level, std::move(text)});
}

void SessionContext::message(std::string kind, bool from_client, std::string text,
                             std::optional<std::uint32_t> number,
                             std::optional<std::uint8_t> severity, std::string detail) {
    auto m = std::make_shared<MessageRecord>();
    m->session_id = record_.id;
    m->scenario = record_.scenario;
    m->at = settings_.now();
    m->kind = std::move(kind);
    m->from_client = from_client;
    m->text = std::move(text);
    m->number = number;
    m->severity = severity;
    m->detail = std::move(detail);
    actions_.push_back(action::Message{std::move(m)});
}

namespace {

void scrub(std::vector<std::uint8_t>& bytes, const std::vector<std::uint8_t>& secret) {
    auto at = bytes.begin();
    while ((at = std::search(at, bytes.end(), secret.begin(), secret.end())) != bytes.end()) {
        std::fill_n(at, secret.size(), static_cast<std::uint8_t>('x'));
        at += static_cast<std::ptrdiff_t>(secret.size());
    }
}

} // namespace

void SessionContext::keep(bool from_client, std::span<const std::uint8_t> bytes) {
    if (!settings_.capture_transcript || transcript_bytes_ + bytes.size() > kMaxTranscriptBytes) {
        return;
    }
    transcript_bytes_ += bytes.size();
    record_.transcript.push_back(
        {from_client, settings_.now(), std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
    for (const auto& secret : secrets_) {
        scrub(record_.transcript.back().bytes, secret);
    }
}

void SessionContext::note_secret(std::span<const std::uint8_t> bytes) {
    if (settings_.reveal_secrets || bytes.empty()) {
        return;
    }
    secrets_.emplace_back(bytes.begin(), bytes.end());
    for (auto& chunk : record_.transcript) {
        scrub(chunk.bytes, secrets_.back());
    }
}

void SessionContext::reached_login(Outcome outcome) {
    if (login_seen_) {
        return;
    }
    login_seen_ = true;
    record_.outcome = outcome;
    actions_.push_back(action::CancelTimer{kHandshakeTimer});
    actions_.push_back(action::StartTimer{kIdleTimer, settings_.idle_timeout_ms});
}

void SessionContext::finish(Outcome outcome, std::string detail, bool flush, bool reset) {
    if (!finish_) {
        finish_ = FinishRequest{outcome, std::move(detail), flush, reset};
    }
}

void SessionContext::over_message_limit(Side from, const std::string& what, bool flush) {
    std::string detail = "limit max-message-bytes=" + std::to_string(settings_.max_message_bytes) +
                         " reached: " + what + " from the " +
                         (from == Side::Client ? "client" : "server") + " is longer";
    log(LogLevel::Warn, detail);
    Outcome outcome = login_seen_            ? record_.outcome
                      : from == Side::Client ? Outcome::ProtocolError
                                             : Outcome::UpstreamFailed;
    finish(outcome, std::move(detail), flush);
}

void SessionContext::peer_closed(Side side, std::string detail) {
    close_ = CloseRequest{side, std::move(detail)};
}

void SessionContext::client_tls_failed(const TlsEndpoint* tls, const std::string& error) {
    if (tls != nullptr && tls->alert_received()) {
        record_.alert = tls->alert_received();
        finish(Outcome::Alert, error);
    } else {
        finish(Outcome::ProtocolError, error);
    }
}

bool SessionContext::choose(const SessionFacts& facts) {
    if (!settings_.choose || settings_.scenario->scenario.passthrough) {
        return false;
    }
    if (auto chosen = settings_.choose(facts); chosen && !chosen->scenario.passthrough) {
        settings_.scenario = std::move(chosen);
        record_.scenario = settings_.scenario->scenario.name;
        return true;
    }
    return false;
}

void note_tls(TlsObservation& t, const TlsEndpoint& tls) {
    t.started = true;
    t.established = tls.handshake_done();
    if (const auto& hello = tls.client_hello()) {
        t.offered_versions = hello->offered_versions;
        t.sni = hello->sni;
        t.alpn_offered = hello->alpn;
    }
    t.version = tls.version();
    t.cipher = tls.cipher();
    t.alpn = tls.alpn_selected();
    t.alert_received = tls.alert_received();
    t.alert_sent = tls.alert_sent();
    t.failure = tls.failure_reason();
}

void note_upstream(SessionContext& ctx, const TlsEndpoint& tls) {
    auto& record = ctx.record();
    note_tls(record.upstream_tls, tls);
    if (X509* cert = tls.peer_certificate(); cert != nullptr && !record.upstream_certificate) {
        record.upstream_certificate = certs::describe_shared(cert);
    }
    if (ctx.settings().upstream_verified) {
        record.upstream_verification =
            record.upstream_tls.established ? "verified" : "failed: " + record.upstream_tls.failure;
    }
}

} // namespace proxy
