#include <proxy/core/mysql/mysql_adapter.h>
#include <proxy/core/postgres/postgres_adapter.h>
#include <proxy/core/session/overloaded.h>
#include <proxy/core/session/passthrough_adapter.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tds/tds_adapter.h>
#include <proxy/core/tls/tls_adapter.h>

namespace proxy {

namespace {

std::string seconds(std::uint64_t ms) {
    return std::to_string(ms / 1000) + " s";
}

} // namespace

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::LoginEncrypted:
        return "login-encrypted";
    case Outcome::LoginPlaintext:
        return "login-plaintext";
    case Outcome::Alert:
        return "alert";
    case Outcome::ClosedAfterHandshake:
        return "closed-after-handshake";
    case Outcome::ClosedDuringHandshake:
        return "closed-during-handshake";
    case Outcome::ClosedBeforeTls:
        return "closed-before-tls";
    case Outcome::UpstreamFailed:
        return "upstream-failed";
    case Outcome::ProtocolError:
        return "protocol-error";
    case Outcome::AbortedAfterOk:
        return "aborted-after-ok";
    }
    return "?";
}

std::string summary_line(const SessionRecord& r) {
    std::string line = "[" + r.scenario + "] " + r.protocol;
    if (r.client_prelogin) {
        line += " client ENCRYPTION=" + r.client_prelogin->encryption_name;
    }
    if (r.client_answer) {
        line += " answered " + r.client_answer->encryption_name;
    }
    if (r.postgres) {
        line += " " + r.postgres->negotiation;
    }
    if (r.mysql) {
        line += " " + (r.mysql->negotiation.empty() ? std::string("no negotiation")
                                                    : r.mysql->negotiation);
        if (!r.mysql->upstream_leg.empty()) {
            line += ", server leg " + r.mysql->upstream_leg;
        }
    }
    if (r.client_mode) {
        line += ", client leg " + std::string(tds::to_string(*r.client_mode));
    }
    if (r.client_tls.established) {
        line += " " + r.client_tls.version;
    }
    line += " -> " + std::string(to_string(r.outcome));
    if (r.alert) {
        line += " (" + r.alert->name + ")";
    }
    if (!r.detail.empty()) {
        line += ": " + r.detail;
    }
    return line;
}

ProxySession::ProxySession(ProxySettings settings, std::uint64_t id, std::string client_address)
    : ctx_(std::move(settings), id, std::move(client_address)) {
    if (ctx_.scenario().scenario.passthrough) {
        start_adapter(AdapterKind::Passthrough);
    }
}

Actions ProxySession::handle(const Event& event) {
    if (phase_ == Phase::Finished) {
        return {};
    }
    std::visit(overloaded{
                   [&](const event::Started&) { on_started(); },
                   [&](const event::Connected&) { on_connected(); },
                   [&](const event::ConnectFailed& e) {
                       ctx_.finish(Outcome::UpstreamFailed,
                                   "cannot connect to the server: " + e.reason, false);
                   },
                   [&](const event::BytesReceived& e) {
                       ctx_.set_received(e.bytes); // what an action::Relay may refer to
                       switch (e.side) {
                       case Side::Client:
                           on_client_bytes(e.bytes);
                           break;
                       case Side::Server:
                           on_server_bytes(e.bytes);
                           break;
                       }
                       ctx_.set_received({});
                   },
                   [&](const event::PeerClosed& e) { on_closed(e.side, e.detail); },
                   [&](const event::TimerFired& e) { on_timer(e.timer); },
                   [&](const event::Stopping& e) {
                       ctx_.finish(judge_client_left(), "closed by the lab: " + e.reason, false);
                   },
               },
               event);
    // An adapter that only watches (passthrough) never calls reached_login: once it has seen
    // the login, the handshake timer stops and the idle timer runs, as for the others.
    if (!ctx_.login_seen() && !ctx_.finishing() && has_login()) {
        ctx_.reached_login(judge_client_left());
    }
    fault_.after_step(ctx_, client_hello_seen());
    settle();
    // Once more: what finishing flushed towards the client is subject to the fault too.
    fault_.after_step(ctx_, client_hello_seen());
    return ctx_.take_actions();
}

void ProxySession::on_started() {
    ctx_.record().started = ctx_.now();
    ctx_.push(action::ConnectUpstream{});
    ctx_.push(
        action::StartTimer{SessionContext::kConnectTimer, ctx_.settings().connect_timeout_ms});
    ctx_.push(
        action::StartTimer{SessionContext::kHandshakeTimer, ctx_.settings().handshake_timeout_ms});
    if (!adapter_ && ctx_.settings().protocol == ListenerProtocol::Mysql) {
        // The server speaks first (MySQL): the listener alone says the protocol, and the adapter
        // starts now, so the server's greeting goes to it, not to the client raw.
        start_adapter(AdapterKind::Mysql);
    }
}

void ProxySession::on_connected() {
    ctx_.push(action::CancelTimer{SessionContext::kConnectTimer});
    ctx_.set_connected();
    if (adapter_) {
        adapter_->on_connected(ctx_);
    }
}

void ProxySession::start_adapter(AdapterKind kind) {
    switch (kind) {
    case AdapterKind::Tds:
        adapter_ = std::make_unique<TdsAdapter>(ctx_);
        break;
    case AdapterKind::Postgres:
        adapter_ = std::make_unique<PostgresAdapter>(ctx_);
        break;
    case AdapterKind::Tls:
        adapter_ = std::make_unique<TlsAdapter>(ctx_);
        break;
    case AdapterKind::Mysql:
        adapter_ = std::make_unique<MysqlAdapter>(ctx_);
        break;
    case AdapterKind::Passthrough:
        adapter_ = std::make_unique<PassthroughAdapter>(ctx_.settings().protocol);
        break;
    }
    phase_ = Phase::Relaying;
    if (ctx_.connected()) {
        adapter_->on_connected(ctx_);
    }
}

void ProxySession::on_client_bytes(std::span<const std::uint8_t> bytes) {
    ctx_.record().bytes_from_client += bytes.size();
    if (ctx_.login_seen()) {
        ctx_.push(action::StartTimer{SessionContext::kIdleTimer, ctx_.settings().idle_timeout_ms});
    }
    if (phase_ == Phase::AwaitProtocol) {
        first_bytes_.insert(first_bytes_.end(), bytes.begin(), bytes.end());
        auto kind = detect_protocol(ctx_.settings().protocol, first_bytes_);
        if (!kind) {
            return;
        }
        start_adapter(*kind);
        auto held = std::exchange(first_bytes_, {});
        adapter_->on_client_bytes(ctx_, held);
        return;
    }
    adapter_->on_client_bytes(ctx_, bytes);
}

void ProxySession::on_server_bytes(std::span<const std::uint8_t> bytes) {
    ctx_.record().bytes_from_server += bytes.size();
    if (ctx_.login_seen()) {
        ctx_.push(action::StartTimer{SessionContext::kIdleTimer, ctx_.settings().idle_timeout_ms});
    }
    if (!adapter_) {
        // The server spoke first, before the client said anything: relay it.
        ctx_.send(Side::Client, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        return;
    }
    adapter_->on_server_bytes(ctx_, bytes);
}

bool ProxySession::client_hello_seen() const {
    const TlsEndpoint* tls = adapter_ ? adapter_->client_tls() : nullptr;
    return tls != nullptr && tls->client_hello().has_value();
}

Outcome ProxySession::judge_client_left() const {
    return adapter_ ? adapter_->judge_client_left(ctx_) : Outcome::ClosedBeforeTls;
}

void ProxySession::on_closed(Side side, const std::string& detail) {
    bool& eof = side == Side::Client ? client_eof_ : server_eof_;
    bool other_eof = side == Side::Client ? server_eof_ : client_eof_;
    eof = true;
    std::string who = side == Side::Client ? "client" : "server";
    std::string why =
        "the " + who + " closed the connection" + (detail.empty() ? "" : " (" + detail + ")");
    if (!has_login()) {
        if (side == Side::Server && adapter_) {
            Outcome o = adapter_->server_left_before_login(ctx_);
            ctx_.finish(o, o == Outcome::UpstreamFailed ? why + " before the login" : why);
        } else {
            ctx_.finish(judge_client_left(), why);
        }
        return;
    }
    if (other_eof) {
        std::string other = side == Side::Client ? "server" : "client";
        ctx_.finish(judge_client_left(),
                    "the " + other + " closed the connection, then the " + who);
        return;
    }
    adapter_->flush(ctx_);
    ctx_.push(action::HalfClose{side == Side::Client ? Side::Server : Side::Client});
}

void ProxySession::on_timer(int timer) {
    if (fault_.on_timer(ctx_, timer)) {
        return;
    }
    const auto& s = ctx_.settings();
    switch (timer) {
    case SessionContext::kConnectTimer:
        if (!ctx_.connected()) {
            ctx_.finish(Outcome::UpstreamFailed,
                        "no connection to the server within " + seconds(s.connect_timeout_ms),
                        false);
        }
        break;
    case SessionContext::kHandshakeTimer:
        if (!has_login()) {
            ctx_.finish(judge_client_left(), "no login within " + seconds(s.handshake_timeout_ms),
                        false);
        }
        break;
    case SessionContext::kIdleTimer:
        ctx_.finish(judge_client_left(), "idle for " + seconds(s.idle_timeout_ms), false);
        break;
    default:
        break;
    }
}

void ProxySession::settle() {
    // A close inside the protocol (close_notify) is handled like EOF, once the step is over.
    while (!ctx_.finishing()) {
        auto close = ctx_.take_close_request();
        if (!close) {
            break;
        }
        on_closed(close->side, close->detail);
    }
    if (ctx_.finishing()) {
        finish_now();
    }
}

void ProxySession::finish_now() {
    const auto& request = *ctx_.finish_request();
    auto& record = ctx_.record();
    // The verdict first: complete_record sees it and may say more in the detail.
    record.outcome = request.outcome;
    record.detail = request.detail;
    if (auto note = fault_.note(ctx_.now()); !note.empty()) {
        record.detail += (record.detail.empty() ? "" : "; ") + note;
    }
    if (adapter_) {
        adapter_->complete_record(ctx_);
        if (request.flush && !request.reset) {
            adapter_->flush(ctx_);
        }
    }
    if (!record.alert && record.client_tls.alert_received && request.outcome == Outcome::Alert) {
        record.alert = record.client_tls.alert_received;
    }
    phase_ = Phase::Finished;
    record.ended = ctx_.now();
    ctx_.push(action::Log{LogLevel::Info, summary_line(record)});
    ctx_.push(action::Record{std::make_shared<const SessionRecord>(record)});
    ctx_.push(action::Close{record.detail, request.flush && !request.reset, request.reset});
}

} // namespace proxy
