#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <proxy/app/lab/certificate_fetch.h>
#include <proxy/net/address.h>
#include <proxy/net/blocking_exchange.h>
#include <tds/packet.h>
#include <tds/packet_writer.h>
#include <tds/prelogin.h>

namespace proxy::app {

namespace {

constexpr std::uint8_t kEncryptOn = 0x01;
constexpr std::uint8_t kPostgresSslRequest[] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};

} // namespace

CertificateFetch::CertificateFetch(ListenerProtocol protocol, SSL_CTX* ctx, std::string server_name)
    : protocol_(protocol), ctx_(ctx), server_name_(std::move(server_name)) {}

std::vector<std::uint8_t> CertificateFetch::start() {
    switch (protocol_) {
    case ListenerProtocol::Tds: {
        phase_ = Phase::Tds;
        tds_ = std::make_unique<ServerLeg>(ServerLeg::Config{ctx_, server_name_});
        auto payload = tds::PreloginBuilder{}
                           .version({16, 0, 1000, 0})
                           .encryption(kEncryptOn)
                           .instance_ok()
                           .thread_id_empty()
                           .mars(false)
                           .build();
        tds_->send_prelogin(tds::write_message(static_cast<std::uint8_t>(tds::PacketType::PreLogin),
                                               payload, 4096, 0));
        return tds_->take_output();
    }
    case ListenerProtocol::Postgres:
        phase_ = Phase::AwaitAnswer;
        return {std::begin(kPostgresSslRequest), std::end(kPostgresSslRequest)};
    case ListenerProtocol::Mysql:
        phase_ = Phase::AwaitGreeting;
        return {};
    case ListenerProtocol::Tls:
        return start_tls();
    case ListenerProtocol::Auto:
        fail("mirror needs the protocol (--protocol tds, postgres, mysql or tls)");
        return {};
    }
    return {};
}

std::vector<std::uint8_t> CertificateFetch::start_tls() {
    phase_ = Phase::Tls;
    tls_ = std::make_unique<TlsEndpoint>(ctx_, TlsRole::Client, server_name_);
    tls_->advance();
    return tls_->take_ciphertext();
}

void CertificateFetch::keep_certificate(X509* cert) {
    if (cert == nullptr) {
        fail("the server sent no certificate");
        return;
    }
    X509_up_ref(cert);
    cert_.reset(cert);
}

std::vector<std::uint8_t> CertificateFetch::step_tls(std::span<const std::uint8_t> bytes) {
    tls_->feed_ciphertext(bytes);
    tls_->advance();
    auto out = tls_->take_ciphertext();
    // The certificate is known once the handshake is done (or failed after it came: a client
    // certificate request, an old cipher suite the context refuses after all).
    if (X509* cert = tls_->peer_certificate(); cert != nullptr) {
        keep_certificate(cert);
    } else if (tls_->state() == TlsState::Failed || tls_->state() == TlsState::Closed) {
        fail("TLS with the server failed before its certificate: " + tls_->failure_reason());
    } else if (tls_->handshake_done()) {
        keep_certificate(nullptr);
    }
    return out;
}

std::vector<std::uint8_t> CertificateFetch::on_bytes(std::span<const std::uint8_t> bytes) {
    if (done()) {
        return {};
    }
    switch (phase_) {
    case Phase::Start:
        fail("bytes before the fetch started");
        return {};
    case Phase::Tls:
        return step_tls(bytes);
    case Phase::AwaitAnswer: {
        // PostgreSQL: one byte, 'S' or 'N' (or an error message from a server too old to know).
        if (bytes.empty()) {
            return {};
        }
        if (bytes[0] != 'S') {
            fail(bytes[0] == 'N' ? "the server refuses SSL (answered N to SSLRequest)"
                                 : "the server did not answer SSLRequest with S or N");
            return {};
        }
        auto out = start_tls();
        if (bytes.size() > 1) {
            fail("the server sent bytes after its S before the handshake");
        }
        return out;
    }
    case Phase::AwaitGreeting: {
        mysql_reader_.feed(bytes);
        auto packet = mysql_reader_.next();
        if (!packet) {
            fail("the server's greeting is not a MySQL packet");
            return {};
        }
        if (!*packet) {
            return {};
        }
        auto greeting = mysql::decode_handshake((*packet)->payload);
        if (!greeting) {
            fail("the server's greeting is not a MySQL HandshakeV10");
            return {};
        }
        if ((greeting->capabilities & mysql::cap::Ssl) == 0) {
            fail("the server does not offer SSL (no CLIENT_SSL in its greeting)");
            return {};
        }
        mysql::SslRequest req;
        req.capabilities = mysql::cap::Protocol41 | mysql::cap::Ssl |
                           (greeting->capabilities & 1U); // CLIENT_MYSQL as the server has it
        req.max_packet_size = 16U * 1024 * 1024;
        req.character_set = greeting->character_set;
        auto out = mysql::frame(static_cast<std::uint8_t>((*packet)->last_sequence + 1),
                                mysql::encode_ssl_request(req));
        auto hello = start_tls();
        out.insert(out.end(), hello.begin(), hello.end());
        return out;
    }
    case Phase::Tds: {
        auto o = tds_->on_bytes(bytes);
        if (o.error) {
            fail("TDS: " + *o.error);
            return tds_->take_output();
        }
        if (o.prelogin_answered && tds_->phase() == ServerLeg::Phase::AwaitDecision) {
            o = tds_->start(tds::EncryptionMode::Full);
            if (o.error) {
                fail("TDS: " + *o.error);
            }
        }
        if (const TlsEndpoint* tls = tds_->tls()) {
            if (X509* cert = tls->peer_certificate(); cert != nullptr) {
                keep_certificate(cert);
            } else if (tls->state() == TlsState::Failed) {
                fail("TLS inside PRELOGIN failed before the certificate: " + tls->failure_reason());
            }
        }
        return tds_->take_output();
    }
    }
    return {};
}

std::expected<certs::X509Ptr, std::string> CertificateFetch::take_result() {
    if (cert_) {
        return std::move(cert_);
    }
    return std::unexpected(error_.value_or("no certificate yet"));
}

std::expected<certs::X509Ptr, std::string> fetch_certificate(const sockaddr_storage& server,
                                                             ListenerProtocol protocol,
                                                             SSL_CTX* ctx,
                                                             std::chrono::milliseconds timeout) {
    auto hp = net::parse_host_port(net::format_address(reinterpret_cast<const sockaddr*>(&server)));
    CertificateFetch fetch(protocol, ctx, hp ? hp->host : "");
    net::ExchangeSteps steps{
        [&fetch] { return fetch.start(); },
        [&fetch](std::span<const std::uint8_t> b) { return fetch.on_bytes(b); },
        [&fetch] { return fetch.done(); },
    };
    if (auto ran = net::run_blocking_exchange(server, steps, timeout); !ran && !fetch.done()) {
        return std::unexpected(ran.error());
    }
    return fetch.take_result();
}

} // namespace proxy::app
