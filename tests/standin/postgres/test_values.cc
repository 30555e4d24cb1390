// Value conversions: numeric arithmetic and display scale, float output under
// extra_float_digits, binary numeric, and the settings checks (expected values from a
// PostgreSQL 16.4 server).

#include <catch2/catch.hpp>

#include <standin/postgres/decimal.h>
#include <standin/postgres/settings.h>
#include <standin/postgres/sql_lexer.h>
#include <standin/postgres/types.h>

#include "pg_test_client.h"

using namespace standin::postgres;

TEST_CASE("numeric division takes PostgreSQL's result scale") {
    auto div = [](const char* a, const char* b) {
        return Decimal::parse(a)->divide(*Decimal::parse(b))->to_string();
    };
    REQUIRE(div("7.0", "2") == "3.5000000000000000");
    REQUIRE(div("1", "3.0") == "0.33333333333333333333");
    REQUIRE(div("1", "7") == "0.14285714285714285714");
    REQUIRE_FALSE(Decimal::parse("1")->divide(*Decimal::parse("0")));
    REQUIRE((*Decimal::parse("2.0") * *Decimal::parse("3.50")).to_string() == "7.000");
    REQUIRE(Decimal::parse("10")->modulo(*Decimal::parse("3.5"))->to_string() == "3.0");
    REQUIRE((*Decimal::parse("-1.5") + *Decimal::parse("0.5")).to_string() == "-1.0");
    REQUIRE(Decimal::parse("1e3")->to_string() == "1000");
    REQUIRE(Decimal::parse("1.5e-3")->to_string() == "0.0015");
    REQUIRE_FALSE(Decimal::parse("1e1001"));
    REQUIRE_FALSE(Decimal::parse("x"));
}

TEST_CASE("numeric binary form round-trips, and the sent dscale truncates") {
    for (const char* s :
         {"12345.678", "-0.0001", "0", "0.00", "10000", "1e-8", "NaN", "Infinity"}) {
        auto d = *Decimal::parse(s);
        auto back = Decimal::from_binary(d.to_binary());
        REQUIRE(back);
        REQUIRE(back->to_string() == d.to_string());
    }
    // 12.3456 sent with dscale 2: PostgreSQL reads 12.34
    std::vector<std::uint8_t> b{0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x0d, 0x80};
    REQUIRE(Decimal::from_binary(b)->to_string() == "12.34");
    REQUIRE_FALSE(Decimal::from_binary({0, 1, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE("float output follows extra_float_digits") {
    REQUIRE(format_float(0.1, false, 1) == "0.1");
    REQUIRE(format_float(1.0 / 3, false, 1) == "0.3333333333333333");
    REQUIRE(format_float(1e100, false, 1) == "1e+100");
    REQUIRE(format_float(1e20, false, 1) == "1e+20");
    REQUIRE(format_float(-0.0, false, 1) == "-0");
    REQUIRE(format_float(1.0 / 3, false, 0) == "0.333333333333333");
    REQUIRE(format_float(static_cast<double>(0.1f), true, 1) == "0.1");
    REQUIRE(format_float(static_cast<double>(0.1f), true, 3) == "0.1");
}

TEST_CASE("text input errors carry PostgreSQL's wording") {
    auto e = parse_text(oid::kInt4, "99999999999", 8).error();
    REQUIRE(e.message == "value \"99999999999\" is out of range for type integer");
    REQUIRE(e.sqlstate == "22003");
    REQUIRE(parse_text(oid::kBool, "abc").error().message ==
            "invalid input syntax for type boolean: \"abc\"");
    REQUIRE(parse_text(oid::kInt8, " 0x1F ")->text == "31");
    REQUIRE(parse_text(oid::kInt4, "1_000")->text == "1000");
    REQUIRE(parse_text(oid::kNumeric, "12.345", std::nullopt, ((5 << 16) | 1) + 4)->text == "12.3");
    REQUIRE(parse_text(oid::kNumeric, "123.45", std::nullopt, ((3 << 16) | 1) + 4).error().detail ==
            "A field with precision 3, scale 1 must round to an absolute value less than 10^2.");
    REQUIRE(parse_text(oid::kBpchar, "ab", std::nullopt, 8)->text == "ab  ");
}

TEST_CASE("settings: DateStyle, encodings, units") {
    REQUIRE(canonical_datestyle("sql, dmy", "ISO, MDY") == "SQL, DMY");
    REQUIRE(canonical_datestyle("postgres", "SQL, DMY") == "Postgres, DMY");
    REQUIRE(canonical_datestyle("German", "ISO, MDY") == "German, DMY");
    REQUIRE(canonical_datestyle("iso, german", "ISO, MDY").error() ==
            "Conflicting \"datestyle\" specifications.");
    REQUIRE(canonical_client_encoding("'utf-8'") == "UTF8");
    REQUIRE(canonical_client_encoding("UNICODE") == "UNICODE");
    REQUIRE(canonical_client_encoding("latin1") == "LATIN1");
    REQUIRE_FALSE(canonical_client_encoding("bogus"));
    REQUIRE(canonical_time_zone("europe/paris") == "Europe/Paris");
    REQUIRE(canonical_time_zone("<-07>+07") == "<-07>+07");
    REQUIRE_FALSE(canonical_time_zone("bogus"));

    Settings s{ServerIdentity{}};
    REQUIRE(s.set_text("statement_timeout", "60000", SettingScope::Session, false));
    REQUIRE(s.value("statement_timeout") == "1min");
    REQUIRE(s.set_text("statement_timeout", "1.5s", SettingScope::Session, false));
    REQUIRE(s.value("statement_timeout") == "1500ms");
    REQUIRE(s.set_text("work_mem", "100000", SettingScope::Session, false));
    REQUIRE(s.value("work_mem") == "100000kB");
    REQUIRE(s.set_text("work_mem", "1", SettingScope::Session, false).error().message ==
            "1 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)");
    REQUIRE(s.set_text("enable_seqscan", "of", SettingScope::Session, false));
    REQUIRE(s.value("enable_seqscan") == "off");
    REQUIRE(s.set_text("application_name", "h\xc3\xa9llo", SettingScope::Session, false));
    REQUIRE(s.value("application_name") == "h\\xc3\\xa9llo");
    REQUIRE(s.set_text("max_connections", "5", SettingScope::Session, false).error().message ==
            "parameter \"max_connections\" cannot be changed without restarting the server");
}

TEST_CASE("the lexer: PostgreSQL's lexical rules") {
    auto t = lex_sql(
        "SELECT \"Mixed\", e'a\\tb', $tag$x$tag$, 'a'\n'b', $2, a::int -- c\n/* /* n */ */");
    REQUIRE(t);
    REQUIRE((*t)[0].text == "select");
    REQUIRE((*t)[1].kind == TokenKind::QuotedIdentifier);
    REQUIRE((*t)[1].text == "Mixed");
    REQUIRE((*t)[3].text == "a\tb");
    REQUIRE((*t)[5].text == "x");
    REQUIRE((*t)[7].text == "ab");
    REQUIRE((*t)[9].kind == TokenKind::Parameter);
    REQUIRE((*t)[12].text == "::");
    REQUIRE(lex_sql("select $$x").error().message ==
            "unterminated dollar-quoted string at or near \"$$x\"");
    REQUIRE(lex_sql("select /* x").error().position == 8);
    auto ops = lex_sql("1=-1");
    REQUIRE((*ops)[1].text == "=");
    REQUIRE((*ops)[2].text == "-");
}
