#include <tds/error.h>

namespace tds {

std::string_view to_string(Error e) {
    switch (e) {
    case Error::Truncated:
        return "truncated";
    case Error::BadPacketLength:
        return "packet length below 8 or above 32767";
    case Error::PacketTooLarge:
        return "packet longer than the negotiated packet size";
    case Error::MessageTooLarge:
        return "message larger than the size guard";
    case Error::UnexpectedType:
        return "packet of another type inside a message";
    case Error::NoTerminator:
        return "missing 0xFF terminator";
    case Error::OptionOutOfBounds:
        return "PRELOGIN option offset or length past the end";
    case Error::DuplicateOption:
        return "PRELOGIN option repeated";
    case Error::BadOptionLength:
        return "PRELOGIN option with an impossible length";
    case Error::BadLogin7:
        return "LOGIN7 length inconsistent with its fixed part";
    case Error::StringOutOfBounds:
        return "LOGIN7 offset or length past the end";
    case Error::BadAllHeaders:
        return "SQL batch ALL_HEADERS inconsistent";
    case Error::BadToken:
        return "token length past the end";
    case Error::UnknownToken:
        return "token the reader cannot size";
    case Error::UnknownType:
        return "unknown or unsupported data type";
    case Error::BadValue:
        return "a data value of a length its type cannot have";
    case Error::BadRequest:
        return "request fields inconsistent";
    }
    return "unknown error";
}

} // namespace tds
