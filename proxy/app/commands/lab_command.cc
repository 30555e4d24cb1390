#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <proxy/app/admin/admin_server.h>
#include <proxy/app/commands/lab_command.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/lab/lab_listeners.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/event_loop.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/worker_loops.h>

namespace proxy::app {

namespace {

void print_table(const std::vector<LabListener>& listeners, const Lab& lab, const std::string& host,
                 const std::vector<std::string>& upstreams) {
    std::printf("tlslab lab: %zu listeners; upstreams:", listeners.size());
    for (const auto& u : upstreams) {
        std::printf(" %s;", u.c_str());
    }
    std::printf("\n\n%-6s %-9s %-24s %-7s %s\n", "PORT", "PROTOCOL", "SCENARIO", "EXPECT",
                "WHAT A VALIDATING CLIENT SHOULD DO");
    bool tds = false;
    bool postgres = false;
    bool mysql = false;
    for (const auto& l : listeners) {
        auto runtime = l.endpoint->scenario();
        const auto& s = runtime->scenario;
        tds = tds || l.protocol == scenarios::Protocol::Tds;
        postgres = postgres || l.protocol == scenarios::Protocol::Postgres;
        mysql = mysql || l.protocol == scenarios::Protocol::Mysql;
        std::string note = validity_note(s); // "certificate valid for 60 s from each connection"
        std::printf("%-6u %-9s %-24s %-7s %s%s\n", l.endpoint->bound_port(),
                    std::string(scenarios::to_string(l.protocol)).c_str(), s.name.c_str(),
                    std::string(scenarios::to_string(s.expect)).c_str(), s.expect_detail.c_str(),
                    note.empty() ? "" : (" (" + note + ")").c_str());
    }
    std::string ca = lab.ca().cert_path().string();
    std::printf("\nConnect to PORT (user lab, password lab-password; trust the lab CA %s):\n",
                ca.c_str());
    if (tds) {
        std::printf("SQL Server (PROTOCOL tds):\n");
        std::printf("  ODBC 18 / SqlClient: Server=%s,PORT;Encrypt=yes;UID=lab;PWD=lab-password\n"
                    "                       (ODBC on Linux: SSL_CERT_FILE=%s; add "
                    "TrustServerCertificate=yes to see the risk)\n",
                    host.c_str(), ca.c_str());
        std::printf(
            "  JDBC:    jdbc:sqlserver://%s:PORT;encrypt=true;user=lab;password=lab-password;"
            "trustStore=lab-ca.p12;trustStorePassword=changeit\n",
            host.c_str());
        std::printf("  tedious: { server: '%s', options: { port: PORT, encrypt: true, "
                    "cryptoCredentialsDetails: "
                    "{ ca: fs.readFileSync('%s') } }, authentication: { type: 'default', options: "
                    "{ userName: 'lab', password: 'lab-password' } } }\n",
                    host.c_str(), ca.c_str());
        std::printf("  tsql:    [lab] host = %s, port = PORT, tds version = 7.4, encryption = "
                    "require, ca file = %s\n",
                    host.c_str(), ca.c_str());
        std::printf("  Strict (TDS 8.0): Encrypt=strict / encrypt=strict / encrypt: 'strict'.\n");
    }
    if (postgres) {
        std::printf("PostgreSQL (PROTOCOL postgres; database lab):\n");
        std::printf("  psql / libpq: PGPASSWORD=lab-password psql \"host=%s port=PORT user=lab "
                    "dbname=lab sslmode=verify-full sslrootcert=%s\"\n",
                    host.c_str(), ca.c_str());
        std::printf("  psycopg2 / psycopg 3: psycopg2.connect(\"host=%s port=PORT user=lab "
                    "password=lab-password dbname=lab sslmode=verify-full sslrootcert=%s\")\n",
                    host.c_str(), ca.c_str());
        std::printf("  JDBC:    jdbc:postgresql://%s:PORT/lab?user=lab&password=lab-password&"
                    "sslmode=verify-full&sslrootcert=%s\n",
                    host.c_str(), ca.c_str());
        std::printf("  node pg: new pg.Client({ host: '%s', port: PORT, user: 'lab', password: "
                    "'lab-password', database: 'lab', ssl: { ca: fs.readFileSync('%s') } })\n",
                    host.c_str(), ca.c_str());
        std::printf("  sslmode=require accepts any certificate: the lab shows what it reads.\n");
    }
    if (mysql) {
        std::printf("MySQL / MariaDB (PROTOCOL mysql; database lab):\n");
        std::printf("  mariadb client: mariadb -h %s -P PORT -u lab -plab-password --ssl-ca=%s "
                    "--ssl-verify-server-cert lab\n",
                    host.c_str(), ca.c_str());
        std::printf("  mysql-connector-python: mysql.connector.connect(host='%s', port=PORT, "
                    "user='lab', password='lab-password', database='lab', ssl_ca='%s', "
                    "ssl_verify_identity=True)\n",
                    host.c_str(), ca.c_str());
        std::printf("  MariaDB Connector/J: jdbc:mariadb://%s:PORT/lab?user=lab&password="
                    "lab-password&sslMode=verify-full&serverSslCert=%s\n",
                    host.c_str(), ca.c_str());
        std::printf("  mysql2:  mysql.createConnection({ host: '%s', port: PORT, user: 'lab', "
                    "password: 'lab-password', database: 'lab', ssl: { ca: fs.readFileSync('%s'), "
                    "verifyIdentity: true } })\n",
                    host.c_str(), ca.c_str());
        std::printf("  ssl-mode REQUIRED accepts any certificate and PREFERRED falls back to "
                    "clear: the lab shows what it reads.\n");
    }
    std::printf("\n");
}

} // namespace

int run_lab_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab lab",
                             "The whole catalogue on one machine: tlslab serve in-process and one "
                             "proxy listener per scenario, in catalogue order from --base-port.");
    // clang-format off
    options.add_options()
        ("protocol", "Protocols to serve the catalogue for: tds, postgres, mysql (comma-separated)",
         cxxopts::value<std::vector<std::string>>()->default_value("tds,postgres,mysql"))
        ("base-port", "Port of the first TDS scenario's listener", cxxopts::value<unsigned>()->default_value("14330"))
        ("postgres-base-port", "Port of the first PostgreSQL scenario's listener",
         cxxopts::value<unsigned>()->default_value("15430"))
        ("mysql-base-port", "Port of the first MySQL scenario's listener",
         cxxopts::value<unsigned>()->default_value("13330"))
        ("mysql-flavour", "The MySQL stand-in behind the listeners: mysql (8.0, caching_sha2_password) "
                          "or mariadb (11.4, with its zero-configuration SSL check)",
         cxxopts::value<std::string>()->default_value("mysql"))
        ("listen-host", "Address the listeners bind to", cxxopts::value<std::string>()->default_value("127.0.0.1"))
        ("ports-json", "Write {protocol: {scenario: port}} to FILE once listening", cxxopts::value<std::string>())
        ("only", "Run only these scenarios (comma-separated)", cxxopts::value<std::vector<std::string>>());
    // clang-format on
    add_threads_option(options, "; the stand-ins behind the listeners run on the first");
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
        std::cerr << "tlslab lab: " << outputs.error() << "\n";
        return 2;
    }
    std::vector<scenarios::Protocol> protocols;
    for (const auto& name : args["protocol"].as<std::vector<std::string>>()) {
        if (name == "tds") {
            protocols.push_back(scenarios::Protocol::Tds);
        } else if (name == "postgres" || name == "postgresql") {
            protocols.push_back(scenarios::Protocol::Postgres);
        } else if (name == "mysql" || name == "mariadb") {
            protocols.push_back(scenarios::Protocol::Mysql);
        } else {
            std::cerr << "tlslab lab: --protocol: '" << name << "' is not tds, postgres or mysql\n";
            return 2;
        }
    }
    auto mysql_flavour = standin::mysql::flavour_from_name(args["mysql-flavour"].as<std::string>());
    if (!mysql_flavour) {
        std::cerr << "tlslab lab: --mysql-flavour must be mysql or mariadb\n";
        return 2;
    }
    std::string host = args["listen-host"].as<std::string>();
    auto lab = Lab::prepare(lab_options_from(cl, args));
    if (!lab) {
        std::cerr << "tlslab lab: " << lab.error() << "\n";
        return 1;
    }
    LabPlanOptions plan;
    plan.protocols = protocols;
    plan.base_ports = {{scenarios::Protocol::Tds, args["base-port"].as<unsigned>()},
                       {scenarios::Protocol::Postgres, args["postgres-base-port"].as<unsigned>()},
                       {scenarios::Protocol::Mysql, args["mysql-base-port"].as<unsigned>()}};
    for (const auto& [protocol, port] : plan.base_ports) {
        if (port == 0) {
            std::cerr << "tlslab lab: the " << scenarios::to_string(protocol)
                      << " base port must be from 1 to 65535\n";
            return 2;
        }
    }
    plan.listen_host = host;
    if (args.count("only") != 0) {
        plan.only = args["only"].as<std::vector<std::string>>();
    }
    plan.mysql_flavour = *mysql_flavour;
    plan.connect_timeout_ms = args["connect-timeout"].as<unsigned>() * 1000ULL;
    plan.handshake_timeout_ms = args["handshake-timeout"].as<unsigned>() * 1000ULL;
    plan.idle_timeout_ms = args["idle-timeout"].as<unsigned>() * 1000ULL;
    auto limits = limits_from(args);
    if (!limits) {
        std::cerr << "tlslab lab: " << limits.error() << "\n";
        return 2;
    }
    plan.max_sessions = limits->max_sessions;
    plan.max_message_bytes = limits->max_message_bytes;
    auto threads = threads_from(args, net::default_thread_count());
    if (!threads) {
        std::cerr << "tlslab lab: " << threads.error() << "\n";
        return 2;
    }
    auto upstream_tls = make_upstream_tls({(*lab)->ca().cert()});
    if (!upstream_tls) {
        std::cerr << "tlslab lab: " << upstream_tls.error() << "\n";
        return 1;
    }

    net::EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, **outputs);
    net::LoopBridge bridge(loop.get());
    // --threads N: N - 1 loops beside this one, as for `tlslab proxy` (worker_loops.h): this loop
    // keeps the listeners, the stand-ins, the admin API and the outputs; every listener hands
    // its connections to the loops in turn.
    net::WorkerLoops workers(*threads - 1, registry);
    auto started =
        LabListeners::start(loop.get(), registry, **lab, **outputs, state, *upstream_tls, plan);
    auto give_up = [&](const std::string& why, int code) {
        std::cerr << "tlslab lab: " << why << "\n";
        if (started) {
            (*started)->close();
        }
        bridge.close();
        loop.drain();
        return code;
    };
    if (!started) {
        return give_up(started.error().message, started.error().exit_code);
    }
    const auto& listeners = (*started)->listeners();
    for (const auto& l : listeners) {
        l.endpoint->use_workers(workers, bridge);
    }
    state.add_workers(workers);
    auto admin = start_admin(args, bridge, state);
    if (!admin) {
        return give_up(admin.error(), 2);
    }
    if (args.count("ports-json") != 0) {
        nlohmann::json ports = nlohmann::json::object();
        for (auto p : protocols) {
            ports[std::string(scenarios::to_string(p))] = nlohmann::json::object();
        }
        for (const auto& l : listeners) {
            ports[std::string(scenarios::to_string(l.protocol))]
                 [l.endpoint->scenario()->scenario.name] = l.endpoint->bound_port();
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
    print_table(listeners, **lab, host == "127.0.0.1" ? "localhost" : host,
                (*started)->upstream_lines());
    if (*admin) {
        std::cout << "tlslab lab: admin API on http://" << (*admin)->address()
                  << " (tlslab ctl --admin " << (*admin)->address() << " listeners)\n";
    }
    for (auto p : protocols) {
        std::vector<std::uint16_t> ports;
        for (const auto& l : listeners) {
            if (l.protocol == p) {
                ports.push_back(l.endpoint->bound_port());
            }
        }
        if (!ports.empty()) {
            std::cout << "tlslab lab: " << scenarios::to_string(p) << " listening on " << host
                      << ":" << ports.front() << "-" << ports.back() << "\n";
        }
    }
    std::cout << std::flush;
    spdlog::info("lab: {} scenario listeners ({} thread{})", listeners.size(), *threads,
                 *threads == 1 ? "" : "s");
    workers.start();
    loop.run([&] {
        if (*admin) {
            (*admin)->stop();
        }
        (*started)->close();
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
