#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tds/error.h>

namespace tds {

// PRELOGIN option tokens, MS-TDS 2.2.6.5.
namespace prelogin_token {
inline constexpr std::uint8_t kVersion = 0x00;
inline constexpr std::uint8_t kEncryption = 0x01;
inline constexpr std::uint8_t kInstOpt = 0x02;
inline constexpr std::uint8_t kThreadId = 0x03;
inline constexpr std::uint8_t kMars = 0x04;
inline constexpr std::uint8_t kTraceId = 0x05;
inline constexpr std::uint8_t kFedAuthRequired = 0x06;
inline constexpr std::uint8_t kNonceOpt = 0x07;
inline constexpr std::uint8_t kTerminator = 0xFF;
} // namespace prelogin_token

struct PreloginOption {
    std::uint8_t token = 0;
    std::uint16_t offset = 0; // from the start of the payload (big-endian on the wire)
    std::uint16_t length = 0; // big-endian on the wire
};

// VERSION: client = driver version, server = SQL Server product version.
struct PreloginVersion {
    std::uint8_t major = 0;
    std::uint8_t minor = 0;
    std::uint16_t build = 0;       // big-endian on the wire
    std::uint16_t sub_build = 0;   // endianness differs between implementations: kept as read (BE)
    std::string to_string() const; // "16.0.2000.0"
};

// Prelogin is a lossless view of a PRELOGIN payload (client request or server answer).
//
// parse() keeps the exact bytes and the option table in wire order, unknown tokens included,
// so bytes() of an untouched message is byte-identical to what was parsed: a proxy must not
// normalise traffic. set_encryption() patches the one data byte in place. Accessors return
// nullopt when an option is absent or has a length its meaning cannot have.
class Prelogin {
  public:
    // Errors: NoTerminator (table without 0xFF), OptionOutOfBounds (offset/length past the end),
    // DuplicateOption (a known token twice: the two ends could read different values).
    static std::expected<Prelogin, Error> parse(std::span<const std::uint8_t> payload);

    const std::vector<PreloginOption>& options() const { return options_; }
    std::optional<std::span<const std::uint8_t>> option_data(std::uint8_t token) const;

    std::optional<PreloginVersion> version() const;
    std::optional<std::uint8_t> encryption() const;
    std::optional<std::string> instance() const;         // client: the name up to its NUL
    std::optional<std::uint8_t> instance_status() const; // server answer: 0 OK, 1 mismatch
    std::optional<std::uint32_t> thread_id() const;
    std::optional<bool> mars() const;
    std::optional<std::uint8_t> fedauth_required() const;

    // set_encryption overwrites the ENCRYPTION byte; false when the option is absent.
    bool set_encryption(std::uint8_t value);

    // without re-encodes the payload with every entry of `token` removed from the option table
    // and its data from the data area: the other options keep their table order and data bytes,
    // their offsets follow the shorter table (data laid out in table order, as servers write it).
    std::vector<std::uint8_t> without(std::uint8_t token) const;

    const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  private:
    std::vector<std::uint8_t> bytes_;
    std::vector<PreloginOption> options_;
};

// PreloginBuilder writes a fresh PRELOGIN payload: the option table in the order options were
// added, then their data in the same order.
class PreloginBuilder {
  public:
    PreloginBuilder& add(std::uint8_t token, std::span<const std::uint8_t> data);
    PreloginBuilder& version(const PreloginVersion& v);
    PreloginBuilder& encryption(std::uint8_t value);
    PreloginBuilder& instance_ok();
    PreloginBuilder& thread_id_empty();
    PreloginBuilder& mars(bool on);
    std::vector<std::uint8_t> build() const;

  private:
    std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> options_;
};

} // namespace tds
