#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <utility>

#include <openssl/err.h>

#include <certs/pem.h>
#include <proxy/core/tls/session_store.h>
#include <proxy/core/tls/tls_endpoint.h>

namespace proxy {

namespace {

// A memory BIO for one direction of an endpoint. Empty means "no data yet", not EOF.
BIO* new_memory_bio() {
    BIO* bio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(bio, -1);
    return bio;
}

// One TLS record carries at most 2^14 plaintext bytes; a little more is harmless.
constexpr std::size_t kRecordPlaintextMax = 16384 + 1024;
constexpr int kExtServerName = 0;
constexpr int kExtAlpn = 16;
constexpr int kExtSupportedVersions = 43;

bool is_ip_literal(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool is_grease(unsigned v) {
    return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

} // namespace

std::string_view to_string(TlsState s) {
    switch (s) {
    case TlsState::Handshaking:
        return "handshaking";
    case TlsState::Established:
        return "established";
    case TlsState::Closed:
        return "closed";
    case TlsState::Failed:
        return "failed";
    }
    return "?";
}

std::string tls_version_name(int version) {
    switch (version) {
    case SSL3_VERSION:
        return "SSLv3";
    case TLS1_VERSION:
        return "TLSv1.0";
    case TLS1_1_VERSION:
        return "TLSv1.1";
    case TLS1_2_VERSION:
        return "TLSv1.2";
    case TLS1_3_VERSION:
        return "TLSv1.3";
    default:
        break;
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(version));
    return buf;
}

std::string alert_name(int code) {
    switch (code) {
    case 0:
        return "close_notify";
    case 10:
        return "unexpected_message";
    case 20:
        return "bad_record_mac";
    case 22:
        return "record_overflow";
    case 40:
        return "handshake_failure";
    case 42:
        return "bad_certificate";
    case 43:
        return "unsupported_certificate";
    case 44:
        return "certificate_revoked";
    case 45:
        return "certificate_expired";
    case 46:
        return "certificate_unknown";
    case 47:
        return "illegal_parameter";
    case 48:
        return "unknown_ca";
    case 49:
        return "access_denied";
    case 50:
        return "decode_error";
    case 51:
        return "decrypt_error";
    case 70:
        return "protocol_version";
    case 71:
        return "insufficient_security";
    case 80:
        return "internal_error";
    case 86:
        return "inappropriate_fallback";
    case 90:
        return "user_canceled";
    case 109:
        return "missing_extension";
    case 110:
        return "unsupported_extension";
    case 112:
        return "unrecognized_name";
    case 113:
        return "bad_certificate_status_response";
    case 115:
        return "unknown_psk_identity";
    case 116:
        return "certificate_required";
    case 120:
        return "no_application_protocol";
    default:
        return "alert_" + std::to_string(code);
    }
}

TlsEndpoint::TlsEndpoint(SSL_CTX* ctx, TlsRole role, const std::string& server_name)
    : ssl_(SSL_new(ctx)), role_(role) {
    rbio_ = new_memory_bio();
    wbio_ = new_memory_bio();
    SSL_set_bio(ssl_.get(), rbio_, wbio_); // ssl_ owns both BIOs from here on
    SSL_set_app_data(ssl_.get(), this);
    if (role == TlsRole::Server) {
        SSL_set_accept_state(ssl_.get());
    } else {
        SSL_set_connect_state(ssl_.get());
        if (!server_name.empty()) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
            if (is_ip_literal(server_name)) {
                X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
            } else {
                // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
                SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(server_name.c_str()));
                X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
            }
            offer_kept_session(ssl_.get(), server_name); // when the context keeps sessions
        }
    }
}

TlsEndpoint* TlsEndpoint::from(const SSL* ssl) {
    return static_cast<TlsEndpoint*>(SSL_get_app_data(ssl));
}

void TlsEndpoint::watch_for_plain_alerts(std::span<const std::uint8_t> bytes) {
    constexpr std::uint8_t kAlertRecord = 0x15;
    constexpr std::size_t kHeader = 5;
    record_scan_.insert(record_scan_.end(), bytes.begin(), bytes.end());
    std::size_t pos = 0;
    while (record_scan_.size() - pos >= kHeader) {
        std::size_t len =
            (static_cast<std::size_t>(record_scan_[pos + 3]) << 8) | record_scan_[pos + 4];
        if (record_scan_.size() - pos < kHeader + len) {
            break;
        }
        if (record_scan_[pos] == kAlertRecord && len == 2 && !alert_received_) {
            on_alert(false, (record_scan_[pos + kHeader] << 8) | record_scan_[pos + kHeader + 1]);
        }
        pos += kHeader + len;
    }
    record_scan_.erase(record_scan_.begin(),
                       record_scan_.begin() + static_cast<std::ptrdiff_t>(pos));
}

void TlsEndpoint::feed_ciphertext(std::span<const std::uint8_t> bytes) {
    if (!handshake_done_ && state_ == TlsState::Handshaking) {
        watch_for_plain_alerts(bytes);
    } else if (record_scan_.capacity() != 0) {
        std::vector<std::uint8_t>().swap(record_scan_); // not needed again: free it
    }
    if (!bytes.empty()) {
        BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size()));
        step_bytes_ += bytes.size();
    }
}

namespace {
// Blocks per loop thread that bytes pass through on their way out of OpenSSL (never zeroed per
// call): one for the ciphertext drain() reads, one for the plaintext a record holds (drain()
// runs while that is still to be copied).
enum class Scratch { Ciphertext, Plaintext };
std::span<std::uint8_t> scratch(Scratch which) {
    thread_local std::array<std::uint8_t, kRecordPlaintextMax> ciphertext;
    thread_local std::array<std::uint8_t, kRecordPlaintextMax> plaintext;
    switch (which) {
    case Scratch::Ciphertext:
        return ciphertext;
    case Scratch::Plaintext:
        return plaintext;
    }
    return ciphertext;
}
} // namespace

void TlsEndpoint::drain() {
    auto buf = scratch(Scratch::Ciphertext);
    while (BIO_ctrl_pending(wbio_) > 0) {
        int n = BIO_read(wbio_, buf.data(), static_cast<int>(buf.size()));
        if (n <= 0) {
            break;
        }
        ciphertext_out_.insert(ciphertext_out_.end(), buf.begin(), buf.begin() + n);
    }
    if (std::exchange(step_bytes_, 0) < kStreamingBytes) {
        release_empty_bios();
    }
}

void TlsEndpoint::release_empty_bios() {
    // A memory BIO keeps the largest buffer it ever held (a whole record, 16 KiB and more):
    // an idle session of thousands would hold two per leg. An empty one is swapped for a
    // fresh BIO, which holds nothing until bytes arrive (SSL_MODE_RELEASE_BUFFERS does the
    // same for OpenSSL's own record buffers).
    auto holds_memory = [](BIO* bio) {
        BUF_MEM* mem = nullptr;
        BIO_get_mem_ptr(bio, &mem);
        return mem != nullptr && mem->max > kKeptBioBytes;
    };
    if (BIO_ctrl_pending(rbio_) == 0 && holds_memory(rbio_)) {
        rbio_ = new_memory_bio();
        SSL_set0_rbio(ssl_.get(), rbio_); // frees the old one
    }
    if (BIO_ctrl_pending(wbio_) == 0 && holds_memory(wbio_)) {
        wbio_ = new_memory_bio();
        SSL_set0_wbio(ssl_.get(), wbio_);
    }
    // SSL_MODE_RELEASE_BUFFERS alone leaves OpenSSL 3.0's record read buffer (17 KiB) with
    // many idle sessions (heaptrack: about 700 of 1,000 held TDS 8.0 sessions kept the client
    // leg's). SSL_free_buffers frees both record buffers, and refuses while a record is
    // partly read or written.
    if (state_ == TlsState::Established && BIO_ctrl_pending(rbio_) == 0 &&
        SSL_has_pending(ssl_.get()) == 0) {
        (void)SSL_free_buffers(ssl_.get());
    }
}

void TlsEndpoint::fail(int ssl_error) {
    state_ = TlsState::Failed;
    std::string reason = certs::openssl_error();
    if (role_ == TlsRole::Client) {
        long vr = SSL_get_verify_result(ssl_.get());
        if (vr != X509_V_OK) {
            std::string v = X509_verify_cert_error_string(vr);
            reason = reason.empty() ? v : reason + " (" + v + ")";
        }
    }
    if (reason.empty()) {
        reason = "TLS error " + std::to_string(ssl_error);
    }
    failure_ = reason;
}

void TlsEndpoint::advance() {
    if (state_ == TlsState::Handshaking) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_.get());
        int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
        drain();
        if (r == 1) {
            handshake_done_ = true;
            state_ = TlsState::Established;
        } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            fail(err);
            return;
        }
    }
    while (read_one_record()) {
    }
}

bool TlsEndpoint::read_one_record() {
    if (state_ != TlsState::Established) {
        return false;
    }
    // Nothing arrived and nothing is buffered: SSL_read would allocate its 17 KiB record
    // buffer only to answer WANT_READ and keep it, since SSL_MODE_RELEASE_BUFFERS frees it
    // after a record is consumed, not on a read that finds nothing. An idle session would hold
    // one per leg.
    if (BIO_ctrl_pending(rbio_) == 0 && SSL_has_pending(ssl_.get()) == 0) {
        return false;
    }
    auto buf = scratch(Scratch::Plaintext);
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
    int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), n);
    drain();
    if (n > 0) {
        plaintext_.insert(plaintext_.end(), buf.begin(), buf.begin() + n);
        return true;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
        state_ = TlsState::Closed;
    } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        fail(err);
    }
    return false;
}

void TlsEndpoint::write_plaintext(std::span<const std::uint8_t> bytes) {
    if (state_ != TlsState::Established || bytes.empty()) {
        return;
    }
    ERR_clear_error();
    step_bytes_ += bytes.size();
    int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
    int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), n);
    drain();
    if (n <= 0) {
        fail(err);
    }
}

void TlsEndpoint::close_notify() {
    if (state_ == TlsState::Established) {
        ERR_clear_error();
        SSL_shutdown(ssl_.get());
        drain();
    }
}

std::vector<std::uint8_t> TlsEndpoint::take_ciphertext() {
    return std::exchange(ciphertext_out_, {});
}

std::vector<std::uint8_t> TlsEndpoint::take_plaintext() {
    return std::exchange(plaintext_, {});
}

std::vector<std::uint8_t> TlsEndpoint::take_unread_ciphertext() {
    std::vector<std::uint8_t> out(BIO_ctrl_pending(rbio_));
    if (!out.empty()) {
        int n = BIO_read(rbio_, out.data(), static_cast<int>(out.size()));
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    return out;
}

std::string TlsEndpoint::version() const {
    return handshake_done_ ? SSL_get_version(ssl_.get()) : "";
}

std::string TlsEndpoint::cipher() const {
    return handshake_done_ ? SSL_get_cipher_name(ssl_.get()) : "";
}

int TlsEndpoint::cipher_bits() const {
    return handshake_done_ ? SSL_get_cipher_bits(ssl_.get(), nullptr) : 0;
}

std::string TlsEndpoint::alpn_selected() const {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
}

std::string TlsEndpoint::sni_received() const {
    const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
}

X509* TlsEndpoint::peer_certificate() const {
    return SSL_get0_peer_certificate(ssl_.get());
}

std::vector<X509*> TlsEndpoint::peer_chain() const {
    std::vector<X509*> out;
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_.get());
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        out.push_back(sk_X509_value(chain, i));
    }
    return out;
}

long TlsEndpoint::verify_result() const {
    return SSL_get_verify_result(ssl_.get());
}

void TlsEndpoint::on_alert(bool sent, int value) {
    TlsAlert a;
    a.code = value & 0xFF;
    a.name = alert_name(a.code);
    a.fatal = ((value >> 8) & 0xFF) == SSL3_AL_FATAL;
    (sent ? alert_sent_ : alert_received_) = a;
}

void TlsEndpoint::on_client_hello(SSL* ssl) {
    ClientHelloInfo info;
    info.legacy_version =
        tls_version_name(static_cast<int>(SSL_client_hello_get0_legacy_version(ssl)));
    const unsigned char* data = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, kExtSupportedVersions, &data, &len) == 1 && len >= 1) {
        std::size_t list = data[0];
        for (std::size_t i = 1; i + 1 < len && i + 1 <= list; i += 2) {
            unsigned v = static_cast<unsigned>((data[i] << 8) | data[i + 1]);
            if (!is_grease(v)) {
                info.offered_versions.push_back(tls_version_name(static_cast<int>(v)));
            }
        }
    }
    if (info.offered_versions.empty()) {
        info.offered_versions.push_back(info.legacy_version);
    }
    // server_name: list length(2), then type(1)=0, name length(2), name.
    if (SSL_client_hello_get0_ext(ssl, kExtServerName, &data, &len) == 1 && len >= 5 &&
        data[2] == 0) {
        std::size_t n = static_cast<std::size_t>((data[3] << 8) | data[4]);
        if (5 + n <= len) {
            info.sni.assign(reinterpret_cast<const char*>(data + 5), n);
        }
    }
    // ALPN: list length(2), then length-prefixed protocol names.
    if (SSL_client_hello_get0_ext(ssl, kExtAlpn, &data, &len) == 1 && len >= 2) {
        std::size_t i = 2;
        while (i < len) {
            std::size_t n = data[i];
            if (i + 1 + n > len) {
                break;
            }
            info.alpn.emplace_back(reinterpret_cast<const char*>(data + i + 1), n);
            i += 1 + n;
        }
    }
    const unsigned char* ciphers = nullptr;
    info.cipher_count = SSL_client_hello_get0_ciphers(ssl, &ciphers) / 2;
    client_hello_ = std::move(info);
}

} // namespace proxy
