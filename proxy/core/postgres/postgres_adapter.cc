#include <algorithm>

#include <pg/scram.h>
#include <proxy/core/postgres/postgres_adapter.h>
#include <proxy/core/postgres/postgres_refusals.h>
#include <proxy/core/tds/tds_inspector.h>
#include <proxy/core/tls/client_hello_peek.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsHandshake = 0x16;
constexpr std::size_t kMaxHello = 16 * 1024 + 5;

std::string version_name(const pg::StartupPacket& p) {
    return std::to_string(p.major()) + "." + std::to_string(p.minor());
}

} // namespace

std::string_view to_string(PostgresAdapter::ClientPhase p) {
    switch (p) {
    case PostgresAdapter::ClientPhase::AwaitStartup:
        return "await-startup";
    case PostgresAdapter::ClientPhase::AwaitClientHello:
        return "await-client-hello";
    case PostgresAdapter::ClientPhase::Handshake:
        return "handshake";
    case PostgresAdapter::ClientPhase::InTls:
        return "in-tls";
    case PostgresAdapter::ClientPhase::Relaying:
        return "relaying";
    case PostgresAdapter::ClientPhase::Cancel:
        return "cancel";
    case PostgresAdapter::ClientPhase::Failed:
        return "failed";
    }
    return "?";
}

PostgresAdapter::PostgresAdapter(const SessionContext& ctx)
    : client_reader_(ctx.settings().max_message_bytes),
      server_reader_(ctx.settings().max_message_bytes) {}

PostgresSummary& PostgresAdapter::summary(SessionContext& ctx) {
    auto& record = ctx.record();
    if (!record.postgres) {
        record.postgres.emplace();
    }
    record.protocol = "postgres";
    return *record.postgres;
}

void PostgresAdapter::on_connected(SessionContext& ctx) {
    flush(ctx);
}

void PostgresAdapter::to_client(std::span<const std::uint8_t> bytes) {
    if (client_tls_ &&
        (client_phase_ == ClientPhase::InTls || client_phase_ == ClientPhase::Relaying)) {
        client_tls_->write(bytes);
    } else {
        out_client_.insert(out_client_.end(), bytes.begin(), bytes.end());
    }
}

void PostgresAdapter::to_server(std::span<const std::uint8_t> bytes) {
    if (server_phase_ != ServerPhase::Ready) {
        held_for_upstream_.insert(held_for_upstream_.end(), bytes.begin(), bytes.end());
        return;
    }
    if (server_tls_) {
        server_tls_->write(bytes);
    } else {
        server_plain_out_.insert(server_plain_out_.end(), bytes.begin(), bytes.end());
    }
}

void PostgresAdapter::flush(SessionContext& ctx) {
    ctx.send(Side::Client, std::exchange(out_client_, {}));
    if (client_tls_) {
        ctx.send(Side::Client, client_tls_->take_output());
    }
    ctx.send(Side::Server, std::exchange(server_plain_out_, {}));
    if (server_tls_) {
        ctx.send(Side::Server, server_tls_->take_output());
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

void PostgresAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    switch (client_phase_) {
    case ClientPhase::AwaitStartup:
        client_plain_.insert(client_plain_.end(), bytes.begin(), bytes.end());
        client_plain(ctx);
        break;
    case ClientPhase::AwaitClientHello:
    case ClientPhase::Handshake:
    case ClientPhase::InTls:
        feed_client_tls(ctx, bytes);
        break;
    case ClientPhase::Relaying:
        if (client_tls_) {
            feed_client_tls(ctx, bytes);
        } else {
            client_reader_.feed(bytes);
            relay_client_messages(ctx);
        }
        break;
    case ClientPhase::Cancel:
        to_server(bytes);
        break;
    case ClientPhase::Failed:
        break;
    }
    flush(ctx);
}

void PostgresAdapter::client_plain(SessionContext& ctx) {
    while (!ctx.finishing() &&
           (client_phase_ == ClientPhase::AwaitStartup || client_phase_ == ClientPhase::InTls)) {
        if (client_plain_.empty()) {
            return;
        }
        if (client_phase_ == ClientPhase::AwaitStartup && client_plain_[0] == kTlsHandshake &&
            !summary(ctx).ssl_request) {
            // Direct SSL (PostgreSQL 17): TLS from the first byte. Not after an SSLRequest the
            // lab answered N: PostgreSQL then reads the next bytes as a startup packet, and a
            // ClientHello there is "invalid length of startup packet" and a closed connection
            // (postgres.js sends one after every N but in sslmode prefer).
            auto& s = summary(ctx);
            s.direct_ssl = true;
            s.negotiation = s.gssenc_request ? "GSSENCRequest, then direct SSL" : "direct SSL";
            auto held = std::exchange(client_plain_, {});
            start_client_tls(ctx, true);
            feed_client_tls(ctx, held);
            return;
        }
        auto length = pg::startup_packet_length(client_plain_);
        if (!length) {
            client_phase_ = ClientPhase::Failed;
            // PostgreSQL logs it and closes the connection, without a word.
            ctx.finish(Outcome::ProtocolError, "invalid length of startup packet (" +
                                                   std::string(pg::to_string(length.error())) +
                                                   ")");
            return;
        }
        if (!*length || client_plain_.size() < **length) {
            return;
        }
        std::vector<std::uint8_t> packet(client_plain_.begin(),
                                         client_plain_.begin() + static_cast<long>(**length));
        client_plain_.erase(client_plain_.begin(),
                            client_plain_.begin() + static_cast<long>(**length));
        if (!on_startup_packet(ctx, packet)) {
            return;
        }
    }
}

bool PostgresAdapter::on_startup_packet(SessionContext& ctx, std::span<const std::uint8_t> packet) {
    auto decoded = pg::decode_startup(packet);
    if (!decoded) {
        client_phase_ = ClientPhase::Failed;
        to_client(postgres_fatal("08P01", "invalid startup packet layout: " +
                                              std::string(pg::to_string(decoded.error()))));
        ctx.finish(Outcome::ProtocolError,
                   "bad startup packet: " + std::string(pg::to_string(decoded.error())));
        return false;
    }
    bool in_tls = client_phase_ == ClientPhase::InTls;
    auto& s = summary(ctx);
    switch (decoded->kind) {
    case pg::StartupKind::SslRequest:
        if (in_tls) {
            client_phase_ = ClientPhase::Failed;
            to_client(postgres_fatal("08P01",
                                     "unsupported frontend protocol 1234.5679: server supports "
                                     "3.0 to 3.2"));
            ctx.finish(Outcome::ProtocolError, "an SSLRequest inside TLS");
            return false;
        }
        s.ssl_request = true;
        if (!client_plain_.empty()) {
            // As PostgreSQL (CVE-2021-23214): bytes behind the SSLRequest, before the answer,
            // could have been injected by someone on the path.
            client_phase_ = ClientPhase::Failed;
            to_client(unencrypted_data_after_ssl_request());
            ctx.finish(Outcome::ProtocolError, "unencrypted data after the SSLRequest");
            return false;
        }
        if (ctx.scenario().scenario.postgres.refuse_ssl) {
            s.ssl_answer = "N";
            s.negotiation = (s.gssenc_request ? "GSSENCRequest, then " : std::string()) +
                            "SSLRequest answered N";
            to_client(std::array<std::uint8_t, 1>{pg::kSslRefused});
            start_upstream_ssl(ctx); // the server leg stays encrypted
            return true;
        }
        s.ssl_answer = "S";
        s.negotiation =
            (s.gssenc_request ? "GSSENCRequest, then " : std::string()) + "SSLRequest answered S";
        to_client(std::array<std::uint8_t, 1>{pg::kSslAccepted});
        start_client_tls(ctx, false);
        return false; // what follows is TLS
    case pg::StartupKind::GssEncRequest:
        if (in_tls) {
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ProtocolError, "a GSSENCRequest inside TLS");
            return false;
        }
        s.gssenc_request = true;
        s.negotiation = "GSSENCRequest answered N";
        to_client(std::array<std::uint8_t, 1>{pg::kSslRefused});
        return true;
    case pg::StartupKind::CancelRequest:
        s.cancel_request = true;
        s.negotiation = in_tls ? s.negotiation + ", then CancelRequest" : "CancelRequest";
        cancel_ = true;
        if (server_phase_ == ServerPhase::Idle) {
            upstream_ready(ctx); // a cancel in clear goes up in clear
        }
        to_server(packet);
        client_phase_ = ClientPhase::Cancel;
        if (!client_plain_.empty()) {
            to_server(std::exchange(client_plain_, {}));
        }
        return false;
    case pg::StartupKind::Startup:
        on_startup_message(ctx, *decoded, packet);
        return false;
    }
    return false;
}

void PostgresAdapter::on_startup_message(SessionContext& ctx, const pg::StartupPacket& p,
                                         std::span<const std::uint8_t> packet) {
    bool in_tls = client_phase_ == ClientPhase::InTls;
    auto& s = summary(ctx);
    if (!in_tls && s.negotiation.empty()) {
        s.negotiation = "plaintext";
    } else if (!in_tls) {
        s.negotiation += ", then plaintext";
    }
    s.protocol_version = version_name(p);
    s.options = p.parameter("options").value_or("");
    LoginSummary login;
    login.user_name = p.parameter("user").value_or("");
    login.database = p.parameter("database").value_or(login.user_name);
    login.app_name = p.parameter("application_name").value_or("");
    login.through_tls = in_tls;
    ctx.record().login = login;
    ctx.record().client_mode = in_tls ? tds::EncryptionMode::Full : tds::EncryptionMode::None;
    plaintext_startup_ = !in_tls;

    if (!in_tls) {
        SessionFacts facts;
        facts.stage = SessionFacts::Stage::Prelogin;
        facts.client_address = ctx.record().client_address;
        ctx.choose(facts);
    }
    if (!in_tls && ctx.settings().postgres_refuse_plaintext) {
        client_phase_ = ClientPhase::Failed;
        to_client(no_pg_hba_entry_without_encryption(ctx.record().client_address, login.user_name,
                                                     login.database));
        s.auth_error = "28000 no pg_hba.conf entry for host \"" +
                       host_of(ctx.record().client_address) + "\", user \"" + login.user_name +
                       "\", database \"" + login.database + "\", no encryption";
        ctx.reached_login(Outcome::LoginPlaintext);
        ctx.finish(Outcome::LoginPlaintext,
                   "a StartupMessage in clear, refused as a hostssl-only server refuses it");
        return;
    }
    if (server_phase_ == ServerPhase::Idle) {
        upstream_ready(ctx); // a client in clear is mirrored in clear
    }
    startup_sent_ = true;
    ctx.keep(true, packet);
    to_server(packet);
    client_phase_ = ClientPhase::Relaying;
    ctx.reached_login(in_tls ? Outcome::LoginEncrypted : Outcome::LoginPlaintext);
    if (!client_plain_.empty()) {
        client_reader_.feed(std::exchange(client_plain_, {}));
        relay_client_messages(ctx);
    }
}

void PostgresAdapter::start_client_tls(SessionContext& ctx, bool direct) {
    client_wants_tls_ = true;
    client_phase_ = ClientPhase::AwaitClientHello;
    (void)direct;
    if (server_phase_ == ServerPhase::Idle) {
        start_upstream_ssl(ctx);
    }
}

void PostgresAdapter::note_client_tls(SessionContext& ctx) {
    if (client_tls_) {
        note_tls(ctx.record().client_tls, client_tls_->endpoint());
        if (!ctx.record().certificate_shown) {
            ctx.record().certificate_shown = ctx.scenario().leaf_info;
        }
    }
}

void PostgresAdapter::feed_client_tls(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (client_phase_ == ClientPhase::AwaitClientHello) {
        hello_.insert(hello_.end(), bytes.begin(), bytes.end());
        if (hello_[0] != kTlsHandshake) {
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ClosedBeforeTls,
                       "answered 'S', the client went on without TLS (first byte " +
                           std::to_string(hello_[0]) + ")");
            return;
        }
        if (!tls_record_complete(hello_)) {
            if (hello_.size() > kMaxHello) {
                client_phase_ = ClientPhase::Failed;
                ctx.finish(Outcome::ProtocolError, "a TLS record longer than TLS allows");
            }
            return;
        }
        // The ClientHello is here: the last moment to choose what the client is shown.
        SessionFacts facts;
        facts.stage = SessionFacts::Stage::ClientHello;
        facts.client_address = ctx.record().client_address;
        facts.sni = peek_sni(hello_);
        ctx.choose(facts);
        client_tls_.emplace(ctx.scenario().postgres_ctx.get(), TlsRole::Server);
        ctx.record().client_mode = tds::EncryptionMode::Full;
        client_phase_ = ClientPhase::Handshake;
        note_client_tls(ctx);
        bytes = hello_;
    }
    auto step = client_tls_->on_ciphertext(bytes);
    hello_.clear();
    if (step.error) {
        client_phase_ = ClientPhase::Failed;
        note_client_tls(ctx);
        flush(ctx);
        ctx.client_tls_failed(&client_tls_->endpoint(), *step.error);
        return;
    }
    if (step.established) {
        note_client_tls(ctx);
        client_phase_ = ClientPhase::InTls;
        const auto& rec = ctx.record();
        if (rec.postgres && rec.postgres->direct_ssl && ctx.scenario().scenario.tls.alpn &&
            client_tls_->endpoint().alpn_selected().empty()) {
            // PostgreSQL 17 completes the handshake, then refuses a direct-SSL client that did
            // not negotiate ALPN postgresql ("received direct SSL connection request without
            // ALPN protocol negotiation extension") and closes without a word to the client.
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ClosedAfterHandshake,
                       "direct SSL without ALPN: refused as PostgreSQL 17 refuses it (the "
                       "server closes after the handshake)");
            return;
        }
    }
    if (!step.plaintext.empty()) {
        if (client_phase_ == ClientPhase::InTls) {
            client_plain_.insert(client_plain_.end(), step.plaintext.begin(), step.plaintext.end());
            client_plain(ctx);
        } else if (client_phase_ == ClientPhase::Relaying) {
            client_reader_.feed(step.plaintext);
            relay_client_messages(ctx);
        } else if (client_phase_ == ClientPhase::Cancel) {
            to_server(step.plaintext);
        }
    }
    if (step.closed && !ctx.finishing()) {
        ctx.peer_closed(Side::Client, "the client sent close_notify");
    }
}

void PostgresAdapter::relay_client_messages(SessionContext& ctx) {
    while (!ctx.finishing()) {
        auto next = client_reader_.next();
        if (!next && next.error() == pg::Error::TooLong) {
            client_phase_ = ClientPhase::Failed;
            ctx.over_message_limit(Side::Client, "a PostgreSQL message");
            return;
        }
        if (!next) {
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ProtocolError,
                       "bad message from the client: " + std::string(pg::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        inspect_client(ctx, **next);
        auto bytes = pg::encode(**next);
        ctx.keep(true, bytes);
        to_server(bytes);
    }
}

void PostgresAdapter::expose(SessionContext& ctx, const std::string& secret) {
    const auto& record = ctx.record();
    const auto& scenario = ctx.scenario().scenario;
    bool plaintext = plaintext_startup_;
    if (!plaintext && !should_have_rejected(scenario)) {
        return;
    }
    const auto& login = *record.login;
    std::string why =
        plaintext ? "in PLAINTEXT: the login crossed the network unencrypted (" +
                        (record.postgres ? record.postgres->negotiation : std::string("?")) + ")"
                  : "through the '" + scenario.name +
                        "' certificate, which a validating client must reject (" +
                        scenario.expect_detail + ")";
    ctx.log(LogLevel::Warn, exposed_line(login.user_name, secret, login.app_name, why));
}

void PostgresAdapter::inspect_client(SessionContext& ctx, const pg::Message& m) {
    auto& record = ctx.record();
    if (m.type == pg::frontend::kPassword && !authenticated_ && record.login) {
        auto& s = summary(ctx);
        auto& login = *record.login;
        switch (static_cast<pg::AuthCode>(last_auth_code_)) {
        case pg::AuthCode::CleartextPassword:
            if (auto pw = pg::decode_password(m.body)) {
                login.password_length = 0;
                for (unsigned char c : *pw) {
                    login.password_length += (c & 0xC0) != 0x80 ? 1 : 0;
                }
                if (ctx.settings().reveal_secrets) {
                    login.password = *pw;
                }
                ctx.note_secret(
                    std::span(reinterpret_cast<const std::uint8_t*>(pw->data()), pw->size()));
                expose(ctx, login.password ? "password '" + *login.password + "'"
                                           : "a " + std::to_string(login.password_length) +
                                                 "-character password in clear "
                                                 "(--reveal-secrets shows it)");
            }
            break;
        case pg::AuthCode::Md5Password:
            if (auto hash = pg::decode_password(m.body)) {
                if (ctx.settings().reveal_secrets) {
                    s.md5_hash = *hash;
                }
                expose(ctx, ctx.settings().reveal_secrets
                                ? "MD5 response '" + *hash + "' (crackable offline)"
                                : "an MD5 password response, crackable offline (--reveal-secrets "
                                  "shows it)");
            }
            break;
        case pg::AuthCode::Sasl:
            if (auto initial = pg::decode_sasl_initial_response(m.body)) {
                s.auth_method = initial->mechanism;
                login.auth_kind = initial->mechanism;
                client_used_plus_ = initial->mechanism == pg::scram::kMechanismPlus;
                if (initial->data) {
                    std::string text(initial->data->begin(), initial->data->end());
                    if (auto first = pg::scram::parse_client_first(text)) {
                        switch (first->binding_flag) {
                        case 'p':
                            s.channel_binding = "used (" + first->binding_name + ")";
                            break;
                        case 'y':
                            s.channel_binding = "supported, not used (y)";
                            break;
                        default:
                            s.channel_binding = "not supported (n)";
                            break;
                        }
                    }
                }
            }
            break;
        case pg::AuthCode::Ok:
        case pg::AuthCode::KerberosV5:
        case pg::AuthCode::Gss:
        case pg::AuthCode::GssContinue:
        case pg::AuthCode::Sspi:
        case pg::AuthCode::SaslContinue:
        case pg::AuthCode::SaslFinal:
            break;
        }
        return;
    }
    if (!ctx.settings().record_messages || !authenticated_) {
        return;
    }
    switch (m.type) {
    case pg::frontend::kQuery:
        if (auto q = pg::decode_query(m.body)) {
            ctx.message("query", true, q->sql);
        }
        break;
    case pg::frontend::kParse:
        if (auto p = pg::decode_parse(m.body)) {
            ctx.message("parse", true, p->sql, {}, {}, p->statement);
        }
        break;
    default:
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// Server side

void PostgresAdapter::start_upstream_ssl(SessionContext& ctx) {
    server_phase_ = ServerPhase::AwaitSslAnswer;
    pg::StartupPacket request;
    request.kind = pg::StartupKind::SslRequest;
    request.code = pg::kSslRequestCode;
    ctx.send(Side::Server, pg::encode_startup(request));
}

void PostgresAdapter::upstream_ready(SessionContext& ctx) {
    server_phase_ = ServerPhase::Ready;
    if (!server_tls_ && !ctx.record().upstream_mode) {
        ctx.record().upstream_mode = tds::EncryptionMode::None;
    }
    auto held = std::exchange(held_for_upstream_, {});
    to_server(held);
}

void PostgresAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    switch (server_phase_) {
    case ServerPhase::Idle:
    case ServerPhase::Failed:
        break;
    case ServerPhase::AwaitSslAnswer: {
        std::uint8_t answer = bytes[0];
        auto& s = summary(ctx);
        s.upstream_answer = std::string(1, static_cast<char>(answer));
        if (answer == pg::kSslAccepted) {
            if (bytes.size() > 1) {
                // As libpq (CVE-2021-23222): nothing may follow 'S' before the handshake.
                server_phase_ = ServerPhase::Failed;
                ctx.finish(Outcome::UpstreamFailed,
                           "the server sent unencrypted data after its 'S'");
                return;
            }
            server_tls_.emplace(ctx.settings().upstream.postgres, TlsRole::Client,
                                ctx.settings().upstream_name);
            server_phase_ = ServerPhase::Handshake;
            ctx.record().upstream_mode = tds::EncryptionMode::Full;
        } else if (answer == pg::kSslRefused) {
            ctx.record().upstream_mode = tds::EncryptionMode::None;
            upstream_ready(ctx);
            if (bytes.size() > 1) {
                server_plain(ctx, bytes.subspan(1));
            }
        } else {
            // A server from before SSL support answers with an error message ('E').
            server_phase_ = ServerPhase::Failed;
            ctx.finish(Outcome::UpstreamFailed,
                       "the server did not answer the SSLRequest with S or N (first byte " +
                           std::to_string(answer) + ")");
            return;
        }
        break;
    }
    case ServerPhase::Handshake:
    case ServerPhase::Ready:
        if (server_tls_) {
            auto step = server_tls_->on_ciphertext(bytes);
            if (step.established) {
                note_upstream(ctx, server_tls_->endpoint());
                upstream_ready(ctx);
            }
            if (step.error) {
                server_phase_ = ServerPhase::Failed;
                note_upstream(ctx, server_tls_->endpoint());
                ctx.finish(Outcome::UpstreamFailed, "server leg: " + *step.error);
                return;
            }
            if (!step.plaintext.empty()) {
                server_plain(ctx, step.plaintext);
            }
            if (step.closed && !ctx.finishing()) {
                ctx.peer_closed(Side::Server, "the server sent close_notify");
            }
        } else {
            server_plain(ctx, bytes);
        }
        break;
    }
    flush(ctx);
}

void PostgresAdapter::server_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (cancel_) {
        to_client(bytes);
        return;
    }
    server_reader_.feed(bytes);
    relay_server_messages(ctx);
}

void PostgresAdapter::relay_server_messages(SessionContext& ctx) {
    while (!ctx.finishing()) {
        auto next = server_reader_.next();
        if (!next && next.error() == pg::Error::TooLong) {
            server_phase_ = ServerPhase::Failed;
            ctx.over_message_limit(Side::Server, "a PostgreSQL message");
            return;
        }
        if (!next) {
            server_phase_ = ServerPhase::Failed;
            ctx.finish(Outcome::UpstreamFailed,
                       "bad message from the server: " + std::string(pg::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        inspect_server(ctx, **next);
        auto bytes = pg::encode(**next);
        ctx.keep(false, bytes);
        to_client(bytes);
    }
}

void PostgresAdapter::inspect_server(SessionContext& ctx, pg::Message& m) {
    if (m.type == pg::backend::kAuthentication && !authenticated_) {
        auto request = pg::decode_auth_request(m.body);
        if (!request) {
            return;
        }
        auto& s = summary(ctx);
        last_auth_code_ = request->code;
        auto code = static_cast<pg::AuthCode>(request->code);
        auto method = [&](std::string name) {
            s.auth_method = name;
            if (ctx.record().login) {
                ctx.record().login->auth_kind = std::move(name);
            }
        };
        switch (code) {
        case pg::AuthCode::Ok:
            authenticated_ = true;
            s.authenticated = true;
            if (s.auth_method.empty()) {
                method("trust");
            }
            break;
        case pg::AuthCode::CleartextPassword:
            method("password");
            break;
        case pg::AuthCode::Md5Password:
            method("md5");
            break;
        case pg::AuthCode::Sasl:
            if (ctx.scenario().scenario.postgres.strip_channel_binding) {
                auto& mech = request->mechanisms;
                auto before = mech.size();
                mech.erase(
                    std::remove(mech.begin(), mech.end(), std::string(pg::scram::kMechanismPlus)),
                    mech.end());
                if (mech.size() != before) {
                    m = pg::encode_auth_request(*request);
                    ctx.log(LogLevel::Info, "removed SCRAM-SHA-256-PLUS from the server's "
                                            "SASL mechanisms (pg-no-channel-binding)");
                }
            }
            s.sasl_offered = request->mechanisms;
            method("SASL");
            break;
        case pg::AuthCode::KerberosV5:
            method("kerberos");
            break;
        case pg::AuthCode::Gss:
        case pg::AuthCode::GssContinue:
            method("gss");
            break;
        case pg::AuthCode::Sspi:
            method("sspi");
            break;
        case pg::AuthCode::SaslContinue:
        case pg::AuthCode::SaslFinal:
            break;
        }
        return;
    }
    if (m.type == pg::backend::kErrorResponse) {
        auto notice = pg::decode_notice(m.body);
        if (!notice) {
            return;
        }
        if (!authenticated_ && ctx.record().postgres) {
            auto& s = *ctx.record().postgres;
            s.auth_error = notice->sqlstate() + " " + notice->message();
            bool about_binding = notice->message().find("channel binding") != std::string::npos;
            if (about_binding && !client_used_plus_ && s.channel_binding.starts_with("supported")) {
                ctx.log(LogLevel::Warn,
                        "CHANNEL BINDING: the server saw the client's 'y' flag (it supports "
                        "binding but was offered none) and refused: the mechanism list was "
                        "tampered with on the way, and SCRAM caught it (\"" +
                            notice->message() + "\")");
            }
            if (client_used_plus_ && about_binding) {
                s.channel_binding_defeated = true;
                ctx.log(LogLevel::Warn,
                        "CHANNEL BINDING: the server refused the client's SCRAM-SHA-256-PLUS "
                        "proof, bound to the certificate the lab showed instead of its own: the "
                        "client's channel binding defeated the interception (\"" +
                            notice->message() + "\")");
            }
        } else if (ctx.settings().record_messages) {
            ctx.message("error", false, notice->message(), {}, {}, notice->sqlstate());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts

Outcome PostgresAdapter::judge_client_left(const SessionContext& ctx) const {
    if (startup_sent_) {
        return ctx.record().outcome;
    }
    switch (client_phase_) {
    case ClientPhase::AwaitClientHello:
        return hello_.empty() ? Outcome::ClosedBeforeTls : Outcome::ClosedDuringHandshake;
    case ClientPhase::Handshake:
        return Outcome::ClosedDuringHandshake;
    case ClientPhase::InTls:
        return Outcome::ClosedAfterHandshake;
    case ClientPhase::Failed:
        return ctx.record().outcome == Outcome::LoginPlaintext ? Outcome::LoginPlaintext
                                                               : Outcome::ProtocolError;
    case ClientPhase::Cancel:
        return client_tls_ ? Outcome::ClosedAfterHandshake : Outcome::ClosedBeforeTls;
    case ClientPhase::AwaitStartup:
    case ClientPhase::Relaying:
        break;
    }
    return Outcome::ClosedBeforeTls;
}

Outcome PostgresAdapter::server_left_before_login(const SessionContext& ctx) const {
    if (cancel_) {
        return judge_client_left(ctx);
    }
    return Outcome::UpstreamFailed;
}

void PostgresAdapter::complete_record(SessionContext& ctx) {
    note_client_tls(ctx);
    if (server_tls_) {
        note_upstream(ctx, server_tls_->endpoint());
    }
}

} // namespace proxy
