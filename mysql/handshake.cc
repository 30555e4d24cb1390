#include <algorithm>

#include <mysql/constants.h>
#include <mysql/handshake.h>

// TRY(name, expr): evaluate a std::expected, return its error, else bind its value to `name`.
#define MYSQL_TRY(name, expr)                                                                      \
    auto name##_result = (expr);                                                                   \
    if (!name##_result) {                                                                          \
        return std::unexpected(name##_result.error());                                             \
    }                                                                                              \
    auto name = std::move(*name##_result)

namespace mysql {

namespace {

constexpr std::size_t kScramblePart1 = 8;
constexpr std::size_t kMinPart2 = 13; // 12 bytes and a NUL in every known server
constexpr std::size_t kSslRequestSize = 32;
constexpr std::size_t kResponseFiller = 23;   // HandshakeResponse41 filler after charset
constexpr std::size_t kMariaDbCapsOffset = 6; // in the greeting's 10 reserved bytes
constexpr std::uint8_t kAuthSwitchHeader = 0xFE;
constexpr std::uint8_t kAuthMoreDataHeader = 0x01;
constexpr std::uint8_t kErrHeader = 0xFF;
constexpr std::uint8_t kProtocolVersion = 10;

std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// Connection attributes: a lenenc total length, then lenenc key / lenenc value pairs.
std::expected<std::vector<std::pair<std::string, std::string>>, Error> read_attributes(Reader& r) {
    MYSQL_TRY(total, r.lenenc_int());
    if (!total) {
        return std::unexpected(Error::BadValue);
    }
    if (*total > r.remaining()) {
        return std::unexpected(*total > kDefaultMaxPacket ? Error::TooLong : Error::Truncated);
    }
    MYSQL_TRY(block, r.bytes(static_cast<std::size_t>(*total)));
    Reader attrs(block);
    std::vector<std::pair<std::string, std::string>> out;
    while (!attrs.at_end()) {
        MYSQL_TRY(key, attrs.lenenc_string());
        MYSQL_TRY(value, attrs.lenenc_string());
        if (!key || !value) {
            return std::unexpected(Error::BadValue);
        }
        out.emplace_back(std::move(*key), std::move(*value));
    }
    return out;
}

void write_attributes(Writer& w, const std::vector<std::pair<std::string, std::string>>& attrs) {
    Writer block;
    for (const auto& [key, value] : attrs) {
        block.lenenc_string(key);
        block.lenenc_string(value);
    }
    w.lenenc_bytes(block.out());
}

} // namespace

std::uint32_t Handshake::mariadb_capabilities() const {
    if (!is_mariadb()) {
        return 0;
    }
    return le32(reserved.data() + kMariaDbCapsOffset);
}

void Handshake::set_mariadb_capabilities(std::uint32_t caps) {
    for (std::size_t i = 0; i < 4; ++i) {
        reserved[kMariaDbCapsOffset + i] = static_cast<std::uint8_t>(caps >> (8 * i));
    }
}

std::expected<Handshake, Error> decode_handshake(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    Handshake h;
    MYSQL_TRY(version, r.u8());
    if (version == kErrHeader) {
        return std::unexpected(Error::BadValue); // an ERR packet: decode_err reads it
    }
    if (version != kProtocolVersion) {
        return std::unexpected(Error::Unsupported); // HandshakeV9 and older
    }
    h.protocol_version = version;
    MYSQL_TRY(server_version, r.null_string());
    h.server_version = std::move(server_version);
    MYSQL_TRY(connection_id, r.u32());
    h.connection_id = connection_id;
    MYSQL_TRY(part1, r.bytes(kScramblePart1));
    h.auth_plugin_data = std::move(part1);
    MYSQL_TRY(filler, r.u8());
    if (filler != 0) {
        return std::unexpected(Error::BadValue);
    }
    MYSQL_TRY(caps_low, r.u16());
    MYSQL_TRY(character_set, r.u8());
    MYSQL_TRY(status_flags, r.u16());
    MYSQL_TRY(caps_high, r.u16());
    h.capabilities = static_cast<std::uint32_t>(caps_high) << 16 | caps_low;
    h.character_set = character_set;
    h.status_flags = status_flags;
    MYSQL_TRY(data_length, r.u8());
    h.auth_plugin_data_length = data_length;
    MYSQL_TRY(reserved, r.bytes(h.reserved.size()));
    std::copy(reserved.begin(), reserved.end(), h.reserved.begin());
    // Part 2: MAX(13, length - 8) bytes, normally the rest of the scramble and a NUL. Servers
    // without CLIENT_SECURE_CONNECTION (pre-4.1) may end the greeting here.
    if ((h.capabilities & cap::SecureConnection) != 0 || !r.at_end()) {
        const std::size_t declared =
            data_length > kScramblePart1 ? data_length - kScramblePart1 : 0;
        MYSQL_TRY(part2, r.bytes(std::max(kMinPart2, declared)));
        h.part2_terminated = part2.back() == 0;
        if (h.part2_terminated) {
            part2.pop_back();
        }
        h.auth_plugin_data.insert(h.auth_plugin_data.end(), part2.begin(), part2.end());
    } else {
        h.part2_terminated = false;
    }
    if ((h.capabilities & cap::PluginAuth) != 0) {
        // MySQL 5.5.7 and earlier sent the plugin name without its NUL.
        auto name = r.null_string();
        if (name) {
            h.auth_plugin_name = std::move(*name);
        } else {
            h.auth_plugin_name = r.rest_string();
            h.plugin_name_terminated = false;
        }
    }
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return h;
}

std::vector<std::uint8_t> encode_handshake(const Handshake& h) {
    Writer w;
    w.u8(h.protocol_version);
    w.null_string(h.server_version);
    w.u32(h.connection_id);
    const std::span<const std::uint8_t> data(h.auth_plugin_data);
    const std::size_t part1 = std::min(data.size(), kScramblePart1);
    w.bytes(data.first(part1));
    w.zeros(kScramblePart1 - part1);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(h.capabilities));
    w.u8(h.character_set);
    w.u16(h.status_flags);
    w.u16(static_cast<std::uint16_t>(h.capabilities >> 16));
    w.u8(h.auth_plugin_data_length);
    w.bytes(h.reserved);
    if (data.size() > kScramblePart1 || h.part2_terminated) {
        w.bytes(data.subspan(part1));
        if (h.part2_terminated) {
            w.u8(0);
        }
    }
    if ((h.capabilities & cap::PluginAuth) != 0) {
        w.string(h.auth_plugin_name);
        if (h.plugin_name_terminated) {
            w.u8(0);
        }
    }
    return w.take();
}

bool is_ssl_request(std::span<const std::uint8_t> payload) {
    return payload.size() == kSslRequestSize && (le32(payload.data()) & cap::Ssl) != 0;
}

namespace {

// The 32 bytes an SSLRequest and a HandshakeResponse41 share.
std::expected<SslRequest, Error> read_response_prefix(Reader& r) {
    SslRequest s;
    MYSQL_TRY(caps, r.u32());
    MYSQL_TRY(max_packet, r.u32());
    MYSQL_TRY(charset, r.u8());
    MYSQL_TRY(filler, r.bytes(kResponseFiller));
    s.capabilities = caps;
    s.max_packet_size = max_packet;
    s.character_set = charset;
    s.mariadb_capabilities = le32(filler.data() + kResponseFiller - 4);
    return s;
}

void write_response_prefix(Writer& w, std::uint32_t caps, std::uint32_t max_packet,
                           std::uint8_t charset, std::uint32_t mariadb_caps) {
    w.u32(caps);
    w.u32(max_packet);
    w.u8(charset);
    w.zeros(kResponseFiller - 4);
    w.u32(mariadb_caps);
}

} // namespace

std::expected<SslRequest, Error> decode_ssl_request(std::span<const std::uint8_t> payload) {
    if (payload.size() > kSslRequestSize) {
        return std::unexpected(Error::TrailingBytes);
    }
    Reader r(payload);
    MYSQL_TRY(s, read_response_prefix(r));
    if ((s.capabilities & cap::Ssl) == 0) {
        return std::unexpected(Error::BadValue);
    }
    return s;
}

std::vector<std::uint8_t> encode_ssl_request(const SslRequest& s) {
    Writer w;
    write_response_prefix(w, s.capabilities, s.max_packet_size, s.character_set,
                          s.mariadb_capabilities);
    return w.take();
}

std::expected<HandshakeResponse, Error>
decode_handshake_response(std::span<const std::uint8_t> payload) {
    if (payload.size() >= 2 &&
        (static_cast<std::uint32_t>(payload[1]) << 8 & cap::Protocol41) == 0) {
        return std::unexpected(Error::Unsupported); // HandshakeResponse320
    }
    Reader r(payload);
    MYSQL_TRY(prefix, read_response_prefix(r));
    HandshakeResponse h;
    h.capabilities = prefix.capabilities;
    h.max_packet_size = prefix.max_packet_size;
    h.character_set = prefix.character_set;
    h.mariadb_capabilities = prefix.mariadb_capabilities;
    if ((h.capabilities & cap::Protocol41) == 0) {
        return std::unexpected(Error::Unsupported);
    }
    MYSQL_TRY(user, r.null_string());
    h.user = std::move(user);
    if ((h.capabilities & cap::PluginAuthLenencData) != 0) {
        MYSQL_TRY(auth, r.lenenc_bytes());
        h.auth_response = std::move(auth);
    } else if ((h.capabilities & cap::SecureConnection) != 0) {
        MYSQL_TRY(length, r.u8());
        MYSQL_TRY(auth, r.bytes(length));
        h.auth_response = std::move(auth);
    } else {
        MYSQL_TRY(auth, r.null_string());
        h.auth_response.assign(auth.begin(), auth.end());
    }
    // Servers read the optional fields only while bytes remain (a client may stop early).
    if ((h.capabilities & cap::ConnectWithDb) != 0 && !r.at_end()) {
        MYSQL_TRY(database, r.null_string());
        h.database = std::move(database);
    }
    if ((h.capabilities & cap::PluginAuth) != 0 && !r.at_end()) {
        MYSQL_TRY(plugin, r.null_string());
        h.auth_plugin = std::move(plugin);
    }
    if ((h.capabilities & cap::ConnectAttrs) != 0 && !r.at_end()) {
        MYSQL_TRY(attributes, read_attributes(r));
        h.attributes = std::move(attributes);
    }
    if ((h.capabilities & cap::ZstdCompression) != 0 && !r.at_end()) {
        MYSQL_TRY(level, r.u8());
        h.zstd_level = level;
    }
    return h; // trailing bytes are allowed (see the header)
}

std::vector<std::uint8_t> encode_handshake_response(const HandshakeResponse& h) {
    Writer w;
    write_response_prefix(w, h.capabilities, h.max_packet_size, h.character_set,
                          h.mariadb_capabilities);
    w.null_string(h.user);
    if ((h.capabilities & cap::PluginAuthLenencData) != 0) {
        w.lenenc_bytes(h.auth_response);
    } else if ((h.capabilities & cap::SecureConnection) != 0) {
        const std::size_t n = std::min<std::size_t>(h.auth_response.size(), 0xFF);
        w.u8(static_cast<std::uint8_t>(n));
        w.bytes(std::span<const std::uint8_t>(h.auth_response).first(n));
    } else {
        w.bytes(h.auth_response);
        w.u8(0);
    }
    const bool attrs = (h.capabilities & cap::ConnectAttrs) != 0;
    const bool zstd = (h.capabilities & cap::ZstdCompression) != 0 && h.zstd_level;
    const bool plugin = (h.capabilities & cap::PluginAuth) != 0 && (h.auth_plugin || attrs || zstd);
    if ((h.capabilities & cap::ConnectWithDb) != 0 && (h.database || plugin || attrs || zstd)) {
        w.null_string(h.database.value_or(""));
    }
    if (plugin) {
        w.null_string(h.auth_plugin.value_or(""));
    }
    if (attrs) {
        write_attributes(w, h.attributes);
    }
    if (zstd) {
        w.u8(*h.zstd_level);
    }
    return w.take();
}

std::expected<AuthSwitchRequest, Error> decode_auth_switch(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(header, r.u8());
    if (header != kAuthSwitchHeader) {
        return std::unexpected(Error::BadValue);
    }
    if (r.at_end()) {
        return std::unexpected(Error::Unsupported); // OldAuthSwitchRequest (mysql_old_password)
    }
    AuthSwitchRequest a;
    MYSQL_TRY(plugin, r.null_string());
    a.plugin = std::move(plugin);
    a.data = r.rest_bytes();
    return a;
}

std::vector<std::uint8_t> encode_auth_switch(const AuthSwitchRequest& a) {
    Writer w;
    w.u8(kAuthSwitchHeader);
    w.null_string(a.plugin);
    w.bytes(a.data);
    return w.take();
}

std::expected<AuthMoreData, Error> decode_auth_more_data(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(header, r.u8());
    if (header != kAuthMoreDataHeader) {
        return std::unexpected(Error::BadValue);
    }
    return AuthMoreData{r.rest_bytes()};
}

std::vector<std::uint8_t> encode_auth_more_data(const AuthMoreData& a) {
    Writer w;
    w.u8(kAuthMoreDataHeader);
    w.bytes(a.data);
    return w.take();
}

std::expected<ChangeUser, Error> decode_change_user(std::span<const std::uint8_t> payload,
                                                    std::uint32_t caps) {
    Reader r(payload);
    MYSQL_TRY(command, r.u8());
    if (command != static_cast<std::uint8_t>(Command::ChangeUser)) {
        return std::unexpected(Error::BadValue);
    }
    ChangeUser c;
    MYSQL_TRY(user, r.null_string());
    c.user = std::move(user);
    if ((caps & cap::SecureConnection) != 0) {
        MYSQL_TRY(length, r.u8());
        MYSQL_TRY(auth, r.bytes(length));
        c.auth_response = std::move(auth);
    } else {
        MYSQL_TRY(auth, r.null_string());
        c.auth_response.assign(auth.begin(), auth.end());
    }
    MYSQL_TRY(database, r.null_string());
    c.database = std::move(database);
    if (r.at_end()) {
        return c;
    }
    MYSQL_TRY(charset, r.u16());
    c.character_set = charset;
    if ((caps & cap::PluginAuth) != 0 && !r.at_end()) {
        MYSQL_TRY(plugin, r.null_string());
        c.auth_plugin = std::move(plugin);
    }
    if ((caps & cap::ConnectAttrs) != 0 && !r.at_end()) {
        MYSQL_TRY(attributes, read_attributes(r));
        c.attributes = std::move(attributes);
    }
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return c;
}

} // namespace mysql

#undef MYSQL_TRY
