#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tds/error.h>
#include <tds/version.h>

namespace tds {

// FeatureExt ids (MS-TDS 2.2.6.4) worth naming.
namespace feature_id {
inline constexpr std::uint8_t kSessionRecovery = 0x01;
inline constexpr std::uint8_t kFedAuth = 0x02;
inline constexpr std::uint8_t kColumnEncryption = 0x04;
inline constexpr std::uint8_t kGlobalTransactions = 0x05;
inline constexpr std::uint8_t kAzureSqlSupport = 0x08;
inline constexpr std::uint8_t kDataClassification = 0x09;
inline constexpr std::uint8_t kUtf8Support = 0x0A;
inline constexpr std::uint8_t kAzureSqlDnsCaching = 0x0B;
inline constexpr std::uint8_t kTerminator = 0xFF;
} // namespace feature_id

struct FeatureExt {
    std::uint8_t id = 0;
    std::vector<std::uint8_t> data;
};

enum class AuthKind : std::uint8_t {
    Sql,     // user name and (obfuscated) password in LOGIN7
    Sspi,    // fIntSecurity: NTLM/Kerberos blob
    FedAuth, // Entra ID: FeatureExt 0x02, a bearer token follows or is inside
};
std::string_view to_string(AuthKind k);

// LOGIN7 option flags (MS-TDS 2.2.6.4) used here.
namespace login7_flag {
inline constexpr std::uint8_t kIntSecurity = 0x80;    // OptionFlags2
inline constexpr std::uint8_t kReadOnlyIntent = 0x20; // TypeFlags
inline constexpr std::uint8_t kExtension = 0x10;      // OptionFlags3
} // namespace login7_flag

// Login7 is a decoded LOGIN7 payload. Strings are UTF-8; the password is de-obfuscated (it
// is only obfuscated on the wire: anyone who reads LOGIN7 reads it).
struct Login7 {
    std::uint32_t length = 0;
    std::uint32_t tds_version = 0; // numeric, e.g. 0x74000004
    std::uint32_t packet_size = 0;
    std::uint32_t client_prog_ver = 0;
    std::uint32_t client_pid = 0;
    std::uint32_t connection_id = 0;
    std::uint8_t option_flags1 = 0;
    std::uint8_t option_flags2 = 0;
    std::uint8_t type_flags = 0;
    std::uint8_t option_flags3 = 0;
    std::int32_t client_time_zone = 0;
    std::uint32_t client_lcid = 0;
    std::string host_name;
    std::string user_name;
    std::string password;
    std::string app_name;
    std::string server_name;
    std::string library_name;
    std::string language;
    std::string database;
    std::string attach_db_file;
    std::string change_password;
    std::array<std::uint8_t, 6> client_id{};
    std::vector<std::uint8_t> sspi;
    std::vector<FeatureExt> features;

    AuthKind auth_kind() const;
    const FeatureExt* feature(std::uint8_t id) const;
};

// decode_login7 parses a whole LOGIN7 message payload (all packets joined). Errors: Truncated
// (shorter than the fixed part or than its Length field), BadLogin7 (Length below the fixed
// part), StringOutOfBounds (an offset/length pair outside the message), NoTerminator
// (FeatureExt without 0xFF).
std::expected<Login7, Error> decode_login7(std::span<const std::uint8_t> payload);

// encode_login7 writes a LOGIN7 payload (TDS 7.2+ fixed part, FeatureExt when features are
// present). The inverse of decode_login7; used by tests and by lab clients.
std::vector<std::uint8_t> encode_login7(const Login7& login);

// MS-TDS 2.2.6.4: each byte of the UTF-16LE password has its nibbles swapped, then XOR 0xA5.
std::vector<std::uint8_t> obfuscate_password(std::span<const std::uint8_t> utf16le);
std::vector<std::uint8_t> deobfuscate_password(std::span<const std::uint8_t> wire);

} // namespace tds
