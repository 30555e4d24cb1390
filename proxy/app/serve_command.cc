#include <arpa/inet.h>
#include <iostream>

#include <spdlog/spdlog.h>

#include <certs/certificate_info.h>
#include <certs/lab_ca.h>
#include <proxy/app/connection_examples.h>
#include <proxy/app/event_loop.h>
#include <proxy/app/serve_command.h>
#include <proxy/core/serve_session.h>
#include <proxy/core/tls_context.h>
#include <proxy/net/listener.h>

namespace proxy::app {

namespace {

constexpr std::uint16_t kFirstSpid = 51; // SQL Server's user sessions start above the system ones
constexpr std::uint16_t kSpidRange = 30000;

bool is_ip(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

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
        "An embedded SQL Server stand-in: real drivers log in over every encryption mode.\n"
        "It answers SELECT 1, SELECT @@VERSION and SET statements.");
    options.add_options()("listen",
                          "HOST:PORT to listen on ([ADDR]:PORT for IPv6; port 0 picks a free one)",
                          cxxopts::value<std::string>()->default_value("127.0.0.1:14330"))(
        "encryption",
        "off (Force Encryption = No), force (Force Encryption = Yes), strict (TDS 8.0 "
        "only) or none (no certificate)",
        cxxopts::value<std::string>()->default_value("off"))(
        "user", "SQL login that may log in", cxxopts::value<std::string>()->default_value("lab"))(
        "password", "its password", cxxopts::value<std::string>()->default_value("lab-password"))(
        "hostname", "Extra name (or IP) for the certificate; repeatable",
        cxxopts::value<std::vector<std::string>>())(
        "login-timeout", "Seconds a client has to complete its login",
        cxxopts::value<unsigned>()->default_value("30"))("no-examples",
                                                         "Do not print driver connection examples");
    add_global_options(options);
    cxxopts::ParseResult args;
    try {
        args = parse_command(options, cl.args);
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "tlslab serve: " << e.what() << "\n";
        return 2;
    }
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto encryption = serve_encryption_from_name(args["encryption"].as<std::string>());
    if (!encryption) {
        std::cerr << "tlslab serve: --encryption must be off, force, strict or none\n";
        return 2;
    }
    auto where = net::parse_host_port(args["listen"].as<std::string>());
    if (!where) {
        std::cerr << "tlslab serve: --listen " << where.error() << "\n";
        return 2;
    }

    ServeSettings settings;
    settings.encryption = *encryption;
    settings.responder.user = args["user"].as<std::string>();
    settings.responder.password = args["password"].as<std::string>();
    settings.responder.version_text =
        "tlslab serve " TLSLAB_VERSION " - an embedded SQL Server stand-in for TLS client tests "
        "(TDS 7.4 and 8.0)";
    settings.login_timeout_ms =
        static_cast<std::uint64_t>(args["login-timeout"].as<unsigned>()) * 1000;

    certs::SslCtxPtr tds7_ctx;
    certs::SslCtxPtr tds8_ctx;
    std::string certificate_line = "none (encryption not supported)";
    std::string ca_file;
    if (*encryption != ServeEncryption::None) {
        auto ca = certs::LabCa::load_or_create(cl.global.state_dir);
        if (!ca) {
            std::cerr << "tlslab serve: " << ca.error() << "\n";
            return 1;
        }
        ca_file = ca->cert_path().string();
        certs::CertificateProfile profile;
        profile.common_name = "localhost";
        profile.dns_names = certs::local_host_names();
        profile.ip_addresses = {"127.0.0.1", "::1"};
        if (args.count("hostname") != 0) {
            for (const auto& h : args["hostname"].as<std::vector<std::string>>()) {
                (is_ip(h) ? profile.ip_addresses : profile.dns_names).push_back(h);
            }
        }
        auto leaf = ca->issue_leaf(profile);
        if (!leaf) {
            std::cerr << "tlslab serve: " << leaf.error() << "\n";
            return 1;
        }
        // TDS 7.x wraps TLS in PRELOGIN packets: at most TLS 1.2, as SQL Server does.
        TlsServerConfig tds7;
        tds7.cert = leaf->cert.get();
        tds7.key = leaf->key.get();
        tds7.min_version = TLS1_2_VERSION;
        tds7.max_version = TLS1_2_VERSION;
        TlsServerConfig tds8 = tds7;
        tds8.max_version = TLS1_3_VERSION;
        tds8.alpn_tds8 = true;
        auto c7 = make_server_context(tds7);
        auto c8 = make_server_context(tds8);
        if (!c7 || !c8) {
            std::cerr << "tlslab serve: " << (!c7 ? c7.error() : c8.error()) << "\n";
            return 1;
        }
        tds7_ctx = std::move(*c7);
        tds8_ctx = std::move(*c8);
        settings.tds7_ctx = tds7_ctx.get();
        settings.tds8_ctx = tds8_ctx.get();
        auto info = certs::describe(leaf->cert.get());
        certificate_line = info.subject + " [" + join(info.subject_alt_names, ", ") + "], " +
                           info.key + ", issued by the lab CA " + ca_file;
    }

    EventLoop loop;
    net::SessionRegistry registry;
    net::Listener listener(
        loop.get(), registry, "serve", [&settings](const net::SessionInfo& info) {
            auto spid = static_cast<std::uint16_t>(kFirstSpid + info.id % kSpidRange);
            return std::make_unique<ServeSession>(settings, spid);
        });
    if (auto ok = listener.listen(*where); !ok) {
        std::cerr << "tlslab serve: " << ok.error() << "\n";
        return 1;
    }

    std::cout << "tlslab serve: listening on " << listener.bound() << " (encryption "
              << to_string(*encryption) << ")\n"
              << "  certificate: " << certificate_line << "\n"
              << "  login: user '" << settings.responder.user << "', password '"
              << settings.responder.password << "'\n";
    if (args.count("no-examples") == 0 && *encryption != ServeEncryption::None) {
        ConnectionTarget t;
        t.host = where->host == "127.0.0.1" || where->host == "0.0.0.0" ? "localhost" : where->host;
        t.port = listener.bound_port();
        t.ca_file = ca_file;
        t.user = settings.responder.user;
        t.password = settings.responder.password;
        t.strict = *encryption == ServeEncryption::Strict;
        std::cout << "Connect with certificate validation on:\n" << connection_examples(t);
    }
    std::cout << std::flush;
    spdlog::info("serve: listening on {}", listener.bound());

    loop.run([&] {
        listener.close();
        registry.close_all("shutting down");
    });
    return 0;
}

} // namespace proxy::app
