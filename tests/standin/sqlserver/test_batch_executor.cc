#include <string>

#include <catch2/catch.hpp>

#include <standin/sqlserver/batch_executor.h>

#include "standin_test_util.h"

namespace sq = standin::sqlserver;
namespace ds = tds::done_status;
using standin_test::Response;
using standin_test::run_batch;
using standin_test::text;

namespace {

sq::SessionState new_session(tds::Level level = tds::Level::V74) {
    sq::SessionState s;
    s.login = "lab";
    s.spid = 53;
    s.level = level;
    return s;
}

// value_of runs `SELECT <expr>` in the session and returns the one value as text.
std::string value_of(sq::SessionState& s, const std::string& expr) {
    auto r = run_batch(s, "SELECT " + expr);
    INFO("SELECT " << expr << " -> " << r.shape());
    return text(r.value());
}

std::vector<std::uint16_t> statuses(const Response& r) {
    std::vector<std::uint16_t> v;
    for (const auto& d : r.dones()) {
        v.push_back(d.status);
    }
    return v;
}

bool any_inxact(const Response& r) {
    for (const auto& d : r.dones()) {
        if ((d.status & ds::kInXact) != 0) {
            return true;
        }
    }
    return false;
}

std::uint64_t le64(const std::vector<std::uint8_t>& b) {
    REQUIRE(b.size() == 8);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    }
    return v;
}

} // namespace

// --- DONE tokens -----------------------------------------------------------------------------

TEST_CASE("executor: one DONE per statement, DONE_MORE on all but the last",
          "[standin][executor][done]") {
    auto s = new_session();
    auto r = run_batch(s, "SELECT 1; SELECT 'a', 2; SET ANSI_NULLS ON; PRINT 'x'");
    CHECK(r.shape() == "COLMETADATA ROW DONE COLMETADATA ROW DONE DONE INFO(0) DONE");
    CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kMore | ds::kCount, ds::kMore | ds::kCount,
                                                    ds::kMore, ds::kFinal});
    auto d = r.dones();
    CHECK(d[0].cur_cmd == tds::cur_cmd::kSelect); // 0xC1, as SQL Server reports SELECT
    CHECK(d[0].row_count == 1);
    CHECK(d[1].row_count == 1);
    for (const auto& done : d) {
        CHECK(done.type == tds::token::kDone);
    }
    SECTION("PRINT is an INFO with number 0 and class 0") {
        auto info = r.infos();
        REQUIRE(info.size() == 1);
        CHECK(info[0].number == 0);
        CHECK(info[0].severity == 0);
        CHECK(info[0].text == "x");
        CHECK(info[0].line == 1);
    }
}

TEST_CASE("executor: SELECT's DONE counts its rows, not under SET NOCOUNT ON",
          "[standin][executor][done]") {
    auto s = new_session();
    auto counted = run_batch(s, "SELECT 1");
    REQUIRE(counted.dones().size() == 1);
    CHECK(counted.dones()[0].status == ds::kCount);
    CHECK(counted.dones()[0].row_count == 1);

    auto none = run_batch(s, "SELECT 1 WHERE 1 = 0");
    CHECK(none.shape() == "COLMETADATA DONE");
    CHECK(none.dones()[0].status == ds::kCount);
    CHECK(none.dones()[0].row_count == 0);

    auto r = run_batch(s, "SET NOCOUNT ON; SELECT 1; SELECT 2");
    CHECK(r.shape() == "DONE COLMETADATA ROW DONE COLMETADATA ROW DONE");
    CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kMore, ds::kMore, ds::kFinal});
    // NOCOUNT lasts for the session
    auto later = run_batch(s, "SELECT 3");
    CHECK(later.dones()[0].status == ds::kFinal);
    auto back = run_batch(s, "SET NOCOUNT OFF; SELECT 4");
    CHECK(statuses(back) == std::vector<std::uint16_t>{ds::kMore, ds::kCount});
}

TEST_CASE("executor: DECLARE gets no DONE; an empty or DECLARE-only batch gets one final DONE",
          "[standin][executor][done]") {
    auto s = new_session();
    CHECK(run_batch(s, "DECLARE @a int; SELECT 1").shape() == "COLMETADATA ROW DONE");
    for (const char* sql : {"", "  ", ";", "-- nothing\n", "DECLARE @a int = 5",
                            "DECLARE @a int; DECLARE @b nvarchar(10) = N'x'"}) {
        auto r = run_batch(s, sql);
        INFO("batch: '" << sql << "'");
        CHECK(r.shape() == "DONE");
        CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kFinal});
    }
    SECTION("a DECLARE in the middle keeps the DONE_MORE chain") {
        auto r = run_batch(s, "SELECT 1; DECLARE @a int; SELECT 2");
        CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kMore | ds::kCount, ds::kCount});
    }
}

// --- transactions ----------------------------------------------------------------------------

TEST_CASE("executor: BEGIN and COMMIT count @@TRANCOUNT; ENVCHANGE 8/9 at the outermost only",
          "[standin][executor][tran]") {
    auto s = new_session();
    auto r = run_batch(s, "BEGIN TRAN; SELECT @@TRANCOUNT; BEGIN TRAN; SELECT @@TRANCOUNT; "
                          "COMMIT; SELECT @@TRANCOUNT; COMMIT; SELECT @@TRANCOUNT");
    CHECK(r.shape() == "ENVCHANGE(8) DONE COLMETADATA ROW DONE DONE COLMETADATA ROW DONE DONE "
                       "COLMETADATA ROW DONE ENVCHANGE(9) DONE COLMETADATA ROW DONE");
    auto rows = r.rows();
    REQUIRE(rows.size() == 4);
    CHECK(text(rows[0][0]) == "1");
    CHECK(text(rows[1][0]) == "2");
    CHECK(text(rows[2][0]) == "1");
    CHECK(text(rows[3][0]) == "0");
    // MS-TDS 2.2.7.9: BEGIN carries the new descriptor (old empty), COMMIT the old one.
    auto begin = r.env_changes(tds::env_type::kBeginTransaction);
    auto commit = r.env_changes(tds::env_type::kCommitTransaction);
    REQUIRE(begin.size() == 1);
    REQUIRE(commit.size() == 1);
    CHECK(begin[0]->env_old.empty());
    CHECK(commit[0]->env_new.empty());
    CHECK(le64(begin[0]->env_new) == le64(commit[0]->env_old));
    CHECK(le64(begin[0]->env_new) != 0);
    // SQL Server never sets DONE_INXACT (MS-TDS appendix A, notes 46-49).
    CHECK_FALSE(any_inxact(r));
    CHECK(s.tran_count == 0);
    CHECK(s.transaction == 0);
}

TEST_CASE("executor: each transaction gets a new descriptor", "[standin][executor][tran]") {
    auto s = new_session();
    auto a = run_batch(s, "BEGIN TRAN; COMMIT");
    auto b = run_batch(s, "BEGIN TRAN; COMMIT");
    REQUIRE(a.env_changes(8).size() == 1);
    REQUIRE(b.env_changes(8).size() == 1);
    CHECK(le64(a.env_changes(8)[0]->env_new) != le64(b.env_changes(8)[0]->env_new));
}

TEST_CASE("executor: a transaction spans batches; DONE_INXACT stays clear",
          "[standin][executor][tran]") {
    auto s = new_session();
    auto b1 = run_batch(s, "BEGIN TRANSACTION");
    CHECK(b1.shape() == "ENVCHANGE(8) DONE");
    CHECK(s.tran_count == 1);
    auto b2 = run_batch(s, "SELECT 1; SELECT @@TRANCOUNT");
    CHECK_FALSE(any_inxact(b2));
    CHECK(text(b2.rows()[1][0]) == "1");
    auto b3 = run_batch(s, "IF @@TRANCOUNT > 0 COMMIT");
    CHECK(b3.shape() == "ENVCHANGE(9) DONE");
    CHECK(b3.dones().back().status == ds::kFinal);
    CHECK(s.tran_count == 0);
    SECTION("IF @@TRANCOUNT > 0 COMMIT with no transaction does nothing") {
        auto b4 = run_batch(s, "IF @@TRANCOUNT > 0 COMMIT");
        CHECK(b4.errors().empty());
        CHECK(b4.env_changes(9).empty());
        CHECK(b4.dones().back().status == ds::kFinal);
    }
}

TEST_CASE("executor: ROLLBACK ends every level; ENVCHANGE 10", "[standin][executor][tran]") {
    auto s = new_session();
    auto r = run_batch(s, "BEGIN TRAN; BEGIN TRAN; BEGIN TRAN; ROLLBACK; SELECT @@TRANCOUNT");
    CHECK(r.shape() == "ENVCHANGE(8) DONE DONE DONE ENVCHANGE(10) DONE COLMETADATA ROW DONE");
    auto begin = r.env_changes(8);
    auto rollback = r.env_changes(tds::env_type::kRollbackTransaction);
    REQUIRE(rollback.size() == 1);
    CHECK(rollback[0]->env_new.empty());
    CHECK(le64(rollback[0]->env_old) == le64(begin[0]->env_new));
    CHECK(text(r.rows()[0][0]) == "0");
    CHECK_FALSE(any_inxact(r));
    SECTION("a named transaction rolls back by its name") {
        auto n = run_batch(s, "BEGIN TRAN t1; ROLLBACK TRAN t1; SELECT @@TRANCOUNT");
        CHECK(n.shape() == "ENVCHANGE(8) DONE ENVCHANGE(10) DONE COLMETADATA ROW DONE");
        CHECK(text(n.rows()[0][0]) == "0");
    }
}

TEST_CASE("executor: SAVE TRANSACTION and rolling back to a savepoint",
          "[standin][executor][tran]") {
    auto s = new_session();
    auto r = run_batch(s, "BEGIN TRAN; SAVE TRAN sp1; ROLLBACK TRAN sp1; SELECT @@TRANCOUNT; "
                          "COMMIT");
    // Rolling back to a savepoint keeps the transaction: no ENVCHANGE 10, @@TRANCOUNT stays 1.
    CHECK(r.shape() == "ENVCHANGE(8) DONE DONE DONE COLMETADATA ROW DONE ENVCHANGE(9) DONE");
    CHECK(text(r.rows()[0][0]) == "1");
    CHECK(r.errors().empty());
    CHECK(s.tran_count == 0);
}

TEST_CASE("executor: transaction errors 3902, 3903, 628 and 6401 are statement-level",
          "[standin][executor][tran][errors]") {
    auto s = new_session();
    struct Case {
        const char* sql;
        std::uint32_t number;
        std::uint8_t state;
        const char* text;
    };
    // SQL Server's messages (sys.messages), class 16 each.
    auto c =
        GENERATE(Case{"COMMIT", 3902, 1,
                      "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."},
                 Case{"ROLLBACK", 3903, 1,
                      "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."},
                 Case{"SAVE TRAN sp1", 628, 0,
                      "Cannot issue SAVE TRANSACTION when there is no active transaction."});
    auto r = run_batch(s, std::string(c.sql) + "; SELECT 1");
    INFO(c.sql);
    CHECK(r.shape() == "ERROR(" + std::to_string(c.number) + ") DONE COLMETADATA ROW DONE");
    auto e = r.errors();
    REQUIRE(e.size() == 1);
    CHECK(e[0].severity == 16);
    CHECK(e[0].state == c.state);
    CHECK(e[0].text == c.text);
    CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kError | ds::kMore, ds::kCount});
    CHECK(r.env_changes(9).empty());
    CHECK(r.env_changes(10).empty());

    SECTION("6401: rolling back to an unknown savepoint keeps the transaction") {
        auto u = run_batch(s, "BEGIN TRAN; ROLLBACK TRAN nosuch; SELECT @@TRANCOUNT");
        CHECK(u.shape() == "ENVCHANGE(8) DONE ERROR(6401) DONE COLMETADATA ROW DONE");
        CHECK(u.errors()[0].text ==
              "Cannot roll back nosuch. No transaction or savepoint of that name was found.");
        CHECK(text(u.rows()[0][0]) == "1");
        run_batch(s, "ROLLBACK");
        CHECK(s.tran_count == 0);
    }
}

TEST_CASE("executor: no transaction ENVCHANGE before TDS 7.2", "[standin][executor][tran]") {
    // ENVCHANGE types 8-10 are TDS 7.2 additions (MS-TDS 2.2.7.9): a 7.0/7.1 client gets none,
    // while @@TRANCOUNT counts as ever.
    auto level = GENERATE(tds::Level::V70, tds::Level::V71);
    auto s = new_session(level);
    auto r = run_batch(s, "BEGIN TRAN; SELECT @@TRANCOUNT; COMMIT; BEGIN TRAN; ROLLBACK");
    CHECK(r.shape() == "DONE COLMETADATA ROW DONE DONE DONE DONE");
    CHECK(text(r.rows()[0][0]) == "1");
    CHECK_FALSE(any_inxact(r));
    CHECK(s.tran_count == 0);
    SECTION("and 7.2 does get them") {
        auto s72 = new_session(tds::Level::V72);
        CHECK(run_batch(s72, "BEGIN TRAN; COMMIT").shape() ==
              "ENVCHANGE(8) DONE ENVCHANGE(9) DONE");
    }
}

TEST_CASE("executor: the transaction functions, directly", "[standin][executor][tran]") {
    auto s = new_session();
    tds::TokenWriter w(s.level);
    CHECK_FALSE(sq::begin_transaction(s, w, "T"));
    CHECK_FALSE(sq::begin_transaction(s, w, ""));
    CHECK(s.tran_count == 2);
    CHECK_FALSE(sq::save_transaction(s, "sp"));
    CHECK_FALSE(sq::rollback_transaction(s, w, "SP")); // savepoint names: case-insensitive
    CHECK(s.tran_count == 2);
    CHECK_FALSE(sq::commit_transaction(s, w));
    CHECK_FALSE(sq::commit_transaction(s, w));
    CHECK(sq::commit_transaction(s, w)->number == 3902);
    CHECK(sq::rollback_transaction(s, w, "")->number == 3903);
    CHECK(sq::save_transaction(s, "x")->number == 628);
    auto bytes = w.take();
    auto r = standin_test::walk(bytes, s.level);
    CHECK(r.shape() == "ENVCHANGE(8) ENVCHANGE(9)");
}

// --- USE, SET LANGUAGE -----------------------------------------------------------------------

TEST_CASE("executor: USE changes the database: ENVCHANGE 1 and INFO 5701",
          "[standin][executor][use]") {
    auto s = new_session();
    auto r = run_batch(s, "USE lab");
    CHECK(r.shape() == "ENVCHANGE(1) INFO(5701) DONE");
    auto env = r.env_changes(tds::env_type::kDatabase);
    CHECK(env[0]->env_new_text == "lab");
    CHECK(env[0]->env_old_text == "master");
    auto info = r.infos()[0];
    CHECK(info.severity == 0); // SQL Server sends informational messages as class 0
    CHECK(info.text == "Changed database context to 'lab'.");
    CHECK(s.database == "lab");
    CHECK(value_of(s, "DB_NAME()") == "lab");
    SECTION("the name is matched case-insensitively and reported as the database has it") {
        auto m = run_batch(s, "USE [MASTER]");
        CHECK(m.env_changes(1)[0]->env_new_text == "master");
        CHECK(s.database == "master");
    }
    SECTION("911: no such database; the session stays where it was") {
        // Msg 911, Level 16, State 1: Database 'nosuch' does not exist. Make sure that the name
        // is entered correctly.
        auto e = run_batch(s, "USE nosuch");
        CHECK(e.shape() == "ERROR(911) DONE");
        CHECK(e.errors()[0].severity == 16);
        CHECK(e.errors()[0].text ==
              "Database 'nosuch' does not exist. Make sure that the name is entered correctly.");
        CHECK(e.dones()[0].status == ds::kError);
        CHECK(s.database == "lab");
    }
}

TEST_CASE("executor: SET LANGUAGE: ENVCHANGE 2 and INFO 5703", "[standin][executor][set]") {
    auto s = new_session();
    auto r = run_batch(s, "SET LANGUAGE N'Deutsch'");
    CHECK(r.shape() == "ENVCHANGE(2) INFO(5703) DONE");
    auto env = r.env_changes(tds::env_type::kLanguage);
    CHECK(env[0]->env_new_text == "Deutsch");
    CHECK(env[0]->env_old_text == "us_english");
    CHECK(r.infos()[0].severity == 0);
    CHECK(r.infos()[0].text == "Changed language setting to Deutsch.");
    CHECK(value_of(s, "@@LANGUAGE") == "Deutsch");
    SECTION("a language is reported by its name in sys.syslanguages") {
        // SET LANGUAGE takes a name or an alias from sys.syslanguages and reports the name: the
        // example in "SET LANGUAGE (Transact-SQL)" runs SET LANGUAGE Italian and gets "Changed
        // language setting to Italiano."
        auto w = run_batch(s, "SET LANGUAGE US_ENGLISH");
        REQUIRE(w.env_changes(2).size() == 1);
        CHECK(w.env_changes(2)[0]->env_new_text == "us_english");
        auto d = run_batch(s, "SET LANGUAGE Italian");
        REQUIRE(d.env_changes(2).size() == 1);
        CHECK(d.env_changes(2)[0]->env_new_text == "Italiano");
        CHECK(d.infos()[0].text == "Changed language setting to Italiano.");
    }
}

// --- error scopes ----------------------------------------------------------------------------

TEST_CASE("executor: a batch-level error (208) ends the batch after ERROR and DONE(ERROR)",
          "[standin][executor][errors]") {
    auto s = new_session();
    auto r = run_batch(s, "SELECT 1; SELECT * FROM nosuch; SELECT 2");
    CHECK(r.shape() == "COLMETADATA ROW DONE ERROR(208) DONE");
    auto e = r.errors()[0];
    CHECK(e.severity == 16);
    CHECK(e.state == 1);
    CHECK(e.text == "Invalid object name 'nosuch'.");
    CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kMore | ds::kCount, ds::kError});
    SECTION("data modification statements end it the same way") {
        for (const char* sql :
             {"INSERT INTO t VALUES (1); SELECT 2", "UPDATE t SET a = 1; SELECT 2",
              "DELETE FROM t; SELECT 2", "TRUNCATE TABLE t; SELECT 2"}) {
            auto d = run_batch(s, sql);
            INFO(sql);
            CHECK(d.shape() == "ERROR(208) DONE");
            CHECK(d.errors()[0].text == "Invalid object name 't'.");
        }
    }
}

TEST_CASE("executor: statement-level errors (3902, 2812) let the batch go on",
          "[standin][executor][errors]") {
    auto s = new_session();
    auto r = run_batch(s, "COMMIT; EXEC nosuchproc; SELECT 1");
    CHECK(r.shape() == "ERROR(3902) DONE ERROR(2812) DONE COLMETADATA ROW DONE");
    auto e = r.errors();
    // Msg 2812, Level 16, State 62: Could not find stored procedure 'nosuchproc'.
    CHECK(e[1].severity == 16);
    CHECK(e[1].state == 62);
    CHECK(e[1].text == "Could not find stored procedure 'nosuchproc'.");
    CHECK(statuses(r) ==
          std::vector<std::uint16_t>{ds::kError | ds::kMore, ds::kError | ds::kMore, ds::kCount});
    SECTION("SELEC 1 is a call of procedure SELEC") {
        auto m = run_batch(s, "SELEC 1");
        CHECK(m.shape() == "ERROR(2812) DONE");
        CHECK(m.errors()[0].text == "Could not find stored procedure 'SELEC'.");
    }
    SECTION("1/0 and RAISERROR(16) are statement-level too") {
        auto d = run_batch(s, "SELECT 1/0; RAISERROR('boom', 16, 3); SELECT 2");
        CHECK(d.shape() == "ERROR(8134) DONE ERROR(50000) DONE COLMETADATA ROW DONE");
        auto de = d.errors();
        CHECK(de[1].severity == 16);
        CHECK(de[1].state == 3);
        CHECK(de[1].text == "boom");
    }
}

TEST_CASE("executor: a batch that does not compile runs nothing", "[standin][executor][errors]") {
    auto s = new_session();
    auto r = run_batch(s, "BEGIN TRAN; SELECT 1; SELECT 2 +");
    CHECK(r.shape() == "ERROR(102) DONE");
    CHECK(r.errors()[0].severity == 15);
    CHECK(r.dones()[0].status == ds::kError);
    CHECK(s.tran_count == 0);
    SECTION("105 is followed by 102, as SQL Server sends them") {
        auto q = run_batch(s, "SELECT 'abc");
        CHECK(q.shape() == "ERROR(105) ERROR(102) DONE");
        CHECK(q.errors()[1].text == "Incorrect syntax near 'abc'.");
        CHECK(q.dones()[0].status == ds::kError);
    }
    SECTION("an undeclared variable is a compile error: nothing before it runs") {
        // SQL Server binds variables when it compiles the batch: PRINT 'before' never runs and
        // the only answer is Msg 137 ("Batches": a compile error stops every statement).
        auto v = run_batch(s, "PRINT 'before'; SELECT @nope");
        CHECK(v.shape() == "ERROR(137) DONE");
    }
}

TEST_CASE("executor: permission and DROP errors", "[standin][executor][errors]") {
    auto s = new_session();
    // Msg 262, Level 14: CREATE TABLE permission denied in database 'master'.
    auto c = run_batch(s, "CREATE TABLE t (a int); SELECT 1");
    CHECK(c.shape() == "ERROR(262) DONE COLMETADATA ROW DONE");
    CHECK(c.errors()[0].severity == 14);
    CHECK(c.errors()[0].text == "CREATE TABLE permission denied in database 'master'.");
    // Msg 3701, Level 11: Cannot drop the table 't', because it does not exist or you do not
    // have permission.
    auto d = run_batch(s, "DROP TABLE t");
    CHECK(d.shape() == "ERROR(3701) DONE");
    CHECK(d.errors()[0].severity == 11);
    CHECK(d.errors()[0].text ==
          "Cannot drop the table 't', because it does not exist or you do not have permission.");
    CHECK(run_batch(s, "DROP TABLE IF EXISTS t").shape() == "DONE");
}

// --- variables, IF, @@ERROR, @@ROWCOUNT ------------------------------------------------------

TEST_CASE("executor: DECLARE, SET and SELECT @v", "[standin][executor][variables]") {
    auto s = new_session();
    CHECK(text(run_batch(s, "DECLARE @a int = 5; SET @a += 2; SELECT @a").value()) == "7");
    CHECK(text(run_batch(s, "DECLARE @a int; SELECT @a").value()) == "NULL");
    CHECK(text(run_batch(s, "DECLARE @s varchar(3) = 'abcdef'; SELECT @s").value()) == "abc");
    // "char and varchar": when n isn't specified in a variable declaration the length is 1.
    CHECK(text(run_batch(s, "DECLARE @v varchar; SET @v = 'xyz'; SELECT @v").value()) == "x");
    SECTION("SELECT @v = ... assigns and counts one row, without a result set") {
        auto r = run_batch(s, "DECLARE @a int; SELECT @a = 3; SELECT @a");
        CHECK(r.shape() == "DONE COLMETADATA ROW DONE");
        CHECK(r.dones()[0].status == (ds::kMore | ds::kCount));
        CHECK(r.dones()[0].row_count == 1);
        CHECK(text(r.rows()[0][0]) == "3");
    }
    SECTION("variables live for one batch") {
        run_batch(s, "DECLARE @gone int = 1");
        CHECK(run_batch(s, "SELECT @gone").errors()[0].number == 137);
    }
    SECTION("134: declared twice") {
        CHECK(run_batch(s, "DECLARE @a int; DECLARE @a int").errors()[0].number == 134);
    }
    SECTION("SET of an undeclared variable is 137") {
        CHECK(run_batch(s, "SET @nope = 1").errors()[0].number == 137);
    }
}

TEST_CASE("executor: IF ... ELSE and BEGIN ... END", "[standin][executor][flow]") {
    auto s = new_session();
    CHECK(text(run_batch(s, "IF 1 = 1 SELECT 'yes' ELSE SELECT 'no'").value()) == "yes");
    CHECK(text(run_batch(s, "IF 1 = 2 SELECT 'yes' ELSE SELECT 'no'").value()) == "no");
    CHECK(run_batch(s, "IF 1 = 2 SELECT 'yes'").shape() == "DONE");
    auto b = run_batch(s, "IF 1 = 1 BEGIN SELECT 1; SELECT 2 END");
    CHECK(b.shape() == "COLMETADATA ROW DONE COLMETADATA ROW DONE");
    CHECK(statuses(b) == std::vector<std::uint16_t>{ds::kMore | ds::kCount, ds::kCount});
    CHECK(text(run_batch(s, "IF NULL = NULL SELECT 'yes' ELSE SELECT 'no'").value()) == "no");
    // NOT UNKNOWN is UNKNOWN ("NOT (Transact-SQL)"): the ELSE branch runs.
    CHECK(text(run_batch(s, "IF NOT (NULL = 1) SELECT 'yes' ELSE SELECT 'no'").value()) == "no");
}

TEST_CASE("executor: @@ERROR and @@ROWCOUNT describe the previous statement",
          "[standin][executor][variables]") {
    auto s = new_session();
    CHECK(text(run_batch(s, "SELECT 1/0; SELECT @@ERROR").rows()[0][0]) == "8134");
    CHECK(text(run_batch(s, "SELECT 1; SELECT @@ROWCOUNT").rows()[1][0]) == "1");
    CHECK(text(run_batch(s, "SELECT 1 WHERE 1 = 0; SELECT @@ROWCOUNT").rows()[0][0]) == "0");
    SECTION("every statement resets @@ERROR") {
        // "@@ERROR: Returns 0 if the previous Transact-SQL statement encountered no errors."
        CHECK(text(run_batch(s, "SELECT 1/0; SET NOCOUNT OFF; SELECT @@ERROR").rows()[0][0]) ==
              "0");
        CHECK(text(run_batch(s, "SELECT 1/0; PRINT 'x'; SELECT @@ERROR").rows()[0][0]) == "0");
    }
    SECTION("statements that return no rows reset @@ROWCOUNT") {
        // "@@ROWCOUNT: Statements such as USE, SET <option>, DEALLOCATE CURSOR, CLOSE CURSOR,
        // PRINT, RAISERROR, BEGIN TRANSACTION, or COMMIT TRANSACTION reset the ROWCOUNT value
        // to 0" and "statements that make a simple assignment always set the @@ROWCOUNT value
        // to 1".
        CHECK(text(run_batch(s, "SELECT 1; PRINT 'x'; SELECT @@ROWCOUNT").rows()[1][0]) == "0");
        CHECK(text(run_batch(s, "SELECT 1; SET NOCOUNT OFF; SELECT @@ROWCOUNT").rows()[1][0]) ==
              "0");
        CHECK(text(run_batch(s, "SELECT 1 WHERE 1 = 0; DECLARE @a int; SET @a = 5; "
                                "SELECT @@ROWCOUNT")
                       .value()) == "1");
    }
}

// --- SET options -----------------------------------------------------------------------------

TEST_CASE("executor: @@OPTIONS after SET options", "[standin][executor][set]") {
    // @@OPTIONS bits ("@@OPTIONS (Transact-SQL)"): IMPLICIT_TRANSACTIONS 2,
    // CURSOR_CLOSE_ON_COMMIT 4, ANSI_WARNINGS 8, ANSI_PADDING 16, ANSI_NULLS 32, ARITHABORT 64,
    // ARITHIGNORE 128, QUOTED_IDENTIFIER 256, NOCOUNT 512, ANSI_NULL_DFLT_ON 1024,
    // ANSI_NULL_DFLT_OFF 2048, CONCAT_NULL_YIELDS_NULL 4096, NUMERIC_ROUNDABORT 8192,
    // XACT_ABORT 16384. After an ODBC-style login: 5432.
    struct Case {
        const char* set;
        std::int64_t options;
    };
    auto c = GENERATE(Case{"SET NOCOUNT OFF", 5432}, Case{"SET NOCOUNT ON", 5432 + 512},
                      Case{"SET XACT_ABORT ON", 5432 + 16384},
                      Case{"SET ANSI_NULLS OFF", 5432 - 32}, Case{"SET ARITHABORT ON", 5432 + 64},
                      Case{"SET IMPLICIT_TRANSACTIONS ON", 5432 + 2},
                      Case{"SET QUOTED_IDENTIFIER, ANSI_PADDING OFF", 5432 - 256 - 16},
                      Case{"SET ANSI_NULL_DFLT_OFF ON", 5432 - 1024 + 2048},
                      Case{"SET ANSI_DEFAULTS ON", 5432 + 2 + 4},
                      Case{"SET NUMERIC_ROUNDABORT ON; SET ARITHIGNORE ON", 5432 + 8192 + 128},
                      Case{"SET CONCAT_NULL_YIELDS_NULL OFF", 5432 - 4096});
    auto s = new_session();
    run_batch(s, c.set);
    INFO(c.set);
    CHECK(value_of(s, "@@OPTIONS") == std::to_string(c.options));
}

TEST_CASE("executor: other SET options", "[standin][executor][set]") {
    auto s = new_session();
    CHECK(
        run_batch(s, "SET TEXTSIZE 1000; SET DATEFIRST 1; SET LOCK_TIMEOUT 500").errors().empty());
    CHECK(value_of(s, "@@TEXTSIZE") == "1000");
    CHECK(value_of(s, "@@DATEFIRST") == "1");
    CHECK(value_of(s, "@@LOCK_TIMEOUT") == "500");
    run_batch(s, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
    CHECK(s.isolation == "serializable");
    CHECK(run_batch(s, "SET STATISTICS IO ON; SET DATEFORMAT ymd").shape() == "DONE DONE");
    CHECK(s.date_format == "ymd");
}

TEST_CASE("executor: SET FMTONLY ON returns metadata only", "[standin][executor][set]") {
    auto s = new_session();
    auto r = run_batch(s, "SET FMTONLY ON; SELECT 1 AS a, N'x' AS b; SET FMTONLY OFF; SELECT 2");
    auto sets = r.result_sets();
    REQUIRE(sets.size() == 2);
    REQUIRE(sets[0]->columns.size() == 2);
    CHECK(sets[0]->columns[0].name == "a");
    CHECK(sets[0]->columns[0].type == "int");
    CHECK(sets[0]->columns[1].type == "nvarchar(1)");
    auto rows = r.rows();
    REQUIRE(rows.size() == 1); // only SELECT 2 has a row
    CHECK(text(rows[0][0]) == "2");
}

TEST_CASE("executor: SET NOEXEC ON compiles without running", "[standin][executor][set]") {
    auto s = new_session();
    auto r = run_batch(s, "SET NOEXEC ON; SELECT 1; BEGIN TRAN; SET NOEXEC OFF; SELECT 2");
    auto rows = r.rows();
    REQUIRE(rows.size() == 1);
    CHECK(text(rows[0][0]) == "2");
    CHECK(s.tran_count == 0);
    CHECK(r.env_changes(8).empty());
    CHECK(r.dones().back().status == ds::kCount);
}

// --- EXEC ------------------------------------------------------------------------------------

TEST_CASE("executor: EXEC tlslab_bulk_rows, the stand-in's bulk rowset, and its bounds",
          "[standin][executor][exec][bulk]") {
    auto s = new_session();
    auto r = run_batch(s, "EXEC tlslab_bulk_rows @rows = 3, @width = 5");
    CHECK(r.shape() == "COLMETADATA ROW ROW ROW DONEINPROC RETURNSTATUS DONEPROC DONE");
    auto rows = r.rows();
    REQUIRE(rows.size() == 3);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CHECK(text(rows[i][0]) == std::to_string(i + 1));
        CHECK(text(rows[i][1]) == "xxxxx");
    }
    auto d = r.dones();
    CHECK(d[0].status == (ds::kMore | ds::kCount));
    CHECK(d[0].row_count == 3);
    CHECK(r.all(tds::token::kReturnStatus)[0]->return_status == 0);
    SECTION("positional, and the defaults: 1000 rows of 100 bytes") {
        CHECK(run_batch(s, "EXEC tlslab_bulk_rows 2, 8000").rows().size() == 2);
        auto dflt = run_batch(s, "EXEC tlslab_bulk_rows");
        REQUIRE(dflt.rows().size() == 1000);
        CHECK(text(dflt.rows()[999][1]).size() == 100);
        CHECK(run_batch(s, "EXEC tlslab_bulk_rows 0").rows().empty());
    }
    SECTION("out of bounds: error 50000, no rowset, the session goes on") {
        for (const char* sql :
             {"EXEC tlslab_bulk_rows -1", "EXEC tlslab_bulk_rows 10, 0",
              "EXEC tlslab_bulk_rows 10, 8001", "EXEC tlslab_bulk_rows 10000000, 8000",
              "EXEC tlslab_bulk_rows 10000001, 1", "EXEC tlslab_bulk_rows 'many'"}) {
            auto bad = run_batch(s, sql);
            INFO(sql);
            REQUIRE(bad.errors().size() == 1);
            CHECK(bad.errors()[0].number == 50000);
            CHECK(bad.rows().empty());
        }
        CHECK(text(run_batch(s, "SELECT 7").rows()[0][0]) == "7");
    }
}

TEST_CASE("executor: EXEC sp_executesql in a batch", "[standin][executor][exec]") {
    auto s = new_session();
    auto r = run_batch(s, "EXEC sp_executesql N'SELECT @p * 2', N'@p int', @p = 21");
    CHECK(r.shape() == "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC DONE");
    CHECK(text(r.rows()[0][0]) == "42");
    auto d = r.dones();
    CHECK(d[0].status == (ds::kMore | ds::kCount));
    CHECK(d[0].row_count == 1);
    CHECK(r.all(tds::token::kReturnStatus)[0]->return_status == 0);
    CHECK(d.back().status == ds::kFinal);
    SECTION("EXEC @rc = ... stores the return status") {
        auto rc = run_batch(s, "DECLARE @rc int = 99; EXEC @rc = sp_executesql N'SELECT 1'; "
                               "SELECT @rc");
        CHECK(text(rc.rows().back()[0]) == "0");
    }
    SECTION("output parameters come back into the caller's variables") {
        // sp_executesql: "OUTPUT: Indicates that the parameter is an output parameter"; the
        // value set inside is the caller's variable's value afterwards.
        auto o = run_batch(s, "DECLARE @o int; EXEC sp_executesql N'SET @x = 5', "
                              "N'@x int OUTPUT', @x = @o OUTPUT; SELECT @o");
        CHECK(text(o.rows().back()[0]) == "5");
    }
}
