#pragma once

// Theory of operation
// -------------------
// TdsAdapter carries TDS through a ProxySession: a ClientLeg facing the driver (showing the
// scenario's certificate and TLS setup), a ServerLeg facing the real server, and what TDS
// inspection reads for the record.
//
//   first client byte 0x12 (TDS 7.x):
//     client PRELOGIN -> record -> (scenario may rewrite ENCRYPTION) -> server, byte-identical
//     server answer   -> record -> (scenario may rewrite ENCRYPTION) -> client, byte-identical
//     each leg's mode follows from the two ENCRYPTION values of that leg (MS-TDS 2.2.6.5);
//     both handshakes run at once; client packets wait until the server leg is ready
//   first client byte 0x16 (TDS 8.0): TLS first on both legs (ALPN tds/8.0), then relay
//   anything else: relayed untouched, recorded as protocol "unknown"
//   after login: TDS packets relayed one by one each way, each leg in its own mode
//
// Scenario faults on this path ([tds]):
//   encryption_to_client    the answer's ENCRYPTION byte, any value (0x05 too), patched in place
//   omit_encryption_option  the answer re-encoded without its ENCRYPTION option (one packet)
//   strict_only             a TDS 7.x PRELOGIN is refused as SQL Server 2022 with Force Strict
//                           Encryption refuses it: no answer, the connection reset (the server
//                           logs error 17819); TLS first (TDS 8.0) is served
//   route_to_host           the login response carries ENVCHANGE 20 after LOGINACK (LoginRouter)
//
// The outcome says what the client did, judged at the moment the session ends: a LOGIN7 in
// TLS or in clear, an alert, or where in the handshake it left.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <proxy/core/session/protocol_adapter.h>
#include <proxy/core/tds/client_leg.h>
#include <proxy/core/tds/login_router.h>
#include <proxy/core/tds/server_leg.h>
#include <proxy/core/tds/tds_inspector.h>
#include <tds/packet.h>
#include <tds/prelogin.h>

namespace proxy {

class TdsAdapter final : public ProtocolAdapter {
  public:
    explicit TdsAdapter(const SessionContext& ctx);

    void on_connected(SessionContext& ctx) override;
    void on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) override;
    void flush(SessionContext& ctx) override;
    bool has_login() const override { return login_seen_; }
    Outcome judge_client_left(const SessionContext& ctx) const override;
    Outcome server_left_before_login(const SessionContext& ctx) const override;
    void complete_record(SessionContext& ctx) override;
    const TlsEndpoint* client_tls() const override { return client_.tls(); }

  private:
    void on_client_output(SessionContext& ctx, ClientLeg::Output out);
    void on_server_output(SessionContext& ctx, ServerLeg::Output out);
    void on_client_prelogin(SessionContext& ctx);
    void on_upstream_answer(SessionContext& ctx);
    void maybe_switch(SessionContext& ctx, SessionFacts::Stage stage,
                      const std::optional<std::string>& sni);
    void flush_queues();
    void note_client_tls(SessionContext& ctx);
    void note_upstream_tls(SessionContext& ctx);
    bool upstream_ready() const;
    bool client_ready() const;

    ClientLeg client_;
    ServerLeg server_;
    TdsInspector inspector_;
    std::optional<LoginRouter> router_; // route_to_host: made when the LOGIN7 goes up
    bool login_seen_ = false;
    std::uint8_t encryption_to_server_ = 0;
    std::vector<tds::Packet> prelogin_packets_; // the client's PRELOGIN as it came
    std::vector<tds::Packet> answer_packets_;   // the server's answer as it came
    // Packets waiting for a leg, oldest first (vectors: a std::deque allocates 576 bytes as it is
    // made, and an idle session has nothing waiting).
    using Packets = std::vector<std::vector<std::uint8_t>>;
    Packets pending_to_server_; // packets waiting for the server leg
    Packets pending_to_client_; // packets waiting for the client leg
};

// summarise: a PRELOGIN message as the record shows it.
PreloginSummary summarise(const tds::Prelogin& p);

} // namespace proxy
