#include <proxy/core/tls/tls_stream.h>

namespace proxy {

TlsStream::TlsStream(SSL_CTX* ctx, TlsRole role, const std::string& server_name)
    : tls_(std::make_unique<TlsEndpoint>(ctx, role, server_name)) {
    if (role == TlsRole::Client) {
        tls_->advance();
        output_ = tls_->take_ciphertext();
    }
}

TlsStream::Step TlsStream::on_ciphertext(std::span<const std::uint8_t> bytes) {
    Step step;
    if (failed_) {
        return step;
    }
    bool was_handshaking = !tls_->handshake_done();
    tls_->feed_ciphertext(bytes);
    tls_->advance();
    auto out = tls_->take_ciphertext();
    output_.insert(output_.end(), out.begin(), out.end());
    if (tls_->state() == TlsState::Failed) {
        failed_ = true;
        step.error =
            (was_handshaking ? "TLS handshake failed: " : "TLS error: ") + tls_->failure_reason();
        return step;
    }
    step.established = was_handshaking && tls_->handshake_done();
    if (step.established && !pending_.empty()) {
        write(std::exchange(pending_, {}));
    }
    step.plaintext = tls_->take_plaintext();
    step.closed = tls_->state() == TlsState::Closed;
    return step;
}

void TlsStream::write(std::span<const std::uint8_t> plaintext) {
    if (failed_ || plaintext.empty()) {
        return;
    }
    if (!tls_->handshake_done()) {
        pending_.insert(pending_.end(), plaintext.begin(), plaintext.end());
        return;
    }
    tls_->write_plaintext(plaintext);
    auto out = tls_->take_ciphertext();
    output_.insert(output_.end(), out.begin(), out.end());
}

std::vector<std::uint8_t> TlsStream::take_output() {
    return std::exchange(output_, {});
}

} // namespace proxy
