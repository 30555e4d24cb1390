#pragma once

// The PostgreSQL lexer of the stand-in: a query string in, tokens out, with PostgreSQL's
// lexical rules (scan.l): -- and nested /* */ comments; identifiers folded to lower case unless
// "quoted"; 'strings' with '' (and, when standard_conforming_strings is off, backslash)
// escapes; E'...' escapes; U&'...' and U&"..." Unicode escapes; $tag$ dollar quoting; string
// continuation across a newline; $n parameters; integers (decimal, 0x, 0o, 0b, with _
// separators), decimals and reals; operators (no -- or /* inside, a trailing + or - dropped as
// scan.l does); :: and the single-character symbols. Each token keeps its byte offset and its
// source text, which error messages quote ("syntax error at or near ..."). A lexical error is a
// ServerError shaped as PostgreSQL reports it (42601, with the position).

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <standin/postgres/server_error.h>

namespace standin::postgres {

enum class TokenKind : std::uint8_t {
    Identifier,       // text folded to lower case
    QuotedIdentifier, // text as written inside the quotes
    String,           // text unescaped
    Integer,          // text: the digits as written (underscores removed, prefix kept)
    Decimal,          // 1.5, .5, 1.
    Real,             // 1e3, 1.5E-2
    Parameter,        // $1: text is the number
    Operator,         // + - * / < > = <= >= <> != || ...
    Symbol,           // ( ) [ ] , ; : . ::
    End,
};

struct Token {
    TokenKind kind = TokenKind::End;
    std::string text;
    std::size_t offset = 0; // bytes into the query
    std::size_t length = 0; // source bytes
    bool continued_string = false;

    // is: an identifier equal to a keyword (lower case); quoted identifiers never are keywords.
    bool is(std::string_view keyword) const {
        return kind == TokenKind::Identifier && text == keyword;
    }
    bool is_symbol(std::string_view s) const {
        return (kind == TokenKind::Symbol || kind == TokenKind::Operator) && text == s;
    }
};

struct LexOptions {
    bool standard_conforming_strings = true;
};

std::expected<std::vector<Token>, ServerError> lex_sql(std::string_view query,
                                                       LexOptions options = {});

} // namespace standin::postgres
