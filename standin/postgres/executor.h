#pragma once

// Executor runs one recognised statement against a Session, as a PostgreSQL backend would:
//   - analyze() is parse analysis: the result columns (RowDescription) or none (NoData), the
//     parameter types, and PostgreSQL's analysis errors (42P01, 42703, 42883, 42704, ...);
//   - plan() raises what PostgreSQL raises while planning with the parameter values (constant
//     folding: division by zero, bad casts), which the extended protocol reports at Bind;
//   - execute() produces the rows, the command tag, the WARNINGs and NOTICEs PostgreSQL sends
//     (no transaction in progress, SET LOCAL outside a block, DROP IF EXISTS, ...), and the
//     error, flagged when PostgreSQL would send it after the RowDescription.
// Transaction statements change the session's transaction state and its settings' transaction
// frames; the caller (responder) turns an error into the failed state or a rollback.
//
// SELECT over a table: the stand-in has no tables. A relation of pg_catalog or
// information_schema the stand-in knows the columns of is answered with no rows (so a driver's
// catalog lookup sees "not found" rather than an error); any other relation is 42P01.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pg/messages.h>
#include <standin/postgres/server_error.h>
#include <standin/postgres/session.h>
#include <standin/postgres/statement.h>

namespace standin::postgres {

struct StatementResult {
    std::optional<std::vector<ResultColumn>> columns; // RowDescription (SELECT, SHOW, VALUES)
    std::vector<std::vector<Value>> rows;
    std::string tag;                  // CommandComplete; SELECT's is "SELECT <rows>"
    std::vector<ServerError> notices; // WARNING/NOTICE, sent before the result
    std::optional<ServerError> error; // the statement failed
    bool error_after_columns = false; // PostgreSQL sends RowDescription first
    std::vector<pg::Message> after;   // NotificationResponse after CommandComplete
    bool transaction_statement = false;
};

class Executor {
  public:
    Executor(Session& session, std::string_view query) : session_(session), query_(query) {}

    std::expected<std::optional<std::vector<ResultColumn>>, ServerError>
    analyze(Statement& s, std::vector<std::uint32_t>* parameter_types);
    std::optional<ServerError> plan(const Statement& s, const std::vector<Value>* parameters);
    StatementResult execute(Statement& s, const std::vector<Value>* parameters);

    // allowed_in_failed_transaction: COMMIT, END, ROLLBACK, ABORT, ROLLBACK TO.
    static bool allowed_in_failed_transaction(const Statement& s);

  private:
    StatementResult select(SelectStmt& s, const std::vector<Value>* parameters);
    StatementResult set(const SetStmt& s);
    StatementResult reset(const ResetStmt& s);
    StatementResult show(const ShowStmt& s);
    StatementResult transaction(const TransactionStmt& s);
    StatementResult utility(const UtilityStmt& s);
    StatementResult object(const ObjectStmt& s);

    std::expected<std::vector<ResultColumn>, ServerError>
    analyze_select(SelectStmt& s, std::vector<std::uint32_t>* parameter_types);
    EvalContext eval_context(const std::vector<Value>* parameters);
    std::size_t pos(std::size_t offset) const { return position_of(query_, offset); }

    Session& session_;
    std::string_view query_;
};

// Transaction bookkeeping shared by the simple and extended protocol.
void open_transaction(Session& s);   // settings frame, transaction_* from the defaults
void commit_transaction(Session& s); // keeps SETs, drops SET LOCALs, delivers NOTIFYs
void rollback_transaction(Session& s);

} // namespace standin::postgres
