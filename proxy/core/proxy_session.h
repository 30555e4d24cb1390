#pragma once

// Theory of operation
// -------------------
// ProxySession is one client connection through the lab proxy: a ClientLeg facing the driver
// (showing the scenario's certificate and TLS setup), a ServerLeg facing the real server, the
// scenario as policy, and a SessionRecord of what the client did.
//
//   Started -> ConnectUpstream, connect and handshake timers
//   first client byte 0x12 (TDS 7.x):
//     client PRELOGIN -> record -> (scenario may rewrite ENCRYPTION) -> server, byte-identical
//     server answer   -> record -> (scenario may rewrite ENCRYPTION) -> client, byte-identical
//     each leg's mode follows from the two ENCRYPTION values of that leg (MS-TDS 2.2.6.5);
//     both handshakes run at once; client packets wait until the server leg is ready
//   first client byte 0x16 (TDS 8.0): TLS first on both legs (ALPN tds/8.0), then relay
//   anything else: relayed untouched, recorded as protocol "unknown"
//   passthrough scenario: every byte relayed untouched; a PassthroughObserver records PRELOGIN
//   after login: TDS packets relayed one by one each way, each leg in its own mode
//   EOF from one side after login: half-close towards the other, full close when both are done
//   the first end of the session -> Record + one log line
//
// The outcome says what the client did, judged at the moment the session ends: a LOGIN7 in
// TLS or in clear, an alert, or where in the handshake it left.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <proxy/core/client_leg.h>
#include <proxy/core/machine.h>
#include <proxy/core/passthrough_observer.h>
#include <proxy/core/scenario_runtime.h>
#include <proxy/core/server_leg.h>
#include <proxy/core/session_record.h>
#include <tds/version.h>

namespace proxy {

// What is known of a connection when the proxy asks which scenario it should meet: at the
// client's PRELOGIN (TDS 7.x), then at its ClientHello (with SNI).
struct SessionFacts {
    enum class Stage : std::uint8_t { Prelogin, ClientHello };
    Stage stage = Stage::Prelogin;
    std::string client_address;
    std::optional<std::string> prelogin_version;
    std::optional<std::string> sni;
};
using ScenarioChooser =
    std::function<std::shared_ptr<const ScenarioRuntime>(const SessionFacts& facts)>;

struct ProxySettings {
    std::shared_ptr<const ScenarioRuntime> scenario;
    SSL_CTX* upstream_tds7_ctx = nullptr; // client role, TLS <= 1.2
    SSL_CTX* upstream_tds8_ctx = nullptr; // client role, ALPN tds/8.0
    bool upstream_verified = false;       // the contexts verify against --upstream-ca
    std::string upstream_name;            // SNI and the name to verify
    std::uint64_t connect_timeout_ms = 10'000;
    std::uint64_t handshake_timeout_ms = 30'000;
    std::uint64_t idle_timeout_ms = 300'000;
    bool reveal_secrets = false;     // keep and log the password in clear
    bool record_messages = false;    // emit a MessageRecord per batch, RPC and server error
    bool capture_transcript = false; // keep the clear TDS packets for a pcap
    std::uint16_t listen_port = 0;
    // choose: policy asked at PRELOGIN and at the ClientHello; a scenario it returns replaces the
    // accept-time one from then on (null: keep). The certificate is only chosen at the ClientHello.
    ScenarioChooser choose;
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
};

class ProxySession final : public Machine {
  public:
    static constexpr int kConnectTimer = 1;
    static constexpr int kHandshakeTimer = 2;
    static constexpr int kIdleTimer = 3;

    ProxySession(ProxySettings settings, std::uint64_t id, std::string client_address);
    Actions handle(const Event& event) override;

    const SessionRecord& record() const { return record_; }

  private:
    void on_client_bytes(std::span<const std::uint8_t> bytes, Actions& a);
    void on_server_bytes(std::span<const std::uint8_t> bytes, Actions& a);
    void on_client_output(ClientLeg::Output out, Actions& a);
    void on_server_output(ServerLeg::Output out, Actions& a);
    void on_client_prelogin(Actions& a);
    void on_upstream_answer(Actions& a);
    void on_connected(Actions& a);
    void maybe_switch(SessionFacts::Stage stage, const std::optional<std::string>& sni);
    void on_client_closed(const std::string& detail, Actions& a);
    void on_server_closed(const std::string& detail, Actions& a);
    void on_timer(int timer, Actions& a);
    void forward_to_server(const tds::Packet& p);
    void forward_to_client(const tds::Packet& p);
    void inspect_client_packet(const tds::Packet& p, Actions& a);
    void inspect_server_packet(const tds::Packet& p, Actions& a);
    void on_login7(const tds::Message& m, Actions& a);
    void emit_message(Actions& a, std::string kind, bool from_client, std::string text,
                      std::optional<std::uint32_t> number = {},
                      std::optional<std::uint8_t> severity = {}, std::string detail = {});
    void keep(bool from_client, std::span<const std::uint8_t> bytes);
    void flush_queues();
    void flush(Actions& a);
    void note_client_tls();
    void note_upstream_tls();
    Outcome judge_client_left() const;
    bool session_has_login() const;
    void finish(Actions& a, Outcome outcome, std::string detail, bool flush = true,
                bool reset = false);
    bool upstream_ready() const;
    bool client_ready() const;
    bool is_passthrough() const { return settings_.scenario->scenario.passthrough; }

    ProxySettings settings_;
    ClientLeg client_;
    ServerLeg server_;
    PassthroughObserver observer_;
    SessionRecord record_;
    bool connected_ = false;
    bool login_seen_ = false;
    bool finished_ = false;
    bool client_eof_ = false;
    bool server_eof_ = false;
    bool upstream_tls_noted_ = false;
    bool client_tls_noted_ = false;
    std::uint8_t encryption_to_server_ = 0;
    std::vector<tds::Packet> prelogin_packets_;               // the client's PRELOGIN as it came
    std::vector<tds::Packet> answer_packets_;                 // the server's answer as it came
    std::vector<std::uint8_t> pending_raw_to_server_;         // before the upstream is connected
    std::deque<std::vector<std::uint8_t>> pending_to_server_; // packets waiting for the server leg
    std::deque<std::vector<std::uint8_t>> pending_to_client_; // packets waiting for the client leg
    tds::MessageAssembler client_messages_{4 * 1024 * 1024};
    tds::MessageAssembler server_messages_{4 * 1024 * 1024};
    bool login_decoded_ = false;
    // The layouts of the session's TDS version: from LOGIN7, corrected by the server's LOGINACK.
    tds::Level level_ = tds::Level::V74;
    bool level_from_server_ = false;
    std::size_t transcript_bytes_ = 0;
    bool prelogin_pending_ = false; // the client's PRELOGIN waits for the connection
    bool tds8_pending_ = false;     // the TDS 8.0 upstream handshake waits for the connection
};

} // namespace proxy
