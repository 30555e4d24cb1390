#pragma once

// The matrix report as one self-contained HTML page: no network, no CDN, every style and script
// inline. Scenarios down, driver x configuration across, each cell coloured by its verdict with
// a short label and its details on hover or click; the summary on top; each scenario's seed
// wording (what SSMS / SqlClient / ODBC / JDBC users see).

#include <string>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

// render_report_html: `report` is a report.json document (schemas/report-v1.schema.json).
std::string render_report_html(const nlohmann::json& report);

} // namespace proxy::app::report
