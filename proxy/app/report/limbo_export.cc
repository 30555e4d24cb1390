#include <proxy/app/report/limbo_export.h>

namespace proxy::app::report {

using json = nlohmann::json;

namespace {

std::string text(const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
}

// A file-name-safe stem: letters, digits, '-', '_', '.'.
std::string safe(const std::string& s) {
    std::string out;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        out.push_back(ok ? c : '_');
    }
    return out;
}

} // namespace

std::map<std::string, json> limbo_results(const json& report) {
    std::map<std::string, std::string> versions;
    if (report.contains("context") && report["context"].contains("drivers") &&
        report["context"]["drivers"].is_array()) {
        for (const auto& d : report["context"]["drivers"]) {
            versions[text(d, "name")] = text(d, "version");
        }
    }
    std::map<std::string, json> out;
    if (!report.contains("cells") || !report["cells"].is_array()) {
        return out;
    }
    for (const auto& c : report["cells"]) {
        std::string driver = text(c, "driver");
        std::string config = text(c, "config");
        std::string protocol = text(c, "protocol");
        std::string stem = safe(driver) + "--" + safe(config);
        auto& doc = out[stem];
        if (doc.is_null()) {
            std::string harness = "tlslab-" + protocol + "-" + driver;
            // The version's first word: "15.18 (Debian 15.18-0+deb12u1) / libpq 15.18" -> 15.18
            if (std::string v = versions[driver].substr(0, versions[driver].find(' '));
                !v.empty()) {
                harness += "-" + v;
            }
            harness += "-" + config;
            doc = {{"version", 1}, {"harness", harness}, {"results", json::array()}};
        }
        std::string verdict = text(c, "verdict");
        std::string actual = "SKIPPED";
        const json& d = c.contains("driver_result") ? c["driver_result"] : json();
        if (verdict != "not-judged" && d.is_object() && d.contains("connected") &&
            d["connected"].is_boolean()) {
            actual = d["connected"].get<bool>() ? "SUCCESS" : "FAILURE";
        }
        std::string context = verdict + ": " + text(c, "label");
        if (std::string error = text(d, "error"); !error.empty()) {
            context += ": " + error.substr(0, 500);
        }
        doc["results"].push_back({{"id", "tlslab::" + protocol + "::" + text(c, "scenario")},
                                  {"actual_result", actual},
                                  {"context", context}});
    }
    return out;
}

} // namespace proxy::app::report
