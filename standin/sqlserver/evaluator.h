#pragma once

// Expressions evaluated as SQL Server evaluates them for constant SELECTs, SET and IF: typed
// values with SQL Server's result types (int literals are int, 'x' is varchar(1), N'x'
// nvarchar(1), SERVERPROPERTY is sql_variant, @@SPID smallint, ...), NULL propagation, and
// SQL Server's errors for what cannot be evaluated.

#include <expected>
#include <map>
#include <string>

#include <standin/sqlserver/server_identity.h>
#include <standin/sqlserver/session_state.h>
#include <standin/sqlserver/sql_error.h>
#include <standin/sqlserver/statement.h>
#include <tds/sql_types.h>

namespace standin::sqlserver {

using Variables = std::map<std::string, tds::TypedValue>; // "@x" (lower case) -> value

struct EvalContext {
    const ServerIdentity& server;
    const SessionState& session;
    const Variables& variables;
    tds::DateTime now_utc;
};

using Evaluated = std::expected<tds::TypedValue, SqlError>;

Evaluated evaluate(const Expr& e, const EvalContext& ctx);
// evaluate_condition: a search condition; NULL (unknown) is false.
std::expected<bool, SqlError> evaluate_condition(const Expr& e, const EvalContext& ctx);

// resolve_type turns a declared type into a TypeInfo (sysname is nvarchar(128); varchar
// without a length is varchar(30) in CAST, varchar(1) in DECLARE).
std::expected<tds::TypeInfo, SqlError> resolve_type(const TypeSpec& spec, bool in_cast);
// convert casts a value to a type (CAST, assignment to a variable, a parameter's value).
Evaluated convert(const tds::TypedValue& v, const tds::TypeInfo& to);

// type_name: how SQL Server names a type in messages ("int", "nvarchar", ...).
std::string type_name(const tds::TypeInfo& t);

} // namespace standin::sqlserver
