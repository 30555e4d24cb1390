#include <algorithm>

#include <tds/tokens.h>
#include <tds/utf16.h>

namespace tds {

namespace {

constexpr std::uint8_t kInterfaceSql = 1;
constexpr std::uint8_t kTypeIntN = 0x26;
constexpr std::uint8_t kTypeNVarChar = 0xE7;
constexpr std::uint16_t kNVarChar4000Bytes = 8000;
constexpr std::uint16_t kNullableFlag = 0x0001;
constexpr std::uint16_t kNullVarLen = 0xFFFF;
constexpr std::size_t kMaxBVarChar = 255;
constexpr std::size_t kMaxUsVarChar = 65535;

// utf16 truncated to at most `max_units` code units.
std::vector<std::uint8_t> utf16_capped(std::string_view s, std::size_t max_units) {
    auto b = utf8_to_utf16le(s);
    if (b.size() > max_units * 2) {
        b.resize(max_units * 2);
    }
    return b;
}

} // namespace

void TokenWriter::b_varchar(std::string_view s) {
    auto b = utf16_capped(s, kMaxBVarChar);
    w_.u8(static_cast<std::uint8_t>(b.size() / 2));
    w_.bytes(b);
}

void TokenWriter::us_varchar(std::string_view s) {
    auto b = utf16_capped(s, kMaxUsVarChar);
    w_.u16le(static_cast<std::uint16_t>(b.size() / 2));
    w_.bytes(b);
}

TokenWriter& TokenWriter::login_ack(std::uint32_t tds_version, std::string_view prog_name,
                                    std::uint8_t major, std::uint8_t minor, std::uint16_t build) {
    w_.u8(token::kLoginAck);
    std::size_t len_at = w_.size();
    w_.u16le(0);
    w_.u8(kInterfaceSql);
    w_.u32be(tds_version); // the "historical artifact": big-endian here, little in LOGIN7
    b_varchar(prog_name);
    w_.u8(major);
    w_.u8(minor);
    w_.u8(static_cast<std::uint8_t>(build >> 8));
    w_.u8(static_cast<std::uint8_t>(build & 0xFF));
    w_.patch_u16le(len_at, static_cast<std::uint16_t>(w_.size() - len_at - 2));
    return *this;
}

TokenWriter& TokenWriter::env_change(std::uint8_t type, std::string_view new_value,
                                     std::string_view old_value) {
    w_.u8(token::kEnvChange);
    std::size_t len_at = w_.size();
    w_.u16le(0);
    w_.u8(type);
    b_varchar(new_value);
    b_varchar(old_value);
    w_.patch_u16le(len_at, static_cast<std::uint16_t>(w_.size() - len_at - 2));
    return *this;
}

TokenWriter& TokenWriter::env_change_bytes(std::uint8_t type,
                                           std::span<const std::uint8_t> new_value,
                                           std::span<const std::uint8_t> old_value) {
    w_.u8(token::kEnvChange);
    std::size_t len_at = w_.size();
    w_.u16le(0);
    w_.u8(type);
    w_.u8(static_cast<std::uint8_t>(std::min<std::size_t>(new_value.size(), 255)));
    w_.bytes(new_value.first(std::min<std::size_t>(new_value.size(), 255)));
    w_.u8(static_cast<std::uint8_t>(std::min<std::size_t>(old_value.size(), 255)));
    w_.bytes(old_value.first(std::min<std::size_t>(old_value.size(), 255)));
    w_.patch_u16le(len_at, static_cast<std::uint16_t>(w_.size() - len_at - 2));
    return *this;
}

void TokenWriter::message(std::uint8_t type, const ServerMessage& m) {
    w_.u8(type);
    std::size_t len_at = w_.size();
    w_.u16le(0);
    w_.u32le(m.number);
    w_.u8(m.state);
    w_.u8(m.severity);
    us_varchar(m.text);
    b_varchar(m.server_name);
    b_varchar(m.proc_name);
    w_.u32le(m.line);
    w_.patch_u16le(len_at, static_cast<std::uint16_t>(w_.size() - len_at - 2));
}

TokenWriter& TokenWriter::info(const ServerMessage& m) {
    message(token::kInfo, m);
    return *this;
}

TokenWriter& TokenWriter::error(const ServerMessage& m) {
    message(token::kError, m);
    return *this;
}

TokenWriter& TokenWriter::done(std::uint16_t status, std::uint16_t cur_cmd, std::uint64_t row_count,
                               std::uint8_t token_type) {
    w_.u8(token_type);
    w_.u16le(status);
    w_.u16le(cur_cmd);
    w_.u64le(row_count);
    return *this;
}

TokenWriter& TokenWriter::col_metadata(std::span<const Column> columns) {
    w_.u8(token::kColMetadata);
    w_.u16le(static_cast<std::uint16_t>(columns.size()));
    for (const auto& c : columns) {
        w_.u32le(0);             // UserType (4 bytes since TDS 7.2)
        w_.u16le(kNullableFlag); // SqlClient wants nullable here (Microsoft's test server note)
        switch (c.type) {
        case ColumnType::IntN:
            w_.u8(kTypeIntN);
            w_.u8(4);
            break;
        case ColumnType::NVarChar:
            w_.u8(kTypeNVarChar);
            w_.u16le(kNVarChar4000Bytes);
            w_.bytes(kDefaultCollation);
            break;
        }
        b_varchar(c.name);
    }
    return *this;
}

TokenWriter& TokenWriter::row(std::span<const Column> columns, std::span<const Value> values) {
    w_.u8(token::kRow);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const Value& v = i < values.size() ? values[i] : Value{};
        switch (columns[i].type) {
        case ColumnType::IntN:
            if (const auto* n = std::get_if<std::int32_t>(&v)) {
                w_.u8(4);
                w_.u32le(static_cast<std::uint32_t>(*n));
            } else {
                w_.u8(0);
            }
            break;
        case ColumnType::NVarChar:
            if (const auto* s = std::get_if<std::string>(&v)) {
                auto b = utf16_capped(*s, kNVarChar4000Bytes / 2);
                w_.u16le(static_cast<std::uint16_t>(b.size()));
                w_.bytes(b);
            } else {
                w_.u16le(kNullVarLen);
            }
            break;
        }
    }
    return *this;
}

TokenWriter& TokenWriter::feature_ext_ack(std::span<const std::uint8_t> ids) {
    w_.u8(token::kFeatureExtAck);
    for (auto id : ids) {
        w_.u8(id);
        w_.u32le(0);
    }
    w_.u8(0xFF);
    return *this;
}

} // namespace tds
