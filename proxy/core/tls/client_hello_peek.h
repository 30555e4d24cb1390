#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace proxy {

// peek_sni reads the server_name of a ClientHello from the first TLS record's bytes, before any
// TLS object exists (so a lab can choose the certificate by SNI). Bounds-checked; nullopt when
// the record is incomplete or is not a ClientHello; "" when it carries no server_name.
std::optional<std::string> peek_sni(std::span<const std::uint8_t> record);

// peek_alpn reads the protocols of the ClientHello's ALPN extension, in the client's order;
// empty when it offers none; nullopt when the record is incomplete or not a ClientHello.
std::optional<std::vector<std::string>> peek_alpn(std::span<const std::uint8_t> record);

// tls_record_complete: the bytes hold at least one whole TLS record.
bool tls_record_complete(std::span<const std::uint8_t> bytes);

} // namespace proxy
