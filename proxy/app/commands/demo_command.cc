// tlslab demo trust-server-certificate: the classroom case for why TrustServerCertificate=True
// is dangerous. One real driver connects twice through a proxy that shows a broken certificate,
// as an attacker on the path would: once trusting any certificate, once validating. The two
// runs are printed side by side: what the client said, and what the proxy read.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <proxy/app/commands/demo_command.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/child_process.h>
#include <proxy/net/event_loop.h>

namespace proxy::app {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kLabelWidth = 18;
constexpr std::size_t kColumnWidth = 40;
constexpr std::uint64_t kRecordWaitMs = 3000;
constexpr std::uint64_t kPollMs = 50;

struct DriverDemo {
    std::string encrypt;    // the probe's --encrypt value meaning "encrypt, validate"
    std::string trust_name; // how the driver spells the switch
};

std::optional<DriverDemo> demo_for(const std::string& driver) {
    if (driver == "odbc") {
        return DriverDemo{"yes", "TrustServerCertificate=yes"};
    }
    if (driver == "tedious") {
        return DriverDemo{"true", "trustServerCertificate: true"};
    }
    if (driver == "jdbc") {
        return DriverDemo{"true", "trustServerCertificate=true"};
    }
    if (driver == "go") {
        return DriverDemo{"true", "TrustServerCertificate=true"};
    }
    return std::nullopt;
}

fs::path default_probes_dir() {
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("probes") : exe.parent_path().parent_path() / "probes";
}

// One run: what the driver printed and what the proxy recorded.
struct Run {
    std::string label;
    nlohmann::json probe;
    std::shared_ptr<const SessionRecord> record;
    std::vector<std::shared_ptr<const MessageRecord>> messages;
};

std::vector<std::string> wrap(const std::string& raw, std::size_t width) {
    std::string text = raw;
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::vector<std::string> lines;
    std::string line;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(' ', pos);
        std::string word =
            text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? text.size() : end + 1;
        while (word.size() > width) {
            if (!line.empty()) {
                lines.push_back(line);
                line.clear();
            }
            lines.push_back(word.substr(0, width));
            word = word.substr(width);
        }
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            lines.push_back(line);
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty() || lines.empty()) {
        lines.push_back(line);
    }
    return lines;
}

void row(const std::string& label, const std::string& a, const std::string& b) {
    auto la = wrap(a, kColumnWidth);
    auto lb = wrap(b, kColumnWidth);
    for (std::size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
        std::printf("%-*s %-*s  %s\n", static_cast<int>(kLabelWidth), i == 0 ? label.c_str() : "",
                    static_cast<int>(kColumnWidth), i < la.size() ? la[i].c_str() : "",
                    i < lb.size() ? lb[i].c_str() : "");
    }
}

std::string client_said(const nlohmann::json& p) {
    if (p.is_null()) {
        return "(the probe printed nothing)";
    }
    if (p.value("connected", false)) {
        std::string value =
            p.contains("value") && !p["value"].is_null() ? p["value"].dump() : "null";
        return "connected; SELECT 1 returned " + value;
    }
    return "refused: " + p.value("error", std::string("?"));
}

std::string proxy_read(const Run& r, const std::string& what) {
    if (!r.record) {
        return "nothing";
    }
    const auto& login = r.record->login;
    if (!login) {
        return "nothing";
    }
    const auto& l = *login;
    if (what == "user") {
        return l.user_name;
    }
    if (what == "password") {
        return l.password ? *l.password : std::to_string(l.password_length) + " characters";
    }
    // The first query the application sent: drivers open with their own SET batches.
    for (const auto& m : r.messages) {
        if (!m->from_client || (m->kind != "sql_batch" && m->kind != "rpc")) {
            continue;
        }
        std::string text = m->text;
        std::replace(text.begin(), text.end(), '\n', ' ');
        std::replace(text.begin(), text.end(), '\r', ' ');
        auto first = text.find_first_not_of(' ');
        std::string head = first == std::string::npos ? "" : text.substr(first, 4);
        std::transform(head.begin(), head.end(), head.begin(), ::tolower);
        if (head != "set ") {
            return text;
        }
    }
    return "nothing";
}

// DemoRunner drives the two runs on the event loop: spawn the probe, wait for its session's
// record (the session ends just after the driver exits), then the next run; then stop the lab.
class DemoRunner {
  public:
    DemoRunner(net::EventLoop& loop, net::SessionRegistry& registry, LabState& state,
               ProxyEndpoint& endpoint, ServeEndpoint& serve, std::string probe, DriverDemo demo,
               unsigned timeout)
        : loop_(loop), registry_(registry), state_(state), endpoint_(endpoint), serve_(serve),
          probe_(std::move(probe)), demo_(std::move(demo)), timeout_(timeout) {
        runs_ = {{demo_.trust_name, {}, {}, {}}, {"validation on (the default)", {}, {}, {}}};
        uv_timer_init(loop_.get(), &poll_);
        poll_.data = this;
    }

    void start() { start_run(); }

    void finish() {
        if (finished_) {
            return;
        }
        finished_ = true;
        child_.reset(); // a probe still running (the demo was stopped) is killed
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        endpoint_.close();
        serve_.close();
        registry_.close_all("demo over");
        loop_.stop_watching_signals();
    }

    const std::vector<Run>& runs() const { return runs_; }
    const std::string& failure() const { return failure_; }

  private:
    void start_run() {
        if (current_ == runs_.size()) {
            finish();
            return;
        }
        records_before_ = state_.recent().size();
        std::vector<std::string> argv = {probe_,
                                         "--host",
                                         "localhost",
                                         "--port",
                                         std::to_string(endpoint_.bound_port()),
                                         "--encrypt",
                                         demo_.encrypt,
                                         "--timeout",
                                         std::to_string(timeout_)};
        if (current_ == 0) {
            argv.emplace_back("--trust-server-certificate");
        }
        // The probe's standard error passes through to ours; it stays in our process group,
        // so a Ctrl-C at the terminal reaches it too.
        net::ChildOptions options;
        options.argv = std::move(argv);
        child_ = std::make_unique<net::ChildProcess>(
            loop_.get(), std::move(options),
            [this](const net::ChildResult& result) { on_probe_done(result.out); });
        if (auto started = child_->start(); !started) {
            failure_ = started.error();
            finish();
        }
    }

    void on_probe_done(const std::string& out) {
        auto parsed = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
        runs_[current_].probe = parsed.is_discarded() ? nlohmann::json(nullptr) : parsed;
        waited_ = 0;
        uv_timer_start(&poll_, on_poll, kPollMs, kPollMs);
    }

    static void on_poll(uv_timer_t* t) {
        auto* self = static_cast<DemoRunner*>(t->data);
        self->waited_ += kPollMs;
        bool arrived = self->state_.recent().size() > self->records_before_;
        if (!arrived && self->waited_ < kRecordWaitMs) {
            return;
        }
        uv_timer_stop(t);
        if (arrived) {
            auto& run = self->runs_[self->current_];
            run.record = self->state_.recent().back();
            run.messages = self->state_.messages_of(run.record->id);
        }
        ++self->current_;
        self->start_run();
    }

    net::EventLoop& loop_;
    net::SessionRegistry& registry_;
    LabState& state_;
    ProxyEndpoint& endpoint_;
    ServeEndpoint& serve_;
    std::string probe_;
    DriverDemo demo_;
    unsigned timeout_;
    std::vector<Run> runs_;
    std::size_t current_ = 0;
    std::size_t records_before_ = 0;
    std::uint64_t waited_ = 0;
    uv_timer_t poll_{};
    std::unique_ptr<net::ChildProcess> child_;
    std::string failure_;
    bool finished_ = false;
};

} // namespace

int run_demo_command(const CommandLine& cl) {
    cxxopts::Options options("tlslab demo",
                             "tlslab demo trust-server-certificate: one real driver, twice, "
                             "through a proxy that shows a "
                             "broken certificate: with trust-server-certificate on, then off.");
    // clang-format off
    options.add_options()
        ("driver", "odbc, tedious, jdbc or go", cxxopts::value<std::string>()->default_value("odbc"))
        ("scenario", "The broken certificate to show", cxxopts::value<std::string>()->default_value("self-signed"))
        ("probes", "Directory of the driver probes (default: probes beside the build)",
         cxxopts::value<std::string>())
        ("timeout", "Seconds each driver run may take", cxxopts::value<unsigned>()->default_value("10"))
        ("topic", "The demo", cxxopts::value<std::string>());
    // clang-format on
    options.parse_positional({"topic"});
    options.positional_help("trust-server-certificate");
    add_global_options(options);
    auto args = parse_command(options, cl.args);
    if (args.count("help") != 0) {
        std::cout << options.help() << "\n";
        return 0;
    }
    if (args.count("topic") == 0 || args["topic"].as<std::string>() != "trust-server-certificate") {
        std::cerr << "tlslab demo: the demo is `tlslab demo trust-server-certificate`\n";
        return 2;
    }
    std::string driver = args["driver"].as<std::string>();
    auto demo = demo_for(driver);
    if (!demo) {
        std::cerr << "tlslab demo: --driver must be odbc, tedious, jdbc or go\n";
        return 2;
    }
    fs::path probes = args.count("probes") != 0 ? fs::path(args["probes"].as<std::string>())
                                                : default_probes_dir();
    fs::path probe = probes / driver / "probe";
    if (::access(probe.c_str(), X_OK) != 0) {
        std::cerr
            << "tlslab demo: no driver probe at " << probe.string()
            << " (the demo runs a real driver: `scripts/setup` installs them, or give --probes)\n";
        return 1;
    }
    LabOptions lab_options;
    lab_options.state_dir = cl.global.state_dir;
    auto lab = Lab::prepare(lab_options);
    if (!lab) {
        std::cerr << "tlslab demo: " << lab.error() << "\n";
        return 1;
    }
    auto scenario = (*lab)->runtime(args["scenario"].as<std::string>());
    if (!scenario) {
        std::cerr << "tlslab demo: --scenario " << scenario.error() << "\n";
        return 2;
    }
    auto outputs = LabOutputs::in_memory(true, true);
    auto upstream_tls = make_upstream_tls({(*lab)->ca().cert()});
    if (!upstream_tls) {
        std::cerr << "tlslab demo: " << upstream_tls.error() << "\n";
        return 1;
    }

    net::EventLoop loop;
    net::SessionRegistry registry;
    LabState state(**lab, registry, *outputs);
    auto serve = ServeEndpoint::create(loop.get(), registry, (*lab)->ca(), (*lab)->identity(), {});
    if (!serve) {
        std::cerr << "tlslab demo: " << serve.error() << "\n";
        return 1;
    }
    if (auto ok = (*serve)->listen({"127.0.0.1", 0}); !ok) {
        std::cerr << "tlslab demo: " << ok.error() << "\n";
        (*serve)->close();
        loop.drain();
        return 1;
    }
    ProxyEndpoint::Config config;
    config.id = "demo";
    config.listen = {"127.0.0.1", 0};
    config.upstream = *net::resolve({"127.0.0.1", (*serve)->bound_port()});
    config.upstream_name = "localhost";
    config.upstream_tls = &*upstream_tls;
    config.outputs = outputs.get();
    config.state = &state;
    ProxyEndpoint endpoint(loop.get(), registry, config, *scenario);
    if (auto ok = endpoint.listen(); !ok) {
        std::cerr << "tlslab demo: " << ok.error() << "\n";
        endpoint.close();
        (*serve)->close();
        loop.drain();
        return 1;
    }
    state.add_endpoint(&endpoint);

    DemoRunner runner(loop, registry, state, endpoint, **serve, probe.string(), *demo,
                      args["timeout"].as<unsigned>());
    runner.start();
    loop.run([&] { runner.finish(); });
    if (!runner.failure().empty()) {
        std::cerr << "tlslab demo: " << runner.failure() << "\n";
        return 1;
    }
    const auto& runs = runner.runs();

    const auto& s = (*scenario)->scenario;
    std::string version = runs[0].probe.is_object() ? runs[0].probe.value("version", "") : "";
    std::printf("\ntlslab demo: why %s is dangerous\n", demo->trust_name.c_str());
    std::printf(
        "Driver: %s %s. The proxy in the path shows a broken certificate (scenario '%s': %s),\n"
        "as an attacker between the application and SQL Server would.\n\n",
        driver.c_str(), version.c_str(), s.name.c_str(), s.description.c_str());
    row("", runs[0].label, runs[1].label);
    row("", std::string(kColumnWidth, '-'), std::string(kColumnWidth, '-'));
    row("the client said", client_said(runs[0].probe), client_said(runs[1].probe));
    row("", "", "");
    row("the proxy read:", "", "");
    for (const auto* what : {"user", "password", "first query"}) {
        row(std::string("  ") + what, proxy_read(runs[0], what), proxy_read(runs[1], what));
    }
    row("  outcome",
        runs[0].record ? std::string(to_string(runs[0].record->outcome)) : "no session",
        runs[1].record ? std::string(to_string(runs[1].record->outcome)) : "no session");
    std::printf(
        "\nWith %s the driver encrypted its login to whoever answered: the proxy decrypted it "
        "and read the password.\nWith validation on, the driver refused the certificate and "
        "sent nothing. Fix the certificate,\nor trust its CA explicitly; never trust every "
        "certificate.\n\n",
        demo->trust_name.c_str());
    bool as_expected = runs[0].record && runs[0].record->login && runs[1].probe.is_object() &&
                       !runs[1].probe.value("connected", true);
    return as_expected ? 0 : 3;
}

} // namespace proxy::app
