#pragma once

// report.json (schemas/report-v1.schema.json): the summary of a run's cells and the document
// around them. The matrix builds cells; this file only counts and assembles, so the counts the
// terminal, the JSON and the HTML page show come from one place.

#include <string>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

inline constexpr const char* kReportFormat = "tlslab-matrix-report";
inline constexpr int kReportVersion = 1;

// summarise: {"cells", "passed", "failed", "verdicts": {every verdict: count}}.
nlohmann::json summarise(const nlohmann::json& cells);

// make_report: the whole document; `context` as the schema's context object.
nlohmann::json make_report(nlohmann::json context, nlohmann::json cells);

// is_report: a document this version of tlslab can read, or why not.
std::string why_not_a_report(const nlohmann::json& doc);

} // namespace proxy::app::report
