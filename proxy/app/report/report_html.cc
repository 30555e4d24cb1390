#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <proxy/app/report/html_text.h>
#include <proxy/app/report/report_html.h>

namespace proxy::app::report {

namespace {

using nlohmann::json;

// ---- the verdicts --------------------------------------------------------------------------

struct VerdictInfo {
    std::string_view name;
    std::string_view title;   // as the summary and the legend name it
    std::string_view meaning; // the legend's explanation
    bool correct;
};

constexpr std::array<VerdictInfo, 6> kVerdicts{{
    {"accepted-correctly", "accepted correctly", "logged in over TLS where the scenario expects it",
     true},
    {"refused-correctly", "refused correctly", "did not log in where the scenario expects refusal",
     true},
    {"accepted-broken", "accepted broken",
     "logged in over TLS through a certificate a validating client refuses", false},
    {"refused-good", "refused good", "did not log in where the scenario expects acceptance", false},
    {"downgraded", "downgraded", "logged in with the login in clear (plaintext fallback)", false},
    {"not-judged", "not judged", "the driver could not run this cell", false},
}};

const VerdictInfo* find_verdict(std::string_view name) {
    for (const VerdictInfo& v : kVerdicts) {
        if (v.name == name) {
            return &v;
        }
    }
    return nullptr;
}

// ---- reading the report defensively ---------------------------------------------------------

const json* member(const json& j, std::string_view key) {
    if (!j.is_object()) {
        return nullptr;
    }
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

// A scalar as display text: strings as they are, numbers and booleans as JSON writes them, null
// or a missing field as "". Objects and arrays as compact JSON.
std::string display(const json* j) {
    if (j == nullptr || j->is_null()) {
        return {};
    }
    if (j->is_string()) {
        return j->get_ref<const std::string&>();
    }
    return j->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_at(const json& j, std::string_view key) {
    return display(member(j, key));
}

const json& array_at(const json& j, std::string_view key) {
    static const json kEmpty = json::array();
    const json* a = member(j, key);
    return a != nullptr && a->is_array() ? *a : kEmpty;
}

const json& object_at(const json& j, std::string_view key) {
    static const json kEmpty = json::object();
    const json* o = member(j, key);
    return o != nullptr && o->is_object() ? *o : kEmpty;
}

// ---- escaping: html_text.h ----------------------------------------------------------------

// The report as JSON that can sit inside <script type="application/json">: '<', '>' and '&'
// (which JSON can only hold inside strings) become \u003c, \u003e, \u0026, so no "</script" or
// "<!--" can appear; U+2028 and U+2029 become \u2028 and \u2029. Invalid UTF-8 becomes U+FFFD.
std::string embeddable_json(const json& report) {
    const std::string dumped = report.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    out.reserve(dumped.size() + dumped.size() / 16);
    for (std::size_t i = 0; i < dumped.size(); ++i) {
        const char c = dumped[i];
        if (c == '<') {
            out += "\\u003c";
        } else if (c == '>') {
            out += "\\u003e";
        } else if (c == '&') {
            out += "\\u0026";
        } else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
                   (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9')) {
            out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// "2026-11-29T09:14:00Z" -> "2026-11-29 09:14:00 UTC"; anything else as it is.
std::string readable_time(std::string time) {
    if (time.size() >= 19 && time[10] == 'T') {
        time[10] = ' ';
    }
    if (!time.empty() && time.back() == 'Z') {
        time.pop_back();
        time += " UTC";
    }
    return time;
}

std::string protocol_title(std::string_view protocol) {
    if (protocol == "tds") {
        return "TDS \xC2\xB7 SQL Server";
    }
    if (protocol == "postgres") {
        return "PostgreSQL";
    }
    if (protocol == "mysql") {
        return "MySQL / MariaDB";
    }
    return protocol.empty() ? std::string("(no protocol)") : std::string(protocol);
}

int protocol_rank(std::string_view protocol) {
    if (protocol == "tds") {
        return 0;
    }
    if (protocol == "postgres") {
        return 1;
    }
    if (protocol == "mysql") {
        return 2;
    }
    return 3;
}

// ---- the page's model: which rows and columns each protocol's table has ------------------------

struct Column {
    std::string config;
    std::string description; // the configuration's description and arguments, for the tooltip
};

struct DriverColumns {
    std::string name;
    std::string version;
    std::string client;
    std::vector<Column> configs;
};

struct ProtocolTable {
    std::string protocol;
    std::vector<DriverColumns> drivers;
    std::vector<std::string> scenarios; // catalogue order, then scenarios only cells name
};

// (protocol, scenario, driver, config) -> indices into report["cells"], in report order.
using CellKey = std::tuple<std::string, std::string, std::string, std::string>;
using CellIndex = std::map<CellKey, std::vector<std::size_t>>;

CellKey key_of(const json& cell) {
    return {text_at(cell, "protocol"), text_at(cell, "scenario"), text_at(cell, "driver"),
            text_at(cell, "config")};
}

DriverColumns& driver_columns(ProtocolTable& table, const std::string& name) {
    for (DriverColumns& d : table.drivers) {
        if (d.name == name) {
            return d;
        }
    }
    return table.drivers.emplace_back(DriverColumns{name, {}, {}, {}});
}

void add_column(DriverColumns& driver, const std::string& config, std::string description) {
    for (const Column& c : driver.configs) {
        if (c.config == config) {
            return;
        }
    }
    driver.configs.push_back(Column{config, std::move(description)});
}

ProtocolTable& table_for(std::vector<ProtocolTable>& tables, const std::string& protocol) {
    for (ProtocolTable& t : tables) {
        if (t.protocol == protocol) {
            return t;
        }
    }
    return tables.emplace_back(ProtocolTable{protocol, {}, {}});
}

void add_scenario(ProtocolTable& table, const std::string& scenario) {
    if (std::find(table.scenarios.begin(), table.scenarios.end(), scenario) ==
        table.scenarios.end()) {
        table.scenarios.push_back(scenario);
    }
}

bool lists_protocol(const json& scenario, const std::string& protocol) {
    const json* protocols = member(scenario, "protocols");
    if (protocols == nullptr || !protocols->is_array()) {
        return true; // no list: the scenario applies to every protocol
    }
    return std::any_of(protocols->begin(), protocols->end(), [&](const json& p) {
        return p.is_string() && p.get_ref<const std::string&>() == protocol;
    });
}

std::vector<ProtocolTable> tables_of(const json& report) {
    const json& context = object_at(report, "context");
    const json& cells = array_at(report, "cells");
    std::vector<ProtocolTable> tables;

    // Columns: the context's drivers and configurations in their order, then any pair only a
    // cell names.
    for (const json& driver : array_at(context, "drivers")) {
        const std::string name = text_at(driver, "name");
        DriverColumns& columns =
            driver_columns(table_for(tables, text_at(driver, "protocol")), name);
        columns.version = text_at(driver, "version");
        columns.client = text_at(driver, "client");
    }
    for (const json& config : array_at(context, "configs")) {
        const std::string driver = text_at(config, "driver");
        std::string description = text_at(config, "description");
        const std::string args = text_at(config, "args");
        if (!args.empty()) {
            description += (description.empty() ? "" : "\n") + std::string("args: ") + args;
        }
        for (ProtocolTable& table : tables) {
            for (DriverColumns& d : table.drivers) {
                if (d.name == driver) {
                    add_column(d, text_at(config, "name"), description);
                }
            }
        }
    }
    for (const json& cell : cells) {
        ProtocolTable& table = table_for(tables, text_at(cell, "protocol"));
        add_column(driver_columns(table, text_at(cell, "driver")), text_at(cell, "config"), {});
    }

    // Rows: the catalogue's scenarios that apply to the protocol (or that a cell of it names), in
    // catalogue order, then the scenarios only cells name.
    for (ProtocolTable& table : tables) {
        for (const json& scenario : array_at(context, "catalogue")) {
            const std::string name = text_at(scenario, "name");
            const bool has_cell = std::any_of(cells.begin(), cells.end(), [&](const json& c) {
                return text_at(c, "protocol") == table.protocol && text_at(c, "scenario") == name;
            });
            if (has_cell || lists_protocol(scenario, table.protocol)) {
                add_scenario(table, name);
            }
        }
    }
    for (const json& cell : cells) {
        add_scenario(table_for(tables, text_at(cell, "protocol")), text_at(cell, "scenario"));
    }

    std::erase_if(tables, [](const ProtocolTable& t) {
        return std::none_of(t.drivers.begin(), t.drivers.end(),
                            [](const DriverColumns& d) { return !d.configs.empty(); });
    });
    std::stable_sort(tables.begin(), tables.end(),
                     [](const ProtocolTable& a, const ProtocolTable& b) {
                         return protocol_rank(a.protocol) < protocol_rank(b.protocol);
                     });
    return tables;
}

const json* catalogue_entry(const json& report, const std::string& scenario) {
    for (const json& entry : array_at(object_at(report, "context"), "catalogue")) {
        if (text_at(entry, "name") == scenario) {
            return &entry;
        }
    }
    return nullptr;
}

// ---- rendering ---------------------------------------------------------------------------------

class Page {
  public:
    explicit Page(const json& report) : report_(report) {
        const json& cells = array_at(report_, "cells");
        for (std::size_t i = 0; i < cells.size(); ++i) {
            cells_by_key_[key_of(cells[i])].push_back(i);
        }
    }

    std::string render() {
        out_ += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
        out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
        // The error handler comes first: a failure in anything after it is recorded.
        out_ += "<script>";
        out_ += kErrorHandlerScript;
        out_ += "</script>\n<title>";
        out_ += escaped(page_title());
        out_ += "</title>\n<style>";
        out_ += kStyle;
        out_ += "</style>\n</head>\n<body>\n";
        out_ += "<pre id=\"page-errors\" hidden></pre>\n";
        render_header();
        render_banners();
        render_summary();
        render_toolbar();
        const std::vector<ProtocolTable> tables = tables_of(report_);
        if (tables.empty()) {
            out_ += "<p class=\"empty\">This report has no cells.</p>\n";
        }
        for (const ProtocolTable& table : tables) {
            render_table(table);
        }
        render_legend();
        out_ += "<dialog id=\"details\" aria-labelledby=\"details-title\"><form method=\"dialog\">"
                "<button class=\"close\" aria-label=\"Close\">\xC3\x97</button></form>"
                "<div id=\"details-body\"></div></dialog>\n";
        out_ += "<script type=\"application/json\" id=\"report-data\">";
        out_ += embeddable_json(report_);
        out_ += "</script>\n<script>";
        out_ += kPageScript;
        out_ += "</script>\n</body>\n</html>\n";
        return std::move(out_);
    }

  private:
    void text(std::string_view s) { append_escaped(out_, s); }

    std::string page_title() const {
        const json& summary = object_at(report_, "summary");
        std::string title = "tlslab matrix";
        const std::string cells = text_at(summary, "cells");
        const std::string failed = text_at(summary, "failed");
        if (!cells.empty()) {
            title += " \xC2\xB7 " + cells + " cells";
        }
        if (!failed.empty()) {
            title += ", " + failed + " failed";
        }
        const std::string started = text_at(object_at(report_, "context"), "started");
        if (started.size() >= 10) {
            title += " \xC2\xB7 " + started.substr(0, 10);
        }
        return title;
    }

    void context_item(std::string_view term, const std::string& value) {
        if (value.empty()) {
            return;
        }
        out_ += "<div><dt>";
        text(term);
        out_ += "</dt><dd>";
        text(value);
        out_ += "</dd></div>";
    }

    void render_header() {
        const json& context = object_at(report_, "context");
        out_ += "<header class=\"top\">\n<h1>tlslab matrix report</h1>\n<dl class=\"context\">";
        context_item("tlslab", text_at(context, "tlslab_version"));
        context_item("OpenSSL", text_at(context, "openssl"));
        context_item("OS", text_at(context, "os"));
        context_item("host", text_at(context, "host"));
        std::string when = readable_time(text_at(context, "started"));
        const std::string finished = readable_time(text_at(context, "finished"));
        if (!finished.empty()) {
            when += " \xE2\x86\x92 " + finished;
        }
        context_item("run", when);
        const json& lab = object_at(context, "lab");
        std::string lab_text = text_at(lab, "mode");
        if (const std::string admin = text_at(lab, "admin"); !admin.empty()) {
            lab_text += " (" + admin + ")";
        }
        if (const std::string host = text_at(lab, "host"); !host.empty()) {
            lab_text += ", dials " + host;
        }
        if (const std::string flavour = text_at(lab, "mysql_flavour"); !flavour.empty()) {
            lab_text += ", MySQL flavour " + flavour;
        }
        context_item("lab", lab_text);
        context_item("lab CA", text_at(lab, "ca"));
        context_item("jobs", text_at(context, "jobs"));
        out_ += "</dl>\n";

        const json& drivers = array_at(context, "drivers");
        if (!drivers.empty()) {
            const json& sanity = object_at(context, "sanity");
            out_ += "<ul class=\"drivers\" aria-label=\"drivers\">";
            for (const json& driver : drivers) {
                const std::string name = text_at(driver, "name");
                out_ += "<li title=\"";
                std::string tip = text_at(driver, "client");
                tip += (tip.empty() ? "" : "\n") + std::string("command: ") +
                       text_at(driver, "command");
                text(tip);
                out_ += "\"><b>";
                text(name);
                out_ += "</b> <span class=\"ver\">";
                text(text_at(driver, "version").empty() ? "version unknown"
                                                        : text_at(driver, "version"));
                out_ += "</span> <span class=\"proto\">";
                text(text_at(driver, "protocol"));
                out_ += "</span>";
                if (const json* check = member(sanity, name); check != nullptr) {
                    const json* passed = member(*check, "passed");
                    const bool ok =
                        passed != nullptr && passed->is_boolean() && passed->get<bool>();
                    out_ += ok ? " <span class=\"sanity ok\" title=\"sanity case (valid"
                               : " <span class=\"sanity bad\" title=\"sanity case (valid";
                    if (const std::string config = text_at(*check, "config"); !config.empty()) {
                        out_ += ", ";
                        text(config);
                    }
                    out_ += ok ? ") connected\">sanity \xE2\x9C\x93</span>"
                               : ") failed\">sanity \xE2\x9C\x97</span>";
                }
                out_ += "</li>";
            }
            out_ += "</ul>\n";
        }
        const json& command_line = array_at(context, "command_line");
        if (!command_line.empty()) {
            out_ += "<p class=\"cmdline\"><code>";
            bool first = true;
            for (const json& arg : command_line) {
                if (!first) {
                    out_ += ' ';
                }
                first = false;
                text(display(&arg));
            }
            out_ += "</code></p>\n";
        }
        out_ += "</header>\n";
    }

    // The counts as the cells say, to check the summary against (server side; the page's script
    // checks again from the embedded data).
    std::map<std::string, long long> counted_from_cells() const {
        std::map<std::string, long long> counts;
        for (const VerdictInfo& v : kVerdicts) {
            counts[std::string(v.name)] = 0;
        }
        const json& cells = array_at(report_, "cells");
        for (const json& cell : cells) {
            ++counts[text_at(cell, "verdict")];
        }
        counts["cells"] = static_cast<long long>(cells.size());
        counts["passed"] = counts["accepted-correctly"] + counts["refused-correctly"];
        counts["failed"] =
            counts["accepted-broken"] + counts["refused-good"] + counts["downgraded"];
        return counts;
    }

    // What report["summary"] says for `key`: "cells", "passed", "failed" or a verdict.
    std::string summary_value(std::string_view key) const {
        const json& summary = object_at(report_, "summary");
        const json* value = find_verdict(key) != nullptr
                                ? member(object_at(summary, "verdicts"), key)
                                : member(summary, key);
        if (value == nullptr || !value->is_number_integer()) {
            return "\xE2\x80\x93"; // an en dash: the summary does not say
        }
        return display(value);
    }

    std::vector<std::string> summary_mismatches() const {
        std::vector<std::string> mismatches;
        for (const auto& [key, count] : counted_from_cells()) {
            if (key != "cells" && key != "passed" && key != "failed" &&
                find_verdict(key) == nullptr) {
                mismatches.push_back(std::to_string(count) + " cell(s) with an unknown verdict \"" +
                                     key + "\"");
                continue;
            }
            const std::string said = summary_value(key);
            if (said != std::to_string(count)) {
                std::string mismatch = key;
                mismatch += ": the summary says " + said;
                mismatch += ", the cells say " + std::to_string(count);
                mismatches.push_back(std::move(mismatch));
            }
        }
        return mismatches;
    }

    void render_banners() {
        const std::vector<std::string> mismatches = summary_mismatches();
        out_ += "<div id=\"summary-mismatch\" class=\"banner error\" role=\"alert\"";
        out_ += mismatches.empty() ? " hidden>" : ">";
        out_ +=
            "<b>This report is inconsistent:</b> what the page shows does not match its cells.<ul>";
        for (const std::string& m : mismatches) {
            out_ += "<li>";
            text(m);
            out_ += "</li>";
        }
        out_ += "</ul></div>\n";

        for (const auto& [driver, check] :
             object_at(object_at(report_, "context"), "sanity").items()) {
            const json* passed = member(check, "passed");
            if (passed != nullptr && passed->is_boolean() && passed->get<bool>()) {
                continue;
            }
            out_ += "<div class=\"banner warn\"><b>";
            text(driver);
            out_ += " failed the sanity case</b> (scenario valid";
            if (const std::string config = text_at(check, "config"); !config.empty()) {
                out_ += ", configuration ";
                text(config);
            }
            out_ += "): ";
            text(text_at(check, "detail").empty() ? "no detail recorded"
                                                  : text_at(check, "detail"));
            out_ += "</div>\n";
        }
    }

    void summary_tile(std::string_view key, std::string_view title, std::string_view css_class,
                      std::string_view tip) {
        out_ += "<div class=\"tile ";
        out_ += css_class;
        out_ += "\" title=\"";
        text(tip);
        out_ += "\"><span class=\"n\" data-summary=\"";
        out_ += key;
        out_ += "\">";
        text(summary_value(key));
        out_ += "</span><span class=\"t\">";
        text(title);
        out_ += "</span></div>";
    }

    void render_summary() {
        out_ += "<section class=\"summary\" aria-label=\"summary\">";
        summary_tile("cells", "cells", "total", "cells in this run");
        summary_tile("passed", "passed", "v-passed", "accepted correctly + refused correctly");
        summary_tile("failed", "failed", "failed", "accepted broken + refused good + downgraded");
        out_ += "<span class=\"sep\"></span>";
        for (const VerdictInfo& v : kVerdicts) {
            summary_tile(v.name, v.title, "v-" + std::string(v.name), v.meaning);
        }
        out_ += "</section>\n";
    }

    void render_toolbar() {
        // Hidden until the page's script runs: without it the filters would do nothing.
        out_ += "<div class=\"toolbar\" id=\"toolbar\" hidden><label><input type=\"checkbox\" "
                "id=\"only-failures\">"
                " only rows with a failure</label><label><input type=\"checkbox\" "
                "id=\"show-seeds\"> show what users see</label><span class=\"hint\">click a cell "
                "for its details</span></div>\n";
    }

    void render_legend() {
        out_ += "<section class=\"legend\" aria-label=\"legend\"><h2>Legend</h2><ul>";
        for (const VerdictInfo& v : kVerdicts) {
            out_ += "<li><span class=\"swatch v-";
            out_ += v.name;
            out_ += "\"></span><b>";
            text(v.title);
            out_ += "</b> ";
            text(v.meaning);
            out_ += "</li>";
        }
        out_ += "</ul></section>\n";
    }

    void render_scenario_header(const std::string& scenario) {
        const json* entry = catalogue_entry(report_, scenario);
        static const json kNoEntry = json::object();
        const json& e = entry != nullptr ? *entry : kNoEntry;
        out_ += "<th scope=\"row\" class=\"scn\" title=\"";
        std::string tip = text_at(e, "description");
        if (const std::string detail = text_at(e, "expect_detail"); !detail.empty()) {
            tip += "\nexpected: " + detail;
        }
        text(tip);
        out_ += "\"><div class=\"scn-head\"><span class=\"scn-name\">";
        text(scenario.empty() ? "(unnamed)" : scenario);
        out_ += "</span>";
        if (const std::string expect = text_at(e, "expect"); !expect.empty()) {
            out_ += "<span class=\"expect ";
            out_ += expect == "accept" ? "accept" : "reject";
            out_ += "\">";
            text(expect);
            out_ += "</span>";
        }
        if (const std::string family = text_at(e, "family"); !family.empty()) {
            out_ += "<span class=\"family\">";
            text(family);
            out_ += "</span>";
        }
        out_ += "</div>";
        if (const std::string description = text_at(e, "description"); !description.empty()) {
            out_ += "<div class=\"desc\">";
            text(description);
            out_ += "</div>";
        }
        const json& seed = array_at(e, "seed");
        if (!seed.empty()) {
            out_ += "<details class=\"seed\"><summary>what users see: ";
            bool first = true;
            for (const json& wording : seed) {
                if (!first) {
                    out_ += ", ";
                }
                first = false;
                text(text_at(wording, "client"));
            }
            out_ += "</summary><ul>";
            for (const json& wording : seed) {
                out_ += "<li><span class=\"client\">";
                text(text_at(wording, "client"));
                out_ += "</span><q>";
                text(text_at(wording, "text"));
                out_ += "</q>";
                if (const std::string source = text_at(wording, "source"); !source.empty()) {
                    out_ += "<span class=\"src\">";
                    text(source);
                    out_ += "</span>";
                }
                out_ += "</li>";
            }
            out_ += "</ul></details>";
        }
        out_ += "</th>";
    }

    static std::string cell_tooltip(const json& cell) {
        const json& driver = object_at(cell, "driver_result");
        const json& proxy = object_at(cell, "proxy");
        std::string tip = text_at(cell, "driver") + " \xC2\xB7 " + text_at(cell, "config") +
                          " \xC2\xB7 " + text_at(cell, "scenario") + "\n";
        tip += "verdict: " + text_at(cell, "verdict");
        if (const std::string expected = text_at(cell, "expected"); !expected.empty()) {
            tip += " (expected: " + expected + ")";
        }
        const std::string code = text_at(driver, "error_code");
        const std::string error = text_at(driver, "error");
        if (!code.empty() || !error.empty()) {
            tip += "\nerror" + (code.empty() ? std::string() : " " + code) + ": " + error;
        }
        const json* timed_out = member(driver, "timed_out");
        if (timed_out != nullptr && timed_out->is_boolean() && timed_out->get<bool>()) {
            tip += "\ntimed out";
        }
        constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kProxyFields{
            {{"outcome", "outcome"}, {"alert", "alert"}, {"TLS", "tls_version"}}};
        for (const auto& [label, key] : kProxyFields) {
            if (const std::string value = text_at(proxy, key); !value.empty()) {
                tip += "\n" + std::string(label) + ": " + value;
            }
        }
        for (const json& exposed : array_at(proxy, "exposed")) {
            tip += "\nexposed: " + display(&exposed);
        }
        if (const std::string ms = text_at(cell, "elapsed_ms"); !ms.empty()) {
            tip += "\nelapsed: " + ms + " ms";
        }
        return tip;
    }

    void render_cell(const ProtocolTable& table, const std::string& scenario,
                     const DriverColumns& driver, const Column& column, bool first_of_driver,
                     bool& row_has_failure) {
        const json& cells = array_at(report_, "cells");
        const auto found =
            cells_by_key_.find(CellKey{table.protocol, scenario, driver.name, column.config});
        std::string td_class = first_of_driver ? "c grp" : "c";
        if (found == cells_by_key_.end()) {
            out_ += "<td class=\"" + td_class + " none\" title=\"not run\">\xE2\x80\x93</td>";
            return;
        }
        const json& first = cells[found->second.front()];
        const VerdictInfo* verdict = find_verdict(text_at(first, "verdict"));
        td_class += verdict != nullptr ? " v-" + std::string(verdict->name) : " v-unknown";
        out_ += "<td class=\"" + td_class + "\">";
        for (const std::size_t index : found->second) {
            const json& cell = cells[index];
            const std::string verdict_name = text_at(cell, "verdict");
            const VerdictInfo* v = find_verdict(verdict_name);
            if (v == nullptr || !v->correct) {
                row_has_failure = true;
            }
            out_ += "<button type=\"button\" class=\"cell\" data-cell=\"" + std::to_string(index) +
                    "\" data-verdict=\"";
            text(verdict_name);
            out_ += "\" title=\"";
            text(cell_tooltip(cell));
            out_ += "\">";
            const std::string label = text_at(cell, "label");
            text(label.empty() ? verdict_name : label);
            out_ += "</button>";
        }
        out_ += "</td>";
    }

    void render_table(const ProtocolTable& table) {
        out_ += "<section class=\"protocol\" data-protocol=\"";
        text(table.protocol);
        out_ += "\"><h2>";
        text(protocol_title(table.protocol));
        out_ += "</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th rowspan=\"2\" "
                "class=\"corner\">scenario</th>";
        for (const DriverColumns& driver : table.drivers) {
            if (driver.configs.empty()) {
                continue;
            }
            out_ += "<th scope=\"colgroup\" class=\"drv grp\" colspan=\"" +
                    std::to_string(driver.configs.size()) + "\" title=\"";
            text(driver.client);
            out_ += "\">";
            text(driver.name);
            if (!driver.version.empty()) {
                out_ += " <span class=\"ver\">";
                text(driver.version);
                out_ += "</span>";
            }
            out_ += "</th>";
        }
        out_ += "</tr>\n<tr>";
        for (const DriverColumns& driver : table.drivers) {
            bool first = true;
            for (const Column& column : driver.configs) {
                out_ += first ? "<th scope=\"col\" class=\"cfg grp\""
                              : "<th scope=\"col\" class=\"cfg\"";
                first = false;
                if (!column.description.empty()) {
                    out_ += " title=\"";
                    text(column.description);
                    out_ += "\"";
                }
                out_ += ">";
                text(column.config.empty() ? "(unnamed)" : column.config);
                out_ += "</th>";
            }
        }
        out_ += "</tr></thead>\n<tbody>\n";
        for (const std::string& scenario : table.scenarios) {
            const std::size_t row_start = out_.size();
            out_ += "<tr>";
            render_scenario_header(scenario);
            bool row_has_failure = false;
            for (const DriverColumns& driver : table.drivers) {
                bool first = true;
                for (const Column& column : driver.configs) {
                    render_cell(table, scenario, driver, column, first, row_has_failure);
                    first = false;
                }
            }
            out_ += "</tr>\n";
            if (!row_has_failure) {
                out_.insert(row_start + 3, " class=\"all-pass\"");
            }
        }
        out_ += "</tbody>\n<tfoot><tr><th scope=\"row\" class=\"scn foot\">failed</th>";
        for (const DriverColumns& driver : table.drivers) {
            bool first = true;
            for (const Column& column : driver.configs) {
                const long long failed = failures_in_column(table, driver, column);
                out_ += first ? "<td class=\"foot grp" : "<td class=\"foot";
                out_ += failed > 0 ? " some\">" : "\">";
                out_ += std::to_string(failed);
                out_ += "</td>";
                first = false;
            }
        }
        out_ += "</tr></tfoot></table></div></section>\n";
    }

    // The cells of one column whose verdict is one of the three wrong ones.
    long long failures_in_column(const ProtocolTable& table, const DriverColumns& driver,
                                 const Column& column) const {
        const json& cells = array_at(report_, "cells");
        long long failed = 0;
        for (const std::string& scenario : table.scenarios) {
            const auto found =
                cells_by_key_.find(CellKey{table.protocol, scenario, driver.name, column.config});
            if (found == cells_by_key_.end()) {
                continue;
            }
            for (const std::size_t index : found->second) {
                const VerdictInfo* v = find_verdict(text_at(cells[index], "verdict"));
                if (v != nullptr && !v->correct && v->name != "not-judged") {
                    ++failed;
                }
            }
        }
        return failed;
    }

    static constexpr std::string_view kErrorHandlerScript = R"JS(
(function () {
  var errors = [];
  window.tlslabPageErrors = errors;
  function show() {
    var pre = document.getElementById("page-errors");
    if (!pre) return;
    pre.textContent = errors.join("\n");
    pre.hidden = errors.length === 0;
    if (document.body) document.body.dataset.errors = String(errors.length);
  }
  window.tlslabRecordError = function (text) { errors.push(String(text)); show(); };
  window.tlslabShowErrors = show;
  window.onerror = function (message, source, line, column) {
    window.tlslabRecordError(message + " (" + (source || "page") + ":" + line + ":" + column + ")");
    return false;
  };
  window.addEventListener("unhandledrejection", function (event) {
    window.tlslabRecordError("unhandled rejection: " + event.reason);
  });
})();
)JS";

    static constexpr std::string_view kStyle = R"CSS(
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa;
  --ac: #d3f2da; --ac-ink: #0b4d1f; --rc: #e7f5d0; --rc-ink: #2f5a0a;
  --ab: #cf222e; --ab-ink: #fff; --rg: #f59e3b; --rg-ink: #3d1f00;
  --dg: #6f2da8; --dg-ink: #fff; --nj: #d8dee4; --nj-ink: #424a53; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 20px 32px; color: var(--ink); background: #fff;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 20px; margin: 0 0 6px; }
h2 { font-size: 15px; margin: 22px 0 6px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.top { border-bottom: 1px solid var(--line); padding-bottom: 8px; }
.context { display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 0; }
.context div { display: flex; gap: 6px; }
.context dt { color: var(--muted); }
.context dd { margin: 0; }
.drivers { list-style: none; display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 0; padding: 0; }
.drivers li { border: 1px solid var(--line); border-radius: 4px; padding: 1px 7px; background: var(--bg); }
.ver { color: var(--muted); font-weight: normal; }
.proto { font-size: 11px; color: var(--muted); text-transform: uppercase; }
.sanity { font-size: 11px; }
.sanity.ok { color: #1a7f37; }
.sanity.bad { color: var(--ab); font-weight: bold; }
.cmdline { margin: 6px 0 0; color: var(--muted); word-break: break-all; }
.banner { margin: 10px 0; padding: 8px 12px; border-radius: 6px; border: 1px solid; }
.banner ul { margin: 4px 0 0; padding-left: 20px; }
.banner.error { background: #ffebe9; border-color: var(--ab); color: #82071e; }
.banner.warn { background: #fff8c5; border-color: #d4a72c; color: #4d2d00; }
[hidden] { display: none !important; }
#page-errors { background: #ffebe9; color: #82071e; border: 1px solid var(--ab); padding: 8px; white-space: pre-wrap; }
.summary { display: flex; flex-wrap: wrap; align-items: stretch; gap: 8px; margin: 14px 0 8px; }
.summary .sep { width: 1px; background: var(--line); margin: 0 4px; }
.tile { min-width: 92px; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); display: flex; flex-direction: column; }
.tile .n { font-size: 22px; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.tile .t { font-size: 11px; text-transform: uppercase; letter-spacing: .03em; opacity: .85; }
.tile.total { background: var(--bg); }
.tile.v-passed { background: var(--ac); color: var(--ac-ink); border-color: #8fd5a0; }
.tile.failed { background: #fff; color: var(--ab); border-color: var(--ab); }
.v-accepted-correctly { background: var(--ac); color: var(--ac-ink); }
.v-refused-correctly { background: var(--rc); color: var(--rc-ink); }
.v-accepted-broken { background: var(--ab); color: var(--ab-ink); }
.v-refused-good { background: var(--rg); color: var(--rg-ink); }
.v-downgraded { background: var(--dg); color: var(--dg-ink); }
.v-not-judged, .v-unknown { background: var(--nj); color: var(--nj-ink); }
.tile.v-accepted-correctly, .tile.v-refused-correctly { border-color: #a8d8b0; }
.tile.v-accepted-broken, .tile.v-refused-good, .tile.v-downgraded, .tile.v-not-judged { border-color: transparent; }
.toolbar { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; margin: 6px 0; color: var(--muted); }
.toolbar label { cursor: pointer; }
.toolbar .hint { margin-left: auto; font-size: 12px; }
.scroll { overflow-x: auto; }
table { border-collapse: separate; border-spacing: 2px; }
th { font-weight: 600; text-align: center; }
thead th { background: var(--bg); padding: 3px 6px; white-space: nowrap; }
thead th.drv { font-size: 13px; border-bottom: 2px solid var(--ink); }
thead th.cfg { font-size: 12px; font-weight: 500; cursor: help; }
th.corner { text-align: left; vertical-align: bottom; color: var(--muted); font-weight: 500; }
th.scn { text-align: left; font-weight: normal; min-width: 270px; max-width: 380px; padding: 3px 8px 3px 2px;
  vertical-align: top; background: #fff; position: sticky; left: 0; z-index: 1; border-bottom: 1px solid var(--line); }
.scn-head { display: flex; align-items: baseline; gap: 6px; flex-wrap: wrap; }
.scn-name { font-weight: 700; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.expect, .family { font-size: 10.5px; border-radius: 8px; padding: 0 6px; border: 1px solid var(--line); color: var(--muted); }
.expect.accept { color: #1a7f37; border-color: #8fd5a0; }
.expect.reject { color: #9a3412; border-color: #f3b58a; }
.desc { color: var(--muted); font-size: 11.5px; line-height: 1.3; }
.seed { font-size: 12px; margin-top: 2px; }
.seed summary { cursor: pointer; color: #0550ae; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.seed ul { margin: 3px 0 2px; padding-left: 14px; }
.seed li { margin-bottom: 3px; }
.seed .client { font-weight: 600; margin-right: 4px; }
.seed q { font-style: italic; }
.seed .src { display: block; color: var(--muted); font-size: 11px; }
td.c { padding: 0; min-width: 78px; height: 28px; border-radius: 3px; vertical-align: middle; }
tfoot th.foot { color: var(--muted); font-weight: 500; text-align: right; vertical-align: middle; border-bottom: 0; }
tfoot td.foot { text-align: center; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
tfoot td.foot.some { color: var(--ab); font-weight: 700; }
td.grp, th.grp { box-shadow: -2px 0 0 #fff, -4px 0 0 var(--line); }
td.none { color: var(--muted); text-align: center; background: repeating-linear-gradient(135deg, #fff 0 4px, var(--bg) 4px 8px); }
.cell { display: block; width: 100%; height: 100%; min-height: 28px; border: 0; margin: 0; padding: 2px 6px; line-height: 1.2;
  background: transparent; color: inherit; font: inherit; font-size: 12px; font-weight: 600; cursor: pointer; text-align: center; }
.cell + .cell { border-top: 1px dashed currentColor; }
.v-accepted-broken .cell::before, .v-refused-good .cell::before { content: "\2717\00a0"; }
.v-downgraded .cell::before { content: "\26a0\00a0"; }
.cell:hover, .cell:focus-visible { outline: 2px solid var(--ink); outline-offset: -2px; border-radius: 3px; }
.only-failures tr.all-pass { display: none; }
.only-failures td.v-accepted-correctly, .only-failures td.v-refused-correctly { opacity: .35; }
.legend ul { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 4px 16px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -2px; margin-right: 6px; border: 1px solid rgba(0,0,0,.15); }
.empty { color: var(--muted); font-style: italic; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; width: min(820px, 92vw);
  max-height: 86vh; box-shadow: 0 8px 30px rgba(0,0,0,.25); }
dialog::backdrop { background: rgba(31,35,40,.35); }
dialog .close { position: absolute; right: 10px; top: 8px; border: 0; background: none; font-size: 22px; cursor: pointer; color: var(--muted); }
#details-body h3 { margin: 0 30px 6px 0; font-size: 15px; word-break: break-all; }
#details-body .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
#details-body dl { display: grid; grid-template-columns: 130px 1fr; gap: 3px 12px; margin: 10px 0; }
#details-body dt { color: var(--muted); }
#details-body dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
#details-body h4 { margin: 12px 0 2px; font-size: 13px; border-bottom: 1px solid var(--line); }
#details-body pre { background: var(--bg); padding: 8px; border-radius: 4px; white-space: pre-wrap; word-break: break-word; margin: 0; max-height: 320px; overflow: auto; }
#details-body ul { margin: 0; padding-left: 18px; }
@media print {
  body { padding: 0; font-size: 11px; }
  .toolbar, dialog, .cell + .cell { display: none; }
  .scroll { overflow: visible; }
  th.scn { position: static; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

    static constexpr std::string_view kPageScript = R"JS(
try { (function () {
  "use strict";
  var VERDICTS = ["accepted-correctly", "refused-correctly", "accepted-broken", "refused-good",
                  "downgraded", "not-judged"];
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function shown(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }
  function arr(v) { return Array.isArray(v) ? v : []; }

  var report = JSON.parse(document.getElementById("report-data").textContent);
  var cells = arr(obj(report).cells);

  // The summary, recounted from the embedded cells, against the numbers the page was written with.
  var counted = { cells: cells.length, passed: 0, failed: 0 };
  VERDICTS.forEach(function (v) { counted[v] = 0; });
  var unknown = 0;
  cells.forEach(function (c) {
    var v = obj(c).verdict;
    if (VERDICTS.indexOf(v) >= 0) counted[v] += 1; else unknown += 1;
  });
  counted.passed = counted["accepted-correctly"] + counted["refused-correctly"];
  counted.failed = counted["accepted-broken"] + counted["refused-good"] + counted.downgraded;
  var problems = [];
  document.querySelectorAll("[data-summary]").forEach(function (node) {
    var key = node.dataset.summary, said = node.textContent.trim();
    if (said !== String(counted[key]))
      problems.push(key + ": the summary says " + said + ", the cells say " + counted[key]);
  });
  if (unknown) problems.push(unknown + " cell(s) with an unknown verdict");
  var shownCells = document.querySelectorAll("[data-cell]");
  if (shownCells.length !== cells.length)
    problems.push("the tables show " + shownCells.length + " cells, the report has " + cells.length);
  shownCells.forEach(function (node) {
    var c = obj(cells[Number(node.dataset.cell)]);
    if (c.verdict !== node.dataset.verdict)
      problems.push("cell " + node.dataset.cell + " is shown as " + node.dataset.verdict + ", the data says " + c.verdict);
  });
  if (problems.length) {
    var banner = document.getElementById("summary-mismatch");
    var list = banner.querySelector("ul");
    list.textContent = "";
    problems.forEach(function (p) { list.appendChild(el("li", null, p)); });
    banner.hidden = false;
  }

  // The details dialog.
  var dialog = document.getElementById("details");
  var body = document.getElementById("details-body");
  function row(dl, term, value, pre) {
    var text = shown(value);
    if (text === "") return;
    dl.appendChild(el("dt", null, term));
    var dd = el("dd");
    if (pre) dd.appendChild(el("pre", null, text)); else dd.textContent = text;
    dl.appendChild(dd);
  }
  function section(title) { body.appendChild(el("h4", null, title)); var dl = el("dl"); body.appendChild(dl); return dl; }
  function openDetails(index) {
    var c = obj(cells[index]), d = obj(c.driver_result), p = obj(c.proxy);
    body.textContent = "";
    body.appendChild(el("h3", null, [c.protocol, c.driver, c.config, c.scenario].map(shown).join(" / ")));
    var badge = el("span", "badge v-" + (VERDICTS.indexOf(c.verdict) >= 0 ? c.verdict : "unknown"), c.verdict);
    body.appendChild(badge);
    body.appendChild(document.createTextNode("  " + shown(c.label) + (c.expected ? "  (scenario expects: " + c.expected + ")" : "")));
    var dr = section("Driver");
    row(dr, "connected", d.connected);
    row(dr, "error code", d.error_code);
    row(dr, "error", d.error, true);
    row(dr, "version", d.version);
    row(dr, "TLS (driver's view)", d.ssl);
    row(dr, "exit status", d.exit_status);
    row(dr, "timed out", d.timed_out ? true : null);
    row(dr, "contract", d.contract);
    row(dr, "stderr", d.stderr, true);
    var px = section("What the proxy saw");
    row(px, "sessions", p.sessions);
    row(px, "outcome", p.outcome);
    if (arr(p.outcomes).length > 1) row(px, "outcomes", arr(p.outcomes).join(", "));
    row(px, "alert", p.alert);
    row(px, "TLS version", p.tls_version);
    row(px, "login in clear", p.login_in_clear);
    var exposed = arr(p.exposed);
    if (exposed.length) {
      px.appendChild(el("dt", null, "exposed"));
      var ul = el("ul");
      exposed.forEach(function (x) { ul.appendChild(el("li", null, shown(x))); });
      var dd = el("dd"); dd.appendChild(ul); px.appendChild(dd);
    }
    var run = section("Run");
    row(run, "command", c.command, true);
    row(run, "started", c.started);
    if (c.elapsed_ms !== undefined && c.elapsed_ms !== null) row(run, "elapsed", c.elapsed_ms + " ms");
    row(run, "cell id", c.id);
    var explained = arr(c.explained);
    if (explained.length) {
      var ex = section("Explained by (tlslab explain)");
      explained.forEach(function (x) { row(ex, shown(obj(x).family) || "entry", obj(x).id); });
    }
    var raw = el("details"); raw.appendChild(el("summary", null, "the cell as JSON"));
    raw.appendChild(el("pre", null, JSON.stringify(c, null, 2)));
    body.appendChild(raw);
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-cell]") : null;
    if (target) openDetails(Number(target.dataset.cell));
    else if (event.target === dialog) dialog.close();
  });

  // Filters.
  document.getElementById("only-failures").addEventListener("change", function (event) {
    document.body.classList.toggle("only-failures", event.target.checked);
  });
  document.getElementById("show-seeds").addEventListener("change", function (event) {
    document.querySelectorAll("details.seed").forEach(function (d) { d.open = event.target.checked; });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.seed").forEach(function (d) { d.open = true; });
  });
  // #cell=N opens that cell's details: a link to one cell.
  var linked = /^#cell=([0-9]+)$/.exec(window.location.hash);
  if (linked && Number(linked[1]) < cells.length) openDetails(Number(linked[1]));
  document.getElementById("toolbar").hidden = false;
})(); } catch (error) {
  window.tlslabRecordError("page script: " + (error && error.stack ? error.stack : error));
} finally {
  window.tlslabShowErrors();
  document.body.dataset.errors = String(window.tlslabPageErrors.length);
  document.body.dataset.ready = "1";
}
)JS";

    const json& report_;
    CellIndex cells_by_key_;
    std::string out_;
};

} // namespace

std::string render_report_html(const nlohmann::json& report) {
    return Page(report).render();
}

} // namespace proxy::app::report
