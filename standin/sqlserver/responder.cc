#include <algorithm>

#include <standin/sqlserver/batch_executor.h>
#include <standin/sqlserver/procedures.h>
#include <standin/sqlserver/responder.h>
#include <standin/sqlserver/sql_lexer.h>
#include <standin/sqlserver/statement_parser.h>
#include <tds/packet.h>
#include <tds/rpc.h>
#include <tds/sql_batch.h>
#include <tds/transaction_manager.h>

namespace standin::sqlserver {

namespace {

constexpr std::uint32_t kLoginFailed = 18456;
constexpr std::uint8_t kLoginFailedClass = 14;
constexpr std::uint32_t kCannotOpenDatabase = 4060;
constexpr std::uint32_t kChangedDatabase = 5701;
constexpr std::uint32_t kChangedLanguage = 5703;
constexpr std::size_t kLogPreview = 80;

namespace ds = tds::done_status;

std::string preview(const std::string& sql) {
    std::string one;
    bool space = false;
    for (char c : sql) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !one.empty();
            continue;
        }
        if (space) {
            one.push_back(' ');
            space = false;
        }
        one.push_back(c);
    }
    return one.size() > kLogPreview ? one.substr(0, kLogPreview - 3) + "..." : one;
}

} // namespace

Responder::Responder(ResponderConfig config, std::uint16_t spid) : config_(std::move(config)) {
    session_.spid = spid;
    if (!config_.server.now_utc) {
        config_.server.now_utc = system_clock_utc;
    }
}

tds::DateTime Responder::now() const {
    return config_.server.now_utc();
}

std::expected<std::optional<Responder::Reply>, std::string>
Responder::handle(const tds::Message& message) {
    auto type = static_cast<tds::PacketType>(message.type);
    if (message.ignored) {
        return std::optional<Reply>{}; // the client abandoned the message: no answer
    }
    if (!logged_in_) {
        if (type != tds::PacketType::Login7) {
            return std::unexpected("expected LOGIN7, got a " + std::string(tds::to_string(type)) +
                                   " message");
        }
        auto login = tds::decode_login7(message.payload);
        if (!login) {
            return std::unexpected("LOGIN7: " + std::string(tds::to_string(login.error())));
        }
        auto r = answer_login(*login);
        if (!r) {
            return std::unexpected(r.error());
        }
        login_ = std::move(*login);
        return std::optional<Reply>{std::move(*r)};
    }
    switch (type) {
    case tds::PacketType::SqlBatch:
        return std::optional<Reply>{answer_batch(message)};
    case tds::PacketType::Rpc:
        return std::optional<Reply>{answer_rpc(message)};
    case tds::PacketType::TransactionManager: {
        auto r = answer_tm(message);
        if (!r) {
            return std::unexpected(r.error());
        }
        return std::optional<Reply>{std::move(*r)};
    }
    case tds::PacketType::Attention: {
        tds::TokenWriter w(session_.level);
        w.done(ds::kAttention);
        return std::optional<Reply>{Reply{w.take(), std::nullopt, false, "attention acknowledged"}};
    }
    case tds::PacketType::BulkLoad:
        // Bulk data follows an INSERT BULK batch, which the stand-in answered with 208: a bulk
        // load without one is a protocol violation, and SQL Server closes the connection.
        return std::unexpected("bulk load data without an INSERT BULK statement (the stand-in "
                               "holds no tables)");
    case tds::PacketType::Login7:
    case tds::PacketType::PreLogin:
    case tds::PacketType::PreTds7Login:
    case tds::PacketType::TabularResult:
    case tds::PacketType::FedAuthToken:
    case tds::PacketType::Sspi:
        break;
    }
    return std::unexpected("unexpected " + std::string(tds::to_string(type)) +
                           " message after login (type " + std::to_string(message.type) + ")");
}

Responder::Reply Responder::error_reply(tds::TokenWriter& w, std::uint32_t number,
                                        std::uint8_t state, std::uint8_t severity,
                                        const std::string& text) {
    tds::ServerMessage m;
    m.number = number;
    m.state = state;
    m.severity = severity;
    m.text = text;
    m.server_name = config_.server.server_name;
    m.line = 1;
    w.error(m);
    w.done(ds::kError);
    return Reply{w.take(), std::nullopt, false,
                 "answered error " + std::to_string(number) + ": " + text, true};
}

std::expected<Responder::Reply, std::string> Responder::answer_login(const tds::Login7& login) {
    auto negotiated = tds::negotiate_version(login.tds_version);
    if (!negotiated) {
        // SQL Server 2022 logs 17832 ("The login packet used to open the connection is
        // structurally invalid") and closes the connection without an answer.
        return std::unexpected("LOGIN7 asks for TDS version " +
                               tds::tds_version_name(login.tds_version) +
                               ", which SQL Server does not speak: closing, as SQL Server does");
    }
    session_.level = negotiated->level;
    tds::TokenWriter w(session_.level);
    auto kind = login.auth_kind();
    bool ok = kind == tds::AuthKind::Sql && login.user_name == config_.user &&
              login.password == config_.password;
    std::string database = login.database.empty() ? "master" : login.database;
    auto db = std::find_if(config_.server.databases.begin(), config_.server.databases.end(),
                           [&](const std::string& d) { return iequals(d, database); });
    auto fail = [&](const std::string& why) {
        tds::ServerMessage m;
        m.number = kLoginFailed;
        m.state = 1;
        m.severity = kLoginFailedClass;
        m.text = "Login failed for user '" + login.user_name + "'.";
        m.server_name = config_.server.server_name;
        m.line = 1;
        w.error(m);
        w.done(ds::kError);
        return Reply{w.take(), std::nullopt, true,
                     "login failed for user '" + login.user_name + "': " + why};
    };
    if (!ok) {
        return fail(kind != tds::AuthKind::Sql
                        ? std::string(tds::to_string(kind)) +
                              " authentication is not supported (SQL authentication only)"
                    : login.user_name != config_.user ? "unknown user"
                                                      : "wrong password");
    }
    if (db == config_.server.databases.end()) {
        tds::ServerMessage m;
        m.number = kCannotOpenDatabase;
        m.state = 1;
        m.severity = 11;
        m.text =
            "Cannot open database \"" + database + "\" requested by the login. The login failed.";
        m.server_name = config_.server.server_name;
        m.line = 1;
        w.error(m);
        return fail("database '" + database + "' does not exist (4060)");
    }
    database = *db;

    ack_version_ = negotiated->login_ack_version;
    std::size_t packet_size = login.packet_size == 0 ? tds::kDefaultPacketLen : login.packet_size;
    packet_size = std::clamp(packet_size, tds::kMinNegotiatedPacketLen, tds::kMaxPacketLen);

    session_.login = login.user_name;
    session_.host_name = login.host_name;
    session_.app_name = login.app_name;
    session_.client_library = login.library_name;
    session_.database = session_.login_database = database;

    tds::ServerMessage info;
    info.severity = 0; // SQL Server sends informational messages with class 0
    info.server_name = config_.server.server_name;
    info.line = 1;
    w.env_change(tds::env_type::kDatabase, database, "master");
    info.number = kChangedDatabase;
    info.state = 2;
    info.text = "Changed database context to '" + database + "'.";
    w.info(info);
    if (tds::has_collation(session_.level)) {
        w.env_change_bytes(tds::env_type::kCollation, tds::kDefaultCollation, {});
    }
    w.env_change(tds::env_type::kLanguage, session_.language, "");
    info.number = kChangedLanguage;
    info.state = 1;
    info.text = "Changed language setting to " + session_.language + ".";
    w.info(info);
    w.env_change(tds::env_type::kPacketSize, std::to_string(packet_size),
                 std::to_string(tds::kDefaultPacketLen));
    w.login_ack(ack_version_, "Microsoft SQL Server", config_.server.major, config_.server.minor,
                config_.server.build);
    w.done(ds::kFinal);
    logged_in_ = true;
    return Reply{w.take(), packet_size, false,
                 "login ok: user '" + login.user_name + "', TDS " +
                     tds::tds_version_name(login.tds_version) + ", packet size " +
                     std::to_string(packet_size)};
}

std::optional<Responder::Reply> Responder::begin_request(const tds::Message& message,
                                                         std::optional<std::uint64_t> descriptor,
                                                         tds::TokenWriter& w) {
    const bool reset = (message.first_status & tds::status::kResetConnection) != 0;
    const bool reset_skip_tran =
        (message.first_status & tds::status::kResetConnectionSkipTran) != 0;
    if (reset || reset_skip_tran) {
        // The acknowledgement opens the answer; what the reset itself changes (the rollback
        // of an open transaction) follows it. MS-TDS fixes neither order: this is the one
        // SqlClient's reset handling reads naturally (ack, then the state after the reset).
        if (tds::is_72_plus(session_.level)) {
            w.env_change_bytes(tds::env_type::kResetConnectionAck, {}, {});
        }
        reset_session(session_, w, reset_skip_tran && !reset);
        return std::nullopt; // a reset request describes the transaction it had: not checked
    }
    if (descriptor && *descriptor != 0 && *descriptor != session_.transaction) {
        auto e = errors::stale_transaction(*descriptor);
        return error_reply(w, e.number, e.state, e.severity, e.text);
    }
    return std::nullopt;
}

Responder::Reply Responder::answer_batch(const tds::Message& message) {
    tds::TokenWriter w(session_.level);
    auto batch = tds::decode_sql_batch(message.payload, tds::is_72_plus(session_.level));
    if (!batch) {
        // SQL Server answers a malformed request with 4002 and keeps the session only when it
        // can frame it; a batch is framed by the message, so answer and go on.
        return error_reply(w, 4002, 1, 16,
                           "The incoming tabular data stream (TDS) protocol stream is incorrect. "
                           "The stream ended unexpectedly.");
    }
    if (auto stop = begin_request(message, batch->transaction_descriptor, w)) {
        return std::move(*stop);
    }
    Variables variables;
    BatchExecutor exec(config_.server, session_, w, variables, RunContext::Batch, now());
    auto parsed = parse_batch(batch->text);
    Reply reply;
    if (!parsed) {
        exec.compile_error(parsed.error());
        exec.finish();
        reply.log = "batch did not parse (" + std::to_string(parsed.error().number) + " " +
                    parsed.error().text + "): " + preview(batch->text);
        reply.notable = true;
    } else {
        RunOutcome o = exec.run(*parsed);
        exec.finish();
        if (!o.note.empty()) {
            reply.log = o.note + ": " + preview(batch->text);
            reply.notable = true;
        }
    }
    reply.payload = w.take();
    return reply;
}

Responder::Reply Responder::answer_rpc(const tds::Message& message) {
    tds::TokenWriter w(session_.level);
    auto rpc = tds::decode_rpc(message.payload, session_.level);
    if (!rpc) {
        return error_reply(w, 4002, 1, 16,
                           "The incoming tabular data stream (TDS) protocol stream is incorrect. "
                           "The stream ended unexpectedly.");
    }
    if (auto stop = begin_request(message, rpc->headers.transaction_descriptor, w)) {
        return std::move(*stop);
    }
    Reply reply;
    ProcedureEnv env{config_.server, session_, w, now()};
    for (std::size_t i = 0; i < rpc->calls.size(); ++i) {
        const tds::RpcCall& call = rpc->calls[i];
        const bool last = i + 1 == rpc->calls.size();
        if (last && rpc->parameter_error) {
            std::size_t n = rpc->failed_parameter;
            const std::string& name = rpc->failed_parameter_name;
            auto e = errors::bad_rpc_parameter(n, name, rpc->failed_type_token);
            tds::ServerMessage m{e.number, e.state, e.severity, e.text, config_.server.server_name,
                                 "",       1};
            w.error(m);
            w.done(ds::kError, tds::cur_cmd::kExecute, 0, tds::token::kDoneProc);
            reply.log = "RPC " + call.procedure + ": parameter " + std::to_string(n) + " " +
                        std::string(tds::to_string(*rpc->parameter_error)) + " (answered 8009)";
            reply.notable = true;
            break;
        }
        std::vector<ProcedureArg> args;
        for (const auto& p : call.parameters) {
            args.push_back(ProcedureArg{lower_ascii(p.name), p.value, p.is_output(),
                                        (p.status & tds::rpc_flag::kDefaultValue) != 0});
        }
        std::string name = call.procedure;
        if (auto dot = name.rfind('.'); dot != std::string::npos) {
            name = name.substr(dot + 1);
        }
        ProcedureResult r = call_procedure(lower_ascii(name), args, env);
        if (!r.found) {
            auto e = errors::unknown_procedure(call.procedure);
            tds::ServerMessage m{e.number, e.state, e.severity, e.text, config_.server.server_name,
                                 "",       1};
            w.error(m);
            std::uint16_t status = ds::kError;
            if (!last) {
                status |= ds::kMore | ds::kRpcInBatch;
            }
            w.done(status, tds::cur_cmd::kExecute, 0, tds::token::kDoneProc);
            reply.log = "the stand-in has no procedure '" + call.procedure + "': error 2812";
            reply.notable = true;
            continue;
        }
        if (!r.note.empty()) {
            reply.log = "RPC " + call.procedure + ": " + r.note;
            reply.notable = true;
        }
        write_procedure_end(w, r, last);
    }
    reply.payload = w.take();
    return reply;
}

std::expected<Responder::Reply, std::string> Responder::answer_tm(const tds::Message& message) {
    tds::TokenWriter w(session_.level);
    auto tm = tds::decode_tm_request(message.payload, session_.level);
    if (!tm) {
        return std::unexpected("Transaction Manager request: " +
                               std::string(tds::to_string(tm.error())));
    }
    if (!tm->known_type) {
        // MS-TDS 2.2.6.9: "If an unknown Type is specified, the message receiver SHOULD
        // disconnect the connection."
        return std::unexpected("Transaction Manager request of unknown type " +
                               std::to_string(tm->raw_type) + ": disconnecting, as MS-TDS says");
    }
    if (auto stop = begin_request(message, tm->headers.transaction_descriptor, w)) {
        return std::move(*stop);
    }
    auto done_or_error = [&](std::optional<SqlError> e, const std::string& what) {
        if (e) {
            return error_reply(w, e->number, e->state, e->severity, e->text);
        }
        w.done(ds::kFinal);
        return Reply{w.take(), std::nullopt, false, what};
    };
    auto set_isolation = [&](tds::IsolationLevel l) {
        if (l != tds::IsolationLevel::NoChange) {
            session_.isolation = std::string(tds::to_string(l));
        }
    };
    switch (tm->type) {
    case tds::TmRequestType::GetDtcAddress: {
        // A one-row, one-column binary result (MS-TDS 2.2.6.9); the lab has no DTC, so the
        // address is empty.
        const tds::Column cols[] = {{"", tds::varbinary_type(8000)}};
        const tds::Value row[] = {tds::Bytes{}};
        w.col_metadata(cols).row(cols, row);
        w.done(ds::kCount, tds::cur_cmd::kSelect, 1);
        return Reply{w.take(), std::nullopt, false, "TM_GET_DTC_ADDRESS: no DTC in the lab"};
    }
    case tds::TmRequestType::PropagateXact:
    case tds::TmRequestType::PromoteXact: {
        auto e = errors::msdtc_unavailable(config_.server.server_name);
        return error_reply(w, e.number, e.state, e.severity, e.text);
    }
    case tds::TmRequestType::BeginXact:
        set_isolation(tm->isolation);
        return done_or_error(begin_transaction(session_, w, tm->name), "TM_BEGIN_XACT");
    case tds::TmRequestType::CommitXact:
    case tds::TmRequestType::RollbackXact: {
        auto e = tm->type == tds::TmRequestType::CommitXact
                     ? commit_transaction(session_, w)
                     : rollback_transaction(session_, w, tm->name);
        if (!e && tm->begin_after) {
            set_isolation(tm->new_isolation);
            e = begin_transaction(session_, w, tm->new_name);
        }
        return done_or_error(e, std::string(tds::to_string(tm->type)));
    }
    case tds::TmRequestType::SaveXact:
        return done_or_error(save_transaction(session_, tm->name), "TM_SAVE_XACT");
    }
    return std::unexpected("Transaction Manager request: unhandled type");
}

} // namespace standin::sqlserver
