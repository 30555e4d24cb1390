#pragma once

// The matrix's results in x509-limbo's result format, so limbo's tooling (render-summary.py,
// the x509-limbo.com layout) reads our runs too: one document per harness, where a harness is
// one driver in one configuration ("tlslab-tds-tedious19-19.2.2-lab-ca"):
//   {"version": 1, "harness": NAME, "results": [{"id", "actual_result", "context"}]}
// actual_result: SUCCESS (logged in), FAILURE (refused), SKIPPED (not judged); id
// "tlslab::PROTOCOL::SCENARIO"; context: the verdict, the label and the driver's error.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

// limbo_results: file stem ("tedious19--lab-ca") -> document, from a report.json.
std::map<std::string, nlohmann::json> limbo_results(const nlohmann::json& report);

} // namespace proxy::app::report
