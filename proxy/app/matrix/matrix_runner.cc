#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

#include <proxy/app/explain/knowledge_base.h>
#include <proxy/app/matrix/cell_dial.h>
#include <proxy/app/matrix/child_process.h>
#include <proxy/app/matrix/command_template.h>
#include <proxy/app/matrix/matrix_runner.h>
#include <proxy/app/report/verdict.h>

namespace proxy::app::matrix {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string text(const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
}

std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

struct Listener {
    std::string id;
    std::uint16_t port = 0;
};

struct Cell {
    const MatrixDriver* driver = nullptr;
    const DriverConfig* config = nullptr;
    std::string scenario;
    bool expect_accept = true;
    const json* scenario_json = nullptr; // dial, dial_host, resolve (null: dial the lab's name)
    Listener listener;
    bool sanity = false;
};

// Runs one cell, holding its listener; returns the report cell.
class CellRun {
  public:
    CellRun(LabClient& lab, const MatrixPlan& plan, const DialEnvironment& dial_env,
            std::mutex& lab_mutex)
        : lab_(lab), plan_(plan), dial_env_(dial_env), lab_mutex_(lab_mutex) {}

    json run(const Cell& c, std::uint64_t& last_record) {
        json out;
        std::string started = utc_now();
        DialPlan dial =
            plan_dial(c.scenario_json != nullptr ? *c.scenario_json : json::object(), dial_env_);
        std::map<std::string, std::string> values = {
            {"host", dial.host},       {"port", std::to_string(c.listener.port)},
            {"ca", plan_.ca.string()}, {"protocol", c.driver->spec.protocol},
            {"scenario", c.scenario},  {"probes", plan_.probes.string()}};
        std::string tmpl = c.driver->spec.command;
        if (!c.config->args.empty()) {
            tmpl += " " + c.config->args;
        }
        auto command = expand_template(tmpl, values);
        // Wait for the listener to be quiet (a previous cell's session still closing).
        settle(c.listener, last_record, nullptr);
        report::DriverResult driver;
        std::chrono::milliseconds elapsed{0};
        std::string hosts_error;
        std::optional<PrivateHostsFile> hosts =
            dial.private_hosts.empty() ? std::nullopt
                                       : PrivateHostsFile::create(dial.private_hosts, hosts_error);
        if (dial.not_judged) {
            driver.not_judged = *dial.not_judged;
        } else if (!command) {
            driver.not_judged = "bad command: " + command.error();
        } else if (!dial.private_hosts.empty() && !hosts) {
            driver.not_judged = hosts_error;
        } else {
            // the names the scenario dials, in a private /etc/hosts of the driver's own
            auto r = run_command(hosts ? with_private_hosts(*command, hosts->path()) : *command,
                                 plan_.cell_timeout);
            elapsed = r.elapsed;
            if (r.spawn_error) {
                driver.not_judged = "could not start: " + *r.spawn_error;
            } else {
                driver = report::read_driver_output(r.out, r.err, r.exit_status, r.timed_out);
            }
        }
        json records = json::array();
        settle(c.listener, last_record, &records);
        bool broken = !c.expect_accept;
        auto facts = report::read_proxy_facts(records, broken);
        std::optional<std::string> family;
        json explained = json::array();
        if (driver.error && driver.connected == std::optional<bool>(false)) {
            auto matches = explain::KnowledgeBase::builtin().match(*driver.error);
            for (std::size_t i = 0; i < matches.size() && i < 3; ++i) {
                explained.push_back(
                    {{"id", matches[i].entry->id}, {"family", matches[i].entry->family}});
            }
            if (!matches.empty()) {
                family = matches.front().entry->family;
            }
        }
        auto judgement = report::judge(c.expect_accept, driver, facts, family);
        auto passed = report::passed(judgement.verdict);
        out = {{"id", c.driver->spec.protocol + "/" + c.driver->spec.name + "/" + c.config->name +
                          "/" + c.scenario},
               {"protocol", c.driver->spec.protocol},
               {"scenario", c.scenario},
               {"driver", c.driver->spec.name},
               {"config", c.config->name},
               {"command", command ? *command : tmpl},
               {"expected", c.expect_accept ? "accept" : "reject"},
               {"verdict", report::to_string(judgement.verdict)},
               {"passed", passed ? json(*passed) : json(nullptr)},
               {"label", judgement.label},
               {"started", started},
               {"elapsed_ms", elapsed.count()},
               {"driver_result", report::to_json(driver)},
               {"proxy", report::to_json(facts, records)},
               {"explained", explained}};
        if (!dial.private_hosts.empty()) {
            out["private_hosts"] = dial.private_hosts;
        }
        return out;
    }

  private:
    // settle: wait (bounded) until the listener has no live session; with `records`, collect
    // every record newer than last_record. last_record moves to the newest seen.
    void settle(const Listener& l, std::uint64_t& last_record, json* records) {
        auto until = std::chrono::steady_clock::now() + 5s;
        while (true) {
            std::expected<ListenerSessions, std::string> s;
            {
                std::lock_guard lock(lab_mutex_); // one HTTP client, shared
                s = lab_.sessions_of(l.id, last_record);
            }
            if (s) {
                for (const auto& r : s->records) {
                    if (r.contains("id") && r["id"].is_number_unsigned()) {
                        last_record = std::max(last_record, r["id"].get<std::uint64_t>());
                    }
                    if (records != nullptr) {
                        records->push_back(r);
                    }
                }
                if (s->live == 0) {
                    return;
                }
            }
            if (std::chrono::steady_clock::now() >= until) {
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
    }

    LabClient& lab_;
    const MatrixPlan& plan_;
    const DialEnvironment& dial_env_;
    std::mutex& lab_mutex_;
};

// The sanity case asks one thing: did the driver get in to the known-good server? (A driver that
// gets in without TLS passes it: its cells then show the downgrade.)
bool sanity_passed(const json& cell) {
    const json& d = cell.contains("driver_result") ? cell["driver_result"] : json::object();
    return d.contains("connected") && d["connected"].is_boolean() && d["connected"].get<bool>();
}

} // namespace

std::string sanity_advice(const json& cell, const DriverSpec& driver, const std::string& probes) {
    const json& d = cell.contains("driver_result") ? cell["driver_result"] : json::object();
    std::string error = text(d, "error");
    std::string label = text(cell, "label");
    std::string verdict = text(cell, "verdict");
    std::string lead = driver.name + " did not log in to the lab's known-good scenario `valid` (" +
                       text(cell, "config") + "): ";
    if (verdict == "not-judged") {
        std::string why = label;
        if (label == "not installed" && !driver.install.empty()) {
            auto cmd = expand_template(driver.install, {{"probes", probes}});
            why += ": run " + (cmd ? *cmd : driver.install);
        }
        return lead + why + (error.empty() ? "" : " (" + error + ")");
    }
    if (label == "cert-untrusted" || label == "cert-self-signed" || label == "incomplete-chain") {
        return lead +
               "the driver does not trust the lab CA: pass {ca} to it the driver's own way (a CA "
               "file option, a trust store made from it, or SSL_CERT_FILE) in the command or "
               "the configuration, or use a configuration that does. Its error: " +
               error;
    }
    if (label == "name-mismatch") {
        return lead +
               "the driver checks a name the lab's certificate lacks: dial {host} (the lab's "
               "certificates name localhost, the machine's names and 127.0.0.1), or give the lab "
               "more names with --hostname. Its error: " +
               error;
    }
    if (verdict == "refused-good") {
        return lead + "its error: " + (error.empty() ? label : error) +
               " -- check that the command dials {host} {port} and passes {ca}";
    }
    return lead + label;
}

MatrixRunner::MatrixRunner(LabClient& lab, MatrixPlan plan,
                           std::function<void(const CellEvent&)> progress,
                           std::function<bool()> should_stop)
    : lab_(lab), plan_(std::move(plan)), progress_(std::move(progress)),
      should_stop_(std::move(should_stop)) {}

std::expected<MatrixResult, std::string> MatrixRunner::run() {
    MatrixResult result;
    auto listeners = lab_.listeners();
    if (!listeners) {
        return std::unexpected(listeners.error());
    }
    auto scenarios = lab_.scenarios();
    if (!scenarios) {
        return std::unexpected(scenarios.error());
    }
    // protocol -> scenario -> listener
    std::map<std::string, std::map<std::string, Listener>> by_protocol;
    for (const auto& l : *listeners) {
        std::string protocol = text(l, "protocol");
        if (l.contains("port") && l["port"].is_number_unsigned()) {
            by_protocol[protocol][text(l, "scenario")] = {text(l, "id"),
                                                          l["port"].get<std::uint16_t>()};
        }
    }
    std::set<std::string> protocols;
    for (const auto& d : plan_.drivers) {
        protocols.insert(d.spec.protocol);
        if (!by_protocol.contains(d.spec.protocol)) {
            return std::unexpected("the lab serves no " + d.spec.protocol + " listeners (driver " +
                                   d.spec.name + ")");
        }
    }
    std::set<std::string> wanted(plan_.scenarios.begin(), plan_.scenarios.end());
    std::set<std::string> known;
    for (const auto& s : *scenarios) {
        known.insert(text(s, "name"));
    }
    for (const auto& w : wanted) {
        if (!known.contains(w)) {
            std::string list;
            for (const auto& k : known) {
                list += (list.empty() ? "" : ", ") + k;
            }
            return std::unexpected("no scenario '" + w + "' in the lab's catalogue (" + list + ")");
        }
    }
    // The run's catalogue: scenarios served for at least one of the drivers' protocols.
    std::map<std::string, const json*> scenario_by_name;
    for (const auto& s : *scenarios) {
        std::string name = text(s, "name");
        if (!wanted.empty() && !wanted.contains(name)) {
            continue;
        }
        bool served = false;
        for (const auto& p : protocols) {
            served = served || by_protocol[p].contains(name);
        }
        if (served) {
            result.catalogue.push_back(s);
            scenario_by_name[name] = &result.catalogue.back();
        }
    }
    // The cells, in report order: driver, configuration, scenario.
    std::vector<Cell> cells;
    for (const auto& d : plan_.drivers) {
        for (const auto& cfg : d.configs) {
            for (const auto& s : result.catalogue) {
                std::string name = text(s, "name");
                auto it = by_protocol[d.spec.protocol].find(name);
                if (it == by_protocol[d.spec.protocol].end()) {
                    continue;
                }
                Cell c;
                c.driver = &d;
                c.config = &cfg;
                c.scenario = name;
                c.expect_accept = text(s, "expect") != "reject";
                c.scenario_json = &s;
                c.listener = it->second;
                cells.push_back(c);
            }
        }
    }
    // Each name a scenario needs resolved, looked up once (getaddrinfo may ask DNS).
    std::map<std::string, bool> reaches_lab;
    for (const auto& s : result.catalogue) {
        if (s.contains("resolve") && s["resolve"].is_array()) {
            for (const auto& n : s["resolve"]) {
                if (n.is_string() && !reaches_lab.contains(n.get<std::string>())) {
                    reaches_lab[n.get<std::string>()] = resolves_to_loopback(n.get<std::string>());
                }
            }
        }
    }
    DialEnvironment dial_env;
    dial_env.lab_host = plan_.host;
    dial_env.lab_ip = plan_.ip;
    dial_env.root = ::geteuid() == 0;
    dial_env.resolves_to_lab = [&reaches_lab](const std::string& name) {
        auto it = reaches_lab.find(name);
        return it != reaches_lab.end() && it->second;
    };
    std::vector<json> done(cells.size());
    std::vector<bool> finished(cells.size(), false);
    std::mutex mutex; // the queue, listener locks, results
    std::mutex lab_mutex;
    std::condition_variable changed;
    std::set<std::string> busy;
    std::map<std::string, std::uint64_t> last_record;
    std::set<std::string> failed_drivers;
    std::size_t completed = 0;
    std::size_t total = cells.size();

    // One cell, run by a worker holding its listener.
    auto execute = [&](std::size_t index) {
        const Cell& c = cells[index];
        std::uint64_t last = 0;
        {
            std::lock_guard lock(mutex);
            last = last_record[c.listener.id];
        }
        CellRun runner(lab_, plan_, dial_env, lab_mutex);
        json cell = runner.run(c, last);
        std::lock_guard lock(mutex);
        last_record[c.listener.id] = std::max(last_record[c.listener.id], last);
        busy.erase(c.listener.id);
        if (auto v = text(cell["driver_result"], "version"); !v.empty()) {
            result.versions.try_emplace(c.driver->spec.name, v);
        }
        done[index] = std::move(cell);
        finished[index] = true;
        ++completed;
        if (progress_) {
            progress_({completed, total, &done[index], {}});
        }
        changed.notify_all();
    };

    // Baseline: the newest record of every listener the run uses, so older sessions are not
    // taken for a cell's.
    for (const auto& c : cells) {
        if (last_record.contains(c.listener.id)) {
            continue;
        }
        auto s = lab_.sessions_of(c.listener.id, 0);
        if (!s) {
            return std::unexpected(s.error());
        }
        std::uint64_t newest = 0;
        for (const auto& r : s->records) {
            if (r.contains("id") && r["id"].is_number_unsigned()) {
                newest = std::max(newest, r["id"].get<std::uint64_t>());
            }
        }
        last_record[c.listener.id] = newest;
    }

    // Workers: take the first pending cell whose listener is free (sanity cells first, then the
    // rest once their driver passed).
    std::deque<std::size_t> pending;
    std::map<std::string, std::size_t> sanity_index;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto& c = cells[i];
        if (c.scenario == "valid" && c.config->name == c.driver->sanity_config) {
            sanity_index[c.driver->spec.name] = i;
        }
    }
    std::set<std::string> sanity_pending;
    for (const auto& [driver, index] : sanity_index) {
        pending.push_back(index);
        sanity_pending.insert(driver);
    }
    // A driver whose sanity cell is not in the run (no `valid` selected, or its sanity config
    // not run) is checked with an extra cell that is not reported.
    std::vector<DriverConfig> extra_configs;
    extra_configs.reserve(plan_.drivers.size());
    std::vector<Cell> extra_cells;
    for (const auto& d : plan_.drivers) {
        if (sanity_index.contains(d.spec.name)) {
            continue;
        }
        auto valid = by_protocol[d.spec.protocol].find("valid");
        if (valid == by_protocol[d.spec.protocol].end()) {
            result.sanity[d.spec.name] = {
                {"passed", false},
                {"config", d.sanity_config},
                {"detail", "the lab serves no `valid` scenario for " + d.spec.protocol}};
            continue;
        }
        const DriverConfig* cfg = nullptr;
        for (const auto& candidate : d.spec.configs) {
            if (candidate.name == d.sanity_config) {
                cfg = &candidate;
            }
        }
        for (const auto& candidate : d.configs) {
            if (candidate.name == d.sanity_config) {
                cfg = &candidate;
            }
        }
        if (cfg == nullptr) {
            continue;
        }
        Cell c;
        c.driver = &d;
        c.config = cfg;
        c.scenario = "valid";
        c.listener = valid->second;
        c.sanity = true;
        extra_cells.push_back(c);
    }
    for (const auto& c : extra_cells) {
        CellRun runner(lab_, plan_, dial_env, lab_mutex);
        std::uint64_t last = last_record[c.listener.id];
        if (progress_) {
            progress_({0, total, nullptr, {}});
        }
        json cell = runner.run(c, last);
        last_record[c.listener.id] = last;
        bool ok = sanity_passed(cell);
        result.sanity[c.driver->spec.name] = {{"passed", ok}, {"config", c.config->name}};
        if (!ok) {
            std::string why = sanity_advice(cell, c.driver->spec, plan_.probes.string());
            result.sanity[c.driver->spec.name]["detail"] = why;
            failed_drivers.insert(c.driver->spec.name);
            if (progress_) {
                progress_({0, total, nullptr, why});
            }
        }
    }
    bool sanity_phase = !sanity_pending.empty();
    auto release_after_sanity = [&] {
        // Called with the mutex held once every sanity cell finished: queue the rest.
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (finished[i] || std::find(pending.begin(), pending.end(), i) != pending.end()) {
                continue;
            }
            if (failed_drivers.contains(cells[i].driver->spec.name)) {
                continue;
            }
            pending.push_back(i);
        }
        sanity_phase = false;
    };
    {
        std::lock_guard lock(mutex);
        if (!sanity_phase) {
            release_after_sanity();
        }
    }
    auto worker = [&] {
        std::unique_lock lock(mutex);
        while (true) {
            if (should_stop_ && should_stop_()) {
                result.interrupted = true;
                changed.notify_all();
                return;
            }
            if (sanity_phase) {
                bool all_done = true;
                for (const auto& [driver, index] : sanity_index) {
                    all_done = all_done && finished[index];
                }
                if (all_done) {
                    for (const auto& [driver, index] : sanity_index) {
                        const json& cell = done[index];
                        bool ok = sanity_passed(cell);
                        result.sanity[driver] = {{"passed", ok}, {"config", text(cell, "config")}};
                        if (!ok) {
                            std::string why = sanity_advice(cell, cells[index].driver->spec,
                                                            plan_.probes.string());
                            result.sanity[driver]["detail"] = why;
                            failed_drivers.insert(driver);
                            if (progress_) {
                                progress_({completed, total, nullptr, why});
                            }
                        }
                    }
                    release_after_sanity();
                    changed.notify_all();
                }
            }
            auto it = std::find_if(pending.begin(), pending.end(), [&](std::size_t i) {
                return !busy.contains(cells[i].listener.id);
            });
            if (it == pending.end()) {
                if (pending.empty() && !sanity_phase) {
                    return;
                }
                changed.wait_for(lock, 200ms);
                continue;
            }
            std::size_t index = *it;
            pending.erase(it);
            busy.insert(cells[index].listener.id);
            lock.unlock();
            execute(index);
            lock.lock();
        }
    };
    unsigned jobs = std::max(1U, plan_.jobs);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < jobs; ++i) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (finished[i]) {
            result.cells.push_back(std::move(done[i]));
        }
    }
    result.sanity_failed = !failed_drivers.empty();
    for (const auto& [driver, s] : result.sanity.items()) {
        if (s.contains("passed") && s["passed"] == false) {
            result.sanity_failed = true;
        }
    }
    return result;
}

} // namespace proxy::app::matrix
