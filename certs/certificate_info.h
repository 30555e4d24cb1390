#pragma once

#include <memory>
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

// describe_shared: describe(cert), shared with the sessions that met the same certificate. A
// proxy sees one upstream certificate thousands of times (a resumed session even hands over the
// same X509); each thread keeps the last few descriptions, found again by X509_cmp (the SHA-1
// OpenSSL computed when it decoded the certificate), so a session costs a reference, not a
// description: about 1 KB of strings and 2% of the CPU of a MITM login.
std::shared_ptr<const CertificateInfo> describe_shared(X509* cert);

} // namespace certs
