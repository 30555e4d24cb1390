#pragma once

// The table-driven statement recogniser: a batch's tokens in, statements out. Each statement
// form SQL Server clients send on connect and in sessions has one rule, chosen by the
// statement's first keyword (kRules in statement_parser.cc); anything else is a syntax error
// shaped as SQL Server reports it. Like SQL Server, a batch with a syntax error anywhere runs
// nothing: parse_batch fails as a whole.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <standin/sqlserver/statement.h>

namespace standin::sqlserver {

// A compile-time error of a batch, as SQL Server reports it.
struct ParseError {
    std::uint32_t number = 102;
    std::uint8_t state = 1;
    std::uint8_t severity = 15;
    std::string text;
    std::uint32_t line = 1;
    // SQL Server sends 102 after 105 ("unclosed quotation mark"): a second message.
    std::optional<std::string> follow_up_102;
};

std::expected<std::vector<StatementPtr>, ParseError> parse_batch(std::string_view batch);

// A parameter declaration list of sp_executesql / sp_prepare: "@p1 int, @p2 nvarchar(10) OUTPUT".
struct ParameterDeclaration {
    std::string name; // "@p1"
    TypeSpec type;
    bool output = false;
};
std::expected<std::vector<ParameterDeclaration>, ParseError>
parse_parameter_declarations(std::string_view text);

// is_reserved_keyword: T-SQL's reserved keywords (a syntax error near one is 156, not 102).
bool is_reserved_keyword(std::string_view word);

} // namespace standin::sqlserver
