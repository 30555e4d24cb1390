#include <openssl/rand.h>

#include <proxy/core/postgres/postgres_refusals.h>
#include <proxy/core/postgres/postgres_serve_session.h>
#include <proxy/core/session/overloaded.h>
#include <proxy/core/tls/client_hello_peek.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsHandshake = 0x16;

} // namespace

std::string_view to_string(PostgresEncryption e) {
    switch (e) {
    case PostgresEncryption::Off:
        return "off";
    case PostgresEncryption::Force:
        return "force";
    case PostgresEncryption::None:
        return "none";
    }
    return "?";
}

std::optional<PostgresEncryption> postgres_encryption_from_name(std::string_view name) {
    for (auto e : {PostgresEncryption::Off, PostgresEncryption::Force, PostgresEncryption::None}) {
        if (name == to_string(e)) {
            return e;
        }
    }
    return std::nullopt;
}

PostgresServeSession::PostgresServeSession(const PostgresServeSettings& settings,
                                           std::uint32_t process_id, std::string client_address)
    : settings_(settings), process_id_(process_id), client_address_(std::move(client_address)),
      reader_(settings.max_message_bytes) {}

Actions PostgresServeSession::handle(const Event& event) {
    Actions actions;
    if (closed_) {
        return actions;
    }
    std::visit(
        overloaded{
            [&](const event::Started&) {
                actions.push_back(action::StartTimer{kLoginTimer, settings_.login_timeout_ms});
            },
            [&](const event::BytesReceived& e) { on_bytes(e.bytes, actions); },
            [&](const event::PeerClosed& e) {
                bool quiet = responder_ && responder_->authenticated();
                close(actions, quiet ? LogLevel::Debug : LogLevel::Info,
                      "client closed the connection" + (e.detail.empty() ? "" : ": " + e.detail),
                      false);
            },
            [&](const event::Stopping& e) {
                close(actions, LogLevel::Debug, "closed by the server: " + e.reason, false);
            },
            [&](const event::TimerFired& e) {
                if (e.timer == kLoginTimer && !(responder_ && responder_->authenticated())) {
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

void PostgresServeSession::send(std::span<const std::uint8_t> bytes) {
    if (tls_ && phase_ != Phase::AwaitStartup && phase_ != Phase::AwaitClientHello) {
        tls_->write(bytes);
    } else {
        out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
}

void PostgresServeSession::flush(Actions& actions) {
    if (!out_.empty()) {
        actions.push_back(action::Send{Side::Client, std::exchange(out_, {})});
    }
    if (tls_) {
        if (auto bytes = tls_->take_output(); !bytes.empty()) {
            actions.push_back(action::Send{Side::Client, std::move(bytes)});
        }
    }
}

void PostgresServeSession::close(Actions& actions, LogLevel level, std::string reason,
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

void PostgresServeSession::on_bytes(std::span<const std::uint8_t> bytes, Actions& actions) {
    switch (phase_) {
    case Phase::AwaitStartup:
        clear_.insert(clear_.end(), bytes.begin(), bytes.end());
        on_clear(actions);
        break;
    case Phase::AwaitClientHello:
    case Phase::Handshake:
        on_tls_bytes(bytes, actions);
        break;
    case Phase::InTls:
    case Phase::Session:
        if (tls_) {
            on_tls_bytes(bytes, actions);
        } else {
            reader_.feed(bytes);
            on_messages(actions);
        }
        break;
    }
    if (!closed_) {
        flush(actions);
    }
}

void PostgresServeSession::on_clear(Actions& actions) {
    while (!closed_ && (phase_ == Phase::AwaitStartup || phase_ == Phase::InTls) &&
           !clear_.empty()) {
        if (phase_ == Phase::AwaitStartup && clear_[0] == kTlsHandshake) {
            if (settings_.ctx == nullptr) {
                // ssl = off: PostgreSQL reads the record header as a startup length.
                close(actions, LogLevel::Info,
                      "invalid length of startup packet (a direct-SSL client; SSL is off)", false);
                return;
            }
            direct_ = true;
            phase_ = Phase::AwaitClientHello;
            auto held = std::exchange(clear_, {});
            on_tls_bytes(held, actions);
            return;
        }
        auto length = pg::startup_packet_length(clear_);
        if (!length) {
            close(actions, LogLevel::Info, "invalid length of startup packet", false);
            return;
        }
        if (!*length || clear_.size() < **length) {
            return;
        }
        std::vector<std::uint8_t> packet(clear_.begin(),
                                         clear_.begin() + static_cast<long>(**length));
        clear_.erase(clear_.begin(), clear_.begin() + static_cast<long>(**length));
        on_startup_packet(packet, actions);
    }
}

void PostgresServeSession::on_startup_packet(std::span<const std::uint8_t> packet,
                                             Actions& actions) {
    auto decoded = pg::decode_startup(packet);
    if (!decoded) {
        send(postgres_fatal("08P01", "invalid startup packet layout: " +
                                         std::string(pg::to_string(decoded.error()))));
        close(actions, LogLevel::Info, "bad startup packet");
        return;
    }
    bool in_tls = phase_ == Phase::InTls;
    switch (decoded->kind) {
    case pg::StartupKind::SslRequest:
    case pg::StartupKind::GssEncRequest: {
        if (in_tls) {
            send(postgres_fatal(
                "08P01", "unsupported frontend protocol " + std::to_string(decoded->major()) + "." +
                             std::to_string(decoded->minor()) + ": server supports 3.0 to 3.2"));
            close(actions, LogLevel::Info, "an SSL or GSS request inside TLS");
            return;
        }
        bool ssl = decoded->kind == pg::StartupKind::SslRequest && settings_.ctx != nullptr;
        if (ssl && !clear_.empty()) {
            send(unencrypted_data_after_ssl_request());
            close(actions, LogLevel::Warn, "unencrypted data after the SSLRequest");
            return;
        }
        std::uint8_t answer = ssl ? pg::kSslAccepted : pg::kSslRefused;
        out_.push_back(answer);
        if (ssl) {
            phase_ = Phase::AwaitClientHello;
        }
        return;
    }
    case pg::StartupKind::CancelRequest:
        close(actions, LogLevel::Debug, "cancel request (the stand-in runs nothing to cancel)",
              false);
        return;
    case pg::StartupKind::Startup:
        break;
    }
    if (!in_tls && settings_.encryption == PostgresEncryption::Force) {
        auto user = decoded->parameter("user").value_or("");
        send(no_pg_hba_entry_without_encryption(client_address_, user,
                                                decoded->parameter("database").value_or(user)));
        close(actions, LogLevel::Info, "a StartupMessage in clear: refused (force)");
        return;
    }
    standin::postgres::ConnectionFacts facts;
    facts.tls = in_tls;
    if (in_tls) {
        facts.tls_server_end_point = settings_.tls_server_end_point;
        const auto& ep = tls_->endpoint();
        facts.tls_version = ep.version();
        facts.tls_cipher = ep.cipher();
        facts.tls_bits = ep.cipher_bits();
    }
    facts.client_address = host_of(client_address_);
    facts.process_id = process_id_;
    facts.secret_key.resize(decoded->minor() >= 2 ? 32 : 4);
    if (RAND_bytes(facts.secret_key.data(), static_cast<int>(facts.secret_key.size())) != 1) {
        facts.secret_key.assign(facts.secret_key.size(), 0x5A);
    }
    responder_.emplace(settings_.responder, std::move(facts));
    phase_ = Phase::Session;
    absorb(responder_->on_startup(*decoded), actions);
    if (!closed_ && !clear_.empty()) {
        reader_.feed(std::exchange(clear_, {}));
        on_messages(actions);
    }
}

void PostgresServeSession::on_tls_bytes(std::span<const std::uint8_t> bytes, Actions& actions) {
    if (phase_ == Phase::AwaitClientHello) {
        clear_.insert(clear_.end(), bytes.begin(), bytes.end());
        if (clear_[0] != kTlsHandshake) {
            close(actions, LogLevel::Info, "answered 'S', the client went on without TLS", false);
            return;
        }
        if (!tls_record_complete(clear_)) {
            return;
        }
        tls_.emplace(settings_.ctx, TlsRole::Server);
        phase_ = Phase::Handshake;
        auto held = std::exchange(clear_, {});
        on_tls_bytes(held, actions);
        return;
    }
    auto step = tls_->on_ciphertext(bytes);
    if (step.error) {
        flush(actions); // an alert may be waiting
        close(actions, LogLevel::Warn, *step.error, false);
        return;
    }
    if (step.established) {
        const auto& ep = tls_->endpoint();
        actions.push_back(
            action::Log{LogLevel::Debug,
                        "TLS established: " + ep.version() + " " + ep.cipher() +
                            (ep.alpn_selected().empty() ? "" : ", ALPN " + ep.alpn_selected()) +
                            (direct_ ? " (direct SSL)" : "")});
        phase_ = Phase::InTls;
        if (direct_ && ep.alpn_selected().empty()) {
            flush(actions);
            close(actions, LogLevel::Info,
                  "received direct SSL connection request without ALPN protocol negotiation "
                  "extension",
                  false);
            return;
        }
    }
    if (!step.plaintext.empty()) {
        if (phase_ == Phase::InTls) {
            clear_.insert(clear_.end(), step.plaintext.begin(), step.plaintext.end());
            on_clear(actions);
        } else {
            reader_.feed(step.plaintext);
            on_messages(actions);
        }
    }
    if (step.closed && !closed_) {
        close(actions, LogLevel::Debug, "client sent close_notify");
    }
}

void PostgresServeSession::on_messages(Actions& actions) {
    while (!closed_) {
        auto next = reader_.next();
        if (!next) {
            send(postgres_fatal("08P01", "invalid message length"));
            close(actions, LogLevel::Warn,
                  next.error() == pg::Error::TooLong
                      ? "limit max-message-bytes=" + std::to_string(settings_.max_message_bytes) +
                            " reached: a PostgreSQL message from the client is longer"
                      : "bad message: " + std::string(pg::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        absorb(responder_->on_message(**next), actions);
    }
}

void PostgresServeSession::absorb(standin::postgres::Output out, Actions& actions) {
    send(out.bytes);
    for (auto& note : out.notes) {
        actions.push_back(action::Log{LogLevel::Info, std::move(note)});
    }
    if (out.close) {
        close(actions, LogLevel::Debug, "session ended");
    }
}

} // namespace proxy
