#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tds/all_headers.h>
#include <tds/error.h>
#include <tds/version.h>

namespace tds {

// Transaction Manager request types (MS-TDS 2.2.6.9; 5-9 since TDS 7.2).
enum class TmRequestType : std::uint16_t {
    GetDtcAddress = 0,
    PropagateXact = 1,
    BeginXact = 5,
    PromoteXact = 6,
    CommitXact = 7,
    RollbackXact = 8,
    SaveXact = 9,
};

std::string_view to_string(TmRequestType t);

// Isolation levels of TM_BEGIN_XACT and the piggy-backed begin of commit/rollback.
enum class IsolationLevel : std::uint8_t {
    NoChange = 0,
    ReadUncommitted = 1,
    ReadCommitted = 2,
    RepeatableRead = 3,
    Serializable = 4,
    Snapshot = 5,
};

std::string_view to_string(IsolationLevel l);

// TmRequest is a Transaction Manager request (packet type 0x0E).
struct TmRequest {
    AllHeaders headers;
    std::uint16_t raw_type = 0; // as sent, even when not a known TmRequestType
    bool known_type = false;
    TmRequestType type = TmRequestType::GetDtcAddress;
    IsolationLevel isolation = IsolationLevel::NoChange;
    std::string name;         // transaction or savepoint name (UTF-8)
    bool begin_after = false; // commit/rollback: fBeginXact, start a new transaction after
    IsolationLevel new_isolation = IsolationLevel::NoChange;
    std::string new_name;
    std::vector<std::uint8_t> opaque; // TM_GET_DTC_ADDRESS / TM_PROPAGATE_XACT payload
};

// decode_tm_request reads a TM request at a protocol level. Errors: BadAllHeaders, Truncated,
// BadRequest (an isolation level out of range, a name of odd length).
std::expected<TmRequest, Error> decode_tm_request(std::span<const std::uint8_t> payload,
                                                  Level level);

} // namespace tds
