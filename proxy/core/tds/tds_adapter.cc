#include <proxy/core/tds/tds_adapter.h>
#include <tds/packet.h>
#include <tds/packet_writer.h>
#include <tds/prelogin.h>

namespace proxy {

namespace {

constexpr std::uint8_t kNotSupported = static_cast<std::uint8_t>(tds::Encryption::NotSupported);

} // namespace

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

namespace {

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

} // namespace

TdsAdapter::TdsAdapter(const SessionContext& ctx)
    : client_(ClientLeg::Config{ctx.scenario().tds7_ctx.get(), ctx.scenario().tds8_ctx.get(), 4096,
                                true}),
      server_(ServerLeg::Config{ctx.settings().upstream.tds7, ctx.settings().upstream_name}),
      inspector_(ctx.settings().max_message_bytes) {}

bool TdsAdapter::upstream_ready() const {
    auto p = server_.phase();
    return p == ServerLeg::Phase::Tls || p == ServerLeg::Phase::LoginOnlyTls ||
           p == ServerLeg::Phase::Plain;
}

bool TdsAdapter::client_ready() const {
    auto p = client_.phase();
    return p == ClientLeg::Phase::Tls || p == ClientLeg::Phase::LoginOnlyTls ||
           p == ClientLeg::Phase::Plain;
}

void TdsAdapter::on_connected(SessionContext& ctx) {
    flush(ctx);
}

void TdsAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (client_.protocol() == Protocol::Unknown) {
        ctx.send(Side::Server, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        return;
    }
    on_client_output(ctx, client_.on_bytes(bytes));
}

void TdsAdapter::note_client_tls(SessionContext& ctx) {
    const TlsEndpoint* tls = client_.tls();
    if (tls == nullptr) {
        return;
    }
    note_tls(ctx.record().client_tls, *tls);
    if (!ctx.record().certificate_shown) {
        ctx.record().certificate_shown = ctx.scenario().leaf_info;
    }
}

void TdsAdapter::note_upstream_tls(SessionContext& ctx) {
    if (const TlsEndpoint* tls = server_.tls()) {
        note_upstream(ctx, *tls);
    }
}

void TdsAdapter::maybe_switch(SessionContext& ctx, SessionFacts::Stage stage,
                              const std::optional<std::string>& sni) {
    SessionFacts facts;
    facts.stage = stage;
    facts.client_address = ctx.record().client_address;
    if (ctx.record().client_prelogin) {
        facts.prelogin_version = ctx.record().client_prelogin->version;
    }
    facts.sni = sni;
    ctx.choose(facts);
}

void TdsAdapter::on_client_output(SessionContext& ctx, ClientLeg::Output out) {
    auto& record = ctx.record();
    if (out.paused_sni && !out.error) {
        // The ClientHello is here: the last moment to choose what the client is shown.
        maybe_switch(ctx, SessionFacts::Stage::ClientHello, *out.paused_sni);
        SSL_CTX* tls_ctx = client_.protocol() == Protocol::Tds8 ? ctx.scenario().tds8_ctx.get()
                                                                : ctx.scenario().tds7_ctx.get();
        on_client_output(ctx, client_.start_tls(tls_ctx));
        return;
    }
    if (out.tls_started || out.tls_established) {
        note_client_tls(ctx);
    }
    if (out.tls_started && ctx.scenario().scenario.tds.reset_during_handshake) {
        (void)client_.take_output(); // the ServerHello never leaves: the client meets a reset
        ctx.finish(Outcome::ClosedDuringHandshake,
                   "connection reset by the scenario after the ClientHello", false, true);
        return;
    }
    if (out.error) {
        note_client_tls(ctx);
        ctx.client_tls_failed(client_.tls(), *out.error);
        return;
    }
    if (client_.protocol() == Protocol::Unknown) {
        record.protocol = "unknown";
        ctx.send(Side::Server, std::move(out.raw));
        return;
    }
    if (client_.protocol() == Protocol::Tds8 && record.protocol != "tds8") {
        record.protocol = "tds8";
        server_ = ServerLeg(
            ServerLeg::Config{ctx.settings().upstream.tds8, ctx.settings().upstream_name});
        server_.start_tls_first();
    }
    if (client_.without_prelogin() && record.protocol != "tds7") {
        // LOGIN7 first, no PRELOGIN (a client older than SQL Server 2005's PRELOGIN, or jTDS
        // with ssl=off): relayed the same way, so the server decides, all in clear.
        record.protocol = "tds7";
        server_.start_plain();
        ctx.log(LogLevel::Info, "the client sent its LOGIN7 without a PRELOGIN: no encryption "
                                "was even proposed");
    }
    for (auto& p : out.packets) {
        if (client_.protocol() == Protocol::Tds7 && !record.client_prelogin &&
            !client_.without_prelogin()) {
            ctx.keep(true, p.bytes);
            prelogin_packets_.push_back(std::move(p));
            continue;
        }
        inspector_.client_packet(ctx, p, client_.mode() != tds::EncryptionMode::None);
        if (ctx.finishing()) {
            return; // over --max-message-bytes: nothing more is relayed
        }
        if (client_.protocol() == Protocol::Tds8 && !record.client_prelogin &&
            p.header.type == static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
            if (auto parsed = tds::Prelogin::parse(p.payload())) {
                record.client_prelogin = summarise(*parsed);
            }
        }
        if (p.header.type == static_cast<std::uint8_t>(tds::PacketType::Login7) && !login_seen_) {
            login_seen_ = true;
            if (const auto& host = ctx.scenario().scenario.tds.route_to_host; !host.empty()) {
                router_.emplace(host, ctx.settings().listen_port);
            }
            record.client_mode = client_.mode();
            ctx.reached_login(client_.mode() == tds::EncryptionMode::None
                                  ? Outcome::LoginPlaintext
                                  : Outcome::LoginEncrypted);
        }
        pending_to_server_.push_back(p.bytes);
    }
    if (out.prelogin_complete) {
        on_client_prelogin(ctx);
        if (ctx.finishing()) {
            return;
        }
    }
    flush_queues();
    flush(ctx);
    if (out.tls_closed) {
        ctx.peer_closed(Side::Client, "the client sent close_notify");
    }
}

void TdsAdapter::on_client_prelogin(SessionContext& ctx) {
    auto& record = ctx.record();
    record.protocol = "tds7";
    auto parsed = tds::Prelogin::parse(client_.prelogin()->payload);
    if (!parsed) {
        ctx.finish(Outcome::ProtocolError,
                   "bad PRELOGIN from the client: " + std::string(tds::to_string(parsed.error())));
        return;
    }
    record.client_prelogin = summarise(*parsed);
    maybe_switch(ctx, SessionFacts::Stage::Prelogin, std::nullopt);
    if (ctx.scenario().scenario.tds.strict_only) {
        // SQL Server 2022 with Force Strict Encryption: no PRELOGIN answer, the connection is
        // torn down (clients on Windows report error 10054, "forcibly closed by the remote
        // host"); the server's error log gets 17819.
        ctx.finish(Outcome::ClosedBeforeTls,
                   "refused: this server accepts only strict (TDS 8.0) connections, and the "
                   "client began TDS 7.x (a plain PRELOGIN); SQL Server logs error 17819 \"The "
                   "SQL Server or the endpoint is configured to accept only strict (TDS 8.0 and "
                   "above) connections. The connection has been closed.\"",
                   false, true);
        return;
    }
    std::uint8_t sent = record.client_prelogin->encryption;
    encryption_to_server_ = ctx.scenario().scenario.tds.encryption_to_server.value_or(sent);
    server_.send_prelogin(raw_message(prelogin_packets_, encryption_to_server_));
    flush(ctx);
}

void TdsAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (client_.protocol() == Protocol::Unknown) {
        ctx.send(Side::Client, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        return;
    }
    on_server_output(ctx, server_.on_bytes(bytes));
}

void TdsAdapter::on_server_output(SessionContext& ctx, ServerLeg::Output out) {
    auto& record = ctx.record();
    if (out.tls_established) {
        note_upstream_tls(ctx);
        if (client_.protocol() == Protocol::Tds8) {
            record.upstream_mode = tds::EncryptionMode::Full; // TLS first: always full
        }
    }
    if (out.error) {
        note_upstream_tls(ctx);
        ctx.finish(Outcome::UpstreamFailed, "server leg: " + *out.error);
        return;
    }
    std::vector<tds::Packet> answer;
    for (auto& p : out.packets) {
        if (client_.protocol() == Protocol::Tds7 && !record.upstream_answer &&
            !client_.without_prelogin()) {
            answer.push_back(std::move(p));
            continue;
        }
        inspector_.server_packet(ctx, p);
        if (router_ && router_->watching()) {
            std::optional<std::string> server_name;
            if (record.login) {
                server_name = record.login->server_name;
            }
            for (auto& b : router_->server_packet(p, server_name)) {
                pending_to_client_.push_back(std::move(b));
            }
            if (router_->routed()) {
                ctx.log(LogLevel::Info, "routed the client to " + router_->host() + ":" +
                                            std::to_string(router_->port()) +
                                            " (ENVCHANGE 20 after LOGINACK)");
            }
            continue;
        }
        pending_to_client_.push_back(p.bytes);
    }
    if (out.prelogin_answered) {
        answer_packets_ = std::move(answer);
        on_upstream_answer(ctx);
        if (ctx.finishing()) {
            return;
        }
    } else if (!answer.empty()) {
        answer_packets_.insert(answer_packets_.end(), answer.begin(), answer.end());
    }
    flush_queues();
    flush(ctx);
    if (out.tls_closed) {
        ctx.peer_closed(Side::Server, "the server sent close_notify");
    }
}

void TdsAdapter::on_upstream_answer(SessionContext& ctx) {
    auto& record = ctx.record();
    auto parsed = tds::Prelogin::parse(server_.prelogin_answer()->payload);
    if (!parsed) {
        ctx.finish(Outcome::UpstreamFailed, "bad PRELOGIN answer from the server: " +
                                                std::string(tds::to_string(parsed.error())));
        return;
    }
    record.upstream_answer = summarise(*parsed);
    std::uint8_t answer = record.upstream_answer->encryption;
    auto upstream_mode = leg_mode(encryption_to_server_, answer);
    record.upstream_mode = upstream_mode;

    const auto& behaviour = ctx.scenario().scenario.tds;
    auto to_client = behaviour.encryption_to_client;
    std::vector<std::uint8_t> bytes;
    std::uint8_t shown = to_client.value_or(answer);
    record.client_answer = *record.upstream_answer;
    if (behaviour.omit_encryption_option) {
        // The answer re-encoded without ENCRYPTION, in one packet as the server sent it.
        const auto& h = answer_packets_.front().header;
        bytes = tds::write_message(h.type, parsed->without(tds::prelogin_token::kEncryption),
                                   tds::kDefaultPacketLen, h.spid, h.packet_id);
        shown = kNotSupported; // a client that reads no option cannot have been offered TLS
        record.client_answer->encryption = shown;
        record.client_answer->encryption_name = "absent";
    } else {
        bytes = raw_message(answer_packets_, to_client);
        record.client_answer->encryption = shown;
        record.client_answer->encryption_name = tds::encryption_name(shown);
    }
    auto client_mode = leg_mode(record.client_prelogin->encryption, shown);
    if (client_mode == tds::EncryptionMode::None) {
        client_mode = tds::EncryptionMode::Full; // if it starts TLS anyway, carry it fully
    }

    ctx.keep(false, bytes);
    on_server_output(ctx, server_.start(upstream_mode));
    if (ctx.finishing()) {
        return;
    }
    on_client_output(ctx, client_.answer_prelogin(bytes, client_mode));
}

void TdsAdapter::flush_queues() {
    // A queue hands over what its leg can take, in order; a drained one gives back its memory
    // (an idle session holds no queue).
    auto flush = [](Packets& queue, auto ready, auto send) {
        std::size_t sent = 0;
        while (sent < queue.size() && ready()) {
            send(queue[sent++]);
        }
        if (sent == queue.size()) {
            Packets().swap(queue);
        } else {
            queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(sent));
        }
    };
    flush(
        pending_to_server_, [this] { return upstream_ready(); },
        [this](const auto& p) { server_.send_packet(p); });
    flush(
        pending_to_client_, [this] { return client_ready(); },
        [this](const auto& p) { client_.send_packet(p); });
}

void TdsAdapter::flush(SessionContext& ctx) {
    flush_queues();
    if (auto to_client = client_.take_output(); !to_client.empty()) {
        ctx.send(Side::Client, std::move(to_client));
    }
    if (auto to_server = server_.take_output(); !to_server.empty()) {
        ctx.send(Side::Server, std::move(to_server));
    }
}

Outcome TdsAdapter::judge_client_left(const SessionContext& ctx) const {
    if (login_seen_) {
        return ctx.record().outcome;
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

Outcome TdsAdapter::server_left_before_login(const SessionContext& ctx) const {
    if (client_.protocol() == Protocol::Unknown) {
        return judge_client_left(ctx);
    }
    return Outcome::UpstreamFailed;
}

void TdsAdapter::complete_record(SessionContext& ctx) {
    note_client_tls(ctx);
    note_upstream_tls(ctx);
    auto& record = ctx.record();
    if (router_ && router_->routed()) {
        record.detail += "; the login response routed the client to " + router_->host() + ":" +
                         std::to_string(router_->port()) + " (ENVCHANGE 20 after LOGINACK)";
    } else if (router_ && router_->exempt()) {
        record.detail += "; the routed connection (LOGIN7 ServerName " + router_->host() +
                         "): served, not routed again";
    }
    if (record.protocol == "undecided" && client_.protocol() != Protocol::Undecided) {
        record.protocol = std::string(to_string(client_.protocol()));
    }
    if (!record.client_mode) {
        if (client_.tls() != nullptr) {
            // TLS began: the mode it was for, whether or not the handshake completed.
            record.client_mode =
                client_.tls()->handshake_done() ? client_.mode() : client_.mode_if_tls();
        } else if (client_.phase() == ClientLeg::Phase::Plain) {
            record.client_mode = tds::EncryptionMode::None;
        }
    }
}

} // namespace proxy
