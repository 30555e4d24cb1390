#pragma once

// What a server answers (MySQL docs "Generic Response Packets", "Text Resultset", "Binary
// Protocol Resultset", "COM_STMT_PREPARE Response"): OK, ERR, EOF, and result sets. Standard
// library only. The `caps` argument is the capability set agreed for the session (the
// intersection of server and client): it decides the OK packet's tail and whether EOF packets
// are sent.

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <mysql/constants.h>
#include <mysql/wire.h>

namespace mysql {

struct OkPacket {
    std::uint8_t header = 0x00; // 0x00, or 0xFE when it ends a result set (CLIENT_DEPRECATE_EOF)
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
    std::uint16_t status = 0;
    std::uint16_t warnings = 0;
    // The human-readable info (MariaDB 11.4 zero-configuration SSL puts its certificate check
    // here in the OK after authentication). A lenenc string, present when there is something
    // to say, with and without CLIENT_SESSION_TRACK (what MySQL's net_send_ok and MariaDB send,
    // captured; the MySQL docs' string<EOF> for the latter is not what servers send).
    std::string info;
    // With CLIENT_SESSION_TRACK and SERVER_SESSION_STATE_CHANGED: the raw state-change block.
    std::vector<std::uint8_t> session_state;
};

struct ErrPacket {
    std::uint16_t code = 0;
    std::string sql_state = "HY000"; // 5 characters, after '#' (CLIENT_PROTOCOL_41)
    std::string message;
    bool has_sql_state = true; // false for errors sent before the capabilities are known
};

struct EofPacket {
    std::uint16_t warnings = 0;
    std::uint16_t status = 0;
};

std::expected<OkPacket, Error> decode_ok(std::span<const std::uint8_t> payload, std::uint32_t caps);
std::vector<std::uint8_t> encode_ok(const OkPacket& ok, std::uint32_t caps);
// decode_err: with or without the '#' SQL-state marker (a greeting-time ERR has none).
std::expected<ErrPacket, Error> decode_err(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_err(const ErrPacket& err);
std::expected<EofPacket, Error> decode_eof(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_eof(const EofPacket& eof);

// is_ok / is_err / is_eof: the packet kinds by their first byte and length, as clients tell them
// apart (0xFE with fewer than 9 bytes is EOF; 0xFE with more, after a result set under
// CLIENT_DEPRECATE_EOF, is an OK).
bool is_ok(std::span<const std::uint8_t> payload);
bool is_err(std::span<const std::uint8_t> payload);
bool is_eof(std::span<const std::uint8_t> payload);

// ColumnDefinition41.
struct ColumnDefinition {
    std::string catalog = "def";
    std::string schema;
    std::string table;
    std::string org_table;
    std::string name;
    std::string org_name;
    std::uint16_t character_set = 0;
    std::uint32_t column_length = 0;
    ColumnType type = ColumnType::VarString;
    std::uint16_t flags = 0;
    std::uint8_t decimals = 0;
    // MariaDB with MARIADB_CLIENT_EXTENDED_METADATA: a lenenc block after org_name (type name
    // and format, e.g. "\0\4json"; often empty). nullopt: the standard form.
    std::optional<std::string> extended_metadata;
};
std::expected<ColumnDefinition, Error> decode_column(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_column(const ColumnDefinition& c);

// A value in a row: NULL or the bytes of its text form (text protocol) / its binary form.
using Value = std::optional<std::string>;

// Text resultset row: each value a lenenc string, NULL as 0xFB.
std::vector<std::uint8_t> encode_text_row(std::span<const Value> values);
std::expected<std::vector<Value>, Error> decode_text_row(std::span<const std::uint8_t> payload,
                                                         std::size_t columns);

// Binary resultset row (0x00, NULL bitmap with offset 2, values in binary form per column
// type). The values are given in their text form and converted per the column's type (integers,
// doubles, strings; DATE/TIME/DATETIME from "YYYY-MM-DD hh:mm:ss[.ffffff]").
std::expected<std::vector<std::uint8_t>, Error>
encode_binary_row(std::span<const ColumnDefinition> columns, std::span<const Value> values);

// The response to COM_STMT_PREPARE: 0x00, statement id, columns, params, 0x00, warnings.
struct PrepareOk {
    std::uint32_t statement_id = 0;
    std::uint16_t columns = 0;
    std::uint16_t params = 0;
    std::uint16_t warnings = 0;
};
std::vector<std::uint8_t> encode_prepare_ok(const PrepareOk& p);
std::expected<PrepareOk, Error> decode_prepare_ok(std::span<const std::uint8_t> payload);

} // namespace mysql
