#pragma once

// Two matrix reports compared: the cells that changed verdict, grouped (now refuses, now
// accepts, now falls back to plaintext, same verdict but a different error text, ...), with the
// drivers' versions of both runs. A cell that got worse makes the comparison fail (tlslab diff
// exits 1), so a pipeline can gate on it.
//
// Theory of operation. Both reports are checked (format, version, cells) and their cells keyed
// by (protocol, driver, config, scenario). Drivers of the old run are first given the name they
// have in the new run: DiffOptions::driver_map, then the same name, then, for a protocol where
// each run has exactly one driver left, that one (an upgrade run under a new name). Paired
// cells are classified by their verdicts; a cell whose verdict did not change is compared by
// its label, its error code and its driver's error text with the volatile parts (ports,
// connection ids, addresses, times, durations, temporary paths) normalised away
// (error_text.h). Every changed cell is rated worse, better or neutral by the verdict's rank:
// downgraded is the worst, accepted-broken next, then refused-good, the two correct verdicts
// best; not-judged transitions are neutral. Diff::document holds everything; the text and HTML
// renderings (diff_render.h) read only the document.

#include <expected>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

struct DiffOptions {
    // Pairs a driver of the old run with a driver of the new one (tedious14 -> tedious19).
    // Without it, drivers pair by name; when each run has exactly one driver per protocol and
    // the names differ, those pair.
    std::map<std::string, std::string> driver_map;
    // How the reports are named in messages and in the document (their file names).
    std::string old_label = "old report";
    std::string new_label = "new report";
};

struct Diff {
    nlohmann::json document; // the comparison as JSON (what --json prints)
    bool worse = false;      // at least one cell got worse
};

// diff_reports compares two reports; an input that is not a version-1 tlslab matrix report is
// an error naming the report (its label) and what is wrong.
std::expected<Diff, std::string> diff_reports(const nlohmann::json& old_report,
                                              const nlohmann::json& new_report,
                                              const DiffOptions& options = {});

} // namespace proxy::app::report
