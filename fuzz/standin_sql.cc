// standin_sql: the stand-in servers' SQL readers, which read what any client sends: the T-SQL
// batch parser and sp_executesql parameter declarations (SQL Server), the PostgreSQL lexer and
// parser (both string modes), and the MySQL / MariaDB statement splitter and parser.
//
// Input: byte 0 selects the reader (mod 6; for MySQL, bits 3 to 5 the sql_mode syntax:
// NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT), the rest is the query text; then the
// rest again as an sql_mode value (MySQL).

#include <standin/mysql/sql.h>
#include <standin/postgres/sql_parser.h>
#include <standin/sqlserver/statement_parser.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    std::string_view text = fuzz::as_text(fuzz::Bytes(data + 1, size - 1));
    switch (data[0] % 6) {
    case 0:
        (void)standin::sqlserver::parse_batch(text);
        break;
    case 1:
        (void)standin::sqlserver::parse_parameter_declarations(text);
        break;
    case 2:
    case 3:
        (void)standin::postgres::parse_sql(
            text, standin::postgres::LexOptions{.standard_conforming_strings = data[0] % 6 == 2});
        break;
    default: {
        auto flavour = data[0] % 6 == 4 ? standin::mysql::Flavour::Mysql80
                                        : standin::mysql::Flavour::Mariadb114;
        standin::mysql::Syntax syntax{.no_backslash_escapes = (data[0] & 0x08) != 0,
                                      .ansi_quotes = (data[0] & 0x10) != 0,
                                      .pipes_as_concat = (data[0] & 0x20) != 0};
        auto split = standin::mysql::split_statements(flavour, text, syntax);
        if (auto* parts = std::get_if<std::vector<standin::mysql::StatementText>>(&split)) {
            for (const auto& range : *parts) {
                fuzz::check(range.begin <= range.end && range.end <= text.size(),
                            "statement inside the query");
                (void)standin::mysql::parse_statement(flavour, text, range, syntax);
            }
        }
        if (auto bits = standin::mysql::parse_sql_mode(flavour, text)) {
            auto shown = standin::mysql::format_sql_mode(flavour, *bits);
            auto again = standin::mysql::parse_sql_mode(flavour, shown);
            fuzz::check(again && *again == *bits, "a shown sql_mode reads back as itself");
        }
        break;
    }
    }
    return 0;
}
