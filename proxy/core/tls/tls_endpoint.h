#pragma once

// Theory of operation
// -------------------
// A TlsEndpoint is one OpenSSL SSL object driven over two memory BIOs; it never sees a socket.
//
//   ciphertext from the peer --feed_ciphertext--> [rbio] SSL [wbio] --take_ciphertext--> peer
//   plaintext to the peer   --write_plaintext-->   SSL   --take_plaintext--> plaintext received
//
// Rule: the write BIO is drained after *every* SSL call, SSL_read included (reading can move a
// handshake forward or produce an alert), so take_ciphertext() always holds everything OpenSSL
// wants sent. The read BIO reads exactly one record at a time (read-ahead stays off), which is
// what lets a login-only leg stop after the record that carried the first LOGIN7 packet and hand
// the bytes behind it back as plaintext (take_unread_ciphertext).
//
// Observations a lab needs are kept as they happen: the ClientHello (offered versions, SNI,
// ALPN), alerts sent and received, the negotiated version and cipher, and a readable failure
// reason built from the error queue and the verify result.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>

namespace proxy {

enum class TlsRole { Client, Server };
enum class TlsState { Handshaking, Established, Closed, Failed };
std::string_view to_string(TlsState s);

struct TlsAlert {
    int code = 0;
    std::string name; // RFC 8446 name: "unknown_ca", "protocol_version", ...
    bool fatal = true;
};

struct ClientHelloInfo {
    std::string legacy_version;                // "TLSv1.2" from the record's hello version
    std::vector<std::string> offered_versions; // from supported_versions, else {legacy_version}
    std::string sni;                           // empty: none sent
    std::vector<std::string> alpn;             // protocols offered
    std::size_t cipher_count = 0;
};

class TlsEndpoint {
  public:
    // ctx is borrowed and must outlive the endpoint. For the client role, `server_name` becomes
    // SNI (unless it is an IP literal) and the name to verify when the context verifies.
    TlsEndpoint(SSL_CTX* ctx, TlsRole role, const std::string& server_name = {});
    TlsEndpoint(const TlsEndpoint&) = delete;
    TlsEndpoint& operator=(const TlsEndpoint&) = delete;

    void feed_ciphertext(std::span<const std::uint8_t> bytes);
    // advance runs the handshake while it can, then reads every whole record available into
    // the plaintext buffer. Safe to call at any time.
    void advance();
    // read_one_record reads at most one record's plaintext (after the handshake); false when
    // none is available. Used where the byte after a record may not be TLS at all.
    bool read_one_record();
    void write_plaintext(std::span<const std::uint8_t> bytes);
    // close_notify queues a close_notify alert.
    void close_notify();

    std::vector<std::uint8_t> take_ciphertext();
    std::vector<std::uint8_t> take_plaintext();
    std::size_t plaintext_buffered() const { return plaintext_.size(); }
    // take_unread_ciphertext returns the bytes fed but not consumed by OpenSSL.
    std::vector<std::uint8_t> take_unread_ciphertext();

    TlsState state() const { return state_; }
    bool handshake_done() const { return handshake_done_; }
    const std::string& failure_reason() const { return failure_; }
    const std::optional<TlsAlert>& alert_received() const { return alert_received_; }
    const std::optional<TlsAlert>& alert_sent() const { return alert_sent_; }
    const std::optional<ClientHelloInfo>& client_hello() const { return client_hello_; }
    std::string version() const;
    std::string cipher() const;
    int cipher_bits() const; // the cipher's secret bits (pg_stat_ssl.bits); 0 before
    std::string alpn_selected() const;
    std::string sni_received() const;
    X509* peer_certificate() const; // client role: the server's leaf (borrowed)
    std::vector<X509*> peer_chain() const;
    long verify_result() const;
    // session_reused: the handshake resumed a kept session (no certificate was sent).
    bool session_reused() const { return SSL_session_reused(ssl_.get()) == 1; }

    // Used by the OpenSSL callbacks.
    void on_alert(bool sent, int value);
    void on_client_hello(SSL* ssl);
    static TlsEndpoint* from(const SSL* ssl);

  private:
    void drain();
    // watch_for_plain_alerts reads the record layer of incoming bytes during the handshake:
    // a client's plaintext alert is noted even when OpenSSL rejects the record itself (a TLS 1.2
    // client answering an old-version ServerHello writes its alert with a version that a
    // fixed-version server refuses to parse).
    void watch_for_plain_alerts(std::span<const std::uint8_t> bytes);
    void fail(int ssl_error);

    certs::SslPtr ssl_;
    // A memory BIO holding more than this is replaced by a fresh one once empty (a fresh BIO
    // holds no data buffer; the swap costs two small allocations, and freeing the old buffer
    // cleanses it) -- but only once the traffic is quiet: while bytes stream (a step that moved
    // at least kStreamingBytes), the buffers are kept for the next record.
    static constexpr std::size_t kKeptBioBytes = 0;
    static constexpr std::size_t kStreamingBytes = 2048;
    void release_empty_bios();
    std::size_t step_bytes_ = 0; // bytes fed or written since the last drain
    BIO* rbio_ = nullptr;        // owned by ssl_ after SSL_set_bio: borrowed here
    BIO* wbio_ = nullptr;        // likewise
    TlsRole role_;
    TlsState state_ = TlsState::Handshaking;
    bool handshake_done_ = false;
    std::vector<std::uint8_t> ciphertext_out_;
    std::vector<std::uint8_t> plaintext_;
    std::string failure_;
    std::optional<TlsAlert> alert_received_;
    std::optional<TlsAlert> alert_sent_;
    std::optional<ClientHelloInfo> client_hello_;
    std::vector<std::uint8_t> record_scan_;
};

// alert_name maps an alert description code to its RFC name.
std::string alert_name(int code);
// tls_version_name maps a protocol version number (0x0303) to "TLSv1.2".
std::string tls_version_name(int version);

} // namespace proxy
