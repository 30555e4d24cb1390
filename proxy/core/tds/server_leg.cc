#include <proxy/core/tds/server_leg.h>
#include <tds/packet.h>
#include <tds/packet_writer.h>

namespace proxy {

namespace {

constexpr std::size_t kWrappedPacketLen = tds::kDefaultPacketLen;

void append(std::vector<std::uint8_t>& to, std::span<const std::uint8_t> bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

std::string codec_error(const char* what, tds::Error e) {
    return std::string(what) + std::string(tds::to_string(e));
}

} // namespace

std::string_view to_string(ServerLeg::Phase p) {
    switch (p) {
    case ServerLeg::Phase::Idle:
        return "idle";
    case ServerLeg::Phase::AwaitPreloginAnswer:
        return "await-prelogin-answer";
    case ServerLeg::Phase::AwaitDecision:
        return "await-decision";
    case ServerLeg::Phase::WrappedHandshake:
        return "wrapped-handshake";
    case ServerLeg::Phase::Tds8Handshake:
        return "tds8-handshake";
    case ServerLeg::Phase::LoginOnlyTls:
        return "login-only-tls";
    case ServerLeg::Phase::Tls:
        return "tls";
    case ServerLeg::Phase::Plain:
        return "plain";
    case ServerLeg::Phase::Failed:
        return "failed";
    }
    return "?";
}

void ServerLeg::fail(Output& out, std::string why) {
    phase_ = Phase::Failed;
    out.error = std::move(why);
}

void ServerLeg::send_prelogin(std::span<const std::uint8_t> prelogin_message) {
    append(output_, prelogin_message);
    phase_ = Phase::AwaitPreloginAnswer;
}

void ServerLeg::start_tls_first() {
    tls_ = std::make_unique<TlsEndpoint>(config_.tls_ctx, TlsRole::Client, config_.server_name);
    phase_ = Phase::Tds8Handshake;
    tls_->advance();
    append(output_, tls_->take_ciphertext());
}

ServerLeg::Output ServerLeg::start(tds::EncryptionMode mode) {
    Output out;
    if (phase_ != Phase::AwaitDecision) {
        fail(out, "start() before the PRELOGIN answer");
        return out;
    }
    mode_ = mode;
    if (mode == tds::EncryptionMode::None) {
        phase_ = Phase::Plain;
    } else {
        tls_ = std::make_unique<TlsEndpoint>(config_.tls_ctx, TlsRole::Client, config_.server_name);
        phase_ = Phase::WrappedHandshake;
        tls_->advance();
        flush_wrapped();
    }
    process(out);
    return out;
}

void ServerLeg::start_plain() {
    if (phase_ == Phase::Idle) {
        mode_ = tds::EncryptionMode::None;
        phase_ = Phase::Plain;
    }
}

ServerLeg::Output ServerLeg::on_bytes(std::span<const std::uint8_t> bytes) {
    Output out;
    switch (phase_) {
    case Phase::Failed:
        return out;
    case Phase::Tds8Handshake:
    case Phase::LoginOnlyTls:
    case Phase::Tls:
        tls_->feed_ciphertext(bytes);
        break;
    case Phase::Idle:
    case Phase::AwaitPreloginAnswer:
    case Phase::AwaitDecision:
    case Phase::WrappedHandshake:
    case Phase::Plain:
        wire_.feed(bytes);
        break;
    }
    process(out);
    return out;
}

void ServerLeg::process(Output& out) {
    bool progress = true;
    while (progress && !out.error) {
        switch (phase_) {
        case Phase::AwaitPreloginAnswer:
            progress = step_answer(out);
            break;
        case Phase::WrappedHandshake:
            progress = step_wrapped(out);
            break;
        case Phase::Tds8Handshake:
        case Phase::LoginOnlyTls:
        case Phase::Tls:
            progress = step_tls(out);
            break;
        case Phase::Plain:
            progress = step_plain(out);
            break;
        case Phase::Idle:
            // Bytes before we said anything: a server that talks first is not TDS.
            if (wire_.buffered() > 0) {
                fail(out, "the server sent data before PRELOGIN");
            }
            progress = false;
            break;
        case Phase::AwaitDecision:
        case Phase::Failed:
            progress = false;
            break;
        }
    }
}

bool ServerLeg::step_answer(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, codec_error("bad PRELOGIN answer: ", next.error()));
        return false;
    }
    if (!*next) {
        return false;
    }
    if ((*next)->header.type != static_cast<std::uint8_t>(tds::PacketType::TabularResult)) {
        fail(out, "the PRELOGIN answer has packet type " + std::to_string((*next)->header.type) +
                      " (expected 4)");
        return false;
    }
    auto message = answer_assembler_.add(**next);
    if (!message) {
        fail(out, codec_error("bad PRELOGIN answer: ", message.error()));
        return false;
    }
    out.packets.push_back(std::move(**next));
    if (*message) {
        answer_ = std::move(**message);
        phase_ = Phase::AwaitDecision;
        out.prelogin_answered = true;
        return false;
    }
    return true;
}

bool ServerLeg::step_wrapped(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, codec_error("bad packet during the TLS handshake: ", next.error()));
        return false;
    }
    if (!*next) {
        return false;
    }
    auto type = (*next)->header.type;
    if (type != static_cast<std::uint8_t>(tds::PacketType::PreLogin) &&
        type != static_cast<std::uint8_t>(tds::PacketType::TabularResult)) {
        fail(out, "expected a wrapped TLS record from the server, got packet type " +
                      std::to_string(type));
        return false;
    }
    tls_->feed_ciphertext((*next)->payload());
    tls_->advance();
    flush_wrapped();
    if (tls_->state() == TlsState::Failed) {
        fail(out, "TLS handshake failed: " + tls_->failure_reason());
        return false;
    }
    if (tls_->handshake_done()) {
        out.tls_established = true;
        phase_ = mode_ == tds::EncryptionMode::LoginOnly ? Phase::LoginOnlyTls : Phase::Tls;
        tls_->feed_ciphertext(wire_.take_buffered());
    }
    return true;
}

void ServerLeg::flush_wrapped() {
    auto bytes = tls_->take_ciphertext();
    if (!bytes.empty()) {
        append(output_, tds::write_message(static_cast<std::uint8_t>(tds::PacketType::PreLogin),
                                           bytes, kWrappedPacketLen, 0));
    }
}

bool ServerLeg::step_tls(Output& out) {
    bool was_handshaking = !tls_->handshake_done();
    tls_->advance();
    append(output_, tls_->take_ciphertext());
    if (tls_->state() == TlsState::Failed) {
        fail(out,
             (was_handshaking ? "TLS handshake failed: " : "TLS error: ") + tls_->failure_reason());
        return false;
    }
    if (was_handshaking && tls_->handshake_done()) {
        out.tls_established = true;
        mode_ = tds::EncryptionMode::Full;
        phase_ = Phase::Tls;
    }
    decrypted_.feed(tls_->take_plaintext());
    while (true) {
        auto next = decrypted_.next();
        if (!next) {
            fail(out, codec_error("bad packet inside TLS: ", next.error()));
            return false;
        }
        if (!*next) {
            break;
        }
        out.packets.push_back(std::move(**next));
    }
    if (tls_->state() == TlsState::Closed) {
        out.tls_closed = true;
    }
    return false;
}

bool ServerLeg::step_plain(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, codec_error("bad packet: ", next.error()));
        return false;
    }
    if (!*next) {
        return false;
    }
    out.packets.push_back(std::move(**next));
    return true;
}

void ServerLeg::send_packet(std::span<const std::uint8_t> packet) {
    switch (phase_) {
    case Phase::Tls:
        tls_->write_plaintext(packet);
        append(output_, tls_->take_ciphertext());
        break;
    case Phase::LoginOnlyTls:
        // Exactly the first packet goes through TLS; then both ends drop TLS without a word.
        tls_->write_plaintext(packet);
        append(output_, tls_->take_ciphertext());
        phase_ = Phase::Plain;
        wire_.feed(tls_->take_unread_ciphertext());
        break;
    case Phase::Idle:
    case Phase::AwaitPreloginAnswer:
    case Phase::AwaitDecision:
    case Phase::Plain:
        append(output_, packet);
        break;
    case Phase::WrappedHandshake:
    case Phase::Tds8Handshake:
    case Phase::Failed:
        break;
    }
}

} // namespace proxy
