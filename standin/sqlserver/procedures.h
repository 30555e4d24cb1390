#pragma once

// The system procedures clients call by RPC (and T-SQL by EXEC): sp_executesql and the
// prepared-statement family (sp_prepare, sp_execute, sp_prepexec, sp_unprepare), and
// sp_reset_connection. A call writes the tokens of its body (DONEINPROC, errors); the caller
// ends it with RETURNSTATUS, RETURNVALUE for output parameters and DONEPROC, as SQL Server
// does.

#include <cstdint>
#include <string>
#include <vector>

#include <standin/sqlserver/server_identity.h>
#include <standin/sqlserver/session_state.h>
#include <tds/sql_types.h>
#include <tds/tokens.h>

namespace standin::sqlserver {

struct ProcedureEnv {
    const ServerIdentity& server;
    SessionState& session;
    tds::TokenWriter& out;
    tds::DateTime now_utc;
};

struct ProcedureArg {
    std::string name; // "@p1" (lower case), or empty for a positional argument
    tds::TypedValue value;
    bool output = false;
    bool is_default = false;
};

struct OutputValue {
    std::uint16_t ordinal = 0; // position in the call's parameter list
    std::string name;
    tds::TypedValue value;
};

struct ProcedureResult {
    bool found = true;
    std::int32_t status = 0;
    std::vector<OutputValue> outputs;
    bool aborted = false; // a batch-level error ended the body: no RETURNSTATUS
    bool reset_connection = false;
    std::string note; // for the log
};

ProcedureResult call_procedure(const std::string& name, const std::vector<ProcedureArg>& args,
                               ProcedureEnv& env);

// reset_session: what sp_reset_connection and the RESETCONNECTION flag do: options,
// language, database and prepared statements back to their login state; an open
// transaction is rolled back unless `keep_transaction` (RESETCONNECTIONSKIPTRAN).
void reset_session(SessionState& s, tds::TokenWriter& out, bool keep_transaction);

// write_procedure_end: RETURNSTATUS, RETURNVALUEs and DONEPROC for a finished call.
void write_procedure_end(tds::TokenWriter& out, const ProcedureResult& r, bool last_in_request);

} // namespace standin::sqlserver
