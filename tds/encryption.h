#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tds {

// PRELOGIN ENCRYPTION values (MS-TDS 2.2.6.5). Strict (0x04) is not in the 7.x table: go-mssqldb
// sends it inside TDS 8.0 TLS, where every client ignores the server's answer.
enum class Encryption : std::uint8_t {
    Off = 0x00,
    On = 0x01,
    NotSupported = 0x02,
    Required = 0x03,
    Strict = 0x04,
};

inline constexpr std::uint8_t kClientCertBit = 0x80;
// SqlClient masks the server's value with 0x3F (OPTIONS_MASK) before comparing; so do we.
inline constexpr std::uint8_t kEncryptionOptionsMask = 0x3F;

std::string_view to_string(Encryption e);
// encryption_name gives "OFF", "ON", "NOT_SUP", "REQ", "STRICT" or "0xNN" for any raw byte,
// with "+CLIENT_CERT" when the 0x80 bit is set.
std::string encryption_name(std::uint8_t raw);
// decode_encryption masks the flag bits and returns the base value, nullopt for unknown values.
std::optional<Encryption> decode_encryption(std::uint8_t raw);

// How a leg carries TDS after PRELOGIN.
enum class EncryptionMode : std::uint8_t {
    None,      // plaintext throughout
    LoginOnly, // TLS for the first LOGIN7 packet only, then plaintext (client OFF, server OFF)
    Full,      // TLS for everything after the handshake
};
std::string_view to_string(EncryptionMode m);

// The server's configuration as in SQL Server Configuration Manager.
enum class ServerEncryption : std::uint8_t {
    Off,          // Force Encryption = No, certificate available
    On,           // Force Encryption = Yes
    NotSupported, // no certificate at all
};

struct Negotiation {
    Encryption answer = Encryption::NotSupported;
    EncryptionMode mode = EncryptionMode::None;
    // true when the table says the connection cannot go on (a client that cannot encrypt meets
    // a server that forces encryption, or the reverse): the client is expected to give up.
    bool terminate = false;
};

// negotiate applies the MS-TDS 2.2.6.5 table: the server's answer to a client ENCRYPTION value
// and the mode both ends then use.
Negotiation negotiate(Encryption client, ServerEncryption server);

// expected_mode is the mode a client should use given what it sent and what it was answered
// (the second table of MS-TDS 2.2.6.5). nullopt where the client should terminate.
std::optional<EncryptionMode> expected_mode(Encryption client, Encryption answer);

} // namespace tds
