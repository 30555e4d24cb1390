#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <proxy/app/admin/admin_server.h>
#include <proxy/app/commands/lab_command.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/event_loop.h>
#include <proxy/net/loop_bridge.h>

namespace proxy::app {

namespace {

// A listener of the lab: its endpoint and the protocol it serves.
struct LabListener {
    scenarios::Protocol protocol;
    std::unique_ptr<ProxyEndpoint> endpoint;
};

std::string_view protocol_label(scenarios::Protocol p) {
    switch (p) {
    case scenarios::Protocol::Tds:
        return "tds";
    case scenarios::Protocol::Postgres:
        return "postgres";
    case scenarios::Protocol::Tls:
        return "tls";
    case scenarios::Protocol::Mysql:
        return "mysql";
    }
    return "?";
}

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
        const auto& s = l.endpoint->scenario()->scenario;
        tds = tds || l.protocol == scenarios::Protocol::Tds;
        postgres = postgres || l.protocol == scenarios::Protocol::Postgres;
        mysql = mysql || l.protocol == scenarios::Protocol::Mysql;
        std::printf("%-6u %-9s %-24s %-7s %s\n", l.endpoint->bound_port(),
                    std::string(protocol_label(l.protocol)).c_str(), s.name.c_str(),
                    std::string(scenarios::to_string(s.expect)).c_str(), s.expect_detail.c_str());
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
    std::vector<std::string> names = (*lab)->catalogue().names();
    if (args.count("only") != 0) {
        names = args["only"].as<std::vector<std::string>>();
    }
    // Each protocol's listeners: the scenarios meant for it, in catalogue order from its base.
    struct Plan {
        scenarios::Protocol protocol;
        unsigned base_port;
        std::vector<std::string> names;
    };
    std::vector<Plan> plans;
    auto base_port = [&args](scenarios::Protocol p) {
        switch (p) {
        case scenarios::Protocol::Tds:
            return args["base-port"].as<unsigned>();
        case scenarios::Protocol::Postgres:
            return args["postgres-base-port"].as<unsigned>();
        case scenarios::Protocol::Mysql:
            return args["mysql-base-port"].as<unsigned>();
        case scenarios::Protocol::Tls:
            break;
        }
        return 0U;
    };
    for (auto p : protocols) {
        Plan plan{p, base_port(p), {}};
        for (const auto& n : names) {
            const auto* s = (*lab)->catalogue().find(n);
            if (s == nullptr || scenarios::serves(*s, p)) {
                plan.names.push_back(n); // an unknown name fails below with the known ones
            }
        }
        if (plan.base_port == 0 || plan.base_port + plan.names.size() > 65536) {
            std::cerr << "tlslab lab: the " << protocol_label(p) << " base port leaves no room for "
                      << plan.names.size() << " listeners\n";
            return 2;
        }
        plans.push_back(std::move(plan));
    }
    // The upstream legs: TDS verifies the in-process serve against the lab CA; PostgreSQL's
    // in-process stand-in runs with ssl = off on loopback (so it offers no channel binding the
    // lab's certificates would break: what clients do with the certificate stays visible).
    // MySQL's stand-in offers SSL with its own lab-CA certificate: the proxy's upstream leg
    // mirrors the client (TLS when the client did TLS), as MariaDB 11.4's certificate check in
    // the OK packet needs, and passthrough shows the client the stand-in itself.
    auto upstream_tls = make_upstream_tls({(*lab)->ca().cert()});
    if (!upstream_tls) {
        std::cerr << "tlslab lab: " << upstream_tls.error() << "\n";
        return 1;
    }

    net::EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, **outputs);
    net::LoopBridge bridge(loop.get());
    std::vector<std::unique_ptr<ServeEndpoint>> serves;
    std::vector<LabListener> listeners;
    auto give_up = [&](const std::string& why, int code) {
        std::cerr << "tlslab lab: " << why << "\n";
        for (auto& l : listeners) {
            l.endpoint->close();
        }
        for (auto& serve : serves) {
            serve->close();
        }
        bridge.close();
        loop.drain();
        return code;
    };
    std::vector<std::string> upstream_lines;
    // start_serve: one in-process stand-in on a loopback port chosen at run time.
    auto start_serve =
        [&](const ServeEndpoint::Config& serve_config,
            const std::string& what) -> std::expected<sockaddr_storage, std::string> {
        auto serve = ServeEndpoint::create(loop.get(), registry, (*lab)->ca(), (*lab)->identity(),
                                           serve_config);
        if (!serve) {
            return std::unexpected(serve.error());
        }
        serves.push_back(std::move(*serve));
        if (auto ok = serves.back()->listen({"127.0.0.1", 0}); !ok) {
            return std::unexpected(ok.error());
        }
        upstream_lines.push_back(what + " on " + serves.back()->bound());
        auto addr = net::resolve({"127.0.0.1", serves.back()->bound_port()});
        if (!addr) {
            return std::unexpected(addr.error());
        }
        return *addr;
    };
    for (const auto& plan : plans) {
        ServeEndpoint::Config serve_config;
        std::string line = "SQL Server stand-in (encryption off)";
        std::optional<sockaddr_storage> passthrough_addr;
        if (plan.protocol == scenarios::Protocol::Mysql) {
            serve_config.protocol = ServeEndpoint::Protocol::Mysql;
            serve_config.mysql_encryption = MysqlEncryption::On;
            serve_config.mysql_flavour = *mysql_flavour;
            line = *mysql_flavour == standin::mysql::Flavour::Mariadb114
                       ? "MariaDB 11.4 stand-in (SSL offered, mysql_native_password)"
                       : "MySQL 8.0 stand-in (SSL offered, caching_sha2_password)";
        }
        if (plan.protocol == scenarios::Protocol::Postgres) {
            serve_config.protocol = ServeEndpoint::Protocol::Postgres;
            serve_config.postgres_encryption = PostgresEncryption::None;
            line = "PostgreSQL stand-in (ssl off, scram-sha-256)";
            // Passthrough shows the client the server itself: a PostgreSQL stand-in with SSL on
            // and its own lab-CA certificate (the intercepting listeners use the ssl-off one).
            ServeEndpoint::Config with_ssl = serve_config;
            with_ssl.postgres_encryption = PostgresEncryption::Off;
            auto addr = start_serve(with_ssl, "PostgreSQL stand-in for passthrough (ssl on)");
            if (!addr) {
                return give_up(addr.error(), 1);
            }
            passthrough_addr = *addr;
        }
        auto serve_addr = start_serve(serve_config, line);
        if (!serve_addr) {
            return give_up(serve_addr.error(), 1);
        }
        for (std::size_t i = 0; i < plan.names.size(); ++i) {
            auto rt = (*lab)->runtime(plan.names[i]);
            if (!rt) {
                return give_up(rt.error(), 2);
            }
            ProxyEndpoint::Config config;
            // Listener ids: the scenario's name for TDS (as before PostgreSQL came), "pg:NAME"
            // for PostgreSQL, "my:NAME" for MySQL; the admin API and the rules address
            // listeners by these.
            switch (plan.protocol) {
            case scenarios::Protocol::Tds:
            case scenarios::Protocol::Tls:
                config.id = plan.names[i];
                config.protocol = ListenerProtocol::Tds;
                break;
            case scenarios::Protocol::Postgres:
                config.id = "pg:" + plan.names[i];
                config.protocol = ListenerProtocol::Postgres;
                break;
            case scenarios::Protocol::Mysql:
                config.id = "my:" + plan.names[i];
                config.protocol = ListenerProtocol::Mysql;
                break;
            }
            config.listen = {host, static_cast<std::uint16_t>(plan.base_port + i)};
            config.upstream =
                (*rt)->scenario.passthrough && passthrough_addr ? *passthrough_addr : *serve_addr;
            config.upstream_name = "localhost";
            config.upstream_tls = &*upstream_tls;
            apply_timeouts(config, args);
            config.outputs = outputs->get();
            config.state = &state;
            auto ep = std::make_unique<ProxyEndpoint>(loop.get(), registry, config, *rt);
            auto ok = ep->listen();
            listeners.push_back({plan.protocol, std::move(ep)});
            if (!ok) {
                return give_up("scenario " + plan.names[i] + " (" +
                                   std::string(protocol_label(plan.protocol)) + "): " + ok.error() +
                                   " (choose another base port)",
                               1);
            }
            state.add_endpoint(listeners.back().endpoint.get());
        }
    }
    auto admin = start_admin(args, bridge, state);
    if (!admin) {
        return give_up(admin.error(), 2);
    }
    if (args.count("ports-json") != 0) {
        nlohmann::json ports = nlohmann::json::object();
        for (auto p : protocols) {
            ports[std::string(protocol_label(p))] = nlohmann::json::object();
        }
        for (const auto& l : listeners) {
            ports[std::string(protocol_label(l.protocol))][l.endpoint->scenario()->scenario.name] =
                l.endpoint->bound_port();
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
    print_table(listeners, **lab, host == "127.0.0.1" ? "localhost" : host, upstream_lines);
    if (*admin) {
        std::cout << "tlslab lab: admin API on http://" << (*admin)->address()
                  << " (tlslab ctl --admin " << (*admin)->address() << " listeners)\n";
    }
    for (const auto& plan : plans) {
        std::cout << "tlslab lab: " << protocol_label(plan.protocol) << " listening on " << host
                  << ":" << plan.base_port << "-" << plan.base_port + plan.names.size() - 1 << "\n";
    }
    std::cout << std::flush;
    spdlog::info("lab: {} scenario listeners", listeners.size());
    loop.run([&] {
        if (*admin) {
            (*admin)->stop();
        }
        bridge.close();
        for (auto& l : listeners) {
            l.endpoint->close();
        }
        for (auto& serve : serves) {
            serve->close();
        }
        registry.close_all("shutting down");
    });
    return 0;
}

} // namespace proxy::app
