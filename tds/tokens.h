#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tds/byte_writer.h>

namespace tds {

// Token types (MS-TDS 2.2.7).
namespace token {
inline constexpr std::uint8_t kReturnStatus = 0x79;
inline constexpr std::uint8_t kColMetadata = 0x81;
inline constexpr std::uint8_t kOrder = 0xA9;
inline constexpr std::uint8_t kError = 0xAA;
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

inline constexpr std::uint16_t kCurCmdSelect = 0xC1;
// SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with flags, sort id 52 (Microsoft's test server).
inline constexpr std::uint8_t kDefaultCollation[5] = {0x09, 0x04, 0xD0, 0x00, 0x34};

// A message in an ERROR or INFO token.
struct ServerMessage {
    std::uint32_t number = 0;
    std::uint8_t state = 1;
    std::uint8_t severity = 0; // "class": 11+ is an error, 20+ fatal
    std::string text;
    std::string server_name;
    std::string proc_name;
    std::uint32_t line = 0;
};

enum class ColumnType : std::uint8_t {
    IntN,     // INTN(4): nullable int
    NVarChar, // NVARCHAR(4000)
};

struct Column {
    std::string name;
    ColumnType type = ColumnType::IntN;
};

using Value = std::variant<std::monostate, std::int32_t, std::string>; // monostate = NULL

// TokenWriter appends server tokens (TDS 7.2+ layouts) to one response message payload.
class TokenWriter {
  public:
    // LOGINACK: Interface 1 (SQL; FreeTDS insists), TDS version written big-endian.
    TokenWriter& login_ack(std::uint32_t tds_version, std::string_view prog_name,
                           std::uint8_t major, std::uint8_t minor, std::uint16_t build);
    TokenWriter& env_change(std::uint8_t type, std::string_view new_value,
                            std::string_view old_value);
    TokenWriter& env_change_bytes(std::uint8_t type, std::span<const std::uint8_t> new_value,
                                  std::span<const std::uint8_t> old_value);
    TokenWriter& info(const ServerMessage& m);
    TokenWriter& error(const ServerMessage& m);
    TokenWriter& done(std::uint16_t status, std::uint16_t cur_cmd = 0, std::uint64_t row_count = 0,
                      std::uint8_t token_type = token::kDone);
    TokenWriter& col_metadata(std::span<const Column> columns);
    TokenWriter& row(std::span<const Column> columns, std::span<const Value> values);
    // FEATUREEXTACK acknowledging the given feature ids with empty data.
    TokenWriter& feature_ext_ack(std::span<const std::uint8_t> ids);

    std::size_t size() const { return w_.size(); }
    std::vector<std::uint8_t> take() { return w_.take(); }

  private:
    void b_varchar(std::string_view s);
    void us_varchar(std::string_view s);
    void message(std::uint8_t type, const ServerMessage& m);

    ByteWriter w_;
};

} // namespace tds
