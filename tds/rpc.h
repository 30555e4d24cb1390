#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tds/all_headers.h>
#include <tds/error.h>
#include <tds/sql_types.h>
#include <tds/version.h>

namespace tds {

// Well-known procedure ids (MS-TDS 2.2.6.6 NameLenProcID).
namespace proc_id {
inline constexpr std::uint16_t kCursor = 1;
inline constexpr std::uint16_t kCursorOpen = 2;
inline constexpr std::uint16_t kCursorPrepare = 3;
inline constexpr std::uint16_t kCursorExecute = 4;
inline constexpr std::uint16_t kCursorPrepExec = 5;
inline constexpr std::uint16_t kCursorUnprepare = 6;
inline constexpr std::uint16_t kCursorFetch = 7;
inline constexpr std::uint16_t kCursorOption = 8;
inline constexpr std::uint16_t kCursorClose = 9;
inline constexpr std::uint16_t kExecuteSql = 10;
inline constexpr std::uint16_t kPrepare = 11;
inline constexpr std::uint16_t kExecute = 12;
inline constexpr std::uint16_t kPrepExec = 13;
inline constexpr std::uint16_t kPrepExecRpc = 14;
inline constexpr std::uint16_t kUnprepare = 15;
} // namespace proc_id

// RPC option flags and parameter status flags (MS-TDS 2.2.6.6).
namespace rpc_flag {
inline constexpr std::uint16_t kWithRecompile = 0x01;
inline constexpr std::uint16_t kNoMetaData = 0x02;
inline constexpr std::uint16_t kReuseMetaData = 0x04;
inline constexpr std::uint8_t kByRefValue = 0x01; // an output parameter
inline constexpr std::uint8_t kDefaultValue = 0x02;
inline constexpr std::uint8_t kEncrypted = 0x08;
} // namespace rpc_flag

struct RpcParameter {
    std::string name; // "@p1", or empty for a positional parameter
    std::uint8_t status = 0;
    std::uint8_t type_token = 0; // the TYPE_INFO token the client used
    TypedValue value;

    bool is_output() const { return (status & rpc_flag::kByRefValue) != 0; }
};

// RpcCall is one procedure call of an RPC request.
struct RpcCall {
    std::string procedure; // the name, or the well-known name of a ProcID
    std::optional<std::uint16_t> proc_id;
    std::uint16_t option_flags = 0;
    std::vector<RpcParameter> parameters;
};

// RpcRequest: an RPC message (packet type 0x03): ALL_HEADERS (7.2+), then one or more calls
// separated by a batch flag (0x80 from 7.2, 0xFF before; 0xFE = NoExec, 7.2+).
struct RpcRequest {
    AllHeaders headers;
    std::vector<RpcCall> calls;
    // Set when a parameter could not be read (an unknown type, a bad length): the calls before
    // are complete, the failing call is the last one, holding the parameters read before.
    std::optional<Error> parameter_error;
    std::size_t failed_parameter = 0; // 1-based ordinal of the unreadable parameter
    std::uint8_t failed_type_token = 0;
    std::string failed_parameter_name;

    // Convenience for records: the first call's procedure.
    std::string procedure() const {
        return calls.empty() ? std::string() : calls.front().procedure;
    }
};

// decode_rpc reads an RPC request at a protocol level. Errors: BadAllHeaders, Truncated (in the
// procedure name or flags); a bad parameter is reported in parameter_error, not as an error, so
// a server can answer the calls it could read.
std::expected<RpcRequest, Error> decode_rpc(std::span<const std::uint8_t> payload, Level level);

// well_known_procedure names the ProcIDs of MS-TDS 2.2.6.6 (10 = sp_executesql, ...).
std::string well_known_procedure(std::uint16_t id);

} // namespace tds
