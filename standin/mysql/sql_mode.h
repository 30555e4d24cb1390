#pragma once

// sql_mode as the servers keep it: a set of named bits, validated when set, shown in bit order
// with the combination modes expanded, and three of them changing how a query is read.
//
//   SET sql_mode = 'traditional'  ->  STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,
//                                     NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,
//                                     NO_ENGINE_SUBSTITUTION        (MySQL 8.0)
//   SET sql_mode = 'NO_AUTO_CREATE_USER'  ->  error 1231 on MySQL 8.0 (the mode is gone), fine
//                                             on MariaDB
//
// The names and their bit positions are each server's own (MySQL 8.0's sql_mode_names keep
// NOT_USED placeholders where 5.7's removed modes were; MariaDB keeps them all and adds four).
// A list element is matched without regard to case after trailing spaces are cut; an empty
// element is skipped (sqlx sets CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,...'), which starts with
// a comma when the mode is empty); anything else, a leading space included, is error 1231 naming
// that element, as MariaDB 10.11 answers (checked against the real server).

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include <standin/mysql/config.h>

namespace standin::mysql {

// What sql_mode changes in the lexer and parser.
struct Syntax {
    bool no_backslash_escapes = false; // '\' is an ordinary character in a string
    bool ansi_quotes = false;          // "x" is an identifier, not a string
    bool pipes_as_concat = false;      // a || b concatenates instead of OR
};

// parse_sql_mode: a SET value in text form (the element list) to its bits; the error is the
// element the server names in error 1231.
std::expected<std::uint64_t, std::string> parse_sql_mode(Flavour f, std::string_view list);
// sql_mode_of_number: SET sql_mode = 4194304; a bit with no mode is an error.
std::expected<std::uint64_t, std::string> sql_mode_of_number(Flavour f, std::uint64_t bits);
// format_sql_mode: the names of the bits set, in bit order, comma separated.
std::string format_sql_mode(Flavour f, std::uint64_t bits);
// syntax_of: what a shown sql_mode value (format_sql_mode's form) changes in the parser.
Syntax syntax_of(std::string_view shown);

} // namespace standin::mysql
