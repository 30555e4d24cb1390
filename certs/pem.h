#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace certs {

std::string to_pem(X509* cert);
std::string to_pem(EVP_PKEY* key); // PKCS#8, unencrypted

std::expected<X509Ptr, std::string> cert_from_pem(const std::string& pem);
std::expected<std::vector<X509Ptr>, std::string>
certs_from_pem_file(const std::filesystem::path& path);
std::expected<EvpPkeyPtr, std::string> key_from_pem(const std::string& pem);

// openssl_error drains OpenSSL's error queue into one readable line ("" when empty).
std::string openssl_error();

// read_file / write_file with an explicit mode (the CA key is 0600); write_file refuses to
// replace an existing file when `exclusive`.
std::expected<std::string, std::string> read_file(const std::filesystem::path& path);
std::expected<void, std::string> write_file(const std::filesystem::path& path,
                                            const std::string& data, unsigned mode, bool exclusive);

} // namespace certs
