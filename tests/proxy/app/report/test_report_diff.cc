#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <proxy/app/report/diff_render.h>
#include <proxy/app/report/report_diff.h>

using nlohmann::json;
using proxy::app::report::diff_reports;
using proxy::app::report::DiffOptions;
using proxy::app::report::render_diff_html;
using proxy::app::report::render_diff_text;

namespace {

// A cell as report.json has it; the expectation follows from the verdict unless given.
json make_cell(const std::string& protocol, const std::string& driver, const std::string& config,
               const std::string& scenario, const std::string& verdict,
               const std::string& label = "", const std::string& error = "",
               const std::string& expected = "") {
    std::string expect = expected;
    if (expect.empty()) {
        expect = verdict == "accepted-correctly" || verdict == "refused-good" ? "accept" : "reject";
    }
    json passed = nullptr;
    if (verdict == "accepted-correctly" || verdict == "refused-correctly") {
        passed = true;
    } else if (verdict != "not-judged") {
        passed = false;
    }
    bool connected =
        verdict == "accepted-correctly" || verdict == "accepted-broken" || verdict == "downgraded";
    return {{"id", protocol + "/" + driver + "/" + config + "/" + scenario},
            {"protocol", protocol},
            {"scenario", scenario},
            {"driver", driver},
            {"config", config},
            {"expected", expect},
            {"verdict", verdict},
            {"passed", passed},
            {"label", label},
            {"driver_result",
             {{"connected", connected},
              {"error", error.empty() ? json(nullptr) : json(error)},
              {"error_code", nullptr}}},
            {"proxy", {{"sessions", 1}, {"outcome", nullptr}}}};
}

struct DriverSpec {
    std::string name;
    std::string protocol;
    std::string version;
    std::string client;
};

json make_report(const std::vector<DriverSpec>& drivers, const std::vector<json>& cells,
                 const std::string& started = "2026-01-05T10:00:00Z") {
    json ds = json::array();
    for (const auto& d : drivers) {
        ds.push_back({{"name", d.name},
                      {"protocol", d.protocol},
                      {"command", "probes/" + d.name + "/probe"},
                      {"builtin", true},
                      {"client", d.client.empty() ? json(nullptr) : json(d.client)},
                      {"version", d.version}});
    }
    return {{"format", "tlslab-matrix-report"},
            {"version", 1},
            {"context",
             {{"tlslab_version", "0.10.0"},
              {"os", "Debian GNU/Linux 12 (bookworm)"},
              {"started", started},
              {"finished", started},
              {"jobs", 1},
              {"lab", {{"mode", "in-process"}, {"ca", "/ca.pem"}, {"host", "localhost"}}},
              {"drivers", ds},
              {"configs", json::array()},
              {"catalogue", json::array()}}},
            {"summary", {{"cells", cells.size()}, {"passed", 0}, {"failed", 0}, {"verdicts", {}}}},
            {"cells", cells}};
}

const std::vector<DriverSpec> kTedious = {{"tedious", "tds", "19.2.2", "tedious 19.2.2 (npm)"}};

// The cells of one group of the document, by group id.
const json& group(const proxy::app::report::Diff& d, const std::string& id) {
    for (const auto& g : d.document["groups"]) {
        if (g["id"] == id) {
            return g["cells"];
        }
    }
    FAIL("no group " << id);
    static const json kNone;
    return kNone;
}

std::size_t changed_cells(const proxy::app::report::Diff& d) {
    std::size_t n = 0;
    for (const auto& g : d.document["groups"]) {
        n += g["cells"].size();
    }
    return n;
}

json read_vector(const std::string& name) {
    std::ifstream in(std::string(REPORT_VECTORS_DIR) + "/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

} // namespace

TEST_CASE("two identical reports have no changes and nothing worse", "[diff]") {
    auto report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "lab-ca", "expired", "refused-correctly", "cert-expired",
                   "Failed to connect to localhost:41000 - "
                   "certificate has expired")});
    auto d = diff_reports(report, report);
    REQUIRE(d);
    CHECK_FALSE(d->worse);
    CHECK(changed_cells(*d) == 0);
    CHECK(d->document["counts"]["compared"] == 2);
    CHECK(d->document["counts"]["unchanged"] == 2);
    CHECK(d->document["worse"] == false);
    CHECK(d->document["summary"] == "no cell changed (2 cells compared)");
}

TEST_CASE("now refuses: worse for a good certificate, better for a broken one", "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "trust", "expired", "accepted-broken", "ok TLSv1.3")});
    auto new_report = make_report(
        kTedious, {make_cell("tds", "tedious", "lab-ca", "valid", "refused-good", "cert-untrusted",
                             "unable to verify the first certificate"),
                   make_cell("tds", "tedious", "trust", "expired", "refused-correctly",
                             "cert-expired", "certificate has expired")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK(d->worse);
    const json& cells = group(*d, "now-refuses");
    REQUIRE(cells.size() == 2);
    CHECK(cells[0]["scenario"] == "valid");
    CHECK(cells[0]["direction"] == "worse");
    CHECK(cells[0]["old"]["verdict"] == "accepted-correctly");
    CHECK(cells[0]["new"]["verdict"] == "refused-good");
    CHECK(cells[0]["new"]["label"] == "cert-untrusted");
    CHECK(cells[0]["new"]["error"] == "unable to verify the first certificate");
    CHECK(cells[1]["scenario"] == "expired");
    CHECK(cells[1]["direction"] == "better");
    CHECK(d->document["counts"]["worse"] == 1);
    CHECK(d->document["counts"]["better"] == 1);
    CHECK(d->document["counts"]["now_refuses"] == 2);
}

TEST_CASE("now accepts: worse for a broken certificate, better for a good one", "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "wrong-host", "refused-correctly", "name-mismatch"),
         make_cell("tds", "tedious", "lab-ca", "valid", "refused-good", "cert-untrusted")});
    auto new_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "wrong-host", "accepted-broken", "ok TLSv1.2"),
         make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.2")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK(d->worse);
    const json& cells = group(*d, "now-accepts");
    REQUIRE(cells.size() == 2);
    CHECK(cells[0]["scenario"] == "wrong-host");
    CHECK(cells[0]["direction"] == "worse");
    CHECK(cells[1]["scenario"] == "valid");
    CHECK(cells[1]["direction"] == "better");
}

TEST_CASE("falling back to plaintext is worse, even from accepting a broken certificate; "
          "no longer falling back is better",
          "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "defaults", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "trust", "expired", "accepted-broken", "ok TLSv1.3"),
         make_cell("tds", "tedious", "defaults", "encrypt-off", "downgraded", "ok in clear")});
    auto new_report = make_report(
        kTedious, {make_cell("tds", "tedious", "defaults", "valid", "downgraded", "ok in clear"),
                   make_cell("tds", "tedious", "trust", "expired", "downgraded", "ok in clear"),
                   make_cell("tds", "tedious", "defaults", "encrypt-off", "refused-correctly",
                             "encrypt-refused", "Server requires encryption")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK(d->worse);
    const json& now = group(*d, "now-plaintext");
    REQUIRE(now.size() == 2);
    CHECK(now[0]["direction"] == "worse");
    CHECK(now[1]["direction"] == "worse");
    const json& no_longer = group(*d, "no-longer-plaintext");
    REQUIRE(no_longer.size() == 1);
    CHECK(no_longer[0]["scenario"] == "encrypt-off");
    CHECK(no_longer[0]["direction"] == "better");
}

TEST_CASE("only improvements: nothing is worse", "[diff]") {
    auto old_report = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                       "refused-good", "cert-untrusted")});
    auto new_report = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                       "accepted-correctly", "ok TLSv1.3")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK_FALSE(d->worse);
    CHECK(d->document["counts"]["better"] == 1);
    CHECK(d->document["summary"] == "0 cells got worse, 1 better, 0 changed text (1 cell "
                                    "compared)");
}

TEST_CASE("the same error with other ports, ids and times is no change; another text is",
          "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "untrusted-root", "refused-correctly",
                   "cert-untrusted",
                   "Failed to connect to localhost:14331 - unable to verify the first certificate"),
         make_cell("tds", "tedious", "lab-ca", "expired", "refused-correctly", "cert-expired",
                   "Failed to connect to localhost:14332 - certificate has expired")});
    auto new_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "untrusted-root", "refused-correctly",
                   "cert-untrusted",
                   "Failed to connect to localhost:40117 - unable to verify the first certificate"),
         make_cell("tds", "tedious", "lab-ca", "expired", "refused-correctly", "cert-expired",
                   "Failed to connect to localhost:40118 - CERT_HAS_EXPIRED: the certificate "
                   "expired")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK_FALSE(d->worse);
    const json& cells = group(*d, "error-text");
    REQUIRE(cells.size() == 1);
    CHECK(cells[0]["scenario"] == "expired");
    CHECK(cells[0]["direction"] == "neutral");
    CHECK(cells[0]["old"]["error"] ==
          "Failed to connect to localhost:14332 - certificate has expired");
    CHECK(d->document["counts"]["unchanged"] == 1);
    CHECK(d->document["counts"]["error_text"] == 1);

    auto text = render_diff_text(*d);
    CHECK(text.find("same verdict, different error text (1)") != std::string::npos);
    CHECK(text.find("old: Failed to connect to localhost:14332 - certificate has expired") !=
          std::string::npos);
    CHECK(text.find("new: Failed to connect to localhost:40118 - CERT_HAS_EXPIRED") !=
          std::string::npos);
    CHECK(text.find("0 cells got worse, 0 better, 1 changed text") != std::string::npos);
}

TEST_CASE("a new label with the same verdict is shown with the error-text changes", "[diff]") {
    auto old_report = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                       "accepted-correctly", "ok TLSv1.2")});
    auto new_report = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                       "accepted-correctly", "ok TLSv1.3")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    REQUIRE(group(*d, "error-text").size() == 1);
    CHECK(render_diff_text(*d).find("accepted-correctly (ok TLSv1.2) -> accepted-correctly (ok "
                                    "TLSv1.3)") != std::string::npos);
}

TEST_CASE("not-judged transitions are shown and neutral", "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "trust", "wrong-host", "not-judged", "timed out"),
         make_cell("tds", "tedious", "trust", "valid", "accepted-correctly", "ok TLSv1.3")});
    auto new_report = make_report(
        kTedious, {make_cell("tds", "tedious", "trust", "wrong-host", "accepted-broken", "ok"),
                   make_cell("tds", "tedious", "trust", "valid", "not-judged", "not installed")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK_FALSE(d->worse);
    REQUIRE(group(*d, "now-judged").size() == 1);
    CHECK(group(*d, "now-judged")[0]["scenario"] == "wrong-host");
    CHECK(group(*d, "now-judged")[0]["direction"] == "neutral");
    REQUIRE(group(*d, "no-longer-judged").size() == 1);
    CHECK(group(*d, "no-longer-judged")[0]["scenario"] == "valid");
    CHECK(group(*d, "no-longer-judged")[0]["new"]["passed"].is_null());
}

TEST_CASE("scenarios and configurations one run lacks are listed, not judged", "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "lab-ca", "sha1-signed", "refused-correctly", "cert-weak")});
    auto new_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "strict", "valid", "refused-good", "cert-untrusted")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK_FALSE(d->worse);
    REQUIRE(group(*d, "only-in-old").size() == 1);
    CHECK(group(*d, "only-in-old")[0]["scenario"] == "sha1-signed");
    CHECK(group(*d, "only-in-old")[0]["new"].is_null());
    REQUIRE(group(*d, "only-in-new").size() == 1);
    CHECK(group(*d, "only-in-new")[0]["config"] == "strict");
    CHECK(group(*d, "only-in-new")[0]["old"].is_null());
    auto text = render_diff_text(*d);
    CHECK(text.find("only in old (1)") != std::string::npos);
    CHECK(text.find("only in new (1)") != std::string::npos);
}

TEST_CASE("drivers pair by name, by --map, or as each run's only driver of a protocol", "[diff]") {
    auto cell = [](const std::string& driver, const std::string& verdict) {
        return make_cell("tds", driver, "lab-ca", "valid", verdict, "");
    };

    SECTION("the only tds driver of each run pairs under another name") {
        auto old_report = make_report({{"tedious14", "tds", "14.7.0", "tedious 14.7.0 (npm)"}},
                                      {cell("tedious14", "accepted-correctly")});
        auto new_report = make_report({{"tedious19", "tds", "19.2.2", "tedious 19.2.2 (npm)"}},
                                      {cell("tedious19", "refused-good")});
        auto d = diff_reports(old_report, new_report);
        REQUIRE(d);
        CHECK(d->worse);
        REQUIRE(d->document["pairing"].size() == 1);
        CHECK(d->document["pairing"][0]["old"] == "tedious14");
        CHECK(d->document["pairing"][0]["new"] == "tedious19");
        CHECK(d->document["pairing"][0]["how"] == "only-driver");
        REQUIRE(group(*d, "now-refuses").size() == 1);
        CHECK(group(*d, "now-refuses")[0]["old"]["id"] == "tds/tedious14/lab-ca/valid");
        CHECK(group(*d, "now-refuses")[0]["id"] == "tds/tedious19/lab-ca/valid");
        auto text = render_diff_text(*d);
        CHECK(text.find("tedious 14.7.0 -> 19.2.2") != std::string::npos);
        CHECK(text.find("paired as each run's only tds driver") != std::string::npos);
    }
    SECTION("with two drivers in a run, other names do not pair by themselves") {
        auto old_report =
            make_report({{"tedious14", "tds", "14.7.0", ""}, {"odbc", "tds", "18.5", ""}},
                        {cell("tedious14", "accepted-correctly"), cell("odbc", "refused-good")});
        auto new_report =
            make_report({{"tedious19", "tds", "19.2.2", ""}, {"odbc", "tds", "18.5", ""}},
                        {cell("tedious19", "refused-good"), cell("odbc", "refused-good")});
        auto d = diff_reports(old_report, new_report);
        REQUIRE(d);
        CHECK_FALSE(d->worse);
        CHECK(group(*d, "only-in-old").size() == 1);
        CHECK(group(*d, "only-in-new").size() == 1);
        CHECK(d->document["counts"]["compared"] == 1); // odbc, by name
        auto text = render_diff_text(*d);
        INFO(text);
        CHECK(text.find("tedious14 14.7.0  (only in the old run; --map tedious14=tedious19 "
                        "compares it)") != std::string::npos);
        CHECK(text.find("tds/tedious14  1 cell: the driver is only in the old run") !=
              std::string::npos);

        DiffOptions options;
        options.driver_map["tedious14"] = "tedious19";
        auto mapped = diff_reports(old_report, new_report, options);
        REQUIRE(mapped);
        CHECK(mapped->worse);
        CHECK(mapped->document["counts"]["compared"] == 2);
        CHECK(group(*mapped, "only-in-old").empty());
        bool found = false;
        for (const auto& p : mapped->document["pairing"]) {
            if (p["old"] == "tedious14") {
                found = true;
                CHECK(p["new"] == "tedious19");
                CHECK(p["how"] == "map");
            }
        }
        CHECK(found);
        CHECK(render_diff_text(*mapped).find("paired by --map") != std::string::npos);
    }
    SECTION("a map naming a driver a run does not have is an error naming it") {
        auto report = make_report({{"tedious14", "tds", "14.7.0", ""}},
                                  {cell("tedious14", "accepted-correctly")});
        DiffOptions options;
        options.old_label = "old/report.json";
        options.new_label = "new/report.json";
        options.driver_map["tedious9"] = "tedious14";
        auto d = diff_reports(report, report, options);
        REQUIRE_FALSE(d);
        CHECK(d.error().find("old/report.json has no driver tedious9") != std::string::npos);
        CHECK(d.error().find("tedious14") != std::string::npos);
        options.driver_map.clear();
        options.driver_map["tedious14"] = "tedious19";
        d = diff_reports(report, report, options);
        REQUIRE_FALSE(d);
        CHECK(d.error().find("new/report.json has no tds driver tedious19") != std::string::npos);
    }
}

TEST_CASE("the text form: versions in the heading, a line per cell, colour only when asked",
          "[diff]") {
    auto old_report = make_report(
        {{"tedious", "tds", "14.7.0", "tedious 14.7.0 (npm)"}},
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.2")});
    auto new_report = make_report(
        kTedious, {make_cell("tds", "tedious", "lab-ca", "valid", "refused-good", "cert-untrusted",
                             "unable to verify the first certificate\x1b[2J")});
    DiffOptions options;
    options.old_label = "old/report.json";
    options.new_label = "new/report.json";
    auto d = diff_reports(old_report, new_report, options);
    REQUIRE(d);
    auto text = render_diff_text(*d);
    INFO(text);
    CHECK(text.starts_with("tlslab diff: old/report.json -> new/report.json\n"));
    CHECK(text.find("  tds  tedious 14.7.0 -> 19.2.2\n") != std::string::npos);
    CHECK(text.find("\nnow refuses (1)\n") != std::string::npos);
    CHECK(text.find("worse   valid  lab-ca  accepted-correctly (ok TLSv1.2) -> refused-good "
                    "(cert-untrusted)") != std::string::npos);
    CHECK(text.find("1 cell got worse, 0 better, 0 changed text") != std::string::npos);
    CHECK(text.find('\x1b') == std::string::npos);
    auto coloured = render_diff_text(*d, true);
    CHECK(coloured.find("\x1b[31;1mworse") != std::string::npos);
}

TEST_CASE("the HTML form is self-contained, escapes what drivers print, colours the rows",
          "[diff]") {
    auto old_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "accepted-correctly", "ok TLSv1.3"),
         make_cell("tds", "tedious", "lab-ca", "expired", "accepted-broken", "ok TLSv1.3")});
    auto new_report = make_report(
        kTedious,
        {make_cell("tds", "tedious", "lab-ca", "valid", "refused-good", "cert-untrusted",
                   "<script>alert(1)</script>"),
         make_cell("tds", "tedious", "lab-ca", "expired", "refused-correctly", "cert-expired")});
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    auto html = render_diff_html(*d);
    CHECK(html.starts_with("<!DOCTYPE html>"));
    CHECK(html.find("<style>") != std::string::npos);
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<tr class=\"worse\"") != std::string::npos);
    CHECK(html.find("<tr class=\"better\"") != std::string::npos);
    CHECK(html.find("now refuses (2)") != std::string::npos);
    CHECK(html.find("1 cell got worse, 1 better") != std::string::npos);
}

TEST_CASE("what is not a version-1 report is an error value naming the file", "[diff]") {
    auto good = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                 "accepted-correctly", "ok TLSv1.3")});
    DiffOptions options;
    options.old_label = "a.json";
    options.new_label = "b.json";
    auto error_for = [&](const json& bad) {
        auto d = diff_reports(good, bad, options);
        REQUIRE_FALSE(d);
        return d.error();
    };
    CHECK(error_for(json::array()).starts_with("b.json: not a tlslab matrix report"));
    CHECK(error_for(json("text")).starts_with("b.json: not a tlslab matrix report"));
    json bad = good;
    bad.erase("format");
    CHECK(error_for(bad) == "b.json: not a tlslab matrix report (no \"format\" field)");
    bad = good;
    bad["format"] = "x509-limbo";
    CHECK(error_for(bad).find("\"format\" is \"x509-limbo\"") != std::string::npos);
    bad = good;
    bad["version"] = 2;
    CHECK(error_for(bad) == "b.json: report format version 2, this tlslab reads version 1");
    bad["version"] = "1";
    CHECK(error_for(bad).find("report format version \"1\"") != std::string::npos);
    bad = good;
    bad.erase("cells");
    CHECK(error_for(bad) == "b.json: the report has no \"cells\" array");
    bad["cells"] = json::object();
    CHECK(error_for(bad) == "b.json: the report has no \"cells\" array");
    bad = good;
    bad["cells"][0].erase("verdict");
    CHECK(error_for(bad) == "b.json: cells[0] has no \"verdict\" string");
    bad = good;
    bad["cells"][0]["verdict"] = "maybe";
    CHECK(error_for(bad).find("cells[0]: \"verdict\" is \"maybe\", not one of") !=
          std::string::npos);
    bad = good;
    bad["cells"][0]["scenario"] = 7;
    CHECK(error_for(bad) == "b.json: cells[0] has no \"scenario\" string");
    bad = good;
    bad["cells"].push_back(good["cells"][0]);
    CHECK(error_for(bad) == "b.json: cells[1] repeats the cell tds/tedious/lab-ca/valid");
    bad = good;
    bad["cells"].push_back(42);
    CHECK(error_for(bad) == "b.json: cells[1] is not an object");
    // The old report is checked too, under its own name.
    auto d = diff_reports(json::object(), good, options);
    REQUIRE_FALSE(d);
    CHECK(d.error().starts_with("a.json: "));
}

TEST_CASE("fields a report adds later, or types it gets wrong where they do not matter, are "
          "ignored",
          "[diff]") {
    auto old_report = make_report(kTedious, {make_cell("tds", "tedious", "lab-ca", "valid",
                                                       "accepted-correctly", "ok TLSv1.3")});
    auto new_report = old_report;
    new_report["future_field"] = {{"x", 1}};
    new_report["cells"][0]["future_cell_field"] = json::array({1, 2});
    new_report["cells"][0]["driver_result"]["error"] = 17;
    new_report["context"]["drivers"] = "not an array";
    new_report["context"].erase("tlslab_version");
    auto d = diff_reports(old_report, new_report);
    REQUIRE(d);
    CHECK(changed_cells(*d) == 0);
    CHECK(d->document["new"]["tlslab_version"].is_null());
    // The driver is known from its cells when the context does not list it.
    CHECK(d->document["new"]["drivers"].size() == 1);
    CHECK_FALSE(render_diff_text(*d).empty());
    CHECK_FALSE(render_diff_html(*d).empty());
}

TEST_CASE("a real report against a rerun with new ports and one driver upgrade", "[diff]") {
    // report-small.json: tedious19, odbc and psycopg2 against five scenarios.
    json old_report = read_vector("report-small.json");
    json new_report = old_report;
    // The rerun: every listener on another port, as every run has.
    for (auto& c : new_report["cells"]) {
        auto& error = c["driver_result"]["error"];
        if (error.is_string()) {
            std::string text = error.get<std::string>();
            for (std::string port : {"14331", "14332", "15433", "15434", "15435"}) {
                auto at = text.find(port);
                if (at != std::string::npos) {
                    text.replace(at, port.size(), "4" + port.substr(1));
                }
            }
            error = text;
        }
    }
    auto rerun = diff_reports(old_report, new_report);
    REQUIRE(rerun);
    CHECK(changed_cells(*rerun) == 0);
    CHECK(rerun->document["counts"]["compared"] == old_report["cells"].size());

    // psycopg2 with prefer now refuses an untrusted root (an upgrade that verifies by default).
    for (auto& c : new_report["cells"]) {
        if (c["id"] == "postgres/psycopg2/prefer/untrusted-root") {
            c["verdict"] = "refused-correctly";
            c["passed"] = true;
            c["label"] = "cert-untrusted";
            c["driver_result"]["connected"] = false;
            c["driver_result"]["error"] = "SSL error: certificate verify failed";
        }
        if (c["id"] == "tds/tedious19/lab-ca/wrong-host") {
            c["verdict"] = "accepted-broken";
            c["passed"] = false;
            c["label"] = "ok TLSv1.2";
        }
    }
    auto upgrade = diff_reports(old_report, new_report);
    REQUIRE(upgrade);
    CHECK(upgrade->worse);
    REQUIRE(group(*upgrade, "now-refuses").size() == 1);
    CHECK(group(*upgrade, "now-refuses")[0]["direction"] == "better");
    REQUIRE(group(*upgrade, "now-accepts").size() == 1);
    CHECK(group(*upgrade, "now-accepts")[0]["id"] == "tds/tedious19/lab-ca/wrong-host");
    CHECK(group(*upgrade, "now-accepts")[0]["direction"] == "worse");
    auto text = render_diff_text(*upgrade);
    INFO(text);
    CHECK(text.find("tedious19 19.2.2 -> 19.2.2") != std::string::npos);
    CHECK(text.find("1 cell got worse, 1 better, 0 changed text (24 cells compared)") !=
          std::string::npos);
}
