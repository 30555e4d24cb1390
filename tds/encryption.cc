#include <cstdio>

#include <tds/encryption.h>

namespace tds {

std::string_view to_string(Encryption e) {
    switch (e) {
    case Encryption::Off:
        return "OFF";
    case Encryption::On:
        return "ON";
    case Encryption::NotSupported:
        return "NOT_SUP";
    case Encryption::Required:
        return "REQ";
    case Encryption::Strict:
        return "STRICT";
    }
    return "?";
}

std::optional<Encryption> decode_encryption(std::uint8_t raw) {
    std::uint8_t base = raw & kEncryptionOptionsMask;
    if (base > static_cast<std::uint8_t>(Encryption::Strict)) {
        return std::nullopt;
    }
    return static_cast<Encryption>(base);
}

std::string encryption_name(std::uint8_t raw) {
    std::string name;
    if (auto e = decode_encryption(raw)) {
        name = to_string(*e);
    } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02X", raw & kEncryptionOptionsMask);
        name = buf;
    }
    if ((raw & kClientCertBit) != 0) {
        name += "+CLIENT_CERT";
    }
    return name;
}

std::string_view to_string(EncryptionMode m) {
    switch (m) {
    case EncryptionMode::None:
        return "none";
    case EncryptionMode::LoginOnly:
        return "login-only";
    case EncryptionMode::Full:
        return "full";
    }
    return "?";
}

Negotiation negotiate(Encryption client, ServerEncryption server) {
    // A strict value in a 7.x PRELOGIN has no row in the table: treat it as the strongest ask.
    if (client == Encryption::Strict) {
        client = Encryption::On;
    }
    switch (server) {
    case ServerEncryption::Off:
        switch (client) {
        case Encryption::Off:
            return {Encryption::Off, EncryptionMode::LoginOnly, false};
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return {Encryption::On, EncryptionMode::Full, false};
        case Encryption::NotSupported:
            return {Encryption::NotSupported, EncryptionMode::None, false};
        }
        break;
    case ServerEncryption::On:
        switch (client) {
        case Encryption::Off:
            return {Encryption::Required, EncryptionMode::Full, false};
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return {Encryption::On, EncryptionMode::Full, false};
        case Encryption::NotSupported:
            return {Encryption::Required, EncryptionMode::None, true};
        }
        break;
    case ServerEncryption::NotSupported:
        switch (client) {
        case Encryption::Off:
        case Encryption::NotSupported:
            return {Encryption::NotSupported, EncryptionMode::None, false};
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return {Encryption::NotSupported, EncryptionMode::None, true};
        }
        break;
    }
    return {};
}

std::optional<EncryptionMode> expected_mode(Encryption client, Encryption answer) {
    if (client == Encryption::Strict || client == Encryption::Required) {
        client = Encryption::On;
    }
    if (answer == Encryption::Strict) {
        answer = Encryption::On;
    }
    switch (client) {
    case Encryption::Off:
        switch (answer) {
        case Encryption::Off:
            return EncryptionMode::LoginOnly;
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return EncryptionMode::Full;
        case Encryption::NotSupported:
            return EncryptionMode::None;
        }
        break;
    case Encryption::On:
    case Encryption::Required:
    case Encryption::Strict:
        switch (answer) {
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return EncryptionMode::Full;
        case Encryption::Off:
        case Encryption::NotSupported:
            return std::nullopt;
        }
        break;
    case Encryption::NotSupported:
        switch (answer) {
        case Encryption::Off:
        case Encryption::NotSupported:
            return EncryptionMode::None;
        case Encryption::On:
        case Encryption::Required:
        case Encryption::Strict:
            return std::nullopt;
        }
        break;
    }
    return std::nullopt;
}

} // namespace tds
