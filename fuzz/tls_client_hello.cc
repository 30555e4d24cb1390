// tls_client_hello: what the proxy reads of a connection before any TLS object exists: the
// protocol detection on the first bytes (every listener kind), peek_sni, peek_alpn and
// tls_record_complete on the first TLS record.
//
// Input: the first bytes a client sends (a TLS record with a ClientHello, or a TDS / PostgreSQL /
// MySQL opening).

#include <proxy/core/session/protocol_detect.h>
#include <proxy/core/tls/client_hello_peek.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    bool complete = proxy::tls_record_complete(in);
    auto sni = proxy::peek_sni(in);
    auto alpn = proxy::peek_alpn(in);
    if (sni || alpn) {
        fuzz::check(complete, "a ClientHello is read from a complete record only");
    }
    if (sni) {
        fuzz::check(sni->size() < size, "the SNI is inside the record");
    }
    for (auto listener : {proxy::ListenerProtocol::Auto, proxy::ListenerProtocol::Tds,
                          proxy::ListenerProtocol::Postgres, proxy::ListenerProtocol::Tls,
                          proxy::ListenerProtocol::Mysql}) {
        if (auto kind = proxy::detect_protocol(listener, in)) {
            (void)proxy::to_string(*kind);
        }
    }
    return 0;
}
