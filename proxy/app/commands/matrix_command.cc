// tlslab matrix: drivers x configurations x scenarios against a lab, and a report.
//
// The command line only: what to run (drivers by name from probes/drivers.json or as
// NAME=COMMAND, configurations, scenarios), against which lab (in-process, or a running one
// through --admin), and where the report goes. The run is MatrixRunner's; verdicts and the
// report's shape are proxy/app/report's.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <proxy/app/commands/matrix_command.h>
#include <proxy/app/commands/proxy_options.h>
#include <proxy/app/matrix/driver_registry.h>
#include <proxy/app/matrix/in_process_lab.h>
#include <proxy/app/matrix/lab_client.h>
#include <proxy/app/matrix/matrix_runner.h>
#include <proxy/app/report/limbo_export.h>
#include <proxy/app/report/report_html.h>
#include <proxy/app/report/report_json.h>

namespace proxy::app {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Against a running lab there is no event loop here to catch Ctrl-C: a flag the runner reads
// between cells (the drivers run in process groups of their own, so the terminal's SIGINT
// does not reach them; each ends within its time limit).
std::atomic<bool> interrupted{
    false}; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): set by the signal handler
extern "C" void on_interrupt(int /*signum*/) {
    interrupted.store(true);
}

std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ") {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::string os_description() {
    std::string pretty;
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
            pretty = line.substr(12);
            if (pretty.size() >= 2 && pretty.front() == '"' && pretty.back() == '"') {
                pretty = pretty.substr(1, pretty.size() - 2);
            }
        }
    }
    utsname u{};
    if (uname(&u) == 0) {
        pretty += (pretty.empty() ? "" : "; ") + std::string(u.sysname) + " " + u.release + " " +
                  u.machine;
    }
    return pretty;
}

std::string host_name() {
    char buf[256] = {};
    return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string();
}

bool write_file(const fs::path& path, const std::string& content, std::string& error) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
        error = "cannot write " + path.string();
        return false;
    }
    return true;
}

// The terminal: a progress bar on a TTY, a plain line per cell otherwise.
class Progress {
  public:
    explicit Progress(bool tty) : tty_(tty) {}
    void event(const matrix::CellEvent& e) {
        if (!e.sanity_note.empty()) {
            clear();
            std::cerr << "tlslab matrix: sanity check failed: " << e.sanity_note << "\n";
            return;
        }
        if (e.cell == nullptr) {
            return;
        }
        const auto& c = *e.cell;
        std::string line = c["driver"].get<std::string>() + " " + c["config"].get<std::string>() +
                           " " + c["scenario"].get<std::string>() + ": " +
                           c["verdict"].get<std::string>() + " (" + c["label"].get<std::string>() +
                           ")";
        if (!tty_) {
            std::printf("[%zu/%zu] %s %.1fs\n", e.done, e.total, line.c_str(),
                        static_cast<double>(c["elapsed_ms"].get<long>()) / 1000.0);
            std::fflush(stdout);
            return;
        }
        const int width = 30;
        int filled = e.total == 0 ? width : static_cast<int>(e.done * width / e.total);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        if (line.size() > 70) {
            line = line.substr(0, 67) + "...";
        }
        std::fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", bar.c_str(), e.done, e.total, line.c_str());
        std::fflush(stderr);
        shown_ = true;
    }
    void clear() {
        if (tty_ && shown_) {
            std::fprintf(stderr, "\r\033[K");
            shown_ = false;
        }
    }

  private:
    bool tty_;
    bool shown_ = false;
};

void print_summary(const json& report, const fs::path& out_dir) {
    const auto& s = report["summary"];
    const auto& v = s["verdicts"];
    std::printf("\ntlslab matrix: %d cells: %d passed (%d accepted correctly, %d refused "
                "correctly), %d accepted a broken server, %d refused a good one, %d downgraded to "
                "plaintext, %d not judged\n",
                s["cells"].get<int>(), s["passed"].get<int>(), v["accepted-correctly"].get<int>(),
                v["refused-correctly"].get<int>(), v["accepted-broken"].get<int>(),
                v["refused-good"].get<int>(), v["downgraded"].get<int>(),
                v["not-judged"].get<int>());
    // Per driver and configuration: one line, then the cells that went wrong.
    std::map<std::string, std::map<std::string, int>> rows;
    std::vector<std::string> order;
    for (const auto& c : report["cells"]) {
        std::string key = c["driver"].get<std::string>() + " / " + c["config"].get<std::string>();
        if (!rows.contains(key)) {
            order.push_back(key);
        }
        rows[key][c["verdict"].get<std::string>()]++;
    }
    if (!order.empty()) {
        std::printf("\n%-44s %6s %6s %6s %6s %6s\n", "DRIVER / CONFIG", "PASS", "BROKEN", "GOOD-X",
                    "CLEAR", "N/J");
    }
    for (const auto& key : order) {
        auto& r = rows[key];
        std::printf("%-44s %6d %6d %6d %6d %6d\n", key.c_str(),
                    r["accepted-correctly"] + r["refused-correctly"], r["accepted-broken"],
                    r["refused-good"], r["downgraded"], r["not-judged"]);
    }
    bool header = false;
    for (const auto& c : report["cells"]) {
        std::string verdict = c["verdict"].get<std::string>();
        if (verdict != "accepted-broken" && verdict != "refused-good" && verdict != "downgraded") {
            continue;
        }
        if (!header) {
            std::printf("\nCells that went wrong:\n");
            header = true;
        }
        std::string exposed;
        for (const auto& e : c["proxy"]["exposed"]) {
            exposed += (exposed.empty() ? "" : "; ") + e.get<std::string>();
        }
        std::printf("  %-15s %s/%s/%s: %s%s%s\n", verdict.c_str(),
                    c["driver"].get<std::string>().c_str(), c["config"].get<std::string>().c_str(),
                    c["scenario"].get<std::string>().c_str(), c["label"].get<std::string>().c_str(),
                    exposed.empty() ? "" : "; exposed: ", exposed.c_str());
    }
    std::printf("\nreport: %s (JSON), %s (HTML), %s (x509-limbo results)\n",
                (out_dir / "report.json").c_str(), (out_dir / "report.html").c_str(),
                (out_dir / "limbo").c_str());
}

void list_drivers(const matrix::DriverRegistry& registry) {
    std::printf("Drivers shipped with tlslab (%s/drivers.json):\n\n",
                registry.probes_dir().c_str());
    std::printf("%-20s %-9s %-40s %s\n", "NAME", "PROTOCOL", "CONFIGS (sanity first)", "CLIENT");
    for (const auto& d : registry.drivers()) {
        std::string configs = d.sanity_config;
        for (const auto& c : d.configs) {
            if (c.name != d.sanity_config) {
                configs += "," + c.name;
            }
        }
        std::printf("%-20s %-9s %-40s %s\n", d.name.c_str(), d.protocol.c_str(), configs.c_str(),
                    d.client.c_str());
    }
}

} // namespace

int run_matrix_command(const CommandLine& cl) {
    cxxopts::Options options(
        "tlslab matrix",
        "Run drivers against every scenario of the catalogue, in every configuration, and write "
        "DIR/report.json, DIR/report.html and DIR/limbo/*.json. A driver is a name from "
        "probes/drivers.json (--list-drivers) or NAME=COMMAND: a command template with {host} "
        "{port} {ca} {protocol} {scenario} that prints the probes' JSON line, or just exits 0 when "
        "it got in (probes/README.md). Each driver's `valid` cell in its sanity configuration "
        "runs first; a driver that fails it is not run further.");
    // clang-format off
    options.add_options()
        ("driver", "NAME (shipped probe) or NAME=COMMAND; repeat for several",
         cxxopts::value<std::vector<std::string>>())
        ("protocol", "tds, postgres or mysql: the protocol of NAME=COMMAND drivers; with shipped "
                     "drivers only, keeps those of this protocol", cxxopts::value<std::string>())
        ("scenarios", "Comma-separated scenario names, or all", cxxopts::value<std::string>()->default_value("all"))
        ("config", "NAME=ARGS: a named set of options appended to every driver's command; NAME: "
                   "that configuration of the shipped drivers. Repeat for several; the first is "
                   "a NAME=COMMAND driver's sanity configuration. Default: every configuration "
                   "of a shipped driver; none (the command as given) for your own",
         cxxopts::value<std::vector<std::string>>())
        ("out", "Directory for the report (default tlslab-matrix-YYYYmmdd-HHMMSS)", cxxopts::value<std::string>())
        ("jobs", "Cells run in parallel (on different listeners)", cxxopts::value<unsigned>()->default_value("2"))
        ("timeout", "Seconds a driver may take per cell before it is stopped", cxxopts::value<unsigned>()->default_value("60"))
        ("admin", "HOST:PORT of a running lab's admin API (tlslab lab --admin ...); default: start the lab in-process",
         cxxopts::value<std::string>())
        ("admin-token", "Bearer token for --admin (default $TLSLAB_ADMIN_TOKEN)", cxxopts::value<std::string>())
        ("ca", "The CA file drivers get as {ca} (default: the lab's CA, as the lab reports it)",
         cxxopts::value<std::string>())
        ("host", "The name drivers dial as {host}", cxxopts::value<std::string>()->default_value("localhost"))
        ("probes", "The probes folder (default: beside the binary, or $TLSLAB_PROBES)", cxxopts::value<std::string>())
        ("mysql-flavour", "In-process lab: the MySQL stand-in, mysql or mariadb", cxxopts::value<std::string>()->default_value("mysql"))
        ("list-drivers", "List the shipped drivers and their configurations, and exit")
        ("lab-log", "Show the in-process lab's session log lines");
    // clang-format on
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    auto probes = matrix::find_probes_dir(
        args.count("probes") != 0 ? std::optional(args["probes"].as<std::string>()) : std::nullopt);
    std::optional<matrix::DriverRegistry> registry;
    std::string registry_error = "no probes folder found (give --probes DIR or $TLSLAB_PROBES)";
    if (probes) {
        auto r = matrix::DriverRegistry::load(*probes);
        if (r) {
            registry = std::move(*r);
        } else {
            registry_error = r.error();
        }
    }
    if (args.count("list-drivers") != 0) {
        if (!registry) {
            std::cerr << "tlslab matrix: " << registry_error << "\n";
            return 2;
        }
        list_drivers(*registry);
        return 0;
    }
    if (args.count("driver") == 0) {
        std::cerr << "tlslab matrix: give at least one --driver (NAME or NAME=COMMAND; "
                     "--list-drivers shows the shipped ones)\n";
        return 2;
    }
    std::optional<std::string> protocol;
    if (args.count("protocol") != 0) {
        protocol = args["protocol"].as<std::string>();
        if (*protocol == "postgresql") {
            protocol = "postgres";
        }
        if (*protocol == "mariadb") {
            protocol = "mysql";
        }
        if (*protocol != "tds" && *protocol != "postgres" && *protocol != "mysql") {
            std::cerr << "tlslab matrix: --protocol must be tds, postgres or mysql\n";
            return 2;
        }
    }
    std::vector<matrix::ConfigOption> config_options;
    if (args.count("config") != 0) {
        for (const auto& c : args["config"].as<std::vector<std::string>>()) {
            auto o = matrix::parse_config_option(c);
            if (!o) {
                std::cerr << "tlslab matrix: " << o.error() << "\n";
                return 2;
            }
            config_options.push_back(*o);
        }
    }
    // The drivers and their configurations.
    std::vector<matrix::MatrixDriver> drivers;
    std::set<std::string> names;
    for (const auto& text : args["driver"].as<std::vector<std::string>>()) {
        auto o = matrix::parse_driver_option(text);
        if (!o) {
            std::cerr << "tlslab matrix: " << o.error() << "\n";
            return 2;
        }
        if (!names.insert(o->name).second) {
            std::cerr << "tlslab matrix: driver " << o->name << " given twice\n";
            return 2;
        }
        matrix::MatrixDriver d;
        if (o->command) {
            if (!protocol) {
                std::cerr << "tlslab matrix: --driver " << o->name
                          << "=COMMAND needs --protocol (tds, postgres or mysql)\n";
                return 2;
            }
            d.spec.name = o->name;
            d.spec.protocol = *protocol;
            d.spec.command = *o->command;
            d.spec.builtin = false;
            for (const auto& c : config_options) {
                if (!c.args) {
                    std::cerr << "tlslab matrix: --config " << c.name << ": driver " << o->name
                              << " is your own, so its configurations need ARGS (NAME=ARGS)\n";
                    return 2;
                }
                d.configs.push_back({c.name, *c.args, ""});
            }
            if (d.configs.empty()) {
                d.configs.push_back({"as-given", "", "the command as given"});
            }
            d.spec.configs = d.configs;
            d.sanity_config = d.configs.front().name;
            d.spec.sanity_config = d.sanity_config;
        } else {
            if (!registry) {
                std::cerr << "tlslab matrix: --driver " << o->name << ": " << registry_error
                          << "\n";
                return 2;
            }
            const auto* spec = registry->find(o->name);
            if (spec == nullptr) {
                std::cerr << "tlslab matrix: no shipped driver '" << o->name
                          << "' (tlslab matrix --list-drivers; or give NAME=COMMAND)\n";
                return 2;
            }
            if (protocol && spec->protocol != *protocol) {
                continue; // --protocol keeps the shipped drivers of that protocol
            }
            d.spec = *spec;
            d.sanity_config = spec->sanity_config;
            if (config_options.empty()) {
                d.configs = spec->configs;
            }
            for (const auto& c : config_options) {
                if (c.args) {
                    d.configs.push_back({c.name, *c.args, ""});
                    continue;
                }
                for (const auto& known : spec->configs) {
                    if (known.name == c.name) {
                        d.configs.push_back(known);
                    }
                }
            }
            if (d.configs.empty()) {
                std::cerr << "tlslab matrix: driver " << o->name
                          << " has none of the configurations asked for (it has:";
                for (const auto& known : spec->configs) {
                    std::cerr << " " << known.name;
                }
                std::cerr << ")\n";
                return 2;
            }
        }
        drivers.push_back(std::move(d));
    }
    if (drivers.empty()) {
        std::cerr << "tlslab matrix: no driver of protocol " << protocol.value_or("?") << "\n";
        return 2;
    }
    std::vector<std::string> scenarios;
    if (auto list = args["scenarios"].as<std::string>(); list != "all") {
        std::stringstream ss(list);
        std::string name;
        while (std::getline(ss, name, ',')) {
            if (!name.empty()) {
                scenarios.push_back(name);
            }
        }
    }
    fs::path out_dir = args.count("out") != 0
                           ? fs::path(args["out"].as<std::string>())
                           : fs::path("tlslab-matrix-" + utc_now("%Y%m%d-%H%M%S"));
    std::error_code ec;
    fs::create_directories(out_dir / "limbo", ec);
    if (ec) {
        std::cerr << "tlslab matrix: cannot create " << out_dir << ": " << ec.message() << "\n";
        return 2;
    }
    if (args.count("lab-log") == 0) {
        spdlog::set_level(spdlog::level::err);
    }
    std::string started = utc_now();

    // The lab: a running one, or our own.
    std::unique_ptr<matrix::InProcessLab> own_lab;
    std::string admin_address;
    std::string token;
    std::optional<std::string> mysql_flavour;
    if (args.count("admin") != 0) {
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        admin_address = args["admin"].as<std::string>();
        const char* env_token = std::getenv("TLSLAB_ADMIN_TOKEN");
        token = args.count("admin-token") != 0 ? args["admin-token"].as<std::string>()
                : env_token != nullptr         ? env_token
                                               : "";
    } else {
        LabPlanOptions plan;
        std::set<std::string> protocols;
        for (const auto& d : drivers) {
            protocols.insert(d.spec.protocol);
        }
        for (const auto& p : protocols) {
            plan.protocols.push_back(p == "tds"        ? scenarios::Protocol::Tds
                                     : p == "postgres" ? scenarios::Protocol::Postgres
                                                       : scenarios::Protocol::Mysql);
        }
        plan.only = scenarios;
        auto flavour = standin::mysql::flavour_from_name(args["mysql-flavour"].as<std::string>());
        if (!flavour) {
            std::cerr << "tlslab matrix: --mysql-flavour must be mysql or mariadb\n";
            return 2;
        }
        plan.mysql_flavour = *flavour;
        if (protocols.contains("mysql")) {
            mysql_flavour = args["mysql-flavour"].as<std::string>();
        }
        LabOptions lab_options;
        lab_options.state_dir = cl.global.state_dir;
        std::fprintf(stderr, "tlslab matrix: starting the lab...\n");
        auto lab = matrix::InProcessLab::start(lab_options, plan, OutputOptions{});
        if (!lab) {
            std::cerr << "tlslab matrix: the lab did not start: " << lab.error() << "\n";
            return 1;
        }
        own_lab = std::move(*lab);
        admin_address = own_lab->admin_address();
    }
    auto client = matrix::LabClient::connect(admin_address, token);
    if (!client) {
        std::cerr << "tlslab matrix: " << client.error() << "\n";
        return 2;
    }
    auto info = (*client)->lab_info();
    if (!info) {
        std::cerr << "tlslab matrix: " << info.error() << "\n";
        return 1;
    }
    // {ca}: the lab's CA, written into the report folder (so a remote lab's CA works too).
    fs::path ca_path;
    std::string error;
    if (args.count("ca") != 0) {
        ca_path = fs::absolute(args["ca"].as<std::string>());
    } else {
        ca_path = fs::absolute(out_dir / "lab-ca.pem");
        if (!write_file(ca_path, (*info)["ca_pem"].get<std::string>(), error)) {
            std::cerr << "tlslab matrix: " << error << "\n";
            return 1;
        }
    }
    matrix::MatrixPlan plan;
    plan.drivers = drivers;
    plan.scenarios = scenarios;
    plan.jobs = std::max(1U, args["jobs"].as<unsigned>());
    plan.cell_timeout = std::chrono::seconds(std::max(1U, args["timeout"].as<unsigned>()));
    plan.host = args["host"].as<std::string>();
    plan.ca = ca_path;
    plan.probes = probes.value_or(fs::path("probes"));
    Progress progress(isatty(STDERR_FILENO) == 1 && isatty(STDOUT_FILENO) == 1);
    matrix::MatrixRunner runner(
        **client, plan, [&](const matrix::CellEvent& e) { progress.event(e); },
        [&] { return interrupted.load() || (own_lab && own_lab->stopped()); });
    auto result = runner.run();
    progress.clear();
    if (own_lab) {
        own_lab->stop();
    }
    if (!result) {
        std::cerr << "tlslab matrix: " << result.error() << "\n";
        return 1;
    }
    // The report.
    json driver_list = json::array();
    json config_list = json::array();
    for (const auto& d : drivers) {
        auto version = result->versions.find(d.spec.name);
        driver_list.push_back(
            {{"name", d.spec.name},
             {"protocol", d.spec.protocol},
             {"command", d.spec.command},
             {"builtin", d.spec.builtin},
             {"client", d.spec.client.empty() ? json(nullptr) : json(d.spec.client)},
             {"version",
              version == result->versions.end() ? json(nullptr) : json(version->second)}});
        for (const auto& c : d.configs) {
            config_list.push_back(
                {{"driver", d.spec.name},
                 {"name", c.name},
                 {"args", c.args},
                 {"description", c.description.empty() ? json(nullptr) : json(c.description)}});
        }
    }
    json command_line = json::array({"tlslab", "matrix"});
    for (std::size_t i = 1; i < cl.args.size(); ++i) {
        command_line.push_back(cl.args[i]);
    }
    json context = {{"tlslab_version", TLSLAB_VERSION},
                    {"openssl", OpenSSL_version(OPENSSL_VERSION)},
                    {"os", os_description()},
                    {"host", host_name()},
                    {"started", started},
                    {"finished", utc_now()},
                    {"command_line", command_line},
                    {"jobs", plan.jobs},
                    {"lab",
                     {{"mode", own_lab ? "in-process" : "admin"},
                      {"admin", own_lab ? json(nullptr) : json(admin_address)},
                      {"ca", ca_path.string()},
                      {"host", plan.host},
                      {"mysql_flavour", mysql_flavour ? json(*mysql_flavour) : json(nullptr)}}},
                    {"sanity", result->sanity},
                    {"drivers", driver_list},
                    {"configs", config_list},
                    {"catalogue", result->catalogue}};
    json report = report::make_report(std::move(context), std::move(result->cells));
    if (!write_file(out_dir / "report.json", report.dump(2) + "\n", error) ||
        !write_file(out_dir / "report.html", report::render_report_html(report), error)) {
        std::cerr << "tlslab matrix: " << error << "\n";
        return 1;
    }
    for (const auto& [stem, doc] : report::limbo_results(report)) {
        if (!write_file(out_dir / "limbo" / (stem + ".json"), doc.dump(2) + "\n", error)) {
            std::cerr << "tlslab matrix: " << error << "\n";
            return 1;
        }
    }
    print_summary(report, out_dir);
    if (result->interrupted) {
        std::cerr << "tlslab matrix: interrupted; the report holds the cells that ran\n";
        return 130;
    }
    if (result->sanity_failed) {
        std::cerr << "tlslab matrix: a sanity check failed (above); those drivers were not run "
                     "further\n";
        return 3;
    }
    return 0;
}

} // namespace proxy::app
