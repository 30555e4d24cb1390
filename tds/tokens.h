#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tds/byte_writer.h>
#include <tds/sql_types.h>
#include <tds/version.h>

namespace tds {

// Token types (MS-TDS 2.2.7).
namespace token {
inline constexpr std::uint8_t kReturnStatus = 0x79;
inline constexpr std::uint8_t kColMetadata = 0x81;
inline constexpr std::uint8_t kOrder = 0xA9;
inline constexpr std::uint8_t kError = 0xAA;
inline constexpr std::uint8_t kReturnValue = 0xAC;
inline constexpr std::uint8_t kInfo = 0xAB;
inline constexpr std::uint8_t kLoginAck = 0xAD;
inline constexpr std::uint8_t kFeatureExtAck = 0xAE;
inline constexpr std::uint8_t kRow = 0xD1;
inline constexpr std::uint8_t kNbcRow = 0xD2;
inline constexpr std::uint8_t kEnvChange = 0xE3;
inline constexpr std::uint8_t kSessionState = 0xE4;
inline constexpr std::uint8_t kSspi = 0xED;
inline constexpr std::uint8_t kFedAuthInfo = 0xEE;
inline constexpr std::uint8_t kDone = 0xFD;
inline constexpr std::uint8_t kDoneProc = 0xFE;
inline constexpr std::uint8_t kDoneInProc = 0xFF;
} // namespace token

// DONE status bits (MS-TDS 2.2.7.6).
namespace done_status {
inline constexpr std::uint16_t kFinal = 0x0000;
inline constexpr std::uint16_t kMore = 0x0001;
inline constexpr std::uint16_t kError = 0x0002;
inline constexpr std::uint16_t kInXact = 0x0004;
inline constexpr std::uint16_t kCount = 0x0010;
inline constexpr std::uint16_t kAttention = 0x0020;
inline constexpr std::uint16_t kRpcInBatch = 0x0080;
inline constexpr std::uint16_t kServerError = 0x0100;
} // namespace done_status

// ENVCHANGE types (MS-TDS 2.2.7.9).
namespace env_type {
inline constexpr std::uint8_t kDatabase = 1;
inline constexpr std::uint8_t kLanguage = 2;
inline constexpr std::uint8_t kCharset = 3;
inline constexpr std::uint8_t kPacketSize = 4;
inline constexpr std::uint8_t kCollation = 7;
inline constexpr std::uint8_t kRouting = 20;
} // namespace env_type

// CurCmd values SQL Server reports in DONE tokens (the application layer's statement token;
// MS-TDS leaves them to the server). Observed values: SELECT 0xC1, and for the rest the
// T-SQL statement tokens (clients do not evaluate them).
namespace cur_cmd {
inline constexpr std::uint16_t kNone = 0x00;
inline constexpr std::uint16_t kSet = 0xB9;
inline constexpr std::uint16_t kSelect = 0xC1;
inline constexpr std::uint16_t kInsert = 0xC3;
inline constexpr std::uint16_t kDelete = 0xC4;
inline constexpr std::uint16_t kUpdate = 0xC5;
inline constexpr std::uint16_t kRollback = 0xD2;
inline constexpr std::uint16_t kBeginTran = 0xD4;
inline constexpr std::uint16_t kCommit = 0xD5;
inline constexpr std::uint16_t kExecute = 0xE0;
inline constexpr std::uint16_t kUse = 0xE2;
inline constexpr std::uint16_t kSave = 0xE4;
inline constexpr std::uint16_t kPrint = 0xDA;
} // namespace cur_cmd
inline constexpr std::uint16_t kCurCmdSelect = cur_cmd::kSelect;

// More ENVCHANGE types (MS-TDS 2.2.7.9): transactions carry 8-byte descriptors (B_VARBYTE).
namespace env_type {
inline constexpr std::uint8_t kBeginTransaction = 8;
inline constexpr std::uint8_t kCommitTransaction = 9;
inline constexpr std::uint8_t kRollbackTransaction = 10;
inline constexpr std::uint8_t kEnlistDtcTransaction = 11;
inline constexpr std::uint8_t kDefectTransaction = 12;
inline constexpr std::uint8_t kTransactionEnded = 17;
inline constexpr std::uint8_t kResetConnectionAck = 18;
} // namespace env_type

// A message in an ERROR or INFO token.
struct ServerMessage {
    std::uint32_t number = 0;
    std::uint8_t state = 1;
    std::uint8_t severity = 0; // "class": 11+ is an error, 20+ fatal; SQL Server sends 0 for INFO
    std::string text;
    std::string server_name;
    std::string proc_name;
    std::uint32_t line = 0;
};

// A result-set column: its name and declared type (type_info.h turns it into the wire type).
struct Column {
    std::string name;
    TypeInfo type;
};

// TokenWriter appends server tokens to one response message payload, in the layouts of one
// protocol level (MS-TDS 2.2.7): before 7.2 ERROR/INFO line numbers are USHORT, DONE row counts
// LONG and COLMETADATA user types USHORT; data types a level does not know are sent the way
// SQL Server sends them to down-level clients (type_info.h, wire_type).
class TokenWriter {
  public:
    explicit TokenWriter(Level level = Level::V74) : level_(level) {}

    Level level() const { return level_; }

    // LOGINACK: Interface 1 (SQL; FreeTDS insists), TDS version written big-endian.
    TokenWriter& login_ack(std::uint32_t tds_version, std::string_view prog_name,
                           std::uint8_t major, std::uint8_t minor, std::uint16_t build);
    TokenWriter& env_change(std::uint8_t type, std::string_view new_value,
                            std::string_view old_value);
    TokenWriter& env_change_bytes(std::uint8_t type, std::span<const std::uint8_t> new_value,
                                  std::span<const std::uint8_t> old_value);
    // ENVCHANGE 20 (routing, MS-TDS 2.2.7.9): new value US_VARBYTE = Protocol BYTE (0 = TCP),
    // ProtocolProperty USHORT (the port), AlternateServer US_VARCHAR; old value empty (00 00).
    // Sent after LOGINACK in a login response.
    TokenWriter& env_routing(std::uint16_t port, std::string_view alternate_server);
    // ENVCHANGE 8-12 and 17: a transaction descriptor as new and/or old value.
    TokenWriter& env_transaction(std::uint8_t type, std::optional<std::uint64_t> new_descriptor,
                                 std::optional<std::uint64_t> old_descriptor);
    TokenWriter& info(const ServerMessage& m);
    TokenWriter& error(const ServerMessage& m);
    TokenWriter& done(std::uint16_t status, std::uint16_t cur_cmd = 0, std::uint64_t row_count = 0,
                      std::uint8_t token_type = token::kDone);
    TokenWriter& col_metadata(std::span<const Column> columns);
    TokenWriter& row(std::span<const Column> columns, std::span<const Value> values);
    TokenWriter& return_status(std::int32_t status);
    // RETURNVALUE (MS-TDS 2.2.7.19) for an output parameter of an RPC.
    TokenWriter& return_value(std::uint16_t ordinal, std::string_view name, const TypeInfo& type,
                              const Value& value);
    // FEATUREEXTACK acknowledging the given feature ids with empty data.
    TokenWriter& feature_ext_ack(std::span<const std::uint8_t> ids);

    std::size_t size() const { return w_.size(); }
    std::vector<std::uint8_t> take() { return w_.take(); }

  private:
    void b_varchar(std::string_view s);
    void us_varchar(std::string_view s);
    void message(std::uint8_t type, const ServerMessage& m);

    Level level_;
    ByteWriter w_;
};

} // namespace tds
