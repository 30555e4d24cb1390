#include <tds/byte_reader.h>
#include <tds/token_reader.h>
#include <tds/utf16.h>

namespace tds {

namespace {

// Status(2) CurCmd(2) RowCount(8 from TDS 7.2, 4 before)
constexpr std::size_t done_body_len(Level l) {
    return is_72_plus(l) ? 12 : 8;
}

std::optional<std::string> b_varchar(ByteReader& r) {
    auto n = r.u8();
    if (!n) {
        return std::nullopt;
    }
    auto b = r.bytes(static_cast<std::size_t>(*n) * 2);
    if (!b) {
        return std::nullopt;
    }
    return utf16le_to_utf8(*b);
}

std::optional<std::string> us_varchar(ByteReader& r) {
    auto n = r.u16le();
    if (!n) {
        return std::nullopt;
    }
    auto b = r.bytes(static_cast<std::size_t>(*n) * 2);
    if (!b) {
        return std::nullopt;
    }
    return utf16le_to_utf8(*b);
}

std::optional<ServerMessage> parse_message(std::span<const std::uint8_t> body, Level level) {
    ByteReader r(body);
    ServerMessage m;
    auto number = r.u32le();
    auto state = r.u8();
    auto severity = r.u8();
    auto text = us_varchar(r);
    auto server = b_varchar(r);
    auto proc = b_varchar(r);
    auto line = is_72_plus(level) ? r.u32le() : std::optional<std::uint32_t>(r.u16le());
    if (!number || !state || !severity || !text || !server || !proc || !line) {
        return std::nullopt;
    }
    m.number = *number;
    m.state = *state;
    m.severity = *severity;
    m.text = std::move(*text);
    m.server_name = std::move(*server);
    m.proc_name = std::move(*proc);
    m.line = *line;
    return m;
}

std::optional<LoginAck> parse_login_ack(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    LoginAck a;
    auto iface = r.u8();
    auto version = r.u32be();
    auto name = b_varchar(r);
    auto major = r.u8();
    auto minor = r.u8();
    auto build = r.u16be();
    if (!iface || !version || !name || !major || !minor || !build) {
        return std::nullopt;
    }
    a.interface = *iface;
    a.tds_version = *version;
    a.prog_name = std::move(*name);
    a.major = *major;
    a.minor = *minor;
    a.build = *build;
    return a;
}

std::optional<EnvChange> parse_env_change(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto type = r.u8();
    if (!type) {
        return std::nullopt;
    }
    EnvChange e;
    e.type = *type;
    switch (*type) {
    case env_type::kDatabase:
    case env_type::kLanguage:
    case env_type::kCharset:
    case env_type::kPacketSize: {
        auto nv = b_varchar(r);
        auto ov = b_varchar(r);
        if (!nv || !ov) {
            return std::nullopt;
        }
        e.new_value = std::move(*nv);
        e.old_value = std::move(*ov);
        break;
    }
    case env_type::kRouting: {
        // US_VARBYTE new value: Protocol, ProtocolProperty (port), AlternateServer US_VARCHAR;
        // US_VARBYTE old value (empty). A value that does not read so is left undecoded: the
        // token's own length already bounds it.
        auto value_len = r.u16le();
        auto value = value_len ? r.bytes(*value_len) : std::nullopt;
        auto old_len = r.u16le();
        if (!value || !old_len || !r.skip(*old_len) || !r.empty()) {
            break;
        }
        ByteReader v(*value);
        auto protocol = v.u8();
        auto port = v.u16le();
        auto server = us_varchar(v);
        if (protocol && port && server && v.empty()) {
            e.routing = RoutingTarget{*protocol, *port, std::move(*server)};
        }
        break;
    }
    default:
        break; // binary values: the type is enough for a proxy
    }
    return e;
}

} // namespace

TokenScan scan_tokens(std::span<const std::uint8_t> payload, Level level) {
    TokenScan scan;
    ByteReader r(payload);
    auto stop = [&](Error e, std::size_t at) {
        scan.stopped = e;
        scan.stopped_at = at;
        return scan;
    };
    while (!r.empty()) {
        std::size_t at = r.position();
        std::uint8_t type = *r.u8();
        switch (type) {
        case token::kError:
        case token::kInfo:
        case token::kLoginAck:
        case token::kEnvChange:
        case token::kOrder:
        case token::kSspi:
        case 0xA4: // TABNAME
        case 0xA5: // COLINFO
        {
            auto len = r.u16le();
            if (!len) {
                return stop(Error::Truncated, at);
            }
            auto body = r.bytes(*len);
            if (!body) {
                return stop(Error::BadToken, at);
            }
            if (type == token::kError || type == token::kInfo) {
                auto m = parse_message(*body, level);
                if (!m) {
                    return stop(Error::BadToken, at);
                }
                (type == token::kError ? scan.errors : scan.infos).push_back(std::move(*m));
            } else if (type == token::kLoginAck) {
                auto a = parse_login_ack(*body);
                if (!a) {
                    return stop(Error::BadToken, at);
                }
                scan.login_ack = std::move(*a);
                scan.login_ack_end = r.position();
            } else if (type == token::kEnvChange) {
                auto e = parse_env_change(*body);
                if (!e) {
                    return stop(Error::BadToken, at);
                }
                scan.env_changes.push_back(std::move(*e));
            }
            break;
        }
        case token::kFedAuthInfo:
        case token::kSessionState: {
            auto len = r.u32le();
            if (!len) {
                return stop(Error::Truncated, at);
            }
            if (!r.skip(*len)) {
                return stop(Error::BadToken, at);
            }
            break;
        }
        case token::kFeatureExtAck: {
            // FeatureId(1) DataLen(4) Data, until 0xFF.
            while (true) {
                auto id = r.u8();
                if (!id) {
                    return stop(Error::NoTerminator, at);
                }
                if (*id == 0xFF) {
                    break;
                }
                auto len = r.u32le();
                if (!len || !r.skip(*len)) {
                    return stop(Error::BadToken, at);
                }
            }
            break;
        }
        case token::kReturnStatus:
            if (!r.skip(4)) {
                return stop(Error::Truncated, at);
            }
            break;
        case token::kDone:
        case token::kDoneProc:
        case token::kDoneInProc: {
            auto body = r.bytes(done_body_len(level));
            if (!body) {
                return stop(Error::Truncated, at);
            }
            ByteReader d(*body);
            DoneToken done;
            done.type = type;
            done.status = *d.u16le();
            done.cur_cmd = *d.u16le();
            done.row_count = is_72_plus(level) ? *d.u64le() : *d.u32le();
            scan.dones.push_back(done);
            break;
        }
        default:
            return stop(Error::UnknownToken, at);
        }
    }
    return scan;
}

} // namespace tds
