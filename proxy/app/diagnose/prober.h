#pragma once

// The prober: the only part of diagnose that does I/O. A one-shot command, so it is plain
// blocking sockets with poll() deadlines, not the event loop. Each TLS handshake runs on its
// own TCP connection after the protocol's negotiation (TDS PRELOGIN with the handshake carried
// in PRELOGIN packets, or TDS 8.0 TLS first; PostgreSQL SSLRequest or direct SSL; MySQL greeting
// then SSLRequest), through OpenSSL memory BIOs, so what goes on the wire is ours to frame.

#include <string>

#include <proxy/app/diagnose/diagnosis.h>

namespace proxy::app::diagnose {

struct ProbeOptions {
    Protocol protocol = Protocol::Tds;
    std::string host;
    int port = 0;
    std::string server_name; // SNI and the name checked; the host when not given
    double timeout_s = 5;    // per connection: connect, negotiation and handshake
};

Observations probe(const ProbeOptions& options);

} // namespace proxy::app::diagnose
