#pragma once

// What one PostgreSQL stand-in session remembers between messages, as a backend keeps it:
// the settings, the transaction (idle, in a block, failed; its savepoints; whether the current
// simple Query runs as an implicit block), the prepared statements and portals of the extended
// protocol, advisory locks, LISTEN channels and the identity the SQL functions report.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <standin/postgres/expression.h>
#include <standin/postgres/settings.h>
#include <standin/postgres/statement.h>

namespace standin::postgres {

enum class TransactionState : std::uint8_t {
    Idle,    // 'I'
    InBlock, // 'T'
    Failed,  // 'E'
};

char status_byte(TransactionState s);

// A result column as RowDescription describes it (format added per portal).
struct ResultColumn {
    std::string name;
    std::uint32_t type = 0;
    std::int32_t type_modifier = -1;
    std::int16_t type_size = -1;
};

struct PreparedStatement {
    std::string name;
    std::string query;
    std::optional<Statement> statement; // nullopt: the empty query
    std::vector<std::uint32_t> parameter_types;
    // the row description, nullopt for a statement without rows (NoData)
    std::optional<std::vector<ResultColumn>> columns;
};

struct Portal {
    std::string name;
    std::shared_ptr<PreparedStatement> statement;
    std::vector<Value> parameters;
    std::vector<std::int16_t> result_formats; // one per column
    // rows computed by the first Execute; later Executes continue from `next_row`
    bool executed = false;
    bool complete = false;
    std::vector<std::vector<Value>> rows;
    std::size_t next_row = 0;
    std::string tag;
};

struct Session {
    explicit Session(const ServerIdentity& identity) : settings(identity) {}

    Settings settings;
    SessionView view; // identity and clock for the SQL functions; settings pointer set by owner
    std::function<std::int64_t()> clock; // microseconds since 1970 (UTC)

    TransactionState state = TransactionState::Idle;
    bool transaction_open = false; // settings have a transaction frame (explicit or implicit)
    bool implicit_block = false;   // a multi-statement simple Query without BEGIN
    std::vector<std::string> savepoints;

    std::map<std::string, std::shared_ptr<PreparedStatement>> statements; // "" = unnamed
    std::map<std::string, std::shared_ptr<Portal>> portals;               // "" = unnamed

    std::set<std::int64_t> advisory_locks;
    std::set<std::string> listening;
    // NOTIFY inside a transaction block is delivered at commit: (channel, payload)
    std::vector<std::pair<std::string, std::string>> pending_notifications;
    std::uint64_t next_transaction_id = 751;

    bool in_transaction_block() const { return state != TransactionState::Idle || implicit_block; }
};

} // namespace standin::postgres
