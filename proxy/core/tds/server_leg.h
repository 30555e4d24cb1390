#pragma once

// Theory of operation
// -------------------
// ServerLeg is the client side of a TDS connection: what a driver does towards a server. The
// proxy uses it for its upstream connection; tests use it as a real OpenSSL-backed TDS client.
// Like ClientLeg it decides nothing: the owner says when to send PRELOGIN and which mode follows.
//
//   TDS 7.x:  Idle --send_prelogin()--> AwaitPreloginAnswer --0x04 message--> AwaitDecision
//             AwaitDecision --start(None)--> Plain
//             AwaitDecision --start(Full|LoginOnly)--> WrappedHandshake --done--> Tls |
//             LoginOnlyTls LoginOnlyTls --first packet sent through TLS--> Plain (no close_notify)
//   TDS 8.0:  Idle --start_tls_first()--> Tds8Handshake --done--> Tls (PRELOGIN goes inside)
//
// While wrapping, the client's output of one step (ClientHello; CKE+CCS+Finished; an alert)
// goes out as one PRELOGIN (0x12) message; the server's wrapped packets may be 0x12 or 0x04
// (older servers). After the handshake, raw TLS records carry one TDS packet per SSL_write.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <proxy/core/tls/tls_endpoint.h>
#include <tds/encryption.h>
#include <tds/message_assembler.h>
#include <tds/packet_assembler.h>

namespace proxy {

class ServerLeg {
  public:
    enum class Phase : std::uint8_t {
        Idle,
        AwaitPreloginAnswer,
        AwaitDecision,
        WrappedHandshake,
        Tds8Handshake,
        LoginOnlyTls,
        Tls,
        Plain,
        Failed,
    };

    struct Config {
        SSL_CTX* tls_ctx = nullptr; // client-role context (verification, versions, ALPN)
        std::string server_name;    // SNI and the name to verify
    };

    struct Output {
        std::vector<tds::Packet> packets; // TDS packets from the server, in order
        bool prelogin_answered = false;   // AwaitDecision reached: prelogin_answer() is set
        bool tls_established = false;
        bool tls_closed = false;
        std::optional<std::string> error;
    };

    explicit ServerLeg(Config config) : config_(std::move(config)), answer_assembler_(64 * 1024) {}

    void send_prelogin(std::span<const std::uint8_t> prelogin_message);
    Output on_bytes(std::span<const std::uint8_t> bytes);
    // start chooses the mode after the PRELOGIN answer (None, LoginOnly or Full).
    Output start(tds::EncryptionMode mode);
    // start_plain: the client sent its LOGIN7 without a PRELOGIN: so does this leg (no PRELOGIN
    // exchange with the server, everything in clear).
    void start_plain();
    // start_tls_first begins a TDS 8.0 connection: the ClientHello is the first byte sent.
    void start_tls_first();
    void send_packet(std::span<const std::uint8_t> packet);
    std::vector<std::uint8_t> take_output() { return std::exchange(output_, {}); }

    Phase phase() const { return phase_; }
    tds::EncryptionMode mode() const { return mode_; }
    const TlsEndpoint* tls() const { return tls_.get(); }
    const std::optional<tds::Message>& prelogin_answer() const { return answer_; }

  private:
    void process(Output& out);
    bool step_answer(Output& out);
    bool step_wrapped(Output& out);
    bool step_tls(Output& out);
    bool step_plain(Output& out);
    void flush_wrapped();
    void fail(Output& out, std::string why);

    Config config_;
    Phase phase_ = Phase::Idle;
    tds::EncryptionMode mode_ = tds::EncryptionMode::None;
    tds::PacketAssembler wire_;
    tds::PacketAssembler decrypted_;
    tds::MessageAssembler answer_assembler_;
    std::optional<tds::Message> answer_;
    std::unique_ptr<TlsEndpoint> tls_;
    std::vector<std::uint8_t> output_;
};

std::string_view to_string(ServerLeg::Phase p);

} // namespace proxy
