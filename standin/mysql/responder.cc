#include <chrono>

#include <standin/mysql/responder.h>

namespace standin::mysql {

namespace cap = ::mysql::cap;
namespace st = ::mysql::status;
using ::mysql::Command;

namespace {

// MySQL 8.0.40's greeting capabilities (every lower flag, CLIENT_CAPABILITY_EXTENSION clear);
// MariaDB 10.11/11.4's (CLIENT_MYSQL clear; observed on a 10.11 server: 0x81FFFFFE with SSL).
constexpr std::uint32_t kMysqlCaps = 0xDFFFFFFFU;
constexpr std::uint32_t kMariadbCaps = 0x81FFFFFEU;
// MariaDB 10.11 sends 0x1D (progress, bulk, extended and cached metadata). The stand-in does
// not write the extended or cached column-metadata forms, so it offers only the two that change
// nothing it sends: a client that agreed to MARIADB_CLIENT_EXTENDED_METADATA would read every
// column definition as malformed (the mariadb client says "Received malformed packet").
constexpr std::uint32_t kMariadbExtendedCaps =
    ::mysql::mariadb_cap::Progress | ::mysql::mariadb_cap::StmtBulkOperations;

std::int64_t system_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string default_version(Flavour f) {
    switch (f) {
    case Flavour::Mysql80:
        return "8.0.40";
    case Flavour::Mariadb114:
        return "11.4.4-MariaDB";
    }
    return "8.0.40";
}

} // namespace

std::string zero_config_check(std::string_view password, std::span<const std::uint8_t> scramble,
                              std::span<const std::uint8_t> certificate_sha256) {
    auto stage1 = sha1(as_bytes(password));
    auto hash = sha1(stage1);
    Bytes input(hash.begin(), hash.end());
    input.insert(input.end(), scramble.begin(), scramble.end());
    input.insert(input.end(), certificate_sha256.begin(), certificate_sha256.end());
    auto digest = sha256(input);
    return std::string(1, '\x01') + hex_upper(digest);
}

Responder::Responder(Config config, ConnectionFacts facts)
    : config_(std::move(config)), facts_(std::move(facts)) {
    if (config_.server_version.empty()) {
        config_.server_version = default_version(config_.flavour);
    }
    scramble_ = random_scramble();
    bool my = config_.flavour == Flavour::Mysql80;
    handshake_.protocol_version = 10;
    handshake_.server_version = config_.server_version;
    handshake_.connection_id = facts_.connection_id;
    handshake_.auth_plugin_data = scramble_;
    std::uint32_t caps = my ? kMysqlCaps : kMariadbCaps;
    caps &= ~(cap::Compress | cap::ZstdCompression);
    if (!facts_.ssl_offered) {
        caps &= ~cap::Ssl;
    }
    handshake_.capabilities = caps;
    handshake_.character_set =
        my ? ::mysql::charset::Utf8mb4_0900AiCi : ::mysql::charset::Utf8mb4GeneralCi;
    handshake_.status_flags = st::Autocommit;
    handshake_.auth_plugin_data_length = 21;
    handshake_.auth_plugin_name =
        std::string(to_string(my ? AuthPlugin::CachingSha2 : AuthPlugin::NativePassword));
    if (!my) {
        handshake_.set_mariadb_capabilities(kMariadbExtendedCaps);
    }

    state_.flavour = config_.flavour;
    state_.server_version = config_.server_version;
    state_.client_host = facts_.client_host;
    state_.known_database = config_.database;
    state_.connection_id = facts_.connection_id;
    state_.clock = config_.clock;
    state_.started_us = config_.clock ? config_.clock() : system_now_us();
}

Responder::~Responder() = default;

std::vector<std::uint8_t> Responder::greeting() const {
    return ::mysql::frame(0, ::mysql::encode_handshake(handshake_));
}

void Responder::set_tls(std::string version, std::string cipher) {
    tls_ = true;
    state_.tls_version = std::move(version);
    state_.tls_cipher = std::move(cipher);
}

AuthPlugin Responder::account_plugin() const {
    if (config_.auth) {
        return *config_.auth;
    }
    return config_.flavour == Flavour::Mysql80 ? AuthPlugin::CachingSha2
                                               : AuthPlugin::NativePassword;
}

AuthSetup Responder::auth_setup() const {
    AuthSetup s;
    s.flavour = config_.flavour;
    s.account_plugin = account_plugin();
    s.user = config_.user;
    s.password = config_.password;
    s.client_host = facts_.client_host;
    s.tls = tls_;
    s.scramble = scramble_;
    return s;
}

// --- framing ---

void Responder::send(Output& out, std::span<const std::uint8_t> payload) {
    ::mysql::append_frame(out.bytes, seq_, payload, &seq_);
}

Syntax Responder::syntax() const {
    return state_.variables ? state_.variables->syntax() : Syntax{};
}

std::uint16_t Responder::status() const {
    std::uint16_t s = 0;
    if (state_.variables && state_.variables->autocommit()) {
        s |= st::Autocommit;
    } else if (!state_.variables) {
        s |= st::Autocommit;
    }
    if (syntax().no_backslash_escapes) {
        s |= st::NoBackslashEscapes; // clients escape strings by it (mysql_real_escape_string)
    }
    if (state_.in_transaction) {
        s |= st::InTrans;
        if (state_.read_only_transaction) {
            s |= st::InTransReadonly;
        }
    }
    return s;
}

void Responder::send_ok(Output& out, std::uint16_t extra_status, std::uint64_t affected,
                        std::string info) {
    ::mysql::OkPacket ok;
    ok.affected_rows = affected;
    ok.last_insert_id = 0;
    ok.status = static_cast<std::uint16_t>(status() | extra_status);
    ok.warnings = statement_warnings();
    ok.info = std::move(info);
    send(out, ::mysql::encode_ok(ok, caps_));
}

void Responder::send_err(Output& out, const ServerError& e) {
    send(out, ::mysql::encode_err(e.packet()));
}

std::uint16_t Responder::statement_warnings() const {
    return static_cast<std::uint16_t>(std::min<std::size_t>(state_.statement_warnings, 65535));
}

void Responder::send_statement_err(Output& out, const ServerError& e) {
    // an error the statement never ran for (the parser's 1064, an empty query): the
    // diagnostics area holds it, as on the servers (SHOW WARNINGS, @@error_count)
    state_.diagnostics.clear();
    state_.diagnostics.push_back({"Error", e.code, e.message});
    state_.statement_warnings = 0;
    send_err(out, e);
}

void Responder::send_eof(Output& out, std::uint16_t extra_status) {
    ::mysql::EofPacket eof;
    eof.status = static_cast<std::uint16_t>(status() | extra_status);
    eof.warnings = statement_warnings();
    send(out, ::mysql::encode_eof(eof));
}

void Responder::send_end_of_rows(Output& out, std::uint16_t extra_status) {
    if ((caps_ & cap::DeprecateEof) != 0) {
        ::mysql::OkPacket ok;
        ok.header = 0xFE;
        ok.status = static_cast<std::uint16_t>(status() | extra_status);
        ok.warnings = statement_warnings();
        send(out, ::mysql::encode_ok(ok, caps_));
    } else {
        send_eof(out, extra_status);
    }
}

void Responder::send_result(Output& out, const ResultSet& rs, bool more, bool binary) {
    std::uint16_t extra = more ? st::MoreResultsExists : 0;
    ::mysql::Writer count;
    count.lenenc_int(rs.columns.size());
    send(out, count.out());
    for (const auto& c : rs.columns) {
        send(out, ::mysql::encode_column(c));
    }
    if ((caps_ & cap::DeprecateEof) == 0) {
        send_eof(out, extra);
    }
    for (const auto& row : rs.rows) {
        if (binary) {
            auto encoded = ::mysql::encode_binary_row(rs.columns, row);
            if (!encoded) {
                out.notes.push_back("binary row not encodable: " +
                                    std::string(::mysql::to_string(encoded.error())));
                continue;
            }
            send(out, *encoded);
        } else {
            send(out, ::mysql::encode_text_row(row));
        }
    }
    send_end_of_rows(out, extra);
}

void Responder::send_result(Output& out, const StatementResult& r, bool more, bool binary) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, OkResult>) {
                send_ok(out, more ? st::MoreResultsExists : 0, v.affected_rows);
            } else if constexpr (std::is_same_v<T, ResultSet>) {
                send_result(out, v, more, binary);
            } else {
                send_err(out, v);
            }
        },
        r);
}

Output Responder::close_with(ServerError e, Output out) {
    send_err(out, e);
    out.close = true;
    phase_ = Phase::Closed;
    return out;
}

// --- packets ---

Output Responder::on_packet(const ::mysql::Packet& packet) {
    Output out;
    seq_ = static_cast<std::uint8_t>(packet.last_sequence + 1);
    switch (phase_) {
    case Phase::AwaitResponse:
        return on_handshake_response(packet);
    case Phase::Authenticating:
        return on_auth_packet(packet);
    case Phase::Ready:
        if (packet.sequence != 0) {
            out.notes.push_back("a command with sequence id " + std::to_string(packet.sequence));
            return close_with(errors::packets_out_of_order(), std::move(out));
        }
        return on_command(packet);
    case Phase::Closed:
        break;
    }
    out.close = true;
    return out;
}

Output Responder::on_handshake_response(const ::mysql::Packet& packet) {
    Output out;
    if (::mysql::is_ssl_request(packet.payload)) {
        out.notes.push_back("an SSLRequest, but TLS is not offered");
        return close_with(errors::bad_handshake(), std::move(out));
    }
    auto response = ::mysql::decode_handshake_response(packet.payload);
    if (!response) {
        out.notes.push_back("bad handshake response: " +
                            std::string(::mysql::to_string(response.error())));
        return close_with(errors::bad_handshake(), std::move(out));
    }
    caps_ = response->capabilities & handshake_.capabilities;
    user_ = response->user;
    requested_db_ = response->database.value_or("");
    VariableContext vc;
    vc.flavour = config_.flavour;
    vc.server_version = config_.server_version;
    vc.ssl_offered = facts_.ssl_offered;
    vc.require_secure_transport = config_.require_secure_transport;
    vc.client_collation = response->character_set;
    state_.variables = std::make_unique<Variables>(vc);
    state_.user = user_;

    std::string plugin = response->auth_plugin.value_or(
        (response->capabilities & cap::PluginAuth) != 0 ? "" : "mysql_native_password");
    out.notes.push_back("login: user '" + user_ + "'" +
                        (requested_db_.empty() ? "" : ", database '" + requested_db_ + "'") +
                        ", plugin " + (plugin.empty() ? "(none)" : plugin) +
                        (tls_ ? ", TLS" : ", in clear"));
    auth_ = std::make_unique<Authenticator>(auth_setup());
    phase_ = Phase::Authenticating;
    return on_auth_step(auth_->start(user_, plugin, response->auth_response), std::move(out));
}

Output Responder::on_auth_packet(const ::mysql::Packet& packet) {
    return on_auth_step(auth_->on_packet(packet.payload), Output{});
}

Output Responder::on_auth_step(Authenticator::Step step, Output out) {
    for (auto& note : step.notes) {
        out.notes.push_back(std::move(note));
    }
    for (const auto& p : step.payloads) {
        send(out, p);
    }
    switch (step.outcome) {
    case Authenticator::Outcome::Continue:
        return out;
    case Authenticator::Outcome::Failure:
        out.notes.push_back("authentication failed");
        return close_with(
            step.error.value_or(errors::access_denied(user_, facts_.client_host, true)),
            std::move(out));
    case Authenticator::Outcome::Success:
        break;
    }
    return finish_login(std::move(out));
}

Output Responder::finish_login(Output out) {
    scramble_ = auth_->scramble();
    if (config_.require_secure_transport && !tls_) {
        out.notes.push_back("a login in clear refused (require_secure_transport)");
        return close_with(errors::insecure_transport(config_.flavour, user_, facts_.client_host),
                          std::move(out));
    }
    if (!requested_db_.empty() && requested_db_ != config_.database &&
        lower(requested_db_) != "information_schema") {
        return close_with(errors::unknown_database(requested_db_), std::move(out));
    }
    if (changing_user_) {
        reset_session();
        changing_user_ = false;
    }
    state_.user = user_;
    state_.database = requested_db_;
    // the account's mysql_native_password hash, '*' + hex(SHA1(SHA1(password))): MariaDB's
    // SHOW GRANTS shows it (IDENTIFIED BY PASSWORD '*...'), as a real server shows its own
    state_.password_hash.clear();
    if (account_plugin() == AuthPlugin::NativePassword) {
        state_.password_hash = "*" + hex_upper(sha1(sha1(as_bytes(config_.password))));
    }
    std::string info;
    if (config_.flavour == Flavour::Mariadb114 && tls_ &&
        auth_->plugin() == AuthPlugin::NativePassword && auth_->password_used() &&
        !facts_.certificate_sha256.empty()) {
        info = zero_config_check(config_.password, auth_->scramble(), facts_.certificate_sha256);
        out.notes.push_back("MariaDB zero-configuration SSL check sent in the OK packet");
    }
    out.notes.push_back("authenticated as '" + user_ + "' with " +
                        std::string(to_string(auth_->plugin())));
    phase_ = Phase::Ready;
    send_ok(out, 0, 0, std::move(info));
    return out;
}

void Responder::reset_session() {
    if (state_.variables) {
        state_.variables->reset();
    }
    state_.user_variables.clear();
    state_.in_transaction = false;
    state_.read_only_transaction = false;
    state_.last_insert_id = 0;
    statements_.clear();
}

Output Responder::on_command(const ::mysql::Packet& packet) {
    Output out;
    const auto& p = packet.payload;
    if (p.empty()) {
        send_err(out, errors::unknown_command());
        return out;
    }
    auto command = static_cast<Command>(p[0]);
    std::span<const std::uint8_t> args(p.data() + 1, p.size() - 1);
    switch (command) {
    case Command::Quit:
        out.close = true;
        out.notes.push_back("COM_QUIT");
        phase_ = Phase::Closed;
        return out;
    case Command::Ping:
        send_ok(out);
        return out;
    case Command::InitDb: {
        std::string db(args.begin(), args.end());
        if (db != config_.database && lower(db) != "information_schema") {
            send_err(out, errors::unknown_database(db));
        } else {
            state_.database = db;
            send_ok(out);
        }
        return out;
    }
    case Command::Query:
        return on_query(p, std::move(out));
    case Command::ResetConnection:
        reset_session();
        send_ok(out);
        return out;
    case Command::SetOption: {
        if (args.size() < 2) {
            send_err(out, errors::unknown_command());
            return out;
        }
        std::uint16_t option = static_cast<std::uint16_t>(args[0] | (args[1] << 8));
        if (option == 0) {
            caps_ |= cap::MultiStatements & handshake_.capabilities;
        } else if (option == 1) {
            caps_ &= ~cap::MultiStatements;
        } else {
            send_err(out, errors::unknown_command());
            return out;
        }
        send_end_of_rows(out, 0); // my_eof(): EOF, or OK 0xFE with CLIENT_DEPRECATE_EOF
        return out;
    }
    case Command::Statistics: {
        auto now = config_.clock ? config_.clock() : system_now_us();
        auto uptime = std::max<std::int64_t>((now - state_.started_us) / 1000000, 1);
        std::string text = "Uptime: " + std::to_string(uptime) +
                           "  Threads: 1  Questions: " + std::to_string(state_.questions) +
                           "  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: "
                           "0.000";
        send(out, as_bytes(text));
        return out;
    }
    case Command::ChangeUser:
        return on_change_user(p, std::move(out));
    case Command::FieldList: {
        auto end = std::find(args.begin(), args.end(), std::uint8_t{0});
        std::string table(args.begin(), end);
        if (state_.database.empty()) {
            send_err(out, errors::no_database_selected());
        } else {
            send_err(out, errors::no_such_table(state_.database, table));
        }
        return out;
    }
    case Command::StmtPrepare:
        return on_prepare(args, std::move(out));
    case Command::StmtExecute:
        return on_execute(p, std::move(out));
    case Command::StmtClose: {
        auto id = ::mysql::statement_id_of(p);
        if (id) {
            statements_.erase(*id);
        }
        return out; // no reply
    }
    case Command::StmtReset: {
        auto id = ::mysql::statement_id_of(p);
        auto it = id ? statements_.find(*id) : statements_.end();
        if (it == statements_.end()) {
            send_err(out, errors::unknown_statement(id.value_or(0), "mysqld_stmt_reset"));
        } else {
            it->second.long_data.clear();
            send_ok(out);
        }
        return out;
    }
    case Command::StmtSendLongData: {
        auto data = ::mysql::decode_stmt_long_data(p);
        if (data) {
            auto it = statements_.find(data->statement_id);
            if (it != statements_.end() && data->param_id < it->second.parsed.params) {
                it->second.long_data[data->param_id].append(data->data.begin(), data->data.end());
            }
        }
        return out; // no reply, even on error (the error is reported at execute)
    }
    case Command::Sleep:
    case Command::CreateDb:
    case Command::DropDb:
    case Command::Refresh:
    case Command::Shutdown:
    case Command::ProcessInfo:
    case Command::Connect:
    case Command::ProcessKill:
    case Command::Debug:
    case Command::Time:
    case Command::DelayedInsert:
    case Command::BinlogDump:
    case Command::TableDump:
    case Command::ConnectOut:
    case Command::RegisterSlave:
    case Command::StmtFetch:
    case Command::Daemon:
    case Command::BinlogDumpGtid:
    case Command::Clone:
        break;
    }
    out.notes.push_back("unsupported command " + ::mysql::command_name(p[0]));
    send_err(out, errors::unknown_command());
    return out;
}

Output Responder::on_query(std::span<const std::uint8_t> payload, Output out) {
    auto query = ::mysql::decode_query(payload, caps_);
    if (!query) {
        send_statement_err(out, errors::syntax_error(config_.flavour, "", 1));
        return out;
    }
    const std::string& text = query->text;
    auto split = split_statements(config_.flavour, text, syntax());
    if (auto* e = std::get_if<ServerError>(&split)) {
        ++state_.questions;
        send_statement_err(out, *e);
        return out;
    }
    auto statements = std::get<std::vector<StatementText>>(split);
    if (statements.empty()) {
        ++state_.questions;
        send_statement_err(out, errors::empty_query());
        return out;
    }
    bool multi = (caps_ & cap::MultiStatements) != 0;
    if (!multi && statements.size() > 1) {
        ++state_.questions;
        send_statement_err(
            out, errors::syntax_error(
                     config_.flavour, std::string_view(text).substr(statements[1].begin),
                     1 + static_cast<int>(std::count(
                             text.begin(), text.begin() + static_cast<long>(statements[1].begin),
                             '\n'))));
        return out;
    }
    for (std::size_t i = 0; i < statements.size(); ++i) {
        ++state_.questions;
        bool more = i + 1 < statements.size();
        // each statement is read with the sql_mode the ones before it left
        auto parsed = parse_statement(config_.flavour, text, statements[i], syntax());
        if (auto* e = std::get_if<ServerError>(&parsed)) {
            send_statement_err(out, *e);
            return out;
        }
        auto result = execute(*std::get<ParsedStatement>(parsed).statement, state_);
        if (auto* e = std::get_if<ServerError>(&result)) {
            send_err(out, *e);
            return out; // an error ends a multi-statement query
        }
        send_result(out, result, more, false);
    }
    return out;
}

Output Responder::on_prepare(std::span<const std::uint8_t> args, Output out) {
    std::string text(args.begin(), args.end());
    auto split = split_statements(config_.flavour, text, syntax());
    if (auto* e = std::get_if<ServerError>(&split)) {
        send_statement_err(out, *e);
        return out;
    }
    auto statements = std::get<std::vector<StatementText>>(split);
    if (statements.empty()) {
        send_statement_err(out, errors::empty_query());
        return out;
    }
    if (statements.size() > 1) {
        send_statement_err(
            out, errors::syntax_error(config_.flavour,
                                      std::string_view(text).substr(statements[1].begin), 1));
        return out;
    }
    auto parsed = parse_statement(config_.flavour, text, statements[0], syntax());
    if (auto* e = std::get_if<ServerError>(&parsed)) {
        send_statement_err(out, *e);
        return out;
    }
    Prepared prepared;
    prepared.parsed = std::get<ParsedStatement>(parsed);
    auto columns = describe(*prepared.parsed.statement, state_);
    if (auto* e = std::get_if<ServerError>(&columns)) {
        send_err(out, *e);
        return out;
    }
    prepared.columns = std::get<std::vector<::mysql::ColumnDefinition>>(columns);
    std::uint32_t id = next_statement_id_++;
    ::mysql::PrepareOk ok;
    ok.statement_id = id;
    ok.columns = static_cast<std::uint16_t>(prepared.columns.size());
    ok.params = prepared.parsed.params;
    send(out, ::mysql::encode_prepare_ok(ok));
    bool eof = (caps_ & cap::DeprecateEof) == 0;
    if (ok.params > 0) {
        for (std::uint16_t i = 0; i < ok.params; ++i) {
            ::mysql::ColumnDefinition param;
            param.name = "?";
            param.character_set = 63;
            param.type = ::mysql::ColumnType::LongLong;
            param.flags = ::mysql::column_flag::Binary;
            send(out, ::mysql::encode_column(param));
        }
        if (eof) {
            send_eof(out);
        }
    }
    if (ok.columns > 0) {
        for (const auto& c : prepared.columns) {
            send(out, ::mysql::encode_column(c));
        }
        if (eof) {
            send_eof(out);
        }
    }
    prepared.types.resize(ok.params);
    statements_.emplace(id, std::move(prepared));
    return out;
}

Output Responder::on_execute(std::span<const std::uint8_t> payload, Output out) {
    auto id = ::mysql::statement_id_of(payload);
    auto it = id ? statements_.find(*id) : statements_.end();
    if (it == statements_.end()) {
        send_err(out, errors::unknown_statement(id.value_or(0), "mysqld_stmt_execute"));
        return out;
    }
    auto& prepared = it->second;
    auto exec =
        ::mysql::decode_stmt_execute(payload, prepared.parsed.params, prepared.types, caps_);
    if (!exec) {
        send_err(out, errors::wrong_arguments("mysqld_stmt_execute"));
        return out;
    }
    auto params = exec->params;
    for (auto& [index, data] : prepared.long_data) {
        if (index < params.size()) {
            params[index].value = data;
            if (params[index].type == ::mysql::ColumnType::Null) {
                params[index].type = ::mysql::ColumnType::Blob;
            }
        }
    }
    prepared.long_data.clear();
    prepared.types = params;
    ++state_.questions;
    auto result = execute(*prepared.parsed.statement, state_, params);
    send_result(out, result, false, true);
    return out;
}

Output Responder::on_change_user(std::span<const std::uint8_t> payload, Output out) {
    auto change = ::mysql::decode_change_user(payload, caps_);
    if (!change) {
        send_err(out, errors::unknown_command());
        return out;
    }
    user_ = change->user;
    requested_db_ = change->database;
    std::string plugin = change->auth_plugin.value_or("mysql_native_password");
    out.notes.push_back("COM_CHANGE_USER: user '" + user_ + "', plugin " + plugin);
    changing_user_ = true;
    auth_ = std::make_unique<Authenticator>(auth_setup());
    phase_ = Phase::Authenticating;
    return on_auth_step(auth_->start(user_, plugin, change->auth_response), std::move(out));
}

} // namespace standin::mysql
