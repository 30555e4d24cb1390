#pragma once

#include <expected>
#include <memory>
#include <string>

#include <certs/certificate_info.h>
#include <certs/lab_ca.h>
#include <proxy/core/mysql/mysql_serve_session.h>
#include <proxy/core/postgres/postgres_serve_session.h>
#include <proxy/core/session/scenario_runtime.h>
#include <proxy/core/tds/serve_session.h>
#include <proxy/net/listener.h>

namespace proxy::app {

// ServeEndpoint is one `tlslab serve` listener: its certificate from the lab CA for the lab's
// names, its TLS contexts (TDS 7.x: TLS 1.2; TDS 8.0: 1.2-1.3 with ALPN tds/8.0; PostgreSQL:
// 1.2-1.3 with ALPN postgresql; MySQL: 1.2-1.3, no ALPN), and the listener. `tlslab serve` runs
// one; `tlslab lab` runs one per protocol in-process behind its proxies.
class ServeEndpoint {
  public:
    enum class Protocol : std::uint8_t { Tds, Postgres, Mysql };
    struct Config {
        Protocol protocol = Protocol::Tds;
        ServeEncryption encryption = ServeEncryption::Off;                // TDS
        PostgresEncryption postgres_encryption = PostgresEncryption::Off; // PostgreSQL
        standin::postgres::AuthMethod postgres_auth = standin::postgres::AuthMethod::ScramSha256;
        MysqlEncryption mysql_encryption = MysqlEncryption::On; // MySQL
        standin::mysql::Flavour mysql_flavour = standin::mysql::Flavour::Mysql80;
        std::optional<standin::mysql::AuthPlugin> mysql_auth; // empty: the flavour's default
        std::string user = "lab";
        std::string password = "lab-password";
        std::uint64_t login_timeout_ms = 30'000;
        // Seconds without a byte from the client before the stand-in closes (0: never).
        std::uint64_t idle_timeout_ms = 300'000;
        // --tls-resumption: clients may resume TLS sessions (tickets); off: full handshakes.
        bool tls_resumption = false;
        // --max-sessions (0: unlimited) and --max-message-bytes (docs/limits.md).
        std::size_t max_sessions = net::SessionLimit::kDefaultMaxSessions;
        std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    };

    static std::expected<std::unique_ptr<ServeEndpoint>, std::string>
    create(uv_loop_t* loop, net::SessionRegistry& registry, const certs::LabCa& ca,
           const LabIdentity& identity, const Config& config);

    std::expected<void, std::string> listen(const net::HostPort& where) {
        return listener_->listen(where);
    }
    void close() { listener_->close(); }
    const std::string& bound() const { return listener_->bound(); }
    std::uint16_t bound_port() const { return listener_->bound_port(); }
    const net::SessionLimit& limit() const { return *listener_->limit(); }
    const ServeSettings& settings() const { return settings_; }
    const PostgresServeSettings& postgres_settings() const { return postgres_settings_; }
    const MysqlServeSettings& mysql_settings() const { return mysql_settings_; }
    Protocol protocol() const { return protocol_; }
    // certificate: null for --encryption none.
    const certs::CertificateInfo* certificate() const {
        return cert_info_ ? &*cert_info_ : nullptr;
    }

  private:
    ServeEndpoint() = default;
    Protocol protocol_ = Protocol::Tds;
    ServeSettings settings_;
    PostgresServeSettings postgres_settings_;
    MysqlServeSettings mysql_settings_;
    certs::Credential leaf_;
    certs::SslCtxPtr tds7_;
    certs::SslCtxPtr tds8_;
    certs::SslCtxPtr postgres_;
    certs::SslCtxPtr mysql_;
    std::optional<certs::CertificateInfo> cert_info_;
    std::unique_ptr<net::Listener> listener_;
};

} // namespace proxy::app
