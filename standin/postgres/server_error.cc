#include <standin/postgres/server_error.h>

namespace standin::postgres {

std::string_view to_string(Severity s) {
    switch (s) {
    case Severity::Fatal:
        return "FATAL";
    case Severity::Error:
        return "ERROR";
    case Severity::Warning:
        return "WARNING";
    case Severity::Notice:
        return "NOTICE";
    }
    return "ERROR";
}

pg::Notice ServerError::notice() const {
    pg::Notice n;
    std::string severity_text(to_string(severity));
    n.fields.emplace_back('S', severity_text);
    n.fields.emplace_back('V', severity_text);
    n.fields.emplace_back('C', sqlstate);
    n.fields.emplace_back('M', message);
    if (!detail.empty()) {
        n.fields.emplace_back('D', detail);
    }
    if (!hint.empty()) {
        n.fields.emplace_back('H', hint);
    }
    if (position) {
        n.fields.emplace_back('P', std::to_string(*position));
    }
    if (!context.empty()) {
        n.fields.emplace_back('W', context);
    }
    if (!location.file.empty()) {
        n.fields.emplace_back('F', std::string(location.file));
        n.fields.emplace_back('L', std::to_string(location.line));
        n.fields.emplace_back('R', std::string(location.routine));
    }
    return n;
}

pg::Message ServerError::message_for_wire() const {
    switch (severity) {
    case Severity::Fatal:
    case Severity::Error:
        return pg::error_response(notice());
    case Severity::Warning:
    case Severity::Notice:
        return pg::notice_response(notice());
    }
    return pg::error_response(notice());
}

std::size_t position_of(std::string_view query, std::size_t byte_offset) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < byte_offset && i < query.size(); ++i) {
        auto c = static_cast<unsigned char>(query[i]);
        if ((c & 0xC0) != 0x80) {
            ++chars;
        }
    }
    return chars + 1;
}

namespace errors {

namespace {

ServerError make(Severity severity, std::string_view sqlstate, std::string message,
                 SourceLocation location) {
    ServerError e;
    e.severity = severity;
    e.sqlstate = std::string(sqlstate);
    e.message = std::move(message);
    e.location = location;
    return e;
}

ServerError fatal(std::string_view sqlstate, std::string message, SourceLocation location) {
    return make(Severity::Fatal, sqlstate, std::move(message), location);
}

ServerError error(std::string_view sqlstate, std::string message, SourceLocation location) {
    return make(Severity::Error, sqlstate, std::move(message), location);
}

ServerError at(ServerError e, std::optional<std::size_t> position) {
    e.position = position;
    return e;
}

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

constexpr SourceLocation kFindOption{"guc.c", 1244, "find_option"};
constexpr SourceLocation kScanner{"scan.l", 1246, "scanner_yyerror"};
constexpr SourceLocation kScannerEnd{"scan.l", 1238, "scanner_yyerror"};
constexpr SourceLocation kProcessStartup{"postmaster.c", 2272, "ProcessStartupPacket"};
constexpr SourceLocation kAuthFailed{"auth.c", 326, "auth_failed"};
constexpr SourceLocation kRecvPassword{"auth.c", 712, "recv_password_packet"};

} // namespace

ServerError no_user_name() {
    return fatal("28000", "no PostgreSQL user name specified in startup packet", kProcessStartup);
}

ServerError unsupported_protocol(std::uint16_t major, std::uint16_t minor,
                                 std::uint16_t newest_minor) {
    return fatal("0A000",
                 "unsupported frontend protocol " + std::to_string(major) + "." +
                     std::to_string(minor) + ": server supports 3.0 to 3." +
                     std::to_string(newest_minor),
                 {"postmaster.c", 2151, "ProcessStartupPacket"});
}

ServerError invalid_startup_value(const std::string& name, const std::string& value,
                                  const std::string& hint) {
    auto e = fatal("22023", "invalid value for parameter " + quoted(name) + ": " + quoted(value),
                   {"postmaster.c", 2214, "ProcessStartupPacket"});
    e.hint = hint;
    return e;
}

ServerError no_hba_entry(const std::string& host, const std::string& user,
                         const std::string& database, bool tls) {
    return fatal("28000",
                 "no pg_hba.conf entry for host " + quoted(host) + ", user " + quoted(user) +
                     ", database " + quoted(database) +
                     (tls ? ", SSL encryption" : ", no encryption"),
                 {"auth.c", 542, "ClientAuthentication"});
}

ServerError no_hba_entry_replication(const std::string& host, const std::string& user, bool tls) {
    return fatal("28000",
                 "no pg_hba.conf entry for replication connection from host " + quoted(host) +
                     ", user " + quoted(user) + (tls ? ", SSL encryption" : ", no encryption"),
                 {"auth.c", 533, "ClientAuthentication"});
}

ServerError database_missing(const std::string& name) {
    return fatal("3D000", "database " + quoted(name) + " does not exist",
                 {"postinit.c", 1021, "InitPostgres"});
}

ServerError password_failed(const std::string& user) {
    return fatal("28P01", "password authentication failed for user " + quoted(user), kAuthFailed);
}

ServerError empty_password() {
    return fatal("28P01", "empty password returned by client",
                 {"auth.c", 750, "recv_password_packet"});
}

ServerError expected_password(char got) {
    return fatal("08P01",
                 "expected password response, got message type " +
                     std::to_string(static_cast<unsigned char>(got)),
                 kRecvPassword);
}

ServerError expected_sasl(char got) {
    return fatal("08P01",
                 "expected SASL response, got message type " +
                     std::to_string(static_cast<unsigned char>(got)),
                 {"auth-sasl.c", 98, "CheckSASLAuth"});
}

ServerError invalid_password_packet() {
    return fatal("08P01", "invalid password packet size", {"auth.c", 732, "recv_password_packet"});
}

ServerError invalid_message_format() {
    return fatal("08P01", "invalid message format", {"pqformat.c", 643, "pq_getmsgend"});
}

ServerError invalid_sasl_mechanism() {
    return fatal("08P01", "client selected an invalid SASL authentication mechanism",
                 {"auth-scram.c", 270, "scram_init"});
}

ServerError scram_malformed(const std::string& detail, SourceLocation where) {
    auto e = fatal("08P01", "malformed SCRAM message", where);
    e.detail = detail;
    return e;
}

ServerError scram_feature(const std::string& message, SourceLocation where) {
    return fatal("0A000", message, where);
}

ServerError scram_protocol(const std::string& message, const std::string& detail,
                           SourceLocation where) {
    auto e = fatal("08P01", message, where);
    e.detail = detail;
    return e;
}

ServerError scram_binding_negotiation() {
    auto e = fatal("28000", "SCRAM channel binding negotiation error",
                   {"auth-scram.c", 1019, "read_client_first_message"});
    e.detail = "The client supports SCRAM channel binding but thinks the server does not.  "
               "However, this server does support channel binding.";
    return e;
}

ServerError scram_binding_failed() {
    return fatal("28000", "SCRAM channel binding check failed",
                 {"auth-scram.c", 1350, "read_client_final_message"});
}

ServerError unrecognized_parameter(const std::string& name) {
    return error("42704", "unrecognized configuration parameter " + quoted(name), kFindOption);
}

ServerError invalid_parameter_value(const std::string& name, const std::string& value,
                                    const std::string& detail, const std::string& hint) {
    // The check-hook errors (DateStyle, TimeZone, client_encoding) come from
    // call_string_check_hook; the parse errors of typed settings from parse_and_validate_value.
    SourceLocation loc = detail.empty() && hint.empty()
                             ? SourceLocation{"guc.c", 3122, "parse_and_validate_value"}
                             : SourceLocation{"guc.c", 3228, "parse_and_validate_value"};
    auto e =
        error("22023", "invalid value for parameter " + quoted(name) + ": " + quoted(value), loc);
    e.detail = detail;
    e.hint = hint;
    return e;
}

ServerError requires_boolean(const std::string& name) {
    return error("22023", "parameter " + quoted(name) + " requires a Boolean value",
                 {"guc.c", 3101, "parse_and_validate_value"});
}

ServerError out_of_range_setting(const std::string& value_with_unit, const std::string& name,
                                 const std::string& min, const std::string& max) {
    return error("22023",
                 value_with_unit + " is outside the valid range for parameter " + quoted(name) +
                     " (" + min + " .. " + max + ")",
                 {"guc.c", 3137, "parse_and_validate_value"});
}

ServerError cannot_change(const std::string& name) {
    return error("55P02", "parameter " + quoted(name) + " cannot be changed",
                 {"guc.c", 3389, "set_config_option_ext"});
}

ServerError cannot_change_without_restart(const std::string& name) {
    return error("55P02",
                 "parameter " + quoted(name) + " cannot be changed without restarting the server",
                 {"guc.c", 3412, "set_config_option_ext"});
}

ServerError cannot_change_now(const std::string& name) {
    return error("55P02", "parameter " + quoted(name) + " cannot be changed now",
                 {"guc.c", 3422, "set_config_option_ext"});
}

ServerError permission_denied_to_set(const std::string& name) {
    return error("42501", "permission denied to set parameter " + quoted(name),
                 {"guc.c", 3511, "set_config_option_ext"});
}

ServerError takes_one_argument(const std::string& name) {
    return error("22023", "SET " + name + " takes only one argument",
                 {"guc_funcs.c", 218, "flatten_set_variable_args"});
}

ServerError permission_denied_session_authorization() {
    return error("42501", "permission denied to set session authorization",
                 {"miscinit.c", 919, "SetSessionAuthorization"});
}

ServerError permission_denied_role(const std::string& role) {
    return error("42501", "permission denied to set role " + quoted(role),
                 {"guc.c", 6743, "call_string_check_hook"});
}

ServerError role_missing(const std::string& role) {
    return error("22023", "role " + quoted(role) + " does not exist",
                 {"variable.c", 954, "check_role"});
}

ServerError syntax_error_at(const std::string& token, std::size_t position) {
    return at(error("42601", "syntax error at or near " + quoted(token), kScanner), position);
}

ServerError syntax_error_at_end(std::size_t position) {
    return at(error("42601", "syntax error at end of input", kScannerEnd), position);
}

ServerError lexical_error(const std::string& what, const std::string& near, std::size_t position) {
    return at(error("42601", what + " at or near " + quoted(near), kScanner), position);
}

ServerError multiple_commands_in_prepared() {
    return error("42601", "cannot insert multiple commands into a prepared statement",
                 {"postgres.c", 1480, "exec_parse_message"});
}

ServerError select_star_without_tables(std::size_t position) {
    return at(error("42601", "SELECT * with no tables specified is not valid",
                    {"parse_target.c", 1329, "ExpandAllTables"}),
              position);
}

ServerError relation_missing(const std::string& name, std::size_t position) {
    return at(error("42P01", "relation " + quoted(name) + " does not exist",
                    {"parse_relation.c", 1452, "parserOpenTable"}),
              position);
}

ServerError column_missing(const std::string& name, std::size_t position) {
    return at(error("42703", "column " + quoted(name) + " does not exist",
                    {"parse_relation.c", 3727, "errorMissingColumn"}),
              position);
}

ServerError missing_from_entry(const std::string& table, std::size_t position) {
    return at(error("42P01", "missing FROM-clause entry for table " + quoted(table),
                    {"parse_relation.c", 3661, "errorMissingRTE"}),
              position);
}

ServerError function_missing(const std::string& signature, std::size_t position) {
    auto e = at(error("42883", "function " + signature + " does not exist",
                      {"parse_func.c", 636, "ParseFuncOrColumn"}),
                position);
    e.hint = "No function matches the given name and argument types. You might need to add "
             "explicit type casts.";
    return e;
}

ServerError operator_missing(const std::string& signature, std::size_t position) {
    auto e = at(
        error("42883", "operator does not exist: " + signature, {"parse_oper.c", 656, "op_error"}),
        position);
    e.hint = "No operator matches the given name and argument types. You might need to add "
             "explicit type casts.";
    return e;
}

ServerError type_missing(const std::string& name, std::size_t position) {
    return at(error("42704", "type " + quoted(name) + " does not exist",
                    {"parse_type.c", 274, "typenameType"}),
              position);
}

ServerError no_parameter(std::size_t number, std::size_t position) {
    return at(error("42P02", "there is no parameter $" + std::to_string(number),
                    {"parse_expr.c", 867, "transformParamRef"}),
              position);
}

ServerError parameter_type_unknown(std::size_t number) {
    return error("42P18", "could not determine data type of parameter $" + std::to_string(number),
                 {"postgres.c", 745, "pg_analyze_and_rewrite_varparams"});
}

ServerError type_oid_unknown(std::uint32_t oid) {
    return error("XX000", "cache lookup failed for type " + std::to_string(oid),
                 {"tupdesc.c", 639, "TupleDescInitEntry"});
}

ServerError cannot_cast(const std::string& from, const std::string& to, std::size_t position) {
    return at(error("42846", "cannot cast type " + from + " to " + to,
                    {"parse_expr.c", 2694, "transformTypeCast"}),
              position);
}

ServerError invalid_input(const std::string& type_name, const std::string& value,
                          std::optional<std::size_t> position, SourceLocation where) {
    return at(
        error("22P02", "invalid input syntax for type " + type_name + ": " + quoted(value), where),
        position);
}

ServerError value_out_of_range(const std::string& value, const std::string& type_name,
                               std::optional<std::size_t> position, SourceLocation where) {
    return at(
        error("22003", "value " + quoted(value) + " is out of range for type " + type_name, where),
        position);
}

ServerError out_of_range(const std::string& what, SourceLocation where) {
    return error("22003", what + " out of range", where);
}

ServerError division_by_zero(SourceLocation where) {
    return error("22012", "division by zero", where);
}

ServerError insufficient_data() {
    return error("08P01", "insufficient data left in message",
                 {"pqformat.c", 536, "pq_copymsgbytes"});
}

ServerError incorrect_binary_format(std::size_t parameter) {
    return error("22P03",
                 "incorrect binary data format in bind parameter " + std::to_string(parameter),
                 {"postgres.c", 1942, "exec_bind_message"});
}

ServerError unsupported_format_code(int code) {
    return error("08P01", "unsupported format code: " + std::to_string(code),
                 {"postgres.c", 1960, "exec_bind_message"});
}

ServerError transaction_aborted(SourceLocation where) {
    return error("25P02",
                 "current transaction is aborted, commands ignored until end of transaction block",
                 where);
}

ServerError no_transaction_in_progress(bool commit) {
    return make(Severity::Warning, "25P01", "there is no transaction in progress",
                commit ? SourceLocation{"xact.c", 4000, "EndTransactionBlock"}
                       : SourceLocation{"xact.c", 4123, "UserAbortTransactionBlock"});
}

ServerError already_in_transaction() {
    return make(Severity::Warning, "25001", "there is already a transaction in progress",
                {"xact.c", 3803, "BeginTransactionBlock"});
}

ServerError only_in_transaction_block(const std::string& what, bool warning) {
    return make(warning ? Severity::Warning : Severity::Error, "25P01",
                what + " can only be used in transaction blocks",
                {"xact.c", 3592, "CheckTransactionBlock"});
}

ServerError savepoint_missing(const std::string& name, bool release) {
    return error("3B001", "savepoint " + quoted(name) + " does not exist",
                 release ? SourceLocation{"xact.c", 4330, "ReleaseSavepoint"}
                         : SourceLocation{"xact.c", 4441, "RollbackToSavepoint"});
}

ServerError statement_exists(const std::string& name) {
    return error("42P05", "prepared statement " + quoted(name) + " already exists",
                 {"prepare.c", 415, "StorePreparedStatement"});
}

ServerError statement_missing(const std::string& name) {
    return error("26000", "prepared statement " + quoted(name) + " does not exist",
                 {"prepare.c", 454, "FetchPreparedStatement"});
}

ServerError portal_missing(const std::string& name, SourceLocation where) {
    return error("34000", "portal " + quoted(name) + " does not exist", where);
}

ServerError bind_parameter_count(std::size_t given, const std::string& statement,
                                 std::size_t want) {
    return error("08P01",
                 "bind message supplies " + std::to_string(given) +
                     " parameters, but prepared statement " + quoted(statement) + " requires " +
                     std::to_string(want),
                 {"postgres.c", 1724, "exec_bind_message"});
}

ServerError bind_format_count(std::size_t formats, std::size_t parameters) {
    return error("08P01",
                 "bind message has " + std::to_string(formats) + " parameter formats but " +
                     std::to_string(parameters) + " parameters",
                 {"postgres.c", 1718, "exec_bind_message"});
}

ServerError bind_result_format_count(std::size_t formats, std::size_t columns) {
    return error("08P01",
                 "bind message has " + std::to_string(formats) + " result formats but query has " +
                     std::to_string(columns) + " columns",
                 {"pquery.c", 642, "PortalSetResultFormat"});
}

ServerError invalid_message_type(char type) {
    return fatal("08P01",
                 "invalid frontend message type " +
                     std::to_string(static_cast<unsigned char>(type)),
                 {"postgres.c", 467, "SocketBackend"});
}

ServerError cannot_drop_missing(const std::string& what, const std::string& name) {
    return make(Severity::Notice, "00000", what + " " + quoted(name) + " does not exist, skipping",
                {"tablecmds.c", 1300, "DropErrorMsgNonExistent"});
}

ServerError stack_depth_exceeded() {
    auto e =
        error("54001", "stack depth limit exceeded", {"postgres.c", 3570, "check_stack_depth"});
    e.hint = "Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after "
             "ensuring the platform's stack depth limit is adequate.";
    return e;
}

ServerError feature_not_supported(const std::string& what) {
    return error("0A000", what, {"utility.c", 1039, "standard_ProcessUtility"});
}

ServerError permission_denied_schema(const std::string& schema, std::size_t position) {
    return at(error("42501", "permission denied for schema " + schema,
                    {"aclchk.c", 2695, "aclcheck_error"}),
              position);
}

} // namespace errors

} // namespace standin::postgres
