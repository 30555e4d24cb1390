#pragma once

// PassthroughObserver reads a relayed connection without touching it: it parses what is still
// plaintext (the PRELOGIN exchange, the framing of the wrapped handshake, a plaintext LOGIN7)
// and notices from the record types what the client did once TLS hides the rest.

#include <cstdint>
#include <optional>
#include <span>

#include <tds/message_assembler.h>
#include <tds/packet_assembler.h>

namespace proxy {

class PassthroughObserver {
  public:
    enum class Seen : std::uint8_t {
        Nothing,
        TlsStarted,     // the client began a TLS handshake (wrapped or TLS first)
        LoginPlaintext, // a LOGIN7 packet in clear
        LoginEncrypted, // application data from the client after the handshake
        Alert,          // the client sent an alert record
    };

    void on_client(std::span<const std::uint8_t> bytes);
    void on_server(std::span<const std::uint8_t> bytes);

    std::optional<std::uint8_t> first_byte() const { return first_byte_; }
    const std::optional<tds::Message>& client_prelogin() const { return client_prelogin_; }
    const std::optional<tds::Message>& server_answer() const { return server_answer_; }
    Seen seen() const { return seen_; }
    std::optional<int> alert_code() const { return alert_code_; }

  private:
    void scan_tls_records(std::span<const std::uint8_t> bytes);

    std::optional<std::uint8_t> first_byte_;
    tds::PacketAssembler client_packets_;
    tds::PacketAssembler server_packets_;
    tds::MessageAssembler client_messages_{64 * 1024};
    tds::MessageAssembler server_messages_{64 * 1024};
    std::optional<tds::Message> client_prelogin_;
    std::optional<tds::Message> server_answer_;
    bool client_raw_tls_ = false; // past the wrapped handshake: raw records on the wire
    bool gave_up_ = false;        // the stream stopped looking like TDS: stop parsing
    bool server_gave_up_ = false; // likewise for the server's stream
    Seen seen_ = Seen::Nothing;
    std::optional<int> alert_code_;
    std::vector<std::uint8_t> record_buf_;
};

} // namespace proxy
