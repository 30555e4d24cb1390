#include <proxy/core/tds/login_router.h>
#include <proxy/core/tds/tds_inspector.h>
#include <tds/login7.h>
#include <tds/rpc.h>
#include <tds/sql_batch.h>
#include <tds/token_reader.h>
#include <tds/transaction_manager.h>
#include <tds/utf16.h>

namespace proxy {

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

std::string exposed_line(const std::string& user, const std::string& secret, const std::string& app,
                         const std::string& why) {
    return "EXPOSED: read the login of user '" + user + "' with " + secret + ", app '" + app +
           "', " + why;
}

bool should_have_rejected(const scenarios::Scenario& s) {
    // "Should have rejected" is about what the client was shown in TLS: a scenario whose defect
    // is a PRELOGIN rewrite, an SSLRequest refusal or a reset has nothing wrong with its
    // certificate (and a TDS 8.0 client, whose PRELOGIN is inside TLS, never meets the rewrite).
    // A routing scenario's certificate is wrong only for the routed connection (see
    // on_login7): the first one dials a name the certificate holds.
    bool certificate_is_the_defect =
        !s.tds.encryption_to_client && !s.tds.encryption_to_server &&
        !s.tds.reset_during_handshake && !s.tds.omit_encryption_option && !s.tds.strict_only &&
        s.tds.route_to_host.empty() && !s.postgres.refuse_ssl && !s.postgres.strip_channel_binding;
    return !s.passthrough && certificate_is_the_defect && s.expect == scenarios::Expect::Reject;
}

void TdsInspector::client_packet(SessionContext& ctx, const tds::Packet& p, bool through_tls) {
    ctx.keep(true, p.bytes);
    auto m = client_messages_.add(p);
    if (!m) {
        if (m.error() == tds::Error::MessageTooLarge) {
            ctx.over_message_limit(
                Side::Client,
                "a TDS message (" +
                    std::string(tds::to_string(static_cast<tds::PacketType>(p.header.type))) + ")");
            return;
        }
        client_messages_ = tds::MessageAssembler(max_message_); // inspection only: start over
        return;
    }
    if (!*m) {
        return;
    }
    const tds::Message& msg = **m;
    auto type = static_cast<tds::PacketType>(msg.type);
    if (type == tds::PacketType::Login7 && !login_decoded_) {
        on_login7(ctx, msg, through_tls);
        return;
    }
    if (!ctx.settings().record_messages || !login_decoded_) {
        return;
    }
    if (type == tds::PacketType::SqlBatch) {
        if (auto batch = tds::decode_sql_batch(msg.payload, tds::is_72_plus(level_))) {
            ctx.message("sql_batch", true, batch->text);
        }
    } else if (type == tds::PacketType::Rpc) {
        if (auto rpc = tds::decode_rpc(msg.payload, level_)) {
            for (const auto& call : rpc->calls) {
                ctx.message("rpc", true, call.procedure, {}, {}, rpc_statement(call));
            }
        }
    } else if (type == tds::PacketType::TransactionManager) {
        if (auto tm = tds::decode_tm_request(msg.payload, level_)) {
            ctx.message("tm_request", true,
                        tm->known_type ? std::string(tds::to_string(tm->type))
                                       : "TM request type " + std::to_string(tm->raw_type),
                        {}, {}, tm_detail(*tm));
        }
    }
}

void TdsInspector::server_packet(SessionContext& ctx, const tds::Packet& p) {
    ctx.keep(false, p.bytes);
    if (!ctx.settings().record_messages || !login_decoded_) {
        return;
    }
    if (skipping_response_) {
        skipping_response_ = !p.header.end_of_message();
        return;
    }
    auto m = server_messages_.add(p);
    if (!m) {
        if (m.error() == tds::Error::MessageTooLarge) {
            ctx.log(LogLevel::Debug,
                    "a response longer than max-message-bytes=" + std::to_string(max_message_) +
                        ": relayed, not scanned for errors");
            skipping_response_ = !p.header.end_of_message();
        }
        server_messages_ = tds::MessageAssembler(max_message_);
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
        ctx.message("error", false, e.text, e.number, e.severity);
    }
}

void TdsInspector::on_login7(SessionContext& ctx, const tds::Message& m, bool through_tls) {
    login_decoded_ = true;
    auto login = tds::decode_login7(m.payload);
    if (!login) {
        ctx.log(LogLevel::Warn,
                "LOGIN7 the proxy could not decode: " + std::string(tds::to_string(login.error())));
        return;
    }
    LoginSummary s;
    s.host_name = login->host_name;
    s.user_name = login->user_name;
    // Code points, not bytes: the length a person would count.
    for (unsigned char c : login->password) {
        s.password_length += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    if (ctx.settings().reveal_secrets) {
        s.password = login->password;
    } else if (!login->password.empty()) {
        // As it crossed the wire (obfuscated UTF-16LE), and in the plainer forms.
        auto utf16 = tds::utf8_to_utf16le(login->password);
        ctx.note_secret(tds::obfuscate_password(utf16));
        ctx.note_secret(utf16);
        ctx.note_secret(std::span(reinterpret_cast<const std::uint8_t*>(login->password.data()),
                                  login->password.size()));
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
    s.through_tls = through_tls;
    auto& record = ctx.record();
    record.login = s;

    const auto& scenario = ctx.scenario().scenario;
    bool plaintext = !s.through_tls;
    // The connection a routing ENVCHANGE sent here dialled route_to_host, which the
    // certificate does not name: a validating client must not have logged in through it.
    bool routed_here = !scenario.tds.route_to_host.empty() && !scenario.passthrough &&
                       names_route_host(s.server_name, scenario.tds.route_to_host);
    if (!plaintext && !should_have_rejected(scenario) && !routed_here) {
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
                  (record.client_prelogin ? record.client_prelogin->encryption_name : "?") +
                  ", was answered " +
                  (record.client_answer ? record.client_answer->encryption_name : "?") + ")"
            : "through the '" + scenario.name +
                  "' certificate, which a validating client must reject (" +
                  scenario.expect_detail + ")";
    ctx.log(LogLevel::Warn, exposed_line(s.user_name, secret, s.app_name, why));
}

} // namespace proxy
