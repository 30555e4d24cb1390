#include <proxy/app/commands/proxy_options.h>
#include <proxy/net/address.h>

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
start_admin(const cxxopts::ParseResult& args, net::LoopBridge& bridge, LabState& state) {
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

void add_output_options(cxxopts::Options& options) {
    // clang-format off
    options.add_options("Records")
        ("events", "Write one JSON record per session (and per message) to FILE, appending; - for stdout",
         cxxopts::value<std::string>())
        ("reveal-secrets", "Show decoded passwords in records and logs (masked to their length otherwise)")
        ("record-messages", "After login, record each SQL batch, RPC and server error as a message event")
        ("keylog", "Append NSS key log lines for both legs to FILE (Wireshark: tls.keylog_file)",
         cxxopts::value<std::string>())
        ("pcap", "Write the decrypted conversations to FILE as TCP flows (tshark -d tcp.port==PORT,tds)",
         cxxopts::value<std::string>());
    // clang-format on
}

OutputOptions output_options_from(const cxxopts::ParseResult& args) {
    OutputOptions o;
    auto file = [&args](const char* name) -> std::optional<std::string> {
        if (args.count(name) == 0) {
            return std::nullopt;
        }
        return args[name].as<std::string>();
    };
    o.events = file("events");
    o.pcap = file("pcap");
    o.keylog = file("keylog");
    o.reveal_secrets = args.count("reveal-secrets") != 0;
    o.record_messages = args.count("record-messages") != 0;
    return o;
}

} // namespace proxy::app
