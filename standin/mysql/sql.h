#pragma once

// The MySQL stand-in's SQL front end: a lexer (comments /* */, -- , #; quoted strings and
// identifiers; @@system and @user variables; ? placeholders), a recursive-descent parser with a
// statement grammar (sql.cc, the parsed form in sql_ast.h), and an executor (sql_execution.h) that
// answers as a real MySQL 8.0 / MariaDB server with an empty `lab` database answers a user who
// has USAGE and SELECT on lab.* only:
//
//   SELECT [DISTINCT] items FROM refs [JOIN ...] WHERE .. GROUP BY .. HAVING .. ORDER BY ..
//     LIMIT .., UNION, subqueries: over DUAL, derived tables and the virtual tables of
//     information_schema (catalog.h); a table in lab is 1146, one elsewhere 1142 / 1044.
//   SHOW (VARIABLES, STATUS, WARNINGS, TABLES, DATABASES, COLUMNS, GRANTS, PROCESSLIST, ...),
//   SET, USE, transactions, savepoints, XA, PREPARE/EXECUTE, DO, KILL, EXPLAIN SELECT, and the
//   statements that need privileges the lab user lacks (DDL, DML, GRANT, FLUSH, ...): the real
//   server's privilege errors.
//
// What it cannot parse is a 1064 with the flavour's text and the rest of the query from the
// failing token ("near '...' at line N"), as the servers report it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <mysql/commands.h>
#include <mysql/responses.h>
#include <standin/mysql/server_error.h>
#include <standin/mysql/variables.h>

namespace standin::mysql {

// A user variable: its value in text form and what it holds (SELECT @v gives it that type).
struct UserValue {
    enum class Kind : std::uint8_t { Null, Int, UInt, Decimal, Double, String };
    Kind kind = Kind::Null;
    std::string text;
};

struct Diagnostic {
    std::string level; // "Warning", "Error", "Note"
    std::uint16_t code = 0;
    std::string message;
};

struct Statement; // parsed (sql_ast.h)

// The session a statement runs in.
struct SessionState {
    Flavour flavour = Flavour::Mysql80;
    std::string server_version;
    std::string user;
    std::string client_host;
    std::string account_host = "%"; // CURRENT_USER()'s host
    std::string database;           // empty: none selected
    std::string known_database = "lab";
    std::uint32_t connection_id = 0;
    std::string tls_version; // "TLSv1.3", empty in clear
    std::string tls_cipher;
    bool in_transaction = false;
    bool read_only_transaction = false;
    std::uint64_t last_insert_id = 0;
    std::uint64_t questions = 0;
    std::int64_t started_us = 0;
    std::map<std::string, UserValue> user_variables; // lower-case name
    // the diagnostics area: the last statement's warnings and errors (SHOW WARNINGS)
    std::vector<Diagnostic> diagnostics;
    std::size_t statement_warnings = 0; // what the last statement added (OK / EOF warnings)
    std::int64_t found_rows = 0;        // FOUND_ROWS()
    std::int64_t row_count = -1;        // ROW_COUNT()
    std::vector<std::string> savepoints;
    std::uint8_t xa_state = 0; // 0 none, 1 active, 2 idle, 3 prepared
    // PREPARE name FROM ...: the statements by lower-case name
    std::map<std::string, std::shared_ptr<const Statement>> sql_prepared;
    std::string current_statement; // SHOW PROCESSLIST's Info
    // '*' + hex(SHA1(SHA1(password))) for MariaDB's SHOW GRANTS; empty: not shown
    std::string password_hash;
    std::function<std::int64_t()> clock; // microseconds, UTC
    std::unique_ptr<Variables> variables;
};

struct ResultSet {
    std::vector<::mysql::ColumnDefinition> columns;
    std::vector<std::vector<::mysql::Value>> rows;
};
struct OkResult {
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
};
using StatementResult = std::variant<OkResult, ResultSet, ServerError>;

struct ParsedStatement {
    std::shared_ptr<const Statement> statement;
    std::uint16_t params = 0;
};

// A statement's text range in a query (split at top-level ';').
struct StatementText {
    std::size_t begin = 0;
    std::size_t end = 0;
};

// split_statements: the non-empty statements of a query (comments and blanks alone are none);
// an error (an unterminated string or comment) as a 1064 ServerError.
// `syntax` is what the session's sql_mode changes in reading it (ANSI_QUOTES,
// NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT).
std::variant<std::vector<StatementText>, ServerError>
split_statements(Flavour f, std::string_view query, Syntax syntax = {});

// parse: one statement (the text between semicolons), or its 1064. `query` and `range` give the
// whole text for the error's "near" and line.
std::variant<ParsedStatement, ServerError> parse_statement(Flavour f, std::string_view query,
                                                           StatementText range, Syntax syntax = {});

// execute: run it; params are the values bound to ? (COM_STMT_EXECUTE), empty otherwise.
StatementResult execute(const Statement& s, SessionState& session,
                        std::span<const ::mysql::BoundParameter> params = {});

// The columns a prepared statement will return (COM_STMT_PREPARE), without running it.
std::variant<std::vector<::mysql::ColumnDefinition>, ServerError> describe(const Statement& s,
                                                                           SessionState& session);

} // namespace standin::mysql
