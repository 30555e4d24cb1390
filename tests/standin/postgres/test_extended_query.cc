// The extended query protocol, checked against what a PostgreSQL 16.4 server sent for the same
// message sequences.

#include <catch2/catch.hpp>

#include "pg_test_client.h"

using namespace pgtest;

namespace {

Client logged_in() {
    Client c;
    REQUIRE(c.login().back() == "Z I");
    return c;
}

pg::Message parse(const std::string& name, const std::string& sql,
                  std::vector<std::uint32_t> types = {}) {
    return pg::parse(pg::Parse{name, sql, std::move(types)});
}

pg::Message bind(const std::string& portal, const std::string& statement,
                 std::vector<std::optional<Bytes>> params = {},
                 std::vector<std::int16_t> parameter_formats = {},
                 std::vector<std::int16_t> result_formats = {}) {
    pg::Bind b;
    b.portal = portal;
    b.statement = statement;
    b.parameter_formats = std::move(parameter_formats);
    b.parameters = std::move(params);
    b.result_formats = std::move(result_formats);
    return pg::bind(b);
}

std::optional<Bytes> text(const std::string& s) {
    return to_bytes(s);
}

} // namespace

TEST_CASE("Parse and Describe: parameter types are resolved as PostgreSQL resolves them") {
    auto c = logged_in();
    REQUIRE(c.extended({parse("", "SELECT $1"), pg::describe('S', ""), pg::sync()}) ==
            Lines{"1", "t 25", "T ?column?:25:-1:-1:0", "Z I"});
    REQUIRE(
        c.extended(
            {parse("", "SELECT $1::int, $2::text, $3"), pg::describe('S', ""), pg::sync()}) ==
        Lines{"1", "t 23 25 25", "T int4:23:4:-1:0, text:25:-1:-1:0, ?column?:25:-1:-1:0", "Z I"});
    REQUIRE(c.extended({parse("", "SELECT $1::int + 1"), pg::describe('S', ""),
                        bind("", "", {text("41")}), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "t 23", "T ?column?:23:4:-1:0", "2", "D 42", "C SELECT 1", "Z I"});
    REQUIRE(c.extended({parse("", "SELECT $2", {0}), pg::describe('S', ""), pg::sync()}) ==
            Lines{"E ERROR 42P18 could not determine data type of parameter $1", "Z I"});
    REQUIRE(c.extended({parse("", "SHOW DateStyle"), pg::describe('S', ""), bind("", ""),
                        pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "t", "T DateStyle:25:-1:-1:0", "2", "D ISO, MDY", "C SHOW", "Z I"});
}

TEST_CASE("named statements, typed parameters, binary parameters and results") {
    auto c = logged_in();
    REQUIRE(c.extended({parse("s1", "SELECT $1, $2", {23, 20}), pg::describe('S', "s1"),
                        bind("", "s1", {text("5"), text("6")}), pg::describe('P', ""),
                        pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "t 23 20", "T ?column?:23:4:-1:0, ?column?:20:8:-1:0", "2",
                  "T ?column?:23:4:-1:0, ?column?:20:8:-1:0", "D 5|6", "C SELECT 1", "Z I"});
    REQUIRE(
        c.extended({bind("p", "s1", {Bytes{0, 0, 0, 7}, Bytes{0, 0, 0, 0, 0, 0, 0, 8}}, {1}, {1}),
                    pg::describe('P', "p"), pg::execute("p", 0), pg::sync()}) ==
        Lines{"2", "T ?column?:23:4:-1:1, ?column?:20:8:-1:1", "D x'00000007'|x'0000000000000008'",
              "C SELECT 1", "Z I"});
    REQUIRE(c.extended({bind("p", "s1", {text("7"), text("8")}, {0}, {1, 0}), pg::execute("p", 0),
                        pg::sync()}) == Lines{"2", "D x'00000007'|8", "C SELECT 1", "Z I"});
    REQUIRE(c.extended({bind("p", "s1", {std::nullopt, text("8")}), pg::execute("p", 0),
                        pg::sync()}) == Lines{"2", "D NULL|8", "C SELECT 1", "Z I"});
}

TEST_CASE("binary results of the types pgx and asyncpg ask for") {
    auto c = logged_in();
    auto l = c.extended({parse("", "SELECT true, 1.5::float4, 2.5::float8, 12345.678::numeric, "
                                   "'hi'::text, 'v'::varchar, 1::int2, 5::oid, -0.0001::numeric, "
                                   "0::numeric, 'NaN'::numeric"),
                         bind("", "", {}, {}, {1}), pg::execute("", 0), pg::sync()});
    REQUIRE(l == Lines{"1", "2",
                       "D x'01'|x'3fc00000'|x'4004000000000000'|x'0003000100000003000109291a7c'|hi|"
                       "v|x'0001'|x'00000005'|x'0001ffff400000040001'|x'0000000000000000'|"
                       "x'00000000c0000000'",
                       "C SELECT 1", "Z I"});
}

TEST_CASE("Bind errors are PostgreSQL's") {
    auto c = logged_in();
    c.extended({parse("s1", "SELECT $1, $2", {23, 20}), pg::sync()});
    REQUIRE(
        c.extended({bind("p", "s1", {text("7"), text("8")}, {0}, {1, 0, 1}), pg::execute("p", 0),
                    pg::sync()}) ==
        Lines{"E ERROR 08P01 bind message has 3 result formats but query has 2 columns", "Z I"});
    REQUIRE(c.extended({bind("p", "s1", {text("7")}), pg::execute("p", 0), pg::sync()}) ==
            Lines{"E ERROR 08P01 bind message supplies 1 parameters, but prepared statement \"s1\" "
                  "requires 2",
                  "Z I"});
    REQUIRE(c.extended({bind("p", "s1", {Bytes{0, 0, 0}, Bytes(8, 0)}, {1}), pg::execute("p", 0),
                        pg::sync()}) ==
            Lines{"E ERROR 08P01 insufficient data left in message W=portal \"p\" parameter $1",
                  "Z I"});
    REQUIRE(c.extended({bind("p", "s1", {Bytes(5, 0), Bytes(8, 0)}, {1}), pg::execute("p", 0),
                        pg::sync()}) ==
            Lines{"E ERROR 22P03 incorrect binary data format in bind parameter 1 W=portal \"p\" "
                  "parameter $1",
                  "Z I"});
    REQUIRE(
        c.extended({bind("p", "s1", {text("x"), text("8")}), pg::execute("p", 0), pg::sync()}) ==
        Lines{"E ERROR 22P02 invalid input syntax for type integer: \"x\" W=portal \"p\" "
              "parameter $1 = '...'",
              "Z I"});
    REQUIRE(c.extended({bind("", "nosuch"), pg::execute("", 0), pg::sync()}) ==
            Lines{"E ERROR 26000 prepared statement \"nosuch\" does not exist", "Z I"});
    REQUIRE(c.extended({pg::execute("nosuch", 0), pg::sync()}) ==
            Lines{"E ERROR 34000 portal \"nosuch\" does not exist", "Z I"});
    REQUIRE(c.extended({parse("s1", "SELECT 1"), pg::sync()}) ==
            Lines{"E ERROR 42P05 prepared statement \"s1\" already exists", "Z I"});
    REQUIRE(c.extended({pg::close('S', "s1"), pg::close('S', "s1"), pg::close('P', "zz"),
                        pg::sync()}) == Lines{"3", "3", "3", "Z I"});
    REQUIRE(
        c.extended({parse("", "SELECT 1; SELECT 2"), pg::sync()}) ==
        Lines{"E ERROR 42601 cannot insert multiple commands into a prepared statement", "Z I"});
}

TEST_CASE("after an error everything up to Sync is ignored") {
    auto c = logged_in();
    REQUIRE(c.extended({parse("", "SELEC 1"), bind("", ""), pg::execute("", 0),
                        pg::query("select 1"), pg::sync()}) ==
            Lines{"E ERROR 42601 syntax error at or near \"SELEC\" P=1", "Z I"});
    REQUIRE(c.extended({parse("", "SELECT 1"), bind("", ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "2", "D 1", "C SELECT 1", "Z I"});
}

TEST_CASE("transactions in the extended protocol") {
    auto c = logged_in();
    REQUIRE(c.extended({parse("", "BEGIN"), bind("", ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "2", "C BEGIN", "Z T"});
    // planning errors come at Bind
    REQUIRE(c.extended({parse("", "SELECT 1/0"), bind("", ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "E ERROR 22012 division by zero", "Z E"});
    REQUIRE(c.extended({parse("", "SELECT 1"), bind("", ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"E ERROR 25P02 current transaction is aborted, commands ignored until end of "
                  "transaction block",
                  "Z E"});
    REQUIRE(c.extended({parse("", "ROLLBACK"), bind("", ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "2", "C ROLLBACK", "Z I"});
    REQUIRE(c.extended({parse("", "SET application_name = 'x'"), bind("", ""),
                        pg::describe('P', ""), pg::execute("", 0), pg::sync()}) ==
            Lines{"1", "2", "n", "C SET", "S application_name=x", "Z I"});
    REQUIRE(c.extended({parse("", ""), bind("", ""), pg::describe('P', ""), pg::execute("", 0),
                        pg::sync()}) == Lines{"1", "2", "n", "I", "Z I"});
}

TEST_CASE("max_rows: PortalSuspended, and portals live until the transaction ends") {
    auto c = logged_in();
    REQUIRE(c.extended({parse("g", "VALUES (1), (2), (3), (4), (5)"), bind("gp", "g"),
                        pg::execute("gp", 2), pg::execute("gp", 2), pg::execute("gp", 2),
                        pg::execute("gp", 2), pg::sync()}) ==
            Lines{"1", "2", "D 1", "D 2", "s", "D 3", "D 4", "s", "D 5", "C SELECT 1", "C SELECT 0",
                  "Z I"});
    REQUIRE(c.extended({pg::execute("gp", 0), pg::sync()}) ==
            Lines{"E ERROR 34000 portal \"gp\" does not exist", "Z I"});
    REQUIRE(c.extended({parse("", "BEGIN"), bind("", ""), pg::execute("", 0),
                        parse("v", "VALUES (1),(2),(3)"), bind("cur", "v"), pg::execute("cur", 1),
                        pg::sync()}) == Lines{"1", "2", "C BEGIN", "1", "2", "D 1", "s", "Z T"});
    REQUIRE(c.extended({pg::execute("cur", 1), pg::execute("cur", 5), pg::execute("cur", 5),
                        pg::sync()}) ==
            Lines{"D 2", "s", "D 3", "C SELECT 1", "C SELECT 0", "Z T"});
    // Flush sends what is pending without ending the cycle
    REQUIRE(c.extended({parse("f", "SELECT 1"), pg::flush()}) == Lines{"1"});
    REQUIRE(c.extended({pg::sync()}) == Lines{"Z T"});
}

TEST_CASE("text parameters are checked as UTF-8 before their input function") {
    auto c = logged_in();
    REQUIRE(
        c.extended({parse("", "SELECT $1::text"), bind("", "", {Bytes{0xff, 0xfe}}), pg::sync()}) ==
        Lines{"1",
              "E ERROR 22021 invalid byte sequence for encoding \"UTF8\": 0xff W=unnamed portal "
              "parameter $1",
              "Z I"});
}
