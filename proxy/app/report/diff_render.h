#pragma once

// The comparison of two matrix reports for people: a terminal text and a self-contained HTML
// page. Both read only Diff::document (the JSON that `tlslab diff --json` prints), never the
// reports, so the three forms cannot disagree.
//
// Theory of operation. A heading names both reports, each driver pairing with its versions
// ("tds  tedious 14.7.0 -> 19.2.2") and how it was made, and each run's tlslab version. Each
// non-empty group follows in the document's order, one line (text) or table row (HTML) per
// cell, marked worse or better; the error-text group shows both errors. In the text form a
// driver that only one run has is one line instead of one per cell, and an only-in group lists
// at most 20 cells. What drivers print is made harmless: control characters become spaces and
// long labels are cut (errors too in the text form); the page escapes everything. The summary
// line closes the text and opens the page.

#include <string>

#include <proxy/app/report/report_diff.h>

namespace proxy::app::report {

// render_diff_text is the terminal form: the drivers' versions, each non-empty group with a line
// per cell, a one-line verdict. colour adds ANSI colours (for a terminal only).
std::string render_diff_text(const Diff& diff, bool colour = false);

// render_diff_html is one self-contained page (inline CSS, no scripts fetched, no network).
std::string render_diff_html(const Diff& diff);

} // namespace proxy::app::report
