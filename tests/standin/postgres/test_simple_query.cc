// The simple query cycle: results, errors with positions, transactions, settings. The expected
// lines are what a PostgreSQL 16.4 server sent for the same queries.

#include <catch2/catch.hpp>

#include "pg_test_client.h"

using namespace pgtest;

namespace {

Client logged_in() {
    Client c;
    REQUIRE(c.login().back() == "Z I");
    return c;
}

} // namespace

TEST_CASE("SELECT of literals: types and column names as PostgreSQL gives them") {
    auto c = logged_in();
    REQUIRE(c.query("select 1, 'a', 1+1, 1.5, 1e3, -1, 2147483648, 9223372036854775808, true, "
                    "null, 'x'::text, $$dollar$$") ==
            Lines{"T ?column?:23:4:-1:0, ?column?:25:-1:-1:0, ?column?:23:4:-1:0, "
                  "?column?:1700:-1:-1:0, ?column?:1700:-1:-1:0, ?column?:23:4:-1:0, "
                  "?column?:20:8:-1:0, ?column?:1700:-1:-1:0, ?column?:16:1:-1:0, "
                  "?column?:25:-1:-1:0, text:25:-1:-1:0, ?column?:25:-1:-1:0",
                  "D 1|a|2|1.5|1000|-1|2147483648|9223372036854775808|t|NULL|x|dollar",
                  "C SELECT 1", "Z I"});
    REQUIRE(c.query("select 1 as one, 'a' b, 1 \"Quoted\", count(*)") ==
            Lines{"T one:23:4:-1:0, b:25:-1:-1:0, Quoted:23:4:-1:0, count:20:8:-1:0", "D 1|a|1|1",
                  "C SELECT 1", "Z I"});
    REQUIRE(c.query("select '8'::varchar(3), 10::numeric(5,2), 7::oid, 'ab'::name") ==
            Lines{"T varchar:1043:-1:7:0, numeric:1700:-1:327686:0, oid:26:4:-1:0, name:19:64:-1:0",
                  "D 8|10.00|7|ab", "C SELECT 1", "Z I"});
    REQUIRE(c.query("select 7.0 / 2, 1 / 3.0, 2 ^ 10, 'a' || 'b', not true, -(-3), 10::int8 * 3") ==
            Lines{"T ?column?:1700:-1:-1:0, ?column?:1700:-1:-1:0, ?column?:701:8:-1:0, "
                  "?column?:25:-1:-1:0, ?column?:16:1:-1:0, ?column?:23:4:-1:0, ?column?:20:8:-1:0",
                  "D 3.5000000000000000|0.33333333333333333333|1024|ab|f|3|30", "C SELECT 1",
                  "Z I"});
}

TEST_CASE("the functions drivers call on connect") {
    auto c = logged_in();
    REQUIRE(c.query("select version(), current_user, session_user, current_database(), "
                    "current_schema(), current_schema, pg_backend_pid(), pg_is_in_recovery()") ==
            Lines{"T version:25:-1:-1:0, current_user:19:64:-1:0, session_user:19:64:-1:0, "
                  "current_database:19:64:-1:0, current_schema:19:64:-1:0, "
                  "current_schema:19:64:-1:0, pg_backend_pid:23:4:-1:0, "
                  "pg_is_in_recovery:16:1:-1:0",
                  "D PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) "
                  "12.2.0, 64-bit|lab|lab|lab|public|public|4242|f",
                  "C SELECT 1", "Z I"});
    REQUIRE(c.query("select current_setting('server_version_num'), now(), inet_server_addr()") ==
            Lines{"T current_setting:25:-1:-1:0, now:1184:8:-1:0, inet_server_addr:869:-1:-1:0",
                  "D 160004|2024-02-29 13:45:30.123456+00|127.0.0.1", "C SELECT 1", "Z I"});
    // a stable function's error comes after the RowDescription, as in PostgreSQL
    REQUIRE(c.query("select current_setting('nosuch'), 1") ==
            Lines{"T current_setting:25:-1:-1:0, ?column?:23:4:-1:0",
                  "E ERROR 42704 unrecognized configuration parameter \"nosuch\"", "Z I"});
    REQUIRE(c.query("select current_setting('nosuch', true)") ==
            Lines{"T current_setting:25:-1:-1:0", "D NULL", "C SELECT 1", "Z I"});
}

TEST_CASE("catalog relations under an alias: postgres.js's array-type query on connect") {
    auto c = logged_in();
    // postgres.js 3.4 sends this before the application's first query (fetch_types): the
    // aliases name the relations, so b.oid is pg_type's oid (the stand-in has no rows to give).
    REQUIRE(c.query("select b.oid, b.typarray from pg_catalog.pg_type a left join "
                    "pg_catalog.pg_type b on b.oid = a.typelem where a.typcategory = 'A' "
                    "group by b.oid, b.typarray order by b.oid") ==
            Lines{"T oid:26:4:-1:0, typarray:26:4:-1:0", "C SELECT 0", "Z I"});
    // Once aliased, the relation's own name no longer names it, as in PostgreSQL (42P01; its
    // text there is "invalid reference to FROM-clause entry", here "missing ... entry").
    auto lines = c.query("select pg_type.oid from pg_catalog.pg_type t");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].starts_with("E ERROR 42P01 "));
}

TEST_CASE("pg_stat_ssl and pg_stat_activity: this backend's own row, as PostgreSQL shows it") {
    // In clear: ssl false, the rest NULL.
    auto c = logged_in();
    REQUIRE(c.query("select ssl, version, cipher, bits from pg_stat_ssl where pid = "
                    "pg_backend_pid()") ==
            Lines{"T ssl:16:1:-1:0, version:25:-1:-1:0, cipher:25:-1:-1:0, bits:23:4:-1:0",
                  "D f|NULL|NULL|NULL", "C SELECT 1", "Z I"});
    REQUIRE(c.query("select pid from pg_stat_ssl where pid = 1") ==
            Lines{"T pid:23:4:-1:0", "C SELECT 0", "Z I"});
    REQUIRE(c.query("select state, query from pg_stat_activity where pid = pg_backend_pid()") ==
            Lines{"T state:25:-1:-1:0, query:25:-1:-1:0",
                  "D active|select state, query from pg_stat_activity where pid = "
                  "pg_backend_pid()",
                  "C SELECT 1", "Z I"});
    // a column the view does not have is PostgreSQL's 42703, and the session goes on
    auto lines = c.query("select compression from pg_stat_ssl");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].starts_with("E ERROR 42703 column \"compression\" does not exist"));

    // Inside TLS: what the handshake agreed (the values a PostgreSQL 15 server over TLS 1.3
    // shows for the same session).
    auto facts = test_facts();
    facts.tls = true;
    facts.tls_version = "TLSv1.3";
    facts.tls_cipher = "TLS_AES_256_GCM_SHA384";
    facts.tls_bits = 256;
    Client t(test_config(), facts);
    REQUIRE(t.login().back() == "Z I");
    REQUIRE(t.query("select * from pg_stat_ssl") ==
            Lines{"T pid:23:4:-1:0, ssl:16:1:-1:0, version:25:-1:-1:0, cipher:25:-1:-1:0, "
                  "bits:23:4:-1:0, client_dn:25:-1:-1:0, client_serial:1700:-1:-1:0, "
                  "issuer_dn:25:-1:-1:0",
                  "D 4242|t|TLSv1.3|TLS_AES_256_GCM_SHA384|256|NULL|NULL|NULL", "C SELECT 1",
                  "Z I"});
    REQUIRE(t.query("select s.ssl from pg_catalog.pg_stat_ssl s limit 0") ==
            Lines{"T ssl:16:1:-1:0", "C SELECT 0", "Z I"});
}

TEST_CASE("aggregates over no row: one row, count 0 and the others NULL, unless grouped") {
    auto c = logged_in();
    // what drivers and tools send to look for an extension
    REQUIRE(c.query("select count(*) from pg_extension where extname = 'postgis'") ==
            Lines{"T count:20:8:-1:0", "D 0", "C SELECT 1", "Z I"});
    REQUIRE(c.query("select count(*), max(pid), 1 from pg_stat_ssl where false") ==
            Lines{"T count:20:8:-1:0, max:23:4:-1:0, ?column?:23:4:-1:0", "D 0|NULL|1",
                  "C SELECT 1", "Z I"});
    REQUIRE(c.query("select count(*) from pg_stat_ssl where false group by ssl") ==
            Lines{"T count:20:8:-1:0", "C SELECT 0", "Z I"});
    REQUIRE(c.query("select count(*) from pg_type limit 0") ==
            Lines{"T count:20:8:-1:0", "C SELECT 0", "Z I"});
}

TEST_CASE("an expression nested too deeply is PostgreSQL's 54001, and the session goes on") {
    auto c = logged_in();
    auto repeat = [](std::string_view s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            out += s;
        }
        return out;
    };
    for (const auto& q : {"select " + repeat("(", 20000) + "1" + repeat(")", 20000),
                          "select " + repeat("abs(", 20000) + "1" + repeat(")", 20000),
                          "select " + repeat("- ", 20000) + "1",
                          "select " + repeat("(select ", 5000) + "1" + repeat(")", 5000)}) {
        auto lines = c.query(q);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].starts_with("E ERROR 54001 stack depth limit exceeded"));
        CHECK(lines[1] == "Z I");
    }
    CHECK(c.query("select " + repeat("(", 90) + "1" + repeat(")", 90)) ==
          Lines{"T ?column?:23:4:-1:0", "D 1", "C SELECT 1", "Z I"});
}

TEST_CASE("errors are PostgreSQL's, with positions, and the session goes on") {
    auto c = logged_in();
    REQUIRE(c.query("SELECT 1 FROM nosuch") ==
            Lines{"E ERROR 42P01 relation \"nosuch\" does not exist P=15", "Z I"});
    REQUIRE(c.query("SELECT nosuch(1, 'a')") ==
            Lines{"E ERROR 42883 function nosuch(integer, unknown) does not exist H=No function "
                  "matches the given name and argument types. You might need to add explicit "
                  "type casts. P=8",
                  "Z I"});
    REQUIRE(c.query("selec 1") ==
            Lines{"E ERROR 42601 syntax error at or near \"selec\" P=1", "Z I"});
    // a syntax error anywhere means nothing runs
    REQUIRE(c.query("SELECT 1; SELEC 2; SELECT 3") ==
            Lines{"E ERROR 42601 syntax error at or near \"SELEC\" P=11", "Z I"});
    REQUIRE(c.query("SELECT 1,") ==
            Lines{"E ERROR 42601 syntax error at end of input P=10", "Z I"});
    REQUIRE(c.query("SELECT 'abc") ==
            Lines{"E ERROR 42601 unterminated quoted string at or near \"'abc\" P=8", "Z I"});
    REQUIRE(
        c.query("select 1a") ==
        Lines{"E ERROR 42601 trailing junk after numeric literal at or near \"1a\" P=8", "Z I"});
    REQUIRE(c.query("select x") == Lines{"E ERROR 42703 column \"x\" does not exist P=8", "Z I"});
    REQUIRE(c.query("select *") ==
            Lines{"E ERROR 42601 SELECT * with no tables specified is not valid P=8", "Z I"});
    REQUIRE(c.query("select 1/0") == Lines{"E ERROR 22012 division by zero", "Z I"});
    REQUIRE(c.query("select 'abc'::int") ==
            Lines{"E ERROR 22P02 invalid input syntax for type integer: \"abc\" P=8", "Z I"});
    REQUIRE(c.query("select 2147483647 + 1") == Lines{"E ERROR 22003 integer out of range", "Z I"});
    REQUIRE(c.query("select true + 1") ==
            Lines{"E ERROR 42883 operator does not exist: boolean + integer H=No operator matches "
                  "the given name and argument types. You might need to add explicit type casts. "
                  "P=13",
                  "Z I"});
    REQUIRE(c.query("SELECT $1") == Lines{"E ERROR 42P02 there is no parameter $1 P=8", "Z I"});
    REQUIRE(c.query("insert into t values (1)") ==
            Lines{"E ERROR 42P01 relation \"t\" does not exist P=13", "Z I"});
    REQUIRE(c.query("drop table if exists t") ==
            Lines{"N NOTICE 00000 table \"t\" does not exist, skipping", "C DROP TABLE", "Z I"});
    REQUIRE(c.query("select 1") == Lines{"T ?column?:23:4:-1:0", "D 1", "C SELECT 1", "Z I"});
    // the full error carries PostgreSQL 16.4's source location
    auto n = notice_of(c.send(pg::query("selec 1")).bytes).value();
    REQUIRE(n.field('F') == "scan.l");
    REQUIRE(n.field('L') == "1246");
    REQUIRE(n.field('R') == "scanner_yyerror");
}

TEST_CASE("empty queries and several statements") {
    auto c = logged_in();
    REQUIRE(c.query("") == Lines{"I", "Z I"});
    REQUIRE(c.query(" ; ") == Lines{"I", "Z I"});
    REQUIRE(c.query("select 1 as x; ;; select 2") == Lines{"T x:23:4:-1:0", "D 1", "C SELECT 1",
                                                           "T ?column?:23:4:-1:0", "D 2",
                                                           "C SELECT 1", "Z I"});
}

TEST_CASE("transactions: I, T, E and 25P02") {
    auto c = logged_in();
    REQUIRE(c.query("begin; select 1; commit") ==
            Lines{"C BEGIN", "T ?column?:23:4:-1:0", "D 1", "C SELECT 1", "C COMMIT", "Z I"});
    REQUIRE(c.query("BEGIN") == Lines{"C BEGIN", "Z T"});
    REQUIRE(c.query("select 1/0") == Lines{"E ERROR 22012 division by zero", "Z E"});
    REQUIRE(c.query("select 1") ==
            Lines{"E ERROR 25P02 current transaction is aborted, commands ignored until end of "
                  "transaction block",
                  "Z E"});
    REQUIRE(c.query("rollback") == Lines{"C ROLLBACK", "Z I"});
    REQUIRE(c.query("commit") ==
            Lines{"N WARNING 25P01 there is no transaction in progress", "C COMMIT", "Z I"});
    REQUIRE(c.query("savepoint a") ==
            Lines{"E ERROR 25P01 SAVEPOINT can only be used in transaction blocks", "Z I"});
    REQUIRE(c.query("begin; savepoint a; select 1/0") ==
            Lines{"C BEGIN", "C SAVEPOINT", "E ERROR 22012 division by zero", "Z E"});
    REQUIRE(c.query("rollback to a") == Lines{"C ROLLBACK", "Z T"});
    REQUIRE(c.query("release a") == Lines{"C RELEASE", "Z T"});
    REQUIRE(c.query("release nosuch") ==
            Lines{"E ERROR 3B001 savepoint \"nosuch\" does not exist", "Z E"});
    REQUIRE(c.query("end") == Lines{"C ROLLBACK", "Z I"});
    REQUIRE(c.query("start transaction isolation level serializable, read only") ==
            Lines{"C START TRANSACTION", "Z T"});
    REQUIRE(c.query("show transaction isolation level") ==
            Lines{"T transaction_isolation:25:-1:-1:0", "D serializable", "C SHOW", "Z T"});
    REQUIRE(c.query("commit") == Lines{"C COMMIT", "Z I"});
    REQUIRE(c.query("select 1; begin; select 1/0") ==
            Lines{"T ?column?:23:4:-1:0", "D 1", "C SELECT 1", "C BEGIN",
                  "E ERROR 22012 division by zero", "Z E"});
    REQUIRE(c.query("abort") == Lines{"C ROLLBACK", "Z I"});
}

TEST_CASE("SET, SHOW and RESET with ParameterStatus for reported settings") {
    auto c = logged_in();
    REQUIRE(c.query("set extra_float_digits = 3") == Lines{"C SET", "Z I"});
    REQUIRE(c.query("set application_name = 'foo'") ==
            Lines{"C SET", "S application_name=foo", "Z I"});
    REQUIRE(c.query("set application_name to default") ==
            Lines{"C SET", "S application_name=", "Z I"});
    REQUIRE(c.query("SET SESSION DateStyle TO 'German'") ==
            Lines{"C SET", "S DateStyle=German, DMY", "Z I"});
    REQUIRE(
        c.query("set local datestyle = 'ISO'") ==
        Lines{"N WARNING 25P01 SET LOCAL can only be used in transaction blocks", "C SET", "Z I"});
    REQUIRE(c.query("reset datestyle") == Lines{"C RESET", "S DateStyle=ISO, MDY", "Z I"});
    REQUIRE(c.query("set nosuch = 1") ==
            Lines{"E ERROR 42704 unrecognized configuration parameter \"nosuch\"", "Z I"});
    REQUIRE(c.query("set time zone 'UTC'") == Lines{"C SET", "S TimeZone=UTC", "Z I"});
    REQUIRE(c.query("set time zone local") == Lines{"C SET", "S TimeZone=Etc/UTC", "Z I"});
    REQUIRE(c.query("set statement_timeout = '5s'") == Lines{"C SET", "Z I"});
    REQUIRE(c.query("show statement_timeout") ==
            Lines{"T statement_timeout:25:-1:-1:0", "D 5s", "C SHOW", "Z I"});
    REQUIRE(
        c.query("set extra_float_digits = 10") ==
        Lines{"E ERROR 22023 10 is outside the valid range for parameter \"extra_float_digits\" "
              "(-15 .. 3)",
              "Z I"});
    REQUIRE(c.query("set IntervalStyle = bogus") ==
            Lines{"E ERROR 22023 invalid value for parameter \"intervalstyle\": \"bogus\" "
                  "H=Available values: postgres, postgres_verbose, sql_standard, iso_8601.",
                  "Z I"});
    REQUIRE(c.query("set server_version = '1'") ==
            Lines{"E ERROR 55P02 parameter \"server_version\" cannot be changed", "Z I"});
    REQUIRE(c.query("set search_path = a, \"B\", 'c d'") == Lines{"C SET", "Z I"});
    REQUIRE(c.query("show search_path") ==
            Lines{"T search_path:25:-1:-1:0", "D a, \"B\", \"c d\"", "C SHOW", "Z I"});
    REQUIRE(c.query("set transaction isolation level serializable") ==
            Lines{"N WARNING 25P01 SET TRANSACTION can only be used in transaction blocks", "C SET",
                  "Z I"});
    REQUIRE(c.query("set session_authorization = 'lab'") == Lines{"C SET", "Z I"});
    REQUIRE(c.query("set session authorization 'postgres'") ==
            Lines{"E ERROR 42501 permission denied to set session authorization", "Z I"});
    REQUIRE(c.query("set role none") == Lines{"C SET", "Z I"});
    REQUIRE(c.query("set role postgres") ==
            Lines{"E ERROR 42501 permission denied to set role \"postgres\"", "Z I"});
    REQUIRE(c.query("discard all") == Lines{"C DISCARD ALL", "Z I"});
    REQUIRE(c.query("show search_path") ==
            Lines{"T search_path:25:-1:-1:0", "D \"$user\", public", "C SHOW", "Z I"});
    auto all = c.query("show all");
    REQUIRE(all.size() == 1 + 341 + 2);
    REQUIRE(all[1] == "D allow_in_place_tablespaces|off|Allows tablespaces directly inside "
                      "pg_tblspc, for testing.");
}

TEST_CASE("SET is transactional") {
    auto c = logged_in();
    // an error later in the same query string undoes the SET
    REQUIRE(c.query("set application_name = 'x'; select 1/0") ==
            Lines{"C SET", "E ERROR 22012 division by zero", "Z I"});
    REQUIRE(c.query("show application_name") ==
            Lines{"T application_name:25:-1:-1:0", "D ", "C SHOW", "Z I"});
    REQUIRE(c.query("begin; set application_name = 'in tx'; rollback") ==
            Lines{"C BEGIN", "C SET", "C ROLLBACK", "Z I"});
    REQUIRE(c.query("begin; set local application_name = 'local'; show application_name; commit") ==
            Lines{"C BEGIN", "C SET", "T application_name:25:-1:-1:0", "D local", "C SHOW",
                  "C COMMIT", "Z I"});
    REQUIRE(c.query("show application_name") ==
            Lines{"T application_name:25:-1:-1:0", "D ", "C SHOW", "Z I"});
}

TEST_CASE("LISTEN and NOTIFY deliver to the session itself") {
    auto c = logged_in();
    REQUIRE(c.query("listen foo") == Lines{"C LISTEN", "Z I"});
    REQUIRE(c.query("notify foo") == Lines{"C NOTIFY", "A 4242 foo ", "Z I"});
    REQUIRE(c.query("unlisten *") == Lines{"C UNLISTEN", "Z I"});
}

TEST_CASE("Terminate closes") {
    auto c = logged_in();
    auto out = c.send(pg::terminate());
    REQUIRE(out.close);
    REQUIRE(out.bytes.empty());
}
