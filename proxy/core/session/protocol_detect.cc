#include <algorithm>

#include <proxy/core/session/protocol_detect.h>
#include <proxy/core/tls/client_hello_peek.h>

namespace proxy {

namespace {

constexpr std::uint8_t kTdsPrelogin = 0x12;
constexpr std::uint8_t kTlsHandshake = 0x16;

std::uint32_t be32(std::span<const std::uint8_t> b) {
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
}

// looks_like_postgres: an SSLRequest, GSSENCRequest, CancelRequest or a 3.x StartupMessage.
bool looks_like_postgres(std::span<const std::uint8_t> b) {
    std::uint32_t length = be32(b.first(4));
    std::uint32_t code = be32(b.subspan(4, 4));
    constexpr std::uint32_t kRequestBase = 1234u << 16;
    if ((code >> 16) == 1234u) {
        return code >= kRequestBase + 5678 && code <= kRequestBase + 5680 && length >= 8 &&
               length <= 264;
    }
    return (code >> 16) == 3 && length >= 8 && length <= 10000;
}

} // namespace

std::string_view to_string(AdapterKind k) {
    switch (k) {
    case AdapterKind::Tds:
        return "tds";
    case AdapterKind::Postgres:
        return "postgres";
    case AdapterKind::Tls:
        return "tls";
    case AdapterKind::Mysql:
        return "mysql";
    case AdapterKind::Passthrough:
        return "passthrough";
    }
    return "?";
}

std::optional<AdapterKind> detect_protocol(ListenerProtocol listener,
                                           std::span<const std::uint8_t> first_bytes) {
    switch (listener) {
    case ListenerProtocol::Tds:
        return AdapterKind::Tds;
    case ListenerProtocol::Postgres:
        return AdapterKind::Postgres;
    case ListenerProtocol::Tls:
        return AdapterKind::Tls;
    case ListenerProtocol::Mysql:
        return AdapterKind::Mysql; // no client byte needed: the server speaks first
    case ListenerProtocol::Auto:
        break;
    }
    if (first_bytes.empty()) {
        return std::nullopt;
    }
    if (first_bytes[0] == kTdsPrelogin) {
        return AdapterKind::Tds;
    }
    if (first_bytes[0] == kTlsHandshake) {
        if (!tls_record_complete(first_bytes)) {
            return std::nullopt;
        }
        auto alpn = peek_alpn(first_bytes);
        if (!alpn || alpn->empty()) {
            return AdapterKind::Tds; // TDS 8.0 clients that send no ALPN, or not a ClientHello
        }
        auto offers = [&](std::string_view p) {
            return std::find(alpn->begin(), alpn->end(), p) != alpn->end();
        };
        if (offers("postgresql")) {
            return AdapterKind::Postgres;
        }
        if (offers("tds/8.0")) {
            return AdapterKind::Tds;
        }
        return AdapterKind::Tls;
    }
    if (first_bytes[0] == 0x00) {
        if (first_bytes.size() < 8) {
            return std::nullopt;
        }
        if (looks_like_postgres(first_bytes)) {
            return AdapterKind::Postgres;
        }
    }
    return AdapterKind::Tds;
}

} // namespace proxy
