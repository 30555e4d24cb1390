#include <cstdio>

#include <tds/byte_reader.h>
#include <tds/byte_writer.h>
#include <tds/login7.h>
#include <tds/utf16.h>

namespace tds {

namespace {

// The fixed part: 94 bytes for TDS 7.2+ (ibChangePassword, cbSSPILong), 86 before.
constexpr std::size_t kFixedLen72 = 94;
constexpr std::size_t kFixedLen71 = 86;

struct OffsetLen {
    std::uint16_t offset = 0;
    std::uint16_t length = 0; // characters for strings, bytes for SSPI/extension
};

std::uint8_t swap_nibbles(std::uint8_t b) {
    return static_cast<std::uint8_t>(((b << 4) | (b >> 4)) & 0xFF);
}

std::expected<std::string, Error> read_string(std::span<const std::uint8_t> msg, OffsetLen ol,
                                              bool obfuscated = false) {
    std::size_t bytes = static_cast<std::size_t>(ol.length) * 2;
    if (static_cast<std::size_t>(ol.offset) + bytes > msg.size()) {
        return std::unexpected(Error::StringOutOfBounds);
    }
    auto raw = msg.subspan(ol.offset, bytes);
    if (obfuscated) {
        auto clear = deobfuscate_password(raw);
        return utf16le_to_utf8(clear);
    }
    return utf16le_to_utf8(raw);
}

std::expected<std::vector<FeatureExt>, Error> read_features(std::span<const std::uint8_t> msg,
                                                            std::size_t at) {
    if (at > msg.size()) {
        return std::unexpected(Error::StringOutOfBounds);
    }
    ByteReader r(msg.subspan(at));
    std::vector<FeatureExt> out;
    while (true) {
        auto id = r.u8();
        if (!id) {
            return std::unexpected(Error::NoTerminator);
        }
        if (*id == feature_id::kTerminator) {
            return out;
        }
        auto len = r.u32le();
        if (!len) {
            return std::unexpected(Error::Truncated);
        }
        auto data = r.bytes(*len);
        if (!data) {
            return std::unexpected(Error::Truncated);
        }
        out.push_back({*id, std::vector<std::uint8_t>(data->begin(), data->end())});
    }
}

} // namespace

std::string_view to_string(AuthKind k) {
    switch (k) {
    case AuthKind::Sql:
        return "sql";
    case AuthKind::Sspi:
        return "sspi";
    case AuthKind::FedAuth:
        return "fedauth";
    }
    return "?";
}

AuthKind Login7::auth_kind() const {
    if ((option_flags2 & login7_flag::kIntSecurity) != 0) {
        return AuthKind::Sspi;
    }
    if (feature(feature_id::kFedAuth) != nullptr) {
        return AuthKind::FedAuth;
    }
    return AuthKind::Sql;
}

const FeatureExt* Login7::feature(std::uint8_t id) const {
    for (const auto& f : features) {
        if (f.id == id) {
            return &f;
        }
    }
    return nullptr;
}

std::vector<std::uint8_t> obfuscate_password(std::span<const std::uint8_t> utf16le) {
    std::vector<std::uint8_t> out(utf16le.begin(), utf16le.end());
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(swap_nibbles(b) ^ 0xA5);
    }
    return out;
}

std::vector<std::uint8_t> deobfuscate_password(std::span<const std::uint8_t> wire) {
    std::vector<std::uint8_t> out(wire.begin(), wire.end());
    for (auto& b : out) {
        b = swap_nibbles(static_cast<std::uint8_t>(b ^ 0xA5));
    }
    return out;
}

std::expected<Login7, Error> decode_login7(std::span<const std::uint8_t> payload) {
    if (payload.size() < kFixedLen71) {
        return std::unexpected(Error::Truncated);
    }
    ByteReader r(payload);
    Login7 l;
    l.length = *r.u32le();
    if (l.length < kFixedLen71) {
        return std::unexpected(Error::BadLogin7);
    }
    if (l.length > payload.size()) {
        return std::unexpected(Error::Truncated);
    }
    // Offsets are relative to the start of the LOGIN7 payload and bounded by its Length.
    auto msg = payload.first(l.length);
    l.tds_version = *r.u32le();
    l.packet_size = *r.u32le();
    l.client_prog_ver = *r.u32le();
    l.client_pid = *r.u32le();
    l.connection_id = *r.u32le();
    l.option_flags1 = *r.u8();
    l.option_flags2 = *r.u8();
    l.type_flags = *r.u8();
    l.option_flags3 = *r.u8();
    l.client_time_zone = static_cast<std::int32_t>(*r.u32le());
    l.client_lcid = *r.u32le();
    auto ol = [&r]() {
        OffsetLen o;
        o.offset = *r.u16le();
        o.length = *r.u16le();
        return o;
    };
    OffsetLen host = ol(), user = ol(), pass = ol(), app = ol(), server = ol(), ext = ol(),
              lib = ol(), lang = ol(), db = ol();
    auto id = r.bytes(6);
    std::copy(id->begin(), id->end(), l.client_id.begin());
    OffsetLen sspi = ol(), attach = ol();
    OffsetLen change_pass;
    std::uint32_t sspi_long = 0;
    // ibChangePassword and cbSSPILong exist from TDS 7.2 on. Decide by the version, not by the
    // Length (which includes the variable data): a 7.0/7.1 client's data starts at offset 86.
    const auto major = static_cast<std::uint8_t>(l.tds_version >> 24);
    const bool before72 = major == 0x07 || major == 0x70 || major == 0x71;
    if (l.length >= kFixedLen72 && !before72) {
        change_pass = ol();
        sspi_long = *r.u32le();
    }

    struct Field {
        std::string* out;
        OffsetLen where;
        bool obfuscated;
    };
    const Field fields[] = {
        {&l.host_name, host, false},        {&l.user_name, user, false},
        {&l.password, pass, true},          {&l.app_name, app, false},
        {&l.server_name, server, false},    {&l.library_name, lib, false},
        {&l.language, lang, false},         {&l.database, db, false},
        {&l.attach_db_file, attach, false}, {&l.change_password, change_pass, true},
    };
    for (const auto& f : fields) {
        auto s = read_string(msg, f.where, f.obfuscated);
        if (!s) {
            return std::unexpected(s.error());
        }
        *f.out = std::move(*s);
    }

    std::size_t sspi_len = sspi.length == 0xFFFF ? sspi_long : sspi.length;
    if (sspi_len > 0) {
        if (static_cast<std::size_t>(sspi.offset) + sspi_len > msg.size()) {
            return std::unexpected(Error::StringOutOfBounds);
        }
        auto blob = msg.subspan(sspi.offset, sspi_len);
        l.sspi.assign(blob.begin(), blob.end());
    }

    // TDS 7.4: ibExtension points at a DWORD holding the absolute offset of FeatureExt.
    if ((l.option_flags3 & login7_flag::kExtension) != 0 && ext.length >= 4) {
        if (static_cast<std::size_t>(ext.offset) + 4 > msg.size()) {
            return std::unexpected(Error::StringOutOfBounds);
        }
        ByteReader er(msg.subspan(ext.offset, 4));
        auto features = read_features(msg, *er.u32le());
        if (!features) {
            return std::unexpected(features.error());
        }
        l.features = std::move(*features);
    }
    return l;
}

std::vector<std::uint8_t> encode_login7(const Login7& l) {
    struct Var {
        std::vector<std::uint8_t> bytes;
        std::uint16_t count; // what goes into the length field
    };
    auto text = [](const std::string& s) {
        auto b = utf8_to_utf16le(s);
        auto n = static_cast<std::uint16_t>(b.size() / 2);
        return Var{std::move(b), n};
    };
    auto secret = [&](const std::string& s) {
        auto v = text(s);
        v.bytes = obfuscate_password(v.bytes);
        return v;
    };
    Var host = text(l.host_name), user = text(l.user_name), pass = secret(l.password),
        app = text(l.app_name), server = text(l.server_name), lib = text(l.library_name),
        lang = text(l.language), db = text(l.database), attach = text(l.attach_db_file),
        change = secret(l.change_password);
    Var sspi{l.sspi, static_cast<std::uint16_t>(l.sspi.size())};
    bool has_ext = !l.features.empty();
    Var ext{std::vector<std::uint8_t>(has_ext ? 4 : 0, 0),
            static_cast<std::uint16_t>(has_ext ? 4 : 0)};

    // Variable data in the order of the offset table, extension DWORD included; FeatureExt last.
    Var* order[] = {&host, &user, &pass, &app,  &server, &ext,
                    &lib,  &lang, &db,   &sspi, &attach, &change};
    std::size_t offset = kFixedLen72;
    std::vector<std::uint16_t> offsets;
    for (Var* v : order) {
        offsets.push_back(static_cast<std::uint16_t>(offset));
        offset += v->bytes.size();
    }
    std::size_t feature_offset = offset;
    ByteWriter features;
    if (has_ext) {
        for (const auto& f : l.features) {
            features.u8(f.id);
            features.u32le(static_cast<std::uint32_t>(f.data.size()));
            features.bytes(f.data);
        }
        features.u8(feature_id::kTerminator);
        ByteWriter dw;
        dw.u32le(static_cast<std::uint32_t>(feature_offset));
        ext.bytes = dw.take();
    }
    std::size_t total = feature_offset + features.size();

    ByteWriter w;
    w.u32le(static_cast<std::uint32_t>(total));
    w.u32le(l.tds_version);
    w.u32le(l.packet_size);
    w.u32le(l.client_prog_ver);
    w.u32le(l.client_pid);
    w.u32le(l.connection_id);
    w.u8(l.option_flags1);
    w.u8(l.option_flags2);
    w.u8(l.type_flags);
    w.u8(static_cast<std::uint8_t>(has_ext ? (l.option_flags3 | login7_flag::kExtension)
                                           : l.option_flags3));
    w.u32le(static_cast<std::uint32_t>(l.client_time_zone));
    w.u32le(l.client_lcid);
    for (std::size_t i = 0; i < 9; ++i) {
        w.u16le(offsets[i]);
        w.u16le(order[i]->count);
    }
    w.bytes(l.client_id);
    for (std::size_t i = 9; i < 12; ++i) {
        w.u16le(offsets[i]);
        w.u16le(order[i]->count);
    }
    w.u32le(0); // cbSSPILong
    for (Var* v : order) {
        w.bytes(v->bytes);
    }
    w.bytes(features.data());
    return w.take();
}

} // namespace tds
