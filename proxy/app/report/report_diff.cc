#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <proxy/app/report/report_diff.h>

namespace proxy::app::report {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Reading a report: only what the comparison needs, every access checked.

enum class Verdict {
    AcceptedCorrectly,
    RefusedCorrectly,
    AcceptedBroken,
    RefusedGood,
    Downgraded,
    NotJudged,
};

constexpr std::array<std::pair<std::string_view, Verdict>, 6> kVerdictNames{{
    {"accepted-correctly", Verdict::AcceptedCorrectly},
    {"refused-correctly", Verdict::RefusedCorrectly},
    {"accepted-broken", Verdict::AcceptedBroken},
    {"refused-good", Verdict::RefusedGood},
    {"downgraded", Verdict::Downgraded},
    {"not-judged", Verdict::NotJudged},
}};

std::optional<Verdict> parse_verdict(std::string_view s) {
    for (const auto& [name, v] : kVerdictNames) {
        if (name == s) {
            return v;
        }
    }
    return std::nullopt;
}

// The verdict's place in the order worse < better: a plaintext login is the worst (anyone on
// the path reads it), then a broken certificate accepted (an active attacker reads it), then a
// good certificate refused (no login, but nothing exposed), then the two correct verdicts.
// not-judged has no rank: its transitions are neutral.
std::optional<int> rank(Verdict v) {
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

std::string_view verdict_name(Verdict v) {
    switch (v) {
    case Verdict::AcceptedCorrectly:
        return "accepted-correctly";
    case Verdict::RefusedCorrectly:
        return "refused-correctly";
    case Verdict::AcceptedBroken:
        return "accepted-broken";
    case Verdict::RefusedGood:
        return "refused-good";
    case Verdict::Downgraded:
        return "downgraded";
    case Verdict::NotJudged:
        return "not-judged";
    }
    return "not-judged";
}

json passed_of(Verdict v) {
    switch (v) {
    case Verdict::AcceptedCorrectly:
    case Verdict::RefusedCorrectly:
        return true;
    case Verdict::AcceptedBroken:
    case Verdict::RefusedGood:
    case Verdict::Downgraded:
        return false;
    case Verdict::NotJudged:
        return nullptr;
    }
    return nullptr;
}

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
    auto v = parse_verdict(verdict->get_ref<const std::string&>());
    if (!v) {
        return std::unexpected(where + ": \"verdict\" is " + quoted(verdict->get<std::string>()) +
                               ", not one of accepted-correctly, refused-correctly, "
                               "accepted-broken, refused-good, downgraded, not-judged");
    }
    c.verdict = *v;
    c.id = string_member(cell, "id");
    if (c.id.empty()) {
        c.id = c.protocol + "/" + c.driver + "/" + c.config + "/" + c.scenario;
    }
    c.expected = string_member(cell, "expected");
    const json* passed = member(cell, "passed");
    c.passed =
        passed != nullptr && (passed->is_boolean() || passed->is_null()) ? *passed : passed_of(*v);
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
    auto ro = rank(o.verdict);
    auto rn = rank(n.verdict);
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
            {"verdict", std::string(verdict_name(c.verdict))},
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

// ---------------------------------------------------------------------------------------------
// Normalising error text.

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
    return is_digit(c) || is_alpha(c);
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::size_t count_while(std::string_view s, std::size_t i, bool (*pred)(char)) {
    std::size_t n = 0;
    while (i + n < s.size() && pred(s[i + n])) {
        ++n;
    }
    return n;
}

// Digits exactly n long at i.
bool digits_at(std::string_view s, std::size_t i, std::size_t n) {
    return i + n <= s.size() && count_while(s, i, is_digit) >= n;
}

bool ends_word(std::string_view s, std::size_t i) {
    return i >= s.size() || !is_alnum(s[i]);
}

// uuid_length: 8-4-4-4-12 hex digits at i (JDBC's ClientConnectionId, trace ids), or 0.
std::size_t uuid_length(std::string_view s, std::size_t i) {
    std::size_t pos = i;
    constexpr std::array<std::size_t, 5> kParts{8, 4, 4, 4, 12};
    for (std::size_t p = 0; p < kParts.size(); ++p) {
        if (count_while(s, pos, is_hex) != kParts[p]) {
            return 0;
        }
        pos += kParts[p];
        if (p + 1 < kParts.size()) {
            if (pos >= s.size() || s[pos] != '-') {
                return 0;
            }
            ++pos;
        }
    }
    return ends_word(s, pos) ? pos - i : 0;
}

// time_length: HH:MM:SS with an optional fraction at i, or 0.
std::size_t time_length(std::string_view s, std::size_t i) {
    std::size_t h = count_while(s, i, is_digit);
    if (h < 1 || h > 2) {
        return 0;
    }
    std::size_t pos = i + h;
    for (int part = 0; part < 2; ++part) {
        if (pos >= s.size() || s[pos] != ':' || count_while(s, pos + 1, is_digit) != 2) {
            return 0;
        }
        pos += 3;
    }
    if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && is_digit(s[pos + 1])) {
        pos += 1 + count_while(s, pos + 1, is_digit);
    }
    return pos - i;
}

// datetime_length: YYYY-MM-DD, optionally followed by [T ]time and a zone, at i; or 0.
std::size_t datetime_length(std::string_view s, std::size_t i) {
    if (count_while(s, i, is_digit) != 4 || i + 10 > s.size() || s[i + 4] != '-' ||
        count_while(s, i + 5, is_digit) != 2 || s[i + 7] != '-' ||
        count_while(s, i + 8, is_digit) != 2) {
        return 0;
    }
    std::size_t pos = i + 10;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
        if (std::size_t t = time_length(s, pos + 1); t > 0) {
            pos += 1 + t;
            if (pos < s.size() && s[pos] == 'Z') {
                ++pos;
            } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') &&
                       digits_at(s, pos + 1, 2)) {
                pos += 3;
                if (pos < s.size() && s[pos] == ':' && digits_at(s, pos + 1, 2)) {
                    pos += 3;
                } else if (digits_at(s, pos, 2)) {
                    pos += 2;
                }
            }
        }
    }
    return ends_word(s, pos) ? pos - i : 0;
}

// duration_length: a number with a unit of time ("15000ms", "2.5 s", "30 seconds") at i, or 0.
std::size_t duration_length(std::string_view s, std::size_t i) {
    std::size_t pos = i + count_while(s, i, is_digit);
    if (pos == i) {
        return 0;
    }
    if (pos + 1 < s.size() && s[pos] == '.' && is_digit(s[pos + 1])) {
        pos += 1 + count_while(s, pos + 1, is_digit);
    }
    if (pos < s.size() && s[pos] == ' ') {
        ++pos;
    }
    std::size_t unit = count_while(s, pos, is_alpha);
    static constexpr std::array<std::string_view, 15> kUnits{
        "ns",  "us",   "ms",     "s",       "sec",         "secs",         "second", "seconds",
        "min", "mins", "minute", "minutes", "millisecond", "milliseconds", "msec"};
    std::string_view word = s.substr(pos, unit);
    if (unit == 0 || std::find(kUnits.begin(), kUnits.end(), word) == kUnits.end()) {
        return 0;
    }
    return pos + unit - i;
}

// temp_path_length: a path under a temporary directory at i, or 0.
std::size_t temp_path_length(std::string_view s, std::size_t i) {
    static constexpr std::array<std::string_view, 5> kRoots{"/tmp/", "/var/tmp/", "/var/folders/",
                                                            "/private/var/folders/", "/dev/shm/"};
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '/' || s[i - 1] == '.' || s[i - 1] == '_')) {
        return 0;
    }
    for (auto root : kRoots) {
        if (s.substr(i).starts_with(root)) {
            std::size_t pos = i;
            while (pos < s.size() && !is_space(s[pos]) &&
                   std::string_view("'\"()<>,;:[]{}").find(s[pos]) == std::string_view::npos) {
                ++pos;
            }
            return pos - i;
        }
    }
    return 0;
}

std::uint32_t port_number(std::string_view digits) {
    std::uint32_t v = 0;
    for (char d : digits.substr(0, 5)) {
        v = v * 10 + static_cast<std::uint32_t>(d - '0');
    }
    return v;
}

// The text before a number says what it is: "port 41234", "connection id 17", "pid=4242".
std::string_view keyword_before(const std::string& out) {
    std::size_t end = out.size();
    while (end > 0 && std::string_view(" :=#[(").find(out[end - 1]) != std::string_view::npos) {
        --end;
    }
    std::size_t start = end;
    while (start > 0 && is_alpha(out[start - 1])) {
        --start;
    }
    std::string word;
    for (std::size_t k = start; k < end; ++k) {
        word.push_back(lower(out[k]));
    }
    static constexpr std::array<std::string_view, 3> kPorts{"port", "lport", "rport"};
    static constexpr std::array<std::string_view, 9> kIds{
        "id", "pid", "spid", "tid", "connection", "conn", "thread", "session", "process"};
    for (auto k : kPorts) {
        if (word == k) {
            return "<port>";
        }
    }
    for (auto k : kIds) {
        if (word == k) {
            return "<id>";
        }
    }
    // camelCase ids: ClientConnectionId, connectionID.
    if (end - start > 2 && out[end - 2] == 'I' && lower(out[end - 1]) == 'd') {
        return "<id>";
    }
    return {};
}

} // namespace

std::string normalise_error_text(const std::string& text) {
    std::string_view s(text);
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (is_space(c)) {
            if (!out.empty() && out.back() != ' ') {
                out.push_back(' ');
            }
            ++i;
            continue;
        }
        if (c == '/') {
            if (std::size_t n = temp_path_length(s, i); n > 0) {
                out += "<tmp>";
                i += n;
                continue;
            }
        }
        bool word_start = i == 0 || (!is_alnum(s[i - 1]) && s[i - 1] != '_');
        if (!word_start || !is_hex(c)) {
            out.push_back(c);
            ++i;
            continue;
        }
        if (std::size_t n = uuid_length(s, i); n > 0) {
            out += "<id>";
            i += n;
            continue;
        }
        if (std::size_t n = datetime_length(s, i); n > 0) {
            out += "<time>";
            i += n;
            continue;
        }
        if (std::size_t n = time_length(s, i); n > 0 && ends_word(s, i + n)) {
            out += "<time>";
            i += n;
            continue;
        }
        if (c == '0' && i + 1 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
            // An address (0x7f3a9c0012d0) varies; a 32-bit code (0x80090325) does not.
            std::size_t n = count_while(s, i + 2, is_hex);
            if (n >= 9 && ends_word(s, i + 2 + n)) {
                out += "<addr>";
                i += 2 + n;
                continue;
            }
        }
        std::size_t hex = count_while(s, i, is_hex);
        std::size_t digits = count_while(s, i, is_digit);
        if (hex >= 16 && ends_word(s, i + hex)) {
            out += "<hex>";
            i += hex;
            continue;
        }
        if (digits == 0) {
            out.append(s.substr(i, hex));
            i += hex;
            continue;
        }
        if (std::size_t n = duration_length(s, i); n > 0 && ends_word(s, i + n)) {
            out += "<duration>";
            i += n;
            continue;
        }
        bool number_ends =
            ends_word(s, i + digits) &&
            !(i + digits + 1 < s.size() && s[i + digits] == '.' && is_digit(s[i + digits + 1]));
        // HOST:PORT ("127.0.0.1:41234", "[::1]:5432", "localhost:1433").
        if (number_ends && digits <= 5 && i >= 2 && s[i - 1] == ':' &&
            (is_alnum(s[i - 2]) || s[i - 2] == ']') && port_number(s.substr(i, digits)) <= 65535) {
            out += "<port>";
            i += digits;
            continue;
        }
        if (number_ends) {
            if (auto placeholder = keyword_before(out); !placeholder.empty()) {
                out += placeholder;
                i += digits;
                continue;
            }
        }
        out.append(s.substr(i, digits));
        i += digits;
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

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

// ---------------------------------------------------------------------------------------------
// Renderings: both read only the document.

namespace {

std::string doc_string(const json& object, const char* key) {
    return string_member(object, key);
}

const json& doc_array(const json& object, const char* key) {
    static const json kEmpty = json::array();
    const json* v = member(object, key);
    return v != nullptr && v->is_array() ? *v : kEmpty;
}

// One line of text from a driver's message: control characters (escape sequences included)
// become spaces; long texts are cut at a character boundary.
std::string one_line(const std::string& text, std::size_t limit) {
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    if (out.size() > limit) {
        std::size_t cut = limit;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0U) == 0x80U) {
            --cut;
        }
        out.resize(cut);
        out += "...";
    }
    return out;
}

std::string version_or_unknown(const json& pair, const char* key) {
    std::string v = doc_string(pair, key);
    return v.empty() ? std::string("(version unknown)") : v;
}

// client_stem: what the probe runs without its version ("tedious 19.2.2 (npm)" -> "tedious").
std::string client_stem(const std::string& client, const std::string& version) {
    if (client.empty() || version.empty()) {
        return client;
    }
    auto at = client.find(version);
    std::string stem = at == std::string::npos ? client : client.substr(0, at);
    while (!stem.empty() && (stem.back() == ' ' || stem.back() == '@' || stem.back() == '-')) {
        stem.pop_back();
    }
    return stem;
}

// name_stem: a driver name without its trailing version digits ("tedious14" -> "tedious").
std::string name_stem(std::string name) {
    while (!name.empty() && (is_digit(name.back()) || name.back() == '.' || name.back() == '-' ||
                             name.back() == '_')) {
        name.pop_back();
    }
    return name;
}

// common_name: one name for both drivers of a pair, or empty when they have none in common.
std::string common_name(const json& p, const std::string& o, const std::string& n) {
    if (o == n) {
        return o;
    }
    std::string oc = client_stem(doc_string(p, "old_client"), doc_string(p, "old_version"));
    std::string nc = client_stem(doc_string(p, "new_client"), doc_string(p, "new_version"));
    if (!oc.empty() && oc == nc) {
        return oc;
    }
    std::string os = name_stem(o);
    return !os.empty() && os == name_stem(n) ? os : std::string();
}

// The pairing as words: "tedious 14.7.0 -> 19.2.2" and how the drivers were paired.
struct PairWords {
    std::string protocol;
    std::string versions;
    std::string note;
};

PairWords pair_words(const json& p) {
    PairWords w;
    w.protocol = doc_string(p, "protocol");
    std::string o = doc_string(p, "old");
    std::string n = doc_string(p, "new");
    std::string how = doc_string(p, "how");
    if (o.empty() || n.empty()) {
        w.versions = (o.empty() ? n : o) + " " +
                     version_or_unknown(p, o.empty() ? "new_version" : "old_version");
        w.note = o.empty() ? "only in the new run" : "only in the old run";
        const json& candidates = doc_array(p, "map_candidates");
        if (candidates.size() == 1 && candidates[0].is_string()) {
            w.note += "; --map " + o + "=" + candidates[0].get<std::string>() + " compares it";
        } else if (!candidates.empty()) {
            std::string names;
            for (const auto& c : candidates) {
                if (c.is_string()) {
                    names += (names.empty() ? "" : ", ") + c.get<std::string>();
                }
            }
            w.note += "; --map " + o + "=NAME compares it with one of " + names;
        }
        return w;
    }
    std::string name = common_name(p, o, n);
    if (!name.empty()) {
        w.versions = name + " " + version_or_unknown(p, "old_version") + " -> " +
                     version_or_unknown(p, "new_version");
    } else {
        w.versions = o + " " + version_or_unknown(p, "old_version") + " -> " + n + " " +
                     version_or_unknown(p, "new_version");
    }
    std::string names = o == n ? std::string() : o + " -> " + n;
    std::string why;
    if (how == "map") {
        why = "paired by --map";
    } else if (how == "only-driver") {
        why = "paired as each run's only " + w.protocol + " driver";
    }
    w.note = names.empty() ? why : (why.empty() ? names : names + ", " + why);
    return w;
}

std::string side_words(const json& side) {
    std::string verdict = doc_string(side, "verdict");
    std::string label = doc_string(side, "label");
    return label.empty() ? verdict : verdict + " (" + one_line(label, 60) + ")";
}

std::string error_words(const json& side) {
    std::string code = doc_string(side, "error_code");
    std::string error = doc_string(side, "error");
    if (error.empty() && code.empty()) {
        return "(no error)";
    }
    return (code.empty() ? std::string() : "[" + code + "] ") + one_line(error, 240);
}

bool several_drivers(const json& document) {
    std::size_t n = 0;
    for (const auto& p : doc_array(document, "pairing")) {
        if (!doc_string(p, "old").empty() && !doc_string(p, "new").empty()) {
            ++n;
        }
    }
    return n > 1 || doc_array(document, "pairing").size() > n;
}

std::string pad(const std::string& s, std::size_t width) {
    return s.size() >= width ? s + "  " : s + std::string(width - s.size() + 2, ' ');
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

constexpr std::size_t kOnlyInListed = 20; // cells listed per only-in group in the text form

} // namespace

std::string render_diff_text(const Diff& diff, bool colour) {
    const json& doc = diff.document;
    auto paint = [colour](const std::string& s, const char* code) {
        return colour ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
    };
    std::string out;
    const json* old_ctx = member(doc, "old");
    const json* new_ctx = member(doc, "new");
    std::string old_file = old_ctx != nullptr ? doc_string(*old_ctx, "file") : std::string();
    std::string new_file = new_ctx != nullptr ? doc_string(*new_ctx, "file") : std::string();
    out += paint("tlslab diff: " + old_file + " -> " + new_file, "1") + "\n";
    std::size_t proto_width = 0;
    for (const auto& p : doc_array(doc, "pairing")) {
        proto_width = std::max(proto_width, doc_string(p, "protocol").size());
    }
    for (const auto& p : doc_array(doc, "pairing")) {
        PairWords w = pair_words(p);
        out += "  " + pad(w.protocol, proto_width) + w.versions +
               (w.note.empty() ? std::string() : "  (" + w.note + ")") + "\n";
    }
    for (auto [name, ctx] :
         {std::pair<const char*, const json*>{"old run", old_ctx}, {"new run", new_ctx}}) {
        if (ctx == nullptr) {
            continue;
        }
        std::string version = doc_string(*ctx, "tlslab_version");
        std::string started = doc_string(*ctx, "started");
        out += std::string("  ") + name + ": tlslab " + (version.empty() ? "?" : version) +
               (started.empty() ? std::string() : ", started " + started) + "\n";
    }

    bool show_driver = several_drivers(doc);
    for (const auto& g : doc_array(doc, "groups")) {
        const json& cells = doc_array(g, "cells");
        if (cells.empty()) {
            continue;
        }
        std::string id = doc_string(g, "id");
        bool only_in = id == "only-in-old" || id == "only-in-new";
        out += "\n" +
               paint(doc_string(g, "heading") + " (" + std::to_string(cells.size()) + ")", "1") +
               "\n";
        std::size_t scenario_width = 0;
        std::size_t config_width = 0;
        std::size_t driver_width = 0;
        for (const auto& c : cells) {
            scenario_width = std::max(scenario_width,
                                      std::min<std::size_t>(doc_string(c, "scenario").size(), 32));
            config_width =
                std::max(config_width, std::min<std::size_t>(doc_string(c, "config").size(), 32));
            driver_width = std::max(
                driver_width,
                std::min<std::size_t>(
                    (doc_string(c, "protocol") + "/" + doc_string(c, "driver")).size(), 32));
        }
        // A driver the other run lacks altogether is one line, not one per cell.
        std::map<std::string, std::size_t> whole_drivers;
        if (only_in) {
            for (const auto& p : doc_array(doc, "pairing")) {
                if (doc_string(p, "how") == "unpaired" &&
                    !doc_string(p, id == "only-in-old" ? "old" : "new").empty()) {
                    whole_drivers[doc_string(p, "protocol") + "/" +
                                  doc_string(p, id == "only-in-old" ? "old" : "new")] = 0;
                }
            }
            for (const auto& c : cells) {
                auto it =
                    whole_drivers.find(doc_string(c, "protocol") + "/" + doc_string(c, "driver"));
                if (it != whole_drivers.end()) {
                    ++it->second;
                }
            }
            for (const auto& [driver, n] : whole_drivers) {
                if (n > 0) {
                    out += "          " + pad(driver, driver_width) + plural(n, "cell", "cells") +
                           ": the driver is only in the " + (id == "only-in-old" ? "old" : "new") +
                           " run\n";
                }
            }
        }
        std::size_t individual = cells.size();
        for (const auto& entry : whole_drivers) {
            individual -= entry.second;
        }
        std::size_t listed = 0;
        for (const auto& c : cells) {
            if (whole_drivers.contains(doc_string(c, "protocol") + "/" + doc_string(c, "driver"))) {
                continue;
            }
            if (only_in && listed == kOnlyInListed) {
                out += "          ... and " + std::to_string(individual - listed) +
                       " more (--json lists them all)\n";
                break;
            }
            ++listed;
            std::string direction = doc_string(c, "direction");
            std::string marker = direction == "worse"    ? paint("worse ", "31;1")
                                 : direction == "better" ? paint("better", "32;1")
                                                         : std::string(6, ' ');
            std::string line = "  " + marker + "  ";
            if (show_driver) {
                line +=
                    pad(doc_string(c, "protocol") + "/" + doc_string(c, "driver"), driver_width);
            }
            line += pad(one_line(doc_string(c, "scenario"), 64), scenario_width) +
                    pad(one_line(doc_string(c, "config"), 64), config_width);
            const json* o = member(c, "old");
            const json* n = member(c, "new");
            bool has_old = o != nullptr && o->is_object();
            bool has_new = n != nullptr && n->is_object();
            if (has_old && has_new) {
                std::string ow = side_words(*o);
                std::string nw = side_words(*n);
                line += id == "error-text" && ow == nw ? nw : ow + " -> " + nw;
            } else if (has_old || has_new) {
                line += side_words(has_old ? *o : *n);
            }
            out += line + "\n";
            if (id == "error-text" && has_old && has_new) {
                out += "            old: " + error_words(*o) + "\n";
                out += "            new: " + error_words(*n) + "\n";
            }
        }
    }
    std::string summary = doc_string(doc, "summary");
    out += "\n" + (diff.worse ? paint(summary, "31;1") : paint(summary, "1")) + "\n";
    return out;
}

std::string render_diff_html(const Diff& diff) {
    const json& doc = diff.document;
    const json* old_ctx = member(doc, "old");
    const json* new_ctx = member(doc, "new");
    std::string old_file = old_ctx != nullptr ? doc_string(*old_ctx, "file") : std::string();
    std::string new_file = new_ctx != nullptr ? doc_string(*new_ctx, "file") : std::string();
    std::string title = "tlslab diff: " + old_file + " -> " + new_file;
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + html_escape(title) + "</title>\n";
    out += R"(<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.3em; }
h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.4em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.worse td { background: #fbd5d5; }
tr.better td { background: #d4f3d4; }
td.error { font-family: ui-monospace, monospace; font-size: 0.85em; max-width: 48em; }
p.summary { font-size: 1.1em; font-weight: bold; padding: 0.5em; }
p.summary.worse { background: #fbd5d5; }
p.summary.fine { background: #d4f3d4; }
.context td:first-child { font-weight: bold; }
</style>
</head>
<body>
)";
    out += "<h1>" + html_escape(title) + "</h1>\n";
    out += std::string("<p class=\"summary ") + (diff.worse ? "worse" : "fine") + "\">" +
           html_escape(doc_string(doc, "summary")) + "</p>\n";
    out += "<table class=\"context\">\n<tr><th>protocol</th><th>drivers</th><th>how "
           "paired</th></tr>\n";
    for (const auto& p : doc_array(doc, "pairing")) {
        PairWords w = pair_words(p);
        out += "<tr><td>" + html_escape(w.protocol) + "</td><td>" + html_escape(w.versions) +
               "</td><td>" + html_escape(w.note) + "</td></tr>\n";
    }
    out += "</table>\n<table class=\"context\">\n";
    for (auto [name, ctx] :
         {std::pair<const char*, const json*>{"old run", old_ctx}, {"new run", new_ctx}}) {
        if (ctx == nullptr) {
            continue;
        }
        out += std::string("<tr><td>") + name + "</td><td>" +
               html_escape(doc_string(*ctx, "file")) + "</td><td>tlslab " +
               html_escape(doc_string(*ctx, "tlslab_version")) + "</td><td>" +
               html_escape(doc_string(*ctx, "started")) + "</td><td>" +
               html_escape(doc_string(*ctx, "os")) + "</td></tr>\n";
    }
    out += "</table>\n";
    for (const auto& g : doc_array(doc, "groups")) {
        const json& cells = doc_array(g, "cells");
        if (cells.empty()) {
            continue;
        }
        out += "<h2 id=\"" + html_escape(doc_string(g, "id")) + "\">" +
               html_escape(doc_string(g, "heading")) + " (" + std::to_string(cells.size()) +
               ")</h2>\n<table>\n<tr><th></th><th>scenario</th><th>config</th><th>driver</th>"
               "<th>old</th><th>new</th><th>old error</th><th>new error</th></tr>\n";
        for (const auto& c : cells) {
            std::string direction = doc_string(c, "direction");
            const json* o = member(c, "old");
            const json* n = member(c, "new");
            bool has_old = o != nullptr && o->is_object();
            bool has_new = n != nullptr && n->is_object();
            std::string driver = doc_string(c, "protocol") + "/" + doc_string(c, "driver");
            if (has_old && doc_string(*o, "driver") != doc_string(c, "driver")) {
                driver = doc_string(c, "protocol") + "/" + doc_string(*o, "driver") + " -> " +
                         doc_string(c, "driver");
            }
            out +=
                "<tr class=\"" + html_escape(direction) + "\" title=\"" +
                html_escape(doc_string(c, "id")) + "\"><td>" +
                (direction == "neutral" ? std::string() : html_escape(direction)) + "</td><td>" +
                html_escape(doc_string(c, "scenario")) + "</td><td>" +
                html_escape(doc_string(c, "config")) + "</td><td>" + html_escape(driver) +
                "</td><td>" + (has_old ? html_escape(side_words(*o)) : "&mdash;") + "</td><td>" +
                (has_new ? html_escape(side_words(*n)) : "&mdash;") + "</td><td class=\"error\">" +
                (has_old ? html_escape(doc_string(*o, "error")) : std::string()) +
                "</td><td class=\"error\">" +
                (has_new ? html_escape(doc_string(*n, "error")) : std::string()) + "</td></tr>\n";
        }
        out += "</table>\n";
    }
    out += "</body>\n</html>\n";
    return out;
}

} // namespace proxy::app::report
