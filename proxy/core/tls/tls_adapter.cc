#include <proxy/core/tls/client_hello_peek.h>
#include <proxy/core/tls/tls_adapter.h>

namespace proxy {

namespace {
constexpr std::uint8_t kHandshakeRecord = 0x16;
constexpr std::size_t kMaxHello = 16 * 1024 + 5;
} // namespace

TlsAdapter::TlsAdapter(const SessionContext& ctx) {
    server_.emplace(ctx.settings().upstream.generic, TlsRole::Client, ctx.settings().upstream_name);
}

void TlsAdapter::on_connected(SessionContext& ctx) {
    flush(ctx);
}

void TlsAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    ctx.record().protocol = "tls";
    if (!client_) {
        hello_.insert(hello_.end(), bytes.begin(), bytes.end());
        if (hello_[0] != kHandshakeRecord) {
            ctx.finish(Outcome::ProtocolError,
                       "the client did not start with a TLS handshake (first byte " +
                           std::to_string(hello_[0]) + ")");
            return;
        }
        if (!tls_record_complete(hello_)) {
            if (hello_.size() > kMaxHello) {
                ctx.finish(Outcome::ProtocolError, "a TLS record longer than TLS allows");
            }
            return;
        }
        // The ClientHello is here: the last moment to choose what the client is shown.
        SessionFacts facts;
        facts.stage = SessionFacts::Stage::ClientHello;
        facts.client_address = ctx.record().client_address;
        facts.sni = peek_sni(hello_);
        ctx.choose(facts);
        client_.emplace(ctx.scenario().tls_ctx.get(), TlsRole::Server);
        ctx.record().certificate_shown = ctx.scenario().leaf_info;
        bytes = hello_;
    }
    auto step = client_->on_ciphertext(bytes);
    hello_.clear();
    if (step.error) {
        flush(ctx);
        ctx.client_tls_failed(&client_->endpoint(), *step.error);
        return;
    }
    if (!step.plaintext.empty()) {
        if (!login_seen_) {
            login_seen_ = true;
            ctx.reached_login(Outcome::LoginEncrypted);
        }
        ctx.keep(true, step.plaintext);
        server_->write(step.plaintext);
    }
    flush(ctx);
    if (step.closed) {
        ctx.peer_closed(Side::Client, "the client sent close_notify");
    }
}

void TlsAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    auto step = server_->on_ciphertext(bytes);
    if (step.established) {
        note_upstream(ctx, server_->endpoint());
    }
    if (step.error) {
        note_upstream(ctx, server_->endpoint());
        ctx.finish(Outcome::UpstreamFailed, "server leg: " + *step.error);
        return;
    }
    if (!step.plaintext.empty()) {
        ctx.keep(false, step.plaintext);
        if (client_) {
            client_->write(step.plaintext);
        }
    }
    flush(ctx);
    if (step.closed) {
        ctx.peer_closed(Side::Server, "the server sent close_notify");
    }
}

void TlsAdapter::flush(SessionContext& ctx) {
    if (client_) {
        ctx.send(Side::Client, client_->take_output());
    }
    ctx.send(Side::Server, server_->take_output());
}

Outcome TlsAdapter::judge_client_left(const SessionContext& ctx) const {
    if (login_seen_) {
        return ctx.record().outcome;
    }
    if (!client_) {
        return hello_.empty() ? Outcome::ClosedBeforeTls : Outcome::ClosedDuringHandshake;
    }
    if (client_->failed()) {
        return Outcome::ProtocolError;
    }
    return client_->established() ? Outcome::ClosedAfterHandshake : Outcome::ClosedDuringHandshake;
}

void TlsAdapter::complete_record(SessionContext& ctx) {
    if (client_) {
        note_tls(ctx.record().client_tls, client_->endpoint());
    }
    note_upstream(ctx, server_->endpoint());
}

} // namespace proxy
