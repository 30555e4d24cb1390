#include <certs/channel_binding.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/core/session/idle_guard.h>
#include <proxy/core/tls/tls_context.h>

namespace proxy::app {

namespace {
constexpr std::uint16_t kFirstSpid = 51; // user sessions start above SQL Server's system ones
constexpr std::uint16_t kSpidRange = 30000;
constexpr std::uint32_t kFirstPid = 10000;      // PostgreSQL backend pids: any positive number
constexpr std::uint32_t kFirstConnectionId = 8; // MySQL: the first ids go to its own threads

// tls_wanted: whether the endpoint's setting needs a certificate.
bool tls_wanted(const ServeEndpoint::Config& c) {
    switch (c.protocol) {
    case ServeEndpoint::Protocol::Tds:
        return c.encryption != ServeEncryption::None;
    case ServeEndpoint::Protocol::Postgres:
        return c.postgres_encryption != PostgresEncryption::None;
    case ServeEndpoint::Protocol::Mysql:
        return c.mysql_encryption != MysqlEncryption::Off;
    }
    return true;
}

std::vector<std::uint8_t> sha256_of_der(X509* cert) {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), out.data(), &n) != 1) {
        return {};
    }
    out.resize(n);
    return out;
}
} // namespace

std::expected<std::unique_ptr<ServeEndpoint>, std::string>
ServeEndpoint::create(uv_loop_t* loop, net::SessionRegistry& registry, const certs::LabCa& ca,
                      const LabIdentity& identity, const Config& config) {
    std::unique_ptr<ServeEndpoint> ep(new ServeEndpoint());
    ep->protocol_ = config.protocol;
    auto& s = ep->settings_;
    s.encryption = config.encryption;
    s.responder.user = config.user;
    s.responder.password = config.password;
    s.login_timeout_ms = config.login_timeout_ms;
    s.max_message_bytes = config.max_message_bytes;
    auto& pg = ep->postgres_settings_;
    pg.encryption = config.postgres_encryption;
    pg.responder.user = config.user;
    pg.responder.password = config.password;
    pg.responder.auth = config.postgres_auth;
    pg.login_timeout_ms = config.login_timeout_ms;
    pg.max_message_bytes = config.max_message_bytes;
    auto& my = ep->mysql_settings_;
    my.encryption = config.mysql_encryption;
    my.responder.flavour = config.mysql_flavour;
    my.responder.user = config.user;
    my.responder.password = config.password;
    my.responder.auth = config.mysql_auth;
    my.responder.require_secure_transport = config.mysql_encryption == MysqlEncryption::Force;
    my.login_timeout_ms = config.login_timeout_ms;
    my.max_message_bytes = config.max_message_bytes;
    std::uint64_t idle = config.idle_timeout_ms;
    auto limit = net::SessionLimit::create(config.max_sessions);
    if (tls_wanted(config)) {
        certs::CertificateProfile profile;
        profile.common_name = identity.hostnames.empty() ? "localhost" : identity.hostnames.front();
        profile.dns_names = identity.hostnames;
        profile.ip_addresses = identity.ips;
        auto leaf = ca.issue_leaf(profile);
        if (!leaf) {
            return std::unexpected(leaf.error());
        }
        ep->leaf_ = std::move(*leaf);
        // TDS 7.x wraps TLS in PRELOGIN packets: at most TLS 1.2, as SQL Server does.
        TlsServerConfig tds7;
        tds7.cert = ep->leaf_.cert.get();
        tds7.key = ep->leaf_.key.get();
        tds7.min_version = TLS1_2_VERSION;
        tds7.max_version = TLS1_2_VERSION;
        tds7.issue_tickets = config.tls_resumption;
        TlsServerConfig tds8 = tds7;
        tds8.max_version = TLS1_3_VERSION;
        tds8.alpn = ServerAlpn::Tds8;
        // PostgreSQL: ssl_min_protocol_version TLSv1.2; ALPN postgresql as PostgreSQL 17.
        TlsServerConfig pgc = tds8;
        pgc.alpn = ServerAlpn::Postgres;
        auto c7 = make_server_context(tds7);
        auto c8 = make_server_context(tds8);
        auto cpg = make_server_context(pgc);
        // MySQL and MariaDB: TLS 1.2-1.3 (tls_version's default), no ALPN.
        TlsServerConfig myc = tds8;
        myc.alpn = ServerAlpn::None;
        auto cmy = make_server_context(myc);
        if (!c7 || !c8 || !cpg || !cmy) {
            return std::unexpected(!c7    ? c7.error()
                                   : !c8  ? c8.error()
                                   : !cpg ? cpg.error()
                                          : cmy.error());
        }
        ep->mysql_ = std::move(*cmy);
        my.ctx = ep->mysql_.get();
        my.certificate_sha256 = sha256_of_der(ep->leaf_.cert.get());
        ep->tds7_ = std::move(*c7);
        ep->tds8_ = std::move(*c8);
        ep->postgres_ = std::move(*cpg);
        s.tds7_ctx = ep->tds7_.get();
        s.tds8_ctx = ep->tds8_.get();
        pg.ctx = ep->postgres_.get();
        pg.tls_server_end_point = certs::tls_server_end_point(ep->leaf_.cert.get());
        ep->cert_info_ = certs::describe(ep->leaf_.cert.get());
    }
    if (config.protocol == Protocol::Mysql) {
        const MysqlServeSettings* settings = &ep->mysql_settings_;
        ep->listener_ = std::make_unique<net::Listener>(
            loop, registry, "serve", [settings, idle](const net::SessionInfo& info) {
                auto id = static_cast<std::uint32_t>(kFirstConnectionId + info.id % 1'000'000'000);
                return guard_idle(std::make_unique<MysqlServeSession>(*settings, id, info.peer),
                                  idle);
            });
        ep->listener_->set_limit(limit);
        return ep;
    }
    if (config.protocol == Protocol::Postgres) {
        const PostgresServeSettings* settings = &ep->postgres_settings_;
        ep->listener_ = std::make_unique<net::Listener>(
            loop, registry, "serve", [settings, idle](const net::SessionInfo& info) {
                auto pid = static_cast<std::uint32_t>(kFirstPid + info.id % 1'000'000);
                return guard_idle(std::make_unique<PostgresServeSession>(*settings, pid, info.peer),
                                  idle);
            });
        ep->listener_->set_limit(limit);
        return ep;
    }
    const ServeSettings* settings = &ep->settings_;
    ep->listener_ = std::make_unique<net::Listener>(
        loop, registry, "serve", [settings, idle](const net::SessionInfo& info) {
            auto spid = static_cast<std::uint16_t>(kFirstSpid + info.id % kSpidRange);
            return guard_idle(std::make_unique<ServeSession>(*settings, spid), idle);
        });
    ep->listener_->set_limit(limit);
    return ep;
}

} // namespace proxy::app
