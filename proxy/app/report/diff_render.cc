#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

#include <proxy/app/report/diff_render.h>
#include <proxy/app/report/html_text.h>

namespace proxy::app::report {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Reading the document: every access checked, a missing or mistyped field reads as empty.

const json* member(const json& object, const char* key) {
    if (!object.is_object()) {
        return nullptr;
    }
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::string doc_string(const json& object, const char* key) {
    const json* v = member(object, key);
    return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
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
    auto version_char = [](char c) {
        return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    };
    while (!name.empty() && version_char(name.back())) {
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

std::string plural(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
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
    out += "<title>" + escaped(title) + "</title>\n";
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
    out += "<h1>" + escaped(title) + "</h1>\n";
    out += std::string("<p class=\"summary ") + (diff.worse ? "worse" : "fine") + "\">" +
           escaped(doc_string(doc, "summary")) + "</p>\n";
    out += "<table class=\"context\">\n<tr><th>protocol</th><th>drivers</th><th>how "
           "paired</th></tr>\n";
    for (const auto& p : doc_array(doc, "pairing")) {
        PairWords w = pair_words(p);
        out += "<tr><td>" + escaped(w.protocol) + "</td><td>" + escaped(w.versions) + "</td><td>" +
               escaped(w.note) + "</td></tr>\n";
    }
    out += "</table>\n<table class=\"context\">\n";
    for (auto [name, ctx] :
         {std::pair<const char*, const json*>{"old run", old_ctx}, {"new run", new_ctx}}) {
        if (ctx == nullptr) {
            continue;
        }
        out += std::string("<tr><td>") + name + "</td><td>" + escaped(doc_string(*ctx, "file")) +
               "</td><td>tlslab " + escaped(doc_string(*ctx, "tlslab_version")) + "</td><td>" +
               escaped(doc_string(*ctx, "started")) + "</td><td>" +
               escaped(doc_string(*ctx, "os")) + "</td></tr>\n";
    }
    out += "</table>\n";
    for (const auto& g : doc_array(doc, "groups")) {
        const json& cells = doc_array(g, "cells");
        if (cells.empty()) {
            continue;
        }
        out += "<h2 id=\"" + escaped(doc_string(g, "id")) + "\">" +
               escaped(doc_string(g, "heading")) + " (" + std::to_string(cells.size()) +
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
            out += "<tr class=\"" + escaped(direction) + "\" title=\"" +
                   escaped(doc_string(c, "id")) + "\"><td>" +
                   (direction == "neutral" ? std::string() : escaped(direction)) + "</td><td>" +
                   escaped(doc_string(c, "scenario")) + "</td><td>" +
                   escaped(doc_string(c, "config")) + "</td><td>" + escaped(driver) + "</td><td>" +
                   (has_old ? escaped(side_words(*o)) : "&mdash;") + "</td><td>" +
                   (has_new ? escaped(side_words(*n)) : "&mdash;") + "</td><td class=\"error\">" +
                   (has_old ? escaped(doc_string(*o, "error")) : std::string()) +
                   "</td><td class=\"error\">" +
                   (has_new ? escaped(doc_string(*n, "error")) : std::string()) + "</td></tr>\n";
        }
        out += "</table>\n";
    }
    out += "</body>\n</html>\n";
    return out;
}

} // namespace proxy::app::report
