#pragma once

#include <cstddef>
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

// tls_record_complete: the bytes hold at least one whole TLS record, or a record header that
// announces more than TLS allows (kMaxTlsRecord): nothing more is worth waiting for, the TLS
// endpoint refuses it at once (record_overflow) instead of the handshake timeout ending it.
inline constexpr std::size_t kMaxTlsRecord = 16384 + 2048; // TLSCiphertext: 2^14 + 2048
bool tls_record_complete(std::span<const std::uint8_t> bytes);

} // namespace proxy
