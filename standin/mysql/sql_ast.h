#pragma once

// The parsed form of the statements the MySQL stand-in understands (sql.cc parses them,
// the executor, sql_execution.h, runs them). A SELECT is a tree of query parts (cores joined by
// UNION) over table references; the statements a user without privileges cannot run are one
// ActionStmt naming the action and its object, so the executor can answer with the error the real
// server gives that user.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace standin::mysql {

struct Select;

struct Expr {
    enum class Kind : std::uint8_t {
        Literal,
        SysVar,
        UserVar,
        Param,
        Func,     // text: upper-case name; args; distinct; star (COUNT(*))
        Unary,    // text: "-", "NOT", "~", "BINARY"
        Binary,   // text: operator
        Column,   // text: name; qualifier: table (or db.table)
        Case,     // args: [operand?] when, then, ..., [else]; has_operand, has_else
        Cast,     // args[0]; type: target type (upper case) and its arguments
        In,       // args[0] IN (args[1..]) or IN (sub); negated
        Between,  // args[0] BETWEEN args[1] AND args[2]; negated
        Like,     // args[0] LIKE args[1] [ESCAPE args[2]]; negated; text "LIKE" / "REGEXP"
        Exists,   // EXISTS (sub)
        Subquery, // (sub)
        IsBool,   // args[0] IS [NOT] TRUE/FALSE/UNKNOWN: text
        Collate,  // args[0] COLLATE text
        Interval, // INTERVAL args[0] unit (text)
    };
    enum class LitKind : std::uint8_t { Null, Int, Decimal, Double, String, Bool, Hex, Date };
    Kind kind = Kind::Literal;
    LitKind lit = LitKind::Null;
    std::string text;
    std::string scope;     // SysVar: "", "session", "global", "local"
    std::string qualifier; // Column: table alias
    std::string type;      // Cast: SIGNED, CHAR, DECIMAL, ...; Literal Date: DATE/TIME/TIMESTAMP
    std::vector<std::uint32_t> type_args;
    std::uint16_t param = 0;
    bool negated = false;
    bool distinct = false;
    bool star = false;
    bool has_operand = false;
    bool has_else = false;
    std::vector<Expr> args;
    std::shared_ptr<const Select> sub;
};

struct SelectItem {
    Expr expr;
    std::string name;
    bool star = false; // * or qualifier.*
    std::string star_qualifier;
};

struct TableName {
    std::string db; // empty: the current database
    std::string name;
};

struct TableRef {
    TableName table;
    std::shared_ptr<const Select> derived; // (SELECT ...) alias
    std::string alias;
    enum class Join : std::uint8_t { First, Inner, Left, Right, Cross, Natural };
    Join join = Join::First;
    std::optional<Expr> on;
    std::vector<std::string> using_columns;
};

struct OrderItem {
    Expr expr;
    bool descending = false;
};

struct SelectCore {
    bool distinct = false;
    bool calc_found_rows = false;
    std::vector<SelectItem> items;
    bool from_dual = false;
    std::vector<TableRef> from;
    std::optional<Expr> where;
    std::vector<Expr> group_by;
    std::optional<Expr> having;
};

struct Select {
    struct Part {
        std::shared_ptr<const SelectCore> core;
        std::shared_ptr<const Select> nested; // ( query )
        bool union_all = false;               // how it joins the part before
    };
    std::vector<Part> parts;
    std::vector<OrderItem> order;
    std::optional<std::uint64_t> limit;
    std::uint64_t offset = 0;
};

struct SelectStmt {
    std::shared_ptr<const Select> select;
};

struct ExplainStmt {
    std::shared_ptr<const Select> select;
};

struct SetAssignment {
    enum class Kind : std::uint8_t { System, User, Names, CharacterSet, Isolation, AccessMode };
    Kind kind = Kind::System;
    std::string name;
    bool global = false;
    bool to_default = false;
    std::optional<Expr> value;
    std::optional<std::string> collation; // NAMES ... COLLATE
};

struct Statement;

struct SetStmt {
    std::vector<SetAssignment> items;
    // MariaDB's SET STATEMENT var = value [, ...] FOR statement: the items hold for that
    // statement only
    std::shared_ptr<const Statement> for_statement;
};

struct ShowStmt {
    enum class What : std::uint8_t {
        Variables,
        Status,
        Warnings,
        Errors,
        CountWarnings,
        CountErrors,
        Databases,
        Collation,
        CharacterSet,
        Engines,
        Plugins,
        Tables,
        TableStatus,
        Columns,
        Index,
        CreateTable,
        CreateDatabase,
        CreateUser,
        Grants,
        Processlist,
        ProcedureStatus,
        FunctionStatus,
        Triggers,
        Events,
        OpenTables,
        MasterStatus,
        SlaveStatus,
        BinaryLogs,
        Privileges,
    };
    What what = What::Variables;
    bool global = false;
    bool full = false;
    std::optional<std::string> like;
    std::optional<Expr> where;
    TableName table;        // COLUMNS / INDEX / CREATE TABLE; Tables: db in table.db
    std::string name;       // CREATE DATABASE / CREATE USER / GRANTS FOR user
    bool for_other = false; // GRANTS FOR / CREATE USER naming another account
    std::optional<std::uint64_t> limit;
};

struct UseStmt {
    std::string database;
};

struct TxnStmt {
    enum class What : std::uint8_t { Begin, Commit, Rollback };
    What what = What::Begin;
    bool read_only = false;
};

struct DoStmt {
    std::vector<Expr> exprs;
};

// What a statement does to an object, for the statements the lab user may not run (the
// executor gives the real server's privilege error) or that only change session state.
struct ActionStmt {
    enum class Action : std::uint8_t {
        CreateTable,
        CreateTemporaryTable,
        DropTable,
        AlterTable,
        TruncateTable,
        RenameTable,
        CreateIndex,
        DropIndex,
        CreateView,
        DropView,
        CreateRoutine,
        DropProcedure,
        DropFunction,
        AlterRoutine,
        CreateTrigger,
        DropTrigger,
        CreateEvent, // also ALTER / DROP EVENT
        CreateDatabase,
        DropDatabase,
        AlterDatabase,
        Insert,
        Update,
        Delete,
        Replace,
        LoadData,
        LoadDataLocal,
        GrantDatabase, // GRANT / REVOKE on db.*
        GrantGlobal,   // on *.*
        GrantTable,    // on db.t
        AccountAdmin,  // CREATE/DROP/ALTER/RENAME USER, CREATE/DROP ROLE, GRANT role
        SetPasswordSelf,
        SetPasswordOther,
        SetRole,
        LockTables,
        UnlockTables,
        HandlerOpen,
        HandlerOther,
        Call,
        Flush,
        AdminTable, // ANALYZE / OPTIMIZE / REPAIR TABLE
        CheckTable,
        ChecksumTable,
        Kill,
        XaStart,
        XaEnd,
        XaPrepare,
        XaCommit,
        XaRollback,
        XaRecover,
        Savepoint,
        ReleaseSavepoint,
        RollbackToSavepoint,
        Prepare,
        Execute,
        Deallocate,
    };
    Action action = Action::CreateTable;
    std::vector<TableName> tables;
    std::string name;            // routine, trigger, database, savepoint, statement, handler
    std::string verb;            // ANALYZE / OPTIMIZE / REPAIR
    std::optional<Expr> value;   // KILL id, PREPARE ... FROM expr
    std::vector<Expr> arguments; // EXECUTE ... USING @a, ...
};

struct Statement {
    std::variant<SelectStmt, ExplainStmt, SetStmt, ShowStmt, UseStmt, TxnStmt, DoStmt, ActionStmt>
        body;
    std::string text; // as sent (SHOW PROCESSLIST's Info)
};

} // namespace standin::mysql
