#pragma once

#include <cstdint>
#include <string_view>

namespace tds {

// Error is what every codec function returns instead of throwing: hostile bytes are an
// ordinary outcome for a proxy, never an exception and never undefined behaviour.
enum class Error : std::uint8_t {
    Truncated,         // fewer bytes than a length or a fixed layout says
    BadPacketLength,   // packet header length below 8 or above 32767
    PacketTooLarge,    // packet longer than the negotiated size allows
    MessageTooLarge,   // message beyond the assembler's size guard
    UnexpectedType,    // a packet of another type in the middle of a message
    NoTerminator,      // PRELOGIN option table or FeatureExt without its 0xFF end
    OptionOutOfBounds, // PRELOGIN option offset/length outside the payload
    DuplicateOption,   // the same PRELOGIN option twice
    BadOptionLength,   // a known PRELOGIN option with a length its meaning cannot have
    BadLogin7,         // LOGIN7 length field or fixed part inconsistent
    StringOutOfBounds, // a LOGIN7 offset/length pair outside the message
    BadAllHeaders,     // SQL batch ALL_HEADERS inconsistent
    BadToken,          // a server token whose length runs past the data
    UnknownToken,      // a token the reader cannot size (the walk stops there)
    UnknownType,       // a TYPE_INFO token the codec does not know or cannot size (TVP, UDT)
    BadValue,          // a data value whose length its type cannot have
    BadRequest,        // an RPC or Transaction Manager request whose fields do not fit
};

std::string_view to_string(Error e);

} // namespace tds
