#pragma once

// The connection phase (MySQL docs "Connection Phase Packets"; MariaDB KB "1 - Connecting"):
//
//   server: HandshakeV10 (the greeting), or an ERR packet (e.g. too many connections)
//   client: SSLRequest (32 bytes, CLIENT_SSL set), then TLS, then HandshakeResponse41;
//           or HandshakeResponse41 in clear
//   server: OK | ERR | AuthSwitchRequest (0xFE) | AuthMoreData (0x01, plugin data)
//   client: plugin data (raw, e.g. a scramble, a password, 0x02 "send me your public key")
//   ... until OK or ERR
//
// Standard library only; no hashing here (the scrambles live with the stand-in). Decoders take a
// packet payload and are bounds-checked; encoders write what the decoders read.

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <mysql/wire.h>

namespace mysql {

// HandshakeV10. decode_handshake followed by encode_handshake gives back the same bytes for
// every greeting MySQL 5.5-9.x and MariaDB 10.x-11.x send (the reserved filler, the declared
// auth-plugin-data length and the trailing NUL are kept as read), so a proxy that changes only
// `capabilities` relays everything else faithfully.
struct Handshake {
    std::uint8_t protocol_version = 10;
    std::string server_version; // "8.0.40", "5.5.5-10.11.6-MariaDB-0+deb12u1", "11.4.4-MariaDB"
    std::uint32_t connection_id = 0;
    // The whole scramble: part 1 (8 bytes) then part 2 (12 or more), without part 2's NUL.
    std::vector<std::uint8_t> auth_plugin_data;
    std::uint32_t capabilities = 0; // lower 32 bits (both servers)
    std::uint8_t character_set = 0;
    std::uint16_t status_flags = 0;
    // The auth-plugin-data length byte as sent (0 without CLIENT_PLUGIN_AUTH; 21 usually).
    std::uint8_t auth_plugin_data_length = 0;
    // The 10 reserved bytes after it; MariaDB puts its extended capabilities in the last 4.
    std::array<std::uint8_t, 10> reserved{};
    bool part2_terminated = true; // part 2 ended with a NUL (every known server)
    std::string auth_plugin_name; // with CLIENT_PLUGIN_AUTH
    bool plugin_name_terminated = true;

    bool is_mariadb() const { return (capabilities & 1U) == 0; } // CLIENT_MYSQL clear
    // MariaDB's extended capabilities (0 for MySQL).
    std::uint32_t mariadb_capabilities() const;
    void set_mariadb_capabilities(std::uint32_t caps);
};
std::expected<Handshake, Error> decode_handshake(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_handshake(const Handshake& h);

// What the client sends first: an SSLRequest (exactly the first 32 bytes of a
// HandshakeResponse41, with CLIENT_SSL) or the whole HandshakeResponse41.
struct SslRequest {
    std::uint32_t capabilities = 0;
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    std::uint32_t mariadb_capabilities = 0; // the last 4 filler bytes (MariaDB clients)
};

struct HandshakeResponse {
    std::uint32_t capabilities = 0;
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    std::uint32_t mariadb_capabilities = 0;
    std::string user;
    std::vector<std::uint8_t> auth_response; // lenenc, 1-byte length, or NUL-terminated
    std::optional<std::string> database;     // with CLIENT_CONNECT_WITH_DB
    std::optional<std::string> auth_plugin;  // with CLIENT_PLUGIN_AUTH
    std::vector<std::pair<std::string, std::string>> attributes; // CLIENT_CONNECT_ATTRS
    std::optional<std::uint8_t> zstd_level; // CLIENT_ZSTD_COMPRESSION_ALGORITHM
};

// is_ssl_request: a 32-byte payload with CLIENT_SSL (what MySQL's server tests).
bool is_ssl_request(std::span<const std::uint8_t> payload);
std::expected<SslRequest, Error> decode_ssl_request(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_ssl_request(const SslRequest& r);
// decode_handshake_response: HandshakeResponse41 only (a payload without CLIENT_PROTOCOL_41 is
// Unsupported: HandshakeResponse320). Trailing bytes after the attributes are allowed (servers
// ignore them; some clients pad).
std::expected<HandshakeResponse, Error>
decode_handshake_response(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_handshake_response(const HandshakeResponse& r);

// What the server may send during authentication.
struct AuthSwitchRequest { // 0xFE + plugin name NUL + plugin data (to end; trailing NUL kept)
    std::string plugin;
    std::vector<std::uint8_t> data;
};
struct AuthMoreData { // 0x01 + data
    std::vector<std::uint8_t> data;
};
std::expected<AuthSwitchRequest, Error> decode_auth_switch(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_auth_switch(const AuthSwitchRequest& r);
std::expected<AuthMoreData, Error> decode_auth_more_data(std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_auth_more_data(const AuthMoreData& r);

// COM_CHANGE_USER (0x11): user, auth response, database, charset, plugin, attributes.
struct ChangeUser {
    std::string user;
    std::vector<std::uint8_t> auth_response;
    std::string database;
    std::optional<std::uint16_t> character_set;
    std::optional<std::string> auth_plugin;
    std::vector<std::pair<std::string, std::string>> attributes;
};
// caps: the capabilities agreed for the session (they decide the field forms).
std::expected<ChangeUser, Error> decode_change_user(std::span<const std::uint8_t> payload,
                                                    std::uint32_t caps);

} // namespace mysql
