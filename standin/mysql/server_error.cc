#include <standin/mysql/server_error.h>

namespace standin::mysql::errors {

ServerError access_denied(const std::string& user, const std::string& host, bool password_used) {
    return {1045, "28000",
            "Access denied for user '" + user + "'@'" + host +
                "' (using password: " + (password_used ? "YES" : "NO") + ")"};
}

ServerError unknown_database(const std::string& name) {
    return {1049, "42000", "Unknown database '" + name + "'"};
}

ServerError no_database_selected() {
    return {1046, "3D000", "No database selected"};
}

ServerError insecure_transport(Flavour f, const std::string& user, const std::string& host) {
    switch (f) {
    case Flavour::Mysql80:
        return {3159, "HY000",
                "Connections using insecure transport are prohibited while "
                "--require_secure_transport=ON."};
    case Flavour::Mariadb114:
        // MariaDB's acl_check_ssl fails the login with login_failed_error (observed on 10.11).
        return access_denied(user, host, true);
    }
    return access_denied(user, host, true);
}

ServerError bad_handshake() {
    return {1043, "08S01", "Bad handshake"};
}

ServerError unknown_command() {
    return {1047, "08S01", "Unknown command"};
}

ServerError syntax_error(Flavour f, std::string_view near, int line) {
    // ER_PARSE_ERROR "%s near '%-.80s' at line %d"
    std::string shown(near.substr(0, 80));
    std::string manual;
    switch (f) {
    case Flavour::Mysql80:
        manual = "You have an error in your SQL syntax; check the manual that corresponds to your "
                 "MySQL server version for the right syntax to use";
        break;
    case Flavour::Mariadb114:
        manual = "You have an error in your SQL syntax; check the manual that corresponds to your "
                 "MariaDB server version for the right syntax to use";
        break;
    }
    return {1064, "42000", manual + " near '" + shown + "' at line " + std::to_string(line)};
}

ServerError empty_query() {
    return {1065, "42000", "Query was empty"};
}

ServerError no_such_table(const std::string& db, const std::string& table) {
    return {1146, "42S02", "Table '" + db + "." + table + "' doesn't exist"};
}

ServerError unknown_system_variable(const std::string& name) {
    return {1193, "HY000", "Unknown system variable '" + name + "'"};
}

ServerError global_variable(const std::string& name) {
    return {1238, "HY000", "Variable '" + name + "' is a GLOBAL variable"};
}

ServerError read_only_variable(const std::string& name) {
    return {1238, "HY000", "Variable '" + name + "' is a read only variable"};
}

ServerError global_needs_set_global(const std::string& name) {
    return {1229, "HY000",
            "Variable '" + name + "' is a GLOBAL variable and should be set with SET GLOBAL"};
}

ServerError wrong_value_for_var(const std::string& name, const std::string& value) {
    return {1231, "42000", "Variable '" + name + "' can't be set to the value of '" + value + "'"};
}

ServerError wrong_type_for_var(const std::string& name) {
    return {1232, "42000", "Incorrect argument type to variable '" + name + "'"};
}

ServerError set_global_denied(Flavour f) {
    switch (f) {
    case Flavour::Mysql80:
        return {1227, "42000",
                "Access denied; you need (at least one of) the SUPER or "
                "SYSTEM_VARIABLES_ADMIN privilege(s) for this operation"};
    case Flavour::Mariadb114:
        return {1227, "42000",
                "Access denied; you need (at least one of) the SUPER privilege(s) for this "
                "operation"};
    }
    return {1227, "42000", "Access denied"};
}

ServerError no_such_function(const std::string& db, const std::string& name) {
    return {1305, "42000", "FUNCTION " + db + "." + name + " does not exist"};
}

ServerError unknown_statement(std::uint32_t id, std::string_view where) {
    return {1243, "HY000",
            "Unknown prepared statement handler (" + std::to_string(id) + ") given to " +
                std::string(where)};
}

ServerError wrong_arguments(std::string_view where) {
    return {1210, "HY000", "Incorrect arguments to " + std::string(where)};
}

ServerError unknown_character_set(const std::string& name) {
    return {1115, "42000", "Unknown character set: '" + name + "'"};
}

ServerError unknown_collation(const std::string& name) {
    return {1273, "HY000", "Unknown collation: '" + name + "'"};
}

ServerError packets_out_of_order() {
    return {1156, "08S01", "Got packets out of order"};
}

ServerError packet_too_large() {
    return {1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"};
}

ServerError unsupported_ps() {
    return {1295, "HY000", "This command is not supported in the prepared statement protocol yet"};
}

ServerError unknown_column(Flavour f, const std::string& name, std::string_view clause) {
    (void)f;
    return {1054, "42S22", "Unknown column '" + name + "' in '" + std::string(clause) + "'"};
}

ServerError table_access_denied(Flavour f, std::string_view privilege, const std::string& user,
                                const std::string& host, const std::string& db,
                                const std::string& table) {
    std::string head =
        std::string(privilege) + " command denied to user '" + user + "'@'" + host + "' for table ";
    switch (f) {
    case Flavour::Mysql80:
        return {1142, "42000", head + "'" + table + "'"};
    case Flavour::Mariadb114:
        return {1142, "42000", head + "`" + db + "`.`" + table + "`"};
    }
    return {1142, "42000", head + "'" + table + "'"};
}

ServerError database_access_denied(const std::string& user, const std::string& host,
                                   const std::string& db) {
    return {1044, "42000",
            "Access denied for user '" + user + "'@'" + host + "' to database '" + db + "'"};
}

ServerError privilege_needed(std::string_view privileges) {
    return {1227, "42000",
            "Access denied; you need (at least one of) the " + std::string(privileges) +
                " privilege(s) for this operation"};
}

ServerError no_such_routine(Flavour f, std::string_view kind, const std::string& db,
                            const std::string& name, const std::string& user,
                            const std::string& account_host) {
    switch (f) {
    case Flavour::Mysql80:
        return {1305, "42000", std::string(kind) + " " + db + "." + name + " does not exist"};
    case Flavour::Mariadb114:
        return {1370, "42000",
                "execute command denied to user '" + user + "'@'" + account_host +
                    "' for routine '" + db + "." + name + "'"};
    }
    return {1305, "42000", std::string(kind) + " " + db + "." + name + " does not exist"};
}

ServerError xa_state(Flavour f, std::uint8_t state) {
    (void)f;
    std::string name = state == 1   ? "ACTIVE"
                       : state == 2 ? "IDLE"
                       : state == 3 ? "PREPARED"
                                    : "NON-EXISTING";
    // the two spaces before the state are the servers' (observed on MariaDB 10.11)
    return {1399, "XAE07",
            "XAER_RMFAIL: The command cannot be executed when global transaction is in the  " +
                name + " state"};
}

ServerError unknown_statement_name(const std::string& name, std::string_view where) {
    return {1243, "HY000",
            "Unknown prepared statement handler (" + name + ") given to " + std::string(where)};
}

ServerError wrong_parameter_count(const std::string& function) {
    return {1582, "42000",
            "Incorrect parameter count in the call to native function '" + function + "'"};
}

} // namespace standin::mysql::errors
