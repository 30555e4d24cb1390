#pragma once

// The MySQL protocol's basic types (MySQL docs "Basic Data Types"): fixed-length little-endian
// integers, length-encoded integers (0xFB is NULL in a row, 0xFC/0xFD/0xFE prefix 2/3/8 bytes),
// and strings: fixed, NUL-terminated, length-encoded, and "rest of packet". Standard library only.
//
// Reader never reads past its span: every read returns an Error instead.

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mysql {

enum class Error : std::uint8_t {
    Truncated,         // the bytes end inside a field
    BadLength,         // a length field that is impossible (0xFF as a length-encoded integer)
    TooLong,           // a packet or field above the configured limit
    MissingTerminator, // a NUL-terminated string without its NUL
    TrailingBytes,     // a packet longer than its fields
    BadValue,          // a field holds a value the protocol does not allow
    Unsupported,       // a valid form the codec does not speak (e.g. HandshakeResponse320)
};
std::string_view to_string(Error e);

class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t remaining() const { return bytes_.size() - pos_; }
    std::size_t position() const { return pos_; }
    bool at_end() const { return pos_ == bytes_.size(); }
    std::expected<std::uint8_t, Error> peek() const;

    std::expected<std::uint8_t, Error> u8();
    std::expected<std::uint16_t, Error> u16();
    std::expected<std::uint32_t, Error> u24();
    std::expected<std::uint32_t, Error> u32();
    std::expected<std::uint64_t, Error> u48();
    std::expected<std::uint64_t, Error> u64();
    // lenenc_int: nullopt for 0xFB (NULL in a text row); 0xFF is BadLength.
    std::expected<std::optional<std::uint64_t>, Error> lenenc_int();
    std::expected<std::vector<std::uint8_t>, Error> bytes(std::size_t n);
    std::expected<std::string, Error> fixed_string(std::size_t n);
    std::expected<std::string, Error> null_string();
    // lenenc_string: nullopt for NULL (0xFB).
    std::expected<std::optional<std::string>, Error> lenenc_string();
    std::expected<std::vector<std::uint8_t>, Error> lenenc_bytes(); // NULL is BadValue here
    std::string rest_string();
    std::vector<std::uint8_t> rest_bytes();
    std::expected<void, Error> skip(std::size_t n);

  private:
    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v);
    void u24(std::uint32_t v);
    void u32(std::uint32_t v);
    void u48(std::uint64_t v);
    void u64(std::uint64_t v);
    void lenenc_int(std::uint64_t v);
    void lenenc_null() { out_.push_back(0xFB); }
    void bytes(std::span<const std::uint8_t> b);
    void string(std::string_view s); // as is, no length, no terminator
    void null_string(std::string_view s);
    void lenenc_string(std::string_view s);
    void lenenc_bytes(std::span<const std::uint8_t> b);
    void zeros(std::size_t n);

    std::vector<std::uint8_t>& out() { return out_; }
    std::vector<std::uint8_t> take() { return std::move(out_); }

  private:
    std::vector<std::uint8_t> out_;
};

// lenenc_size: how many bytes lenenc_int(v) writes.
std::size_t lenenc_size(std::uint64_t v);

} // namespace mysql
