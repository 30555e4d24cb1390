#pragma once

// The statements and expressions the stand-in recognises, as parsed from a batch. The parser
// (statement_parser.h) builds them; the executor (batch_executor.h) runs them. Every node is
// a plain value: dispatch over them is a std::visit with one case per alternative, so a new
// statement kind cannot be left unhandled.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <tds/sql_types.h>

namespace standin::sqlserver {

// A declared type: `int`, `nvarchar(10)`, `nvarchar(max)`, `decimal(10, 2)`, `sysname`.
struct TypeSpec {
    std::string name; // lower case
    std::vector<std::uint32_t> args;
    bool max = false;
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Literal {
    tds::TypedValue value;
};
struct VariableRef {
    std::string name; // "@x"
};
struct SystemVariableRef {
    std::string name; // "@@version"
};
// CURRENT_TIMESTAMP, CURRENT_USER, SESSION_USER, SYSTEM_USER, USER: functions without ().
struct Niladic {
    std::string name; // lower case
};
struct FunctionCall {
    std::string name; // lower case, schema prefix dropped
    std::vector<ExprPtr> args;
};
// A bare name where a value was expected: a column reference (there are no tables).
struct ColumnRef {
    std::string name;
};
struct Cast {
    ExprPtr expr;
    TypeSpec type;
};
struct Unary {
    char op; // '-', '+', '~'
    ExprPtr operand;
};
struct Binary {
    std::string op; // + - * / %  = <> != < > <= >=  AND OR
    ExprPtr lhs;
    ExprPtr rhs;
};
struct Not {
    ExprPtr operand;
};
struct IsNull {
    ExprPtr operand;
    bool negated = false;
};
// A subquery or EXISTS that reads an object: it cannot be evaluated without data.
struct ObjectAccess {
    std::string object;
};

struct Expr {
    std::variant<Literal, VariableRef, SystemVariableRef, Niladic, FunctionCall, ColumnRef, Cast,
                 Unary, Binary, Not, IsNull, ObjectAccess>
        node;
};

struct SelectItem {
    ExprPtr expr;
    std::string alias;
    std::optional<std::string> assign_to; // SELECT @v = expr
};

struct Statement;
using StatementPtr = std::shared_ptr<const Statement>;

struct SelectStmt {
    std::vector<SelectItem> items;
    std::optional<std::string> from; // the first object read; the stand-in holds no data
    bool star = false;
    std::optional<ExprPtr> where; // evaluated when there is no FROM (SELECT 1 WHERE 1 = 0)
};
// SET option ON|OFF, SET TEXTSIZE 100, SET LANGUAGE us_english, SET DATEFORMAT mdy, ...
struct SetOption {
    std::vector<std::string> options; // lower case
    std::string value;                // as written, lower case for words
    bool value_is_number = false;
};
struct SetVariable {
    std::string variable;
    std::string op; // "=", "+=", ...
    ExprPtr expr;
};
struct SetIsolation {
    std::string level; // "read committed", ...
};
struct Use {
    std::string database;
};
struct BeginTran {
    std::string name;
    bool distributed = false;
};
struct CommitTran {
    std::string name;
};
struct RollbackTran {
    std::string name;
};
struct SaveTran {
    std::string name;
};
struct Block {
    std::vector<StatementPtr> body;
};
struct If {
    ExprPtr condition;
    StatementPtr then_branch;
    StatementPtr else_branch; // may be null
};
struct DeclaredVariable {
    std::string name;
    TypeSpec type;
    std::optional<ExprPtr> init;
};
struct Declare {
    std::vector<DeclaredVariable> variables;
};
struct Print {
    ExprPtr message;
};
struct ExecArgument {
    std::string name; // "@p" for @p = value, else empty
    std::optional<ExprPtr> value;
    bool output = false;
    bool is_default = false;
};
struct Exec {
    std::string procedure; // as written, with its schema if any
    std::vector<ExecArgument> args;
    std::optional<std::string> return_variable;
};
struct ExecString {
    ExprPtr text;
};
struct Raiserror {
    ExprPtr message;
    ExprPtr severity;
    ExprPtr state;
};
struct Return {};
// DBCC: SQL Server's message 2528 and nothing else for a login without data.
struct Dbcc {
    std::string command;
};
// INSERT/UPDATE/DELETE/MERGE/TRUNCATE and SELECT ... FROM: statements that read or write an
// object. There are no objects: 208, as SQL Server answers for a missing one.
struct DataAccess {
    std::string verb; // "insert", ...
    std::string object;
};
// CREATE/ALTER/DROP/GRANT/...: statements the lab login has no permission for (262).
struct NotPermitted {
    std::string what; // "CREATE TABLE"
};
// DROP <kind> [IF EXISTS] name: there is nothing to drop (3701, or nothing with IF EXISTS).
struct Drop {
    std::string kind; // "table", "procedure", ...
    std::string object;
    bool if_exists = false;
};

struct Statement {
    std::uint32_t line = 1;
    std::variant<SelectStmt, SetOption, SetVariable, SetIsolation, Use, BeginTran, CommitTran,
                 RollbackTran, SaveTran, Block, If, Declare, Print, Exec, ExecString, Raiserror,
                 Return, Dbcc, DataAccess, NotPermitted, Drop>
        node;
};

} // namespace standin::sqlserver
