#pragma once

// The statements and expressions the PostgreSQL stand-in recognises (sql_parser.h builds them,
// the executor runs them). Expressions carry their byte offset for error positions; after
// analysis (expression.h) each node also carries its result type.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <standin/postgres/settings.h>

namespace standin::postgres {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind : std::uint8_t {
    Integer, // text: digits as written (0x.. allowed)
    Numeric, // text: 1.5, 1e3
    String,  // text: the string (type unknown until resolved)
    Bool,    // text: "t" / "f"
    Null,
    Parameter,   // number
    Column,      // names: qualified name parts (lower case)
    Function,    // names + args (star: count(*))
    SqlFunction, // text: current_user, session_user, user, current_role, current_catalog,
                 // current_schema, current_date, current_time, current_timestamp, localtime,
                 // localtimestamp
    Cast,        // args[0] :: type_name (type_modifier)
    Unary,       // text: "-", "+", "not"
    Binary,      // text: operator ("+", "||", "and", "or", "=", ...)
    IsNull,      // args[0] IS [NOT] NULL (negated)
    IsBool,      // args[0] IS [NOT] TRUE/FALSE (text "t"/"f", negated)
    Case,        // args: [operand?] when/then pairs, else (see case_operand/has_else)
    Coalesce,    // COALESCE / GREATEST / LEAST / NULLIF: text is the name, args
    Subquery,    // (SELECT ...) scalar subquery: select
    Between,     // args[0] BETWEEN args[1] AND args[2] (negated)
    InList,      // args[0] IN (args[1..]) (negated)
};

struct SelectStmt;

struct Expr {
    ExprKind kind = ExprKind::Null;
    std::size_t offset = 0; // byte offset of the node's first token (or operator)
    std::string text;
    std::vector<std::string> names;
    std::vector<ExprPtr> args;
    std::size_t parameter = 0;
    std::string type_name; // Cast: as written, lower case ("int4", "character varying")
    std::int32_t type_modifier = -1;
    std::size_t operator_offset = 0; // Cast: the "::" or CAST keyword (cannot-cast errors)
    bool negated = false;
    bool star = false;
    bool case_operand = false;
    bool has_else = false;
    std::shared_ptr<SelectStmt> select;
    // set by analysis
    std::uint32_t type = 0;
    std::int32_t result_modifier = -1;
};

struct SelectTarget {
    ExprPtr expr;
    std::optional<std::string> alias;
    std::size_t offset = 0;
    bool star = false; // "*"
};

struct RelationRef {
    std::vector<std::string> names; // schema.relation
    std::size_t offset = 0;
    std::optional<std::string> alias; // FROM pg_type a: columns are a.x, and pg_type.x no more
};

struct SelectStmt {
    std::vector<SelectTarget> targets;
    std::vector<RelationRef> from_relations;
    std::vector<std::shared_ptr<SelectStmt>> from_subqueries;
    ExprPtr where;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> offset_rows;
    std::vector<std::vector<ExprPtr>> values; // VALUES (...), (...)
    bool is_values = false;
    bool grouped = false; // GROUP BY or HAVING: no input rows, no groups, no output row
};

// SET and its special forms.
struct SetStmt {
    enum class Form : std::uint8_t {
        Value,                  // SET name = args / TO DEFAULT (args empty)
        TimeZoneLocal,          // SET TIME ZONE LOCAL / DEFAULT
        SessionAuthorization,   // SET SESSION AUTHORIZATION x / DEFAULT
        Role,                   // SET ROLE x / NONE
        Transaction,            // SET TRANSACTION ...
        SessionCharacteristics, // SET SESSION CHARACTERISTICS AS TRANSACTION ...
    };
    Form form = Form::Value;
    std::string name; // lower case, or as quoted
    std::vector<SettingArgument> args;
    SettingScope scope = SettingScope::Session;
    std::string role; // SessionAuthorization / Role ("" = DEFAULT/NONE)
    // transaction modes: (setting name, value) pairs
    std::vector<std::pair<std::string, std::string>> modes;
};

struct ResetStmt {
    std::string name; // "all" for RESET ALL
    bool all = false;
};

struct ShowStmt {
    std::string name; // lower case; "all"
    bool all = false;
};

struct TransactionStmt {
    enum class Kind : std::uint8_t {
        Begin,
        StartTransaction,
        Commit,
        End,
        Rollback,
        Abort,
        Savepoint,
        Release,
        RollbackTo,
        PrepareTransaction,
        CommitPrepared,
        RollbackPrepared,
    };
    Kind kind = Kind::Begin;
    std::string savepoint;
    bool chain = false;
    std::vector<std::pair<std::string, std::string>> modes;
};

struct UtilityStmt {
    enum class Kind : std::uint8_t {
        DiscardAll,
        DiscardPlans,
        DiscardSequences,
        DiscardTemp,
        DeallocateAll,
        Deallocate,
        CloseAll,
        Close,
        Listen,
        Unlisten,
        UnlistenAll,
        Notify,
        Checkpoint,
    };
    Kind kind = Kind::DiscardAll;
    std::string name;
    std::string payload; // NOTIFY
    std::size_t offset = 0;
};

// A statement on a table or other object the stand-in does not have.
struct ObjectStmt {
    enum class Kind : std::uint8_t {
        RelationMissing, // INSERT/UPDATE/DELETE/TABLE/COPY/TRUNCATE/LOCK/...: 42P01
        Drop,            // DROP TABLE/VIEW/... [IF EXISTS]
        CreateDenied,    // CREATE ...: permission denied for schema public
        ExplainSelect,   // EXPLAIN of a select the stand-in can plan
        Unsupported,     // 0A000
    };
    Kind kind = Kind::RelationMissing;
    std::string object_kind; // "table", "view", ...
    std::string name;
    std::size_t offset = 0;
    bool if_exists = false;
    std::string tag; // command tag on success ("DROP TABLE")
};

struct EmptyStmt {};

using StatementBody = std::variant<EmptyStmt, std::shared_ptr<SelectStmt>, SetStmt, ResetStmt,
                                   ShowStmt, TransactionStmt, UtilityStmt, ObjectStmt>;

struct Statement {
    StatementBody body;
    std::size_t offset = 0;
    std::size_t length = 0;
    std::string text; // the statement's source text
};

} // namespace standin::postgres
