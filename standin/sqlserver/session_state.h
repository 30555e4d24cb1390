#pragma once

// What one stand-in session remembers between requests, as SQL Server keeps it per
// connection: who logged in, the database, the language, the SET options, the transaction
// and its descriptor, the prepared statements. Variables are not here: T-SQL variables live
// for one batch (batch_executor.h holds them).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <tds/version.h>

namespace standin::sqlserver {

// @@OPTIONS bits (SQL Server's "user options" values).
namespace option_bit {
inline constexpr std::uint32_t kImplicitTransactions = 2;
inline constexpr std::uint32_t kCursorCloseOnCommit = 4;
inline constexpr std::uint32_t kAnsiWarnings = 8;
inline constexpr std::uint32_t kAnsiPadding = 16;
inline constexpr std::uint32_t kAnsiNulls = 32;
inline constexpr std::uint32_t kArithAbort = 64;
inline constexpr std::uint32_t kArithIgnore = 128;
inline constexpr std::uint32_t kQuotedIdentifier = 256;
inline constexpr std::uint32_t kNoCount = 512;
inline constexpr std::uint32_t kAnsiNullDfltOn = 1024;
inline constexpr std::uint32_t kAnsiNullDfltOff = 2048;
inline constexpr std::uint32_t kConcatNullYieldsNull = 4096;
inline constexpr std::uint32_t kNumericRoundAbort = 8192;
inline constexpr std::uint32_t kXactAbort = 16384;
// What a new connection has after login: the ANSI settings drivers ask for in LOGIN7
// (ANSI_WARNINGS, ANSI_PADDING, ANSI_NULLS, QUOTED_IDENTIFIER, ANSI_NULL_DFLT_ON,
// CONCAT_NULL_YIELDS_NULL): SQL Server reports 5432 to an ODBC connection.
inline constexpr std::uint32_t kLoginDefaults = kAnsiWarnings | kAnsiPadding | kAnsiNulls |
                                                kQuotedIdentifier | kAnsiNullDfltOn |
                                                kConcatNullYieldsNull;
} // namespace option_bit

// A statement prepared with sp_prepare / sp_prepexec.
struct PreparedStatement {
    std::string parameters; // the declaration list, "@p1 int"
    std::string statement;
};

struct SessionState {
    // identity (from LOGIN7)
    std::string login;
    std::string host_name;
    std::string app_name;
    std::string client_library;
    std::string client_address; // as the server saw it, if known
    std::uint16_t spid = 0;
    tds::Level level = tds::Level::V74;

    std::string login_database = "master"; // where RESETCONNECTION returns
    std::string database = "master";
    std::string language = "us_english";

    // SET options
    std::uint32_t options = option_bit::kLoginDefaults;
    std::int32_t text_size = 2147483647;
    std::int32_t date_first = 7;
    std::string date_format = "mdy";
    std::int32_t lock_timeout = -1;
    std::int64_t row_count_limit = 0;
    std::string isolation = "read committed";
    bool fmt_only = false;
    bool no_exec = false;
    bool parse_only = false;
    std::string deadlock_priority = "normal";

    // the transaction: @@TRANCOUNT and the descriptor ENVCHANGE 8 handed out
    std::int32_t tran_count = 0;
    std::uint64_t transaction = 0;
    std::uint64_t next_transaction = 0x0000000100000001ULL;
    std::vector<std::string> savepoints;
    std::string transaction_name;

    // @@ERROR, @@ROWCOUNT after the last statement
    std::int32_t last_error = 0;
    std::int64_t last_row_count = 0;

    std::map<std::int32_t, PreparedStatement> prepared;
    std::int32_t next_handle = 1;

    bool option(std::uint32_t bit) const { return (options & bit) != 0; }
};

} // namespace standin::sqlserver
