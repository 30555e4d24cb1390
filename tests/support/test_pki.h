#pragma once

#include <certs/issuer.h>
#include <certs/openssl_ptr.h>
#include <proxy/core/tls/tls_context.h>

namespace support {

// TestPki is a throwaway CA with a "localhost" leaf, and the TLS contexts the machine tests
// need: the server side as tlslab serve builds it, the client side as a validating driver does.
struct TestPki {
    certs::Credential ca;
    certs::Credential leaf;
    certs::SslCtxPtr tds7_server;     // TLS 1.2 only, as inside PRELOGIN wrapping
    certs::SslCtxPtr tds8_server;     // TLS 1.2-1.3, ALPN tds/8.0
    certs::SslCtxPtr client_trusting; // verifies against this CA
    certs::SslCtxPtr client_tds8;     // verifies, offers ALPN tds/8.0
};

// make_test_pki builds it all (RSA 2048: a few hundred ms). Throws on failure (a test bug).
const TestPki& test_pki();

// A second, unrelated CA's client context: it rejects test_pki()'s leaf.
certs::SslCtxPtr client_trusting_other_ca();

} // namespace support
