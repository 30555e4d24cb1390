#include <proxy/app/report/report_json.h>
#include <proxy/app/report/verdict.h>

namespace proxy::app::report {

using json = nlohmann::json;

json summarise(const json& cells) {
    json verdicts = json::object();
    for (auto v : kAllVerdicts) {
        verdicts[to_string(v)] = 0;
    }
    int passed_count = 0;
    int failed_count = 0;
    int total = 0;
    if (cells.is_array()) {
        for (const auto& c : cells) {
            if (!c.is_object() || !c.contains("verdict") || !c["verdict"].is_string()) {
                continue;
            }
            auto v = verdict_from_string(c["verdict"].get<std::string>());
            if (!v) {
                continue;
            }
            ++total;
            verdicts[to_string(*v)] = verdicts[to_string(*v)].get<int>() + 1;
            auto p = passed(*v);
            if (p && *p) {
                ++passed_count;
            } else if (p) {
                ++failed_count;
            }
        }
    }
    return {{"cells", total},
            {"passed", passed_count},
            {"failed", failed_count},
            {"verdicts", verdicts}};
}

json make_report(json context, json cells) {
    json summary = summarise(cells);
    return {{"format", kReportFormat},
            {"version", kReportVersion},
            {"context", std::move(context)},
            {"summary", std::move(summary)},
            {"cells", std::move(cells)}};
}

std::string why_not_a_report(const json& doc) {
    if (!doc.is_object()) {
        return "not a JSON object";
    }
    if (!doc.contains("format") || doc["format"] != kReportFormat) {
        return "not a tlslab matrix report (\"format\" is not \"tlslab-matrix-report\")";
    }
    if (!doc.contains("version") || !doc["version"].is_number_integer()) {
        return "no \"version\"";
    }
    if (doc["version"].get<int>() != kReportVersion) {
        return "report version " + doc["version"].dump() + "; this tlslab reads version " +
               std::to_string(kReportVersion);
    }
    if (!doc.contains("cells") || !doc["cells"].is_array()) {
        return "no \"cells\" array";
    }
    if (!doc.contains("context") || !doc["context"].is_object()) {
        return "no \"context\" object";
    }
    return {};
}

} // namespace proxy::app::report
