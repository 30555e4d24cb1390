#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <standin/sqlserver/builtins.h>
#include <standin/sqlserver/evaluator.h>
#include <standin/sqlserver/statement_parser.h>

#include "standin_test_util.h"

namespace sq = standin::sqlserver;
using standin_test::text;

namespace {

// type_text names a TypeInfo the way SQL Server declares it: "int", "numeric(3,2)",
// "varchar(3)", "nvarchar(128)", "datetime2(7)", "sql_variant".
std::string type_text(const tds::TypeInfo& t) {
    std::string name(tds::to_string(t.type));
    switch (t.type) {
    case tds::SqlType::Decimal:
    case tds::SqlType::Numeric:
        return name + "(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case tds::SqlType::Time:
    case tds::SqlType::DateTime2:
    case tds::SqlType::DateTimeOffset:
        return name + "(" + std::to_string(t.scale) + ")";
    case tds::SqlType::NChar:
    case tds::SqlType::NVarChar:
        return name + "(" + (t.length == tds::kMaxLength ? "max" : std::to_string(t.length / 2)) +
               ")";
    case tds::SqlType::Char:
    case tds::SqlType::VarChar:
    case tds::SqlType::Binary:
    case tds::SqlType::VarBinary:
        return name + "(" + (t.length == tds::kMaxLength ? "max" : std::to_string(t.length)) + ")";
    case tds::SqlType::Bit:
    case tds::SqlType::TinyInt:
    case tds::SqlType::SmallInt:
    case tds::SqlType::Int:
    case tds::SqlType::BigInt:
    case tds::SqlType::Real:
    case tds::SqlType::Float:
    case tds::SqlType::SmallMoney:
    case tds::SqlType::Money:
    case tds::SqlType::SmallDateTime:
    case tds::SqlType::DateTime:
    case tds::SqlType::Date:
    case tds::SqlType::Text:
    case tds::SqlType::NText:
    case tds::SqlType::Image:
    case tds::SqlType::UniqueIdentifier:
    case tds::SqlType::Variant:
    case tds::SqlType::Xml:
        break;
    }
    return name;
}

// Eval evaluates expressions the way a constant SELECT does, in a session logged in as "lab".
struct Eval {
    sq::ServerIdentity server = standin_test::test_server();
    sq::SessionState session;
    sq::Variables variables;

    Eval() {
        session.login = "lab";
        session.host_name = "test-host";
        session.app_name = "standin-tests";
        session.spid = 53;
    }

    sq::EvalContext context() const {
        return sq::EvalContext{server, session, variables, standin_test::fixed_now()};
    }

    static sq::SelectStmt select_of(const std::string& sql) {
        auto b = sq::parse_batch(sql);
        INFO("parsing: " << sql);
        REQUIRE(b);
        REQUIRE(b->size() == 1);
        const auto* s = std::get_if<sq::SelectStmt>(&(*b)[0]->node);
        REQUIRE(s != nullptr);
        return *s;
    }

    sq::Evaluated operator()(const std::string& expr) const {
        auto s = select_of("SELECT " + expr);
        REQUIRE(s.items.size() == 1);
        return sq::evaluate(*s.items[0].expr, context());
    }

    // ok: the value of an expression that must evaluate.
    tds::TypedValue ok(const std::string& expr) const {
        auto v = (*this)(expr);
        INFO("evaluating: " << expr);
        if (!v) {
            INFO("error " << v.error().number << ": " << v.error().text);
            REQUIRE(v);
        }
        return *v;
    }

    sq::SqlError err(const std::string& expr) const {
        auto v = (*this)(expr);
        INFO("evaluating: " << expr);
        REQUIRE_FALSE(v);
        return v.error();
    }

    // cond: a search condition as WHERE and IF evaluate it (unknown is false).
    bool cond(const std::string& c) const {
        auto s = select_of("SELECT 1 WHERE " + c);
        REQUIRE(s.where);
        auto r = sq::evaluate_condition(**s.where, context());
        INFO("condition: " << c);
        REQUIRE(r);
        return *r;
    }
};

} // namespace

TEST_CASE("evaluator: literal types are SQL Server's", "[standin][evaluator][types]") {
    Eval e;
    struct Case {
        const char* expr;
        const char* type;
        const char* value;
    };
    // SQL_VARIANT_PROPERTY(<literal>, 'BaseType' / 'Precision' / 'Scale' / 'MaxLength') on
    // SQL Server: an integer literal is int, one beyond int's range numeric(p,0); a literal with
    // a point is numeric with the digits written; with an exponent float; '...' varchar(n);
    // N'...' nvarchar(n); 0x... varbinary(n); NULL is int.
    auto c = GENERATE(Case{"1", "int", "1"}, Case{"2147483647", "int", "2147483647"},
                      Case{"1.50", "numeric(3,2)", "1.50"},
                      Case{"3000000000", "numeric(10,0)", "3000000000"},
                      Case{"123.456", "numeric(6,3)", "123.456"}, Case{"1e3", "float", "1000"},
                      Case{"2.5E1", "float", "25"}, Case{"'abc'", "varchar(3)", "abc"},
                      Case{"N'abc'", "nvarchar(3)", "abc"}, Case{"'it''s'", "varchar(4)", "it's"},
                      Case{"N'd\xC3\xA9j\xC3\xA0'", "nvarchar(4)", "d\xC3\xA9j\xC3\xA0"},
                      Case{"0xABCD", "varbinary(2)", "0xABCD"}, Case{"NULL", "int", "NULL"});
    auto v = e.ok(c.expr);
    INFO(c.expr);
    CHECK(type_text(v.type) == c.type);
    CHECK(text(v) == c.value);
}

TEST_CASE("evaluator: a decimal literal below one has precision = scale",
          "[standin][evaluator][types]") {
    // "How SQL Server Determines Type of the Constant" (TechNet Wiki, Microsoft Learn archive):
    // a decimal constant is numeric(p,s) where p is the number of digits not counting leading
    // zeros: SQL_VARIANT_PROPERTY(0.5, 'Precision') is 1.
    Eval e;
    CHECK(type_text(e.ok("0.5").type) == "numeric(1,1)");
    CHECK(type_text(e.ok(".25").type) == "numeric(2,2)");
}

TEST_CASE("evaluator: arithmetic", "[standin][evaluator][arith]") {
    Eval e;
    CHECK(text(e.ok("1 + 2")) == "3");
    CHECK(type_text(e.ok("1 + 2").type) == "int");
    CHECK(text(e.ok("7 / 2")) == "3"); // integer division
    CHECK(text(e.ok("7 % 3")) == "1");
    CHECK(text(e.ok("2 * -3")) == "-6");
    CHECK(text(e.ok("(1 + 2) * 3")) == "9");
    CHECK(text(e.ok("1 + 1.5")) == "2.5");
    CHECK(type_text(e.ok("1 + 1e0").type) == "float");
    CHECK(text(e.ok("6 & 3")) == "2");
    CHECK(text(e.ok("6 | 3")) == "7");
    CHECK(text(e.ok("6 ^ 3")) == "5");
    CHECK(text(e.ok("1 + NULL")) == "NULL");
    CHECK(text(e.ok("-(-5)")) == "5");
}

TEST_CASE("evaluator: int overflow is 8115, divide by zero 8134", "[standin][evaluator][arith]") {
    Eval e;
    // Msg 8115, Level 16, State 2: Arithmetic overflow error converting expression to data type
    // int.
    for (const char* x : {"2147483647 + 1", "2147483647 * 2", "-2147483647 - 2"}) {
        auto err = e.err(x);
        INFO(x);
        CHECK(err.number == 8115);
        CHECK(err.severity == 16);
        CHECK(err.text == "Arithmetic overflow error converting expression to data type int.");
    }
    // Msg 8134, Level 16, State 1: Divide by zero error encountered.
    for (const char* x : {"1 / 0", "1 % 0", "1.5 / 0", "1e0 / 0"}) {
        auto err = e.err(x);
        INFO(x);
        CHECK(err.number == 8134);
        CHECK(err.severity == 16);
        CHECK(err.text == "Divide by zero error encountered.");
        CHECK(err.scope == sq::ErrorScope::Statement); // the batch goes on
    }
}

TEST_CASE("evaluator: string concatenation", "[standin][evaluator][strings]") {
    Eval e;
    auto v = e.ok("'ab' + 'c'");
    CHECK(text(v) == "abc");
    CHECK(type_text(v.type) == "varchar(3)");
    auto n = e.ok("'a' + N'b'");
    CHECK(text(n) == "ab");
    CHECK(type_text(n.type) == "nvarchar(2)");
    // CONCAT_NULL_YIELDS_NULL is ON after login: NULL + anything is NULL.
    CHECK(text(e.ok("CAST(NULL AS varchar(5)) + 'x'")) == "NULL");
    CHECK(text(e.ok("'x' + NULL")) == "NULL");
}

TEST_CASE("evaluator: CAST and CONVERT", "[standin][evaluator][cast]") {
    Eval e;
    auto s = e.ok("CAST(1 AS varchar(10))");
    CHECK(text(s) == "1");
    CHECK(type_text(s.type) == "varchar(10)");
    CHECK(type_text(e.ok("CAST(1 AS varchar)").type) == "varchar(30)"); // 30 in CAST
    CHECK(type_text(e.ok("CAST(N'x' AS nvarchar)").type) == "nvarchar(30)");
    CHECK(text(e.ok("CAST('42' AS int)")) == "42");
    CHECK(text(e.ok("CONVERT(int, '42')")) == "42");
    CHECK(text(e.ok("CONVERT(varchar(20), 42, 0)")) == "42");
    CHECK(text(e.ok("CAST(' 7 ' AS int)")) == "7");
    CHECK(text(e.ok("CAST(1.9 AS int)")) == "1"); // truncated
    CHECK(text(e.ok("CAST('hello' AS varchar(3))")) == "hel");
    CHECK(text(e.ok("CAST(5 AS bit)")) == "1");
    CHECK(text(e.ok("CAST(0 AS bit)")) == "0");
    CHECK(type_text(e.ok("CAST(1 AS bigint)").type) == "bigint");
    CHECK(type_text(e.ok("CAST(NULL AS nvarchar(5))").type) == "nvarchar(5)");
    CHECK(text(e.ok("CAST(NULL AS nvarchar(5))")) == "NULL");
    CHECK(type_text(e.ok("CAST('x' AS sysname)").type) == "nvarchar(128)");

    SECTION("a decimal value has its type's scale") {
        // SELECT CAST(2 AS decimal(5,2)) shows 2.00, and so does converting it on to a string.
        CHECK(text(e.ok("CAST(2 AS decimal(5,2))")) == "2.00");
        CHECK(text(e.ok("CAST(CAST(2 AS decimal(5,2)) AS varchar(10))")) == "2.00");
    }
    SECTION("float to string: style 0, at most 6 digits") {
        // CAST and CONVERT (Transact-SQL), float and real styles: "0 (default): A maximum of 6
        // digits. Use in scientific notation, when appropriate."
        CHECK(std::get<double>(e.ok("1.5E-2").value) == Approx(0.015));
        CHECK(text(e.ok("CAST(1.5E-2 AS varchar(30))")) == "0.015");
        CHECK(text(e.ok("CAST(1e3 AS varchar(30))")) == "1000");
    }
    SECTION("245: conversion failed") {
        // Msg 245, Level 16: Conversion failed when converting the varchar value 'abc' to data
        // type int.
        auto err = e.err("CAST('abc' AS int)");
        CHECK(err.number == 245);
        CHECK(err.text == "Conversion failed when converting the varchar value 'abc' to data "
                          "type int.");
        CHECK(e.err("CONVERT(int, N'x1')").number == 245);
    }
    SECTION("overflow converting to a smaller type") {
        CHECK(e.err("CAST(3000000000 AS int)").number == 8115);
    }
    SECTION("243: an unknown type") {
        auto err = e.err("CAST(1 AS nosuchtype)");
        CHECK(err.number == 243);
        CHECK(err.text == "Type nosuchtype is not a defined system type.");
    }
}

TEST_CASE("evaluator: comparisons and NULL", "[standin][evaluator][logic]") {
    Eval e;
    CHECK(e.cond("1 = 1"));
    CHECK_FALSE(e.cond("1 = 2"));
    CHECK(e.cond("1 < 2"));
    CHECK(e.cond("2 >= 2"));
    CHECK(e.cond("1 <> 2"));
    CHECK(e.cond("1 != 2"));
    CHECK(e.cond("1 !> 2"));
    CHECK_FALSE(e.cond("2 !> 1"));
    CHECK(e.cond("2 !< 1"));
    CHECK(e.cond("1.5 > 1"));
    // The default collation SQL_Latin1_General_CP1_CI_AS is case-insensitive, and trailing
    // spaces do not count in comparisons (ANSI/ISO SQL-92, "SET ANSI_PADDING").
    CHECK(e.cond("'abc' = 'ABC'"));
    CHECK(e.cond("'a ' = 'a'"));
    CHECK(e.cond("'a' < 'b'"));
    CHECK(e.cond("N'x' = 'X'"));
    CHECK(e.cond("1 = 1 AND 2 = 2"));
    CHECK(e.cond("1 = 2 OR 2 = 2"));
    CHECK_FALSE(e.cond("1 = 2 AND 2 = 2"));
    CHECK(e.cond("NOT 1 = 2"));

    SECTION("a comparison with NULL is unknown, and unknown is not true") {
        CHECK_FALSE(e.cond("NULL = NULL"));
        CHECK_FALSE(e.cond("NULL <> 1"));
        CHECK_FALSE(e.cond("1 = NULL"));
        CHECK_FALSE(e.cond("NULL = 1 AND 1 = 1"));
        CHECK(e.cond("NULL = 1 OR 1 = 1"));
        CHECK(e.cond("NULL IS NULL"));
        CHECK_FALSE(e.cond("NULL IS NOT NULL"));
        CHECK(e.cond("1 IS NOT NULL"));
    }
    SECTION("NOT unknown is unknown") {
        // "NOT (Transact-SQL)": NOT UNKNOWN is UNKNOWN. So IF NOT (NULL = 1) does not run its
        // branch and SELECT ... WHERE NOT (NULL = 1) returns no row.
        CHECK_FALSE(e.cond("NOT (NULL = 1)"));
        CHECK_FALSE(e.cond("NOT (1 = 1 AND NULL = 1)"));
        CHECK(e.cond("NOT (1 = 2 AND NULL = 1)")); // FALSE AND UNKNOWN is FALSE
    }
}

TEST_CASE("evaluator: variables", "[standin][evaluator][variables]") {
    Eval e;
    e.variables["@x"] = tds::TypedValue{tds::int_type(), tds::Value{std::int64_t{41}}};
    CHECK(text(e.ok("@x + 1")) == "42");
    CHECK(text(e.ok("@X")) == "41"); // variable names compare case-insensitively
    SECTION("an undeclared variable is 137") {
        // Msg 137, Level 15, State 2: Must declare the scalar variable "@nope".
        auto err = e.err("@nope");
        CHECK(err.number == 137);
        CHECK(err.severity == 15);
        CHECK(err.text == "Must declare the scalar variable \"@nope\".");
    }
    SECTION("an unknown system variable is 137 too") {
        CHECK(e.err("@@NO_SUCH_THING").number == 137);
    }
    SECTION("a bare name is a column, and there are no columns: 207") {
        // Msg 207, Level 16: Invalid column name 'somecol'.
        auto err = e.err("somecol");
        CHECK(err.number == 207);
        CHECK(err.text == "Invalid column name 'somecol'.");
    }
}

TEST_CASE("builtins: every system variable with its type", "[standin][evaluator][builtins]") {
    Eval e;
    e.session.tran_count = 0;
    struct Case {
        const char* name;
        const char* type;
        std::optional<const char*> value; // nullopt: not pinned
    };
    // Types from each variable's page in the Transact-SQL reference (@@SPID smallint, @@VERSION
    // nvarchar, @@MAX_PRECISION tinyint, @@DATEFIRST tinyint, @@IDENTITY numeric(38,0),
    // @@DBTS varbinary, the counters int).
    auto c = GENERATE(
        Case{"@@VERSION", "nvarchar(300)", std::nullopt}, Case{"@@SPID", "smallint", "53"},
        Case{"@@SERVERNAME", "nvarchar(128)", "tlslab"},
        Case{"@@SERVICENAME", "nvarchar(128)", "MSSQLSERVER"},
        Case{"@@LANGUAGE", "nvarchar(128)", "us_english"}, Case{"@@LANGID", "smallint", "0"},
        Case{"@@MAX_PRECISION", "tinyint", "38"}, Case{"@@TRANCOUNT", "int", "0"},
        Case{"@@OPTIONS", "int", "5432"}, Case{"@@TEXTSIZE", "int", std::nullopt},
        Case{"@@MICROSOFTVERSION", "int", "268436456"}, // 16 << 24 | 0 << 16 | 1000
        Case{"@@DBTS", "varbinary(8)", std::nullopt}, Case{"@@ERROR", "int", "0"},
        Case{"@@ROWCOUNT", "int", "0"}, Case{"@@IDENTITY", "numeric(38,0)", "NULL"},
        Case{"@@DATEFIRST", "tinyint", "7"}, Case{"@@LOCK_TIMEOUT", "int", "-1"},
        Case{"@@NESTLEVEL", "int", "0"}, Case{"@@PROCID", "int", std::nullopt},
        Case{"@@REMSERVER", "nvarchar(128)", "NULL"}, Case{"@@MAX_CONNECTIONS", "int", "32767"},
        Case{"@@CONNECTIONS", "int", std::nullopt}, Case{"@@TIMETICKS", "int", "31250"},
        Case{"@@FETCH_STATUS", "int", std::nullopt}, Case{"@@CURSOR_ROWS", "int", "0"},
        Case{"@@PACK_RECEIVED", "int", std::nullopt}, Case{"@@PACK_SENT", "int", std::nullopt},
        Case{"@@PACKET_ERRORS", "int", std::nullopt});
    auto v = e.ok(c.name);
    INFO(c.name);
    CHECK(type_text(v.type) == c.type);
    if (c.value) {
        CHECK(text(v) == *c.value);
    }
}

TEST_CASE("builtins: @@VERSION reads as SQL Server 2022's", "[standin][evaluator][builtins]") {
    Eval e;
    auto v = text(e.ok("@@VERSION"));
    CHECK_THAT(v, Catch::StartsWith("Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"));
    e.server.version_text = "custom";
    CHECK(text(e.ok("@@version")) == "custom");
}

TEST_CASE("builtins: session state shows through", "[standin][evaluator][builtins]") {
    Eval e;
    e.session.tran_count = 2;
    e.session.language = "Deutsch";
    e.session.options |= sq::option_bit::kNoCount;
    e.session.database = "lab";
    CHECK(text(e.ok("@@TRANCOUNT")) == "2");
    CHECK(text(e.ok("@@LANGUAGE")) == "Deutsch");
    CHECK(text(e.ok("@@OPTIONS")) == "5944");
    CHECK(text(e.ok("DB_NAME()")) == "lab");
    CHECK(text(e.ok("XACT_STATE()")) == "1");
}

TEST_CASE("builtins: functions with their result types", "[standin][evaluator][builtins]") {
    Eval e;
    e.session.client_address = "10.0.0.7";
    struct Case {
        const char* expr;
        const char* type;
        std::optional<const char*> value;
    };
    // Result types from each function's page in the Transact-SQL reference.
    auto c = GENERATE(
        Case{"DB_NAME()", "nvarchar(128)", "master"}, Case{"DB_NAME(5)", "nvarchar(128)", "lab"},
        Case{"DB_NAME(1)", "nvarchar(128)", "master"}, Case{"DB_NAME(99)", "nvarchar(128)", "NULL"},
        Case{"SUSER_SNAME()", "nvarchar(128)", "lab"}, Case{"SUSER_NAME()", "nvarchar(128)", "lab"},
        Case{"ORIGINAL_LOGIN()", "nvarchar(128)", "lab"},
        Case{"SYSTEM_USER", "nvarchar(128)", "lab"}, Case{"USER_NAME()", "nvarchar(128)", "dbo"},
        Case{"CURRENT_USER", "nvarchar(128)", "dbo"}, Case{"SESSION_USER", "nvarchar(128)", "dbo"},
        Case{"USER", "nvarchar(128)", "dbo"}, Case{"SCHEMA_NAME()", "nvarchar(128)", "dbo"},
        Case{"HOST_NAME()", "nvarchar(128)", "test-host"},
        Case{"APP_NAME()", "nvarchar(128)", "standin-tests"},
        Case{"GETDATE()", "datetime", "2024-02-29 13:45:30.123"},
        Case{"GETUTCDATE()", "datetime", "2024-02-29 13:45:30.123"},
        Case{"CURRENT_TIMESTAMP", "datetime", "2024-02-29 13:45:30.123"},
        Case{"SYSDATETIME()", "datetime2(7)", "2024-02-29 13:45:30.1234567"},
        Case{"SYSUTCDATETIME()", "datetime2(7)", "2024-02-29 13:45:30.1234567"},
        Case{"SYSDATETIMEOFFSET()", "datetimeoffset(7)", "2024-02-29 13:45:30.1234567 +00:00"},
        Case{"OBJECT_ID('dbo.t')", "int", "NULL"}, Case{"OBJECT_NAME(1)", "nvarchar(128)", "NULL"},
        Case{"SCOPE_IDENTITY()", "numeric(38,0)", "NULL"},
        Case{"IDENT_CURRENT('t')", "numeric(38,0)", "NULL"}, Case{"XACT_STATE()", "smallint", "0"},
        Case{"IS_SRVROLEMEMBER('sysadmin')", "int", "0"},
        Case{"IS_SRVROLEMEMBER('public')", "int", "1"}, Case{"IS_MEMBER('db_owner')", "int", "1"},
        Case{"HAS_DBACCESS('lab')", "int", "1"}, Case{"ISNULL(NULL, 5)", "int", "5"},
        // "ISNULL ... replacement_value is returned after it's implicitly converted to the type
        // of check_expression".
        Case{"ISNULL(CAST(NULL AS varchar(2)), 'abc')", "varchar(2)", "ab"},
        Case{"COALESCE(NULL, 2, 3)", "int", "2"}, Case{"NULLIF(1, 1)", "int", "NULL"},
        Case{"NULLIF(1, 2)", "int", "1"},
        Case{"LEN('abc  ')", "int", "3"}, // trailing spaces are not counted
        Case{"DATALENGTH(N'abc')", "int", "6"}, Case{"DATALENGTH('abc')", "int", "3"},
        Case{"DATALENGTH(NULL)", "int", "NULL"}, Case{"UPPER('abc')", "varchar(3)", "ABC"},
        Case{"LOWER(N'ABC')", "nvarchar(3)", "abc"}, Case{"LTRIM('  a')", "varchar(3)", "a"},
        Case{"RTRIM('a  ')", "varchar(3)", "a"}, Case{"NEWID()", "uniqueidentifier", std::nullopt},
        Case{"COUNT(*)", "int", "1"},
        Case{"CONNECTIONPROPERTY('net_transport')", "sql_variant", "TCP"},
        Case{"CONNECTIONPROPERTY('protocol_type')", "sql_variant", "TSQL"},
        Case{"CONNECTIONPROPERTY('auth_scheme')", "sql_variant", "SQL"},
        Case{"CONNECTIONPROPERTY('client_net_address')", "sql_variant", "10.0.0.7"},
        Case{"DATABASEPROPERTYEX('master', 'Collation')", "sql_variant",
             "SQL_Latin1_General_CP1_CI_AS"},
        Case{"DATABASEPROPERTYEX('lab', 'Status')", "sql_variant", "ONLINE"},
        Case{"DATABASEPROPERTYEX('lab', 'Updateability')", "sql_variant", "READ_WRITE"},
        Case{"DATABASEPROPERTYEX('nope', 'Status')", "sql_variant", "NULL"},
        Case{"SESSIONPROPERTY('ANSI_NULLS')", "sql_variant", "1"},
        Case{"SESSIONPROPERTY('ARITHABORT')", "sql_variant", "0"},
        Case{"SESSIONPROPERTY('QUOTED_IDENTIFIER')", "sql_variant", "1"});
    auto v = e.ok(c.expr);
    INFO(c.expr);
    CHECK(type_text(v.type) == c.type);
    if (c.value) {
        // sql_variant values carry no type of their own here: compare their text
        if (v.type.type == tds::SqlType::Variant) {
            auto t = tds::format_value(v.value, tds::nvarchar_type(4000));
            CHECK(t.value_or("NULL") == *c.value);
        } else {
            CHECK(text(v) == *c.value);
        }
    }
}

TEST_CASE("builtins: DB_ID returns int", "[standin][evaluator][builtins]") {
    // "DB_ID (Transact-SQL) ... Return types: int".
    Eval e;
    CHECK(type_text(e.ok("DB_ID()").type) == "int");
    CHECK(text(e.ok("DB_ID()")) == "1");
    CHECK(text(e.ok("DB_ID('lab')")) == "5");
    CHECK(text(e.ok("DB_ID('tempdb')")) == "2");
    CHECK(text(e.ok("DB_ID('nope')")) == "NULL");
}

TEST_CASE("builtins: SERVERPROPERTY is a sql_variant with SQL Server 2022's values",
          "[standin][evaluator][builtins]") {
    Eval e;
    struct Case {
        const char* property;
        const char* value;
    };
    auto c = GENERATE(
        Case{"ProductVersion", "16.0.1000.6"}, Case{"productversion", "16.0.1000.6"},
        Case{"ProductLevel", "RTM"}, Case{"ProductMajorVersion", "16"},
        Case{"ProductMinorVersion", "0"}, Case{"ProductBuild", "1000"},
        Case{"ProductUpdateLevel", "NULL"}, // RTM has no CU
        Case{"Edition", "Developer Edition (64-bit)"}, Case{"EditionID", "-2117995310"},
        Case{"EngineEdition", "3"}, Case{"ServerName", "tlslab"}, Case{"MachineName", "tlslab"},
        Case{"InstanceName", "NULL"}, // the default instance
        Case{"IsClustered", "0"}, Case{"IsHadrEnabled", "0"}, Case{"IsIntegratedSecurityOnly", "0"},
        Case{"IsSingleUser", "0"}, Case{"IsFullTextInstalled", "0"},
        Case{"Collation", "SQL_Latin1_General_CP1_CI_AS"}, Case{"CollationID", "872468488"},
        Case{"LCID", "1033"}, Case{"SqlCharSet", "1"}, Case{"SqlCharSetName", "iso_1"},
        Case{"SqlSortOrder", "52"}, Case{"SqlSortOrderName", "nocase_iso"},
        Case{"ComparisonStyle", "196609"}, Case{"ResourceVersion", "16.00.1000"},
        Case{"BuildClrVersion", "v4.0.30319"},
        Case{"NoSuchProperty", "NULL"}); // an unknown property is NULL
    auto v = e.ok(std::string("SERVERPROPERTY('") + c.property + "')");
    INFO(c.property);
    CHECK(type_text(v.type) == "sql_variant");
    CHECK(tds::format_value(v.value, tds::nvarchar_type(4000)).value_or("NULL") == c.value);
}

TEST_CASE("builtins: an unknown function is 195, a wrong argument count 174",
          "[standin][evaluator][builtins][errors]") {
    Eval e;
    // Msg 195, Level 15: 'nosuchfn' is not a recognized built-in function name.
    auto err = e.err("nosuchfn(1)");
    CHECK(err.number == 195);
    CHECK(err.severity == 15);
    CHECK(err.text == "'nosuchfn' is not a recognized built-in function name.");
    CHECK(e.err("GETDATE(1)").number == 174);
    CHECK(e.err("SERVERPROPERTY()").number == 174);
    // Msg 4121: a schema-qualified name is a user-defined function, and there is none.
    CHECK(e.err("dbo.fn_nothing(1)").number == 4121);
}

TEST_CASE("builtins: the entry points answer directly", "[standin][evaluator][builtins]") {
    Eval e;
    auto ctx = e.context();
    auto spid = sq::system_variable("@@spid", ctx);
    REQUIRE(spid);
    CHECK(spid->type == tds::smallint_type());
    CHECK(sq::system_variable("@@nope", ctx).error().number == 137);
    auto now = sq::niladic_function("current_timestamp", ctx);
    REQUIRE(now);
    CHECK(std::get<tds::DateTime>(now->value) == standin_test::fixed_now());
    auto db = sq::call_function("db_name", {}, ctx);
    REQUIRE(db);
    CHECK(text(*db) == "master");
    CHECK(sq::call_function("nope", {}, ctx).error().number == 195);
}

TEST_CASE("resolve_type and convert", "[standin][evaluator][types]") {
    auto spec = [](const char* name, std::vector<std::uint32_t> args = {}, bool max = false) {
        return sq::TypeSpec{name, std::move(args), max};
    };
    CHECK(type_text(*sq::resolve_type(spec("varchar"), false)) == "varchar(1)"); // DECLARE
    CHECK(type_text(*sq::resolve_type(spec("varchar"), true)) == "varchar(30)"); // CAST
    CHECK(type_text(*sq::resolve_type(spec("nvarchar", {}, true), false)) == "nvarchar(max)");
    CHECK(type_text(*sq::resolve_type(spec("decimal"), false)) == "decimal(18,0)");
    CHECK(type_text(*sq::resolve_type(spec("numeric", {10, 2}), false)) == "numeric(10,2)");
    CHECK(type_text(*sq::resolve_type(spec("datetime2"), false)) == "datetime2(7)");
    CHECK(type_text(*sq::resolve_type(spec("sysname"), false)) == "nvarchar(128)");
    CHECK(sq::resolve_type(spec("bogus"), false).error().number == 243);

    auto v = sq::convert(tds::TypedValue{tds::varchar_type(2), tds::Value{std::string("12")}},
                         tds::int_type());
    REQUIRE(v);
    CHECK(std::get<std::int64_t>(v->value) == 12);
    CHECK(sq::type_name(tds::nvarchar_type(5)) == "nvarchar");
}
