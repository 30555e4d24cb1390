#pragma once

// The statement recogniser: a query string in, statements out. Like PostgreSQL's raw parser it
// reads the whole string first, so a syntax error anywhere means nothing runs; the error is
// PostgreSQL's ("syntax error at or near \"x\"" / "at end of input", 42601, with the
// position). It knows the statements drivers and tools send on connect and in simple sessions
// (SELECT of expressions, VALUES, SET/RESET/SHOW in all their forms, the transaction
// statements, DISCARD, DEALLOCATE, CLOSE, LISTEN/UNLISTEN/NOTIFY) and the shape of statements
// on tables (INSERT, UPDATE, DELETE, TABLE, COPY, TRUNCATE, LOCK, DROP, CREATE) well enough to
// answer them as a server without those tables would. Expressions follow gram.y's operator
// precedence.

#include <expected>
#include <string_view>
#include <vector>

#include <standin/postgres/server_error.h>
#include <standin/postgres/sql_lexer.h>
#include <standin/postgres/statement.h>

namespace standin::postgres {

std::expected<std::vector<Statement>, ServerError> parse_sql(std::string_view query,
                                                             LexOptions options = {});

} // namespace standin::postgres
