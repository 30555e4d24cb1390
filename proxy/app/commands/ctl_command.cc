#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <proxy/app/commands/cli.h>
#include <proxy/app/commands/ctl_command.h>
#include <proxy/net/address.h>

namespace proxy::app {

namespace {

constexpr const char* kDefaultAdmin = "127.0.0.1:14329";

constexpr const char* kVerbs =
    "verbs:\n"
    "  scenarios | listeners | rules | sessions | metrics    GET the list\n"
    "  session ID                                            one session's record\n"
    "  set LISTENER SCENARIO [--reset-existing]              switch a listener's scenario\n"
    "  rule-add SCENARIO (--count N | --client-address IP | --sni NAME | --prelogin-version V)\n"
    "           [--listener ID]                              apply a scenario to matching "
    "connections\n"
    "  rule-delete ID\n";

int show(const httplib::Result& res, const std::string& what) {
    if (!res) {
        std::cerr << "tlslab ctl: " << what << ": " << httplib::to_string(res.error())
                  << " (is the lab running with --admin?)\n";
        return 1;
    }
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status >= 300) {
        std::string msg = !body.is_discarded() && body.contains("error")
                              ? body["error"].get<std::string>()
                              : res->body;
        std::cerr << "tlslab ctl: " << what << ": " << res->status << ": " << msg << "\n";
        return 1;
    }
    std::cout << (body.is_discarded() ? res->body : body.dump(2)) << "\n";
    return 0;
}

} // namespace

int run_ctl_command(const CommandLine& cl) {
    cxxopts::Options options(
        "tlslab ctl", std::string("Drive a running lab through its admin API.\n\n") + kVerbs);
    // clang-format off
    options.add_options()
        ("admin", "HOST:PORT of the admin API (default $TLSLAB_ADMIN or 127.0.0.1:14329)",
         cxxopts::value<std::string>())
        ("admin-token", "Bearer token (default $TLSLAB_ADMIN_TOKEN)", cxxopts::value<std::string>())
        ("reset-existing", "set: also close the listener's live sessions")
        ("count", "rule-add: the next N connections", cxxopts::value<std::uint64_t>())
        ("client-address", "rule-add: connections from this IP", cxxopts::value<std::string>())
        ("sni", "rule-add: connections whose ClientHello names this host", cxxopts::value<std::string>())
        ("prelogin-version", "rule-add: clients whose PRELOGIN VERSION starts with this",
         cxxopts::value<std::string>())
        ("listener", "rule-add: only on this listener", cxxopts::value<std::string>())
        ("words", "verb and arguments", cxxopts::value<std::vector<std::string>>());
    // clang-format on
    options.parse_positional({"words"});
    options.positional_help("VERB [ARGS]");
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0 || args.count("words") == 0) {
        std::cout << options.help() << "\n";
        return args.count("help") != 0 ? 0 : 2;
    }
    auto words = args["words"].as<std::vector<std::string>>();
    const char* env_admin = std::getenv("TLSLAB_ADMIN");
    std::string admin = args.count("admin") != 0 ? args["admin"].as<std::string>()
                        : env_admin != nullptr   ? env_admin
                                                 : kDefaultAdmin;
    auto where = net::parse_host_port(admin);
    if (!where) {
        std::cerr << "tlslab ctl: --admin " << where.error() << "\n";
        return 2;
    }
    httplib::Client client(where->host, where->port);
    client.set_connection_timeout(5);
    client.set_read_timeout(10);
    const char* env_token = std::getenv("TLSLAB_ADMIN_TOKEN");
    std::string token = args.count("admin-token") != 0 ? args["admin-token"].as<std::string>()
                        : env_token != nullptr         ? env_token
                                                       : "";
    if (!token.empty()) {
        client.set_bearer_token_auth(token);
    }
    const std::string& verb = words[0];
    auto need = [&](std::size_t n) {
        if (words.size() != n) {
            std::cerr << "tlslab ctl: " << verb << " takes " << n - 1 << " argument(s)\n" << kVerbs;
            return false;
        }
        return true;
    };
    if (verb == "scenarios" || verb == "listeners" || verb == "rules" || verb == "sessions" ||
        verb == "metrics") {
        return need(1) ? show(client.Get("/" + verb), verb) : 2;
    }
    if (verb == "session") {
        return need(2) ? show(client.Get("/sessions/" + words[1]), verb) : 2;
    }
    if (verb == "set") {
        if (!need(3)) {
            return 2;
        }
        nlohmann::json body = {{"scenario", words[2]},
                               {"reset_existing", args.count("reset-existing") != 0}};
        return show(
            client.Put("/listeners/" + words[1] + "/scenario", body.dump(), "application/json"),
            verb);
    }
    if (verb == "rule-add") {
        if (!need(2)) {
            return 2;
        }
        nlohmann::json body = {{"scenario", words[1]}};
        if (args.count("count") != 0) {
            body["count"] = args["count"].as<std::uint64_t>();
        }
        for (const auto* key : {"client-address", "sni", "prelogin-version", "listener"}) {
            if (args.count(key) != 0) {
                std::string field = key;
                std::replace(field.begin(), field.end(), '-', '_');
                body[field] = args[key].as<std::string>();
            }
        }
        return show(client.Post("/rules", body.dump(), "application/json"), verb);
    }
    if (verb == "rule-delete") {
        return need(2) ? show(client.Delete("/rules/" + words[1]), verb) : 2;
    }
    std::cerr << "tlslab ctl: unknown verb '" << verb << "'\n" << kVerbs;
    return 2;
}

} // namespace proxy::app
