#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <proxy/app/commands/diff_command.h>
#include <proxy/app/report/diff_render.h>
#include <proxy/app/report/report_diff.h>

namespace proxy::app {

namespace {

constexpr int kNoneWorse = 0;
constexpr int kSomeWorse = 1;
constexpr int kUsage = 2;

// read_report_file reads and parses one report; the error names the file and what is wrong.
// A matrix output directory stands for its report.json.
std::expected<nlohmann::json, std::string> read_report_file(const std::string& given) {
    std::error_code ec;
    std::string path = given;
    if (std::filesystem::is_directory(given, ec)) {
        path = (std::filesystem::path(given) / "report.json").string();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::unexpected(path + ": cannot read it (" + std::string(std::strerror(errno)) +
                               ")");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return std::unexpected(path + ": read error");
    }
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (j.is_discarded()) {
        return std::unexpected(path + ": not JSON (a tlslab matrix report is report.json)");
    }
    return j;
}

// Colour only on a terminal that wants it.
bool colour_stdout() {
    const char* term = std::getenv("TERM");
    return isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr && term != nullptr &&
           std::string(term) != "dumb";
}

} // namespace

int run_diff_command(const CommandLine& cl) {
    cxxopts::Options options(
        "tlslab diff",
        "What changed between two matrix reports: cells that now refuse, now accept, now fall "
        "back to plaintext, or fail with another error text.\n"
        "Exit status: 0 when no cell got worse, 1 when one did, 2 for usage errors or "
        "unreadable reports.");
    options.positional_help("OLD/report.json NEW/report.json");
    options.add_options()("html", "Also write the comparison as a self-contained HTML page to FILE",
                          cxxopts::value<std::string>())(
        "json", "Print the comparison as JSON instead of text")(
        "map",
        "Pair driver OLD of the old run with driver NEW of the new one (OLD=NEW; repeatable). "
        "Without it drivers pair by name, or when each run has one driver for a protocol",
        cxxopts::value<std::vector<std::string>>())("reports", "The old and the new report.json",
                                                    cxxopts::value<std::vector<std::string>>());
    options.parse_positional({"reports"});
    add_global_options(options);
    cxxopts::ParseResult args;
    try {
        args = parse_command(options, cl.args);
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "tlslab diff: " << e.what() << "\n"
                  << "usage: tlslab diff OLD/report.json NEW/report.json [--html FILE] [--json] "
                     "[--map OLD=NEW ...]\n";
        return kUsage;
    }
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return kNoneWorse;
    }
    std::vector<std::string> reports;
    if (args.count("reports") != 0) {
        reports = args["reports"].as<std::vector<std::string>>();
    }
    if (reports.size() != 2) {
        std::cerr << "tlslab diff: needs two reports, the old and the new (got " << reports.size()
                  << ")\nusage: tlslab diff OLD/report.json NEW/report.json [--html FILE] "
                     "[--json] [--map OLD=NEW ...]\n";
        return kUsage;
    }

    report::DiffOptions diff_options;
    diff_options.old_label = reports[0];
    diff_options.new_label = reports[1];
    if (args.count("map") != 0) {
        for (const auto& m : args["map"].as<std::vector<std::string>>()) {
            auto eq = m.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
                std::cerr << "tlslab diff: --map " << m
                          << ": expected OLDDRIVER=NEWDRIVER (e.g. tedious14=tedious19)\n";
                return kUsage;
            }
            std::string from = m.substr(0, eq);
            if (diff_options.driver_map.contains(from)) {
                std::cerr << "tlslab diff: --map " << m << ": " << from << " is already mapped to "
                          << diff_options.driver_map[from] << "\n";
                return kUsage;
            }
            diff_options.driver_map[from] = m.substr(eq + 1);
        }
    }

    auto old_report = read_report_file(reports[0]);
    if (!old_report) {
        std::cerr << "tlslab diff: " << old_report.error() << "\n";
        return kUsage;
    }
    auto new_report = read_report_file(reports[1]);
    if (!new_report) {
        std::cerr << "tlslab diff: " << new_report.error() << "\n";
        return kUsage;
    }
    auto diff = report::diff_reports(*old_report, *new_report, diff_options);
    if (!diff) {
        std::cerr << "tlslab diff: " << diff.error() << "\n";
        return kUsage;
    }

    if (args.count("html") != 0) {
        auto path = args["html"].as<std::string>();
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << report::render_diff_html(*diff);
        out.close();
        if (!out) {
            std::cerr << "tlslab diff: --html " << path << ": cannot write it ("
                      << std::strerror(errno) << ")\n";
            return kUsage;
        }
    }
    if (args.count("json") != 0) {
        std::cout << diff->document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
    } else {
        std::cout << report::render_diff_text(*diff, colour_stdout());
    }
    std::cout.flush();
    return diff->worse ? kSomeWorse : kNoneWorse;
}

} // namespace proxy::app
