#include <iostream>

#include <spdlog/spdlog.h>

#include <certs/pem.h>
#include <proxy/app/admin/admin_server.h>
#include <proxy/app/commands/proxy_command.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/mirror_names.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/lab/transparent_certificates.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/core/tls/tls_context.h>
#include <proxy/net/event_loop.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/worker_loops.h>

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
        ("transparent", "Transparent interception: clients dial the real server, a redirect rule "
                        "(scripts/transparent) sends them here, and each connection goes on to its "
                         "original destination (SO_ORIGINAL_DST); no --upstream")
        ("certificate", "Transparent mode: whose names the certificate carries: client (the SNI, "
                        "else the original destination's IP) or mirror (the real server's CN and "
                        "SANs, read from it first; needs --protocol tds, postgres, mysql or tls)",
         cxxopts::value<std::string>()->default_value("client"))
        ("scenario", "Scenario new connections meet (see `tlslab scenarios`)",
         cxxopts::value<std::string>()->default_value("valid"))
        ("upstream-ca", "PEM file of CAs to verify the server with (otherwise it is recorded, not verified)",
         cxxopts::value<std::string>());
    // clang-format on
    add_threads_option(options, "; --transparent runs on one");
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
    auto limits = limits_from(args);
    if (!limits) {
        std::cerr << "tlslab proxy: " << limits.error() << "\n";
        return 2;
    }
    bool transparent = args.count("transparent") != 0;
    if (transparent == (args.count("upstream") != 0)) {
        std::cerr << "tlslab proxy: "
                  << (transparent ? "--transparent takes no --upstream: each connection goes to "
                                    "its original destination"
                                  : "--upstream HOST:PORT is required (or --transparent)")
                  << "\n";
        return 2;
    }
    auto certificate_names = args["certificate"].as<std::string>();
    if (certificate_names != "client" && certificate_names != "mirror") {
        std::cerr << "tlslab proxy: --certificate must be client or mirror\n";
        return 2;
    }
    if (!transparent && args.count("certificate") != 0) {
        std::cerr << "tlslab proxy: --certificate is for --transparent\n";
        return 2;
    }
    auto parsed_threads = threads_from(args, transparent ? 1 : net::default_thread_count());
    if (!parsed_threads) {
        std::cerr << "tlslab proxy: " << parsed_threads.error() << "\n";
        return 2;
    }
    const std::size_t threads = *parsed_threads;
    if (transparent && threads != 1) {
        std::cerr << "tlslab proxy: --transparent runs on one thread (its certificates and "
                     "loop checks live on one loop); leave out --threads\n";
        return 2;
    }
    auto protocol = listener_protocol_from_name(args["protocol"].as<std::string>());
    if (!protocol) {
        std::cerr << "tlslab proxy: --protocol must be auto, tds, postgres, mysql or tls\n";
        return 2;
    }
    auto listen = net::parse_host_port(args["listen"].as<std::string>());
    if (!listen) {
        std::cerr << "tlslab proxy: --listen " << listen.error() << "\n";
        return 2;
    }
    net::HostPort upstream;
    sockaddr_storage upstream_addr{};
    if (!transparent) {
        auto parsed = net::parse_host_port(args["upstream"].as<std::string>());
        if (!parsed) {
            std::cerr << "tlslab proxy: --upstream " << parsed.error() << "\n";
            return 2;
        }
        auto resolved = net::resolve(*parsed);
        if (!resolved) {
            std::cerr << "tlslab proxy: --upstream " << resolved.error() << "\n";
            return 2;
        }
        upstream = *parsed;
        upstream_addr = *resolved;
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
    // --threads N: N - 1 loops beside this one (worker_loops.h); this loop keeps the listener,
    // the admin API, the lab state and the outputs, and runs sessions too.
    net::WorkerLoops workers(threads - 1, registry);
    ProxyEndpoint::Config config;
    config.id = "proxy";
    config.protocol = *protocol;
    config.postgres_refuse_plaintext = args.count("postgres-require-ssl") != 0;
    config.mysql_refuse_plaintext = args.count("mysql-require-secure-transport") != 0;
    config.listen = *listen;
    config.upstream = upstream_addr;
    config.upstream_name = upstream.host;
    TransparentCertificates certificates(**lab);
    config.transparent = transparent;
    config.certificates = transparent ? &certificates : nullptr;
    // mirror: each original destination's certificate is read once, off the loop thread, before
    // that destination's first session starts (see mirror_names.h).
    certs::SslCtxPtr mirror_ctx;
    std::optional<MirrorNames> mirror;
    if (certificate_names == "mirror") {
        if (*protocol == ListenerProtocol::Auto) {
            std::cerr << "tlslab proxy: --certificate mirror needs --protocol tds, postgres, "
                         "mysql or tls (to know how to ask the server for its certificate)\n";
            return 2;
        }
        TlsClientConfig c;
        c.min_version = TLS1_VERSION;
        auto ctx = make_client_context(c);
        if (!ctx) {
            std::cerr << "tlslab proxy: " << ctx.error() << "\n";
            return 1;
        }
        mirror_ctx = std::move(*ctx);
        mirror.emplace(loop.get(), *protocol, mirror_ctx.get(), MirrorNames::Limits{});
        config.mirror = &*mirror;
    }
    config.upstream_tls = &*upstream_tls;
    apply_timeouts(config, args);
    config.max_sessions = limits->max_sessions;
    config.max_message_bytes = limits->max_message_bytes;
    config.outputs = outputs->get();
    config.state = &state;
    ProxyEndpoint endpoint(loop.get(), registry, config, *scenario);
    endpoint.use_workers(workers, bridge);
    state.add_workers(workers);
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
              << ") -> "
              << (transparent ? "each connection's original destination (transparent, "
                                "certificate names: " +
                                    certificate_names + ")"
                              : upstream.to_string())
              << " (scenario " << s.name << ": " << s.description << "; a validating client should "
              << scenarios::to_string(s.expect) << ")\n";
    std::cout << std::flush;
    spdlog::info("proxy: listening on {} ({} thread{})", endpoint.bound(), threads,
                 threads == 1 ? "" : "s");
    workers.start();
    loop.run([&] {
        if (*admin) {
            (*admin)->stop();
        }
        endpoint.close();
        registry.close_all("shutting down");
        // The bridge stays open until every worker has closed its sessions: their records are
        // posted here on the way out.
        net::LoopBridge* home = &bridge;
        workers.stop("shutting down", [home] { home->post([home] { home->close(); }); });
    });
    workers.join();
    return 0;
}

} // namespace proxy::app
