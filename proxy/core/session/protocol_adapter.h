#pragma once

// Theory of operation
// -------------------
// A ProtocolAdapter is what differs between the protocols a ProxySession carries: the plaintext
// preamble (PRELOGIN, SSLRequest), how TLS is framed (inside TDS packets, raw), what a login looks
// like for the record, and the downgrade rewrites. The ProxySession owns what does not differ:
// connecting upstream, the timers, EOF and half-close, the verdict when a side leaves, and the
// record's emission.
//
// Every method runs inside one ProxySession step and speaks through the SessionContext; none may
// block or call out.

#include <cstdint>
#include <span>

#include <proxy/core/session/session_context.h>

namespace proxy {

class ProtocolAdapter {
  public:
    virtual ~ProtocolAdapter() = default;

    // The upstream connection is up (bytes sent before it were held by the context).
    virtual void on_connected(SessionContext& ctx) = 0;
    virtual void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) = 0;
    virtual void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) = 0;
    // flush: send what the adapter holds for either side (before a graceful close).
    virtual void flush(SessionContext& ctx) = 0;

    // has_login: the client's login went through the proxy (EOF now half-closes).
    virtual bool has_login() const = 0;
    // judge_client_left: the outcome if the client left now.
    virtual Outcome judge_client_left(const SessionContext& ctx) const = 0;
    // server_left_before_login: the outcome if the server left before the login (a relay that
    // does not understand the bytes judges the client; a protocol leg blames the upstream).
    virtual Outcome server_left_before_login(const SessionContext& ctx) const = 0;
    // complete_record: the last observations before the record is emitted.
    virtual void complete_record(SessionContext& ctx) = 0;
    // client_tls: the client-facing TLS endpoint, once there is one (the [fault] behaviours
    // watch it for the ClientHello); null before and for adapters that terminate no TLS.
    virtual const TlsEndpoint* client_tls() const { return nullptr; }
};

} // namespace proxy
