#include <iostream>

#include <spdlog/spdlog.h>

#include <certs/pem.h>
#include <proxy/app/admin_server.h>
#include <proxy/app/event_loop.h>
#include <proxy/app/lab_outputs.h>
#include <proxy/app/lab_setup.h>
#include <proxy/app/proxy_command.h>
#include <proxy/app/proxy_endpoint.h>
#include <proxy/app/record_json.h>

namespace proxy::app {

void add_lab_options(cxxopts::Options& options) {
    // clang-format off
    options.add_options()
        ("hostname", "Extra name (or IP) the lab answers to, for the certificates; repeatable",
         cxxopts::value<std::vector<std::string>>())
        ("scenarios", "Directory of extra scenario files (*.toml) added to the built-in catalogue",
         cxxopts::value<std::string>())
        ("connect-timeout", "Seconds to reach the server", cxxopts::value<unsigned>()->default_value("10"))
        ("handshake-timeout", "Seconds a client has from connecting to its login",
         cxxopts::value<unsigned>()->default_value("30"))
        ("idle-timeout", "Seconds of silence after login before a session is closed",
         cxxopts::value<unsigned>()->default_value("300"));
    // clang-format on
}

void add_admin_options(cxxopts::Options& options) {
    // clang-format off
    options.add_options("Admin API")
        ("admin", "Serve the JSON admin API on HOST:PORT (loopback only unless --admin-allow-remote)",
         cxxopts::value<std::string>())
        ("admin-token", "Require 'Authorization: Bearer TOKEN' on every admin request",
         cxxopts::value<std::string>())
        ("admin-allow-remote", "Allow --admin on a non-loopback address");
    // clang-format on
}

std::expected<std::unique_ptr<AdminServer>, std::string>
start_admin(const cxxopts::ParseResult& args, LoopBridge& bridge, LabState& state) {
    if (args.count("admin") == 0) {
        return std::unique_ptr<AdminServer>();
    }
    auto where = net::parse_host_port(args["admin"].as<std::string>());
    if (!where) {
        return std::unexpected("--admin " + where.error());
    }
    AdminServer::Config c;
    c.listen = *where;
    c.token = args.count("admin-token") != 0 ? args["admin-token"].as<std::string>() : "";
    c.allow_remote = args.count("admin-allow-remote") != 0;
    return AdminServer::start(c, bridge, state);
}

LabOptions lab_options_from(const CommandLine& cl, const cxxopts::ParseResult& args) {
    LabOptions o;
    o.state_dir = cl.global.state_dir;
    if (args.count("hostname") != 0) {
        o.hostnames = args["hostname"].as<std::vector<std::string>>();
    }
    if (args.count("scenarios") != 0) {
        o.scenarios = args["scenarios"].as<std::string>();
    }
    return o;
}

void apply_timeouts(ProxyEndpoint::Config& c, const cxxopts::ParseResult& args) {
    c.connect_timeout_ms = args["connect-timeout"].as<unsigned>() * 1000ULL;
    c.handshake_timeout_ms = args["handshake-timeout"].as<unsigned>() * 1000ULL;
    c.idle_timeout_ms = args["idle-timeout"].as<unsigned>() * 1000ULL;
}

int run_proxy_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab proxy",
                             "Intercept TDS between a driver and a server and show the driver the "
                             "certificate and TLS setup of a scenario.");
    // clang-format off
    options.add_options()
        ("listen", "HOST:PORT for drivers to connect to",
         cxxopts::value<std::string>()->default_value("127.0.0.1:14331"))
        ("upstream", "HOST:PORT of the real server (or tlslab serve)", cxxopts::value<std::string>())
        ("scenario", "Scenario new connections meet (see `tlslab scenarios`)",
         cxxopts::value<std::string>()->default_value("valid"))
        ("upstream-ca", "PEM file of CAs to verify the server with (otherwise it is recorded, not verified)",
         cxxopts::value<std::string>());
    // clang-format on
    add_lab_options(options);
    LabOutputs::add_options(options);
    add_admin_options(options);
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto outputs = LabOutputs::open(args);
    if (!outputs) {
        std::cerr << "tlslab proxy: " << outputs.error() << "\n";
        return 2;
    }
    if (args.count("upstream") == 0) {
        std::cerr << "tlslab proxy: --upstream HOST:PORT is required\n";
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
    for (auto& c : trusted) {
        trusted_raw.push_back(c.get());
    }
    auto upstream_tls = make_upstream_tls(trusted_raw);
    if (!upstream_tls) {
        std::cerr << "tlslab proxy: " << upstream_tls.error() << "\n";
        return 1;
    }
    EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, **outputs);
    LoopBridge bridge(loop.get());
    ProxyEndpoint::Config config;
    config.id = "proxy";
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
    std::cerr << "tlslab proxy: listening on " << endpoint.bound() << " -> "
              << upstream->to_string() << " (scenario " << s.name << ": " << s.description
              << "; a validating client should " << scenarios::to_string(s.expect) << ")\n";
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

int run_scenarios_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab scenarios", "List the scenario catalogue.");
    options.add_options()("json", "One JSON array instead of a table")(
        "scenarios", "Directory of extra scenario files (*.toml)", cxxopts::value<std::string>());
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto catalogue = scenarios::Catalogue::builtin();
    if (!catalogue) {
        std::cerr << "tlslab scenarios: " << catalogue.error() << "\n";
        return 1;
    }
    if (args.count("scenarios") != 0) {
        if (auto ok = catalogue->add_directory(args["scenarios"].as<std::string>()); !ok) {
            std::cerr << "tlslab scenarios: " << ok.error() << "\n";
            return 1;
        }
    }
    if (args.count("json") != 0) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : catalogue->all()) {
            out.push_back(to_json(s));
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& s : catalogue->all()) {
        std::printf("%-24s %-7s %s\n%-24s %-7s   %s\n", s.name.c_str(),
                    std::string(scenarios::to_string(s.expect)).c_str(), s.description.c_str(), "",
                    "", s.expect_detail.c_str());
    }
    return 0;
}

} // namespace proxy::app
