#include <cstdio>

#include <proxy/core/tds/serve_session.h>
#include <tds/packet_writer.h>
#include <tds/prelogin.h>

namespace proxy {

namespace {

// PRELOGIN VERSION of the answer: SQL Server 2022 RTM (16.0.1000.0).
constexpr tds::PreloginVersion kServerVersion{16, 0, 1000, 0};

std::string hex_byte(std::uint8_t b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", b);
    return buf;
}

tds::ServerEncryption table_setting(ServeEncryption e) {
    switch (e) {
    case ServeEncryption::Off:
        return tds::ServerEncryption::Off;
    case ServeEncryption::Force:
    case ServeEncryption::Strict:
        return tds::ServerEncryption::On;
    case ServeEncryption::None:
        return tds::ServerEncryption::NotSupported;
    }
    return tds::ServerEncryption::NotSupported;
}

} // namespace

std::string_view to_string(Side s) {
    return s == Side::Client ? "client" : "server";
}

std::string_view to_string(ServeEncryption e) {
    switch (e) {
    case ServeEncryption::Off:
        return "off";
    case ServeEncryption::Force:
        return "force";
    case ServeEncryption::Strict:
        return "strict";
    case ServeEncryption::None:
        return "none";
    }
    return "?";
}

std::optional<ServeEncryption> serve_encryption_from_name(std::string_view name) {
    if (name == "off") {
        return ServeEncryption::Off;
    }
    if (name == "force") {
        return ServeEncryption::Force;
    }
    if (name == "strict") {
        return ServeEncryption::Strict;
    }
    if (name == "none") {
        return ServeEncryption::None;
    }
    return std::nullopt;
}

ServeSession::ServeSession(const ServeSettings& settings, std::uint16_t spid)
    : settings_(settings), spid_(spid),
      leg_(ClientLeg::Config{settings.tds7_ctx, settings.tds8_ctx}),
      responder_(settings.responder, spid), messages_(settings.max_message_bytes) {}

Actions ServeSession::handle(const Event& event) {
    Actions actions;
    if (closed_) {
        return actions;
    }
    if (std::holds_alternative<event::Started>(event)) {
        actions.push_back(action::StartTimer{kLoginTimer, settings_.login_timeout_ms});
    } else if (const auto* bytes = std::get_if<event::BytesReceived>(&event)) {
        absorb(leg_.on_bytes(bytes->bytes), actions);
    } else if (const auto* closed = std::get_if<event::PeerClosed>(&event)) {
        std::string where = std::string(to_string(leg_.phase()));
        bool quiet = responder_.logged_in();
        close(actions, quiet ? LogLevel::Debug : LogLevel::Info,
              "client closed the connection (" + where + ")" +
                  (closed->detail.empty() ? "" : ": " + closed->detail),
              false);
    } else if (const auto* stopping = std::get_if<event::Stopping>(&event)) {
        close(actions, LogLevel::Debug, "closed by the server: " + stopping->reason, false);
    } else if (const auto* timer = std::get_if<event::TimerFired>(&event)) {
        if (timer->timer == kLoginTimer && !responder_.logged_in()) {
            close(actions, LogLevel::Warn,
                  "no login within " + std::to_string(settings_.login_timeout_ms / 1000) + " s (" +
                      std::string(to_string(leg_.phase())) + ")",
                  false);
        }
    }
    // Connected / ConnectFailed never happen here: serve has no upstream.
    return actions;
}

void ServeSession::absorb(ClientLeg::Output out, Actions& actions) {
    if (out.tls_established) {
        const TlsEndpoint* tls = leg_.tls();
        std::string sni = tls->sni_received();
        actions.push_back(action::Log{
            LogLevel::Debug,
            "TLS established: " + tls->version() + " " + tls->cipher() +
                (sni.empty() ? "" : ", SNI " + sni) +
                (tls->alpn_selected().empty() ? "" : ", ALPN " + tls->alpn_selected())});
    }
    if (out.error) {
        flush_output(actions); // a wrapped alert may be waiting
        close(actions, LogLevel::Warn, *out.error);
        return;
    }
    if (leg_.protocol() == Protocol::Unknown) {
        close(actions, LogLevel::Warn,
              "not a TDS client: first byte " + hex_byte(out.raw.empty() ? 0 : out.raw[0]), false);
        return;
    }
    if (out.prelogin_complete) {
        on_prelogin(actions);
        return; // on_prelogin absorbed what followed
    }
    if (out.plaintext_login && negotiation_ &&
        (negotiation_->terminate || negotiation_->mode != tds::EncryptionMode::None)) {
        close(actions, LogLevel::Warn,
              "the client went on without TLS after the server answered ENCRYPTION=" +
                  std::string(tds::to_string(negotiation_->answer)) + ": refused",
              false);
        return;
    }
    if (leg_.without_prelogin() && !negotiation_) {
        // LOGIN7 first, no PRELOGIN: SQL Server serves it in clear unless it forces encryption,
        // when it closes the connection (jTDS then says "DB server closed connection").
        if (settings_.encryption == ServeEncryption::Force ||
            settings_.encryption == ServeEncryption::Strict) {
            close(actions, LogLevel::Warn,
                  "a LOGIN7 without PRELOGIN refused: this server forces encryption", false);
            return;
        }
        negotiation_ =
            tds::Negotiation{tds::Encryption::NotSupported, tds::EncryptionMode::None, false};
        actions.push_back(action::Log{LogLevel::Info,
                                      "LOGIN7 without PRELOGIN: served in clear, as SQL Server "
                                      "does when it does not force encryption"});
    }
    for (const auto& packet : out.packets) {
        if (leg_.protocol() == Protocol::Tds7 && !negotiation_) {
            continue; // PRELOGIN packets: answered once whole, in on_prelogin
        }
        auto message = messages_.add(packet);
        if (!message && message.error() == tds::Error::MessageTooLarge) {
            close(actions, LogLevel::Warn,
                  "limit max-message-bytes=" + std::to_string(settings_.max_message_bytes) +
                      " reached: a TDS message from the client is longer",
                  false);
            return;
        }
        if (!message) {
            close(actions, LogLevel::Warn,
                  std::string("bad message: ") + std::string(tds::to_string(message.error())));
            return;
        }
        if (*message) {
            on_message(**message, actions);
            if (closed_) {
                return;
            }
        }
    }
    if (out.tls_closed) {
        close(actions, LogLevel::Debug, "client sent close_notify");
        return;
    }
    flush_output(actions);
}

void ServeSession::on_prelogin(Actions& actions) {
    if (settings_.encryption == ServeEncryption::Strict) {
        close(actions, LogLevel::Warn,
              "plain PRELOGIN refused: this server accepts only strict (TDS 8.0) connections",
              false);
        return;
    }
    auto prelogin = tds::Prelogin::parse(leg_.prelogin()->payload);
    if (!prelogin) {
        close(actions, LogLevel::Warn,
              "bad PRELOGIN: " + std::string(tds::to_string(prelogin.error())), false);
        return;
    }
    std::uint8_t raw =
        prelogin->encryption().value_or(static_cast<std::uint8_t>(tds::Encryption::NotSupported));
    auto client = tds::decode_encryption(raw).value_or(tds::Encryption::NotSupported);
    negotiation_ = tds::negotiate(client, table_setting(settings_.encryption));
    auto payload = tds::PreloginBuilder{}
                       .version(kServerVersion)
                       .encryption(static_cast<std::uint8_t>(negotiation_->answer))
                       .instance_ok()
                       .thread_id_empty()
                       .mars(false)
                       .build();
    auto message = tds::write_message(static_cast<std::uint8_t>(tds::PacketType::TabularResult),
                                      payload, tds::kDefaultPacketLen, 0);
    auto version = prelogin->version();
    actions.push_back(action::Log{
        LogLevel::Debug,
        "PRELOGIN: client ENCRYPTION=" + tds::encryption_name(raw) +
            (version ? " version " + version->to_string() : std::string()) + ", answered " +
            std::string(tds::to_string(negotiation_->answer)) + " (" +
            (negotiation_->terminate ? "client expected to give up"
                                     : std::string(tds::to_string(negotiation_->mode))) +
            ")"});
    absorb(leg_.answer_prelogin(message, negotiation_->mode), actions);
}

void ServeSession::answer_tds8_prelogin(const tds::Message& message, Actions& actions) {
    auto prelogin = tds::Prelogin::parse(message.payload);
    if (!prelogin) {
        close(actions, LogLevel::Warn,
              "bad PRELOGIN inside TLS: " + std::string(tds::to_string(prelogin.error())), false);
        return;
    }
    // In TDS 8.0 the clients ignore the server's ENCRYPTION byte; answer in kind.
    std::uint8_t raw =
        prelogin->encryption().value_or(static_cast<std::uint8_t>(tds::Encryption::NotSupported));
    auto payload = tds::PreloginBuilder{}
                       .version(kServerVersion)
                       .encryption(raw & tds::kEncryptionOptionsMask)
                       .instance_ok()
                       .thread_id_empty()
                       .mars(false)
                       .build();
    send_message(static_cast<std::uint8_t>(tds::PacketType::TabularResult), payload,
                 tds::kDefaultPacketLen);
    actions.push_back(action::Log{LogLevel::Debug, "PRELOGIN inside TLS (TDS 8.0): ENCRYPTION=" +
                                                       tds::encryption_name(raw)});
}

void ServeSession::on_message(const tds::Message& message, Actions& actions) {
    if (leg_.protocol() == Protocol::Tds8 && !responder_.logged_in() &&
        message.type == static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
        answer_tds8_prelogin(message, actions);
        return;
    }
    auto reply = responder_.handle(message);
    if (!reply) {
        close(actions, LogLevel::Warn, reply.error());
        return;
    }
    if (!*reply) {
        return;
    }
    const auto& r = **reply;
    send_message(static_cast<std::uint8_t>(tds::PacketType::TabularResult), r.payload,
                 packet_size_);
    if (r.new_packet_size) {
        packet_size_ = *r.new_packet_size;
    }
    if (!r.log.empty()) {
        bool login_line = message.type == static_cast<std::uint8_t>(tds::PacketType::Login7);
        std::string text = r.log;
        if (login_line) {
            text += " (" + std::string(to_string(leg_.protocol())) + ", encryption " +
                    std::string(tds::to_string(leg_.mode())) +
                    (leg_.tls() ? ", " + leg_.tls()->version() : std::string()) + ")";
        }
        actions.push_back(
            action::Log{login_line || r.notable ? LogLevel::Info : LogLevel::Debug, text});
    }
    if (responder_.logged_in() &&
        message.type == static_cast<std::uint8_t>(tds::PacketType::Login7)) {
        actions.push_back(action::CancelTimer{kLoginTimer});
    }
    if (r.close_after) {
        flush_output(actions);
        close(actions, LogLevel::Debug, "closing after the failed login");
    }
}

void ServeSession::send_message(std::uint8_t type, std::span<const std::uint8_t> payload,
                                std::size_t packet_len) {
    std::uint16_t spid = responder_.logged_in() ? spid_ : 0;
    for (const auto& p : tds::split_message(type, payload, packet_len, spid)) {
        leg_.send_packet(p.bytes);
    }
}

void ServeSession::flush_output(Actions& actions) {
    auto bytes = leg_.take_output();
    if (!bytes.empty()) {
        actions.push_back(action::Send{Side::Client, std::move(bytes)});
    }
}

void ServeSession::close(Actions& actions, LogLevel level, std::string reason, bool flush) {
    if (closed_) {
        return;
    }
    flush_output(actions);
    closed_ = true;
    actions.push_back(action::Log{level, reason});
    actions.push_back(action::Close{std::move(reason), flush});
}

} // namespace proxy
