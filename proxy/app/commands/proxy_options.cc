#include <charconv>

#include <proxy/app/commands/proxy_options.h>
#include <proxy/net/address.h>
#include <proxy/net/worker_loops.h>

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
    add_limit_options(options);
}

void add_threads_option(cxxopts::Options& options, const std::string& note) {
    options.add_options()("threads",
                          "Event loops to run sessions on, each on its own thread; connections "
                          "are given to them in turn (default: one per core this process may "
                          "use" +
                              note + ")",
                          cxxopts::value<std::string>());
}

std::expected<std::size_t, std::string> threads_from(const cxxopts::ParseResult& args,
                                                     std::size_t default_threads) {
    if (args.count("threads") == 0) {
        return default_threads;
    }
    const auto& text = args["threads"].as<std::string>();
    std::size_t parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc{} || end != text.data() + text.size() || parsed < 1 ||
        parsed > net::WorkerLoops::kMaxThreads) {
        return std::unexpected("--threads must be 1 to " +
                               std::to_string(net::WorkerLoops::kMaxThreads) + " (got '" + text +
                               "')");
    }
    return parsed;
}

void add_limit_options(cxxopts::Options& options) {
    // clang-format off
    options.add_options("Limits")
        ("max-sessions", "Sessions one listener holds at once; a client beyond is closed at once "
                         "(0: unlimited)",
         cxxopts::value<std::size_t>()->default_value(
             std::to_string(net::SessionLimit::kDefaultMaxSessions)))
        ("max-message-bytes", "Largest protocol message held whole (TDS request, PostgreSQL "
                              "message, MySQL packet); a session sending a longer one ends "
                              "(bytes, or with K, M, G)",
         cxxopts::value<std::string>()->default_value("64M"));
    // clang-format on
}

std::expected<std::size_t, std::string> parse_byte_size(const std::string& text) {
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (n > (std::uint64_t{1} << 50)) {
            return std::unexpected("'" + text + "' is too large");
        }
        n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
        ++i;
    }
    if (i == 0) {
        return std::unexpected("'" + text + "' is not a size (bytes, or a number with K, M or G)");
    }
    std::string unit = text.substr(i);
    std::uint64_t mult = 0;
    if (unit.empty() || unit == "B") {
        mult = 1;
    } else if (unit == "K" || unit == "k" || unit == "KiB") {
        mult = 1024;
    } else if (unit == "M" || unit == "m" || unit == "MiB") {
        mult = std::uint64_t{1} << 20;
    } else if (unit == "G" || unit == "g" || unit == "GiB") {
        mult = std::uint64_t{1} << 30;
    } else {
        return std::unexpected("'" + text + "': unknown unit '" + unit + "' (K, M or G)");
    }
    if (n == 0) {
        return std::unexpected("'" + text + "' must be above 0");
    }
    if (n > (std::uint64_t{4} << 30) / mult) {
        return std::unexpected("'" + text + "' is above 4G");
    }
    return static_cast<std::size_t>(n * mult);
}

std::expected<Limits, std::string> limits_from(const cxxopts::ParseResult& args) {
    Limits l;
    l.max_sessions = args["max-sessions"].as<std::size_t>();
    auto bytes = parse_byte_size(args["max-message-bytes"].as<std::string>());
    if (!bytes) {
        return std::unexpected("--max-message-bytes " + bytes.error());
    }
    l.max_message_bytes = *bytes;
    return l;
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
