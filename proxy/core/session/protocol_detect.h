#pragma once

// detect_protocol tells from a listener's protocol and the client's first bytes which adapter
// carries the session. With ListenerProtocol::Auto:
//   0x12                                   TDS 7.x (PRELOGIN)
//   00 00 00 08 04 D2 16 2F / 16 30        PostgreSQL SSLRequest / GSSENCRequest
//   00 00 00 10.. 04 D2 16 2E              PostgreSQL CancelRequest
//   Int32 length, 00 03 00 0x              PostgreSQL StartupMessage in clear (3.x)
//   0x16 (a TLS handshake record)          by the ClientHello's ALPN: "postgresql" is PostgreSQL
//                                          direct SSL; "tds/8.0" or none is TDS 8.0; any other is
//                                          generic TLS
//   anything else                          TDS (which relays it untouched as "unknown")
// A fixed listener protocol decides alone. MySQL is never detected: the server speaks first, so
// a MySQL listener gets its adapter at accept, before any client byte. nullopt: more bytes are
// needed (never more than one TLS record or eight bytes).

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <proxy/core/session/session_context.h>

namespace proxy {

enum class AdapterKind : std::uint8_t { Tds, Postgres, Tls, Mysql, Passthrough };
std::string_view to_string(AdapterKind k);

std::optional<AdapterKind> detect_protocol(ListenerProtocol listener,
                                           std::span<const std::uint8_t> first_bytes);

} // namespace proxy
