#pragma once

// Theory of operation
// -------------------
// SessionContext is what every protocol adapter of a proxied session shares: the settings and
// scenario, the SessionRecord being filled in, whether the upstream is connected, and the
// actions the step produces. It knows no protocol. An adapter speaks through it:
//
//   send(side, bytes)       bytes for a socket; server bytes before the upstream is connected
//                           are held and go out on Connected, in order
//   reached_login(outcome)  the client's login arrived: the handshake timer stops, the idle
//                           timer starts, the outcome is noted
//   finish(outcome, ...)    the session is over; the ProxySession completes and emits the record
//   peer_closed(side, ...)  a side ended inside the protocol (close_notify): handled like EOF
//   choose(facts)           ask the listener's policy for another scenario
//
// finish and peer_closed are requests: the ProxySession carries them out after the adapter's step
// returns, so an adapter never re-enters itself.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <certs/openssl_ptr.h>
#include <proxy/core/session/machine.h>
#include <proxy/core/session/scenario_runtime.h>
#include <proxy/core/session/session_record.h>
#include <proxy/core/tls/tls_endpoint.h>

namespace proxy {

// Which protocol a listener speaks. Auto tells TDS and PostgreSQL apart by the first bytes;
// MySQL cannot be told (the server speaks first), so a MySQL listener says so.
enum class ListenerProtocol : std::uint8_t { Auto, Tds, Postgres, Tls, Mysql };
std::string_view to_string(ListenerProtocol p);
std::optional<ListenerProtocol> listener_protocol_from_name(std::string_view name);

// What is known of a connection when the proxy asks which scenario it should meet: at the
// client's PRELOGIN (TDS 7.x) or StartupMessage (PostgreSQL in clear), then at its ClientHello.
struct SessionFacts {
    enum class Stage : std::uint8_t { Prelogin, ClientHello };
    Stage stage = Stage::Prelogin;
    std::string client_address;
    std::optional<std::string> prelogin_version;
    std::optional<std::string> sni;
};
using ScenarioChooser =
    std::function<std::shared_ptr<const ScenarioRuntime>(const SessionFacts& facts)>;

// UpstreamTls: the client-role contexts of the upstream leg.
struct UpstreamContexts {
    SSL_CTX* tds7 = nullptr;     // TLS <= 1.2 (inside PRELOGIN)
    SSL_CTX* tds8 = nullptr;     // ALPN tds/8.0
    SSL_CTX* postgres = nullptr; // after SSLRequest
    SSL_CTX* generic = nullptr;  // --protocol tls
    SSL_CTX* mysql = nullptr;    // after the proxy's SSLRequest
};

struct ProxySettings {
    std::shared_ptr<const ScenarioRuntime> scenario;
    ListenerProtocol protocol = ListenerProtocol::Auto;
    UpstreamContexts upstream;
    bool upstream_verified = false;   // the contexts verify against --upstream-ca
    std::string upstream_name;        // SNI and the name to verify
    std::string original_destination; // transparent mode: where the client meant to go
    std::uint64_t connect_timeout_ms = 10'000;
    std::uint64_t handshake_timeout_ms = 30'000;
    std::uint64_t idle_timeout_ms = 300'000;
    // --max-message-bytes: the largest message the proxy holds whole (a TDS message from the
    // client, a PostgreSQL message, a MySQL packet with its continuations); a session that sends
    // a longer one ends, the others are untouched.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    bool reveal_secrets = false;     // keep and log passwords in clear
    bool record_messages = false;    // emit a MessageRecord per query, call and server error
    bool capture_transcript = false; // keep the clear protocol bytes for a pcap
    // PostgreSQL: a StartupMessage in clear is refused with the FATAL a hostssl-only server gives.
    bool postgres_refuse_plaintext = false;
    // MySQL: a HandshakeResponse in clear is refused with ERR 3159 (require_secure_transport).
    bool mysql_refuse_plaintext = false;
    std::uint16_t listen_port = 0;
    // choose: policy asked at PRELOGIN / StartupMessage and at the ClientHello; a scenario it
    // returns replaces the accept-time one from then on (null: keep). The certificate is only
    // chosen at the ClientHello.
    ScenarioChooser choose;
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
};

class SessionContext {
  public:
    static constexpr int kConnectTimer = 1;
    static constexpr int kHandshakeTimer = 2;
    static constexpr int kIdleTimer = 3;

    SessionContext(ProxySettings settings, std::uint64_t id, std::string client_address);

    const ProxySettings& settings() const { return settings_; }
    const ScenarioRuntime& scenario() const { return *settings_.scenario; }
    const std::shared_ptr<const ScenarioRuntime>& scenario_ptr() const {
        return settings_.scenario;
    }
    SessionRecord& record() { return record_; }
    const SessionRecord& record() const { return record_; }
    bool connected() const { return connected_; }
    bool login_seen() const { return login_seen_; }
    bool finishing() const { return finish_.has_value(); }

    void send(Side side, std::vector<std::uint8_t> bytes);
    // relay: `bytes` go to `side` unchanged. When they are exactly the BytesReceived being
    // handled (set_received), without a copy (action::Relay); otherwise, and while the upstream
    // is not connected, as send() does.
    void relay(Side side, std::span<const std::uint8_t> bytes);
    void set_received(std::span<const std::uint8_t> bytes) { received_ = bytes; }
    void log(LogLevel level, std::string text);
    void message(std::string kind, bool from_client, std::string text,
                 std::optional<std::uint32_t> number = {},
                 std::optional<std::uint8_t> severity = {}, std::string detail = {});
    // keep: clear protocol bytes for the transcript (--pcap), bounded. Known secrets are
    // overwritten with 'x' in what is kept (unless reveal_secrets).
    void keep(bool from_client, std::span<const std::uint8_t> bytes);
    // note_secret: `bytes` (a password as it crosses the wire, in any form) must not appear in
    // the transcript unless reveal_secrets: overwritten in what was kept and in what will be.
    // A secret split across two kept chunks is not found; logins fit in one.
    void note_secret(std::span<const std::uint8_t> bytes);
    void reached_login(Outcome outcome);
    void finish(Outcome outcome, std::string detail, bool flush = true, bool reset = false);
    void peer_closed(Side side, std::string detail);
    // over_message_limit: `from` sent a message longer than --max-message-bytes: one warning
    // naming the limit, and the session ends (a protocol error before the login; after it the
    // login's outcome stays, the detail names the limit). `flush`: what was sent to the peers
    // first (an error the protocol has for it) is delivered before the connections close.
    void over_message_limit(Side from, const std::string& what, bool flush = false);
    // client_tls_failed: the client's TLS leg failed with `error`; an alert the client sent
    // makes it Outcome::Alert (recorded), anything else a protocol error.
    void client_tls_failed(const TlsEndpoint* tls, const std::string& error);
    // choose asks the listener's policy; true when the scenario changed.
    bool choose(const SessionFacts& facts);
    std::chrono::system_clock::time_point now() const { return settings_.now(); }

    // For the ProxySession.
    struct FinishRequest {
        Outcome outcome;
        std::string detail;
        bool flush;
        bool reset;
    };
    struct CloseRequest {
        Side side;
        std::string detail;
    };
    void set_connected();
    template <typename A> void push(A&& a) { actions_.emplace_back(std::forward<A>(a)); }
    Actions take_actions() { return std::exchange(actions_, {}); }
    const std::optional<FinishRequest>& finish_request() const { return finish_; }
    std::optional<CloseRequest> take_close_request() { return std::exchange(close_, {}); }

  private:
    ProxySettings settings_;
    SessionRecord record_;
    Actions actions_;
    std::span<const std::uint8_t> received_; // the BytesReceived being handled (relay)
    bool connected_ = false;
    bool login_seen_ = false;
    std::vector<std::uint8_t> held_for_server_; // before the upstream is connected
    std::size_t transcript_bytes_ = 0;
    std::vector<std::vector<std::uint8_t>> secrets_; // see note_secret
    std::optional<FinishRequest> finish_;
    std::optional<CloseRequest> close_;
};

// note_tls: what a TLS endpoint saw, for the record.
void note_tls(TlsObservation& t, const TlsEndpoint& tls);
// note_upstream: the upstream leg's TLS, its certificate and whether it was verified.
void note_upstream(SessionContext& ctx, const TlsEndpoint& tls);

} // namespace proxy
