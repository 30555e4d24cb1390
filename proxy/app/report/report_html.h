#pragma once

// The matrix report as one self-contained HTML page: no network, no CDN, every style and script
// inline. Scenarios down, driver x configuration across, each cell coloured by its verdict with
// a short label and its details on hover or click; the summary on top; each scenario's seed
// wording (what SSMS / SqlClient / ODBC / JDBC users see).
//
// Theory of operation. Everything a reader needs is rendered here, server side: the run's
// context, the summary (the numbers of report["summary"]), one table per protocol, the legend
// and, on each cell, a tooltip with its details. The page reads and prints without JavaScript.
// The report itself is embedded as JSON (every '<', '>', '&', U+2028 and U+2029 escaped, so no
// text in it can end the script element); the page's script, which installs an error handler
// before anything else runs, recounts the verdicts from the embedded cells and shows a banner
// when they disagree with the summary written here, opens a details dialog on a click and
// filters rows. When its checks are done it sets <body data-ready="1" data-errors="N">, and
// every script error is listed in <pre id="page-errors">: a headless browser test reads both.
// Every text from the report is HTML-escaped and made valid UTF-8; a report that lacks optional
// fields, or has none of its cells, still renders; a malformed one renders what it can.

#include <string>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

// render_report_html: `report` is a report.json document (schemas/report-v1.schema.json).
std::string render_report_html(const nlohmann::json& report);

} // namespace proxy::app::report
