#include <proxy/app/lab/lab_listeners.h>

namespace proxy::app {

std::string listener_id(scenarios::Protocol p, const std::string& scenario) {
    // The scenario's name for TDS (as before PostgreSQL came), "pg:NAME" for PostgreSQL,
    // "my:NAME" for MySQL; the admin API and the rules address listeners by these.
    switch (p) {
    case scenarios::Protocol::Tds:
    case scenarios::Protocol::Tls:
        return scenario;
    case scenarios::Protocol::Postgres:
        return "pg:" + scenario;
    case scenarios::Protocol::Mysql:
        return "my:" + scenario;
    }
    return scenario;
}

std::expected<std::unique_ptr<LabListeners>, LabStartError>
LabListeners::start(uv_loop_t* loop, net::SessionRegistry& registry, Lab& lab, LabOutputs& outputs,
                    LabState& state, const UpstreamTls& upstream_tls, const LabPlanOptions& plan) {
    std::unique_ptr<LabListeners> self(new LabListeners());
    auto fail = [&](std::string why, int code) -> std::unexpected<LabStartError> {
        self->close();
        return std::unexpected(LabStartError{std::move(why), code});
    };
    std::vector<std::string> names = lab.catalogue().names();
    if (!plan.only.empty()) {
        names = plan.only;
    }
    // start_serve: one in-process stand-in on a loopback port chosen at run time.
    auto start_serve =
        [&](const ServeEndpoint::Config& serve_config,
            const std::string& what) -> std::expected<sockaddr_storage, std::string> {
        auto serve = ServeEndpoint::create(loop, registry, lab.ca(), lab.identity(), serve_config);
        if (!serve) {
            return std::unexpected(serve.error());
        }
        self->serves_.push_back(std::move(*serve));
        if (auto ok = self->serves_.back()->listen({"127.0.0.1", 0}); !ok) {
            return std::unexpected(ok.error());
        }
        self->upstream_lines_.push_back(what + " on " + self->serves_.back()->bound());
        auto addr = net::resolve({"127.0.0.1", self->serves_.back()->bound_port()});
        if (!addr) {
            return std::unexpected(addr.error());
        }
        return *addr;
    };
    for (auto protocol : plan.protocols) {
        unsigned base = plan.base_ports.contains(protocol) ? plan.base_ports.at(protocol) : 0;
        std::vector<std::string> mine;
        for (const auto& n : names) {
            const auto* s = lab.catalogue().find(n);
            if (s == nullptr || scenarios::serves(*s, protocol)) {
                mine.push_back(n); // an unknown name fails below with the known ones
            }
        }
        if (base != 0 && base + mine.size() > 65536) {
            return fail("the " + std::string(scenarios::to_string(protocol)) +
                            " base port leaves no room for " + std::to_string(mine.size()) +
                            " listeners",
                        2);
        }
        // The upstream legs: TDS verifies the in-process serve against the lab CA;
        // PostgreSQL's in-process stand-in runs with ssl = off on loopback (so it offers no
        // channel binding the lab's certificates would break: what clients do with the
        // certificate stays visible). MySQL's stand-in offers SSL with its own lab-CA
        // certificate: the proxy's upstream leg mirrors the client (TLS when the client did
        // TLS), as MariaDB 11.4's certificate check in the OK packet needs, and passthrough
        // shows the client the stand-in itself.
        ServeEndpoint::Config serve_config;
        serve_config.max_sessions = 0;
        serve_config.idle_timeout_ms = 0;
        serve_config.login_timeout_ms = plan.handshake_timeout_ms + 5000; // the proxy judges first
        serve_config.max_message_bytes = plan.max_message_bytes;
        std::string line = "SQL Server stand-in (encryption off)";
        std::optional<sockaddr_storage> passthrough_addr;
        if (protocol == scenarios::Protocol::Mysql) {
            serve_config.protocol = ServeEndpoint::Protocol::Mysql;
            serve_config.mysql_encryption = MysqlEncryption::On;
            serve_config.mysql_flavour = plan.mysql_flavour;
            line = plan.mysql_flavour == standin::mysql::Flavour::Mariadb114
                       ? "MariaDB 11.4 stand-in (SSL offered, mysql_native_password)"
                       : "MySQL 8.0 stand-in (SSL offered, caching_sha2_password)";
        }
        if (protocol == scenarios::Protocol::Postgres) {
            serve_config.protocol = ServeEndpoint::Protocol::Postgres;
            serve_config.postgres_encryption = PostgresEncryption::None;
            line = "PostgreSQL stand-in (ssl off, scram-sha-256)";
            // Passthrough shows the client the server itself: a PostgreSQL stand-in with SSL on
            // and its own lab-CA certificate (the intercepting listeners use the ssl-off one).
            ServeEndpoint::Config with_ssl = serve_config;
            with_ssl.postgres_encryption = PostgresEncryption::Off;
            auto addr = start_serve(with_ssl, "PostgreSQL stand-in for passthrough (ssl on)");
            if (!addr) {
                return fail(addr.error(), 1);
            }
            passthrough_addr = *addr;
        }
        auto serve_addr = start_serve(serve_config, line);
        if (!serve_addr) {
            return fail(serve_addr.error(), 1);
        }
        for (std::size_t i = 0; i < mine.size(); ++i) {
            auto rt = lab.runtime(mine[i]);
            if (!rt) {
                return fail(rt.error(), 2);
            }
            ProxyEndpoint::Config config;
            config.id = listener_id(protocol, mine[i]);
            switch (protocol) {
            case scenarios::Protocol::Tds:
            case scenarios::Protocol::Tls:
                config.protocol = ListenerProtocol::Tds;
                break;
            case scenarios::Protocol::Postgres:
                config.protocol = ListenerProtocol::Postgres;
                break;
            case scenarios::Protocol::Mysql:
                config.protocol = ListenerProtocol::Mysql;
                break;
            }
            config.listen = {plan.listen_host,
                             static_cast<std::uint16_t>(base == 0 ? 0 : base + i)};
            config.upstream =
                (*rt)->scenario.passthrough && passthrough_addr ? *passthrough_addr : *serve_addr;
            config.upstream_name = "localhost";
            config.upstream_tls = &upstream_tls;
            config.connect_timeout_ms = plan.connect_timeout_ms;
            config.handshake_timeout_ms = plan.handshake_timeout_ms;
            config.idle_timeout_ms = plan.idle_timeout_ms;
            config.max_sessions = plan.max_sessions;
            config.max_message_bytes = plan.max_message_bytes;
            config.outputs = &outputs;
            config.state = &state;
            auto ep = std::make_unique<ProxyEndpoint>(loop, registry, config, *rt);
            auto ok = ep->listen();
            self->listeners_.push_back({protocol, std::move(ep)});
            if (!ok) {
                return fail("scenario " + mine[i] + " (" +
                                std::string(scenarios::to_string(protocol)) + "): " + ok.error() +
                                " (choose another base port)",
                            1);
            }
            state.add_endpoint(self->listeners_.back().endpoint.get());
        }
    }
    return self;
}

void LabListeners::close() {
    for (auto& l : listeners_) {
        l.endpoint->close();
    }
    for (auto& serve : serves_) {
        serve->close();
    }
}

} // namespace proxy::app
