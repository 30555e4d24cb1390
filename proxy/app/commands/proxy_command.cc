#include <iostream>

#include <spdlog/spdlog.h>

#include <certs/pem.h>
#include <proxy/app/admin/admin_server.h>
#include <proxy/app/commands/proxy_command.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/event_loop.h>
#include <proxy/net/loop_bridge.h>

namespace proxy::app {

int run_proxy_command(const CommandLine& cl) {
    cxxopts::Options options(
        "tlslab proxy",
        "Intercept a database client's connection to a server and show the client the certificate\n"
        "and TLS setup of a scenario: TDS (SQL Server, TLS inside PRELOGIN for 7.x, TLS first for\n"
        "8.0), PostgreSQL (SSLRequest or direct SSL), MySQL and MariaDB (CLIENT_SSL and\n"
        "SSLRequest; --protocol mysql, as the server speaks first), or any TLS client\n"
        "(--protocol tls).");
    // clang-format off
    options.add_options()
        ("listen", "HOST:PORT for drivers to connect to",
         cxxopts::value<std::string>()->default_value("127.0.0.1:14331"))
        ("protocol", "auto (TDS and PostgreSQL told apart by their first bytes, direct SSL by ALPN), "
                     "tds, postgres, mysql (MySQL cannot be told from its first bytes: the server "
                     "speaks first), or tls (TLS first, any client: the inner bytes relayed raw)",
         cxxopts::value<std::string>()->default_value("auto"))
        ("postgres-require-ssl", "PostgreSQL: refuse a StartupMessage in clear with the FATAL a "
                                 "hostssl-only server gives (default: relay it)")
        ("mysql-require-secure-transport", "MySQL: refuse a login in clear as a server with "
                                           "require_secure_transport=ON does: MySQL's error 3159, "
                                           "or MariaDB's 1045 in front of MariaDB (default: relay it)")
        ("upstream", "HOST:PORT of the real server (or tlslab serve)", cxxopts::value<std::string>())
        ("scenario", "Scenario new connections meet (see `tlslab scenarios`)",
         cxxopts::value<std::string>()->default_value("valid"))
        ("upstream-ca", "PEM file of CAs to verify the server with (otherwise it is recorded, not verified)",
         cxxopts::value<std::string>());
    // clang-format on
    add_lab_options(options);
    add_output_options(options);
    add_admin_options(options);
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto outputs = LabOutputs::open(output_options_from(args));
    if (!outputs) {
        std::cerr << "tlslab proxy: " << outputs.error() << "\n";
        return 2;
    }
    if (args.count("upstream") == 0) {
        std::cerr << "tlslab proxy: --upstream HOST:PORT is required\n";
        return 2;
    }
    auto protocol = listener_protocol_from_name(args["protocol"].as<std::string>());
    if (!protocol) {
        std::cerr << "tlslab proxy: --protocol must be auto, tds, postgres, mysql or tls\n";
        return 2;
    }
    auto listen = net::parse_host_port(args["listen"].as<std::string>());
    auto upstream = net::parse_host_port(args["upstream"].as<std::string>());
    if (!listen || !upstream) {
        std::cerr << "tlslab proxy: "
                  << (!listen ? "--listen " + listen.error() : "--upstream " + upstream.error())
                  << "\n";
        return 2;
    }
    auto upstream_addr = net::resolve(*upstream);
    if (!upstream_addr) {
        std::cerr << "tlslab proxy: --upstream " << upstream_addr.error() << "\n";
        return 2;
    }
    auto lab = Lab::prepare(lab_options_from(cl, args));
    if (!lab) {
        std::cerr << "tlslab proxy: " << lab.error() << "\n";
        return 1;
    }
    auto scenario = (*lab)->runtime(args["scenario"].as<std::string>());
    if (!scenario) {
        std::cerr << "tlslab proxy: --scenario: " << scenario.error() << "\n";
        return 2;
    }
    std::vector<certs::X509Ptr> trusted;
    if (args.count("upstream-ca") != 0) {
        auto certs_read = certs::certs_from_pem_file(args["upstream-ca"].as<std::string>());
        if (!certs_read) {
            std::cerr << "tlslab proxy: --upstream-ca " << certs_read.error() << "\n";
            return 2;
        }
        trusted = std::move(*certs_read);
    }
    std::vector<X509*> trusted_raw;
    trusted_raw.reserve(trusted.size());
    for (auto& c : trusted) {
        trusted_raw.push_back(c.get());
    }
    auto upstream_tls = make_upstream_tls(trusted_raw);
    if (!upstream_tls) {
        std::cerr << "tlslab proxy: " << upstream_tls.error() << "\n";
        return 1;
    }
    net::EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, **outputs);
    net::LoopBridge bridge(loop.get());
    ProxyEndpoint::Config config;
    config.id = "proxy";
    config.protocol = *protocol;
    config.postgres_refuse_plaintext = args.count("postgres-require-ssl") != 0;
    config.mysql_refuse_plaintext = args.count("mysql-require-secure-transport") != 0;
    config.listen = *listen;
    config.upstream = *upstream_addr;
    config.upstream_name = upstream->host;
    config.upstream_tls = &*upstream_tls;
    apply_timeouts(config, args);
    config.outputs = outputs->get();
    config.state = &state;
    ProxyEndpoint endpoint(loop.get(), registry, config, *scenario);
    auto give_up = [&](const std::string& why, int code) {
        std::cerr << "tlslab proxy: " << why << "\n";
        endpoint.close();
        bridge.close();
        loop.drain();
        return code;
    };
    if (auto ok = endpoint.listen(); !ok) {
        return give_up(ok.error(), 1);
    }
    state.add_endpoint(&endpoint);
    auto admin = start_admin(args, bridge, state);
    if (!admin) {
        return give_up(admin.error(), 2);
    }
    if (*admin) {
        std::cerr << "tlslab proxy: admin API on http://" << (*admin)->address() << "\n";
    }
    const auto& s = (*scenario)->scenario;
    std::cerr << "tlslab proxy: listening on " << endpoint.bound() << " (" << to_string(*protocol)
              << ") -> " << upstream->to_string() << " (scenario " << s.name << ": "
              << s.description << "; a validating client should " << scenarios::to_string(s.expect)
              << ")\n";
    std::cout << std::flush;
    spdlog::info("proxy: listening on {}", endpoint.bound());
    loop.run([&] {
        if (*admin) {
            (*admin)->stop();
        }
        bridge.close();
        endpoint.close();
        registry.close_all("shutting down");
    });
    return 0;
}

} // namespace proxy::app
