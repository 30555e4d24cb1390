#include <certs/channel_binding.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/core/tls/tls_context.h>

namespace proxy::app {

namespace {
constexpr std::uint16_t kFirstSpid = 51; // user sessions start above SQL Server's system ones
constexpr std::uint16_t kSpidRange = 30000;
constexpr std::uint32_t kFirstPid = 10000; // PostgreSQL backend pids: any positive number
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
    auto& pg = ep->postgres_settings_;
    pg.encryption = config.postgres_encryption;
    pg.responder.user = config.user;
    pg.responder.password = config.password;
    pg.responder.auth = config.postgres_auth;
    pg.login_timeout_ms = config.login_timeout_ms;
    bool tls = config.protocol == Protocol::Tds
                   ? config.encryption != ServeEncryption::None
                   : config.postgres_encryption != PostgresEncryption::None;
    if (tls) {
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
        TlsServerConfig tds8 = tds7;
        tds8.max_version = TLS1_3_VERSION;
        tds8.alpn = ServerAlpn::Tds8;
        // PostgreSQL: ssl_min_protocol_version TLSv1.2; ALPN postgresql as PostgreSQL 17.
        TlsServerConfig pgc = tds8;
        pgc.alpn = ServerAlpn::Postgres;
        auto c7 = make_server_context(tds7);
        auto c8 = make_server_context(tds8);
        auto cpg = make_server_context(pgc);
        if (!c7 || !c8 || !cpg) {
            return std::unexpected(!c7 ? c7.error() : !c8 ? c8.error() : cpg.error());
        }
        ep->tds7_ = std::move(*c7);
        ep->tds8_ = std::move(*c8);
        ep->postgres_ = std::move(*cpg);
        s.tds7_ctx = ep->tds7_.get();
        s.tds8_ctx = ep->tds8_.get();
        pg.ctx = ep->postgres_.get();
        pg.tls_server_end_point = certs::tls_server_end_point(ep->leaf_.cert.get());
        ep->cert_info_ = certs::describe(ep->leaf_.cert.get());
    }
    if (config.protocol == Protocol::Postgres) {
        const PostgresServeSettings* settings = &ep->postgres_settings_;
        ep->listener_ = std::make_unique<net::Listener>(
            loop, registry, "serve", [settings](const net::SessionInfo& info) {
                auto pid = static_cast<std::uint32_t>(kFirstPid + info.id % 1'000'000);
                return std::make_unique<PostgresServeSession>(*settings, pid, info.peer);
            });
        return ep;
    }
    const ServeSettings* settings = &ep->settings_;
    ep->listener_ = std::make_unique<net::Listener>(
        loop, registry, "serve", [settings](const net::SessionInfo& info) {
            auto spid = static_cast<std::uint16_t>(kFirstSpid + info.id % kSpidRange);
            return std::make_unique<ServeSession>(*settings, spid);
        });
    return ep;
}

} // namespace proxy::app
