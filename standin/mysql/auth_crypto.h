#pragma once

// The hashing behind the MySQL authentication plugins, with OpenSSL's libcrypto:
//   mysql_native_password  SHA1(pw) XOR SHA1(scramble || SHA1(SHA1(pw)))
//   caching_sha2_password  SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || scramble) (fast path);
//                          full path over RSA: RSA-OAEP(pw NUL XOR scramble, cycled)
// and the process's RSA key pair (2048 bits, generated once on first use), as MySQL generates
// one when it has none configured.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace standin::mysql {

using Bytes = std::vector<std::uint8_t>;

std::array<std::uint8_t, 20> sha1(std::span<const std::uint8_t> data);
std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data);
std::span<const std::uint8_t> as_bytes(std::string_view s);

// random_scramble: 20 bytes as MySQL's generate_user_salt makes them (printable ASCII, no NUL,
// no '$').
Bytes random_scramble();

// The client's side (for the tests and the record): what a client sends for `password`.
Bytes native_password_response(std::string_view password, std::span<const std::uint8_t> scramble);
Bytes caching_sha2_response(std::string_view password, std::span<const std::uint8_t> scramble);

// The server's side.
bool native_password_matches(std::span<const std::uint8_t> response,
                             std::span<const std::uint8_t> scramble, std::string_view password);
bool caching_sha2_matches(std::span<const std::uint8_t> response,
                          std::span<const std::uint8_t> scramble, std::string_view password);

// The process's RSA key: the public half in PEM (what 0x02 gets), and OAEP decryption.
const std::string& rsa_public_key_pem();
std::optional<Bytes> rsa_decrypt_oaep(std::span<const std::uint8_t> ciphertext);

// caching_sha2_password's per-process cache of successful full authentications (MySQL keeps it
// until the account changes or the server restarts). forget_cached_logins empties it (tests).
bool login_cached(const std::string& user, std::string_view password);
void cache_login(const std::string& user, std::string_view password);
void forget_cached_logins();

// hex_upper: "0A1B..." (MariaDB's zero-configuration SSL check is sent in this form).
std::string hex_upper(std::span<const std::uint8_t> bytes);

} // namespace standin::mysql
