#include <string>

#include <catch2/catch.hpp>

#include <standin/sqlserver/procedures.h>

#include "standin_test_util.h"

namespace sq = standin::sqlserver;
namespace ds = tds::done_status;
using standin_test::Response;
using standin_test::text;

namespace {

tds::TypedValue nvarchar(const std::string& s) {
    return tds::TypedValue{tds::nvarchar_type(4000), tds::Value{s}};
}
tds::TypedValue integer(std::optional<std::int64_t> n) {
    return tds::TypedValue{tds::int_type(), n ? tds::Value{*n} : tds::Value{}};
}

sq::ProcedureArg arg(const std::string& name, tds::TypedValue v, bool output = false) {
    return sq::ProcedureArg{name, std::move(v), output, false};
}

// Proc runs procedures against one session and walks what each call wrote.
struct Proc {
    sq::ServerIdentity server = standin_test::test_server();
    sq::SessionState session;
    sq::ProcedureResult last;

    Proc() {
        session.login = "lab";
        session.spid = 53;
    }

    Response call(const std::string& name, const std::vector<sq::ProcedureArg>& args) {
        tds::TokenWriter w(session.level);
        sq::ProcedureEnv env{server, session, w, standin_test::fixed_now()};
        last = sq::call_procedure(name, args, env);
        auto bytes = w.take();
        auto r = standin_test::walk(bytes, session.level);
        REQUIRE_FALSE(r.walk_error);
        return r;
    }
};

} // namespace

TEST_CASE("procedures: sp_executesql runs its statement with the parameters",
          "[standin][procedures]") {
    Proc p;
    auto r = p.call("sp_executesql", {arg("", nvarchar("SELECT @p1 + 1 AS answer")),
                                      arg("", nvarchar("@p1 int")), arg("@p1", integer(41))});
    CHECK(r.shape() == "COLMETADATA ROW DONEINPROC");
    CHECK(p.last.found);
    CHECK_FALSE(p.last.aborted);
    CHECK(p.last.status == 0);
    CHECK(p.last.outputs.empty());
    CHECK(text(r.value()) == "42");
    CHECK(r.result_sets()[0]->columns[0].name == "answer");
    // Inside a procedure every statement's DONEINPROC has DONE_MORE: DONEPROC follows.
    CHECK(r.dones()[0].status == (ds::kMore | ds::kCount));
    CHECK(r.dones()[0].type == tds::token::kDoneInProc);

    SECTION("by name, as SqlClient names them") {
        auto n = p.call("sp_executesql", {arg("@stmt", nvarchar("SELECT @a * @b")),
                                          arg("@params", nvarchar("@a int, @b int")),
                                          arg("@b", integer(6)), arg("@a", integer(7))});
        CHECK(text(n.value()) == "42");
    }
    SECTION("by position") {
        auto n = p.call("sp_executesql",
                        {arg("", nvarchar("SELECT @a - @b")), arg("", nvarchar("@a int, @b int")),
                         arg("", integer(50)), arg("", integer(8))});
        CHECK(text(n.value()) == "42");
    }
    SECTION("without parameters") {
        auto n = p.call("sp_executesql", {arg("", nvarchar("SELECT 42; SELECT 43"))});
        CHECK(n.shape() == "COLMETADATA ROW DONEINPROC COLMETADATA ROW DONEINPROC");
        for (const auto& d : n.dones()) {
            CHECK((d.status & ds::kMore) != 0);
        }
    }
    SECTION("a parameter is converted to its declared type") {
        auto n = p.call("sp_executesql",
                        {arg("", nvarchar("SELECT @s")), arg("", nvarchar("@s varchar(2)")),
                         arg("@s", nvarchar("abc"))});
        CHECK(text(n.value()) == "ab");
        CHECK(n.result_sets()[0]->columns[0].type == "varchar(2)");
    }
}

TEST_CASE("procedures: sp_executesql output parameters", "[standin][procedures]") {
    Proc p;
    auto r = p.call("sp_executesql",
                    {arg("", nvarchar("SET @out = @in * 2")),
                     arg("", nvarchar("@in int, @out int OUTPUT")), arg("@in", integer(21)),
                     arg("@out", integer(std::nullopt), true)});
    CHECK(r.shape() == "DONEINPROC");
    REQUIRE(p.last.outputs.size() == 1);
    CHECK(p.last.outputs[0].name == "@out");
    CHECK(p.last.outputs[0].ordinal == 3); // its position in the call's parameter list
    CHECK(text(p.last.outputs[0].value) == "42");
    SECTION("a declared OUTPUT parameter the caller did not pass as OUTPUT returns nothing") {
        p.call("sp_executesql",
               {arg("", nvarchar("SET @out = 1")), arg("", nvarchar("@out int OUTPUT")),
                arg("@out", integer(std::nullopt), false)});
        CHECK(p.last.outputs.empty());
    }
}

TEST_CASE("procedures: sp_executesql errors", "[standin][procedures][errors]") {
    Proc p;
    SECTION("201: no @stmt") {
        auto r = p.call("sp_executesql", {});
        CHECK(r.shape() == "ERROR(201)");
        CHECK(p.last.aborted);
    }
    SECTION("8178: a declared parameter without a value") {
        // Msg 8178, Level 16: The parameterized query '(@p1 int)SELECT @p1' expects the
        // parameter '@p1', which was not supplied.
        auto r = p.call("sp_executesql",
                        {arg("", nvarchar("SELECT @p1")), arg("", nvarchar("@p1 int"))});
        CHECK(r.shape() == "ERROR(8178)");
        CHECK(r.errors()[0].text == "The parameterized query '(@p1 int)SELECT @p1' expects the "
                                    "parameter '@p1', which was not supplied.");
        CHECK(p.last.aborted);
    }
    SECTION("a statement that does not compile") {
        auto r = p.call("sp_executesql", {arg("", nvarchar("SELECT 1 +"))});
        CHECK(r.shape() == "ERROR(102) DONEINPROC");
        CHECK(p.last.aborted);
    }
    SECTION("a batch-level error inside ends the body") {
        auto r = p.call("sp_executesql", {arg("", nvarchar("SELECT * FROM t; SELECT 2"))});
        CHECK(r.shape() == "ERROR(208) DONEINPROC");
        CHECK(p.last.aborted);
    }
    SECTION("a statement-level error inside does not") {
        auto r = p.call("sp_executesql", {arg("", nvarchar("SELECT 1/0; SELECT 2"))});
        CHECK(r.shape() == "ERROR(8134) DONEINPROC COLMETADATA ROW DONEINPROC");
        CHECK_FALSE(p.last.aborted);
    }
}

TEST_CASE("procedures: sp_prepare, sp_execute, sp_prepexec, sp_unprepare",
          "[standin][procedures][prepared]") {
    Proc p;
    auto prep = p.call("sp_prepare", {arg("@handle", integer(std::nullopt), true),
                                      arg("@params", nvarchar("@x int")),
                                      arg("@stmt", nvarchar("SELECT @x + 1"))});
    CHECK(prep.shape().empty()); // preparing runs nothing
    REQUIRE(p.last.outputs.size() == 1);
    CHECK(p.last.outputs[0].ordinal == 0);
    const auto handle = std::get<std::int64_t>(p.last.outputs[0].value.value);
    CHECK(p.session.prepared.contains(static_cast<std::int32_t>(handle)));

    auto ex = p.call("sp_execute", {arg("", integer(handle)), arg("@x", integer(41))});
    CHECK(text(ex.value()) == "42");
    auto again = p.call("sp_execute", {arg("", integer(handle)), arg("", integer(1))});
    CHECK(text(again.value()) == "2");

    auto pe = p.call("sp_prepexec",
                     {arg("@handle", integer(std::nullopt), true), arg("", nvarchar("@y int")),
                      arg("", nvarchar("SELECT @y")), arg("", integer(7))});
    CHECK(text(pe.value()) == "7");
    REQUIRE_FALSE(p.last.outputs.empty());
    const auto handle2 = std::get<std::int64_t>(p.last.outputs[0].value.value);
    CHECK(handle2 != handle);

    auto un = p.call("sp_unprepare", {arg("", integer(handle))});
    CHECK(un.shape().empty());
    CHECK_FALSE(p.last.aborted);
    CHECK_FALSE(p.session.prepared.contains(static_cast<std::int32_t>(handle)));

    SECTION("8179: a handle that is not (or no longer) prepared") {
        // Msg 8179, Level 16: Could not find prepared statement with handle 1.
        auto gone = p.call("sp_execute", {arg("", integer(handle)), arg("", integer(1))});
        CHECK(gone.shape() == "ERROR(8179)");
        CHECK(gone.errors()[0].text ==
              "Could not find prepared statement with handle " + std::to_string(handle) + ".");
        CHECK(p.last.aborted);
        CHECK(p.call("sp_unprepare", {arg("", integer(999))}).shape() == "ERROR(8179)");
    }
}

TEST_CASE("procedures: an unknown procedure is not found", "[standin][procedures]") {
    Proc p;
    auto r = p.call("sp_nosuch", {});
    CHECK(r.shape().empty());
    CHECK_FALSE(p.last.found);
    p.call("SP_EXECUTESQL", {arg("", nvarchar("SELECT 1"))}); // names: case-insensitive
    CHECK(p.last.found);
}

TEST_CASE("procedures: reset_session and sp_reset_connection", "[standin][procedures][reset]") {
    Proc p;
    p.session.login_database = "lab";
    p.session.database = "tempdb";
    p.session.language = "Deutsch";
    p.session.options |= sq::option_bit::kNoCount | sq::option_bit::kXactAbort;
    p.session.text_size = 10;
    p.session.prepared[1] = sq::PreparedStatement{"", "SELECT 1"};
    {
        tds::TokenWriter w(p.session.level);
        CHECK_FALSE(sq::begin_transaction(p.session, w, ""));
    }

    SECTION("RESETCONNECTION: back to the login state, the transaction rolled back") {
        tds::TokenWriter w(p.session.level);
        sq::reset_session(p.session, w, false);
        auto bytes = w.take();
        auto r = standin_test::walk(bytes);
        CHECK(r.shape() == "ENVCHANGE(10)");
        CHECK(p.session.tran_count == 0);
        CHECK(p.session.database == "lab");
        CHECK(p.session.language == "us_english");
        CHECK(p.session.options == sq::option_bit::kLoginDefaults);
        CHECK(p.session.text_size == 2147483647);
        CHECK(p.session.prepared.empty());
    }
    SECTION("RESETCONNECTIONSKIPTRAN keeps the transaction") {
        tds::TokenWriter w(p.session.level);
        sq::reset_session(p.session, w, true);
        CHECK(w.take().empty());
        CHECK(p.session.tran_count == 1);
        CHECK(p.session.options == sq::option_bit::kLoginDefaults);
    }
    SECTION("sp_reset_connection does the same") {
        p.call("sp_reset_connection", {});
        CHECK(p.last.reset_connection);
        CHECK(p.session.tran_count == 0);
        CHECK(p.session.database == "lab");
    }
}

TEST_CASE("procedures: write_procedure_end", "[standin][procedures]") {
    sq::ProcedureResult r;
    r.status = 0;
    r.outputs.push_back(
        sq::OutputValue{3, "@out", tds::TypedValue{tds::int_type(), tds::Value{std::int64_t{42}}}});
    SECTION("the last call of a request: RETURNSTATUS, RETURNVALUE, DONEPROC(FINAL)") {
        tds::TokenWriter w;
        sq::write_procedure_end(w, r, true);
        auto bytes = w.take();
        auto resp = standin_test::walk(bytes);
        CHECK(resp.shape() == "RETURNSTATUS RETURNVALUE DONEPROC");
        const auto* rv = resp.all(tds::token::kReturnValue)[0];
        CHECK(rv->ordinal == 3);
        CHECK(rv->param_name == "@out");
        CHECK(rv->param_status == 0x01); // an output parameter (MS-TDS 2.2.7.19)
        CHECK(rv->param_type == "int");
        CHECK(text(rv->value) == "42");
        CHECK(resp.dones()[0].status == ds::kFinal);
    }
    SECTION("an earlier call: DONEPROC with DONE_MORE and DONE_RPCINBATCH") {
        tds::TokenWriter w;
        sq::write_procedure_end(w, r, false);
        auto bytes = w.take();
        auto resp = standin_test::walk(bytes);
        CHECK(resp.dones()[0].status == (ds::kMore | ds::kRpcInBatch));
    }
    SECTION("an aborted call: no RETURNSTATUS, DONEPROC(ERROR)") {
        r.aborted = true;
        tds::TokenWriter w;
        sq::write_procedure_end(w, r, true);
        auto bytes = w.take();
        auto resp = standin_test::walk(bytes);
        CHECK(resp.shape() == "DONEPROC");
        CHECK(resp.dones()[0].status == ds::kError);
    }
}
