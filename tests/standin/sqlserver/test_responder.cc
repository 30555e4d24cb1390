#include <string>

#include <catch2/catch.hpp>

#include <standin/sqlserver/responder.h>
#include <tds/byte_writer.h>
#include <tds/login7.h>
#include <tds/rpc.h>
#include <tds/token_reader.h>
#include <tds/type_info.h>

#include "standin_test_util.h"

namespace sq = standin::sqlserver;
namespace ds = tds::done_status;
using standin_test::Bytes;
using standin_test::call_id;
using standin_test::call_named;
using standin_test::Client;
using standin_test::int_param;
using standin_test::nvarchar_param;
using standin_test::raw_param;
using standin_test::Response;
using standin_test::text;
using standin_test::tm_name;

namespace {

constexpr std::uint16_t kTmGetDtcAddress = 0;
constexpr std::uint16_t kTmBegin = 5;
constexpr std::uint16_t kTmPromote = 6;
constexpr std::uint16_t kTmCommit = 7;
constexpr std::uint16_t kTmRollback = 8;
constexpr std::uint16_t kTmSave = 9;

std::vector<std::uint16_t> statuses(const Response& r) {
    std::vector<std::uint16_t> v;
    for (const auto& d : r.dones()) {
        v.push_back(d.status);
    }
    return v;
}

std::uint64_t le64(const Bytes& b) {
    REQUIRE(b.size() == 8);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    }
    return v;
}

// logged_in: a Client after a successful TDS 7.4 login.
Client logged_in(std::uint32_t version = tds::tds_version::k74) {
    Client c;
    auto r = c.login(standin_test::login7(version));
    REQUIRE(c.responder.logged_in());
    REQUIRE(r.errors().empty());
    return c;
}

Bytes tm_begin_body(std::uint8_t isolation = 0, const std::string& name = "") {
    Bytes b{isolation};
    auto n = tm_name(name);
    b.insert(b.end(), n.begin(), n.end());
    return b;
}

// commit/rollback: name, flags (1 = begin another), then isolation and name of the new one.
Bytes tm_end_body(const std::string& name = "", bool begin_after = false) {
    Bytes b = tm_name(name);
    b.push_back(begin_after ? 1 : 0);
    if (begin_after) {
        b.push_back(0);
        auto n = tm_name("");
        b.insert(b.end(), n.begin(), n.end());
    }
    return b;
}

std::string trancount(Client& c) {
    auto r = c.batch("SELECT @@TRANCOUNT");
    REQUIRE(r.errors().empty());
    return text(r.value());
}

} // namespace

// --- login -----------------------------------------------------------------------------------

TEST_CASE("responder: login at every TDS version", "[standin][responder][login]") {
    struct Case {
        std::uint32_t requested;
        std::uint32_t ack; // LOGINACK's TDSVersion (MS-TDS appendix A, note 69 for 7.0/7.1)
        tds::Level level;
    };
    auto c =
        GENERATE(Case{tds::tds_version::k70, tds::tds_version::kAck70, tds::Level::V70},
                 Case{tds::tds_version::k71Rev0, tds::tds_version::kAck71Rev0, tds::Level::V71},
                 Case{tds::tds_version::k71, tds::tds_version::k71, tds::Level::V71},
                 Case{tds::tds_version::k72, tds::tds_version::k72, tds::Level::V72},
                 Case{tds::tds_version::k73A, tds::tds_version::k73A, tds::Level::V73A},
                 Case{tds::tds_version::k73B, tds::tds_version::k73B, tds::Level::V73B},
                 Case{tds::tds_version::k74, tds::tds_version::k74, tds::Level::V74},
                 Case{tds::tds_version::k80, tds::tds_version::k80, tds::Level::V80});
    INFO("TDS " << tds::tds_version_name(c.requested));
    Client client;
    auto r = client.login(standin_test::login7(c.requested));
    REQUIRE(client.last_reply);
    CHECK_FALSE(client.last_reply->close_after);
    CHECK(client.last_reply->new_packet_size == std::size_t{4096});
    CHECK(client.responder.logged_in());
    CHECK(client.responder.level() == c.level);
    CHECK(client.responder.tds_version() == c.ack);

    // SQL Server's login response: database, 5701, collation (7.1+), language, 5703, packet
    // size, LOGINACK, DONE.
    const std::string collation = c.level == tds::Level::V70 ? "" : "ENVCHANGE(7) ";
    CHECK(r.shape() == "ENVCHANGE(1) INFO(5701) " + collation +
                           "ENVCHANGE(2) INFO(5703) ENVCHANGE(4) LOGINACK DONE");
    const auto* ack = r.all(tds::token::kLoginAck)[0];
    CHECK(ack->login_ack.interface == 1);
    CHECK(ack->login_ack.tds_version == c.ack);
    CHECK(ack->login_ack.prog_name == "Microsoft SQL Server");
    CHECK(ack->login_ack.major == 16);
    CHECK(ack->login_ack.minor == 0);
    CHECK(ack->login_ack.build == 1000);
    CHECK(r.env_changes(1)[0]->env_new_text == "master");
    CHECK(r.env_changes(2)[0]->env_new_text == "us_english");
    CHECK(r.env_changes(4)[0]->env_new_text == "4096");
    for (const auto& info : r.infos()) {
        CHECK(info.severity == 0);
    }
    CHECK(r.dones().back().status == ds::kFinal);

    // The codec's own scanner walks the whole response at the session's level, no stop.
    auto scan = tds::scan_tokens(client.last_reply->payload, client.responder.level());
    CHECK_FALSE(scan.stopped);
    REQUIRE(scan.login_ack);
    CHECK(scan.login_ack->tds_version == c.ack);
    CHECK(scan.errors.empty());
    CHECK(scan.dones.size() == 1);

    SECTION("and the session answers in that version's layouts") {
        CHECK(client.select_one());
        auto t = client.batch("SELECT SERVERPROPERTY('ProductVersion') AS v, SYSDATETIME() AS d, "
                              "CAST(1 AS bigint) AS b, @@SPID AS s, N'x' AS n");
        REQUIRE(t.errors().empty());
        auto cols = t.result_sets()[0]->columns;
        REQUIRE(cols.size() == 5);
        // Down-level clients get what their generation knows ("Using date and time data with
        // down-level clients": datetime2(7) as nvarchar(27) before 7.3; sql_variant is a 7.2
        // type; bigint arrived with SQL Server 2000).
        const bool v72 = tds::is_72_plus(c.level);
        CHECK(cols[0].type == (v72 ? "sql_variant" : "nvarchar(4000)"));
        CHECK(cols[1].type == (tds::has_new_date_types(c.level) ? "datetime2(7)" : "nvarchar(27)"));
        CHECK(cols[2].type == (c.level == tds::Level::V70 ? "numeric(19,0)" : "bigint"));
        CHECK(cols[3].type == "smallint");
        CHECK(text(t.rows()[0][0]) == "16.0.1000.6");
        CHECK(text(t.rows()[0][1]).starts_with("2024-02-29 13:45:30.123"));
        CHECK(text(t.rows()[0][3]) == "53");
    }
}

TEST_CASE("responder: SERVERPROPERTY values carry their documented base types",
          "[standin][responder][builtins]") {
    // "SERVERPROPERTY (Transact-SQL)" gives each property's base data type inside the
    // sql_variant: EditionID bigint, EngineEdition int, SqlCharSet tinyint, ProductVersion
    // nvarchar(128). A sql_variant value on the wire is its length, then the base type token
    // (MS-TDS 2.2.5.5.4).
    auto c = logged_in();
    auto r = c.batch("SELECT SERVERPROPERTY('EditionID'), SERVERPROPERTY('EngineEdition'), "
                     "SERVERPROPERTY('SqlCharSet'), SERVERPROPERTY('ProductVersion')");
    REQUIRE(r.errors().empty());
    const auto* row = r.all(tds::token::kRow)[0];
    REQUIRE(row->raw_values.size() == 4);
    auto base_type = [&](std::size_t i) {
        REQUIRE(row->raw_values[i].size() > 5);
        return static_cast<int>(row->raw_values[i][4]);
    };
    CHECK(base_type(0) == int{tds::type_token::kInt8});
    CHECK(base_type(1) == int{tds::type_token::kInt4});
    CHECK(base_type(2) == int{tds::type_token::kInt1});
    CHECK(base_type(3) == int{tds::type_token::kNVarChar});
    CHECK(text(row->row[0]) == "-2117995310");
}

TEST_CASE("responder: login into a named database", "[standin][responder][login]") {
    Client c;
    auto r = c.login(standin_test::login7(tds::tds_version::k74, "lab", "lab-password", "LAB"));
    REQUIRE(c.responder.logged_in());
    CHECK(r.env_changes(1)[0]->env_new_text == "lab");
    CHECK(r.infos()[0].text == "Changed database context to 'lab'.");
    CHECK(text(c.batch("SELECT DB_NAME()").value()) == "lab");
    CHECK(text(c.batch("SELECT SUSER_SNAME(), HOST_NAME(), APP_NAME()").rows()[0][2]) ==
          "standin-tests");
}

TEST_CASE("responder: a wrong password or user is 18456 and the connection closes",
          "[standin][responder][login]") {
    auto l = GENERATE(standin_test::login7(tds::tds_version::k74, "lab", "wrong"),
                      standin_test::login7(tds::tds_version::k74, "sa", "lab-password"));
    Client c;
    auto r = c.login(l);
    REQUIRE(c.last_reply);
    // Msg 18456, Level 14, State 1: Login failed for user '<user>'. (the client sees state 1)
    CHECK(r.shape() == "ERROR(18456) DONE");
    auto e = r.errors()[0];
    CHECK(e.severity == 14);
    CHECK(e.state == 1);
    CHECK(e.text == "Login failed for user '" + l.user_name + "'.");
    CHECK(r.dones()[0].status == ds::kError);
    CHECK(c.last_reply->close_after);
    CHECK_FALSE(c.responder.logged_in());
    CHECK_FALSE(tds::scan_tokens(c.last_reply->payload).stopped);
}

TEST_CASE("responder: an unknown database is 4060 then 18456", "[standin][responder][login]") {
    Client c;
    auto r = c.login(standin_test::login7(tds::tds_version::k74, "lab", "lab-password", "nosuch"));
    CHECK(r.shape() == "ERROR(4060) ERROR(18456) DONE");
    auto e = r.errors();
    // Msg 4060, Level 11: Cannot open database "nosuch" requested by the login. The login failed.
    CHECK(e[0].severity == 11);
    CHECK(e[0].text == "Cannot open database \"nosuch\" requested by the login. The login failed.");
    CHECK(e[1].severity == 14);
    CHECK(c.last_reply->close_after);
    CHECK_FALSE(c.responder.logged_in());
}

TEST_CASE("responder: a version below 7.0 or a pre-7.0 login is refused",
          "[standin][responder][login]") {
    SECTION("LOGIN7 asking for TDS 4.2, 5.0 or 6.x") {
        auto v = GENERATE(0x04020000u, 0x05000000u, 0x06000000u);
        Client c;
        c.login(standin_test::login7(v));
        CHECK(c.last_error); // closed without an answer, as SQL Server 2022 does
        CHECK_FALSE(c.last_reply);
        CHECK_FALSE(c.responder.logged_in());
    }
    SECTION("a TDS 4.x/5.0 login message") {
        Client c;
        c.send(standin_test::message(tds::PacketType::PreTds7Login, Bytes(100, 0)));
        CHECK(c.last_error);
    }
    SECTION("anything but LOGIN7 first") {
        Client c;
        c.send(standin_test::message(tds::PacketType::SqlBatch,
                                     standin_test::sql_batch_payload("SELECT 1")));
        CHECK(c.last_error);
    }
}

// --- SQL batches -----------------------------------------------------------------------------

TEST_CASE("responder: SQL batches", "[standin][responder][batch]") {
    auto c = logged_in();
    auto r = c.batch("SELECT 1 AS one, N'two' AS two; SELECT 3");
    CHECK(r.shape() == "COLMETADATA ROW DONE COLMETADATA ROW DONE");
    CHECK(r.result_sets()[0]->columns[0].name == "one");
    CHECK(r.result_sets()[0]->columns[1].type == "nvarchar(3)");
    CHECK(text(r.rows()[0][1]) == "two");
    CHECK(statuses(r) == std::vector<std::uint16_t>{ds::kMore | ds::kCount, ds::kCount});
    CHECK(tds::scan_tokens(c.last_reply->payload).stopped); // COLMETADATA stops the scanner
    SECTION("a TDS 7.0 session sends no ALL_HEADERS") {
        auto c70 = logged_in(tds::tds_version::k70);
        CHECK(c70.select_one());
        auto t = c70.batch("PRINT 'x'");
        CHECK(t.shape() == "INFO(0) DONE");
    }
    SECTION("the fixed clock is the server's") {
        CHECK(text(c.batch("SELECT GETDATE()").value()) == "2024-02-29 13:45:30.123");
    }
}

TEST_CASE("responder: after every error the next SELECT 1 still answers 1",
          "[standin][responder][errors]") {
    auto c = logged_in();
    const char* batches[] = {"SELECT * FROM nosuch",
                             "SELEC 1",
                             "SELECT 1 +",
                             "SELECT 'abc",
                             "SELECT 1 /* unclosed",
                             "SELECT 1/0",
                             "COMMIT",
                             "ROLLBACK",
                             "USE nosuch",
                             "SET FOO ON",
                             "SELECT @x",
                             "CREATE TABLE t (a int)",
                             "RAISERROR('x', 16, 1)",
                             "SELECT nosuchfn(1)",
                             "DROP TABLE t",
                             "SELECT CAST('a' AS int)"};
    for (const char* sql : batches) {
        auto r = c.batch(sql);
        INFO(sql << " -> " << r.shape());
        CHECK_FALSE(r.errors().empty());
        CHECK((r.dones().back().status & ds::kMore) == 0);
        CHECK(c.select_one());
    }
}

// --- RPC -------------------------------------------------------------------------------------

TEST_CASE("responder: RPC sp_executesql by ProcID with parameters", "[standin][responder][rpc]") {
    auto level = GENERATE(tds::tds_version::k74, tds::tds_version::k72, tds::tds_version::k71,
                          tds::tds_version::k70);
    auto c = logged_in(level);
    INFO("TDS " << tds::tds_version_name(level));
    // ALL_HEADERS (7.2+), 0xFFFF + ProcID 10, option flags, then @stmt and @params as NVARCHAR
    // and @p1 as INTN (MS-TDS 2.2.6.6).
    auto r =
        c.rpc({call_id(tds::proc_id::kExecuteSql,
                       {nvarchar_param("@stmt", "SELECT @p1 + 1", c.level),
                        nvarchar_param("@params", "@p1 int", c.level), int_param("@p1", 41)})});
    CHECK(r.shape() == "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC");
    CHECK(text(r.value()) == "42");
    CHECK(r.all(tds::token::kReturnStatus)[0]->return_status == 0);
    auto d = r.dones();
    CHECK(d[0].status == (ds::kMore | ds::kCount));
    CHECK(d[0].row_count == 1);
    CHECK(d[1].type == tds::token::kDoneProc);
    CHECK(d[1].status == ds::kFinal);
    SECTION("the same call by name, with unnamed parameters") {
        auto n = c.rpc({call_named("sp_executesql",
                                   {nvarchar_param("", "SELECT @p1 * 2", c.level),
                                    nvarchar_param("", "@p1 int", c.level), int_param("", 21)})});
        CHECK(text(n.value()) == "42");
    }
}

TEST_CASE("responder: RPC output parameters come back as RETURNVALUE",
          "[standin][responder][rpc]") {
    auto c = logged_in();
    auto r = c.rpc({call_id(tds::proc_id::kExecuteSql,
                            {nvarchar_param("@stmt", "SET @out = @in * 2"),
                             nvarchar_param("@params", "@in int, @out int OUTPUT"),
                             int_param("@in", 21), int_param("@out", std::nullopt, true)})});
    CHECK(r.shape() == "DONEINPROC RETURNSTATUS RETURNVALUE DONEPROC");
    const auto* rv = r.all(tds::token::kReturnValue)[0];
    CHECK(rv->param_name == "@out");
    CHECK(rv->param_status == 0x01);
    CHECK(rv->param_type == "int");
    CHECK(text(rv->value) == "42");
}

TEST_CASE("responder: prepared statements by RPC", "[standin][responder][rpc][prepared]") {
    auto c = logged_in();
    auto pe = c.rpc(
        {call_id(tds::proc_id::kPrepExec,
                 {int_param("@handle", std::nullopt, true), nvarchar_param("@params", "@p1 int"),
                  nvarchar_param("@stmt", "SELECT @p1 AS v"), int_param("@p1", 5)})});
    CHECK(pe.shape() == "COLMETADATA ROW DONEINPROC RETURNSTATUS RETURNVALUE DONEPROC");
    CHECK(text(pe.value()) == "5");
    const auto* handle_rv = pe.all(tds::token::kReturnValue)[0];
    CHECK(handle_rv->ordinal == 0);
    CHECK(handle_rv->param_name == "@handle");
    const auto handle = standin_test::as_int(handle_rv->value);

    auto ex = c.rpc(
        {call_id(tds::proc_id::kExecute,
                 {int_param("@handle", static_cast<std::int32_t>(handle)), int_param("@p1", 6)})});
    CHECK(ex.shape() == "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC");
    CHECK(text(ex.value()) == "6");

    auto un = c.rpc({call_id(tds::proc_id::kUnprepare,
                             {int_param("@handle", static_cast<std::int32_t>(handle))})});
    CHECK(un.shape() == "RETURNSTATUS DONEPROC");
    CHECK(un.errors().empty());

    // Msg 8179, Level 16: Could not find prepared statement with handle <n>.
    auto gone = c.rpc(
        {call_id(tds::proc_id::kExecute,
                 {int_param("@handle", static_cast<std::int32_t>(handle)), int_param("@p1", 7)})});
    CHECK(gone.shape() == "ERROR(8179) DONEPROC");
    CHECK(gone.errors()[0].severity == 16);
    CHECK(gone.dones()[0].status == ds::kError);
    CHECK(c.select_one());

    SECTION("sp_prepare hands out a handle sp_execute runs") {
        auto p =
            c.rpc({call_id(tds::proc_id::kPrepare, {int_param("@handle", std::nullopt, true),
                                                    nvarchar_param("@params", "@a int"),
                                                    nvarchar_param("@stmt", "SELECT @a + 100")})});
        CHECK(p.shape() == "RETURNSTATUS RETURNVALUE DONEPROC");
        const auto h = standin_test::as_int(p.all(tds::token::kReturnValue)[0]->value);
        auto e = c.rpc({call_id(tds::proc_id::kExecute,
                                {int_param("", static_cast<std::int32_t>(h)), int_param("", 1)})});
        CHECK(text(e.value()) == "101");
    }
    SECTION("RESETCONNECTION drops prepared statements") {
        auto p = c.rpc({call_id(tds::proc_id::kPrepExec, {int_param("@handle", std::nullopt, true),
                                                          nvarchar_param("@params", ""),
                                                          nvarchar_param("@stmt", "SELECT 1")})});
        const auto h = standin_test::as_int(p.all(tds::token::kReturnValue)[0]->value);
        c.batch("SELECT 1", tds::status::kResetConnection);
        auto e = c.rpc({call_id(tds::proc_id::kExecute,
                                {int_param("@handle", static_cast<std::int32_t>(h))})});
        CHECK(e.shape() == "ERROR(8179) DONEPROC");
    }
}

TEST_CASE("responder: batched RPCs: DONE_RPCINBATCH on all but the last",
          "[standin][responder][rpc]") {
    auto c = logged_in();
    auto call = [](const std::string& sql) {
        return call_id(tds::proc_id::kExecuteSql, {nvarchar_param("@stmt", sql)});
    };
    auto r = c.rpc({call("SELECT 1"), call("SELECT 2"), call("SELECT 3")});
    CHECK(r.shape() == "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC "
                       "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC "
                       "COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC");
    std::vector<std::uint16_t> procs;
    for (const auto& d : r.dones()) {
        if (d.type == tds::token::kDoneProc) {
            procs.push_back(d.status);
        }
    }
    // MS-TDS 2.2.7.7: DONE_RPCINBATCH marks the DONEPROC of an RPC in a batch that is not the
    // last one.
    CHECK(procs == std::vector<std::uint16_t>{ds::kMore | ds::kRpcInBatch,
                                              ds::kMore | ds::kRpcInBatch, ds::kFinal});
    SECTION("an unknown procedure among them") {
        auto m = c.rpc({call_named("no_such_proc", {}), call("SELECT 1")});
        CHECK(m.shape() == "ERROR(2812) DONEPROC COLMETADATA ROW DONEINPROC RETURNSTATUS DONEPROC");
        CHECK(m.dones()[0].status == (ds::kError | ds::kMore | ds::kRpcInBatch));
        CHECK(m.dones().back().status == ds::kFinal);
    }
}

TEST_CASE("responder: an unknown procedure by RPC is 2812", "[standin][responder][rpc]") {
    auto c = logged_in();
    auto r = c.rpc({call_named("dbo.no_such_proc", {int_param("@a", 1)})});
    CHECK(r.shape() == "ERROR(2812) DONEPROC");
    CHECK(r.errors()[0].text == "Could not find stored procedure 'dbo.no_such_proc'.");
    CHECK(r.dones()[0].status == ds::kError);
    CHECK(c.select_one());
}

TEST_CASE("responder: a parameter of an unknown type is 8009, and the session goes on",
          "[standin][responder][rpc]") {
    auto c = logged_in();
    // Type token 0x99 is no TDS type.
    auto r =
        c.rpc({call_id(tds::proc_id::kExecuteSql,
                       {nvarchar_param("@stmt", "SELECT @p1"), nvarchar_param("@params", "@p1 int"),
                        raw_param("@p1", Bytes{0x99, 0x04, 0x04, 1, 0, 0, 0})})});
    CHECK(r.shape() == "ERROR(8009) DONEPROC");
    CHECK(r.dones()[0].status == ds::kError);
    // Msg 8009, Level 16: The incoming tabular data stream (TDS) remote procedure call (RPC)
    // protocol stream is incorrect. Parameter %d ("%.*ls"): Data type 0x%02X is unknown.
    // The message names the parameter that could not be read.
    CHECK(r.errors()[0].text ==
          "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is "
          "incorrect. Parameter 3 (\"@p1\"): Data type 0x99 is unknown.");
    CHECK(c.select_one());
}

// --- Transaction Manager requests ------------------------------------------------------------

TEST_CASE("responder: TM_BEGIN_XACT and TM_COMMIT_XACT", "[standin][responder][tm]") {
    auto c = logged_in();
    auto b = c.tm(kTmBegin, tm_begin_body());
    CHECK(b.shape() == "ENVCHANGE(8) DONE");
    const auto descriptor = le64(b.env_changes(8)[0]->env_new);
    CHECK(descriptor != 0);
    CHECK(c.descriptor == descriptor);

    // A later request carrying the descriptor in ALL_HEADERS runs in the transaction.
    CHECK(trancount(c) == "1");

    SECTION("commit") {
        auto k = c.tm(kTmCommit, tm_end_body());
        CHECK(k.shape() == "ENVCHANGE(9) DONE");
        CHECK(le64(k.env_changes(9)[0]->env_old) == descriptor);
        CHECK(k.env_changes(9)[0]->env_new.empty());
        CHECK(trancount(c) == "0");
    }
    SECTION("rollback") {
        auto k = c.tm(kTmRollback, tm_end_body());
        CHECK(k.shape() == "ENVCHANGE(10) DONE");
        CHECK(le64(k.env_changes(10)[0]->env_old) == descriptor);
        CHECK(trancount(c) == "0");
    }
    SECTION("commit, then begin another (fBeginXact)") {
        auto k = c.tm(kTmCommit, tm_end_body("", true));
        CHECK(k.shape() == "ENVCHANGE(9) ENVCHANGE(8) DONE");
        const auto next = le64(k.env_changes(8)[0]->env_new);
        CHECK(next != descriptor);
        CHECK(c.descriptor == next);
        CHECK(trancount(c) == "1");
    }
    SECTION("save, then roll back to the savepoint") {
        CHECK(c.tm(kTmSave, tm_name("sp1")).shape() == "DONE");
        auto k = c.tm(kTmRollback, tm_end_body("sp1"));
        CHECK(k.shape() == "DONE");
        CHECK(trancount(c) == "1");
    }
    SECTION("a stale descriptor is 3971") {
        const auto old = c.descriptor;
        c.tm(kTmCommit, tm_end_body());
        c.descriptor = old; // a client that missed the commit
        // Msg 3971, Level 16: The server failed to resume the transaction. Desc:<hex>.
        auto s = c.batch("SELECT 1");
        CHECK(s.shape() == "ERROR(3971) DONE");
        char hex[32];
        std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(old));
        CHECK(s.errors()[0].text ==
              std::string("The server failed to resume the transaction. Desc:") + hex + ".");
        c.descriptor = 0;
        CHECK(c.select_one());
    }
}

TEST_CASE("responder: TM requests and T-SQL share the transaction", "[standin][responder][tm]") {
    auto c = logged_in();
    auto b = c.batch("BEGIN TRAN");
    CHECK(b.shape() == "ENVCHANGE(8) DONE");
    CHECK(c.tm(kTmCommit, tm_end_body()).shape() == "ENVCHANGE(9) DONE");
    CHECK(trancount(c) == "0");
    SECTION("TM_BEGIN_XACT sets the isolation level") {
        c.tm(kTmBegin, tm_begin_body(4)); // serializable
        CHECK(c.responder.session().isolation == "serializable");
        c.batch("COMMIT");
    }
    SECTION("TM_COMMIT_XACT without a transaction is 3902") {
        auto k = c.tm(kTmCommit, tm_end_body());
        CHECK(k.shape() == "ERROR(3902) DONE");
        CHECK(c.select_one());
    }
    SECTION("TM_SAVE_XACT without a transaction is 628") {
        CHECK(c.tm(kTmSave, tm_name("x")).shape() == "ERROR(628) DONE");
    }
    SECTION("TM_PROMOTE_XACT: no MSDTC in the lab (8501)") {
        CHECK(c.tm(kTmPromote, {}).shape() == "ERROR(8501) DONE");
        CHECK(c.select_one());
    }
}

TEST_CASE("responder: TM_GET_DTC_ADDRESS answers one row", "[standin][responder][tm]") {
    auto c = logged_in();
    auto r = c.tm(kTmGetDtcAddress, Bytes{0x00, 0x00});
    CHECK(r.shape() == "COLMETADATA ROW DONE");
    REQUIRE(r.result_sets()[0]->columns.size() == 1);
    CHECK(r.result_sets()[0]->columns[0].type.starts_with("varbinary"));
    CHECK(r.dones()[0].status == ds::kCount);
    CHECK(r.dones()[0].row_count == 1);
}

TEST_CASE("responder: an unknown TM request type ends the session", "[standin][responder][tm]") {
    // MS-TDS 2.2.6.9: "If an unknown Type is specified, the message receiver SHOULD disconnect
    // the connection."
    auto c = logged_in();
    auto type = GENERATE(std::uint16_t{2}, std::uint16_t{3}, std::uint16_t{10}, std::uint16_t{99});
    c.tm(type, {});
    CHECK(c.last_error);
    CHECK_FALSE(c.last_reply);
}

// --- RESETCONNECTION, attention --------------------------------------------------------------

TEST_CASE("responder: RESETCONNECTION resets the session first", "[standin][responder][reset]") {
    auto c = logged_in();
    c.batch("SET NOCOUNT ON; USE lab; BEGIN TRAN");
    REQUIRE(c.responder.session().tran_count == 1);
    REQUIRE(c.responder.session().database == "lab");

    SECTION("0x08 RESETCONNECTION: ENVCHANGE 18 first, the transaction rolled back") {
        auto r = c.batch("SELECT @@TRANCOUNT, @@OPTIONS, DB_NAME()", tds::status::kResetConnection);
        REQUIRE_FALSE(r.tokens.empty());
        CHECK(r.tokens[0].type == tds::token::kEnvChange);
        CHECK(r.tokens[0].env == tds::env_type::kResetConnectionAck);
        REQUIRE(r.errors().empty());
        REQUIRE(r.rows().size() == 1);
        CHECK(text(r.rows()[0][0]) == "0");
        CHECK(text(r.rows()[0][1]) == "5432");
        CHECK(text(r.rows()[0][2]) == "master");
        CHECK(c.responder.session().tran_count == 0);
    }
    SECTION("0x10 RESETCONNECTIONSKIPTRAN: the transaction stays") {
        auto r = c.batch("SELECT @@TRANCOUNT, @@OPTIONS", tds::status::kResetConnectionSkipTran);
        REQUIRE_FALSE(r.tokens.empty());
        CHECK(r.tokens[0].type == tds::token::kEnvChange);
        CHECK(r.tokens[0].env == tds::env_type::kResetConnectionAck);
        CHECK(r.env_changes(10).empty());
        REQUIRE(r.rows().size() == 1);
        CHECK(text(r.rows()[0][0]) == "1");
        CHECK(text(r.rows()[0][1]) == "5432");
        c.batch("ROLLBACK");
    }
    SECTION("on an RPC too") {
        auto r = c.rpc(
            {call_id(tds::proc_id::kExecuteSql, {nvarchar_param("@stmt", "SELECT @@TRANCOUNT")})},
            tds::status::kResetConnection);
        REQUIRE_FALSE(r.tokens.empty());
        CHECK(r.tokens[0].env == tds::env_type::kResetConnectionAck);
        CHECK(text(r.rows()[0][0]) == "0");
    }
}

TEST_CASE("responder: attention is acknowledged with DONE_ATTN", "[standin][responder]") {
    auto c = logged_in();
    auto r = c.send(standin_test::message(tds::PacketType::Attention, {}));
    CHECK(r.shape() == "DONE");
    CHECK(r.dones()[0].status == ds::kAttention);
    CHECK(c.select_one());
}

TEST_CASE("responder: messages it must not answer", "[standin][responder]") {
    auto c = logged_in();
    SECTION("a message with the Ignore bit gets no answer") {
        auto m = standin_test::message(tds::PacketType::SqlBatch,
                                       standin_test::sql_batch_payload("SELECT 1"));
        m.ignored = true;
        c.send(m);
        CHECK_FALSE(c.last_reply);
        CHECK_FALSE(c.last_error);
        CHECK(c.select_one());
    }
    SECTION("bulk load data without INSERT BULK ends the session") {
        c.send(standin_test::message(tds::PacketType::BulkLoad, Bytes{1, 2, 3}));
        CHECK(c.last_error);
    }
    SECTION("a second LOGIN7 ends the session") {
        c.send(standin_test::message(tds::PacketType::Login7,
                                     tds::encode_login7(standin_test::login7())));
        CHECK(c.last_error);
    }
}

TEST_CASE("responder: connect-time batches of clients we do not run", "[standin][responder]") {
    // What other stacks send right after login, as their sources write it: every statement
    // answered, nothing refused, and a DONE each.
    auto c = logged_in();
    SECTION("jTDS (Java, TDS 7.x)") {
        auto r = c.batch("SELECT @@MAX_PRECISION\r\nSET TRANSACTION ISOLATION LEVEL READ "
                         "COMMITTED\r\nSET IMPLICIT_TRANSACTIONS OFF\r\nSET QUOTED_IDENTIFIER "
                         "ON\r\nSET TEXTSIZE 2147483647");
        CHECK(r.errors().empty());
        CHECK(text(r.rows()[0][0]) == "38");
        CHECK(r.dones().size() == 5);
    }
    SECTION("an SSMS-style server probe") {
        auto r = c.batch("SELECT CAST(serverproperty(N'Servername') AS sysname) AS [Name], "
                         "CAST(ISNULL(serverproperty(N'instancename'),N'') AS sysname) AS "
                         "[InstanceName], SERVERPROPERTY('EngineEdition') AS [EngineEdition], "
                         "CAST(SERVERPROPERTY('IsHadrEnabled') AS bit) AS [IsHadrEnabled]; "
                         "select @@microsoftversion, @@spid, user_name(), SCHEMA_NAME()");
        REQUIRE(r.errors().empty());
        auto rows = r.rows();
        REQUIRE(rows.size() == 2);
        CHECK(text(rows[0][0]) == "tlslab");
        CHECK(text(rows[0][1]).empty());
        CHECK(text(rows[0][2]) == "3");
        CHECK(text(rows[0][3]) == "0");
    }
    SECTION("pymssql / FreeTDS defaults") {
        auto r = c.batch("set textsize 64512; set ansi_nulls on; set ansi_warnings on; "
                         "set arithabort on; set concat_null_yields_null on");
        CHECK(r.errors().empty());
        CHECK(c.batch("SELECT @@TEXTSIZE, SESSIONPROPERTY('ARITHABORT')").rows()[0][0].value ==
              tds::Value{std::int64_t{64512}});
    }
    CHECK(c.select_one());
}
