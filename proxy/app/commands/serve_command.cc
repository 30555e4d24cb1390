#include <iostream>

#include <spdlog/spdlog.h>

#include <certs/lab_ca.h>
#include <proxy/app/commands/connection_examples.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/commands/serve_command.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/net/event_loop.h>

namespace proxy::app {

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

} // namespace

int run_serve_command(const CommandLine& cl) {
    cxxopts::Options options(
        "tlslab serve",
        "An embedded SQL Server stand-in: real drivers log in over every encryption mode and\n"
        "hold a session as against SQL Server 2022, at every TDS version (7.0 to 8.0): batches,\n"
        "SET options, USE, transactions (T-SQL and Transaction Manager requests), system\n"
        "variables and functions, sp_executesql and prepared statements. It holds no data: a\n"
        "table or procedure gets SQL Server's own error (208, 2812), and the session goes on.\n"
        "Login: the user and password below, databases master, tempdb, model, msdb and lab.\n"
        "With --protocol postgres: a PostgreSQL 16 stand-in (user, password, database lab):\n"
        "SSLRequest and direct SSL (ALPN postgresql), trust / password / md5 / scram-sha-256\n"
        "(with channel binding over TLS), the simple and extended query protocols for what\n"
        "drivers send, and PostgreSQL's own ErrorResponse for the rest.\n"
        "With --protocol mysql: a MySQL 8.0 (or, with --flavour mariadb, MariaDB 11.4)\n"
        "stand-in (user, password, database lab): CLIENT_SSL and TLS, caching_sha2_password\n"
        "(fast and full path, RSA key exchange in clear), mysql_native_password and\n"
        "mysql_clear_password, MariaDB's zero-configuration SSL check, the queries connectors\n"
        "send on connect, prepared statements, and the server's own ERR for the rest.");
    // clang-format off
    options.add_options()
        ("protocol", "tds (SQL Server), postgres or mysql", cxxopts::value<std::string>()->default_value("tds"))
        ("listen", "HOST:PORT to listen on ([ADDR]:PORT for IPv6; port 0 picks a free one); "
                   "default 127.0.0.1:14330, 127.0.0.1:15432 for postgres, 127.0.0.1:13306 "
                   "for mysql",
         cxxopts::value<std::string>())
        ("encryption", "TDS: off (Force Encryption = No; the default), force (Force Encryption "
                       "= Yes), strict (TDS 8.0 only) or none (no certificate). PostgreSQL: off "
                       "(SSL offered, clear accepted; the default), force (hostssl only: clear "
                       "refused) or none (ssl = off). MySQL: off (no CLIENT_SSL), on (SSL "
                       "offered, clear accepted; the default) or force "
                       "(require_secure_transport=ON: clear refused with error 3159)",
         cxxopts::value<std::string>())
        ("auth", "PostgreSQL authentication: trust, password, md5 or scram-sha-256 (the "
                 "default). MySQL: the account's plugin, mysql_native_password, "
                 "caching_sha2_password or mysql_clear_password (default: the flavour's)",
         cxxopts::value<std::string>())
        ("flavour", "MySQL: which server the stand-in plays, mysql (8.0) or mariadb (11.4)",
         cxxopts::value<std::string>()->default_value("mysql"))
        ("user", "SQL login that may log in", cxxopts::value<std::string>()->default_value("lab"))
        ("password", "its password", cxxopts::value<std::string>()->default_value("lab-password"))
        ("hostname", "Extra name (or IP) for the certificate; repeatable",
         cxxopts::value<std::vector<std::string>>())
        ("login-timeout", "Seconds a client has to complete its login",
         cxxopts::value<unsigned>()->default_value("30"))
        ("idle-timeout", "Seconds without a byte from a client before its connection is closed "
                         "(0: never)",
         cxxopts::value<unsigned>()->default_value("300"))
        ("tls-resumption", "Let clients resume TLS sessions (session tickets), as a server with "
         "resumption on does; off by default, so every connection is a full handshake")
        ("no-examples", "Do not print driver connection examples");
    // clang-format on
    add_limit_options(options);
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto limits = limits_from(args);
    if (!limits) {
        std::cerr << "tlslab serve: " << limits.error() << "\n";
        return 2;
    }
    std::string protocol = args["protocol"].as<std::string>();
    if (protocol == "postgresql" || protocol == "pg") {
        protocol = "postgres";
    }
    if (protocol == "mariadb") {
        protocol = "mysql";
    }
    if (protocol != "tds" && protocol != "postgres" && protocol != "mysql") {
        std::cerr << "tlslab serve: --protocol must be tds, postgres or mysql\n";
        return 2;
    }
    bool postgres = protocol == "postgres";
    bool mysql = protocol == "mysql";
    std::string encryption_name = args.count("encryption") != 0
                                      ? args["encryption"].as<std::string>()
                                      : std::string(mysql ? "on" : "off");
    auto encryption = serve_encryption_from_name(encryption_name);
    auto postgres_encryption = postgres_encryption_from_name(encryption_name);
    auto mysql_encryption = mysql_encryption_from_name(encryption_name);
    if (!postgres && !mysql && !encryption) {
        std::cerr << "tlslab serve: --encryption must be off, force, strict or none\n";
        return 2;
    }
    if (postgres && !postgres_encryption) {
        std::cerr << "tlslab serve: --encryption for postgres must be off, force or none\n";
        return 2;
    }
    if (mysql && !mysql_encryption) {
        std::cerr << "tlslab serve: --encryption for mysql must be off, on or force\n";
        return 2;
    }
    std::string auth_name = args.count("auth") != 0 ? args["auth"].as<std::string>() : "";
    auto auth =
        standin::postgres::auth_method_from_name(auth_name.empty() ? "scram-sha-256" : auth_name);
    if (!mysql && !auth) {
        std::cerr << "tlslab serve: --auth must be trust, password, md5 or scram-sha-256\n";
        return 2;
    }
    std::optional<standin::mysql::AuthPlugin> mysql_auth;
    if (mysql && !auth_name.empty()) {
        mysql_auth = standin::mysql::auth_plugin_from_name(auth_name);
        if (!mysql_auth) {
            std::cerr << "tlslab serve: --auth for mysql must be mysql_native_password, "
                         "caching_sha2_password or mysql_clear_password\n";
            return 2;
        }
    }
    auto flavour = standin::mysql::flavour_from_name(args["flavour"].as<std::string>());
    if (!flavour) {
        std::cerr << "tlslab serve: --flavour must be mysql or mariadb\n";
        return 2;
    }
    auto where = net::parse_host_port(args.count("listen") != 0 ? args["listen"].as<std::string>()
                                      : postgres                ? std::string("127.0.0.1:15432")
                                      : mysql                   ? std::string("127.0.0.1:13306")
                                                                : std::string("127.0.0.1:14330"));
    if (!where) {
        std::cerr << "tlslab serve: --listen " << where.error() << "\n";
        return 2;
    }
    LabOptions lab_options;
    lab_options.state_dir = cl.global.state_dir;
    if (args.count("hostname") != 0) {
        lab_options.hostnames = args["hostname"].as<std::vector<std::string>>();
    }
    auto ca = certs::LabCa::load_or_create(cl.global.state_dir);
    if (!ca) {
        std::cerr << "tlslab serve: " << ca.error() << "\n";
        return 1;
    }
    LabIdentity identity = lab_identity(lab_options.hostnames);

    net::EventLoop loop;
    net::SessionRegistry registry;
    ServeEndpoint::Config config;
    config.protocol = postgres ? ServeEndpoint::Protocol::Postgres
                      : mysql  ? ServeEndpoint::Protocol::Mysql
                               : ServeEndpoint::Protocol::Tds;
    config.encryption = encryption.value_or(ServeEncryption::Off);
    config.postgres_encryption = postgres_encryption.value_or(PostgresEncryption::Off);
    config.postgres_auth = auth.value_or(standin::postgres::AuthMethod::ScramSha256);
    config.mysql_encryption = mysql_encryption.value_or(MysqlEncryption::On);
    config.mysql_flavour = *flavour;
    config.mysql_auth = mysql_auth;
    config.user = args["user"].as<std::string>();
    config.password = args["password"].as<std::string>();
    config.login_timeout_ms =
        static_cast<std::uint64_t>(args["login-timeout"].as<unsigned>()) * 1000;
    config.idle_timeout_ms = static_cast<std::uint64_t>(args["idle-timeout"].as<unsigned>()) * 1000;
    config.tls_resumption = args.count("tls-resumption") != 0;
    config.max_sessions = limits->max_sessions;
    config.max_message_bytes = limits->max_message_bytes;
    auto serve = ServeEndpoint::create(loop.get(), registry, *ca, identity, config);
    if (!serve) {
        std::cerr << "tlslab serve: " << serve.error() << "\n";
        return 1;
    }
    if (auto ok = (*serve)->listen(*where); !ok) {
        std::cerr << "tlslab serve: " << ok.error() << "\n";
        (*serve)->close();
        loop.drain();
        return 1;
    }
    const auto* cert = (*serve)->certificate();
    std::string what =
        postgres ? "PostgreSQL"
        : mysql  ? (*flavour == standin::mysql::Flavour::Mariadb114 ? "MariaDB 11.4" : "MySQL 8.0")
                 : "SQL Server";
    std::string auth_text;
    if (postgres) {
        auth_text = ", auth " + std::string(standin::postgres::to_string(*auth));
    } else if (mysql && mysql_auth) {
        auth_text = ", auth " + std::string(standin::mysql::to_string(*mysql_auth));
    }
    std::cout << "tlslab serve: " << what << " stand-in listening on " << (*serve)->bound()
              << " (encryption " << encryption_name << auth_text << ")\n"
              << "  certificate: "
              << (cert != nullptr
                      ? cert->subject + " [" + join(cert->subject_alt_names, ", ") + "], " +
                            cert->key + ", issued by the lab CA " + ca->cert_path().string()
                      : std::string("none (encryption not supported)"))
              << "\n"
              << "  login: user '" << config.user << "', password '" << config.password << "'\n";
    if (args.count("no-examples") == 0 && cert != nullptr) {
        ConnectionTarget t;
        t.host = where->host == "127.0.0.1" || where->host == "0.0.0.0" ? "localhost" : where->host;
        t.port = (*serve)->bound_port();
        t.ca_file = ca->cert_path().string();
        t.user = config.user;
        t.password = config.password;
        t.strict = encryption == ServeEncryption::Strict;
        std::cout << "Connect with certificate validation on:\n"
                  << (postgres ? postgres_connection_examples(t)
                      : mysql  ? mysql_connection_examples(t)
                               : connection_examples(t));
    }
    std::cout << std::flush;
    spdlog::info("serve: listening on {}", (*serve)->bound());

    loop.run([&] {
        (*serve)->close();
        registry.close_all("shutting down");
    });
    return 0;
}

} // namespace proxy::app
