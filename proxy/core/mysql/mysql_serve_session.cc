#include <mysql/handshake.h>
#include <proxy/core/mysql/mysql_serve_session.h>
#include <proxy/core/session/overloaded.h>
#include <proxy/core/tls/client_hello_peek.h>
#include <standin/mysql/responder.h>
#include <standin/mysql/server_error.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsHandshake = 0x16;
// One logical packet the stand-in accepts (MariaDB's default max_allowed_packet; MySQL's is
// 64 MiB, but nothing a lab client sends comes near either).

// The client's host without the port ("127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1"),
// as the servers name it in "Access denied for user 'lab'@'127.0.0.1'" (skip-name-resolve).
std::string host_part(const std::string& address) {
    if (address.starts_with('[')) {
        auto close = address.find(']');
        return close == std::string::npos ? address : address.substr(1, close - 1);
    }
    auto colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
        return address;
    }
    return address.substr(0, colon);
}

} // namespace

std::string_view to_string(MysqlEncryption e) {
    switch (e) {
    case MysqlEncryption::Off:
        return "off";
    case MysqlEncryption::On:
        return "on";
    case MysqlEncryption::Force:
        return "force";
    }
    return "?";
}

std::optional<MysqlEncryption> mysql_encryption_from_name(std::string_view name) {
    for (auto e : {MysqlEncryption::Off, MysqlEncryption::On, MysqlEncryption::Force}) {
        if (name == to_string(e)) {
            return e;
        }
    }
    return std::nullopt;
}

MysqlServeSession::MysqlServeSession(const MysqlServeSettings& settings,
                                     std::uint32_t connection_id, std::string client_address)
    : settings_(settings), connection_id_(connection_id),
      client_address_(std::move(client_address)), reader_(settings.max_message_bytes) {}

MysqlServeSession::~MysqlServeSession() = default;

bool MysqlServeSession::authenticated() const {
    return responder_ && responder_->authenticated();
}

Actions MysqlServeSession::handle(const Event& event) {
    Actions actions;
    if (closed_) {
        return actions;
    }
    std::visit(
        overloaded{
            [&](const event::Started&) {
                standin::mysql::Config config = settings_.responder;
                config.require_secure_transport = settings_.encryption == MysqlEncryption::Force;
                standin::mysql::ConnectionFacts facts;
                facts.connection_id = connection_id_;
                facts.client_host = host_part(client_address_);
                facts.ssl_offered =
                    settings_.encryption != MysqlEncryption::Off && settings_.ctx != nullptr;
                facts.certificate_sha256 = settings_.certificate_sha256;
                responder_ = std::make_unique<standin::mysql::Responder>(std::move(config),
                                                                         std::move(facts));
                actions.push_back(action::StartTimer{kLoginTimer, settings_.login_timeout_ms});
                send(responder_->greeting());
                flush(actions);
            },
            [&](const event::BytesReceived& e) { on_bytes(e.bytes, actions); },
            [&](const event::PeerClosed& e) {
                close(actions, authenticated() ? LogLevel::Debug : LogLevel::Info,
                      "client closed the connection" + (e.detail.empty() ? "" : ": " + e.detail),
                      false);
            },
            [&](const event::Stopping& e) {
                close(actions, LogLevel::Debug, "closed by the server: " + e.reason, false);
            },
            [&](const event::TimerFired& e) {
                if (e.timer == kLoginTimer && !authenticated()) {
                    close(actions, LogLevel::Warn,
                          "no login within " + std::to_string(settings_.login_timeout_ms / 1000) +
                              " s",
                          false);
                }
            },
            // serve has no upstream
            [&](const event::Connected&) {},
            [&](const event::ConnectFailed&) {},
        },
        event);
    return actions;
}

void MysqlServeSession::send(std::span<const std::uint8_t> bytes) {
    if (tls_ && phase_ == Phase::InTls) {
        tls_->write(bytes);
    } else {
        out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
}

void MysqlServeSession::flush(Actions& actions) {
    if (!out_.empty()) {
        actions.push_back(action::Send{Side::Client, std::exchange(out_, {})});
    }
    if (tls_) {
        if (auto bytes = tls_->take_output(); !bytes.empty()) {
            actions.push_back(action::Send{Side::Client, std::move(bytes)});
        }
    }
}

void MysqlServeSession::close(Actions& actions, LogLevel level, std::string reason,
                              bool flush_first) {
    if (closed_) {
        return;
    }
    if (flush_first) {
        flush(actions);
    }
    closed_ = true;
    actions.push_back(action::Log{level, reason});
    actions.push_back(action::Close{std::move(reason), flush_first, false});
}

void MysqlServeSession::on_bytes(std::span<const std::uint8_t> bytes, Actions& actions) {
    if (!responder_) {
        close(actions, LogLevel::Warn, "bytes before the session started", false);
        return;
    }
    switch (phase_) {
    case Phase::Clear:
        reader_.feed(bytes);
        on_packets(actions);
        break;
    case Phase::AwaitClientHello:
    case Phase::Handshake:
    case Phase::InTls:
        on_tls_bytes(bytes, actions);
        break;
    }
    if (!closed_) {
        flush(actions);
    }
}

void MysqlServeSession::on_tls_bytes(std::span<const std::uint8_t> bytes, Actions& actions) {
    if (phase_ == Phase::AwaitClientHello) {
        hello_.insert(hello_.end(), bytes.begin(), bytes.end());
        if (hello_.empty()) {
            return;
        }
        if (hello_[0] != kTlsHandshake) {
            close(actions, LogLevel::Info, "SSLRequest sent, but the client went on without TLS",
                  false);
            return;
        }
        if (!tls_record_complete(hello_)) {
            if (hello_.size() > 64 * 1024) {
                close(actions, LogLevel::Warn, "no whole TLS record after the SSLRequest", false);
            }
            return;
        }
        tls_.emplace(settings_.ctx, TlsRole::Server);
        phase_ = Phase::Handshake;
        auto held = std::exchange(hello_, {});
        on_tls_bytes(held, actions);
        return;
    }
    auto step = tls_->on_ciphertext(bytes);
    if (step.error) {
        flush(actions); // an alert may be waiting
        close(actions, LogLevel::Warn, "TLS: " + *step.error, false);
        return;
    }
    if (step.established) {
        const auto& ep = tls_->endpoint();
        actions.push_back(
            action::Log{LogLevel::Debug, "TLS established: " + ep.version() + " " + ep.cipher()});
        responder_->set_tls(ep.version(), ep.cipher());
        phase_ = Phase::InTls;
    }
    if (!step.plaintext.empty()) {
        reader_.feed(step.plaintext);
        on_packets(actions);
    }
    if (step.closed && !closed_) {
        close(actions, LogLevel::Debug, "client sent close_notify");
    }
}

void MysqlServeSession::on_packets(Actions& actions) {
    while (!closed_) {
        auto next = reader_.next();
        if (!next) {
            if (next.error() == ::mysql::Error::TooLong) {
                auto err = standin::mysql::errors::packet_too_large();
                send(::mysql::frame(1, ::mysql::encode_err(err.packet())));
            }
            close(actions, LogLevel::Warn,
                  next.error() == ::mysql::Error::TooLong
                      ? "limit max-message-bytes=" + std::to_string(settings_.max_message_bytes) +
                            " reached: a MySQL packet from the client is longer"
                      : "bad packet: " + std::string(::mysql::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        auto& packet = **next;
        // Only the client's first packet can be an SSLRequest: a later 32-byte packet (a
        // caching_sha2_password scramble) may have the CLIENT_SSL bit set by chance.
        bool first = std::exchange(first_packet_, false);
        if (first && phase_ == Phase::Clear && ::mysql::is_ssl_request(packet.payload) &&
            (responder_->handshake().capabilities & ::mysql::cap::Ssl) != 0) {
            phase_ = Phase::AwaitClientHello;
            actions.push_back(action::Log{LogLevel::Debug, "SSLRequest: starting TLS"});
            auto rest = reader_.take_buffered();
            reader_ = ::mysql::PacketReader(settings_.max_message_bytes);
            if (!rest.empty()) {
                on_tls_bytes(rest, actions);
            }
            return;
        }
        absorb(responder_->on_packet(packet), actions);
    }
}

void MysqlServeSession::absorb(standin::mysql::Output out, Actions& actions) {
    send(out.bytes);
    for (auto& note : out.notes) {
        actions.push_back(action::Log{LogLevel::Info, std::move(note)});
    }
    if (out.close) {
        close(actions, LogLevel::Debug, "session ended");
    }
}

} // namespace proxy
