#pragma once

// SCRAM-SHA-256 message syntax (RFC 5802, RFC 7677) as PostgreSQL uses it inside
// SASLInitialResponse / SASLContinue / SASLResponse / SASLFinal. Text parsing only: the
// cryptography (PBKDF2, HMAC, SHA-256) lives with whoever holds the keys. Standard library only.
//
// The parsers follow the RFC 5802 grammar as PostgreSQL applies it: attributes in their fixed
// order, a mandatory extension ("m=") refused, optional extensions after the fixed attributes
// accepted and dropped, nonces printable, user names with ',' and '=' escaped as "=2C" / "=3D"
// (an empty user name is accepted: libpq sends "n="), proofs and verifiers 32 bytes. Errors: the
// text ends before a required attribute (Truncated), an attribute malformed, out of order or
// invalid (BadValue), anything after the proof of a client-final-message (TrailingBytes).

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pg/messages.h>

namespace pg::scram {

inline constexpr std::string_view kMechanism = "SCRAM-SHA-256";
inline constexpr std::string_view kMechanismPlus = "SCRAM-SHA-256-PLUS";
inline constexpr std::string_view kTlsServerEndPoint = "tls-server-end-point";

// The gs2 channel-binding flag: 'n' (client does not support it), 'y' (client supports it but
// thinks the server does not), 'p' (client uses it; `binding_name` says which type).
struct ClientFirst {
    char binding_flag = 'n';
    std::string binding_name; // "tls-server-end-point" with 'p'
    std::string authzid;      // usually empty
    std::string user;         // PostgreSQL clients send "" (the startup user counts)
    std::string nonce;
    std::string gs2_header; // "n,," / "y,," / "p=tls-server-end-point,,"
    std::string bare;       // client-first-message-bare: "n=...,r=..."
};
struct ServerFirst {
    std::string nonce; // client nonce + server nonce
    std::vector<std::uint8_t> salt;
    std::uint32_t iterations = 0;
};
struct ClientFinal {
    std::vector<std::uint8_t> channel_binding; // decoded c=: gs2 header (+ binding data)
    std::string nonce;
    std::vector<std::uint8_t> proof;
    std::string without_proof; // "c=...,r=..." as sent: part of the AuthMessage
};
struct ServerFinal {
    std::optional<std::vector<std::uint8_t>> verifier; // v=
    std::optional<std::string> error;                  // e=
};

std::expected<ClientFirst, Error> parse_client_first(std::string_view text);
std::expected<ServerFirst, Error> parse_server_first(std::string_view text);
std::expected<ClientFinal, Error> parse_client_final(std::string_view text);
std::expected<ServerFinal, Error> parse_server_final(std::string_view text);

std::string server_first(const ServerFirst& s);                     // "r=...,s=...,i=..."
std::string server_final_verifier(std::span<const std::uint8_t> v); // "v=..."
std::string server_final_error(std::string_view e);                 // "e=..."
// client_first builds the message from binding_flag, binding_name, authzid, user and nonce
// (gs2_header and bare are what a parse saw; they are not read here).
std::string client_first(const ClientFirst& c); // gs2 header + bare
// client_final: c.without_proof + ",p=...", or, when without_proof is empty,
// client_final_without_proof(c) + ",p=...".
std::string client_final(const ClientFinal& c); // without_proof + ",p=..."

// gs2_header of the structured fields: "n,,", "y,,", "p=tls-server-end-point,," (+ "a=...").
std::string gs2_header(const ClientFirst& c);
// client_final_without_proof: "c=" base64(channel_binding) ",r=" nonce, the part of the
// AuthMessage a proof is computed over.
std::string client_final_without_proof(const ClientFinal& c);
// channel_binding_input: what the client-final "c=" carries (decoded) for this client-first:
// the gs2 header, followed by `binding_data` (the certificate hash for tls-server-end-point)
// when the flag is 'p'.
std::vector<std::uint8_t> channel_binding_input(const ClientFirst& c,
                                                std::span<const std::uint8_t> binding_data);

// base64 with the standard alphabet and padding; decoding refuses white space, a missing or
// misplaced '=' and foreign characters (BadValue). Like PostgreSQL's pg_b64_decode it does not
// insist that the unused bits before '=' be zero, so "Zh==" decodes as "Zg==" does.
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::expected<std::vector<std::uint8_t>, Error> base64_decode(std::string_view text);

} // namespace pg::scram
