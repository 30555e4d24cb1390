#include <memory>

#include <catch2/catch.hpp>

#include <mysql/constants.h>
#include <standin/mysql/sql_mode.h>

#include "mysql_test_client.h"

using mysqltest::Client;
using mysqltest::logged_in;
using standin::mysql::Flavour;
using standin::mysql::format_sql_mode;
using standin::mysql::parse_sql_mode;
using standin::mysql::sql_mode_of_number;

namespace {

std::string shown(Flavour f, std::string_view list) {
    auto bits = parse_sql_mode(f, list);
    return bits ? format_sql_mode(f, *bits) : "error: '" + bits.error() + "'";
}

std::string scalar(Client& c, const std::string& sql) {
    c.query(sql);
    if (auto e = c.error()) {
        return "error " + std::to_string(e->code) + ": " + e->message;
    }
    auto r = c.results();
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].rows.size() == 1);
    return r[0].rows[0][0].value_or("NULL");
}

} // namespace

// The expected values were read back from MariaDB 10.11 (Debian) with SET sql_mode = ...;
// SELECT @@sql_mode, and from MySQL 8.0's manual for the combination modes.
TEST_CASE("sql_mode: combination modes expand as each server expands them",
          "[standin][mysql][sql_mode]") {
    CHECK(shown(Flavour::Mysql80, "traditional") ==
          "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
          "ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_ENGINE_SUBSTITUTION");
    CHECK(shown(Flavour::Mariadb114, "TRADITIONAL") ==
          "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
          "ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION");
    CHECK(shown(Flavour::Mysql80, "ANSI") ==
          "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ONLY_FULL_GROUP_BY,ANSI");
    CHECK(shown(Flavour::Mariadb114, "ANSI") ==
          "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI");
    CHECK(shown(Flavour::Mariadb114, "ORACLE") ==
          "PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ORACLE,NO_KEY_OPTIONS,NO_TABLE_OPTIONS,"
          "NO_FIELD_OPTIONS,NO_AUTO_CREATE_USER,SIMULTANEOUS_ASSIGNMENT");
    CHECK(shown(Flavour::Mariadb114, "MAXDB") ==
          "PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,MAXDB,NO_KEY_OPTIONS,NO_TABLE_OPTIONS,"
          "NO_FIELD_OPTIONS,NO_AUTO_CREATE_USER");
    CHECK(shown(Flavour::Mariadb114, "MYSQL40") == "MYSQL40,HIGH_NOT_PRECEDENCE");
}

TEST_CASE("sql_mode: a list is validated, deduplicated and shown in bit order",
          "[standin][mysql][sql_mode]") {
    CHECK(shown(Flavour::Mysql80, "NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES") ==
          "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION");
    CHECK(shown(Flavour::Mysql80, "ansi_quotes,ANSI_QUOTES") == "ANSI_QUOTES");
    // sqlx's CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,...') on an empty mode starts with a comma
    CHECK(shown(Flavour::Mysql80, ",PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION") ==
          "PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION");
    CHECK(shown(Flavour::Mariadb114, "REAL_AS_FLOAT,,PIPES_AS_CONCAT") ==
          "REAL_AS_FLOAT,PIPES_AS_CONCAT");
    CHECK(shown(Flavour::Mariadb114, "STRICT_TRANS_TABLES ") == "STRICT_TRANS_TABLES");
    CHECK(shown(Flavour::Mariadb114, " ").empty());
    CHECK(shown(Flavour::Mariadb114, "").empty());
    // the element named in error 1231 is the one as written, a leading space included
    CHECK(shown(Flavour::Mariadb114, "ANSI_QUOTES, PIPES_AS_CONCAT") ==
          "error: ' PIPES_AS_CONCAT'");
    CHECK(shown(Flavour::Mariadb114, "ANSI_QUOTES,NOPE,PIPES_AS_CONCAT") == "error: 'NOPE'");
    CHECK(shown(Flavour::Mariadb114, "TIME_TRUNCATE_FRACTIONAL") ==
          "error: 'TIME_TRUNCATE_FRACTIONAL'");
    // MySQL 8.0 removed NO_AUTO_CREATE_USER: the error an upgrade from 5.7 meets
    CHECK(shown(Flavour::Mysql80, "STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER") ==
          "error: 'NO_AUTO_CREATE_USER'");
    CHECK(shown(Flavour::Mariadb114, "STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER") ==
          "STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER");
}

TEST_CASE("sql_mode: a number is the bits", "[standin][mysql][sql_mode]") {
    auto bits = sql_mode_of_number(Flavour::Mariadb114, 4194304);
    REQUIRE(bits);
    CHECK(format_sql_mode(Flavour::Mariadb114, *bits) == "STRICT_ALL_TABLES");
    CHECK(format_sql_mode(Flavour::Mariadb114, *sql_mode_of_number(Flavour::Mariadb114, 1)) ==
          "REAL_AS_FLOAT");
    CHECK(sql_mode_of_number(Flavour::Mariadb114, 0).value() == 0);
    CHECK(sql_mode_of_number(Flavour::Mariadb114, std::uint64_t{1} << 35).error() == "34359738368");
    // MySQL 8.0's NOT_USED bits (bit 4, where 5.7 had one of its removed modes)
    CHECK_FALSE(sql_mode_of_number(Flavour::Mysql80, 16));
}

TEST_CASE("sql_mode through the stand-in: SET, the errors, and how queries are read",
          "[standin][mysql][sql_mode]") {
    auto holder = logged_in(Flavour::Mariadb114);
    auto& c = *holder;

    c.query("SET sql_mode = 'traditional'");
    REQUIRE(c.ok());
    CHECK(scalar(c, "SELECT @@sql_mode") ==
          "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
          "ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION");
    CHECK(scalar(c, "SET sql_mode = 'FOO'") ==
          "error 1231: Variable 'sql_mode' can't be set to the value of 'FOO'");
    CHECK(scalar(c, "SET sql_mode = 1.5") ==
          "error 1232: Incorrect argument type to variable 'sql_mode'");
    CHECK(scalar(c, "SET sql_mode = -1") ==
          "error 1231: Variable 'sql_mode' can't be set to the value of '-1'");
    CHECK(scalar(c, "SET sql_mode = NULL") ==
          "error 1231: Variable 'sql_mode' can't be set to the value of 'NULL'");
    c.query("SET sql_mode = 4194304");
    REQUIRE(c.ok());
    CHECK(scalar(c, "SELECT @@sql_mode") == "STRICT_ALL_TABLES");

    // PIPES_AS_CONCAT: || concatenates; without it, || is OR
    CHECK(scalar(c, "SELECT 'a' || 'b'") == "0");
    c.query("SET sql_mode = 'PIPES_AS_CONCAT'");
    REQUIRE(c.ok());
    CHECK(scalar(c, "SELECT 'a' || 'b' || 'c'") == "abc");
    CHECK(scalar(c, "SELECT 1 + 2 || 3") == "24"); // || binds tighter than +: 1 + '23'

    // ANSI_QUOTES: "x" is an identifier
    c.query("SET sql_mode = 'ANSI_QUOTES'");
    REQUIRE(c.ok());
    CHECK(scalar(c, "SELECT \"x\"").starts_with("error 1054: Unknown column 'x'"));
    CHECK(scalar(c, "SELECT 'it''s'") == "it's");

    // NO_BACKSLASH_ESCAPES: a backslash is itself, and every OK says so in its status
    c.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
    auto ok = c.ok();
    REQUIRE(ok);
    CHECK((ok->status & mysql::status::NoBackslashEscapes) != 0);
    CHECK(scalar(c, "SELECT 'a\\b'") == "a\\b");
    c.query("SET sql_mode = DEFAULT");
    ok = c.ok();
    REQUIRE(ok);
    CHECK((ok->status & mysql::status::NoBackslashEscapes) == 0);
    CHECK(scalar(c, "SELECT 'a\\tb'") == "a\tb");
    CHECK(scalar(c, "SELECT `a``b` FROM (SELECT 1 AS `a``b`) t") == "1");
}

TEST_CASE("mysql: what Rust's mysql_async reads on every TCP connect, and other tools read",
          "[standin][mysql]") {
    for (auto f : {Flavour::Mysql80, Flavour::Mariadb114}) {
        auto holder = logged_in(f);
        auto& c = *holder;
        // mysql_async (and the mysql crate): a 1193 here fails the connect
        c.query("SELECT @@max_allowed_packet,@@wait_timeout,@@socket");
        auto r = c.results();
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].rows.size() == 1);
        CHECK(r[0].rows[0][1] == "28800");
        CHECK(r[0].rows[0][2] == "/tmp/mysql.sock");
        c.query("SELECT @@server_id, @@log_bin, @@innodb_version, @@skip_networking");
        r = c.results();
        REQUIRE(r.size() == 1);
        CHECK(r[0].rows[0][0] == "1");
        CHECK(r[0].rows[0][1] == (f == Flavour::Mysql80 ? "1" : "0"));
        CHECK(r[0].rows[0][2] == (f == Flavour::Mysql80 ? "8.0.40" : "11.4.4"));
        if (f == Flavour::Mysql80) {
            CHECK(scalar(c, "SELECT @@session.server_id").starts_with("error 1238:"));
        } else {
            CHECK(scalar(c, "SELECT @@session.server_id") == "1");
        }
    }
}
