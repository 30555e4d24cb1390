#pragma once

// BatchExecutor runs parsed statements against the session and writes SQL Server's tokens for
// them: result sets (COLMETADATA, ROW), ENVCHANGE for database, language and transactions,
// INFO and ERROR messages, and one DONE per statement (DONEINPROC inside a procedure), with
// DONE_MORE on every one but the last of a batch and DONE_COUNT where SQL Server sets it.
// Errors follow SQL Server's scopes: a statement-level error (3902, 2812, ...) ends the
// statement and the batch goes on; a batch-level one (208, 137, ...) ends the batch.
// SQL Server never sets DONE_INXACT (MS-TDS appendix A, notes 46-49), so neither does this.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <standin/sqlserver/evaluator.h>
#include <standin/sqlserver/server_identity.h>
#include <standin/sqlserver/session_state.h>
#include <standin/sqlserver/statement.h>
#include <standin/sqlserver/statement_parser.h>
#include <tds/tokens.h>

namespace standin::sqlserver {

// Where statements run: a SQL batch (DONE) or a procedure such as sp_executesql (DONEINPROC,
// all with DONE_MORE, the caller ends with RETURNSTATUS and DONEPROC).
enum class RunContext : std::uint8_t { Batch, Procedure };

struct RunOutcome {
    bool aborted = false;               // a batch-level error ended the run
    std::optional<std::uint32_t> error; // the last error number, if any
    std::string note;                   // for the log: what the stand-in could not answer
};

class BatchExecutor {
  public:
    BatchExecutor(const ServerIdentity& server, SessionState& session, tds::TokenWriter& out,
                  Variables& variables, RunContext context, tds::DateTime now_utc);

    // run executes statements in order and leaves the last DONE pending (see finish).
    RunOutcome run(const std::vector<StatementPtr>& statements);
    // compile_error answers a batch that did not parse: the error, then DONE(ERROR).
    void compile_error(const ParseError& e);
    // error writes an error message (statement-level unless its scope says otherwise).
    void error(const SqlError& e, std::uint32_t line, std::uint16_t cur_cmd);
    // finish writes the pending DONE as the last one of a batch (no DONE_MORE), or a final
    // DONE when no statement wrote one. In a procedure it writes the pending DONEINPROC with
    // DONE_MORE (the caller's DONEPROC follows).
    void finish();

  private:
    enum class Flow : std::uint8_t { Next, Abort, Return };

    Flow execute(const Statement& s);
    Flow run_statement(const Statement& s);
    Flow select(const SelectStmt& s, std::uint32_t line);
    Flow set_option(const SetOption& s, std::uint32_t line);
    Flow use(const Use& s, std::uint32_t line);
    Flow begin_tran(const BeginTran& s, std::uint32_t line);
    Flow commit(const CommitTran& s, std::uint32_t line);
    Flow rollback(const RollbackTran& s, std::uint32_t line);
    Flow save(const SaveTran& s, std::uint32_t line);
    Flow exec(const Exec& s, std::uint32_t line);
    Flow fail(const SqlError& e, std::uint32_t line, std::uint16_t cur_cmd);

    EvalContext context() const;
    std::uint8_t done_token() const;
    void done(std::uint16_t status, std::uint16_t cur_cmd, std::uint64_t rows);
    void flush_pending(bool more);
    void info(std::uint32_t number, std::uint8_t state, const std::string& text,
              std::uint32_t line);

    const ServerIdentity& server_;
    SessionState& session_;
    tds::TokenWriter& out_;
    Variables& variables_;
    RunContext context_;
    tds::DateTime now_utc_;
    RunOutcome outcome_;

    struct PendingDone {
        std::uint16_t status;
        std::uint16_t cur_cmd;
        std::uint64_t rows;
    };
    std::optional<PendingDone> pending_;
    bool wrote_done_ = false;
    std::size_t errors_ = 0;     // errors written so far (for @@ERROR)
    bool row_count_set_ = false; // the current statement set @@ROWCOUNT
};

// Transactions, shared by T-SQL statements and Transaction Manager requests: each writes the
// ENVCHANGE SQL Server sends (TDS 7.2+ only; older clients get none) and returns the error, if
// any.
std::optional<SqlError> begin_transaction(SessionState& s, tds::TokenWriter& out,
                                          const std::string& name);
std::optional<SqlError> commit_transaction(SessionState& s, tds::TokenWriter& out);
std::optional<SqlError> rollback_transaction(SessionState& s, tds::TokenWriter& out,
                                             const std::string& name);
std::optional<SqlError> save_transaction(SessionState& s, const std::string& name);

} // namespace standin::sqlserver
