#include <proxy/core/proxy_session.h>
#include <tds/login7.h>
#include <tds/packet.h>
#include <tds/prelogin.h>
#include <tds/rpc.h>
#include <tds/sql_batch.h>
#include <tds/token_reader.h>
#include <tds/transaction_manager.h>

namespace proxy {

namespace {

constexpr std::uint8_t kNotSupported = static_cast<std::uint8_t>(tds::Encryption::NotSupported);
// A transcript (for --pcap) stops growing here: a lab records logins, not bulk transfers.
constexpr std::size_t kMaxTranscriptBytes = 16 * 1024 * 1024;

PreloginSummary summarise(const tds::Prelogin& p) {
    PreloginSummary s;
    if (auto v = p.version()) {
        s.version = v->to_string();
    }
    s.encryption = p.encryption().value_or(kNotSupported);
    s.encryption_name = p.encryption() ? tds::encryption_name(s.encryption) : "absent";
    s.instance = p.instance();
    s.mars = p.mars();
    return s;
}

// leg_mode: how a leg carries TDS given the value its client side sent and the answer. Where the
// MS-TDS table says "terminate", follow what drivers do instead: OFF means login-only.
tds::EncryptionMode leg_mode(std::uint8_t sent, std::uint8_t answer) {
    auto s = tds::decode_encryption(sent).value_or(tds::Encryption::NotSupported);
    auto a = tds::decode_encryption(answer).value_or(tds::Encryption::NotSupported);
    if (auto m = tds::expected_mode(s, a)) {
        return *m;
    }
    switch (a) {
    case tds::Encryption::Off:
        return tds::EncryptionMode::LoginOnly;
    case tds::Encryption::NotSupported:
        return tds::EncryptionMode::None;
    case tds::Encryption::On:
    case tds::Encryption::Required:
    case tds::Encryption::Strict:
        return tds::EncryptionMode::Full;
    }
    return tds::EncryptionMode::None;
}

// patch_encryption rewrites the ENCRYPTION byte inside a PRELOGIN message kept as raw packets;
// everything else stays byte-identical.
std::vector<std::uint8_t> raw_message(const std::vector<tds::Packet>& packets,
                                      std::optional<std::uint8_t> encryption) {
    std::vector<std::uint8_t> payload;
    for (const auto& p : packets) {
        auto pl = p.payload();
        payload.insert(payload.end(), pl.begin(), pl.end());
    }
    std::optional<std::size_t> at;
    if (encryption) {
        if (auto parsed = tds::Prelogin::parse(payload)) {
            for (const auto& o : parsed->options()) {
                if (o.token == tds::prelogin_token::kEncryption && o.length == 1) {
                    at = o.offset;
                }
            }
        }
    }
    std::vector<std::uint8_t> out;
    std::size_t payload_pos = 0;
    for (const auto& p : packets) {
        std::size_t start = out.size();
        out.insert(out.end(), p.bytes.begin(), p.bytes.end());
        std::size_t len = p.bytes.size() - tds::kHeaderLen;
        if (at && *at >= payload_pos && *at < payload_pos + len) {
            out[start + tds::kHeaderLen + (*at - payload_pos)] = *encryption;
        }
        payload_pos += len;
    }
    return out;
}

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
    : settings_(std::move(settings)),
      client_(ClientLeg::Config{settings_.scenario->tds7_ctx.get(),
                                settings_.scenario->tds8_ctx.get(), 4096, true}),
      server_(ServerLeg::Config{settings_.upstream_tds7_ctx, settings_.upstream_name}) {
    record_.id = id;
    record_.scenario = settings_.scenario->scenario.name;
    record_.client_address = std::move(client_address);
    record_.upstream_verification = settings_.upstream_verified ? "not reached" : "not verified";
    record_.listen_port = settings_.listen_port;
}

void ProxySession::keep(bool from_client, std::span<const std::uint8_t> bytes) {
    if (!settings_.capture_transcript || transcript_bytes_ + bytes.size() > kMaxTranscriptBytes) {
        return;
    }
    transcript_bytes_ += bytes.size();
    record_.transcript.push_back(
        {from_client, settings_.now(), std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
}

void ProxySession::emit_message(Actions& a, std::string kind, bool from_client, std::string text,
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
    a.push_back(action::Message{std::move(m)});
}

namespace {

// rpc_statement: the SQL a parameterised call runs (sp_executesql's first parameter,
// sp_prepare's and sp_prepexec's third), so a record shows what the client asked.
std::string rpc_statement(const tds::RpcCall& call) {
    std::size_t at = 0;
    if (call.procedure == "sp_prepare" || call.procedure == "sp_prepexec") {
        at = 2;
    } else if (call.procedure != "sp_executesql") {
        return {};
    }
    if (at >= call.parameters.size()) {
        return {};
    }
    const auto* text = std::get_if<std::string>(&call.parameters[at].value.value);
    return text != nullptr ? *text : std::string();
}

std::string tm_detail(const tds::TmRequest& tm) {
    std::string d;
    auto add = [&](const std::string& s) {
        d += (d.empty() ? "" : ", ") + s;
    };
    if (tm.isolation != tds::IsolationLevel::NoChange) {
        add("isolation " + std::string(tds::to_string(tm.isolation)));
    }
    if (!tm.name.empty()) {
        add("name " + tm.name);
    }
    if (tm.begin_after) {
        add("then begin a new transaction");
    }
    return d;
}

} // namespace

void ProxySession::inspect_client_packet(const tds::Packet& p, Actions& a) {
    keep(true, p.bytes);
    auto m = client_messages_.add(p);
    if (!m) {
        client_messages_ = tds::MessageAssembler(4 * 1024 * 1024); // inspection only: start over
        return;
    }
    if (!*m) {
        return;
    }
    const tds::Message& msg = **m;
    auto type = static_cast<tds::PacketType>(msg.type);
    if (type == tds::PacketType::Login7 && !login_decoded_) {
        on_login7(msg, a);
        return;
    }
    if (!settings_.record_messages || !login_decoded_) {
        return;
    }
    if (type == tds::PacketType::SqlBatch) {
        if (auto batch = tds::decode_sql_batch(msg.payload, tds::is_72_plus(level_))) {
            emit_message(a, "sql_batch", true, batch->text);
        }
    } else if (type == tds::PacketType::Rpc) {
        if (auto rpc = tds::decode_rpc(msg.payload, level_)) {
            for (const auto& call : rpc->calls) {
                emit_message(a, "rpc", true, call.procedure, {}, {}, rpc_statement(call));
            }
        }
    } else if (type == tds::PacketType::TransactionManager) {
        if (auto tm = tds::decode_tm_request(msg.payload, level_)) {
            emit_message(a, "tm_request", true,
                         tm->known_type ? std::string(tds::to_string(tm->type))
                                        : "TM request type " + std::to_string(tm->raw_type),
                         {}, {}, tm_detail(*tm));
        }
    }
}

void ProxySession::inspect_server_packet(const tds::Packet& p, Actions& a) {
    keep(false, p.bytes);
    if (!settings_.record_messages || !login_decoded_) {
        return;
    }
    auto m = server_messages_.add(p);
    if (!m) {
        server_messages_ = tds::MessageAssembler(4 * 1024 * 1024);
        return;
    }
    if (!*m) {
        return;
    }
    auto scan = tds::scan_tokens((**m).payload, level_);
    if (scan.login_ack && !level_from_server_) {
        // The server may speak an older version than the client asked for: its LOGINACK
        // decides the layouts from here on.
        if (auto l = tds::level_of_login_ack(scan.login_ack->tds_version)) {
            level_ = *l;
        }
        level_from_server_ = true;
    }
    for (const auto& e : scan.errors) {
        emit_message(a, "error", false, e.text, e.number, e.severity);
    }
}

void ProxySession::on_login7(const tds::Message& m, Actions& a) {
    login_decoded_ = true;
    auto login = tds::decode_login7(m.payload);
    if (!login) {
        a.push_back(action::Log{LogLevel::Warn, "LOGIN7 the proxy could not decode: " +
                                                    std::string(tds::to_string(login.error()))});
        return;
    }
    LoginSummary s;
    s.host_name = login->host_name;
    s.user_name = login->user_name;
    // Code points, not bytes: the length a person would count.
    for (unsigned char c : login->password) {
        s.password_length += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    if (settings_.reveal_secrets) {
        s.password = login->password;
    }
    s.app_name = login->app_name;
    s.server_name = login->server_name;
    s.database = login->database;
    s.library_name = login->library_name;
    s.tds_version = tds::tds_version_name(login->tds_version);
    if (auto n = tds::negotiate_version(login->tds_version)) {
        level_ = n->level;
    }
    s.packet_size = login->packet_size;
    s.auth_kind = std::string(tds::to_string(login->auth_kind()));
    for (const auto& f : login->features) {
        s.features.push_back(f.id);
    }
    s.through_tls = client_.mode() != tds::EncryptionMode::None;
    record_.login = s;

    const auto& scenario = settings_.scenario->scenario;
    bool plaintext = !s.through_tls;
    // "Should have rejected" is about what the client was shown in TLS: a scenario whose defect is
    // a PRELOGIN rewrite or a reset has nothing wrong with its certificate (and a TDS 8.0 client,
    // whose PRELOGIN is inside TLS, never meets the rewrite at all).
    bool certificate_is_the_defect = !scenario.tds.encryption_to_client &&
                                     !scenario.tds.encryption_to_server &&
                                     !scenario.tds.reset_during_handshake;
    bool should_have_rejected = !scenario.passthrough && certificate_is_the_defect &&
                                scenario.expect == scenarios::Expect::Reject;
    if (!plaintext && !should_have_rejected) {
        return;
    }
    std::string secret =
        s.auth_kind == "sql"       ? (s.password ? "password '" + *s.password + "'"
                                                 : "a " + std::to_string(s.password_length) +
                                                 "-character password (--reveal-secrets shows it)")
        : s.auth_kind == "fedauth" ? "a federated-authentication request (bearer token)"
                                   : "an SSPI (NTLM/Kerberos) blob";
    std::string why =
        plaintext
            ? "in PLAINTEXT: the login crossed the network unencrypted (client sent ENCRYPTION=" +
                  (record_.client_prelogin ? record_.client_prelogin->encryption_name : "?") +
                  ", was answered " +
                  (record_.client_answer ? record_.client_answer->encryption_name : "?") + ")"
            : "through the '" + scenario.name +
                  "' certificate, which a validating client must reject (" +
                  scenario.expect_detail + ")";
    a.push_back(action::Log{LogLevel::Warn, "EXPOSED: read the login of user '" + s.user_name +
                                                "' with " + secret + ", app '" + s.app_name +
                                                "', " + why});
}

Actions ProxySession::handle(const Event& event) {
    Actions a;
    if (finished_) {
        return a;
    }
    if (std::holds_alternative<event::Started>(event)) {
        record_.started = settings_.now();
        a.push_back(action::ConnectUpstream{});
        a.push_back(action::StartTimer{kConnectTimer, settings_.connect_timeout_ms});
        a.push_back(action::StartTimer{kHandshakeTimer, settings_.handshake_timeout_ms});
    } else if (std::holds_alternative<event::Connected>(event)) {
        on_connected(a);
    } else if (const auto* failed = std::get_if<event::ConnectFailed>(&event)) {
        finish(a, Outcome::UpstreamFailed, "cannot connect to the server: " + failed->reason,
               false);
    } else if (const auto* bytes = std::get_if<event::BytesReceived>(&event)) {
        if (bytes->side == Side::Client) {
            on_client_bytes(bytes->bytes, a);
        } else {
            on_server_bytes(bytes->bytes, a);
        }
    } else if (const auto* closed = std::get_if<event::PeerClosed>(&event)) {
        if (closed->side == Side::Client) {
            on_client_closed(closed->detail, a);
        } else {
            on_server_closed(closed->detail, a);
        }
    } else if (const auto* timer = std::get_if<event::TimerFired>(&event)) {
        on_timer(timer->timer, a);
    } else if (const auto* stopping = std::get_if<event::Stopping>(&event)) {
        finish(a, judge_client_left(), "closed by the lab: " + stopping->reason, false);
    }
    return a;
}

bool ProxySession::upstream_ready() const {
    auto p = server_.phase();
    return p == ServerLeg::Phase::Tls || p == ServerLeg::Phase::LoginOnlyTls ||
           p == ServerLeg::Phase::Plain;
}

bool ProxySession::client_ready() const {
    auto p = client_.phase();
    return p == ClientLeg::Phase::Tls || p == ClientLeg::Phase::LoginOnlyTls ||
           p == ClientLeg::Phase::Plain;
}

void ProxySession::on_connected(Actions& a) {
    connected_ = true;
    a.push_back(action::CancelTimer{kConnectTimer});
    if (!pending_raw_to_server_.empty()) {
        record_.bytes_to_server += pending_raw_to_server_.size();
        a.push_back(action::Send{Side::Server, std::exchange(pending_raw_to_server_, {})});
    }
    if (prelogin_pending_) {
        prelogin_pending_ = false;
        server_.send_prelogin(raw_message(prelogin_packets_, encryption_to_server_));
    }
    if (tds8_pending_) {
        tds8_pending_ = false;
        server_.start_tls_first();
    }
    flush(a);
}

void ProxySession::on_client_bytes(std::span<const std::uint8_t> bytes, Actions& a) {
    record_.bytes_from_client += bytes.size();
    if (login_seen_) {
        a.push_back(action::StartTimer{kIdleTimer, settings_.idle_timeout_ms});
    }
    if (is_passthrough() || client_.protocol() == Protocol::Unknown) {
        if (is_passthrough()) {
            observer_.on_client(bytes);
            record_.protocol = !observer_.first_byte()           ? "undecided"
                               : *observer_.first_byte() == 0x12 ? "tds7"
                               : *observer_.first_byte() == 0x16 ? "tds8"
                                                                 : "unknown";
        }
        if (connected_) {
            record_.bytes_to_server += bytes.size();
            a.push_back(
                action::Send{Side::Server, std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
        } else {
            pending_raw_to_server_.insert(pending_raw_to_server_.end(), bytes.begin(), bytes.end());
        }
        return;
    }
    on_client_output(client_.on_bytes(bytes), a);
}

void ProxySession::note_client_tls() {
    const TlsEndpoint* tls = client_.tls();
    if (tls == nullptr) {
        return;
    }
    auto& t = record_.client_tls;
    t.started = true;
    t.established = tls->handshake_done();
    if (const auto& hello = tls->client_hello()) {
        t.offered_versions = hello->offered_versions;
        t.sni = hello->sni;
        t.alpn_offered = hello->alpn;
    }
    t.version = tls->version();
    t.cipher = tls->cipher();
    t.alpn = tls->alpn_selected();
    t.alert_received = tls->alert_received();
    t.alert_sent = tls->alert_sent();
    t.failure = tls->failure_reason();
    if (!record_.certificate_shown) {
        record_.certificate_shown = settings_.scenario->leaf_info;
    }
}

void ProxySession::note_upstream_tls() {
    const TlsEndpoint* tls = server_.tls();
    if (tls == nullptr) {
        return;
    }
    auto& t = record_.upstream_tls;
    t.started = true;
    t.established = tls->handshake_done();
    t.version = tls->version();
    t.cipher = tls->cipher();
    t.alpn = tls->alpn_selected();
    t.alert_received = tls->alert_received();
    t.alert_sent = tls->alert_sent();
    t.failure = tls->failure_reason();
    if (X509* cert = tls->peer_certificate(); cert != nullptr && !record_.upstream_certificate) {
        record_.upstream_certificate = certs::describe(cert);
    }
    if (settings_.upstream_verified) {
        record_.upstream_verification = t.established ? "verified" : "failed: " + t.failure;
    }
}

void ProxySession::maybe_switch(SessionFacts::Stage stage, const std::optional<std::string>& sni) {
    if (!settings_.choose || is_passthrough()) {
        return;
    }
    SessionFacts facts;
    facts.stage = stage;
    facts.client_address = record_.client_address;
    if (record_.client_prelogin) {
        facts.prelogin_version = record_.client_prelogin->version;
    }
    facts.sni = sni;
    if (auto chosen = settings_.choose(facts); chosen && !chosen->scenario.passthrough) {
        settings_.scenario = std::move(chosen);
        record_.scenario = settings_.scenario->scenario.name;
    }
}

void ProxySession::on_client_output(ClientLeg::Output out, Actions& a) {
    if (out.paused_sni && !out.error) {
        // The ClientHello is here: the last moment to choose what the client is shown.
        maybe_switch(SessionFacts::Stage::ClientHello, *out.paused_sni);
        SSL_CTX* ctx = client_.protocol() == Protocol::Tds8 ? settings_.scenario->tds8_ctx.get()
                                                            : settings_.scenario->tds7_ctx.get();
        on_client_output(client_.start_tls(ctx), a);
        return;
    }
    if (out.tls_started || out.tls_established) {
        note_client_tls();
    }
    if (out.tls_started && settings_.scenario->scenario.tds.reset_during_handshake) {
        (void)client_.take_output(); // the ServerHello never leaves: the client meets a reset
        finish(a, Outcome::ClosedDuringHandshake,
               "connection reset by the scenario after the ClientHello", false, true);
        return;
    }
    if (out.error) {
        note_client_tls();
        const TlsEndpoint* tls = client_.tls();
        if (tls != nullptr && tls->alert_received()) {
            record_.alert = tls->alert_received();
            finish(a, Outcome::Alert, *out.error);
        } else {
            finish(a, Outcome::ProtocolError, *out.error);
        }
        return;
    }
    if (client_.protocol() == Protocol::Unknown) {
        record_.protocol = "unknown";
        if (connected_) {
            record_.bytes_to_server += out.raw.size();
            a.push_back(action::Send{Side::Server, std::move(out.raw)});
        } else {
            pending_raw_to_server_.insert(pending_raw_to_server_.end(), out.raw.begin(),
                                          out.raw.end());
        }
        return;
    }
    if (client_.protocol() == Protocol::Tds8 && record_.protocol != "tds8") {
        record_.protocol = "tds8";
        server_ =
            ServerLeg(ServerLeg::Config{settings_.upstream_tds8_ctx, settings_.upstream_name});
        if (connected_) {
            server_.start_tls_first();
        } else {
            tds8_pending_ = true;
        }
    }
    for (auto& p : out.packets) {
        if (client_.protocol() == Protocol::Tds7 && !record_.client_prelogin) {
            keep(true, p.bytes);
            prelogin_packets_.push_back(std::move(p));
            continue;
        }
        inspect_client_packet(p, a);
        if (client_.protocol() == Protocol::Tds8 && !record_.client_prelogin &&
            p.header.type == static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
            if (auto parsed = tds::Prelogin::parse(p.payload())) {
                record_.client_prelogin = summarise(*parsed);
            }
        }
        if (p.header.type == static_cast<std::uint8_t>(tds::PacketType::Login7) && !login_seen_) {
            login_seen_ = true;
            record_.client_mode = client_.mode();
            record_.outcome = client_.mode() == tds::EncryptionMode::None ? Outcome::LoginPlaintext
                                                                          : Outcome::LoginEncrypted;
            a.push_back(action::CancelTimer{kHandshakeTimer});
            a.push_back(action::StartTimer{kIdleTimer, settings_.idle_timeout_ms});
        }
        forward_to_server(p);
    }
    if (out.prelogin_complete) {
        on_client_prelogin(a);
        if (finished_) {
            return;
        }
    }
    if (out.tls_closed) {
        flush_queues();
        flush(a);
        on_client_closed("the client sent close_notify", a);
        return;
    }
    flush_queues();
    flush(a);
}

void ProxySession::on_client_prelogin(Actions& a) {
    record_.protocol = "tds7";
    auto parsed = tds::Prelogin::parse(client_.prelogin()->payload);
    if (!parsed) {
        finish(a, Outcome::ProtocolError,
               "bad PRELOGIN from the client: " + std::string(tds::to_string(parsed.error())));
        return;
    }
    record_.client_prelogin = summarise(*parsed);
    maybe_switch(SessionFacts::Stage::Prelogin, std::nullopt);
    std::uint8_t sent = record_.client_prelogin->encryption;
    encryption_to_server_ = settings_.scenario->scenario.tds.encryption_to_server.value_or(sent);
    if (connected_) {
        server_.send_prelogin(raw_message(prelogin_packets_, encryption_to_server_));
    } else {
        prelogin_pending_ = true;
    }
    flush(a);
}

void ProxySession::on_server_bytes(std::span<const std::uint8_t> bytes, Actions& a) {
    record_.bytes_from_server += bytes.size();
    if (login_seen_) {
        a.push_back(action::StartTimer{kIdleTimer, settings_.idle_timeout_ms});
    }
    if (is_passthrough() || client_.protocol() == Protocol::Unknown) {
        if (is_passthrough()) {
            observer_.on_server(bytes);
        }
        record_.bytes_to_client += bytes.size();
        a.push_back(
            action::Send{Side::Client, std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
        return;
    }
    on_server_output(server_.on_bytes(bytes), a);
}

void ProxySession::on_server_output(ServerLeg::Output out, Actions& a) {
    if (out.tls_established) {
        note_upstream_tls();
        if (client_.protocol() == Protocol::Tds8) {
            record_.upstream_mode = tds::EncryptionMode::Full; // TLS first: always full
        }
    }
    if (out.error) {
        note_upstream_tls();
        finish(a, Outcome::UpstreamFailed, "server leg: " + *out.error);
        return;
    }
    std::vector<tds::Packet> answer;
    for (auto& p : out.packets) {
        if (client_.protocol() == Protocol::Tds7 && !record_.upstream_answer) {
            answer.push_back(std::move(p));
            continue;
        }
        inspect_server_packet(p, a);
        forward_to_client(p);
    }
    if (out.prelogin_answered) {
        answer_packets_ = std::move(answer);
        on_upstream_answer(a);
        if (finished_) {
            return;
        }
    } else if (!answer.empty()) {
        answer_packets_.insert(answer_packets_.end(), answer.begin(), answer.end());
    }
    if (out.tls_closed) {
        flush_queues();
        flush(a);
        on_server_closed("the server sent close_notify", a);
        return;
    }
    flush_queues();
    flush(a);
}

void ProxySession::on_upstream_answer(Actions& a) {
    auto parsed = tds::Prelogin::parse(server_.prelogin_answer()->payload);
    if (!parsed) {
        finish(a, Outcome::UpstreamFailed,
               "bad PRELOGIN answer from the server: " +
                   std::string(tds::to_string(parsed.error())));
        return;
    }
    record_.upstream_answer = summarise(*parsed);
    std::uint8_t answer = record_.upstream_answer->encryption;
    auto upstream_mode = leg_mode(encryption_to_server_, answer);
    record_.upstream_mode = upstream_mode;

    auto to_client = settings_.scenario->scenario.tds.encryption_to_client;
    auto bytes = raw_message(answer_packets_, to_client);
    std::uint8_t shown = to_client.value_or(answer);
    record_.client_answer = *record_.upstream_answer;
    record_.client_answer->encryption = shown;
    record_.client_answer->encryption_name = tds::encryption_name(shown);
    auto client_mode = leg_mode(record_.client_prelogin->encryption, shown);
    if (client_mode == tds::EncryptionMode::None) {
        client_mode = tds::EncryptionMode::Full; // if it starts TLS anyway, carry it fully
    }

    keep(false, bytes);
    on_server_output(server_.start(upstream_mode), a);
    if (finished_) {
        return;
    }
    on_client_output(client_.answer_prelogin(bytes, client_mode), a);
}

void ProxySession::forward_to_server(const tds::Packet& p) {
    pending_to_server_.push_back(p.bytes);
}

void ProxySession::forward_to_client(const tds::Packet& p) {
    pending_to_client_.push_back(p.bytes);
}

void ProxySession::flush_queues() {
    while (upstream_ready() && !pending_to_server_.empty()) {
        server_.send_packet(pending_to_server_.front());
        pending_to_server_.pop_front();
    }
    while (client_ready() && !pending_to_client_.empty()) {
        client_.send_packet(pending_to_client_.front());
        pending_to_client_.pop_front();
    }
}

void ProxySession::flush(Actions& a) {
    auto to_client = client_.take_output();
    if (!to_client.empty()) {
        record_.bytes_to_client += to_client.size();
        a.push_back(action::Send{Side::Client, std::move(to_client)});
    }
    if (connected_) {
        auto to_server = server_.take_output();
        if (!to_server.empty()) {
            record_.bytes_to_server += to_server.size();
            a.push_back(action::Send{Side::Server, std::move(to_server)});
        }
    }
}

Outcome ProxySession::judge_client_left() const {
    if (is_passthrough()) {
        switch (observer_.seen()) {
        case PassthroughObserver::Seen::LoginEncrypted:
            return Outcome::LoginEncrypted;
        case PassthroughObserver::Seen::LoginPlaintext:
            return Outcome::LoginPlaintext;
        case PassthroughObserver::Seen::Alert:
            return Outcome::Alert;
        case PassthroughObserver::Seen::TlsStarted:
            return Outcome::ClosedDuringHandshake;
        case PassthroughObserver::Seen::Nothing:
            return Outcome::ClosedBeforeTls;
        }
    }
    if (login_seen_) {
        return record_.outcome;
    }
    switch (client_.phase()) {
    case ClientLeg::Phase::WrappedHandshake:
    case ClientLeg::Phase::Tds8Handshake:
        return Outcome::ClosedDuringHandshake;
    case ClientLeg::Phase::LoginOnlyTls:
    case ClientLeg::Phase::Tls:
        return Outcome::ClosedAfterHandshake;
    case ClientLeg::Phase::Failed:
        return Outcome::ProtocolError;
    case ClientLeg::Phase::AwaitTlsDecision: // the ClientHello was sent: the handshake began
        return Outcome::ClosedDuringHandshake;
    case ClientLeg::Phase::AwaitFirstByte:
    case ClientLeg::Phase::Tds7Prelogin:
    case ClientLeg::Phase::AwaitDecision:
    case ClientLeg::Phase::AwaitTlsOrLogin:
    case ClientLeg::Phase::Plain:
    case ClientLeg::Phase::Unknown:
        break;
    }
    return Outcome::ClosedBeforeTls;
}

bool ProxySession::session_has_login() const {
    if (is_passthrough()) {
        auto seen = observer_.seen();
        return seen == PassthroughObserver::Seen::LoginEncrypted ||
               seen == PassthroughObserver::Seen::LoginPlaintext;
    }
    return login_seen_;
}

void ProxySession::on_client_closed(const std::string& detail, Actions& a) {
    client_eof_ = true;
    std::string why =
        "the client closed the connection" + (detail.empty() ? "" : " (" + detail + ")");
    if (!session_has_login()) {
        finish(a, judge_client_left(), why);
        return;
    }
    if (server_eof_) {
        finish(a, judge_client_left(), "the server closed the connection, then the client");
        return;
    }
    flush(a);
    a.push_back(action::HalfClose{Side::Server});
}

void ProxySession::on_server_closed(const std::string& detail, Actions& a) {
    server_eof_ = true;
    std::string why =
        "the server closed the connection" + (detail.empty() ? "" : " (" + detail + ")");
    if (!session_has_login()) {
        if (is_passthrough() || client_.protocol() == Protocol::Unknown) {
            finish(a, judge_client_left(), why);
        } else {
            note_upstream_tls();
            finish(a, Outcome::UpstreamFailed, why + " before the login");
        }
        return;
    }
    if (client_eof_) {
        finish(a, judge_client_left(), "the client closed the connection, then the server");
        return;
    }
    flush(a);
    a.push_back(action::HalfClose{Side::Client});
}

void ProxySession::on_timer(int timer, Actions& a) {
    switch (timer) {
    case kConnectTimer:
        if (!connected_) {
            finish(a, Outcome::UpstreamFailed,
                   "no connection to the server within " + seconds(settings_.connect_timeout_ms),
                   false);
        }
        break;
    case kHandshakeTimer:
        if (!session_has_login()) {
            finish(a, judge_client_left(),
                   "no login within " + seconds(settings_.handshake_timeout_ms), false);
        }
        break;
    case kIdleTimer:
        finish(a, judge_client_left(), "idle for " + seconds(settings_.idle_timeout_ms), false);
        break;
    default:
        break;
    }
}

void ProxySession::finish(Actions& a, Outcome outcome, std::string detail, bool flush_first,
                          bool reset) {
    if (finished_) {
        return;
    }
    note_client_tls();
    note_upstream_tls();
    if (is_passthrough()) {
        // What the observer could read of the untouched stream: the PRELOGIN exchange.
        if (const auto& m = observer_.client_prelogin(); m && !record_.client_prelogin) {
            if (auto p = tds::Prelogin::parse(m->payload)) {
                record_.client_prelogin = summarise(*p);
            }
        }
        if (const auto& m = observer_.server_answer(); m && !record_.upstream_answer) {
            if (auto p = tds::Prelogin::parse(m->payload)) {
                record_.upstream_answer = summarise(*p);
                record_.client_answer = record_.upstream_answer; // relayed untouched
            }
        }
        if (observer_.alert_code() && !record_.alert) {
            record_.alert =
                TlsAlert{*observer_.alert_code(), alert_name(*observer_.alert_code()), true};
        }
    }
    if (record_.protocol == "undecided" && client_.protocol() != Protocol::Undecided) {
        record_.protocol = std::string(to_string(client_.protocol()));
    }
    if (!record_.client_mode) {
        if (client_.tls() != nullptr) {
            // TLS began: the mode it was for, whether or not the handshake completed.
            record_.client_mode =
                client_.tls()->handshake_done() ? client_.mode() : client_.mode_if_tls();
        } else if (client_.phase() == ClientLeg::Phase::Plain) {
            record_.client_mode = tds::EncryptionMode::None;
        }
    }
    if (!record_.alert && record_.client_tls.alert_received && outcome == Outcome::Alert) {
        record_.alert = record_.client_tls.alert_received;
    }
    if (flush_first && !reset) {
        flush_queues();
        flush(a);
    }
    finished_ = true;
    record_.outcome = outcome;
    record_.detail = std::move(detail);
    record_.ended = settings_.now();
    a.push_back(action::Log{LogLevel::Info, summary_line(record_)});
    a.push_back(action::Record{std::make_shared<const SessionRecord>(record_)});
    a.push_back(action::Close{record_.detail, flush_first && !reset, reset});
}

} // namespace proxy
