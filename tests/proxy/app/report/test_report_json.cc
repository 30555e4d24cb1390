// report.json's summary and validity check, and the x509-limbo export.

#include <catch2/catch.hpp>

#include <proxy/app/report/limbo_export.h>
#include <proxy/app/report/report_json.h>

using namespace proxy::app::report;
using json = nlohmann::json;

namespace {

json cell(const std::string& scenario, const std::string& verdict, std::optional<bool> connected,
          const std::string& error = "") {
    return {{"id", "tds/tedious19/lab-ca/" + scenario},
            {"protocol", "tds"},
            {"scenario", scenario},
            {"driver", "tedious19"},
            {"config", "lab-ca"},
            {"verdict", verdict},
            {"label", verdict == "refused-correctly" ? "cert-expired" : "ok TLSv1.2"},
            {"driver_result",
             {{"connected", connected ? json(*connected) : json(nullptr)},
              {"error", error.empty() ? json(nullptr) : json(error)}}}};
}

} // namespace

TEST_CASE("summarise counts every verdict, passed and failed", "[report_json]") {
    json cells = json::array(
        {cell("valid", "accepted-correctly", true),
         cell("expired", "refused-correctly", false, "certificate has expired"),
         cell("self-signed", "accepted-broken", true), cell("encrypt-off", "downgraded", true),
         cell("wrong-host", "not-judged", std::nullopt), json("not a cell"),
         cell("x", "no-such-verdict", true)});
    json s = summarise(cells);
    CHECK(s["cells"] == 5);
    CHECK(s["passed"] == 2);
    CHECK(s["failed"] == 2);
    CHECK(s["verdicts"]["accepted-broken"] == 1);
    CHECK(s["verdicts"]["refused-good"] == 0); // every verdict present
    CHECK(s["verdicts"].size() == 6);
}

TEST_CASE("make_report and why_not_a_report", "[report_json]") {
    json r = make_report({{"tlslab_version", "0.1.0"}},
                         json::array({cell("valid", "accepted-correctly", true)}));
    CHECK(why_not_a_report(r).empty());
    CHECK(r["summary"]["passed"] == 1);
    json wrong = r;
    wrong["format"] = "something-else";
    CHECK(why_not_a_report(wrong).find("not a tlslab matrix report") != std::string::npos);
    wrong = r;
    wrong["version"] = 2;
    CHECK(why_not_a_report(wrong).find("version 2") != std::string::npos);
    wrong = r;
    wrong.erase("cells");
    CHECK_FALSE(why_not_a_report(wrong).empty());
    CHECK_FALSE(why_not_a_report(json::array()).empty());
}

TEST_CASE("limbo_results: one harness per driver and configuration, limbo's result words",
          "[report_json]") {
    json r = make_report(
        {{"drivers", json::array({{{"name", "tedious19"}, {"version", "19.2.2"}}})}},
        json::array({cell("valid", "accepted-correctly", true),
                     cell("expired", "refused-correctly", false, "certificate has expired"),
                     cell("wrong-host", "not-judged", std::nullopt)}));
    auto docs = limbo_results(r);
    REQUIRE(docs.size() == 1);
    const json& doc = docs.at("tedious19--lab-ca");
    CHECK(doc["version"] == 1);
    CHECK(doc["harness"] == "tlslab-tds-tedious19-19.2.2-lab-ca");
    REQUIRE(doc["results"].size() == 3);
    CHECK(doc["results"][0] == json({{"id", "tlslab::tds::valid"},
                                     {"actual_result", "SUCCESS"},
                                     {"context", "accepted-correctly: ok TLSv1.2"}}));
    CHECK(doc["results"][1]["actual_result"] == "FAILURE");
    CHECK(doc["results"][1]["context"] ==
          "refused-correctly: cert-expired: certificate has expired");
    CHECK(doc["results"][2]["actual_result"] == "SKIPPED");
}
