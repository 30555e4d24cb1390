#pragma once

#include <cstdint>
#include <vector>

#include <openssl/x509.h>

namespace certs {

// tls_server_end_point: the RFC 5929 channel-binding data of a server certificate, the hash of
// its DER encoding with the certificate's signature hash (SHA-256 where that is MD5 or SHA-1),
// as PostgreSQL's SCRAM-SHA-256-PLUS binds to it. Empty when the hash cannot be determined.
std::vector<std::uint8_t> tls_server_end_point(X509* cert);

} // namespace certs
