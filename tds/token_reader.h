#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tds/error.h>
#include <tds/tokens.h>
#include <tds/version.h>

namespace tds {

struct LoginAck {
    std::uint8_t interface = 0;
    std::uint32_t tds_version = 0;
    std::string prog_name;
    std::uint8_t major = 0;
    std::uint8_t minor = 0;
    std::uint16_t build = 0;
};

struct DoneToken {
    std::uint8_t type = token::kDone;
    std::uint16_t status = 0;
    std::uint16_t cur_cmd = 0;
    std::uint64_t row_count = 0;
};

// The new value of a routing ENVCHANGE (type 20): where the server sends the client.
struct RoutingTarget {
    std::uint8_t protocol = 0; // 0 = TCP, the only one defined
    std::uint16_t port = 0;
    std::string alternate_server; // "host" or "host\\instance"
};

struct EnvChange {
    std::uint8_t type = 0;
    std::string new_value; // decoded for the B_VARCHAR types (database, language, packet size)
    std::string old_value;
    std::optional<RoutingTarget> routing; // type 20
};

// TokenScan is what scan_tokens found in a server response, in order of appearance per kind.
struct TokenScan {
    std::vector<ServerMessage> errors;
    std::vector<ServerMessage> infos;
    std::optional<LoginAck> login_ack;
    std::size_t login_ack_end = 0; // with login_ack: the offset just past the LOGINACK token
    std::vector<EnvChange> env_changes;
    std::vector<DoneToken> dones;
    // Set when the walk stopped before the end: UnknownToken for a token it cannot size (e.g.
    // COLMETADATA, whose rows need the metadata), BadToken / Truncated for damaged data.
    std::optional<Error> stopped;
    std::size_t stopped_at = 0;
};

// scan_tokens walks a server response payload in the layouts of a protocol level and collects
// the tokens a proxy reasons about: ERROR, INFO, LOGINACK, ENVCHANGE and DONE*. Every length is
// checked.
TokenScan scan_tokens(std::span<const std::uint8_t> payload, Level level = Level::V74);

} // namespace tds
