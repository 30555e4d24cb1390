#pragma once

// The built-in functions the stand-in evaluates, as one table (builtins.cc): what drivers,
// ORMs and tools call on connect and in simple sessions (version, current_setting, set_config,
// current_database, current_schema, pg_backend_pid, pg_is_in_recovery, now and its relatives,
// inet_server_addr/port, inet_client_addr/port, pg_postmaster_start_time, txid_current,
// pg_sleep, advisory locks, pg_typeof, format_type, a few string and math functions), each with
// PostgreSQL's argument and result types and volatility. Lookup follows PostgreSQL's rule for
// these simple cases: same name and argument count, each argument equal to the declared type,
// an unknown literal, or implicitly castable to it.

#include <cstdint>
#include <expected>
#include <string_view>
#include <vector>

#include <standin/postgres/expression.h>
#include <standin/postgres/server_error.h>
#include <standin/postgres/types.h>

namespace standin::postgres {

enum class Volatility : std::uint8_t { Immutable, Stable, Volatile };

inline constexpr std::uint32_t kAnyType = 0xFFFFFFFF;

using FunctionImpl = std::expected<Value, ServerError> (*)(const std::vector<Value>& args,
                                                           SessionView& session,
                                                           const OutputOptions& output);

struct BuiltinFunction {
    std::string_view name;
    std::uint8_t min_args = 0;
    std::uint8_t max_args = 0;
    std::uint32_t arg_types[3] = {0, 0, 0}; // declared types; kAnyType accepts any
    std::uint32_t result = 0;               // 0: the first argument's type
    Volatility volatility = Volatility::Immutable;
    bool strict = true;    // a NULL argument gives NULL without calling
    bool variadic = false; // concat: any number of arguments of any type
    FunctionImpl impl = nullptr;
};

bool function_name_known(std::string_view name);
// find_function: the function for these argument types, nullptr when none matches.
const BuiltinFunction* find_function(std::string_view name, const std::vector<std::uint32_t>& args);
// implicitly_castable: PostgreSQL's implicit casts among the stand-in's types.
bool implicitly_castable(std::uint32_t from, std::uint32_t to);

} // namespace standin::postgres
