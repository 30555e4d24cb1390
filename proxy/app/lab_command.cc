#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include <proxy/app/admin_server.h>
#include <proxy/app/event_loop.h>
#include <proxy/app/lab_outputs.h>
#include <proxy/app/lab_setup.h>
#include <proxy/app/proxy_command.h>
#include <proxy/app/proxy_endpoint.h>
#include <proxy/app/record_json.h>
#include <proxy/app/serve_endpoint.h>

namespace proxy::app {

void add_lab_options(cxxopts::Options& options);
LabOptions lab_options_from(const CommandLine& cl, const cxxopts::ParseResult& args);
void apply_timeouts(ProxyEndpoint::Config& c, const cxxopts::ParseResult& args);
void add_admin_options(cxxopts::Options& options);
std::expected<std::unique_ptr<AdminServer>, std::string>
start_admin(const cxxopts::ParseResult& args, LoopBridge& bridge, LabState& state);

namespace {

void print_table(const std::vector<std::unique_ptr<ProxyEndpoint>>& endpoints, const Lab& lab,
                 const std::string& host, const std::string& serve_address) {
    std::printf("tlslab lab: %zu scenarios; upstream: tlslab serve on %s (encryption off)\n\n",
                endpoints.size(), serve_address.c_str());
    std::printf("%-6s %-24s %-7s %s\n", "PORT", "SCENARIO", "EXPECT",
                "WHAT A VALIDATING CLIENT SHOULD DO");
    for (const auto& ep : endpoints) {
        const auto& s = ep->scenario()->scenario;
        std::printf("%-6u %-24s %-7s %s\n", ep->bound_port(), s.name.c_str(),
                    std::string(scenarios::to_string(s.expect)).c_str(), s.expect_detail.c_str());
    }
    std::string ca = lab.ca().cert_path().string();
    std::printf("\nConnect to PORT (user lab, password lab-password; trust the lab CA %s):\n",
                ca.c_str());
    std::printf("  ODBC 18 / SqlClient: Server=%s,PORT;Encrypt=yes;UID=lab;PWD=lab-password\n"
                "                       (ODBC on Linux: SSL_CERT_FILE=%s; add "
                "TrustServerCertificate=yes to see the risk)\n",
                host.c_str(), ca.c_str());
    std::printf("  JDBC:    jdbc:sqlserver://%s:PORT;encrypt=true;user=lab;password=lab-password;"
                "trustStore=lab-ca.p12;trustStorePassword=changeit\n",
                host.c_str());
    std::printf("  tedious: { server: '%s', options: { port: PORT, encrypt: true, "
                "cryptoCredentialsDetails: "
                "{ ca: fs.readFileSync('%s') } }, authentication: { type: 'default', options: "
                "{ userName: 'lab', password: 'lab-password' } } }\n",
                host.c_str(), ca.c_str());
    std::printf("  tsql:    [lab] host = %s, port = PORT, tds version = 7.4, encryption = require, "
                "ca file = %s\n",
                host.c_str(), ca.c_str());
    std::printf("Strict (TDS 8.0): Encrypt=strict / encrypt=strict / encrypt: 'strict'.\n\n");
}

} // namespace

int run_lab_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab lab",
                             "The whole catalogue on one machine: tlslab serve in-process and one "
                             "proxy listener per scenario, in catalogue order from --base-port.");
    // clang-format off
    options.add_options()
        ("base-port", "Port of the first scenario's listener", cxxopts::value<unsigned>()->default_value("14330"))
        ("listen-host", "Address the listeners bind to", cxxopts::value<std::string>()->default_value("127.0.0.1"))
        ("ports-json", "Write {scenario: port} to FILE once listening", cxxopts::value<std::string>())
        ("only", "Run only these scenarios (comma-separated)", cxxopts::value<std::vector<std::string>>());
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
        std::cerr << "tlslab lab: " << outputs.error() << "\n";
        return 2;
    }
    unsigned base_port = args["base-port"].as<unsigned>();
    std::string host = args["listen-host"].as<std::string>();
    auto lab = Lab::prepare(lab_options_from(cl, args));
    if (!lab) {
        std::cerr << "tlslab lab: " << lab.error() << "\n";
        return 1;
    }
    std::vector<std::string> names = (*lab)->catalogue().names();
    if (args.count("only") != 0) {
        names = args["only"].as<std::vector<std::string>>();
    }
    if (base_port == 0 || base_port + names.size() > 65536) {
        std::cerr << "tlslab lab: --base-port leaves no room for " << names.size()
                  << " listeners\n";
        return 2;
    }
    // The upstream leg verifies the in-process serve against the lab CA.
    auto upstream_tls = make_upstream_tls({(*lab)->ca().cert()});
    if (!upstream_tls) {
        std::cerr << "tlslab lab: " << upstream_tls.error() << "\n";
        return 1;
    }

    EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, **outputs);
    LoopBridge bridge(loop.get());
    auto serve = ServeEndpoint::create(loop.get(), registry, (*lab)->ca(), (*lab)->identity(), {});
    if (!serve) {
        std::cerr << "tlslab lab: " << serve.error() << "\n";
        return 1;
    }
    std::vector<std::unique_ptr<ProxyEndpoint>> endpoints;
    auto give_up = [&](const std::string& why, int code) {
        std::cerr << "tlslab lab: " << why << "\n";
        for (auto& ep : endpoints) {
            ep->close();
        }
        (*serve)->close();
        bridge.close();
        loop.drain();
        return code;
    };
    if (auto ok = (*serve)->listen({"127.0.0.1", 0}); !ok) {
        return give_up(ok.error(), 1);
    }
    auto serve_addr = net::resolve({"127.0.0.1", (*serve)->bound_port()});
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto rt = (*lab)->runtime(names[i]);
        if (!rt) {
            return give_up(rt.error(), 2);
        }
        ProxyEndpoint::Config config;
        config.id = names[i];
        config.listen = {host, static_cast<std::uint16_t>(base_port + i)};
        config.upstream = *serve_addr;
        config.upstream_name = "localhost";
        config.upstream_tls = &*upstream_tls;
        apply_timeouts(config, args);
        config.outputs = outputs->get();
        config.state = &state;
        auto ep = std::make_unique<ProxyEndpoint>(loop.get(), registry, config, *rt);
        auto ok = ep->listen();
        endpoints.push_back(std::move(ep));
        if (!ok) {
            return give_up(
                "scenario " + names[i] + ": " + ok.error() + " (choose another --base-port)", 1);
        }
        state.add_endpoint(endpoints.back().get());
    }
    auto admin = start_admin(args, bridge, state);
    if (!admin) {
        return give_up(admin.error(), 2);
    }
    if (args.count("ports-json") != 0) {
        nlohmann::json ports = nlohmann::json::object();
        for (const auto& ep : endpoints) {
            ports[ep->config().id] = ep->bound_port();
        }
        std::ofstream out(args["ports-json"].as<std::string>());
        out << ports.dump(2) << "\n";
        if (!out) {
            if (*admin) {
                (*admin)->stop();
            }
            return give_up("cannot write the --ports-json file", 1);
        }
    }
    print_table(endpoints, **lab, host == "127.0.0.1" ? "localhost" : host, (*serve)->bound());
    if (*admin) {
        std::cout << "tlslab lab: admin API on http://" << (*admin)->address()
                  << " (tlslab ctl --admin " << (*admin)->address() << " listeners)\n";
    }
    std::cout << "tlslab lab: listening on " << host << ":" << base_port << "-"
              << base_port + endpoints.size() - 1 << "\n"
              << std::flush;
    spdlog::info("lab: {} scenario listeners from port {}", endpoints.size(), base_port);
    loop.run([&] {
        if (*admin) {
            (*admin)->stop();
        }
        bridge.close();
        for (auto& ep : endpoints) {
            ep->close();
        }
        (*serve)->close();
        registry.close_all("shutting down");
    });
    return 0;
}

} // namespace proxy::app
