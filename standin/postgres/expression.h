#pragma once

// Analysis and evaluation of the expressions of a SELECT, as PostgreSQL's parse analysis and
// executor would treat them for the stand-in's purposes:
//   - analyze() resolves every node's result type the way PostgreSQL does for the forms the
//     stand-in knows: integer literals are int4, int8 or numeric by size; 'strings' are unknown
//     until context decides (a cast, the other operand, a function argument; text at the top);
//     $n takes the type of its cast or of the other operand, else text; operators and
//     functions are looked up by name and argument types with PostgreSQL's errors (42883 with
//     format_type names, 42703, 42P01, 42704, 42P02), positioned on the offending token;
//   - evaluate() computes a value; errors say whether PostgreSQL would raise them while
//     planning (constant folding of immutable operators and casts: before RowDescription)
//     or while executing (stable and volatile functions such as current_setting: after it);
//   - column_name() is FigureColname: the function, cast type or column name, "?column?"
//     otherwise.
// What a session contributes (settings, identity, clock, advisory locks) comes in through
// SessionView.

#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <standin/postgres/server_error.h>
#include <standin/postgres/settings.h>
#include <standin/postgres/statement.h>
#include <standin/postgres/types.h>

namespace standin::postgres {

struct SessionView {
    Settings* settings = nullptr;
    std::string user;
    std::string database;
    std::uint32_t process_id = 0;
    std::string server_address; // empty: NULL (Unix socket)
    std::uint16_t server_port = 0;
    std::string client_address;
    std::uint16_t client_port = 0;
    std::string version_string;                // version()
    std::string system_user;                   // "scram-sha-256:lab"; empty: NULL (trust)
    std::int64_t transaction_start_micros = 0; // since 1970, UTC
    std::int64_t statement_start_micros = 0;
    std::int64_t server_start_micros = 0;
    bool in_transaction_block = false;
    // the connection's TLS, as pg_stat_ssl shows it (ssl false: in clear)
    bool ssl = false;
    std::string ssl_version;
    std::string ssl_cipher;
    int ssl_bits = 0;
    std::set<std::int64_t>* advisory_locks = nullptr;
    std::vector<ServerError>* notices = nullptr;
    std::uint64_t* transaction_id = nullptr; // txid_current
};

// A relation of the FROM clause the analysis can resolve columns against.
struct RelationScope {
    std::string name;  // relation name
    std::string alias; // alias or name
    std::vector<std::pair<std::string, std::uint32_t>> columns;
};

struct AnalysisContext {
    std::string_view query;
    std::vector<std::uint32_t>* parameter_types = nullptr; // $n types, 0 = unresolved
    std::vector<RelationScope> relations;
};

struct EvalFailure {
    ServerError error;
    bool at_execution = false; // raised while executing (after RowDescription)
};

// One row of a catalog relation that has rows (pg_stat_ssl, pg_stat_activity): its column
// names and values, which column references in the query read.
struct RowBinding {
    std::span<const std::string_view> names;
    std::span<const Value> values;
};

struct EvalContext {
    SessionView* session = nullptr;
    const RowBinding* row = nullptr; // the FROM relation's current row, if it has rows
    // aggregates over no row at all (SELECT count(*) FROM ... WHERE false: one row, count 0,
    // sum/min/max/avg NULL)
    bool empty_group = false;
    const std::vector<Value>* parameters = nullptr;
    OutputOptions output;
    std::string_view query;
};

std::expected<void, ServerError> analyze(Expr& e, AnalysisContext& context);
std::expected<Value, EvalFailure> evaluate(const Expr& e, EvalContext& context);
std::string column_name(const Expr& e);
// is_aggregate: count, sum, min, max, avg (unqualified or pg_catalog's), the aggregates the
// stand-in knows; contains_aggregate: e or an argument, not inside a subquery.
bool is_aggregate(const Expr& e);
bool contains_aggregate(const Expr& e);

// resolve_unknown_parameters: after analysis, unresolved referenced parameters become text;
// a parameter never referenced and never declared is PostgreSQL's 42P18.
std::expected<void, ServerError> finish_parameter_types(std::vector<std::uint32_t>& types,
                                                        const std::vector<bool>& referenced);

} // namespace standin::postgres
