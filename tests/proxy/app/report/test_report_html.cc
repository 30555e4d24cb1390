#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <proxy/app/report/report_html.h>

using nlohmann::json;
using proxy::app::report::render_report_html;

namespace {

json load_report(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    return json::parse(in);
}

json small_report() {
    return load_report(REPORT_VECTORS_DIR "/report-small.json");
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

// The text of <span ... data-summary="KEY">N</span>.
std::string summary_number(const std::string& page, const std::string& key) {
    const std::regex pattern("data-summary=\"" + key + "\">([^<]*)<");
    std::smatch match;
    REQUIRE(std::regex_search(page, match, pattern));
    return match[1];
}

struct ShownCell {
    std::string td_class;
    std::string verdict;
};

// Every rendered cell button, by its data-cell index, with its <td>'s class.
std::multimap<std::size_t, ShownCell> shown_cells(const std::string& page) {
    const std::regex pattern("<td class=\"([^\"]*)\">((?:<button type=\"button\" class=\"cell\" "
                             "data-cell=\"[0-9]+\" data-verdict=\"[^\"]*\"[^>]*>[^<]*</button>)+)");
    const std::regex button("data-cell=\"([0-9]+)\" data-verdict=\"([^\"]*)\"");
    std::multimap<std::size_t, ShownCell> cells;
    for (auto td = std::sregex_iterator(page.begin(), page.end(), pattern);
         td != std::sregex_iterator(); ++td) {
        const std::string buttons = (*td)[2];
        for (auto b = std::sregex_iterator(buttons.begin(), buttons.end(), button);
             b != std::sregex_iterator(); ++b) {
            cells.emplace(std::stoul((*b)[1]), ShownCell{(*td)[1], (*b)[2]});
        }
    }
    return cells;
}

bool banner_hidden(const std::string& page) {
    return page.find(
               "<div id=\"summary-mismatch\" class=\"banner error\" role=\"alert\" hidden>") !=
           std::string::npos;
}

} // namespace

TEST_CASE("the report page shows every cell once, coloured by its verdict",
          "[report][report_html]") {
    const json report = small_report();
    const std::string page = render_report_html(report);
    const json& cells = report["cells"];
    REQUIRE(cells.size() == 24);

    const auto shown = shown_cells(page);
    CHECK(shown.size() == cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i) {
        INFO("cell " << i << " " << cells[i]["id"].get<std::string>());
        REQUIRE(shown.count(i) == 1);
        const ShownCell& cell = shown.find(i)->second;
        const std::string verdict = cells[i]["verdict"];
        CHECK(cell.verdict == verdict);
        CHECK(cell.td_class.find("v-" + verdict) != std::string::npos);
        CHECK(page.find(">" + cells[i]["label"].get<std::string>() + "</button>") !=
              std::string::npos);
    }
    // All six verdicts are in the vector, so all six colours are on the page.
    for (const char* verdict : {"accepted-correctly", "refused-correctly", "accepted-broken",
                                "refused-good", "downgraded", "not-judged"}) {
        INFO(verdict);
        CHECK(report["summary"]["verdicts"][verdict].get<int>() > 0);
        CHECK(page.find(std::string(" v-") + verdict + "\"><button") != std::string::npos);
    }
}

TEST_CASE("the report page's summary numbers are the report's", "[report][report_html]") {
    const json report = small_report();
    const std::string page = render_report_html(report);
    const json& summary = report["summary"];
    CHECK(summary_number(page, "cells") == std::to_string(summary["cells"].get<int>()));
    CHECK(summary_number(page, "passed") == std::to_string(summary["passed"].get<int>()));
    CHECK(summary_number(page, "failed") == std::to_string(summary["failed"].get<int>()));
    for (const auto& [verdict, count] : summary["verdicts"].items()) {
        INFO(verdict);
        CHECK(summary_number(page, verdict) == std::to_string(count.get<int>()));
    }
    CHECK(banner_hidden(page));

    SECTION("a summary that disagrees with the cells shows the error banner") {
        json tampered = report;
        tampered["summary"]["verdicts"]["accepted-broken"] = 4;
        const std::string bad = render_report_html(tampered);
        CHECK(summary_number(bad, "accepted-broken") == "4");
        CHECK_FALSE(banner_hidden(bad));
        CHECK(bad.find("accepted-broken: the summary says 4, the cells say 5") !=
              std::string::npos);
    }
    SECTION("a report without a summary shows dashes and the banner") {
        json tampered = report;
        tampered.erase("summary");
        const std::string bad = render_report_html(tampered);
        CHECK(summary_number(bad, "cells") == "\xE2\x80\x93");
        CHECK_FALSE(banner_hidden(bad));
    }
}

TEST_CASE("the report page lays scenarios down and driver x configuration across",
          "[report][report_html]") {
    const json report = small_report();
    const std::string page = render_report_html(report);
    // One table per protocol, TDS first.
    const std::size_t tds = page.find("data-protocol=\"tds\"");
    const std::size_t postgres = page.find("data-protocol=\"postgres\"");
    REQUIRE(tds != std::string::npos);
    REQUIRE(postgres != std::string::npos);
    CHECK(tds < postgres);
    CHECK(count_of(page, "<table>") == 2);
    // Rows in catalogue order; a scenario of one protocol only is not in the other's table.
    const std::string tds_table = page.substr(tds, postgres - tds);
    const std::string postgres_table = page.substr(postgres);
    std::size_t last = 0;
    for (const char* scenario : {"valid", "untrusted-root", "wrong-host", "encrypt-off"}) {
        INFO(scenario);
        const std::size_t at =
            tds_table.find(std::string("<span class=\"scn-name\">") + scenario + "<");
        REQUIRE(at != std::string::npos);
        CHECK(at > last);
        last = at;
    }
    CHECK(tds_table.find("pg-ssl-refused") == std::string::npos);
    CHECK(postgres_table.find("<span class=\"scn-name\">pg-ssl-refused<") != std::string::npos);
    CHECK(postgres_table.find("<span class=\"scn-name\">encrypt-off<") == std::string::npos);
    // Two header rows: the driver with its version over its configurations.
    CHECK(tds_table.find("colspan=\"2\" title=\"tedious 19.2.2 (npm)\">tedious19 <span "
                         "class=\"ver\">19.2.2</span></th>") != std::string::npos);
    CHECK(tds_table.find(">lab-ca</th>") != std::string::npos);
    CHECK(postgres_table.find(">verify-full</th>") != std::string::npos);
    // The seed wording of untrusted-root, under the scenario, collapsible.
    CHECK(tds_table.find("<details class=\"seed\"><summary>what users see: SSMS / SqlClient "
                         "(Windows), ODBC Driver 18 (Windows), mssql-jdbc</summary>") !=
          std::string::npos);
    CHECK(tds_table.find("The certificate chain was issued by an authority that is not "
                         "trusted.) (Microsoft SQL Server, Error: -2146893019)") !=
          std::string::npos);
    // The context in the heading.
    CHECK(page.find("<dt>tlslab</dt><dd>0.10.0</dd>") != std::string::npos);
    CHECK(page.find("<dt>lab</dt><dd>in-process, dials localhost</dd>") != std::string::npos);
    CHECK(page.find("<dt>run</dt><dd>2026-11-29 09:14:00 UTC") != std::string::npos);
}

TEST_CASE("the report page is self-contained", "[report][report_html]") {
    const std::string page = render_report_html(small_report());
    for (const char* outside : {"<link", " src=", " href=", "@import", "url(", "<iframe", "<img",
                                "<object", "<embed", "fetch(", "XMLHttpRequest"}) {
        INFO(outside);
        CHECK(page.find(outside) == std::string::npos);
    }
    // The only address on the page is the one in ODBC Driver 18's error text (data, as text).
    CHECK(count_of(page, "http://") == 0);
    CHECK(count_of(page, "https://") ==
          count_of(page, "https://go.microsoft.com/fwlink/?linkid=2226722"));
    CHECK(count_of(page, "<script") == 3);

    json without_data = small_report();
    without_data["cells"] = json::array();
    without_data["context"]["catalogue"] = json::array();
    const std::string bare = render_report_html(without_data);
    CHECK(bare.find("http:") == std::string::npos);
    CHECK(bare.find("https:") == std::string::npos);
    CHECK(bare.find("src=\"//") == std::string::npos);
}

TEST_CASE("the report page escapes every text from the report", "[report][report_html]") {
    json report = small_report();
    const std::string script_breaker = "</script><script>alert(1)</script>";
    json& cell = report["cells"][1];
    cell["driver_result"]["error"] = script_breaker + "\n<img src=x onerror=alert(2)> & \"q\" 'a'" +
                                     "\xE2\x80\xA8 line separator, <!-- comment";
    cell["driver_result"]["error_code"] = "<b>code</b>";
    cell["label"] = "<i>label</i>";
    cell["proxy"]["exposed"] = json::array({"<svg onload=alert(3)>"});
    report["context"]["os"] = "Linux \"><script>alert(4)</script>";
    report["context"]["catalogue"][1]["seed"][0]["text"] = script_breaker;
    report["context"]["configs"][0]["description"] = "\"><svg onload=alert(5)>";
    report["context"]["drivers"][0]["version"] = std::string("19\xFF\xC0\x80 bad utf-8");
    const std::string page = render_report_html(report);

    CHECK(count_of(page, "<script") == 3);
    CHECK(count_of(page, "</script>") == 3);
    CHECK(page.find("<img") == std::string::npos);
    CHECK(page.find("<svg") == std::string::npos);
    CHECK(page.find("<b>code") == std::string::npos);
    CHECK(page.find("<i>label") == std::string::npos);
    CHECK(page.find("<!-- comment") == std::string::npos);
    CHECK(page.find("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(page.find(">&lt;i&gt;label&lt;/i&gt;</button>") != std::string::npos);
    CHECK(page.find("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)") != std::string::npos);
    // Invalid UTF-8 becomes U+FFFD, in the HTML and in the embedded JSON.
    CHECK(page.find('\xFF') == std::string::npos);
    CHECK(page.find("19\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD bad utf-8") != std::string::npos);
    // The embedded data is still the report: the same JSON, once unescaped.
    const std::size_t start = page.find("id=\"report-data\">") + 17;
    const std::size_t end = page.find("</script>", start);
    const std::string data = page.substr(start, end - start);
    CHECK(data.find("\xE2\x80\xA8") == std::string::npos);
    CHECK(data.find("\\u2028 line separator") != std::string::npos);
    const json embedded = json::parse(data);
    CHECK(embedded["cells"][1]["driver_result"]["error"] == cell["driver_result"]["error"]);
}

TEST_CASE("the report page renders reports with no cells or few fields", "[report][report_html]") {
    SECTION("no cells") {
        json report = small_report();
        report["cells"] = json::array();
        report["summary"] = {{"cells", 0},
                             {"passed", 0},
                             {"failed", 0},
                             {"verdicts",
                              {{"accepted-correctly", 0},
                               {"refused-correctly", 0},
                               {"accepted-broken", 0},
                               {"refused-good", 0},
                               {"downgraded", 0},
                               {"not-judged", 0}}}};
        const std::string page = render_report_html(report);
        CHECK(shown_cells(page).empty());
        CHECK(summary_number(page, "cells") == "0");
        CHECK(banner_hidden(page));
        // The tables still show the drivers and scenarios, every cell "not run".
        CHECK(count_of(page, "<table>") == 2);
        CHECK(count_of(page, "title=\"not run\"") == 24);
    }
    SECTION("cells with the required fields only, and no context") {
        const json report = {{"format", "tlslab-matrix-report"},
                             {"version", 1},
                             {"summary",
                              {{"cells", 1},
                               {"passed", 0},
                               {"failed", 1},
                               {"verdicts",
                                {{"accepted-correctly", 0},
                                 {"refused-correctly", 0},
                                 {"accepted-broken", 1},
                                 {"refused-good", 0},
                                 {"downgraded", 0},
                                 {"not-judged", 0}}}}},
                             {"cells",
                              {{{"id", "mysql/mine/defaults/expired"},
                                {"protocol", "mysql"},
                                {"scenario", "expired"},
                                {"driver", "mine"},
                                {"config", "defaults"},
                                {"expected", "reject"},
                                {"verdict", "accepted-broken"},
                                {"passed", false},
                                {"label", "ok TLSv1.3"},
                                {"driver_result", {{"connected", true}}},
                                {"proxy", {{"sessions", 1}, {"outcome", nullptr}}}}}}};
        const std::string page = render_report_html(report);
        const auto shown = shown_cells(page);
        REQUIRE(shown.size() == 1);
        CHECK(shown.begin()->second.verdict == "accepted-broken");
        CHECK(page.find("MySQL / MariaDB") != std::string::npos);
        CHECK(banner_hidden(page));
    }
    SECTION("malformed documents render without throwing") {
        for (const json& document :
             {json(), json::array({1, 2}), json("text"),
              json({{"cells", {1, "x", json::object(), {{"verdict", 7}, {"driver", {1}}}}},
                    {"context", {{"drivers", "no"}, {"catalogue", {{{"seed", "no"}}}}}},
                    {"summary", {{"verdicts", {{"not-judged", "many"}}}}}})}) {
            INFO(document.dump());
            std::string page;
            REQUIRE_NOTHROW(page = render_report_html(document));
            CHECK(page.rfind("<!doctype html>", 0) == 0);
            CHECK(page.find("</html>") != std::string::npos);
        }
    }
}

// Not a check: writes the page of a report for tests/integration/test_report_html.py, which
// loads it in headless Chromium. TLSLAB_HTML_REPORT: the report.json (default: the small
// vector); TLSLAB_HTML_OUT: where to write the page.
TEST_CASE("export a report page for the browser test", "[.html-export]") {
    const char* out_path = std::getenv("TLSLAB_HTML_OUT");
    REQUIRE(out_path != nullptr);
    const char* report_path = std::getenv("TLSLAB_HTML_REPORT");
    const json report = report_path != nullptr ? load_report(report_path) : small_report();
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    REQUIRE(out.good());
    out << render_report_html(report);
    out.close();
    REQUIRE(out.good());
}
