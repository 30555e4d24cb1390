#pragma once

// Two matrix reports compared: the cells that changed verdict, grouped (now refuses, now
// accepts, now falls back to plaintext, same verdict but a different error text, ...), with the
// drivers' versions of both runs. A cell that got worse makes the comparison fail (tlslab diff
// exits 1), so a pipeline can gate on it.

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
};

struct Diff {
    nlohmann::json document; // the comparison as JSON (what --json prints)
    bool worse = false;      // at least one cell got worse
};

std::expected<Diff, std::string> diff_reports(const nlohmann::json& old_report,
                                              const nlohmann::json& new_report,
                                              const DiffOptions& options = {});
std::string render_diff_text(const Diff& diff);
std::string render_diff_html(const Diff& diff);

} // namespace proxy::app::report
