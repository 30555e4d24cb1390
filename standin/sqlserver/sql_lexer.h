#pragma once

// The T-SQL lexer of the SQL Server stand-in: a batch's text in, tokens out. It knows T-SQL's
// lexical rules (-- and nested /* */ comments, 'strings' with '' escapes, N'unicode',
// [bracketed] and "quoted" identifiers, @variables, @@system variables, 0x binary literals,
// numbers with a point or an exponent) and keeps each token's line for error messages. What
// it cannot read is an error value shaped as SQL Server reports it (105 unclosed quotation
// mark, 113 missing end comment mark), never an exception.

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace standin::sqlserver {

enum class TokenKind : std::uint8_t {
    Word,           // identifier or keyword, as written
    QuotedName,     // [name] or "name"; text is the name without quotes
    Variable,       // @name (text includes the @)
    SystemVariable, // @@name (text includes the @@)
    Integer,        // 42
    Decimal,        // 4.2, .5, 4.
    Float,          // 4e2, 4.2E-1
    String,         // 'text' (text unescaped)
    NString,        // N'text'
    Binary,         // 0x0A0B (text is the hex digits)
    Symbol,         // ( ) , ; . = < > + - * / % and <= >= <> != !< !>
    End,            // after the last token
};

struct SqlToken {
    TokenKind kind = TokenKind::End;
    std::string text;
    std::uint32_t line = 1;
    std::size_t offset = 0; // byte offset in the batch

    // keyword compares a Word case-insensitively (T-SQL keywords are not case-sensitive).
    bool is(std::string_view keyword) const;
    bool is_symbol(std::string_view s) const { return kind == TokenKind::Symbol && text == s; }
};

// A lexical error as SQL Server reports it.
struct SqlLexError {
    std::uint32_t number = 0; // 105 or 113
    std::string text;
    std::uint32_t line = 1;
    std::string near; // for the 102 that SQL Server adds after a 105
};

std::expected<std::vector<SqlToken>, SqlLexError> lex_sql(std::string_view batch);

// lower_ascii: T-SQL identifiers compare case-insensitively under the default collation.
std::string lower_ascii(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

} // namespace standin::sqlserver
