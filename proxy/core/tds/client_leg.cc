#include <proxy/core/tds/client_leg.h>
#include <proxy/core/tls/client_hello_peek.h>
#include <tds/packet.h>
#include <tds/packet_writer.h>

namespace proxy {

namespace {

constexpr std::uint8_t kFirstByteTds7 = 0x12; // PRELOGIN packet type
constexpr std::uint8_t kFirstByteTls = 0x16;  // TLS handshake record
// A LOGIN7 packet first, no PRELOGIN at all: clients from before SQL Server 2005's PRELOGIN
// (and jTDS with ssl=off, its default). SQL Server accepts them unless it forces encryption.
constexpr std::uint8_t kFirstByteLogin7 = 0x10;
// Wrapped handshake packets use the pre-login packet size (MS-TDS: 4096 until negotiated).
constexpr std::size_t kWrappedPacketLen = tds::kDefaultPacketLen;
constexpr std::size_t kMaxPreloginMessage = 64 * 1024;

void append(std::vector<std::uint8_t>& to, std::span<const std::uint8_t> bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

} // namespace

std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::Undecided:
        return "undecided";
    case Protocol::Tds7:
        return "tds7";
    case Protocol::Tds8:
        return "tds8";
    case Protocol::Unknown:
        return "unknown";
    }
    return "?";
}

std::string_view to_string(ClientLeg::Phase p) {
    switch (p) {
    case ClientLeg::Phase::AwaitFirstByte:
        return "await-first-byte";
    case ClientLeg::Phase::Tds7Prelogin:
        return "prelogin";
    case ClientLeg::Phase::AwaitDecision:
        return "await-decision";
    case ClientLeg::Phase::AwaitTlsOrLogin:
        return "await-tls-or-login";
    case ClientLeg::Phase::AwaitTlsDecision:
        return "await-tls-decision";
    case ClientLeg::Phase::WrappedHandshake:
        return "wrapped-handshake";
    case ClientLeg::Phase::Tds8Handshake:
        return "tds8-handshake";
    case ClientLeg::Phase::LoginOnlyTls:
        return "login-only-tls";
    case ClientLeg::Phase::Tls:
        return "tls";
    case ClientLeg::Phase::Plain:
        return "plain";
    case ClientLeg::Phase::Unknown:
        return "unknown";
    case ClientLeg::Phase::Failed:
        return "failed";
    }
    return "?";
}

ClientLeg::ClientLeg(Config config)
    : config_(config), prelogin_assembler_(std::min(config.max_prelogin_len, kMaxPreloginMessage)) {
}

void ClientLeg::fail(Output& out, std::string why) {
    phase_ = Phase::Failed;
    out.error = std::move(why);
}

ClientLeg::Output ClientLeg::on_bytes(std::span<const std::uint8_t> bytes) {
    Output out;
    if (bytes.empty()) {
        return out;
    }
    switch (phase_) {
    case Phase::Failed:
        return out;
    case Phase::Unknown:
        append(out.raw, bytes);
        return out;
    case Phase::AwaitFirstByte:
        if (bytes[0] == kFirstByteTds7) {
            protocol_ = Protocol::Tds7;
            phase_ = Phase::Tds7Prelogin;
            wire_.feed(bytes);
        } else if (bytes[0] == kFirstByteLogin7) {
            protocol_ = Protocol::Tds7;
            phase_ = Phase::Plain;
            mode_ = tds::EncryptionMode::None;
            without_prelogin_ = true;
            wire_.feed(bytes);
        } else if (bytes[0] == kFirstByteTls) {
            protocol_ = Protocol::Tds8;
            if (config_.tds8_ctx == nullptr) {
                fail(out, "TDS 8.0 client (TLS first) but this listener has no certificate");
                return out;
            }
            if (config_.pause_before_tls) {
                phase_ = Phase::AwaitTlsDecision;
                append(hello_, bytes);
                if (tls_record_complete(hello_)) {
                    out.paused_sni = peek_sni(hello_).value_or("");
                }
                return out;
            }
            tls_ = std::make_unique<TlsEndpoint>(config_.tds8_ctx, TlsRole::Server);
            phase_ = Phase::Tds8Handshake;
            out.tls_started = true;
            tls_->feed_ciphertext(bytes);
        } else {
            protocol_ = Protocol::Unknown;
            phase_ = Phase::Unknown;
            append(out.raw, bytes);
            return out;
        }
        break;
    case Phase::AwaitTlsDecision:
        if (protocol_ == Protocol::Tds8) {
            bool was_complete = tls_record_complete(hello_);
            append(hello_, bytes);
            if (!was_complete && tls_record_complete(hello_)) {
                out.paused_sni = peek_sni(hello_).value_or("");
            }
        } else {
            wire_.feed(bytes); // waits behind the held ClientHello
        }
        return out;
    case Phase::Tds7Prelogin:
    case Phase::AwaitDecision:
    case Phase::AwaitTlsOrLogin:
    case Phase::WrappedHandshake:
    case Phase::Plain:
        wire_.feed(bytes);
        break;
    case Phase::Tds8Handshake:
    case Phase::LoginOnlyTls:
    case Phase::Tls:
        tls_->feed_ciphertext(bytes);
        break;
    }
    process(out);
    return out;
}

ClientLeg::Output ClientLeg::answer_prelogin(std::span<const std::uint8_t> answer_message,
                                             tds::EncryptionMode mode_if_tls) {
    Output out;
    if (phase_ != Phase::AwaitDecision) {
        fail(out, "PRELOGIN answered twice");
        return out;
    }
    append(output_, answer_message);
    mode_if_tls_ = mode_if_tls;
    phase_ = Phase::AwaitTlsOrLogin;
    process(out);
    return out;
}

ClientLeg::Output ClientLeg::start_tls(SSL_CTX* ctx) {
    Output out;
    if (phase_ != Phase::AwaitTlsDecision) {
        fail(out, "start_tls outside the TLS decision");
        return out;
    }
    if (ctx == nullptr) {
        fail(out, "the client started TLS but this listener has no certificate");
        return out;
    }
    tls_ = std::make_unique<TlsEndpoint>(ctx, TlsRole::Server);
    out.tls_started = true;
    auto hello = std::exchange(hello_, {});
    if (protocol_ == Protocol::Tds8) {
        phase_ = Phase::Tds8Handshake;
        tls_->feed_ciphertext(hello);
    } else {
        phase_ = Phase::WrappedHandshake;
        if (!feed_wrapped(out, hello)) {
            return out;
        }
    }
    process(out);
    return out;
}

void ClientLeg::process(Output& out) {
    bool progress = true;
    while (progress && !out.error) {
        switch (phase_) {
        case Phase::Tds7Prelogin:
            progress = step_prelogin(out);
            break;
        case Phase::AwaitTlsOrLogin:
            progress = step_tls_or_login(out);
            break;
        case Phase::WrappedHandshake:
            progress = step_wrapped_handshake(out);
            break;
        case Phase::Tds8Handshake:
        case Phase::Tls:
            progress = step_tls(out);
            break;
        case Phase::LoginOnlyTls:
            progress = step_login_only(out);
            break;
        case Phase::Plain:
            progress = step_plain(out);
            break;
        case Phase::AwaitFirstByte:
        case Phase::AwaitDecision:
        case Phase::AwaitTlsDecision:
        case Phase::Unknown:
        case Phase::Failed:
            progress = false;
            break;
        }
    }
}

bool ClientLeg::step_prelogin(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out,
             std::string("bad packet before login: ") + std::string(tds::to_string(next.error())));
        return false;
    }
    if (!*next) {
        return false;
    }
    tds::Packet& packet = **next;
    if (packet.header.type != static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
        fail(out, "expected a PRELOGIN packet, got type " + std::to_string(packet.header.type));
        return false;
    }
    auto message = prelogin_assembler_.add(packet);
    if (!message) {
        fail(out, std::string("PRELOGIN: ") + std::string(tds::to_string(message.error())));
        return false;
    }
    out.packets.push_back(std::move(packet));
    if (*message) {
        prelogin_ = std::move(**message);
        phase_ = Phase::AwaitDecision;
        out.prelogin_complete = true;
        return false;
    }
    return true;
}

bool ClientLeg::step_tls_or_login(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, std::string("bad packet after PRELOGIN: ") +
                      std::string(tds::to_string(next.error())));
        return false;
    }
    if (!*next) {
        return false;
    }
    tds::Packet& packet = **next;
    auto payload = packet.payload();
    bool is_tls = packet.header.type == static_cast<std::uint8_t>(tds::PacketType::PreLogin) &&
                  !payload.empty() && payload[0] == kFirstByteTls;
    if (!is_tls) {
        phase_ = Phase::Plain;
        mode_ = tds::EncryptionMode::None;
        out.plaintext_login = true;
        out.packets.push_back(std::move(packet));
        return true;
    }
    if (config_.pause_before_tls) {
        hello_.assign(payload.begin(), payload.end());
        phase_ = Phase::AwaitTlsDecision;
        out.paused_sni = peek_sni(hello_).value_or("");
        return false;
    }
    if (config_.tds7_ctx == nullptr) {
        fail(out, "the client started TLS but this listener has no certificate");
        return false;
    }
    tls_ = std::make_unique<TlsEndpoint>(config_.tds7_ctx, TlsRole::Server);
    phase_ = Phase::WrappedHandshake;
    out.tls_started = true;
    return feed_wrapped(out, payload);
}

bool ClientLeg::feed_wrapped(Output& out, std::span<const std::uint8_t> record_bytes) {
    tls_->feed_ciphertext(record_bytes);
    tls_->advance();
    // One step's output, flight or alert, goes out as one TDS message.
    flush_wrapped();
    if (tls_->state() == TlsState::Failed) {
        fail(out, "TLS handshake failed: " + tls_->failure_reason());
        return false;
    }
    if (tls_->handshake_done()) {
        after_handshake(out);
    }
    return true;
}

bool ClientLeg::step_wrapped_handshake(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, std::string("bad packet during the TLS handshake: ") +
                      std::string(tds::to_string(next.error())));
        return false;
    }
    if (!*next) {
        return false;
    }
    const tds::Packet& packet = **next;
    if (packet.header.type != static_cast<std::uint8_t>(tds::PacketType::PreLogin)) {
        fail(out, "expected a PRELOGIN-wrapped TLS record during the handshake, got type " +
                      std::to_string(packet.header.type));
        return false;
    }
    return feed_wrapped(out, packet.payload());
}

void ClientLeg::flush_wrapped() {
    auto bytes = tls_->take_ciphertext();
    if (!bytes.empty()) {
        append(output_, tds::write_message(static_cast<std::uint8_t>(tds::PacketType::PreLogin),
                                           bytes, kWrappedPacketLen, 0));
    }
}

void ClientLeg::after_handshake(Output& out) {
    out.tls_established = true;
    if (protocol_ == Protocol::Tds8) {
        mode_ = tds::EncryptionMode::Full;
        phase_ = Phase::Tls;
        return;
    }
    mode_ = mode_if_tls_ == tds::EncryptionMode::LoginOnly ? tds::EncryptionMode::LoginOnly
                                                           : tds::EncryptionMode::Full;
    phase_ = mode_ == tds::EncryptionMode::LoginOnly ? Phase::LoginOnlyTls : Phase::Tls;
    // Whatever followed the last wrapped packet is already raw TLS.
    tls_->feed_ciphertext(wire_.take_buffered());
}

bool ClientLeg::step_tls(Output& out) {
    bool was_handshaking = !tls_->handshake_done();
    tls_->advance();
    append(output_, tls_->take_ciphertext());
    if (tls_->state() == TlsState::Failed) {
        fail(out,
             (was_handshaking ? "TLS handshake failed: " : "TLS error: ") + tls_->failure_reason());
        return false;
    }
    if (was_handshaking) {
        if (!tls_->handshake_done()) {
            return false;
        }
        after_handshake(out);
    }
    decrypted_.feed(tls_->take_plaintext());
    collect_plain_packets(decrypted_, out);
    if (tls_->state() == TlsState::Closed) {
        out.tls_closed = true;
    }
    return false;
}

bool ClientLeg::step_login_only(Output& out) {
    while (true) {
        auto next = decrypted_.next();
        if (!next) {
            fail(out, std::string("bad LOGIN7 packet inside TLS: ") +
                          std::string(tds::to_string(next.error())));
            return false;
        }
        if (*next) {
            out.packets.push_back(std::move(**next));
            break;
        }
        if (!tls_->read_one_record()) {
            append(output_, tls_->take_ciphertext());
            if (tls_->state() == TlsState::Failed) {
                fail(out, "TLS error: " + tls_->failure_reason());
            } else if (tls_->state() == TlsState::Closed) {
                out.tls_closed = true;
            }
            return false;
        }
        append(output_, tls_->take_ciphertext());
        decrypted_.feed(tls_->take_plaintext());
    }
    // The first packet came through TLS; from the next byte on, the client talks plaintext.
    auto rest = decrypted_.take_buffered();
    auto unread = tls_->take_unread_ciphertext();
    rest.insert(rest.end(), unread.begin(), unread.end());
    wire_.feed(rest);
    phase_ = Phase::Plain;
    return true;
}

bool ClientLeg::step_plain(Output& out) {
    auto next = wire_.next();
    if (!next) {
        fail(out, std::string("bad packet: ") + std::string(tds::to_string(next.error())));
        return false;
    }
    if (!*next) {
        return false;
    }
    out.packets.push_back(std::move(**next));
    return true;
}

void ClientLeg::collect_plain_packets(tds::PacketAssembler& from, Output& out) {
    while (true) {
        auto next = from.next();
        if (!next) {
            fail(out, std::string("bad packet inside TLS: ") +
                          std::string(tds::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        out.packets.push_back(std::move(**next));
    }
}

void ClientLeg::send_packet(std::span<const std::uint8_t> packet) {
    switch (phase_) {
    case Phase::Tls:
    case Phase::LoginOnlyTls:
        // One TDS packet per SSL_write: one record per packet, as SQL Server does.
        tls_->write_plaintext(packet);
        append(output_, tls_->take_ciphertext());
        break;
    case Phase::AwaitFirstByte:
    case Phase::Tds7Prelogin:
    case Phase::AwaitDecision:
    case Phase::AwaitTlsOrLogin:
    case Phase::Plain:
    case Phase::Unknown:
        append(output_, packet);
        break;
    case Phase::AwaitTlsDecision:
    case Phase::WrappedHandshake:
    case Phase::Tds8Handshake:
    case Phase::Failed:
        break; // nothing may be sent before the handshake ends or after a failure
    }
}

void ClientLeg::send_raw(std::span<const std::uint8_t> bytes) {
    append(output_, bytes);
}

} // namespace proxy
