#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <standin/sqlserver/sql_lexer.h>

using standin::sqlserver::lex_sql;
using standin::sqlserver::SqlToken;
using standin::sqlserver::TokenKind;

namespace {

std::vector<SqlToken> lex(std::string_view sql) {
    auto t = lex_sql(sql);
    INFO("lexing: " << sql);
    REQUIRE(t);
    REQUIRE_FALSE(t->empty());
    CHECK(t->back().kind == TokenKind::End);
    return *t;
}

// kinds and texts of every token but End, "Word:select Integer:1".
std::string describe(const std::vector<SqlToken>& tokens) {
    static const char* const kNames[] = {"Word",    "QuotedName", "Variable", "SystemVariable",
                                         "Integer", "Decimal",    "Float",    "String",
                                         "NString", "Binary",     "Symbol",   "End"};
    std::string out;
    for (const auto& t : tokens) {
        if (t.kind == TokenKind::End) {
            break;
        }
        if (!out.empty()) {
            out += ' ';
        }
        out += kNames[static_cast<int>(t.kind)];
        out += ':';
        out += t.text;
    }
    return out;
}

std::string describe(std::string_view sql) {
    return describe(lex(sql));
}

} // namespace

TEST_CASE("lexer: words, numbers and symbols of a simple statement", "[standin][lexer]") {
    CHECK(describe("SELECT 1") == "Word:SELECT Integer:1");
    CHECK(describe("select a,b from t;") ==
          "Word:select Word:a Symbol:, Word:b Word:from Word:t Symbol:;");
    CHECK(describe("") == "");
    CHECK(describe("   \t\r\n  ") == "");
    auto t = lex("SELECT 1");
    CHECK(t[0].offset == 0);
    CHECK(t[1].offset == 7);
    CHECK(t[2].offset == 8); // End sits after the last byte
    CHECK(t[0].is("select"));
    CHECK(t[0].is("SeLeCt")); // keywords are not case-sensitive
    CHECK_FALSE(t[1].is("1"));
}

TEST_CASE("lexer: comments", "[standin][lexer]") {
    SECTION("-- runs to the end of the line") {
        CHECK(describe("SELECT 1 -- a comment\n, 2") == "Word:SELECT Integer:1 Symbol:, Integer:2");
        CHECK(describe("-- only a comment") == "");
        CHECK(describe("SELECT 1 --") == "Word:SELECT Integer:1");
    }
    SECTION("/* */ spans lines") {
        CHECK(describe("SELECT /* a\nb */ 1") == "Word:SELECT Integer:1");
        CHECK(describe("SELECT/**/1") == "Word:SELECT Integer:1");
    }
    SECTION("block comments nest, as in T-SQL") {
        CHECK(describe("SELECT /* outer /* inner */ still comment */ 1") ==
              "Word:SELECT Integer:1");
    }
    SECTION("-- inside a block comment and /* inside a -- comment are comment text") {
        CHECK(describe("/* -- */ SELECT 1") == "Word:SELECT Integer:1");
        CHECK(describe("-- /* \nSELECT 1") == "Word:SELECT Integer:1");
    }
    SECTION("comment markers inside strings are text") {
        CHECK(describe("SELECT '--x', '/*y*/'") == "Word:SELECT String:--x Symbol:, String:/*y*/");
    }
}

TEST_CASE("lexer: strings", "[standin][lexer]") {
    CHECK(describe("'abc'") == "String:abc");
    CHECK(describe("''") == "String:");
    CHECK(describe("'it''s'") == "String:it's"); // '' is one quote inside a string
    CHECK(describe("''''") == "String:'");
    CHECK(describe("N'x'") == "NString:x");
    CHECK(describe("n'x'") == "NString:x"); // the N prefix is not case-sensitive
    CHECK(describe("N'it''s'") == "NString:it's");
    CHECK(describe("'a\nb'") == "String:a\nb");
    CHECK(describe("'d\xC3\xA9j\xC3\xA0'") == "String:d\xC3\xA9j\xC3\xA0"); // UTF-8 kept
    // A word ending in N before a quote is still a word: "IN'x'" is IN then 'x'.
    CHECK(describe("IN'x'") == "Word:IN String:x");
}

TEST_CASE("lexer: quoted identifiers", "[standin][lexer]") {
    CHECK(describe("[a]") == "QuotedName:a");
    CHECK(describe("[a]]b]") == "QuotedName:a]b"); // ]] is one ] inside brackets
    CHECK(describe("[my table]") == "QuotedName:my table");
    CHECK(describe("\"q\"") == "QuotedName:q");
    CHECK(describe("\"a\"\"b\"") == "QuotedName:a\"b");
    CHECK(describe("[dbo].[t]") == "QuotedName:dbo Symbol:. QuotedName:t");
}

TEST_CASE("lexer: variables and system variables", "[standin][lexer]") {
    CHECK(describe("@v") == "Variable:@v");
    CHECK(describe("@my_var1") == "Variable:@my_var1");
    CHECK(describe("@@VERSION") == "SystemVariable:@@VERSION");
    CHECK(describe("@@spid+1") == "SystemVariable:@@spid Symbol:+ Integer:1");
    CHECK(describe("@a=@b") == "Variable:@a Symbol:= Variable:@b");
    CHECK(describe("#temp ##global") == "Word:#temp Word:##global");
}

TEST_CASE("lexer: numbers and binary literals", "[standin][lexer]") {
    CHECK(describe("1") == "Integer:1");
    CHECK(describe("2147483648") == "Integer:2147483648");
    CHECK(describe("1.5") == "Decimal:1.5");
    CHECK(describe(".5") == "Decimal:.5");
    CHECK(describe("5.") == "Decimal:5.");
    CHECK(describe("1e3") == "Float:1e3");
    CHECK(describe("1.5E-2") == "Float:1.5E-2");
    CHECK(describe("2e+10") == "Float:2e+10");
    CHECK(describe("0xAB") == "Binary:AB");
    CHECK(describe("0x0a0B") == "Binary:0a0B");
    CHECK(describe("0x") == "Binary:"); // SQL Server reads 0x as an empty binary value
    CHECK(describe("1-2") == "Integer:1 Symbol:- Integer:2");
    CHECK(describe("1.5.2") == "Decimal:1.5 Decimal:.2");
}

TEST_CASE("lexer: one- and two-character symbols", "[standin][lexer]") {
    CHECK(describe("( ) , ; . = < > + - * / % & | ^ ~") ==
          "Symbol:( Symbol:) Symbol:, Symbol:; Symbol:. Symbol:= Symbol:< Symbol:> Symbol:+ "
          "Symbol:- Symbol:* Symbol:/ Symbol:% Symbol:& Symbol:| Symbol:^ Symbol:~");
    CHECK(describe("<= >= <> != !< !>") ==
          "Symbol:<= Symbol:>= Symbol:<> Symbol:!= Symbol:!< Symbol:!>");
    CHECK(describe("a<=b") == "Word:a Symbol:<= Word:b");
    CHECK(describe("+= -= *= /=") == "Symbol:+= Symbol:-= Symbol:*= Symbol:/=");
    // T-SQL's compound assignment operators also include %=, &=, |= and ^= ("Compound
    // Operators (Transact-SQL)").
    CHECK(describe("%= &= |= ^=") == "Symbol:%= Symbol:&= Symbol:|= Symbol:^=");
    CHECK(describe("a::b") == "Word:a Symbol::: Word:b");
    auto t = lex("a<>b");
    CHECK(t[1].is_symbol("<>"));
    CHECK_FALSE(t[1].is_symbol("<"));
}

TEST_CASE("lexer: every token knows its line", "[standin][lexer]") {
    auto t = lex("SELECT 1\n-- comment line\n/* two\nlines */ SELECT 'a\nb', 2\r\nPRINT 3");
    REQUIRE(describe(t) == "Word:SELECT Integer:1 Word:SELECT String:a\nb Symbol:, Integer:2 "
                           "Word:PRINT Integer:3");
    CHECK(t[0].line == 1);
    CHECK(t[1].line == 1);
    CHECK(t[2].line == 4); // after a -- line and a two-line block comment
    CHECK(t[3].line == 4); // a string starts on its first line
    CHECK(t[4].line == 5); // the string ran over a newline
    CHECK(t[6].line == 6); // \r\n counts once
    CHECK(t[7].line == 6);
}

TEST_CASE("lexer: an unclosed quote is 105", "[standin][lexer][errors]") {
    // Msg 105, Level 15: Unclosed quotation mark after the character string '...'.
    SECTION("string") {
        auto r = lex_sql("SELECT 'abc");
        REQUIRE_FALSE(r);
        CHECK(r.error().number == 105);
        CHECK(r.error().text == "Unclosed quotation mark after the character string 'abc'.");
        CHECK(r.error().near == "abc");
        CHECK(r.error().line == 1);
    }
    SECTION("an escaped quote does not close it") {
        auto r = lex_sql("SELECT 'it''s");
        REQUIRE_FALSE(r);
        CHECK(r.error().number == 105);
    }
    SECTION("N string, on a later line") {
        auto r = lex_sql("SELECT 1\nSELECT N'x");
        REQUIRE_FALSE(r);
        CHECK(r.error().number == 105);
        CHECK(r.error().line == 2);
    }
    SECTION("bracketed and double-quoted names") {
        auto b = lex_sql("SELECT [abc");
        REQUIRE_FALSE(b);
        CHECK(b.error().number == 105);
        auto q = lex_sql("SELECT \"abc");
        REQUIRE_FALSE(q);
        CHECK(q.error().number == 105);
    }
}

TEST_CASE("lexer: a block comment without its end is 113", "[standin][lexer][errors]") {
    // Msg 113, Level 15: Missing end comment mark '*/'.
    auto r = lex_sql("SELECT 1 /* never closed");
    REQUIRE_FALSE(r);
    CHECK(r.error().number == 113);
    CHECK(r.error().text == "Missing end comment mark '*/'.");
    SECTION("nesting counts: one */ does not close two /*") {
        auto n = lex_sql("/* /* */ SELECT 1");
        REQUIRE_FALSE(n);
        CHECK(n.error().number == 113);
    }
}

TEST_CASE("lower_ascii and iequals compare as the default collation does", "[standin][lexer]") {
    using standin::sqlserver::iequals;
    using standin::sqlserver::lower_ascii;
    CHECK(lower_ascii("SeLeCt @@SPID") == "select @@spid");
    CHECK(iequals("Master", "MASTER"));
    CHECK_FALSE(iequals("master", "maste"));
    CHECK_FALSE(iequals("a", "b"));
}
