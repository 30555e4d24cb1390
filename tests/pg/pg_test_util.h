#pragma once

// Helpers shared by the pg codec tests: captured sessions on disk (tests/pg/vectors, one
// message a line), exact-size byte buffers and readable Catch2 output for pg::Error.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <pg/messages.h>
#include <support/hex.h>

namespace pg {
// Catch2 prints a failing comparison of two pg::Error values with this.
inline std::ostream& operator<<(std::ostream& os, Error e) {
    return os << "Error::" << to_string(e);
}
inline std::ostream& operator<<(std::ostream& os, StartupKind k) {
    return os << to_string(k);
}
} // namespace pg

namespace pg_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(std::string_view text) {
    return support::from_hex(text);
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    return support::to_hex(bytes);
}

// with_nuls: a string literal with embedded NULs, all of it ("user\0bob\0").
template <std::size_t N> std::string with_nuls(const char (&literal)[N]) {
    return std::string(literal, N - 1);
}

inline Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

inline std::string text_of(std::span<const std::uint8_t> b) {
    return std::string(b.begin(), b.end());
}

// load_lines reads tests/pg/vectors/<name>: lines starting with '#' are comments (client,
// server, how it was captured, the message type), every other line is one message in hex.
// Each message is an exactly sized vector, so ASan flags any read past its end.
inline std::vector<Bytes> load_lines(const std::string& name) {
    std::ifstream in(std::filesystem::path(PG_VECTORS_DIR) / name);
    if (!in) {
        throw std::runtime_error("missing test vector " + name);
    }
    std::vector<Bytes> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        Bytes b = support::from_hex(line);
        b.shrink_to_fit();
        out.push_back(std::move(b));
    }
    return out;
}

// load_stream: the whole captured direction, as the peer received it.
inline Bytes load_stream(const std::string& name) {
    Bytes out;
    for (const auto& m : load_lines(name)) {
        out.insert(out.end(), m.begin(), m.end());
    }
    return out;
}

// prefix: the first n bytes, exactly sized (a truncated copy for hostile-input tests).
inline Bytes prefix(std::span<const std::uint8_t> bytes, std::size_t n) {
    return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

// slice_of: n bytes from `from`, exactly sized.
inline Bytes slice_of(std::span<const std::uint8_t> bytes, std::size_t from, std::size_t n) {
    REQUIRE(from + n <= bytes.size());
    return Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(from),
                 bytes.begin() + static_cast<std::ptrdiff_t>(from + n));
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// body_of: the body of one framed regular message (type and length dropped), after checking
// that the length field matches.
inline Bytes body_of(const Bytes& message) {
    REQUIRE(message.size() >= 5);
    const std::size_t length = static_cast<std::size_t>(message[1]) << 24 |
                               static_cast<std::size_t>(message[2]) << 16 |
                               static_cast<std::size_t>(message[3]) << 8 | message[4];
    REQUIRE(length + 1 == message.size());
    return Bytes(message.begin() + 5, message.end());
}

// message_of: a captured message as a pg::Message.
inline pg::Message message_of(const Bytes& message) {
    return pg::Message{static_cast<char>(message.at(0)), body_of(message)};
}

// error_of requires `result` to have failed and returns its error.
template <typename T> pg::Error error_of(const std::expected<T, pg::Error>& result) {
    REQUIRE_FALSE(result.has_value());
    return result.error();
}

// every_prefix_fails: a decoder given any strict prefix of a valid body must fail, never
// crash, and never read past the (exactly sized) copy.
template <typename Decode> void every_prefix_fails(const Bytes& body, Decode decode) {
    for (std::size_t n = 0; n < body.size(); ++n) {
        CAPTURE(n);
        const Bytes cut = prefix(body, n);
        CHECK_FALSE(decode(std::span<const std::uint8_t>(cut)).has_value());
    }
}

// with_trailing_byte: the body followed by one more byte.
inline Bytes with_trailing_byte(const Bytes& body, std::uint8_t extra = 0) {
    Bytes out = body;
    out.push_back(extra);
    return out;
}

} // namespace pg_test
