#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace certs {

enum class KeyType { Rsa, EcP256, EcP384 };

struct KeySpec {
    KeyType type = KeyType::Rsa;
    int rsa_bits = 2048;
};

// CertificateProfile describes a certificate to mint. Validity is relative to the moment of
// minting, so nothing pre-generated goes stale.
struct CertificateProfile {
    std::string common_name; // empty: no CN in the subject
    std::string organization = "tlslab";
    std::vector<std::string> dns_names;    // subjectAltName DNS entries
    std::vector<std::string> ip_addresses; // subjectAltName IP entries (v4 or v6 text)
    std::chrono::seconds not_before{-std::chrono::hours(1)};
    std::chrono::seconds not_after{std::chrono::days(365)};
    KeySpec key;
    std::string signature_hash = "sha256"; // any name EVP_get_digestbyname knows
    // extendedKeyUsage short names ("serverAuth", "clientAuth"); empty: no EKU extension.
    std::vector<std::string> extended_key_usage = {"serverAuth"};
    bool is_ca = false;
};

struct Credential {
    X509Ptr cert;
    EvpPkeyPtr key;
};

std::expected<EvpPkeyPtr, std::string> generate_key(const KeySpec& spec);

// issue mints a certificate for `profile` with a fresh key, signed by issuer_key and named
// after issuer_cert; both null means self-signed.
std::expected<Credential, std::string> issue(const CertificateProfile& profile, X509* issuer_cert,
                                             EVP_PKEY* issuer_key);

} // namespace certs
