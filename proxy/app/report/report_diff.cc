#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <proxy/app/report/error_text.h>
#include <proxy/app/report/report_diff.h>
#include <proxy/app/report/verdict.h>

namespace proxy::app::report {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Verdicts as a comparison sees them.

// verdict_rank: the verdict's place in the order worse < better. A plaintext login is the worst
// (anyone on the path reads it), then a broken certificate accepted (an active attacker reads
// it), then a good certificate refused (no login, but nothing exposed), then the two correct
// verdicts. not-judged has no rank: its transitions are neutral. The order is the comparison's
// (which change is a regression), not a property of a single verdict, so it lives here.
std::optional<int> verdict_rank(Verdict v) {
    switch (v) {
    case Verdict::Downgraded:
        return 0;
    case Verdict::AcceptedBroken:
        return 1;
    case Verdict::RefusedGood:
        return 2;
    case Verdict::AcceptedCorrectly:
    case Verdict::RefusedCorrectly:
        return 3;
    case Verdict::NotJudged:
        return std::nullopt;
    }
    return std::nullopt;
}

// logged_in: the driver got in (over TLS or not).
bool logged_in(Verdict v) {
    switch (v) {
    case Verdict::AcceptedCorrectly:
    case Verdict::AcceptedBroken:
    case Verdict::Downgraded:
        return true;
    case Verdict::RefusedCorrectly:
    case Verdict::RefusedGood:
    case Verdict::NotJudged:
        return false;
    }
    return false;
}

// passed_json: the report's "passed" for a verdict (true, false, or null for not-judged).
json passed_json(Verdict v) {
    std::optional<bool> p = passed(v);
    return p ? json(*p) : json(nullptr);
}

// verdict_names: "accepted-correctly, refused-correctly, ..." for messages.
std::string verdict_names() {
    std::string out;
    for (Verdict v : kAllVerdicts) {
        out += (out.empty() ? "" : ", ") + to_string(v);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Reading a report: only what the comparison needs, every access checked.

const json* member(const json& object, const char* key) {
    if (!object.is_object()) {
        return nullptr;
    }
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::string string_member(const json& object, const char* key) {
    const json* v = member(object, key);
    return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// An error code is a string or a number in the schema; both compare as text.
std::string code_member(const json& object, const char* key) {
    const json* v = member(object, key);
    if (v == nullptr || v->is_null()) {
        return {};
    }
    if (v->is_string()) {
        return v->get<std::string>();
    }
    if (v->is_number()) {
        return v->dump();
    }
    return {};
}

struct CellView {
    std::string id;
    std::string protocol;
    std::string driver;
    std::string config;
    std::string scenario;
    std::string expected;
    Verdict verdict = Verdict::NotJudged;
    json passed;
    std::string label;
    std::string error;
    std::string error_code;
    std::string version;
};

struct DriverInfo {
    std::string protocol;
    std::string name;
    std::string version;
    std::string client;
};

struct ReportView {
    std::string label;
    json context; // the run's context as the document shows it
    std::vector<DriverInfo> drivers;
    std::vector<CellView> cells;
};

using CellKey = std::array<std::string, 4>; // protocol, driver, config, scenario

std::string quoted(const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::expected<CellView, std::string> read_cell(const json& cell, std::size_t index) {
    std::string where = "cells[" + std::to_string(index) + "]";
    if (!cell.is_object()) {
        return std::unexpected(where + " is not an object");
    }
    CellView c;
    for (auto [key, out] : {std::pair<const char*, std::string*>{"protocol", &c.protocol},
                            {"driver", &c.driver},
                            {"config", &c.config},
                            {"scenario", &c.scenario}}) {
        const json* v = member(cell, key);
        if (v == nullptr || !v->is_string()) {
            return std::unexpected(where + " has no \"" + key + "\" string");
        }
        *out = v->get<std::string>();
    }
    const json* verdict = member(cell, "verdict");
    if (verdict == nullptr || !verdict->is_string()) {
        return std::unexpected(where + " has no \"verdict\" string");
    }
    auto v = verdict_from_string(verdict->get_ref<const std::string&>());
    if (!v) {
        return std::unexpected(where + ": \"verdict\" is " + quoted(verdict->get<std::string>()) +
                               ", not one of " + verdict_names());
    }
    c.verdict = *v;
    c.id = string_member(cell, "id");
    if (c.id.empty()) {
        c.id = c.protocol + "/" + c.driver + "/" + c.config + "/" + c.scenario;
    }
    c.expected = string_member(cell, "expected");
    const json* passed = member(cell, "passed");
    c.passed = passed != nullptr && (passed->is_boolean() || passed->is_null()) ? *passed
                                                                                : passed_json(*v);
    c.label = string_member(cell, "label");
    if (const json* dr = member(cell, "driver_result"); dr != nullptr && dr->is_object()) {
        c.error = string_member(*dr, "error");
        c.error_code = code_member(*dr, "error_code");
        c.version = string_member(*dr, "version");
    }
    return c;
}

std::expected<ReportView, std::string> read_report(const json& report, const std::string& label) {
    auto fail = [&](const std::string& what) {
        return std::unexpected(label + ": " + what);
    };
    if (!report.is_object()) {
        return fail("not a tlslab matrix report (the document is not a JSON object)");
    }
    const json* format = member(report, "format");
    if (format == nullptr) {
        return fail("not a tlslab matrix report (no \"format\" field)");
    }
    if (!format->is_string() || format->get<std::string>() != "tlslab-matrix-report") {
        return fail("not a tlslab matrix report (\"format\" is " +
                    format->dump(-1, ' ', false, json::error_handler_t::replace) +
                    ", expected \"tlslab-matrix-report\")");
    }
    const json* version = member(report, "version");
    if (version == nullptr || !version->is_number_integer() || version->get<std::int64_t>() != 1) {
        return fail("report format version " +
                    (version == nullptr
                         ? std::string("missing")
                         : version->dump(-1, ' ', false, json::error_handler_t::replace)) +
                    ", this tlslab reads version 1");
    }
    const json* cells = member(report, "cells");
    if (cells == nullptr || !cells->is_array()) {
        return fail("the report has no \"cells\" array");
    }
    ReportView view;
    view.label = label;
    std::set<CellKey> seen;
    for (std::size_t i = 0; i < cells->size(); ++i) {
        auto cell = read_cell((*cells)[i], i);
        if (!cell) {
            return fail(cell.error());
        }
        CellKey key{cell->protocol, cell->driver, cell->config, cell->scenario};
        if (!seen.insert(key).second) {
            return fail("cells[" + std::to_string(i) + "] repeats the cell " + cell->id);
        }
        view.cells.push_back(std::move(*cell));
    }

    static const json kNoContext = json::object();
    const json* ctx = member(report, "context");
    const json& context = ctx != nullptr && ctx->is_object() ? *ctx : kNoContext;
    auto find_driver = [&view](const std::string& protocol, const std::string& name) {
        return std::find_if(view.drivers.begin(), view.drivers.end(), [&](const DriverInfo& d) {
            return d.protocol == protocol && d.name == name;
        });
    };
    if (const json* drivers = member(context, "drivers");
        drivers != nullptr && drivers->is_array()) {
        for (const auto& d : *drivers) {
            DriverInfo info{string_member(d, "protocol"), string_member(d, "name"),
                            string_member(d, "version"), string_member(d, "client")};
            if (info.name.empty() || find_driver(info.protocol, info.name) != view.drivers.end()) {
                continue;
            }
            view.drivers.push_back(std::move(info));
        }
    }
    // Drivers with cells but missing from the context still count; a version the context lacks
    // is the first one a cell reported.
    for (const auto& c : view.cells) {
        auto it = find_driver(c.protocol, c.driver);
        if (it == view.drivers.end()) {
            view.drivers.push_back(DriverInfo{c.protocol, c.driver, c.version, {}});
        } else if (it->version.empty()) {
            it->version = c.version;
        }
    }

    view.context = json::object();
    view.context["file"] = label;
    for (const char* key : {"tlslab_version", "started", "finished", "os", "host"}) {
        view.context[key] = member(context, key) != nullptr && member(context, key)->is_string()
                                ? json(string_member(context, key))
                                : json(nullptr);
    }
    view.context["drivers"] = json::array();
    for (const auto& d : view.drivers) {
        view.context["drivers"].push_back(
            {{"name", d.name},
             {"protocol", d.protocol},
             {"version", d.version.empty() ? json(nullptr) : json(d.version)},
             {"client", d.client.empty() ? json(nullptr) : json(d.client)}});
    }
    view.context["cells"] = view.cells.size();
    return view;
}

// ---------------------------------------------------------------------------------------------
// Pairing drivers.

struct DriverPair {
    std::string protocol;
    std::string old_name; // empty: only in the new run
    std::string new_name; // empty: only in the old run
    std::string how;      // "name", "map", "only-driver" or "unpaired"
};

std::string names_of(const std::vector<DriverInfo>& drivers, const std::string& protocol = {}) {
    std::string out;
    for (const auto& d : drivers) {
        if (!protocol.empty() && d.protocol != protocol) {
            continue;
        }
        out += (out.empty() ? "" : ", ") + d.name;
    }
    return out.empty() ? std::string("none") : out;
}

std::expected<std::vector<DriverPair>, std::string>
pair_drivers(const ReportView& old_run, const ReportView& new_run, const DiffOptions& options) {
    std::vector<DriverPair> pairs;
    std::set<std::pair<std::string, std::string>> old_taken;
    std::set<std::pair<std::string, std::string>> new_taken;
    auto has = [](const ReportView& run, const std::string& protocol, const std::string& name) {
        return std::any_of(run.drivers.begin(), run.drivers.end(), [&](const DriverInfo& d) {
            return d.protocol == protocol && d.name == name;
        });
    };
    auto take = [&](const std::string& protocol, const std::string& o, const std::string& n,
                    const char* how) {
        old_taken.insert({protocol, o});
        new_taken.insert({protocol, n});
        pairs.push_back(DriverPair{protocol, o, n, how});
    };

    for (const auto& [from, to] : options.driver_map) {
        std::string map = "--map " + from + "=" + to;
        bool found = false;
        for (const auto& d : old_run.drivers) {
            if (d.name != from) {
                continue;
            }
            found = true;
            if (!has(new_run, d.protocol, to)) {
                return std::unexpected(map + ": " + new_run.label + " has no " + d.protocol +
                                       " driver " + to +
                                       " (it has: " + names_of(new_run.drivers, d.protocol) + ")");
            }
            if (new_taken.contains({d.protocol, to})) {
                return std::unexpected(map + ": " + to + " is already paired");
            }
            take(d.protocol, from, to, "map");
        }
        if (!found) {
            return std::unexpected(map + ": " + old_run.label + " has no driver " + from +
                                   " (it has: " + names_of(old_run.drivers) + ")");
        }
    }
    for (const auto& d : old_run.drivers) {
        if (!old_taken.contains({d.protocol, d.name}) && has(new_run, d.protocol, d.name) &&
            !new_taken.contains({d.protocol, d.name})) {
            take(d.protocol, d.name, d.name, "name");
        }
    }
    // An upgrade run under another name: each run has one driver for the protocol.
    auto only_driver = [](const ReportView& run, const std::string& protocol) {
        const DriverInfo* found = nullptr;
        for (const auto& d : run.drivers) {
            if (d.protocol == protocol) {
                if (found != nullptr) {
                    return static_cast<const DriverInfo*>(nullptr);
                }
                found = &d;
            }
        }
        return found;
    };
    for (const auto& d : old_run.drivers) {
        if (old_taken.contains({d.protocol, d.name})) {
            continue;
        }
        const DriverInfo* o = only_driver(old_run, d.protocol);
        const DriverInfo* n = only_driver(new_run, d.protocol);
        if (o != nullptr && n != nullptr && !new_taken.contains({n->protocol, n->name})) {
            take(d.protocol, o->name, n->name, "only-driver");
        }
    }
    for (const auto& d : old_run.drivers) {
        if (!old_taken.contains({d.protocol, d.name})) {
            pairs.push_back(DriverPair{d.protocol, d.name, {}, "unpaired"});
        }
    }
    for (const auto& d : new_run.drivers) {
        if (!new_taken.contains({d.protocol, d.name})) {
            pairs.push_back(DriverPair{d.protocol, {}, d.name, "unpaired"});
        }
    }
    return pairs;
}

// ---------------------------------------------------------------------------------------------
// Classifying a cell's change.

struct Group {
    const char* id;
    const char* heading;
};

// The groups in the order the renderings show them.
constexpr std::array<Group, 10> kGroups{{
    {"now-refuses", "now refuses"},
    {"now-accepts", "now accepts"},
    {"now-plaintext", "now falls back to plaintext"},
    {"no-longer-plaintext", "no longer falls back to plaintext"},
    {"verdict-changed", "other verdict changes"},
    {"error-text", "same verdict, different error text"},
    {"now-judged", "now judged"},
    {"no-longer-judged", "no longer judged"},
    {"only-in-old", "only in old"},
    {"only-in-new", "only in new"},
}};

std::size_t group_index(std::string_view id) {
    for (std::size_t i = 0; i < kGroups.size(); ++i) {
        if (kGroups[i].id == id) {
            return i;
        }
    }
    return kGroups.size();
}

struct Change {
    std::string_view group; // empty: unchanged
    std::string_view direction = "neutral";
};

Change classify(const CellView& o, const CellView& n) {
    if (o.verdict == n.verdict) {
        if (o.label != n.label || o.error_code != n.error_code ||
            normalise_error_text(o.error) != normalise_error_text(n.error)) {
            return {"error-text", "neutral"};
        }
        return {};
    }
    std::string_view group;
    if (n.verdict == Verdict::NotJudged) {
        return {"no-longer-judged", "neutral"};
    }
    if (o.verdict == Verdict::NotJudged) {
        return {"now-judged", "neutral"};
    }
    if (n.verdict == Verdict::Downgraded) {
        group = "now-plaintext";
    } else if (o.verdict == Verdict::Downgraded) {
        group = "no-longer-plaintext";
    } else if (logged_in(o.verdict) && !logged_in(n.verdict)) {
        group = "now-refuses";
    } else if (!logged_in(o.verdict) && logged_in(n.verdict)) {
        group = "now-accepts";
    } else {
        group = "verdict-changed"; // the scenario's expectation changed between the runs
    }
    auto ro = verdict_rank(o.verdict);
    auto rn = verdict_rank(n.verdict);
    std::string_view direction = "neutral";
    if (ro && rn && *rn < *ro) {
        direction = "worse";
    } else if (ro && rn && *rn > *ro) {
        direction = "better";
    }
    return {group, direction};
}

json side_json(const CellView& c) {
    return {{"id", c.id},
            {"driver", c.driver},
            {"verdict", to_string(c.verdict)},
            {"passed", c.passed},
            {"expected", c.expected.empty() ? json(nullptr) : json(c.expected)},
            {"label", c.label},
            {"error", c.error.empty() ? json(nullptr) : json(c.error)},
            {"error_code", c.error_code.empty() ? json(nullptr) : json(c.error_code)},
            {"version", c.version.empty() ? json(nullptr) : json(c.version)}};
}

json row_json(const CellView* o, const CellView* n, std::string_view direction) {
    const CellView& any = n != nullptr ? *n : *o;
    return {{"id", any.id},
            {"protocol", any.protocol},
            {"scenario", any.scenario},
            {"config", any.config},
            {"driver", any.driver},
            {"direction", std::string(direction)},
            {"old", o != nullptr ? side_json(*o) : json(nullptr)},
            {"new", n != nullptr ? side_json(*n) : json(nullptr)}};
}

std::string plural(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string summary_line(const json& counts) {
    auto count = [&](const char* key) {
        const json* v = member(counts, key);
        return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : 0;
    };
    std::int64_t changed = count("worse") + count("better") + count("neutral") +
                           count("only_in_old") + count("only_in_new");
    if (changed == 0) {
        return "no cell changed (" + plural(count("compared"), "cell", "cells") + " compared)";
    }
    std::string out = plural(count("worse"), "cell", "cells") + " got worse, " +
                      std::to_string(count("better")) + " better, " +
                      std::to_string(count("error_text")) + " changed text";
    std::int64_t other = count("neutral") - count("error_text");
    if (other > 0) {
        out += ", " + std::to_string(other) + " other changes";
    }
    if (count("only_in_old") > 0) {
        out += ", " + std::to_string(count("only_in_old")) + " only in old";
    }
    if (count("only_in_new") > 0) {
        out += ", " + std::to_string(count("only_in_new")) + " only in new";
    }
    return out + " (" + plural(count("compared"), "cell", "cells") + " compared)";
}

} // namespace

std::expected<Diff, std::string> diff_reports(const json& old_report, const json& new_report,
                                              const DiffOptions& options) {
    auto old_run = read_report(old_report, options.old_label);
    if (!old_run) {
        return std::unexpected(old_run.error());
    }
    auto new_run = read_report(new_report, options.new_label);
    if (!new_run) {
        return std::unexpected(new_run.error());
    }
    auto pairs = pair_drivers(*old_run, *new_run, options);
    if (!pairs) {
        return std::unexpected(pairs.error());
    }

    // The old run's drivers under their new names.
    std::map<std::pair<std::string, std::string>, std::string> renamed;
    for (const auto& p : *pairs) {
        if (!p.old_name.empty() && !p.new_name.empty()) {
            renamed[{p.protocol, p.old_name}] = p.new_name;
        }
    }
    std::map<CellKey, std::size_t> old_by_key;
    for (std::size_t i = 0; i < old_run->cells.size(); ++i) {
        const auto& c = old_run->cells[i];
        auto it = renamed.find({c.protocol, c.driver});
        if (it != renamed.end()) {
            old_by_key[{c.protocol, it->second, c.config, c.scenario}] = i;
        }
    }

    json groups = json::array();
    for (const auto& g : kGroups) {
        groups.push_back({{"id", g.id}, {"heading", g.heading}, {"cells", json::array()}});
    }
    std::int64_t compared = 0;
    std::int64_t unchanged = 0;
    std::map<std::string, std::int64_t> by_direction{{"worse", 0}, {"better", 0}, {"neutral", 0}};
    std::vector<bool> old_used(old_run->cells.size(), false);
    auto add = [&](std::string_view group, json row) {
        groups[group_index(group)]["cells"].push_back(std::move(row));
    };
    for (const auto& n : new_run->cells) {
        auto it = old_by_key.find({n.protocol, n.driver, n.config, n.scenario});
        if (it == old_by_key.end()) {
            add("only-in-new", row_json(nullptr, &n, "neutral"));
            continue;
        }
        old_used[it->second] = true;
        const CellView& o = old_run->cells[it->second];
        ++compared;
        Change change = classify(o, n);
        if (change.group.empty()) {
            ++unchanged;
            continue;
        }
        ++by_direction[std::string(change.direction)];
        add(change.group, row_json(&o, &n, change.direction));
    }
    for (std::size_t i = 0; i < old_run->cells.size(); ++i) {
        if (!old_used[i]) {
            add("only-in-old", row_json(&old_run->cells[i], nullptr, "neutral"));
        }
    }

    json pairing = json::array();
    auto version_of = [](const ReportView& run, const std::string& protocol,
                         const std::string& name) -> json {
        for (const auto& d : run.drivers) {
            if (d.protocol == protocol && d.name == name) {
                return json{{"version", d.version.empty() ? json(nullptr) : json(d.version)},
                            {"client", d.client.empty() ? json(nullptr) : json(d.client)}};
            }
        }
        return json{{"version", nullptr}, {"client", nullptr}};
    };
    for (const auto& p : *pairs) {
        json o = version_of(*old_run, p.protocol, p.old_name);
        json n = version_of(*new_run, p.protocol, p.new_name);
        pairing.push_back({{"protocol", p.protocol},
                           {"old", p.old_name.empty() ? json(nullptr) : json(p.old_name)},
                           {"new", p.new_name.empty() ? json(nullptr) : json(p.new_name)},
                           {"how", p.how},
                           {"old_version", o["version"]},
                           {"new_version", n["version"]},
                           {"old_client", o["client"]},
                           {"new_client", n["client"]}});
        if (p.how == "unpaired" && !p.old_name.empty()) {
            // The new run's unpaired drivers of the protocol: what --map could pair it with.
            json candidates = json::array();
            for (const auto& q : *pairs) {
                if (q.how == "unpaired" && q.old_name.empty() && q.protocol == p.protocol) {
                    candidates.push_back(q.new_name);
                }
            }
            pairing.back()["map_candidates"] = candidates;
        }
    }

    json counts = {{"compared", compared},
                   {"unchanged", unchanged},
                   {"worse", by_direction["worse"]},
                   {"better", by_direction["better"]},
                   {"neutral", by_direction["neutral"]}};
    for (const auto& g : groups) {
        std::string key = g["id"].get<std::string>();
        std::replace(key.begin(), key.end(), '-', '_');
        counts[key] = g["cells"].size();
    }

    Diff diff;
    diff.worse = by_direction["worse"] > 0;
    diff.document = {{"format", "tlslab-matrix-diff"},
                     {"version", 1},
                     {"old", old_run->context},
                     {"new", new_run->context},
                     {"pairing", pairing},
                     {"groups", groups},
                     {"counts", counts},
                     {"summary", summary_line(counts)},
                     {"worse", diff.worse}};
    return diff;
}

} // namespace proxy::app::report
