#include <cstdio>

#include <tds/version.h>

namespace tds {

std::string tds_version_name(std::uint32_t version) {
    switch (version) {
    case tds_version::k70:
        return "7.0";
    case tds_version::k71Rev0:
        return "7.1 rev0";
    case tds_version::k71:
        return "7.1";
    case tds_version::k72:
        return "7.2";
    case tds_version::k73A:
        return "7.3A";
    case tds_version::k73B:
        return "7.3B";
    case tds_version::k74:
        return "7.4";
    case tds_version::k80:
        return "8.0";
    default:
        break;
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", version);
    return buf;
}

std::string_view to_string(Level level) {
    switch (level) {
    case Level::V70:
        return "7.0";
    case Level::V71:
        return "7.1";
    case Level::V72:
        return "7.2";
    case Level::V73A:
        return "7.3A";
    case Level::V73B:
        return "7.3B";
    case Level::V74:
        return "7.4";
    case Level::V80:
        return "8.0";
    }
    return "?";
}

std::optional<Negotiated> negotiate_version(std::uint32_t requested) {
    // The major byte names the generation (0x70..0x74 for 7.x; 8.0 is 0x08000000). Inside a
    // generation the low bytes are a revision; an unknown revision gets the generation's
    // answer, the way a server compares versions numerically.
    const auto major = static_cast<std::uint8_t>(requested >> 24);
    if (major > 0x74) {
        return Negotiated{Level::V74, tds_version::k74}; // newer than 7.4 in the 7.x numbering
    }
    switch (major) {
    case 0x70:
        return Negotiated{Level::V70, tds_version::kAck70};
    case 0x71:
        return requested == tds_version::k71Rev0 ? Negotiated{Level::V71, tds_version::kAck71Rev0}
                                                 : Negotiated{Level::V71, tds_version::k71};
    case 0x72:
        return Negotiated{Level::V72, tds_version::k72};
    case 0x73:
        return requested < tds_version::k73B ? Negotiated{Level::V73A, tds_version::k73A}
                                             : Negotiated{Level::V73B, tds_version::k73B};
    case 0x74:
        return Negotiated{Level::V74, tds_version::k74};
    default:
        break;
    }
    if (major >= 0x08) {
        // 8.0 (and anything a future 8.x/9.x client sends) is answered with 8.0: tedious, go
        // and JDBC accept it, and SqlClient lists it as valid (AdapterUtil ValidateTdsVersion).
        return Negotiated{Level::V80, tds_version::k80};
    }
    return std::nullopt;
}

std::optional<Level> level_of_login_ack(std::uint32_t ack) {
    switch (ack) {
    case tds_version::kAck70:
        return Level::V70;
    case tds_version::kAck71Rev0:
    case tds_version::k71:
        return Level::V71;
    case tds_version::k72:
        return Level::V72;
    case tds_version::k73A:
        return Level::V73A;
    case tds_version::k73B:
        return Level::V73B;
    case tds_version::k74:
        return Level::V74;
    case tds_version::k80:
        return Level::V80;
    default:
        return std::nullopt; // no server sends it (MS-TDS appendix A, note 69)
    }
}

} // namespace tds
