#include <algorithm>

#include <tds/tokens.h>
#include <tds/type_info.h>
#include <tds/utf16.h>

namespace tds {

namespace {

constexpr std::uint8_t kInterfaceSql = 1;
constexpr std::uint16_t kNullableFlag = 0x0001;
// fComputed: a column computed by an expression, not read from a table (MS-TDS 2.2.7.4; the
// spec's SELECT example 4.7 carries it on a literal).
constexpr std::uint16_t kComputedFlag = 0x0020;
constexpr std::size_t kMaxBVarChar = 255;
constexpr std::size_t kMaxUsVarChar = 65535;
constexpr std::uint8_t kOutputStatus = 0x01; // RETURNVALUE status: an output parameter

// utf16 truncated to at most `max_units` code units.
std::vector<std::uint8_t> utf16_capped(std::string_view s, std::size_t max_units) {
    auto b = utf8_to_utf16le(s);
    if (b.size() > max_units * 2) {
        b.resize(max_units * 2);
    }
    return b;
}

std::vector<std::uint8_t> descriptor_bytes(std::uint64_t d) {
    std::vector<std::uint8_t> out(8);
    for (std::size_t i = 0; i < 8; ++i) {
        out[i] = static_cast<std::uint8_t>((d >> (8 * i)) & 0xFF);
    }
    return out;
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

TokenWriter& TokenWriter::env_routing(std::uint16_t port, std::string_view alternate_server) {
    w_.u8(token::kEnvChange);
    std::size_t len_at = w_.size();
    w_.u16le(0);
    w_.u8(env_type::kRouting);
    std::size_t value_at = w_.size();
    w_.u16le(0); // RoutingDataValueLength
    w_.u8(0);    // Protocol: TCP
    w_.u16le(port);
    us_varchar(alternate_server);
    w_.patch_u16le(value_at, static_cast<std::uint16_t>(w_.size() - value_at - 2));
    w_.u16le(0); // OldValue: empty US_VARBYTE
    w_.patch_u16le(len_at, static_cast<std::uint16_t>(w_.size() - len_at - 2));
    return *this;
}

TokenWriter& TokenWriter::env_transaction(std::uint8_t type,
                                          std::optional<std::uint64_t> new_descriptor,
                                          std::optional<std::uint64_t> old_descriptor) {
    auto n = new_descriptor ? descriptor_bytes(*new_descriptor) : std::vector<std::uint8_t>{};
    auto o = old_descriptor ? descriptor_bytes(*old_descriptor) : std::vector<std::uint8_t>{};
    return env_change_bytes(type, n, o);
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
    if (is_72_plus(level_)) {
        w_.u32le(m.line);
    } else {
        w_.u16le(static_cast<std::uint16_t>(std::min<std::uint32_t>(m.line, 0xFFFF)));
    }
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
    if (is_72_plus(level_)) {
        w_.u64le(row_count);
    } else {
        // a signed LONG before 7.2 (MS-TDS 2.2.7.5): capped, never wrapped to a negative count
        w_.u32le(static_cast<std::uint32_t>(std::min<std::uint64_t>(row_count, 0x7FFFFFFF)));
    }
    return *this;
}

TokenWriter& TokenWriter::col_metadata(std::span<const Column> columns) {
    w_.u8(token::kColMetadata);
    w_.u16le(static_cast<std::uint16_t>(columns.size()));
    for (const auto& c : columns) {
        TypeInfo wire = wire_type(c.type, level_);
        write_user_type(w_, 0, level_);
        // SqlClient wants computed columns nullable (Microsoft's test server note); a column
        // declared NOT NULL (sysname) says so.
        w_.u16le(static_cast<std::uint16_t>((wire.nullable ? kNullableFlag : 0) | kComputedFlag));
        write_type_info(w_, wire, level_, true);
        b_varchar(c.name);
    }
    return *this;
}

TokenWriter& TokenWriter::row(std::span<const Column> columns, std::span<const Value> values) {
    w_.u8(token::kRow);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const Value& v = i < values.size() ? values[i] : Value{};
        TypeInfo wire = wire_type(columns[i].type, level_);
        write_value(w_, wire, wire_value(v, columns[i].type, wire), level_);
    }
    return *this;
}

TokenWriter& TokenWriter::return_status(std::int32_t status) {
    w_.u8(token::kReturnStatus);
    w_.u32le(static_cast<std::uint32_t>(status));
    return *this;
}

TokenWriter& TokenWriter::return_value(std::uint16_t ordinal, std::string_view name,
                                       const TypeInfo& type, const Value& value) {
    TypeInfo wire = wire_type(type, level_);
    w_.u8(token::kReturnValue);
    w_.u16le(ordinal);
    b_varchar(name);
    w_.u8(kOutputStatus);
    write_user_type(w_, 0, level_);
    w_.u16le(0); // Flags "SHOULD be set to zero" in RETURNVALUE (MS-TDS 2.2.7.19)
    write_type_info(w_, wire, level_, false);
    write_value(w_, wire, wire_value(value, type, wire), level_);
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
