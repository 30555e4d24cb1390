#pragma once

// The system variables and built-in functions clients and tools read on connect, as one table
// each (builtins.cc): @@VERSION @@SPID @@SERVERNAME ..., SERVERPROPERTY, CONNECTIONPROPERTY,
// DATABASEPROPERTYEX, SESSIONPROPERTY, DB_NAME, SUSER_SNAME, GETDATE, ... with SQL Server's
// result types.

#include <string>
#include <vector>

#include <standin/sqlserver/evaluator.h>

namespace standin::sqlserver {

Evaluated system_variable(const std::string& name, const EvalContext& ctx);
Evaluated niladic_function(const std::string& name, const EvalContext& ctx);
Evaluated call_function(const std::string& name, const std::vector<tds::TypedValue>& args,
                        const EvalContext& ctx);

} // namespace standin::sqlserver
