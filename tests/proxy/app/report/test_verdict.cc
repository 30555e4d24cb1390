// The verdict of a matrix cell: the driver contract read from real probe output, the lab's
// records read from record JSON as the lab writes it, and every rule of judge().

#include <random>

#include <catch2/catch.hpp>

#include <proxy/app/report/verdict.h>

using namespace proxy::app::report;
using json = nlohmann::json;

namespace {

json record(const std::string& outcome, const std::string& tls_version = "TLSv1.3",
            int password_length = 12, const std::string& mode = "full") {
    return {{"id", 7},
            {"outcome", outcome},
            {"alert", nullptr},
            {"client_leg", {{"mode", mode}, {"tls", {{"version", tls_version}}}}},
            {"login",
             {{"user_name", "lab"}, {"password", nullptr}, {"password_length", password_length}}}};
}

} // namespace

TEST_CASE("read_driver_output: the probe's JSON line is the driver's answer", "[verdict]") {
    // A real tedious probe line, after a log line of the driver's own.
    std::string out = "warning: something the driver logged\n"
                      R"({"driver": "tedious", "version": "19.2.2", "connected": false, )"
                      R"("error_code": "ESOCKET", "error": "Failed to connect to localhost:1 - )"
                      R"(self-signed certificate", "value": null})"
                      "\n";
    auto d = read_driver_output(out, "", 0, false);
    CHECK(d.json_contract);
    REQUIRE(d.connected);
    CHECK_FALSE(*d.connected);
    CHECK(d.error_code == "ESOCKET");
    CHECK(d.error == "Failed to connect to localhost:1 - self-signed certificate");
    CHECK(d.version == "19.2.2");
    CHECK_FALSE(d.not_judged);
}

TEST_CASE("read_driver_output: modes a driver cannot express are not judged", "[verdict]") {
    auto d = read_driver_output(
        R"({"driver": "mysql2", "connected": false, "unsupported_mode": true, "error_code": "UNSUPPORTED_MODE", "error": "mysql2 has no PREFERRED"})",
        "", 0, false);
    REQUIRE(d.not_judged);
    CHECK_FALSE(d.connected);
    auto n =
        read_driver_output(R"({"connected": false, "error_code": "NOT_INSTALLED"})", "", 0, false);
    CHECK(n.not_judged == "not installed");
}

TEST_CASE("read_driver_output: any other program is judged by its exit status", "[verdict]") {
    auto ok = read_driver_output("1\n", "", 0, false);
    CHECK_FALSE(ok.json_contract);
    CHECK(ok.connected == std::optional<bool>(true));
    auto refused = read_driver_output(
        "",
        "psql: error: connection to server at \"localhost\" (127.0.0.1), port 5 failed: SSL "
        "error: certificate verify failed\n",
        2, false);
    CHECK(refused.connected == std::optional<bool>(false));
    CHECK(refused.error_code == 2);
    CHECK(refused.error->find("certificate verify failed") != std::string::npos);
    auto hung = read_driver_output("", "", std::nullopt, true);
    CHECK(hung.not_judged == "no answer in time");
    auto killed = read_driver_output("", "", std::nullopt, false);
    CHECK(killed.not_judged);
    // A line that is JSON but not the contract (no `connected`) is not the answer.
    auto other = read_driver_output("{\"rows\": 1}\n", "", 0, false);
    CHECK_FALSE(other.json_contract);
    CHECK(other.connected == std::optional<bool>(true));
}

TEST_CASE("read_proxy_facts: the session that went furthest, and what was read", "[verdict]") {
    json records = json::array({record("closed-during-handshake", ""), record("login-encrypted")});
    records[0]["alert"] = {{"name", "unknown_ca"}};
    auto p = read_proxy_facts(records, true);
    CHECK(p.sessions == 2);
    CHECK(p.outcome == "login-encrypted");
    CHECK(p.outcomes == std::vector<std::string>{"closed-during-handshake", "login-encrypted"});
    CHECK(p.alert == "unknown_ca");
    CHECK(p.tls_version == "TLSv1.3");
    CHECK_FALSE(p.login_in_clear);
    REQUIRE(p.exposed.size() == 2);
    CHECK(p.exposed[1] ==
          "the password of user 'lab', read through a certificate the client should have refused");
    auto clear = read_proxy_facts(json::array({record("login-plaintext", "")}), false);
    CHECK(clear.login_in_clear);
    CHECK(clear.exposed.back() == "the password of user 'lab', read in clear");
    // A challenge-response login through the lab's own good certificate exposes nothing.
    auto scram = read_proxy_facts(json::array({record("login-encrypted", "TLSv1.3", 0)}), false);
    CHECK(scram.exposed.empty());
    auto login_only = read_proxy_facts(
        json::array({record("login-encrypted", "TLSv1.2", 12, "login-only")}), false);
    CHECK(login_only.after_login_clear);
    CHECK(read_proxy_facts(json("not an array"), false).sessions == 0);
}

TEST_CASE("judge: every verdict", "[verdict]") {
    DriverResult in;
    in.connected = true;
    DriverResult out;
    out.connected = false;
    out.error_code = "ESOCKET";
    ProxyFacts tls;
    tls.tls_version = "TLSv1.2";
    ProxyFacts clear;
    clear.login_in_clear = true;
    ProxyFacts login_only;
    login_only.after_login_clear = true;

    auto j = judge(true, in, tls, std::nullopt);
    CHECK(j.verdict == Verdict::AcceptedCorrectly);
    CHECK(j.label == "ok TLSv1.2");
    CHECK(judge(false, in, tls, std::nullopt).verdict == Verdict::AcceptedBroken);
    CHECK(judge(false, out, tls, std::string("cert-expired")).label == "cert-expired");
    CHECK(judge(false, out, tls, std::nullopt).verdict == Verdict::RefusedCorrectly);
    CHECK(judge(false, out, tls, std::nullopt).label == "ESOCKET");
    CHECK(judge(true, out, tls, std::nullopt).verdict == Verdict::RefusedGood);
    CHECK(judge(true, in, clear, std::nullopt).verdict == Verdict::Downgraded);
    CHECK(judge(false, in, clear, std::nullopt).verdict == Verdict::Downgraded);
    CHECK(judge(false, in, login_only, std::nullopt).label == "ok, login-only TLS");
    // The driver's own view of a session in clear counts too (the lab may see only TLS).
    DriverResult in_clear = in;
    in_clear.ssl = false;
    CHECK(judge(true, in_clear, tls, std::nullopt).verdict == Verdict::Downgraded);
    DriverResult unsupported;
    unsupported.not_judged = "unsupported mode";
    auto n = judge(false, unsupported, tls, std::nullopt);
    CHECK(n.verdict == Verdict::NotJudged);
    CHECK(n.label == "unsupported mode");
    CHECK_FALSE(passed(Verdict::NotJudged));
    CHECK(passed(Verdict::RefusedCorrectly) == std::optional<bool>(true));
    CHECK(passed(Verdict::Downgraded) == std::optional<bool>(false));
    for (auto v : kAllVerdicts) {
        CHECK(verdict_from_string(to_string(v)) == v);
    }
    CHECK_FALSE(verdict_from_string("passed"));
}

TEST_CASE("hostile driver output and records: read, never a crash", "[verdict]") {
    // A driver prints anything: binary, broken JSON, JSON of every type where fields belong.
    std::mt19937 rng(20261129);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 2000; ++round) {
        std::string out(static_cast<std::size_t>(round % 300), '\0');
        for (auto& c : out) {
            c = static_cast<char>(byte(rng));
        }
        if (round % 3 == 0) {
            out = "{\"connected\": " + out;
        }
        auto d = read_driver_output(
            out, out, round % 5 == 0 ? std::nullopt : std::optional(round % 3), round % 7 == 0);
        CHECK((d.connected || d.not_judged || !d.connected));
    }
    for (const char* line :
         {R"({"connected": "yes", "error_code": [1], "error": 5, "version": {}, "ssl": "no"})",
          R"({"connected": null})", R"({"connected": true, "unsupported_mode": "true"})",
          R"([{"connected": true}])", "{\"connected\": true, \"error\": \"\\ud800\"}"}) {
        INFO(line);
        auto d = read_driver_output(line, "", 0, false);
        (void)to_json(d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    // Records whose fields have the wrong types.
    json bad = json::array({json(nullptr),
                            json(5),
                            json::object(),
                            {{"outcome", 7}, {"alert", "x"}, {"client_leg", {{"tls", 3}}}},
                            {{"outcome", "login-encrypted"},
                             {"login", {{"password_length", "twelve"}, {"user_name", 1}}},
                             {"mysql", {{"password_read", "yes"}}}}});
    auto p = read_proxy_facts(bad, true);
    CHECK(p.sessions == 3);
    CHECK(p.outcome == "login-encrypted");
}
