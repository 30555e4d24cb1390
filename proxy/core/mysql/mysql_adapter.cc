#include <algorithm>

#include <mysql/commands.h>
#include <mysql/constants.h>
#include <mysql/responses.h>
#include <proxy/core/mysql/mysql_adapter.h>
#include <proxy/core/tds/tds_inspector.h>
#include <proxy/core/tls/client_hello_peek.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTlsHandshake = 0x16;
constexpr std::size_t kMaxHello = 16 * 1024 + 5;

// The first byte of what the server sends during authentication.
constexpr std::uint8_t kOk = 0x00;
constexpr std::uint8_t kAuthMoreData = 0x01;
constexpr std::uint8_t kAuthSwitch = 0xFE;
constexpr std::uint8_t kErr = 0xFF;
// caching_sha2_password's AuthMoreData bytes and the client's key request.
constexpr std::uint8_t kFastAuthSuccess = 0x03;
constexpr std::uint8_t kPerformFullAuth = 0x04;
constexpr std::uint8_t kCachingSha2KeyRequest = 0x02;
constexpr std::uint8_t kSha256KeyRequest = 0x01;

constexpr std::string_view kNativePassword = "mysql_native_password";
constexpr std::string_view kCachingSha2 = "caching_sha2_password";
constexpr std::string_view kSha256 = "sha256_password";
constexpr std::string_view kClearPassword = "mysql_clear_password";

// MySQL's ER_HANDSHAKE_ERROR and ER_SECURE_TRANSPORT_REQUIRED.
constexpr std::uint16_t kBadHandshake = 1043;
constexpr std::uint16_t kPacketTooLarge = 1153; // ER_NET_PACKET_TOO_LARGE
constexpr std::uint16_t kSecureTransportRequired = 3159;
constexpr std::string_view kSecureTransportText =
    "Connections using insecure transport are prohibited while --require_secure_transport=ON.";
// MariaDB (10.5.2+) has require_secure_transport too, but refuses a clear login with its plain
// ER_ACCESS_DENIED_ERROR (seen on 10.11.19).
constexpr std::uint16_t kAccessDenied = 1045;

// host_of: "127.0.0.1" of "127.0.0.1:5000", "::1" of "[::1]:5000".
std::string host_of(const std::string& address) {
    if (address.starts_with('[')) {
        auto close = address.find(']');
        return address.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    }
    auto colon = address.rfind(':');
    return colon == std::string::npos ? address : address.substr(0, colon);
}

std::string describe(const mysql::ErrPacket& e) {
    return std::to_string(e.code) + " " + (e.has_sql_state ? e.sql_state + " " : std::string()) +
           e.message;
}

std::span<const std::uint8_t> until_nul(std::span<const std::uint8_t> data) {
    auto nul = std::find(data.begin(), data.end(), std::uint8_t{0});
    return data.first(static_cast<std::size_t>(nul - data.begin()));
}

std::size_t utf8_length(std::span<const std::uint8_t> bytes) {
    std::size_t n = 0;
    for (std::uint8_t c : bytes) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

// looks_like_password: what a client sends when it sends its password in clear: the password
// and one NUL, shorter than any RSA block (an RSA-encrypted password is the key's size).
bool looks_like_password(std::span<const std::uint8_t> data) {
    return !data.empty() && data.size() < 128 && data.back() == 0 &&
           std::find(data.begin(), data.end() - 1, std::uint8_t{0}) == data.end() - 1;
}

std::string attribute(const std::vector<std::pair<std::string, std::string>>& attributes,
                      std::string_view name) {
    for (const auto& [key, value] : attributes) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

// set_capabilities patches the lower capability flags, the first four bytes of an SSLRequest or
// a HandshakeResponse41 (little-endian); nothing else of the packet changes.
void set_capabilities(std::vector<std::uint8_t>& payload, std::uint32_t caps) {
    for (std::size_t i = 0; i < 4 && i < payload.size(); ++i) {
        payload[i] = static_cast<std::uint8_t>(caps >> (8 * i));
    }
}

} // namespace

std::string_view to_string(MysqlAdapter::ClientPhase p) {
    switch (p) {
    case MysqlAdapter::ClientPhase::AwaitGreeting:
        return "await-greeting";
    case MysqlAdapter::ClientPhase::AwaitResponse:
        return "await-response";
    case MysqlAdapter::ClientPhase::AwaitClientHello:
        return "await-client-hello";
    case MysqlAdapter::ClientPhase::Handshake:
        return "handshake";
    case MysqlAdapter::ClientPhase::InTls:
        return "in-tls";
    case MysqlAdapter::ClientPhase::Authenticating:
        return "authenticating";
    case MysqlAdapter::ClientPhase::Commands:
        return "commands";
    case MysqlAdapter::ClientPhase::Failed:
        return "failed";
    }
    return "?";
}

MysqlAdapter::MysqlAdapter(const SessionContext& ctx)
    : client_reader_(std::min(kMaxConnectionPhasePacket, ctx.settings().max_message_bytes)),
      server_reader_(std::min(kMaxConnectionPhasePacket, ctx.settings().max_message_bytes)) {}

MysqlSummary& MysqlAdapter::summary(SessionContext& ctx) {
    auto& record = ctx.record();
    if (!record.mysql) {
        record.mysql.emplace();
    }
    record.protocol = "mysql";
    return *record.mysql;
}

std::uint32_t MysqlAdapter::agreed_capabilities() const {
    return greeting_ ? client_capabilities_ & greeting_->capabilities : client_capabilities_;
}

std::uint8_t MysqlAdapter::to_server_sequence(std::uint8_t client_sequence) const {
    return static_cast<std::uint8_t>(client_sequence + (server_ssl_ ? 1 : 0) -
                                     (client_ssl_ ? 1 : 0));
}

std::uint8_t MysqlAdapter::to_client_sequence(std::uint8_t server_sequence) const {
    return static_cast<std::uint8_t>(server_sequence + (client_ssl_ ? 1 : 0) -
                                     (server_ssl_ ? 1 : 0));
}

void MysqlAdapter::on_connected(SessionContext& ctx) {
    summary(ctx);
    flush(ctx);
}

void MysqlAdapter::to_client(std::span<const std::uint8_t> bytes) {
    if (client_tls_) {
        client_tls_->write(bytes); // held until the handshake is done
    } else {
        out_client_.insert(out_client_.end(), bytes.begin(), bytes.end());
    }
}

void MysqlAdapter::to_server(std::span<const std::uint8_t> bytes) {
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

void MysqlAdapter::flush(SessionContext& ctx) {
    ctx.send(Side::Client, std::exchange(out_client_, {}));
    if (client_tls_) {
        ctx.send(Side::Client, client_tls_->take_output());
    }
    ctx.send(Side::Server, std::exchange(server_plain_out_, {}));
    if (server_tls_) {
        ctx.send(Side::Server, server_tls_->take_output());
    }
}

void MysqlAdapter::refuse_client(SessionContext& ctx, std::uint8_t sequence, std::uint16_t code,
                                 const std::string& sql_state, const std::string& message,
                                 Outcome outcome, const std::string& detail) {
    mysql::ErrPacket err;
    err.code = code;
    err.sql_state = sql_state;
    err.message = message;
    auto bytes = mysql::frame(sequence, mysql::encode_err(err));
    ctx.keep(false, bytes);
    to_client(bytes);
    client_phase_ = ClientPhase::Failed;
    ctx.finish(outcome, detail);
}

// ---------------------------------------------------------------------------------------------
// Client side

void MysqlAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    switch (client_phase_) {
    case ClientPhase::AwaitGreeting:
    case ClientPhase::AwaitResponse:
        client_plain(ctx, bytes);
        break;
    case ClientPhase::AwaitClientHello:
    case ClientPhase::Handshake:
    case ClientPhase::InTls:
        feed_client_tls(ctx, bytes);
        break;
    case ClientPhase::Authenticating:
    case ClientPhase::Commands:
        if (client_tls_) {
            feed_client_tls(ctx, bytes);
        } else {
            client_plain(ctx, bytes);
        }
        break;
    case ClientPhase::Failed:
        break;
    }
    flush(ctx);
}

void MysqlAdapter::client_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    client_reader_.feed(bytes);
    if (client_phase_ == ClientPhase::AwaitGreeting) {
        // A client that speaks before the server: held (a server reads it after its greeting),
        // within the bound of one connection-phase packet.
        if (client_reader_.buffered() > kMaxConnectionPhasePacket + 4) {
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ProtocolError,
                       "the client sent more than a packet before the server's greeting");
        }
        return;
    }
    client_packets(ctx);
}

void MysqlAdapter::client_packets(SessionContext& ctx) {
    auto reading = [&] {
        return client_phase_ == ClientPhase::AwaitResponse || client_phase_ == ClientPhase::InTls ||
               client_phase_ == ClientPhase::Authenticating ||
               client_phase_ == ClientPhase::Commands;
    };
    while (!ctx.finishing() && reading()) {
        auto next = client_reader_.next();
        if (!next && next.error() == mysql::Error::TooLong &&
            client_phase_ == ClientPhase::Commands) {
            // As MySQL past max_allowed_packet: ER_NET_PACKET_TOO_LARGE to the client (after its
            // command packet, sequence 0), then the connection closes. Nothing was relayed.
            mysql::ErrPacket err;
            err.code = kPacketTooLarge;
            err.sql_state = "08S01";
            err.message = "Got a packet bigger than 'max_allowed_packet' bytes";
            auto bytes = mysql::frame(1, mysql::encode_err(err));
            ctx.keep(false, bytes);
            to_client(bytes);
            client_phase_ = ClientPhase::Failed;
            ctx.over_message_limit(Side::Client, "a MySQL packet", true);
            return;
        }
        if (!next) {
            std::string why =
                "bad packet from the client: " + std::string(mysql::to_string(next.error()));
            if (client_phase_ == ClientPhase::Commands) {
                client_phase_ = ClientPhase::Failed;
                ctx.finish(Outcome::ProtocolError, why);
            } else {
                // As a server that cannot read the connection phase: "Bad handshake".
                refuse_client(ctx, static_cast<std::uint8_t>(client_sequence_ + 1), kBadHandshake,
                              "08S01", "Bad handshake", Outcome::ProtocolError, why);
            }
            return;
        }
        if (!*next) {
            return;
        }
        on_client_packet(ctx, **next);
    }
}

void MysqlAdapter::on_client_packet(SessionContext& ctx, mysql::Packet& p) {
    client_sequence_ = p.last_sequence;
    switch (client_phase_) {
    case ClientPhase::AwaitResponse:
        if (mysql::is_ssl_request(p.payload)) {
            on_ssl_request(ctx, p);
        } else {
            on_handshake_response(ctx, p);
        }
        return;
    case ClientPhase::InTls:
        if (mysql::is_ssl_request(p.payload)) {
            refuse_client(ctx, static_cast<std::uint8_t>(p.sequence + 1), kBadHandshake, "08S01",
                          "Bad handshake", Outcome::ProtocolError, "an SSLRequest inside TLS");
            return;
        }
        on_handshake_response(ctx, p);
        return;
    case ClientPhase::Authenticating: {
        inspect_client_auth(ctx, p.payload, false);
        auto bytes = mysql::frame(to_server_sequence(p.sequence), p.payload);
        ctx.keep(true, bytes);
        to_server(bytes);
        return;
    }
    case ClientPhase::Commands: {
        inspect_command(ctx, p);
        auto bytes = mysql::frame(p.sequence, p.payload);
        ctx.keep(true, bytes);
        to_server(bytes);
        return;
    }
    case ClientPhase::AwaitGreeting:
    case ClientPhase::AwaitClientHello:
    case ClientPhase::Handshake:
    case ClientPhase::Failed:
        return;
    }
}

void MysqlAdapter::on_ssl_request(SessionContext& ctx, const mysql::Packet& p) {
    auto& s = summary(ctx);
    auto next_sequence = static_cast<std::uint8_t>(p.sequence + 1);
    if (!s.client_shown_ssl) {
        // A server without TLS cannot read what follows an SSLRequest.
        refuse_client(ctx, next_sequence, kBadHandshake, "08S01", "Bad handshake",
                      Outcome::ProtocolError, "an SSLRequest after a greeting without CLIENT_SSL");
        return;
    }
    auto request = mysql::decode_ssl_request(p.payload);
    if (!request) {
        refuse_client(ctx, next_sequence, kBadHandshake, "08S01", "Bad handshake",
                      Outcome::ProtocolError,
                      "a bad SSLRequest: " + std::string(mysql::to_string(request.error())));
        return;
    }
    s.ssl_request = true;
    s.negotiation = "SSLRequest";
    s.client_capabilities = request->capabilities;
    client_capabilities_ = request->capabilities;
    client_ssl_ = true;
    ctx.keep(true, mysql::frame(p.sequence, p.payload));
    client_phase_ = ClientPhase::AwaitClientHello;
    if (server_phase_ == ServerPhase::Idle) {
        if ((greeting_->capabilities & mysql::cap::Ssl) != 0) {
            mysql::SslRequest up;
            up.capabilities = request->capabilities & greeting_->capabilities;
            up.max_packet_size = request->max_packet_size;
            up.character_set = request->character_set;
            up.mariadb_capabilities =
                request->mariadb_capabilities & greeting_->mariadb_capabilities();
            start_upstream_tls(ctx, up);
        } else {
            upstream_clear(ctx, "clear (the server offers no SSL)");
        }
    }
    // No answer to an SSLRequest: the ClientHello may already be behind it.
    auto rest = client_reader_.take_buffered();
    if (!rest.empty()) {
        feed_client_tls(ctx, rest);
    }
}

void MysqlAdapter::on_handshake_response(SessionContext& ctx, mysql::Packet& p) {
    bool in_tls = client_phase_ == ClientPhase::InTls;
    auto next_sequence = static_cast<std::uint8_t>(p.sequence + 1);
    auto response = mysql::decode_handshake_response(p.payload);
    if (!response) {
        refuse_client(ctx, next_sequence, kBadHandshake, "08S01", "Bad handshake",
                      Outcome::ProtocolError,
                      "a HandshakeResponse the proxy cannot read: " +
                          std::string(mysql::to_string(response.error())));
        return;
    }
    auto& s = summary(ctx);
    if (!in_tls) {
        s.negotiation =
            s.client_shown_ssl ? "plaintext (SSL offered)" : "plaintext (SSL not offered)";
    }
    s.client_capabilities = response->capabilities;
    client_capabilities_ = response->capabilities;
    s.client_plugin = response->auth_plugin.value_or("");
    s.attributes = response->attributes;

    LoginSummary login;
    login.user_name = response->user;
    login.database = response->database.value_or("");
    login.app_name = attribute(response->attributes, "program_name");
    auto library = attribute(response->attributes, "_client_name");
    auto version = attribute(response->attributes, "_client_version");
    if (library.empty()) {
        library = attribute(response->attributes, "_connector_name");
        version = attribute(response->attributes, "_connector_version");
    }
    login.library_name = version.empty() ? library : library + " " + version;
    login.through_tls = in_tls;
    plugin_ = response->auth_plugin.value_or(greeting_->auth_plugin_name);
    if (plugin_.empty()) {
        plugin_ = kNativePassword; // neither side speaks CLIENT_PLUGIN_AUTH
    }
    login.auth_kind = plugin_;
    ctx.record().login = login;
    ctx.record().client_mode = in_tls ? tds::EncryptionMode::Full : tds::EncryptionMode::None;
    plaintext_login_ = !in_tls;
    s.auth_plugins.push_back(plugin_);
    ctx.keep(true, mysql::frame(p.sequence, p.payload));
    inspect_client_auth(ctx, response->auth_response, true);

    if (!in_tls && ctx.settings().mysql_refuse_plaintext) {
        // As the server in front of which the proxy stands: MySQL's 3159, MariaDB's 1045.
        bool mariadb = greeting_->is_mariadb();
        std::uint16_t code = mariadb ? kAccessDenied : kSecureTransportRequired;
        std::string state = mariadb ? "28000" : "HY000";
        std::string text = mariadb
                               ? "Access denied for user '" + response->user + "'@'" +
                                     host_of(ctx.record().client_address) + "' (using password: " +
                                     (response->auth_response.empty() ? "NO" : "YES") + ")"
                               : std::string(kSecureTransportText);
        s.auth_error = std::to_string(code) + " " + state + " " + text;
        ctx.reached_login(Outcome::LoginPlaintext);
        refuse_client(ctx, next_sequence, code, state, text, Outcome::LoginPlaintext,
                      "a HandshakeResponse in clear, refused as a server with "
                      "require_secure_transport=ON refuses it (ERR " +
                          std::to_string(code) + ")");
        return;
    }
    if (server_phase_ == ServerPhase::Idle) {
        // A client in clear is mirrored in clear, also one shown no CLIENT_SSL (hide_ssl): it
        // must meet what a server without TLS does (caching_sha2_password's full path asks it
        // for the RSA key exchange, which a server on TLS would read as the password).
        bool offered = (greeting_->capabilities & mysql::cap::Ssl) != 0;
        upstream_clear(ctx, !offered ? "clear (the server offers no SSL)"
                            : ctx.scenario().scenario.mysql.hide_ssl
                                ? "clear (mirrors the client, who was shown no SSL)"
                                : "clear (mirrors the client in clear)");
    }
    // CLIENT_SSL as the upstream leg is (a server reads it as "TLS follows").
    std::uint32_t caps = server_ssl_ ? response->capabilities | mysql::cap::Ssl
                                     : response->capabilities & ~mysql::cap::Ssl;
    if (caps != response->capabilities) {
        set_capabilities(p.payload, caps);
    }
    to_server(mysql::frame(to_server_sequence(p.sequence), p.payload));
    response_sent_ = true;
    client_phase_ = ClientPhase::Authenticating;
    ctx.reached_login(in_tls ? Outcome::LoginEncrypted : Outcome::LoginPlaintext);
}

void MysqlAdapter::note_client_tls(SessionContext& ctx) {
    if (client_tls_) {
        note_tls(ctx.record().client_tls, client_tls_->endpoint());
        if (!ctx.record().certificate_shown) {
            ctx.record().certificate_shown = ctx.scenario().leaf_info;
        }
    }
}

void MysqlAdapter::feed_client_tls(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    std::vector<std::uint8_t> hello;
    if (client_phase_ == ClientPhase::AwaitClientHello) {
        hello_.insert(hello_.end(), bytes.begin(), bytes.end());
        if (hello_.empty()) {
            return;
        }
        if (hello_[0] != kTlsHandshake) {
            client_phase_ = ClientPhase::Failed;
            ctx.finish(Outcome::ProtocolError,
                       "after its SSLRequest the client did not start TLS (first byte " +
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
        client_tls_.emplace(ctx.scenario().tls_ctx.get(), TlsRole::Server);
        ctx.record().client_mode = tds::EncryptionMode::Full;
        client_phase_ = ClientPhase::Handshake;
        note_client_tls(ctx);
        hello = std::exchange(hello_, {});
        bytes = hello;
    }
    auto step = client_tls_->on_ciphertext(bytes);
    if (step.error) {
        client_phase_ = ClientPhase::Failed;
        note_client_tls(ctx);
        flush(ctx);
        ctx.client_tls_failed(&client_tls_->endpoint(), *step.error);
        return;
    }
    if (step.established) {
        note_client_tls(ctx);
        if (client_phase_ == ClientPhase::Handshake) {
            client_phase_ = ClientPhase::InTls;
        }
    }
    if (!step.plaintext.empty()) {
        client_reader_.feed(step.plaintext);
        client_packets(ctx);
    }
    if (step.closed && !ctx.finishing()) {
        ctx.peer_closed(Side::Client, "the client sent close_notify");
    }
}

void MysqlAdapter::expose(SessionContext& ctx, const std::string& secret) {
    const auto& record = ctx.record();
    const auto& scenario = ctx.scenario().scenario;
    if (!record.login || (!plaintext_login_ && !should_have_rejected(scenario))) {
        return;
    }
    const auto& login = *record.login;
    std::string why = plaintext_login_
                          ? "in PLAINTEXT: the login crossed the network unencrypted (" +
                                (record.mysql ? record.mysql->negotiation : std::string("?")) + ")"
                          : "through the '" + scenario.name +
                                "' certificate, which a validating client must reject (" +
                                scenario.expect_detail + ")";
    ctx.log(LogLevel::Warn, exposed_line(login.user_name, secret, login.app_name, why));
}

void MysqlAdapter::read_password(SessionContext& ctx, std::span<const std::uint8_t> data,
                                 const std::string& via) {
    auto& record = ctx.record();
    if (!record.login) {
        return;
    }
    auto& s = summary(ctx);
    auto& login = *record.login;
    auto password = until_nul(data);
    login.password_length = utf8_length(password);
    if (ctx.settings().reveal_secrets) {
        login.password = std::string(password.begin(), password.end());
    }
    ctx.note_secret(password);
    s.password_read = true;
    s.password_via = via;
    expose(ctx, login.password ? "password '" + *login.password + "'"
                               : "a " + std::to_string(login.password_length) +
                                     "-character password in clear (--reveal-secrets shows it)");
}

void MysqlAdapter::inspect_client_auth(SessionContext& ctx, std::span<const std::uint8_t> data,
                                       bool in_response) {
    auto& s = summary(ctx);
    std::string mode = client_in_tls() ? "TLS" : "plaintext";
    if (plugin_ == kClearPassword) {
        s.auth_path = "password in clear (" + mode + ")";
        read_password(ctx, data, std::string(kClearPassword));
        return;
    }
    if (plugin_ == kCachingSha2) {
        switch (auth_step_) {
        case AuthStep::FullRequested:
            auth_step_ = AuthStep::None;
            if (data.size() == 1 && data[0] == kCachingSha2KeyRequest) {
                s.auth_path = "full: RSA public key requested";
                auth_step_ = AuthStep::PublicKeyRequested;
            } else if (client_in_tls() || looks_like_password(data)) {
                s.auth_path = "full: password in clear (" + mode + ")";
                read_password(ctx, data, "caching_sha2_password full authentication");
            } else {
                s.auth_path = "full: RSA (encrypted to the server's key)";
            }
            return;
        case AuthStep::PublicKeyRequested:
            auth_step_ = AuthStep::None;
            s.auth_path = "full: RSA public key requested, then RSA";
            return;
        case AuthStep::None:
            break; // the scramble
        }
    } else if (plugin_ == kSha256) {
        if (data.size() == 1 && data[0] == kSha256KeyRequest) {
            s.auth_path = "RSA public key requested";
            auth_step_ = AuthStep::PublicKeyRequested;
        } else if (auth_step_ == AuthStep::PublicKeyRequested) {
            auth_step_ = AuthStep::None;
            s.auth_path = "RSA public key requested, then RSA";
        } else if (client_in_tls() || looks_like_password(data)) {
            s.auth_path = "password in clear (" + mode + ")";
            read_password(ctx, data, std::string(kSha256));
        } else if (!data.empty()) {
            s.auth_path = "RSA (encrypted to the server's key)";
        }
        return;
    }
    // A scramble answer (mysql_native_password, caching_sha2_password's first step): not the
    // password, but with the greeting's scramble it can be attacked offline.
    if (!data.empty() && (plugin_ == kNativePassword || plugin_ == kCachingSha2)) {
        expose(ctx, "a " + plugin_ + " response" +
                        (in_response ? std::string() : std::string(" after a switch")) +
                        ", crackable offline with the greeting's scramble");
    }
}

void MysqlAdapter::inspect_command(SessionContext& ctx, const mysql::Packet& p) {
    auto& s = summary(ctx);
    if (p.payload.empty()) {
        return;
    }
    std::uint8_t command = p.payload[0];
    if (s.first_command.empty()) {
        s.first_command = mysql::command_name(command);
    }
    if (command != static_cast<std::uint8_t>(mysql::Command::Quit)) {
        command_seen_ = true;
        s.commands_after_ok = true;
    }
    if (!ctx.settings().record_messages) {
        return;
    }
    if (command == static_cast<std::uint8_t>(mysql::Command::Query)) {
        if (auto q = mysql::decode_query(p.payload, agreed_capabilities())) {
            ctx.message("query", true, q->text);
        }
    } else if (command == static_cast<std::uint8_t>(mysql::Command::StmtPrepare)) {
        ctx.message("prepare", true, std::string(p.payload.begin() + 1, p.payload.end()));
    }
}

// ---------------------------------------------------------------------------------------------
// Server side

void MysqlAdapter::start_upstream_tls(SessionContext& ctx, const mysql::SslRequest& request) {
    SSL_CTX* upstream = ctx.settings().upstream.mysql;
    if (upstream == nullptr) {
        ctx.log(LogLevel::Warn, "no upstream TLS context for MySQL: the server leg stays clear");
        upstream_clear(ctx, "clear (no upstream TLS context)");
        return;
    }
    auto& s = summary(ctx);
    s.upstream_leg = "TLS";
    ctx.record().upstream_mode = tds::EncryptionMode::Full;
    server_ssl_ = true;
    // Seq 1, after the greeting; the ClientHello follows at once (flush).
    ctx.send(Side::Server, mysql::frame(1, mysql::encode_ssl_request(request)));
    server_tls_.emplace(upstream, TlsRole::Client, ctx.settings().upstream_name);
    server_phase_ = ServerPhase::Handshake;
}

void MysqlAdapter::upstream_clear(SessionContext& ctx, std::string why) {
    summary(ctx).upstream_leg = std::move(why);
    ctx.record().upstream_mode = tds::EncryptionMode::None;
    upstream_ready(ctx);
}

void MysqlAdapter::upstream_ready(SessionContext& /*ctx*/) {
    server_phase_ = ServerPhase::Ready;
    auto held = std::exchange(held_for_upstream_, {});
    to_server(held);
}

void MysqlAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    switch (server_phase_) {
    case ServerPhase::AwaitGreeting:
    case ServerPhase::Idle:
        server_plain(ctx, bytes);
        break;
    case ServerPhase::Handshake:
    case ServerPhase::Ready:
        if (server_tls_) {
            auto step = server_tls_->on_ciphertext(bytes);
            if (step.established) {
                note_upstream(ctx, server_tls_->endpoint());
                upstream_ready(ctx);
            }
            if (step.error) {
                // Only a server leg that was up could have carried the login: a handshake that
                // fails while the client's response waits for it is the server leg failing.
                const bool leg_was_up = server_phase_ == ServerPhase::Ready;
                server_phase_ = ServerPhase::Failed;
                note_upstream(ctx, server_tls_->endpoint());
                // After the login the verdict is the client's: a server that answers the
                // proxy's FIN (relaying a client that left without COM_QUIT or close_notify)
                // with an alert, as MariaDB's OpenSSL does, does not undo a login.
                if (leg_was_up && response_sent_) {
                    ctx.finish(judge_client_left(ctx),
                               "the server's TLS leg ended after the login: " + *step.error);
                } else {
                    ctx.finish(Outcome::UpstreamFailed, "server leg: " + *step.error);
                }
                break;
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
    case ServerPhase::Failed:
        break;
    }
    flush(ctx);
}

void MysqlAdapter::server_plain(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    server_reader_.feed(bytes);
    server_packets(ctx);
}

void MysqlAdapter::server_packets(SessionContext& ctx) {
    while (!ctx.finishing() && server_phase_ != ServerPhase::Failed) {
        auto next = server_reader_.next();
        if (!next && next.error() == mysql::Error::TooLong && auth_done_) {
            server_phase_ = ServerPhase::Failed;
            ctx.over_message_limit(Side::Server, "a MySQL packet");
            return;
        }
        if (!next) {
            server_phase_ = ServerPhase::Failed;
            ctx.finish(Outcome::UpstreamFailed, "bad packet from the server: " +
                                                    std::string(mysql::to_string(next.error())));
            return;
        }
        if (!*next) {
            return;
        }
        auto& p = **next;
        if (!greeting_) {
            on_greeting(ctx, p);
            continue;
        }
        if (!response_sent_) {
            // The server spoke before the client's login: relayed; an error ends the session.
            auto bytes = mysql::frame(p.sequence, p.payload);
            ctx.keep(false, bytes);
            to_client(bytes);
            if (mysql::is_err(p.payload)) {
                auto err = mysql::decode_err(p.payload);
                server_phase_ = ServerPhase::Failed;
                ctx.finish(Outcome::UpstreamFailed,
                           "the server sent an error before the login: " +
                               (err ? describe(*err) : std::string("(unreadable)")));
            }
            continue;
        }
        if (!auth_done_) {
            inspect_server_auth(ctx, p.payload);
            auto bytes = mysql::frame(to_client_sequence(p.sequence), p.payload);
            ctx.keep(false, bytes);
            to_client(bytes);
            if (auth_done_) {
                // Commands restart at 0 on both legs: no renumbering from here, and the
                // default packet bound.
                auto server_rest = server_reader_.take_buffered();
                server_reader_ = mysql::PacketReader(ctx.settings().max_message_bytes);
                server_reader_.feed(server_rest);
                auto client_rest = client_reader_.take_buffered();
                client_reader_ = mysql::PacketReader(ctx.settings().max_message_bytes);
                client_reader_.feed(client_rest);
                if (client_phase_ == ClientPhase::Authenticating) {
                    client_phase_ = ClientPhase::Commands;
                    if (!client_rest.empty()) {
                        client_packets(ctx);
                    }
                }
            }
            continue;
        }
        if (ctx.settings().record_messages && mysql::is_err(p.payload)) {
            if (auto err = mysql::decode_err(p.payload)) {
                ctx.message("error", false, err->message, err->code, {}, err->sql_state);
            }
        }
        auto bytes = mysql::frame(p.sequence, p.payload);
        ctx.keep(false, bytes);
        to_client(bytes);
    }
}

void MysqlAdapter::on_greeting(SessionContext& ctx, const mysql::Packet& p) {
    auto& s = summary(ctx);
    if (mysql::is_err(p.payload)) {
        // "Too many connections", "Host ... is blocked": relayed, and the session is over.
        auto err = mysql::decode_err(p.payload);
        auto bytes = mysql::frame(p.sequence, p.payload);
        ctx.keep(false, bytes);
        to_client(bytes);
        server_phase_ = ServerPhase::Failed;
        client_phase_ = ClientPhase::Failed;
        ctx.finish(Outcome::UpstreamFailed,
                   "the server refused the connection in its greeting: " +
                       (err ? describe(*err) : std::string("an unreadable ERR packet")));
        return;
    }
    auto greeting = mysql::decode_handshake(p.payload);
    if (!greeting) {
        server_phase_ = ServerPhase::Failed;
        ctx.finish(Outcome::UpstreamFailed, "the server's greeting is not a HandshakeV10 (" +
                                                std::string(mysql::to_string(greeting.error())) +
                                                ")");
        return;
    }
    s.server_version = greeting->server_version;
    s.server_is_mariadb = greeting->is_mariadb();
    s.server_capabilities = greeting->capabilities;
    s.upstream_offered_ssl = (greeting->capabilities & mysql::cap::Ssl) != 0;
    bool hide = ctx.scenario().scenario.mysql.hide_ssl;
    auto shown = *greeting;
    shown.capabilities =
        hide ? shown.capabilities & ~mysql::cap::Ssl : shown.capabilities | mysql::cap::Ssl;
    s.client_shown_ssl = !hide;
    auto bytes = mysql::frame(p.sequence, shown.capabilities == greeting->capabilities
                                              ? p.payload
                                              : mysql::encode_handshake(shown));
    ctx.keep(false, bytes);
    to_client(bytes);
    if (hide && s.upstream_offered_ssl) {
        ctx.log(LogLevel::Info, "removed CLIENT_SSL from the server's greeting (" +
                                    ctx.scenario().scenario.name + ")");
    }
    greeting_ = std::move(*greeting);
    server_phase_ = ServerPhase::Idle;
    client_phase_ = ClientPhase::AwaitResponse;
    client_packets(ctx); // what the client sent before the greeting
}

void MysqlAdapter::inspect_server_auth(SessionContext& ctx, std::span<const std::uint8_t> payload) {
    if (payload.empty()) {
        return;
    }
    auto& s = summary(ctx);
    switch (payload[0]) {
    case kOk: {
        auth_done_ = true;
        authenticated_ = true;
        s.authenticated = true;
        if (auto ok = mysql::decode_ok(payload, agreed_capabilities()); ok && !ok->info.empty()) {
            // MariaDB 11.4+ zero-configuration SSL: a hash bound to the server's certificate.
            s.zero_config_check = true;
            ctx.log(LogLevel::Info,
                    "the server's OK after authentication carries a certificate check (MariaDB "
                    "zero-configuration SSL); it is bound to the server's certificate, not the "
                    "one the client was shown");
        }
        return;
    }
    case kErr: {
        auth_done_ = true;
        auto err = mysql::decode_err(payload);
        s.auth_error = err ? describe(*err) : "an unreadable ERR packet";
        return;
    }
    case kAuthSwitch: {
        if (payload.size() == 1) {
            plugin_ = "mysql_old_password"; // the pre-4.1 switch: a bare 0xFE
        } else if (auto sw = mysql::decode_auth_switch(payload)) {
            plugin_ = sw->plugin;
        } else {
            return;
        }
        auth_step_ = AuthStep::None;
        s.auth_plugins.push_back(plugin_);
        if (ctx.record().login) {
            ctx.record().login->auth_kind = plugin_;
        }
        return;
    }
    case kAuthMoreData: {
        auto more = mysql::decode_auth_more_data(payload);
        if (!more || plugin_ != kCachingSha2 || more->data.size() != 1) {
            return; // a public key, or another plugin's data
        }
        if (more->data[0] == kFastAuthSuccess) {
            s.auth_path = "fast";
        } else if (more->data[0] == kPerformFullAuth) {
            s.auth_path = "full";
            auth_step_ = AuthStep::FullRequested;
        }
        return;
    }
    default:
        return;
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts

Outcome MysqlAdapter::judge_client_left(const SessionContext& ctx) const {
    if (authenticated_ && !command_seen_) {
        return Outcome::AbortedAfterOk;
    }
    if (response_sent_) {
        return ctx.record().outcome;
    }
    switch (client_phase_) {
    case ClientPhase::AwaitGreeting:
    case ClientPhase::AwaitResponse:
        return Outcome::ClosedBeforeTls;
    case ClientPhase::AwaitClientHello:
        return hello_.empty() ? Outcome::ClosedBeforeTls : Outcome::ClosedDuringHandshake;
    case ClientPhase::Handshake:
        return Outcome::ClosedDuringHandshake;
    case ClientPhase::InTls:
        return Outcome::ClosedAfterHandshake;
    case ClientPhase::Failed:
        return ctx.record().outcome == Outcome::LoginPlaintext ? Outcome::LoginPlaintext
                                                               : Outcome::ProtocolError;
    case ClientPhase::Authenticating:
    case ClientPhase::Commands:
        break;
    }
    return ctx.record().outcome;
}

Outcome MysqlAdapter::server_left_before_login(const SessionContext& /*ctx*/) const {
    return Outcome::UpstreamFailed;
}

void MysqlAdapter::complete_record(SessionContext& ctx) {
    note_client_tls(ctx);
    if (server_tls_) {
        note_upstream(ctx, server_tls_->endpoint());
    }
    auto& s = summary(ctx);
    auto& record = ctx.record();
    if (greeting_ && s.negotiation.empty() && client_phase_ == ClientPhase::AwaitResponse) {
        s.negotiation = s.client_shown_ssl ? "no answer to the greeting (SSL offered)"
                                           : "no answer to the greeting (SSL not offered)";
    }
    if (record.outcome == Outcome::AbortedAfterOk) {
        std::string why = "the client aborted after the server's OK, before any command";
        if (!s.first_command.empty()) {
            why += " (it sent " + s.first_command + ")";
        }
        if (s.zero_config_check) {
            why += "; the OK carried MariaDB's zero-configuration SSL check, which is bound to "
                   "the server's certificate and would not match the lab's";
        }
        record.detail = why + (record.detail.empty() ? "" : " [" + record.detail + "]");
    } else if (record.outcome == Outcome::ClosedBeforeTls && greeting_ && !s.client_shown_ssl &&
               client_phase_ == ClientPhase::AwaitResponse) {
        record.detail += (record.detail.empty() ? "" : ": ") +
                         std::string("it left after a greeting without CLIENT_SSL, as a client "
                                     "that requires TLS refuses");
    }
}

} // namespace proxy
