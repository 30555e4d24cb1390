#pragma once

// Commands a client sends after authentication (MySQL docs "Text Protocol", "Prepared
// Statements"). Standard library only, bounds-checked, errors as values.

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mysql/constants.h>
#include <mysql/responses.h>
#include <mysql/wire.h>

namespace mysql {

// COM_QUERY. With CLIENT_QUERY_ATTRIBUTES the text is preceded by a parameter count, a
// parameter-set count (always 1) and, when there are parameters, the NULL bitmap, the
// new-params-bound flag, the types with names, and the values.
struct Query {
    std::string text;
    std::vector<std::pair<std::string, Value>> attributes; // name, value in text form
};
std::expected<Query, Error> decode_query(std::span<const std::uint8_t> payload, std::uint32_t caps);
std::vector<std::uint8_t> encode_query(std::string_view text);

// COM_STMT_EXECUTE. The parameter count comes from the statement's prepare; the types are sent
// when new_params_bound (else the caller passes the previous execution's).
struct BoundParameter {
    ColumnType type = ColumnType::Null;
    bool is_unsigned = false;
    Value value; // text form: integers and floating point printed, strings as is, NULL nullopt
};
struct StmtExecute {
    std::uint32_t statement_id = 0;
    std::uint8_t flags = 0; // cursor type
    std::uint32_t iteration_count = 1;
    bool new_params_bound = false;
    std::vector<BoundParameter> params;
};
// statement_id_of: the id at bytes 1..4 of a COM_STMT_* packet (to look up the param count).
std::expected<std::uint32_t, Error> statement_id_of(std::span<const std::uint8_t> payload);
// previous_types: the types bound by the statement's last execution (used when the client sends
// new_params_bound = 0).
std::expected<StmtExecute, Error>
decode_stmt_execute(std::span<const std::uint8_t> payload, std::uint16_t param_count,
                    std::span<const BoundParameter> previous_types, std::uint32_t caps);

// COM_STMT_SEND_LONG_DATA: statement id, parameter id, data.
struct StmtLongData {
    std::uint32_t statement_id = 0;
    std::uint16_t param_id = 0;
    std::vector<std::uint8_t> data;
};
std::expected<StmtLongData, Error> decode_stmt_long_data(std::span<const std::uint8_t> payload);

} // namespace mysql
