#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tds {

// TDS versions as they appear in LOGIN7 (little-endian on the wire). MS-TDS appendix A note 69
// gives the values a server answers in LOGINACK (big-endian there); 7.0 and 7.1 answer
// differently from what the client sent.
namespace tds_version {
inline constexpr std::uint32_t k70 = 0x70000000;
inline constexpr std::uint32_t k71 = 0x71000001; // 7.1 revision 1 (SQL Server 2000 SP1)
inline constexpr std::uint32_t k71Rev0 = 0x71000000;
inline constexpr std::uint32_t k72 = 0x72090002;
inline constexpr std::uint32_t k73A = 0x730A0003;
inline constexpr std::uint32_t k73B = 0x730B0003;
inline constexpr std::uint32_t k74 = 0x74000004;
inline constexpr std::uint32_t k80 = 0x08000000;
// LOGINACK values that differ from the LOGIN7 ones.
inline constexpr std::uint32_t kAck70 = 0x07000000;
inline constexpr std::uint32_t kAck71Rev0 = 0x07010000;
} // namespace tds_version

// tds_version_name gives "7.4", "8.0", ... or the hex value.
std::string tds_version_name(std::uint32_t version);

// Level is the protocol generation whose wire layouts apply to a session. Everything that
// differs between generations asks the Level, never the raw version number.
enum class Level : std::uint8_t {
    V70,  // SQL Server 7.0
    V71,  // SQL Server 2000 (both revisions)
    V72,  // SQL Server 2005: ALL_HEADERS, 8-byte row counts, 4-byte line numbers, MAX types
    V73A, // SQL Server 2008: date/time types
    V73B, // SQL Server 2008 R2
    V74,  // SQL Server 2012 and later: FeatureExt, session recovery
    V80,  // TDS 8.0: 7.4's layouts, TLS first
};

std::string_view to_string(Level level);

// Negotiated is what a server makes of the version a client asks for in LOGIN7 (MS-TDS 2.2.6.4:
// a client asking for more than the server knows gets the server's highest; a client asking
// for less gets what it asked for).
struct Negotiated {
    Level level = Level::V74;
    std::uint32_t login_ack_version = tds_version::k74; // what LOGINACK carries
};

// negotiate answers as SQL Server 2022 does; nullopt for a version below 7.0 (TDS 4.2/5.0,
// which SQL Server 2022 refuses: it closes the connection).
std::optional<Negotiated> negotiate_version(std::uint32_t requested);

// level_of_login_ack: the level a server's LOGINACK version means (a proxy learns the
// session's layouts from it); nullopt for a value no server sends.
std::optional<Level> level_of_login_ack(std::uint32_t ack);

// What the generations add, by level (MS-TDS 2.2.5, 2.2.7; appendix A).
constexpr bool has_collation(Level l) {
    return l != Level::V70;
}
// ALL_HEADERS in SQL batch, RPC and TM requests; DONE row count ULONGLONG; ERROR/INFO line
// number LONG; COLMETADATA UserType ULONG; PLP (MAX) types; sql_variant; XML.
constexpr bool is_72_plus(Level l) {
    return l != Level::V70 && l != Level::V71;
}
// date, time, datetime2, datetimeoffset.
constexpr bool has_new_date_types(Level l) {
    return is_72_plus(l) && l != Level::V72;
}
// bigint (SQL Server 2000 introduced it; a 7.0 client gets decimal(19,0)).
constexpr bool has_bigint(Level l) {
    return l != Level::V70;
}

} // namespace tds
