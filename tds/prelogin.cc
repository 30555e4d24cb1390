#include <cstdio>

#include <tds/byte_reader.h>
#include <tds/byte_writer.h>
#include <tds/prelogin.h>

namespace tds {

namespace {

constexpr std::size_t kOptionEntryLen = 5;

bool is_known(std::uint8_t token) {
    return token <= prelogin_token::kNonceOpt;
}

} // namespace

std::string PreloginVersion::to_string() const {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", major, minor, build, sub_build);
    return buf;
}

std::expected<Prelogin, Error> Prelogin::parse(std::span<const std::uint8_t> payload) {
    Prelogin p;
    ByteReader r(payload);
    bool terminated = false;
    while (!r.empty()) {
        auto token = r.u8();
        if (*token == prelogin_token::kTerminator) {
            terminated = true;
            break;
        }
        auto offset = r.u16be();
        auto length = r.u16be();
        if (!offset || !length) {
            return std::unexpected(Error::NoTerminator);
        }
        // Widen before adding: two uint16 values can overflow 16 bits (go-mssqldb fixed this).
        if (static_cast<std::size_t>(*offset) + static_cast<std::size_t>(*length) >
            payload.size()) {
            return std::unexpected(Error::OptionOutOfBounds);
        }
        if (is_known(*token)) {
            for (const auto& o : p.options_) {
                if (o.token == *token) {
                    return std::unexpected(Error::DuplicateOption);
                }
            }
        }
        p.options_.push_back({*token, *offset, *length});
    }
    if (!terminated) {
        return std::unexpected(Error::NoTerminator);
    }
    p.bytes_.assign(payload.begin(), payload.end());
    return p;
}

std::optional<std::span<const std::uint8_t>> Prelogin::option_data(std::uint8_t token) const {
    for (const auto& o : options_) {
        if (o.token == token) {
            return std::span<const std::uint8_t>(bytes_).subspan(o.offset, o.length);
        }
    }
    return std::nullopt;
}

std::optional<PreloginVersion> Prelogin::version() const {
    auto d = option_data(prelogin_token::kVersion);
    if (!d || d->size() != 6) {
        return std::nullopt;
    }
    ByteReader r(*d);
    PreloginVersion v;
    v.major = *r.u8();
    v.minor = *r.u8();
    v.build = *r.u16be();
    v.sub_build = *r.u16be();
    return v;
}

std::optional<std::uint8_t> Prelogin::encryption() const {
    auto d = option_data(prelogin_token::kEncryption);
    if (!d || d->size() != 1) {
        return std::nullopt;
    }
    return (*d)[0];
}

std::optional<std::string> Prelogin::instance() const {
    auto d = option_data(prelogin_token::kInstOpt);
    if (!d) {
        return std::nullopt;
    }
    std::string s;
    for (auto b : *d) {
        if (b == 0) {
            break;
        }
        s.push_back(static_cast<char>(b));
    }
    return s;
}

std::optional<std::uint8_t> Prelogin::instance_status() const {
    auto d = option_data(prelogin_token::kInstOpt);
    if (!d || d->size() != 1) {
        return std::nullopt;
    }
    return (*d)[0];
}

std::optional<std::uint32_t> Prelogin::thread_id() const {
    auto d = option_data(prelogin_token::kThreadId);
    if (!d || d->size() != 4) {
        return std::nullopt;
    }
    ByteReader r(*d);
    return r.u32be();
}

std::optional<bool> Prelogin::mars() const {
    auto d = option_data(prelogin_token::kMars);
    if (!d || d->size() != 1) {
        return std::nullopt;
    }
    return (*d)[0] != 0;
}

std::optional<std::uint8_t> Prelogin::fedauth_required() const {
    auto d = option_data(prelogin_token::kFedAuthRequired);
    if (!d || d->size() != 1) {
        return std::nullopt;
    }
    return (*d)[0];
}

bool Prelogin::set_encryption(std::uint8_t value) {
    for (const auto& o : options_) {
        if (o.token == prelogin_token::kEncryption && o.length == 1) {
            bytes_[o.offset] = value;
            return true;
        }
    }
    return false;
}

PreloginBuilder& PreloginBuilder::add(std::uint8_t token, std::span<const std::uint8_t> data) {
    options_.emplace_back(token, std::vector<std::uint8_t>(data.begin(), data.end()));
    return *this;
}

PreloginBuilder& PreloginBuilder::version(const PreloginVersion& v) {
    const std::uint8_t d[6] = {v.major,
                               v.minor,
                               static_cast<std::uint8_t>(v.build >> 8),
                               static_cast<std::uint8_t>(v.build & 0xFF),
                               static_cast<std::uint8_t>(v.sub_build >> 8),
                               static_cast<std::uint8_t>(v.sub_build & 0xFF)};
    return add(prelogin_token::kVersion, d);
}

PreloginBuilder& PreloginBuilder::encryption(std::uint8_t value) {
    const std::uint8_t d[1] = {value};
    return add(prelogin_token::kEncryption, d);
}

PreloginBuilder& PreloginBuilder::instance_ok() {
    const std::uint8_t d[1] = {0};
    return add(prelogin_token::kInstOpt, d);
}

PreloginBuilder& PreloginBuilder::thread_id_empty() {
    return add(prelogin_token::kThreadId, {});
}

PreloginBuilder& PreloginBuilder::mars(bool on) {
    const std::uint8_t d[1] = {static_cast<std::uint8_t>(on ? 1 : 0)};
    return add(prelogin_token::kMars, d);
}

std::vector<std::uint8_t> Prelogin::without(std::uint8_t token) const {
    PreloginBuilder b;
    for (const auto& o : options_) {
        if (o.token != token) {
            // parse() checked offset + length against the payload
            b.add(o.token, std::span(bytes_).subspan(o.offset, o.length));
        }
    }
    return b.build();
}

std::vector<std::uint8_t> PreloginBuilder::build() const {
    ByteWriter w;
    std::size_t data_offset = options_.size() * kOptionEntryLen + 1;
    for (const auto& [token, data] : options_) {
        w.u8(token);
        w.u16be(static_cast<std::uint16_t>(data_offset));
        w.u16be(static_cast<std::uint16_t>(data.size()));
        data_offset += data.size();
    }
    w.u8(prelogin_token::kTerminator);
    for (const auto& opt : options_) {
        w.bytes(opt.second);
    }
    return w.take();
}

} // namespace tds
