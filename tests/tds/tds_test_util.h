#pragma once

// Helpers shared by the tds codec tests: test vectors on disk, exact-size byte buffers and
// readable Catch2 output for tds::Error.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <support/hex.h>
#include <tds/error.h>
#include <tds/packet.h>
#include <tds/version.h>

namespace tds {
// Catch2 prints a failing comparison of two tds::Error values with this.
inline std::ostream& operator<<(std::ostream& os, Error e) {
    return os << "Error::" << to_string(e);
}
// And a protocol level as its name ("7.4").
inline std::ostream& operator<<(std::ostream& os, Level l) {
    return os << "Level " << to_string(l);
}
} // namespace tds

namespace tds_test {

using Bytes = std::vector<std::uint8_t>;

// load_vector reads tests/tds/vectors/<name>: lines starting with '#' are comments (driver,
// version, how it was captured), the rest is hex. Returns an exactly sized vector, so ASan
// flags any read past its end.
inline Bytes load_vector(const std::string& name) {
    // A path join, not string +: GCC 12 at -O2 misreports the concatenation as out of bounds.
    std::ifstream in(std::filesystem::path(TDS_VECTORS_DIR) / name);
    if (!in) {
        throw std::runtime_error("missing test vector " + name);
    }
    std::string line;
    std::string hex;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '#') {
            continue;
        }
        hex += line;
        hex += '\n';
    }
    Bytes out = support::from_hex(hex);
    out.shrink_to_fit();
    return out;
}

// payload_of: the bytes after the 8-byte packet header, as a new exactly sized vector.
inline Bytes payload_of(const Bytes& packet) {
    REQUIRE(packet.size() >= tds::kHeaderLen);
    return Bytes(packet.begin() + static_cast<std::ptrdiff_t>(tds::kHeaderLen), packet.end());
}

// prefix: the first n bytes, exactly sized (a truncated copy for hostile-input tests).
inline Bytes prefix(const Bytes& bytes, std::size_t n) {
    return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

inline Bytes hex(std::string_view text) {
    return support::from_hex(text);
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    return support::to_hex(bytes);
}

// canon: hex as the spec prints it ("AD 36 00 ...") in to_hex's form, for comparisons that
// show both sides readably.
inline std::string canon(std::string_view spaced_hex) {
    return support::to_hex(support::from_hex(spaced_hex));
}

// error_of requires `result` to have failed and returns its error.
template <typename T> tds::Error error_of(const std::expected<T, tds::Error>& result) {
    REQUIRE_FALSE(result.has_value());
    return result.error();
}

} // namespace tds_test
