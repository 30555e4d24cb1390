#pragma once

#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace certs {

// CertificateInfo is what a record says about a certificate: enough to tell the cases of the
// catalogue apart at a glance.
struct CertificateInfo {
    std::string subject; // RFC 2253 form, e.g. "CN=localhost,O=tlslab"
    std::string issuer;
    std::vector<std::string> subject_alt_names; // "DNS:localhost", "IP:127.0.0.1"
    std::string not_before;                     // ISO 8601 UTC
    std::string not_after;
    std::string sha256_fingerprint;  // lowercase hex, no separators
    std::string key;                 // "RSA 2048", "EC 256"
    std::string signature_algorithm; // "sha256WithRSAEncryption"
    std::vector<std::string> extended_key_usage;
    bool self_signed = false;
};

CertificateInfo describe(X509* cert);

} // namespace certs
