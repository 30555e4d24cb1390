#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <certs/lab_ca.h>
#include <proxy/app/commands/cli.h>

namespace proxy::app {

namespace {

// take_value reads "--name VALUE" or "--name=VALUE" at argv[i]; advances i past the value.
std::optional<std::string> take_value(const std::string& name, int argc, char** argv, int& i,
                                      std::string& error) {
    std::string arg = argv[i];
    if (arg == name) {
        if (i + 1 >= argc) {
            error = name + " needs a value";
            return std::nullopt;
        }
        return std::string(argv[++i]);
    }
    if (arg.starts_with(name + "=")) {
        return arg.substr(name.size() + 1);
    }
    return std::nullopt;
}

} // namespace

std::expected<CommandLine, std::string> split_command_line(int argc, char** argv) {
    CommandLine cl;
    cl.global.state_dir = certs::default_state_dir();
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string error;
        if (auto v = take_value("--state-dir", argc, argv, i, error)) {
            cl.global.state_dir = *v;
            continue;
        }
        if (auto v = take_value("--log-level", argc, argv, i, error)) {
            cl.global.log_level = *v;
            continue;
        }
        if (!error.empty()) {
            return std::unexpected(error);
        }
        if (cl.command.empty()) {
            if (arg == "-h" || arg == "--help") {
                cl.help = true;
                continue;
            }
            if (arg == "--version" || arg == "-V") {
                cl.version = true;
                continue;
            }
            if (!arg.empty() && arg[0] == '-') {
                return std::unexpected("unknown option '" + arg + "' before the command");
            }
            cl.command = arg;
            cl.args.push_back("tlslab " + arg);
            continue;
        }
        cl.args.push_back(arg);
    }
    return cl;
}

void add_global_options(cxxopts::Options& options) {
    options.add_options("Global")(
        "state-dir",
        "Where the lab CA lives (default $XDG_STATE_HOME/tlslab or ~/.local/state/tlslab)",
        cxxopts::value<std::string>())("log-level", "trace, debug, info, warn, error or off",
                                       cxxopts::value<std::string>()->default_value("info"))(
        "h,help", "Show this help");
}

cxxopts::ParseResult parse_command(cxxopts::Options& options,
                                   const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    argv.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    return options.parse(static_cast<int>(argv.size()), argv.data());
}

std::expected<void, std::string> setup_logging(const std::string& level) {
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
        return std::unexpected("unknown log level '" + level +
                               "' (trace, debug, info, warn, error, off)");
    }
    auto logger = spdlog::stderr_color_mt("tlslab");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    return {};
}

} // namespace proxy::app
