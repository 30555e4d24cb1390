#pragma once

// ServerError is an ERR packet the MySQL stand-in sends: the error number, the SQLSTATE and the
// text, as the flavour's server words them (MySQL 8.0 share/messages_to_clients.txt, MariaDB
// sql/share/errmsg-utf8.txt; the MariaDB texts were checked against a MariaDB 10.11 server).
// The errors module builds each one the stand-in gives.

#include <cstdint>
#include <string>
#include <string_view>

#include <mysql/responses.h>
#include <standin/mysql/config.h>

namespace standin::mysql {

struct ServerError {
    std::uint16_t code = 0;
    std::string sql_state = "HY000";
    std::string message;

    ::mysql::ErrPacket packet() const { return {code, sql_state, message, true}; }
};

namespace errors {
// 1045 28000 "Access denied for user 'u'@'h' (using password: YES|NO)"
ServerError access_denied(const std::string& user, const std::string& host, bool password_used);
// 1049 42000 "Unknown database 'x'"
ServerError unknown_database(const std::string& name);
// 1046 3D000 "No database selected"
ServerError no_database_selected();
// require_secure_transport=ON and a login in clear: MySQL 8.0 3159 HY000; MariaDB (checked on a
// 10.11 server) the plain 1045 access-denied error.
ServerError insecure_transport(Flavour f, const std::string& user, const std::string& host);
// 1043 08S01 "Bad handshake"
ServerError bad_handshake();
// 1047 08S01 "Unknown command"
ServerError unknown_command();
// 1064 42000 "You have an error in your SQL syntax; ... near '...' at line N"
ServerError syntax_error(Flavour f, std::string_view near, int line);
// 1065 42000 "Query was empty"
ServerError empty_query();
// 1146 42S02 "Table 'db.t' doesn't exist"
ServerError no_such_table(const std::string& db, const std::string& table);
// 1193 HY000 "Unknown system variable 'x'"
ServerError unknown_system_variable(const std::string& name);
// 1238 HY000 "Variable 'x' is a GLOBAL variable" / "... is a read only variable"
ServerError global_variable(const std::string& name);
ServerError read_only_variable(const std::string& name);
// 1229 HY000 "Variable 'x' is a GLOBAL variable and should be set with SET GLOBAL"
ServerError global_needs_set_global(const std::string& name);
// 1231 42000 "Variable 'x' can't be set to the value of 'v'"
ServerError wrong_value_for_var(const std::string& name, const std::string& value);
// 1232: SET sql_mode = 1.5 (a number of the wrong kind for the variable)
ServerError wrong_type_for_var(const std::string& name);
// 1227 42000: SET GLOBAL without the privilege
ServerError set_global_denied(Flavour f);
// 1305 42000 "FUNCTION db.f does not exist"
ServerError no_such_function(const std::string& db, const std::string& name);
// 1243 HY000 "Unknown prepared statement handler (N) given to ..."
ServerError unknown_statement(std::uint32_t id, std::string_view where);
// 1210 HY000 "Incorrect arguments to mysqld_stmt_execute"
ServerError wrong_arguments(std::string_view where);
// 1115 42000 "Unknown character set: 'x'"
ServerError unknown_character_set(const std::string& name);
// 1273 HY000 "Unknown collation: 'x'"
ServerError unknown_collation(const std::string& name);
// 1156 08S01 "Got packets out of order"
ServerError packets_out_of_order();
// 1153 08S01 "Got a packet bigger than 'max_allowed_packet' bytes"
ServerError packet_too_large();
// 1295 HY000: a statement the prepared protocol does not support
ServerError unsupported_ps();
// 1054 42S22 "Unknown column 'x' in 'field list'": the clause as the flavour names it (MySQL
// "field list" / "where clause" / "order clause"; MariaDB 10.11 "SELECT" / "WHERE" / "ORDER BY")
ServerError unknown_column(Flavour f, const std::string& name, std::string_view clause);
// 1142 42000 "SELECT command denied to user 'u'@'host' for table ..." (MySQL 8.0 't', MariaDB
// `db`.`t`, as a MariaDB 10.11 server says it)
ServerError table_access_denied(Flavour f, std::string_view privilege, const std::string& user,
                                const std::string& host, const std::string& db,
                                const std::string& table);
// 1044 42000 "Access denied for user 'u'@'h' to database 'd'"
ServerError database_access_denied(const std::string& user, const std::string& host,
                                   const std::string& db);
// 1227 42000 "Access denied; you need (at least one of) the X privilege(s) for this operation"
ServerError privilege_needed(std::string_view privileges);
// A function or procedure the lab does not have: MySQL 8.0 1305 "FUNCTION lab.f does not
// exist"; MariaDB (observed: the EXECUTE check comes first) 1370 "execute command denied to
// user 'u'@'%' for routine 'lab.f'"
ServerError no_such_routine(Flavour f, std::string_view kind, const std::string& db,
                            const std::string& name, const std::string& user,
                            const std::string& account_host);
// 1399 XAE07 "XAER_RMFAIL: The command cannot be executed when global transaction is in the
// %s state" (state 1 ACTIVE, 2 IDLE, 3 PREPARED, 0 NON-EXISTING)
ServerError xa_state(Flavour f, std::uint8_t state);
// 1243 HY000 "Unknown prepared statement handler (name) given to EXECUTE"
ServerError unknown_statement_name(const std::string& name, std::string_view where);
// 1582 42000 "Incorrect parameter count in the call to native function 'f'"
ServerError wrong_parameter_count(const std::string& function);
} // namespace errors

} // namespace standin::mysql
