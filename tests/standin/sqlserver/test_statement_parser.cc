#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <standin/sqlserver/statement_parser.h>

namespace sq = standin::sqlserver;

namespace {

std::vector<sq::StatementPtr> parse(const std::string& sql) {
    auto r = sq::parse_batch(sql);
    INFO("parsing: " << sql);
    if (!r) {
        INFO("error " << r.error().number << ": " << r.error().text);
        REQUIRE(r);
    }
    return *r;
}

// one: the single statement of a batch, as alternative T.
template <typename T> T one(const std::string& sql) {
    auto s = parse(sql);
    INFO("parsing: " << sql);
    REQUIRE(s.size() == 1);
    const T* node = std::get_if<T>(&s[0]->node);
    REQUIRE(node != nullptr);
    return *node;
}

template <typename T> bool is(const sq::StatementPtr& s) {
    return std::holds_alternative<T>(s->node);
}

sq::ParseError error_of(const std::string& sql) {
    auto r = sq::parse_batch(sql);
    INFO("parsing: " << sql);
    REQUIRE_FALSE(r);
    return r.error();
}

const sq::Literal& literal(const sq::ExprPtr& e) {
    const auto* l = std::get_if<sq::Literal>(&e->node);
    REQUIRE(l != nullptr);
    return *l;
}

std::int64_t int_literal(const sq::ExprPtr& e) {
    const auto* n = std::get_if<std::int64_t>(&literal(e).value.value);
    REQUIRE(n != nullptr);
    return *n;
}

std::string string_literal(const sq::ExprPtr& e) {
    const auto* s = std::get_if<std::string>(&literal(e).value.value);
    REQUIRE(s != nullptr);
    return *s;
}

} // namespace

// --- SELECT ----------------------------------------------------------------------------------

TEST_CASE("parser: SELECT of literals", "[standin][parser][select]") {
    auto s = one<sq::SelectStmt>("SELECT 1");
    REQUIRE(s.items.size() == 1);
    CHECK(int_literal(s.items[0].expr) == 1);
    CHECK(s.items[0].alias.empty());
    CHECK_FALSE(s.items[0].assign_to);
    CHECK_FALSE(s.from);
    CHECK_FALSE(s.where);
    CHECK_FALSE(s.star);

    auto m = one<sq::SelectStmt>("SELECT 1, 'two', N'three', 4.5, NULL");
    REQUIRE(m.items.size() == 5);
    CHECK(string_literal(m.items[1].expr) == "two");
    CHECK(literal(m.items[2].expr).value.type.type == tds::SqlType::NVarChar);
    CHECK(literal(m.items[3].expr).value.type.type == tds::SqlType::Numeric);
    CHECK(tds::is_null(literal(m.items[4].expr).value.value));
}

TEST_CASE("parser: SELECT column aliases in every form SQL Server accepts",
          "[standin][parser][select]") {
    struct Case {
        const char* sql;
        const char* alias;
    };
    auto c = GENERATE(Case{"SELECT 1 AS a", "a"}, Case{"SELECT a = 1", "a"},
                      Case{"SELECT 1 AS 'x'", "x"}, Case{"SELECT 1 x", "x"},
                      Case{"SELECT 1 [my col]", "my col"}, Case{"SELECT 1 AS [b]]c]", "b]c"},
                      Case{"SELECT 1 \"q\"", "q"}, Case{"SELECT 'lit' = 1", "lit"},
                      Case{"SELECT [n] = 1", "n"}, Case{"select 1 as A", "A"});
    auto s = one<sq::SelectStmt>(c.sql);
    REQUIRE(s.items.size() == 1);
    CHECK(s.items[0].alias == c.alias);
    CHECK(int_literal(s.items[0].expr) == 1);
}

TEST_CASE("parser: SELECT @v = expr assigns", "[standin][parser][select]") {
    auto s = one<sq::SelectStmt>("SELECT @V = 1 + 2");
    REQUIRE(s.items.size() == 1);
    REQUIRE(s.items[0].assign_to);
    CHECK(*s.items[0].assign_to == "@v"); // variables compare case-insensitively
    CHECK(std::holds_alternative<sq::Binary>(s.items[0].expr->node));
}

TEST_CASE("parser: SELECT ... FROM reads an object", "[standin][parser][select]") {
    CHECK(one<sq::SelectStmt>("SELECT * FROM t").from == "t");
    CHECK(one<sq::SelectStmt>("SELECT a, b FROM dbo.customers WHERE a = 1").from ==
          "dbo.customers");
    CHECK(one<sq::SelectStmt>("SELECT name FROM [master].[sys].[databases]").from ==
          "master.sys.databases");
    CHECK(one<sq::SelectStmt>("SELECT x FROM (SELECT 1 AS x) d").from == "(derived table)");
    auto s = one<sq::SelectStmt>("SELECT TOP 10 * FROM sys.objects ORDER BY 1");
    CHECK(s.from == "sys.objects");
    CHECK(s.star);
    SECTION("the statement after FROM ... ends at ';'") {
        auto b = parse("SELECT * FROM t; SELECT 2");
        REQUIRE(b.size() == 2);
        CHECK(std::get<sq::SelectStmt>(b[0]->node).from == "t");
        CHECK_FALSE(std::get<sq::SelectStmt>(b[1]->node).from);
    }
    SECTION("SELECT INTO creates a table: not permitted") {
        auto n = one<sq::NotPermitted>("SELECT 1 AS a INTO #t");
        CHECK(n.what == "CREATE TABLE");
    }
}

TEST_CASE("parser: SELECT WHERE and TOP", "[standin][parser][select]") {
    auto w = one<sq::SelectStmt>("SELECT 1 WHERE 1 = 0");
    REQUIRE(w.where);
    CHECK(std::get<sq::Binary>((*w.where)->node).op == "=");
    auto t = one<sq::SelectStmt>("SELECT TOP 1 1");
    REQUIRE(t.items.size() == 1);
    CHECK(int_literal(t.items[0].expr) == 1);
    auto tp = one<sq::SelectStmt>("SELECT TOP (5) PERCENT 'x'");
    REQUIRE(tp.items.size() == 1);
    CHECK(string_literal(tp.items[0].expr) == "x");
    CHECK(one<sq::SelectStmt>("SELECT DISTINCT 1").items.size() == 1);
}

TEST_CASE("parser: SELECT * without FROM is 263", "[standin][parser][select][errors]") {
    // Msg 263, Level 16: Must specify table to select from.
    auto e = error_of("SELECT *");
    CHECK(e.number == 263);
    CHECK(e.text == "Must specify table to select from.");
}

TEST_CASE("parser: a float literal beyond 8 bytes is 168, not an exception",
          "[standin][parser][errors][fuzz]") {
    // Found by fuzz/standin_sql (fuzz/corpus/standin_sql/crash-tsql-float-3E0500): std::stod
    // threw out_of_range through parse_batch, which ended the stand-in. Msg 168, Level 15.
    const std::string found = "IF 3E0500X90608480d92  ( NLL"
                              "\xa0"
                              "SELECT 'n:o'";
    auto e = error_of(found);
    CHECK(e.number == 168);
    CHECK(e.text ==
          "The floating point value '3E0500' is out of the range of computer representation (8 "
          "bytes).");
    CHECK(error_of("SELECT 1E400").number == 168);
    CHECK(error_of("SELECT -1E400").number == 168);
    // Too small for a double is not an error: it reads as 0 (or a denormal).
    CHECK(one<sq::SelectStmt>("SELECT 1E-400").items.size() == 1);
}

TEST_CASE("parser: expressions", "[standin][parser][expr]") {
    SECTION("precedence: * before +, comparison below arithmetic, AND before OR") {
        auto s = one<sq::SelectStmt>("SELECT 1 + 2 * 3");
        const auto& plus = std::get<sq::Binary>(s.items[0].expr->node);
        CHECK(plus.op == "+");
        CHECK(std::get<sq::Binary>(plus.rhs->node).op == "*");
        auto w = one<sq::SelectStmt>("SELECT 1 WHERE 1 = 1 OR 2 = 2 AND 3 = 4");
        const auto& orx = std::get<sq::Binary>((*w.where)->node);
        CHECK(orx.op == "or");
        CHECK(std::get<sq::Binary>(orx.rhs->node).op == "and");
    }
    SECTION("functions, niladic functions, CAST and CONVERT, variables, system variables") {
        auto s = one<sq::SelectStmt>("SELECT DB_NAME(), CURRENT_TIMESTAMP, CAST(1 AS varchar(10)), "
                                     "CONVERT(nvarchar(max), 2, 1), @v, @@SPID, sys.fn_x(1)");
        REQUIRE(s.items.size() == 7);
        CHECK(std::get<sq::FunctionCall>(s.items[0].expr->node).name == "db_name");
        CHECK(std::get<sq::Niladic>(s.items[1].expr->node).name == "current_timestamp");
        const auto& cast = std::get<sq::Cast>(s.items[2].expr->node);
        CHECK(cast.type.name == "varchar");
        CHECK(cast.type.args == std::vector<std::uint32_t>{10});
        const auto& conv = std::get<sq::Cast>(s.items[3].expr->node);
        CHECK(conv.type.name == "nvarchar");
        CHECK(conv.type.max);
        CHECK(std::get<sq::VariableRef>(s.items[4].expr->node).name == "@v");
        CHECK(std::get<sq::SystemVariableRef>(s.items[5].expr->node).name == "@@spid");
        CHECK(std::get<sq::FunctionCall>(s.items[6].expr->node).name == "sys.fn_x");
    }
    SECTION("IS [NOT] NULL, NOT, unary minus, a bare name is a column") {
        auto s = one<sq::SelectStmt>("SELECT 1 WHERE NOT @a IS NOT NULL");
        const auto& n = std::get<sq::Not>((*s.where)->node);
        CHECK(std::get<sq::IsNull>(n.operand->node).negated);
        auto u = one<sq::SelectStmt>("SELECT -1, somecol");
        CHECK(std::get<sq::Unary>(u.items[0].expr->node).op == '-');
        CHECK(std::get<sq::ColumnRef>(u.items[1].expr->node).name == "somecol");
    }
    SECTION("EXISTS and subqueries that read objects") {
        auto s = one<sq::SelectStmt>("SELECT 1 WHERE EXISTS (SELECT * FROM sys.tables)");
        CHECK(std::get<sq::ObjectAccess>((*s.where)->node).object == "sys.tables");
        auto c = one<sq::SelectStmt>("SELECT (SELECT 5)");
        CHECK(int_literal(c.items[0].expr) == 5); // a constant subquery is its value
    }
}

// --- SET -------------------------------------------------------------------------------------

TEST_CASE("parser: SET options", "[standin][parser][set]") {
    auto s = one<sq::SetOption>("SET NOCOUNT ON");
    CHECK(s.options == std::vector<std::string>{"nocount"});
    CHECK(s.value == "on");
    CHECK_FALSE(s.value_is_number);

    auto l = one<sq::SetOption>("set ansi_nulls, Quoted_Identifier, ANSI_PADDING off");
    CHECK(l.options == std::vector<std::string>{"ansi_nulls", "quoted_identifier", "ansi_padding"});
    CHECK(l.value == "off");

    auto n = one<sq::SetOption>("SET TEXTSIZE 2147483647");
    CHECK(n.options == std::vector<std::string>{"textsize"});
    CHECK(n.value == "2147483647");
    CHECK(n.value_is_number);

    auto neg = one<sq::SetOption>("SET LOCK_TIMEOUT -1");
    CHECK(neg.value == "-1");
    CHECK(neg.value_is_number);

    CHECK(one<sq::SetOption>("SET DATEFORMAT ymd").value == "ymd");
    CHECK(one<sq::SetOption>("SET STATISTICS IO ON").options ==
          std::vector<std::string>{"statistics io"});
    CHECK(one<sq::SetOption>("SET DEADLOCK_PRIORITY LOW").value == "low");
}

TEST_CASE("parser: SET LANGUAGE", "[standin][parser][set]") {
    auto w = one<sq::SetOption>("SET LANGUAGE us_english");
    CHECK(w.options == std::vector<std::string>{"language"});
    CHECK(w.value == "us_english");
    auto q = one<sq::SetOption>("SET LANGUAGE N'Deutsch'");
    CHECK(q.value == "Deutsch");
    auto b = one<sq::SetOption>("SET LANGUAGE [British]");
    CHECK(b.value == "British");
}

TEST_CASE("parser: SET TRANSACTION ISOLATION LEVEL", "[standin][parser][set]") {
    struct Case {
        const char* sql;
        const char* level;
    };
    auto c = GENERATE(Case{"SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "read uncommitted"},
                      Case{"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "read committed"},
                      Case{"set transaction isolation level repeatable read", "repeatable read"},
                      Case{"SET TRANSACTION ISOLATION LEVEL SNAPSHOT", "snapshot"},
                      Case{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;", "serializable"});
    CHECK(one<sq::SetIsolation>(c.sql).level == c.level);
    CHECK(error_of("SET TRANSACTION ISOLATION LEVEL CHAOS").number == 102);
}

TEST_CASE("parser: SET @variable", "[standin][parser][set]") {
    auto s = one<sq::SetVariable>("SET @X = 5");
    CHECK(s.variable == "@x");
    CHECK(s.op == "=");
    CHECK(int_literal(s.expr) == 5);
    CHECK(one<sq::SetVariable>("SET @x += 1").op == "+=");
    CHECK(one<sq::SetVariable>("SET @x -= 1").op == "-=");
    CHECK(one<sq::SetVariable>("SET @x *= 1").op == "*=");
    CHECK(one<sq::SetVariable>("SET @x /= 1").op == "/=");
    // "Compound Operators (Transact-SQL)": %=, &=, |= and ^= are assignment operators too.
    CHECK(one<sq::SetVariable>("SET @x %= 3").op == "%=");
    CHECK(one<sq::SetVariable>("SET @x |= 4").op == "|=");
}

TEST_CASE("parser: an unknown SET option is 195", "[standin][parser][set][errors]") {
    // Msg 195, Level 15: 'FOO' is not a recognized SET option.
    auto e = error_of("SET FOO ON");
    CHECK(e.number == 195);
    CHECK(e.severity == 15);
    CHECK(e.text == "'FOO' is not a recognized SET option.");
    CHECK(error_of("SET NOCOUNT ON; SET BOGUS_OPTION OFF").number == 195);
}

// --- USE, transactions -----------------------------------------------------------------------

TEST_CASE("parser: USE", "[standin][parser]") {
    CHECK(one<sq::Use>("USE lab").database == "lab");
    CHECK(one<sq::Use>("use [my db];").database == "my db");
    CHECK_FALSE(sq::parse_batch("USE"));
}

TEST_CASE("parser: BEGIN, COMMIT, ROLLBACK and SAVE TRANSACTION", "[standin][parser][tran]") {
    CHECK(one<sq::BeginTran>("BEGIN TRAN").name.empty());
    CHECK(one<sq::BeginTran>("BEGIN TRANSACTION").name.empty());
    CHECK(one<sq::BeginTran>("begin tran t1").name == "t1");
    CHECK(one<sq::BeginTran>("BEGIN TRANSACTION @name").name == "@name");
    CHECK(one<sq::BeginTran>("BEGIN TRAN t WITH MARK 'm'").name == "t");
    CHECK(one<sq::BeginTran>("BEGIN DISTRIBUTED TRANSACTION").distributed);

    one<sq::CommitTran>("COMMIT");
    one<sq::CommitTran>("COMMIT TRAN");
    one<sq::CommitTran>("COMMIT TRANSACTION");
    one<sq::CommitTran>("COMMIT WORK");
    CHECK(one<sq::CommitTran>("COMMIT TRANSACTION t1").name == "t1");
    one<sq::CommitTran>("COMMIT TRAN WITH (DELAYED_DURABILITY = ON)");

    one<sq::RollbackTran>("ROLLBACK");
    one<sq::RollbackTran>("ROLLBACK WORK");
    CHECK(one<sq::RollbackTran>("ROLLBACK TRAN").name.empty());
    CHECK(one<sq::RollbackTran>("ROLLBACK TRANSACTION sp1").name == "sp1");

    CHECK(one<sq::SaveTran>("SAVE TRAN sp1").name == "sp1");
    CHECK(one<sq::SaveTran>("SAVE TRANSACTION [sp 2]").name == "sp 2");
    CHECK_FALSE(sq::parse_batch("SAVE TRAN")); // a savepoint needs a name

    SECTION("transaction statements run together without ';'") {
        auto b = parse("BEGIN TRAN COMMIT ROLLBACK BEGIN TRANSACTION SELECT 1");
        REQUIRE(b.size() == 5);
        CHECK(is<sq::BeginTran>(b[0]));
        CHECK(is<sq::CommitTran>(b[1]));
        CHECK(is<sq::RollbackTran>(b[2]));
        CHECK(std::get<sq::BeginTran>(b[3]->node).name.empty());
        CHECK(is<sq::SelectStmt>(b[4]));
    }
}

// --- control flow, DECLARE, PRINT ------------------------------------------------------------

TEST_CASE("parser: IF ... ELSE and BEGIN ... END", "[standin][parser][flow]") {
    auto i = one<sq::If>("IF @@TRANCOUNT > 0 COMMIT");
    CHECK(is<sq::CommitTran>(i.then_branch));
    CHECK(i.else_branch == nullptr);

    auto e = one<sq::If>("IF 1 = 1 SELECT 1 ELSE SELECT 2");
    CHECK(is<sq::SelectStmt>(e.then_branch));
    REQUIRE(e.else_branch != nullptr);
    CHECK(is<sq::SelectStmt>(e.else_branch));

    auto semi = one<sq::If>("IF 1 = 1 SELECT 1; ELSE SELECT 2;");
    CHECK(semi.else_branch != nullptr);

    auto b = one<sq::Block>("BEGIN SELECT 1; SELECT 2 END");
    CHECK(b.body.size() == 2);

    auto nested = one<sq::If>("IF 1 = 1 BEGIN PRINT 'a'; IF 2 = 2 BEGIN SELECT 1 END END ELSE "
                              "BEGIN SELECT 3 END");
    const auto& then_block = std::get<sq::Block>(nested.then_branch->node);
    REQUIRE(then_block.body.size() == 2);
    CHECK(is<sq::Print>(then_block.body[0]));
    CHECK(is<sq::If>(then_block.body[1]));

    CHECK(error_of("BEGIN SELECT 1").number == 102); // no END
    CHECK(error_of("IF 1 = 1").number == 102);
}

TEST_CASE("parser: DECLARE", "[standin][parser]") {
    auto d = one<sq::Declare>("DECLARE @a int = 1, @B nvarchar(10), @c AS decimal(10, 2), "
                              "@d varchar(max), @e sysname");
    REQUIRE(d.variables.size() == 5);
    CHECK(d.variables[0].name == "@a");
    CHECK(d.variables[0].type.name == "int");
    CHECK(d.variables[0].init);
    CHECK(d.variables[1].name == "@b");
    CHECK(d.variables[1].type.args == std::vector<std::uint32_t>{10});
    CHECK_FALSE(d.variables[1].init);
    CHECK(d.variables[2].type.args == std::vector<std::uint32_t>{10, 2});
    CHECK(d.variables[3].type.max);
    CHECK(d.variables[4].type.name == "sysname");
    CHECK(error_of("DECLARE x int").number == 102);
}

TEST_CASE("parser: PRINT and RAISERROR", "[standin][parser]") {
    CHECK(string_literal(one<sq::Print>("PRINT 'hello'").message) == "hello");
    auto r = one<sq::Raiserror>("RAISERROR('boom %d', 16, 1) WITH NOWAIT");
    CHECK(string_literal(r.message) == "boom %d");
    CHECK(int_literal(r.severity) == 16);
    CHECK(int_literal(r.state) == 1);
    CHECK(error_of("RAISERROR('x')").number == 102);
}

// --- EXEC ------------------------------------------------------------------------------------

TEST_CASE("parser: EXEC with arguments, OUTPUT and a return variable", "[standin][parser][exec]") {
    auto e = one<sq::Exec>("EXEC sp_executesql N'SELECT @p', N'@p int', @p = 1");
    CHECK(e.procedure == "sp_executesql");
    REQUIRE(e.args.size() == 3);
    CHECK(e.args[0].name.empty());
    CHECK(e.args[2].name == "@p");
    CHECK(int_literal(*e.args[2].value) == 1);

    auto o = one<sq::Exec>("EXECUTE @rc = dbo.my_proc @a = 1, @B = @x OUTPUT, @c = DEFAULT, 5");
    CHECK(o.procedure == "dbo.my_proc");
    REQUIRE(o.return_variable);
    CHECK(*o.return_variable == "@rc");
    REQUIRE(o.args.size() == 4);
    CHECK(o.args[1].name == "@b");
    CHECK(o.args[1].output);
    CHECK(o.args[2].is_default);
    CHECK_FALSE(o.args[3].output);

    auto bare_word = one<sq::Exec>("EXEC sp_help mytable");
    REQUIRE(bare_word.args.size() == 1);
    CHECK(string_literal(*bare_word.args[0].value) == "mytable"); // a bare word is a string

    CHECK(std::holds_alternative<sq::ExecString>(parse("EXEC ('SELECT 1')")[0]->node));
    CHECK(one<sq::Exec>("EXEC [my proc]").procedure == "my proc");
}

TEST_CASE("parser: a procedure name first in a batch is an EXEC", "[standin][parser][exec]") {
    // "You do not have to specify the EXECUTE keyword when executing stored procedures when the
    // statement is the first one in a batch" (EXECUTE (Transact-SQL)).
    auto e = one<sq::Exec>("sp_who");
    CHECK(e.procedure == "sp_who");
    auto a = one<sq::Exec>("sp_helpdb 'master'");
    REQUIRE(a.args.size() == 1);
    CHECK(string_literal(*a.args[0].value) == "master");
    SECTION("so a misspelt SELECT is a call of procedure SELEC (SQL Server answers 2812)") {
        auto s = one<sq::Exec>("SELEC 1");
        CHECK(s.procedure == "SELEC");
        REQUIRE(s.args.size() == 1);
        CHECK(int_literal(*s.args[0].value) == 1);
    }
    SECTION("only first: later it is a syntax error") {
        auto err = error_of("SELECT 1; sp_who");
        CHECK(err.number == 102);
        CHECK(err.text == "Incorrect syntax near 'sp_who'.");
    }
}

// --- DBCC, data access, permissions, DROP ----------------------------------------------------

TEST_CASE("parser: DBCC", "[standin][parser]") {
    CHECK(one<sq::Dbcc>("DBCC USEROPTIONS").command == "useroptions");
    CHECK(one<sq::Dbcc>("dbcc checkdb('lab') WITH NO_INFOMSGS").command == "checkdb");
}

TEST_CASE("parser: INSERT, UPDATE, DELETE, MERGE and TRUNCATE read or write an object",
          "[standin][parser][data]") {
    struct Case {
        const char* sql;
        const char* verb;
        const char* object;
    };
    auto c =
        GENERATE(Case{"INSERT INTO t VALUES (1)", "insert", "t"},
                 Case{"insert dbo.t (a, b) select 1, 2", "insert", "dbo.t"},
                 Case{"UPDATE t SET a = 1 WHERE b = 2", "update", "t"},
                 Case{"UPDATE TOP (5) t SET a = 1", "update", "t"},
                 Case{"DELETE FROM t WHERE a = 1", "delete", "t"}, Case{"DELETE t", "delete", "t"},
                 Case{"MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;", "merge", "t"},
                 Case{"TRUNCATE TABLE [dbo].[t]", "truncate", "dbo.t"},
                 Case{"INSERT BULK t (a int)", "insert bulk", "t"});
    auto d = one<sq::DataAccess>(c.sql);
    CHECK(d.verb == c.verb);
    CHECK(d.object == c.object);
}

TEST_CASE("parser: CREATE, ALTER and friends are not permitted", "[standin][parser]") {
    CHECK(one<sq::NotPermitted>("CREATE TABLE t (a int)").what == "CREATE TABLE");
    CHECK(one<sq::NotPermitted>("create procedure p as select 1").what == "CREATE PROCEDURE");
    CHECK(one<sq::NotPermitted>("ALTER PROC p AS SELECT 1").what == "ALTER PROCEDURE");
    CHECK(one<sq::NotPermitted>("ALTER DATABASE lab SET RECOVERY FULL").what == "ALTER DATABASE");
    CHECK(one<sq::NotPermitted>("GRANT SELECT ON t TO public").what == "GRANT SELECT");
}

TEST_CASE("parser: DROP [IF EXISTS]", "[standin][parser]") {
    auto d = one<sq::Drop>("DROP TABLE customers");
    CHECK(d.kind == "table");
    CHECK(d.object == "customers");
    CHECK_FALSE(d.if_exists);
    auto e = one<sq::Drop>("DROP PROC IF EXISTS dbo.p");
    CHECK(e.kind == "procedure");
    CHECK(e.object == "dbo.p");
    CHECK(e.if_exists);
}

// --- batches ---------------------------------------------------------------------------------

TEST_CASE("parser: statements with and without ';', keywords in any case",
          "[standin][parser][batch]") {
    const char* batches[] = {
        "SELECT 1; SET NOCOUNT ON; PRINT 'x'; DECLARE @a int; USE master;",
        "SELECT 1 SET NOCOUNT ON PRINT 'x' DECLARE @a int USE master",
        "select 1\nset nocount on\nprint 'x'\ndeclare @a int\nuse master",
        "SeLeCt 1;;; sEt NoCoUnT oN\n;PrInT 'x' ; DeClArE @a INT;UsE master",
    };
    for (const char* sql : batches) {
        auto b = parse(sql);
        INFO(sql);
        REQUIRE(b.size() == 5);
        CHECK(is<sq::SelectStmt>(b[0]));
        CHECK(is<sq::SetOption>(b[1]));
        CHECK(is<sq::Print>(b[2]));
        CHECK(is<sq::Declare>(b[3]));
        CHECK(is<sq::Use>(b[4]));
    }
    CHECK(parse("").empty());
    CHECK(parse(" ;; -- nothing\n").empty());
}

TEST_CASE("parser: statements keep their line", "[standin][parser][batch]") {
    auto b = parse("SELECT 1\n\nPRINT 'x'\n/* c\n */ SET NOCOUNT ON");
    REQUIRE(b.size() == 3);
    CHECK(b[0]->line == 1);
    CHECK(b[1]->line == 3);
    CHECK(b[2]->line == 5);
}

TEST_CASE("parser: syntax errors are 102 with the token, 156 near a reserved keyword",
          "[standin][parser][errors]") {
    SECTION("102 names the token") {
        auto e = error_of("SELECT 1 +");
        CHECK(e.number == 102);
        CHECK(e.severity == 15);
        CHECK(e.text == "Incorrect syntax near '+'.");
        CHECK(error_of("SELECT (1").text == "Incorrect syntax near '1'.");
        CHECK(error_of("SELECT 1 2").text == "Incorrect syntax near '2'.");
    }
    SECTION("156 names the keyword") {
        auto e = error_of("SELECT FROM t");
        CHECK(e.number == 156);
        CHECK(e.severity == 15);
        CHECK(e.text == "Incorrect syntax near the keyword 'FROM'.");
        CHECK(error_of("SELECT 1 WHERE").number == 156);
        CHECK(error_of("ELSE SELECT 1").number == 156);
        CHECK(error_of("SELECT 1; END").number == 156);
    }
    SECTION("the error carries the line") {
        CHECK(error_of("SELECT 1\nSELECT\n1 +").line == 3);
    }
    SECTION("a syntax error anywhere fails the whole batch") {
        CHECK(error_of("SELECT 1; SELECT 2; SELECT 3 +").number == 102);
    }
    SECTION("lexical errors come through with 105's follow-up 102") {
        auto e = error_of("SELECT 'abc");
        CHECK(e.number == 105);
        REQUIRE(e.follow_up_102);
        CHECK(*e.follow_up_102 == "Incorrect syntax near 'abc'.");
        auto c = error_of("SELECT 1 /*");
        CHECK(c.number == 113);
        CHECK_FALSE(c.follow_up_102);
    }
}

TEST_CASE("is_reserved_keyword knows T-SQL's reserved words", "[standin][parser]") {
    CHECK(sq::is_reserved_keyword("select"));
    CHECK(sq::is_reserved_keyword("FROM"));
    CHECK(sq::is_reserved_keyword("Tran"));
    CHECK_FALSE(sq::is_reserved_keyword("sp_who"));
    CHECK_FALSE(sq::is_reserved_keyword("nocount"));
}

TEST_CASE("parse_parameter_declarations reads sp_executesql's @params",
          "[standin][parser][params]") {
    auto d = sq::parse_parameter_declarations("@p1 int, @P2 nvarchar(10) OUTPUT, @p3 AS "
                                              "decimal(5,2) = 1.5, @p4 varchar(max) OUT");
    REQUIRE(d);
    REQUIRE(d->size() == 4);
    CHECK((*d)[0].name == "@p1");
    CHECK((*d)[0].type.name == "int");
    CHECK_FALSE((*d)[0].output);
    CHECK((*d)[1].name == "@p2");
    CHECK((*d)[1].type.args == std::vector<std::uint32_t>{10});
    CHECK((*d)[1].output);
    CHECK((*d)[2].type.args == std::vector<std::uint32_t>{5, 2});
    CHECK_FALSE((*d)[2].output);
    CHECK((*d)[3].type.max);
    CHECK((*d)[3].output);

    auto empty = sq::parse_parameter_declarations("");
    REQUIRE(empty);
    CHECK(empty->empty());

    CHECK_FALSE(sq::parse_parameter_declarations("p1 int"));
    CHECK_FALSE(sq::parse_parameter_declarations("@p1 int @p2 int"));
    CHECK_FALSE(sq::parse_parameter_declarations("@p1 nvarchar(10"));
}

TEST_CASE("parser: nesting past 100 levels is SQL Server's 191, not a stack overflow",
          "[standin][parser][hostile]") {
    auto repeat = [](std::string_view s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            out += s;
        }
        return out;
    };
    for (const auto& sql : {"SELECT " + repeat("(", 20000) + "1" + repeat(")", 20000),
                            "SELECT " + repeat("ABS(", 20000) + "1" + repeat(")", 20000),
                            "SELECT 1 WHERE " + repeat("NOT ", 20000) + "1 = 1",
                            "SELECT " + repeat("- ", 20000) + "1",
                            repeat("BEGIN ", 20000) + "SELECT 1 " + repeat("END ", 20000)}) {
        INFO(sql.substr(0, 40));
        auto r = sq::parse_batch(sql);
        REQUIRE_FALSE(r);
        CHECK(r.error().number == 191);
        CHECK(r.error().severity == 15);
        CHECK(r.error().text ==
              "Some part of your SQL statement is nested too deeply. Rewrite the query or break "
              "it up into smaller queries.");
    }
    // A subquery's parentheses are skipped, not descended: deep ones parse (and do not crash).
    CHECK(sq::parse_batch("SELECT " + repeat("(SELECT ", 5000) + "1" + repeat(")", 5000)));
    // 90 levels are fine.
    CHECK(sq::parse_batch("SELECT " + repeat("(", 90) + "1" + repeat(")", 90)));
}
