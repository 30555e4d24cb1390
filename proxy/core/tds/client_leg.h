#pragma once

// Theory of operation
// -------------------
// ClientLeg is the client-facing half of a TDS server, shared by `tlslab serve` and the proxy:
// it turns the bytes a driver sends into TDS packets and the packets the owner sends into the
// bytes the driver expects, whatever encryption the two agreed on. It never picks an answer
// itself: the owner (policy) decides the PRELOGIN answer; the leg carries it out.
//
//   first byte 0x12 (TDS 7.x)                       first byte 0x16 (TDS 8.0, strict)
//   Tds7Prelogin --PRELOGIN message read-->          Tds8Handshake --TLS done--> Tls
//   AwaitDecision --answer_prelogin()-->
//   AwaitTlsOrLogin --next packet:
//       0x12 carrying a TLS record --> WrappedHandshake --done--> Tls | LoginOnlyTls
//       anything else              --> Plain
//   LoginOnlyTls --first TDS packet decrypted--> Plain (no close_notify, as the drivers do)
//   any other first byte --> Unknown (bytes passed up untouched)
//   With pause_before_tls, a leg stops at the ClientHello (AwaitTlsDecision) and reports its SNI,
//   so the owner can choose the TLS context; start_tls(ctx) goes on.
//
// Who may send what, when:
// - Tds7Prelogin..AwaitTlsOrLogin: plaintext TDS packets both ways.
// - WrappedHandshake: TLS records inside PRELOGIN (0x12) packets both ways. The server's output
//   of one step (a flight, or an alert) goes out as ONE TDS message, EOM on its last packet:
//   tedious waits for exactly one message per flight, go-mssqldb fails on a split one. TLS is
//   capped at 1.2 here by the context, so nothing follows the handshake unasked.
// - Tls: raw TLS records on TCP; inside them TDS packets, one packet per SSL_write.
// - LoginOnlyTls: raw TLS records until the first TDS packet (LOGIN7 #1) is complete; the bytes
//   after the record that completed it are plaintext.
// Input that arrives while the owner has not decided (AwaitDecision) stays buffered.

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

enum class Protocol : std::uint8_t { Undecided, Tds7, Tds8, Unknown };
std::string_view to_string(Protocol p);

class ClientLeg {
  public:
    enum class Phase : std::uint8_t {
        AwaitFirstByte,
        Tds7Prelogin,
        AwaitDecision,
        AwaitTlsOrLogin,
        AwaitTlsDecision,
        WrappedHandshake,
        Tds8Handshake,
        LoginOnlyTls,
        Tls,
        Plain,
        Unknown,
        Failed,
    };

    struct Config {
        SSL_CTX* tds7_ctx = nullptr; // TLS inside PRELOGIN; null: this leg cannot encrypt
        SSL_CTX* tds8_ctx = nullptr; // TLS first; null: TDS 8.0 refused
        std::size_t max_prelogin_len = 4096;
        bool pause_before_tls = false; // stop at the ClientHello: the owner picks the context
    };

    // What one input step produced. `error` set means the leg is Failed: the owner closes.
    struct Output {
        std::vector<tds::Packet> packets;      // TDS packets from the client, in order
        std::vector<std::uint8_t> raw;         // Unknown protocol: bytes as received
        bool prelogin_complete = false;        // AwaitDecision reached: call answer_prelogin()
        bool tls_started = false;              // the client began a TLS handshake
        bool tls_established = false;          // the handshake completed in this step
        bool plaintext_login = false;          // after PRELOGIN the client went on without TLS
        bool tls_closed = false;               // the client sent close_notify
        std::optional<std::string> paused_sni; // AwaitTlsDecision reached: the ClientHello's SNI
        std::optional<std::string> error;
    };

    explicit ClientLeg(Config config);

    Output on_bytes(std::span<const std::uint8_t> bytes);
    // answer_prelogin sends the PRELOGIN answer (a whole 0x04 message) in plaintext and tells
    // the leg how a TLS handshake that follows is to be used (LoginOnly or Full).
    Output answer_prelogin(std::span<const std::uint8_t> answer_message,
                           tds::EncryptionMode mode_if_tls);
    // start_tls goes on from AwaitTlsDecision with the context the owner chose.
    Output start_tls(SSL_CTX* ctx);
    // send_packet sends one whole TDS packet to the client in the leg's current mode.
    void send_packet(std::span<const std::uint8_t> packet);
    // send_raw passes bytes through untouched (Unknown protocol).
    void send_raw(std::span<const std::uint8_t> bytes);
    // take_output returns the bytes to write to the client socket.
    std::vector<std::uint8_t> take_output() { return std::exchange(output_, {}); }

    Phase phase() const { return phase_; }
    Protocol protocol() const { return protocol_; }
    tds::EncryptionMode mode() const { return mode_; }
    // without_prelogin: the client's first packet was its LOGIN7 (no PRELOGIN, no TLS).
    bool without_prelogin() const { return without_prelogin_; }
    // The mode a TLS handshake that began is meant to give (before it completes).
    tds::EncryptionMode mode_if_tls() const {
        return protocol_ == Protocol::Tds8 ? tds::EncryptionMode::Full : mode_if_tls_;
    }
    const TlsEndpoint* tls() const { return tls_.get(); }
    // The PRELOGIN message the client sent (TDS 7.x plaintext phase).
    const std::optional<tds::Message>& prelogin() const { return prelogin_; }

  private:
    void process(Output& out);
    bool step_first_byte(Output& out);
    bool step_prelogin(Output& out);
    bool step_tls_or_login(Output& out);
    bool step_wrapped_handshake(Output& out);
    bool step_tls(Output& out);
    bool step_login_only(Output& out);
    bool step_plain(Output& out);
    // feed_wrapped: one wrapped record in, the handshake advanced, its output out as one message.
    bool feed_wrapped(Output& out, std::span<const std::uint8_t> record_bytes);
    void after_handshake(Output& out);
    void flush_wrapped();
    void collect_plain_packets(tds::PacketAssembler& from, Output& out);
    void fail(Output& out, std::string why);

    Config config_;
    Phase phase_ = Phase::AwaitFirstByte;
    Protocol protocol_ = Protocol::Undecided;
    tds::EncryptionMode mode_ = tds::EncryptionMode::None;
    bool without_prelogin_ = false;
    tds::EncryptionMode mode_if_tls_ = tds::EncryptionMode::Full;
    tds::PacketAssembler wire_;      // packets as they arrive on TCP (plaintext or wrapped)
    tds::PacketAssembler decrypted_; // packets inside TLS
    tds::MessageAssembler prelogin_assembler_;
    std::optional<tds::Message> prelogin_;
    std::unique_ptr<TlsEndpoint> tls_;
    std::vector<std::uint8_t> hello_; // the ClientHello held while the owner decides
    std::vector<std::uint8_t> output_;
};

std::string_view to_string(ClientLeg::Phase p);

} // namespace proxy
