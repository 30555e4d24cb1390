#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include <tds/error.h>

namespace tds {

// RpcRequest: what an RPC message (packet type 0x03, MS-TDS 2.2.6.6) calls. Only the first call
// of a batched RPC is read: a lab records what was invoked, it does not execute it.
struct RpcRequest {
    std::string procedure; // name, or the well-known name of a ProcID
    std::optional<std::uint16_t> proc_id;
};

// decode_rpc reads ALL_HEADERS (TDS 7.2+) then NameLenProcID: a US_VARCHAR name, or 0xFFFF and
// a ProcID. Errors: BadAllHeaders, Truncated.
std::expected<RpcRequest, Error> decode_rpc(std::span<const std::uint8_t> payload,
                                            bool has_all_headers = true);

// well_known_procedure names the ProcIDs of MS-TDS 2.2.6.6 (10 = sp_executesql, ...).
std::string well_known_procedure(std::uint16_t id);

} // namespace tds
