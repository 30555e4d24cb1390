#pragma once

// The certificate factory: issue() mints one X.509 v3 certificate from a CertificateProfile,
// with a fresh key or a given one, self-signed or signed by an issuer. The profile covers the
// shapes the catalogue needs: key types (RSA, RSA-PSS, EC, Ed25519), serial-number shapes
// (including the DER-negative serial SQL Server's fallback certificate sometimes has), leaf or
// CA basic constraints, key usage as the key needs or as given, name constraints on a CA, a
// private critical extension no client knows, and no extensions at all.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace certs {

enum class KeyType { Rsa, EcP256, EcP384, RsaPss, Ed25519 };

struct KeySpec {
    KeyType type = KeyType::Rsa;
    int rsa_bits = 2048; // Rsa and RsaPss
};

enum class SerialShape {
    Random,           // 16 random bytes, DER-positive, first byte 0x01..0x7F
    Random16Positive, // the same: SQL Server's fallback certificate when its first bit is 0
    Random16Negative, // 16 random bytes whose first bit is 1, no 0x00 before them: the DER
                      // INTEGER is negative (RFC 5280 forbids it; Go 1.23+ refuses to parse it)
};

// The private extension a critical_unknown_extension profile carries (no client knows it).
inline constexpr const char* kUnknownCriticalExtensionOid = "1.3.6.1.4.1.55555.1";

// CertificateProfile describes a certificate to mint. Validity is relative to the moment of
// minting, to the second, so nothing pre-generated goes stale.
struct CertificateProfile {
    std::string common_name; // empty: no CN in the subject
    // The CN as a BMPString (UTF-16BE), as Windows CryptoAPI writes it; otherwise UTF8String.
    bool common_name_bmp = false;
    std::string organization = "tlslab";
    std::vector<std::string> dns_names;    // subjectAltName DNS entries
    std::vector<std::string> ip_addresses; // subjectAltName IP entries (v4 or v6 text)
    std::chrono::seconds not_before{-std::chrono::hours(1)};
    std::chrono::seconds not_after{std::chrono::days(365)};
    KeySpec key;
    // Any name EVP_get_digestbyname knows; ignored when the signing key is Ed25519 (it hashes
    // internally).
    std::string signature_hash = "sha256";
    // extendedKeyUsage short names ("serverAuth", "clientAuth"); empty: no EKU extension.
    std::vector<std::string> extended_key_usage = {"serverAuth"};
    bool is_ca = false; // basicConstraints CA:TRUE (a leaf may say so too: see the catalogue)
    // keyUsage names ("digitalSignature", "keyEncipherment", ...). nullopt: a CA's
    // (keyCertSign, cRLSign, digitalSignature) or leaf_key_usage(key.type); empty: no keyUsage
    // extension.
    std::optional<std::vector<std::string>> key_usage;
    SerialShape serial = SerialShape::Random;
    bool unknown_critical_extension = false; // kUnknownCriticalExtensionOid, critical, NULL
    // CA only: a critical nameConstraints extension with these permitted DNS subtrees and IP
    // ranges (CIDR text, "127.0.0.0/8", "::1/128"). With IP ranges, every IP address a leaf
    // names must be in one; without, IP addresses are not constrained.
    std::vector<std::string> permitted_dns;
    std::vector<std::string> permitted_ip;
    // false: a v3 certificate with no extensions at all (as SQL Server's fallback certificate);
    // every extension field above is then ignored.
    bool extensions = true;
};

struct Credential {
    X509Ptr cert;
    EvpPkeyPtr key;
};

// An existing subject for issue(): its key and/or its name instead of fresh ones. A cross
// certificate is an existing CA's name and key, signed by another CA.
struct ExistingSubject {
    EVP_PKEY* key = nullptr;         // null: generate one from the profile's KeySpec
    const X509_NAME* name = nullptr; // null: O and CN from the profile
};

// leaf_key_usage: what a server certificate's key of this type needs ({"digitalSignature",
// "keyEncipherment"} for RSA); the default keyUsage of a profile that is not a CA.
std::vector<std::string> leaf_key_usage(KeyType type);

std::expected<EvpPkeyPtr, std::string> generate_key(const KeySpec& spec);

// issue mints a certificate for `profile`, signed by issuer_key and named after issuer_cert;
// both null means self-signed. The returned Credential owns (a reference to) the subject key.
std::expected<Credential, std::string> issue(const CertificateProfile& profile, X509* issuer_cert,
                                             EVP_PKEY* issuer_key,
                                             const ExistingSubject& subject = {});

} // namespace certs
