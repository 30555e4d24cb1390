#pragma once

// The verdict of one matrix cell: what the driver did (its probe's line, or its exit status)
// and what the lab saw (the session records of the cell's listener while it ran), judged
// against the scenario's expectation. Pure: JSON in, values out, so every rule is unit-tested.
//
//   driver did not run the cell (mode it cannot express, not installed, ...)  -> not-judged
//   logged in, the login (or everything after it) in clear                   -> downgraded
//   logged in over TLS:  scenario expects accept -> accepted-correctly, else accepted-broken
//   did not log in:      scenario expects reject -> refused-correctly, else refused-good

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace proxy::app::report {

enum class Verdict : std::uint8_t {
    AcceptedCorrectly,
    RefusedCorrectly,
    AcceptedBroken,
    RefusedGood,
    Downgraded,
    NotJudged,
};
std::string to_string(Verdict v);
std::optional<Verdict> verdict_from_string(const std::string& s);
// passed: true for the two correct verdicts, false for the three wrong ones, none for NotJudged.
std::optional<bool> passed(Verdict v);
inline constexpr std::array<Verdict, 6> kAllVerdicts = {
    Verdict::AcceptedCorrectly, Verdict::RefusedCorrectly, Verdict::AcceptedBroken,
    Verdict::RefusedGood,       Verdict::Downgraded,       Verdict::NotJudged};

// DriverResult: what the driver's program told, read by the driver contract.
struct DriverResult {
    std::optional<bool> connected; // none: nothing readable
    nlohmann::json error_code;     // string, number or null
    std::optional<std::string> error;
    std::optional<std::string> version;
    std::optional<bool> ssl;
    std::optional<int> exit_status;
    bool timed_out = false; // the matrix stopped it at its time limit
    bool json_contract = false;
    nlohmann::json line; // the JSON line, or null
    std::string stderr_tail;
    // why the cell cannot be judged ("unsupported mode", "not installed", ...), if so
    std::optional<std::string> not_judged;
};

// read_driver_output: the contract. The last stdout line that is a JSON object with
// `connected` is the driver's answer; without one, exit status 0 means connected (as
// BetterTLS runners do) and anything else means refused, with the output as the error.
DriverResult read_driver_output(const std::string& stdout_text, const std::string& stderr_text,
                                std::optional<int> exit_status, bool timed_out);

// ProxyFacts: what the lab's records of the cell say.
struct ProxyFacts {
    int sessions = 0;
    std::optional<std::string> outcome; // of the session that went furthest
    std::vector<std::string> outcomes;
    std::optional<std::string> alert;
    std::optional<std::string> tls_version;
    bool login_in_clear = false;    // a login was read outside TLS
    bool after_login_clear = false; // TDS login-only encryption: everything after LOGIN7 in clear
    std::vector<std::string> exposed;
};
ProxyFacts read_proxy_facts(const nlohmann::json& records, bool broken_certificate);

struct Judgement {
    Verdict verdict = Verdict::NotJudged;
    std::string label;
};
// judge: `expect_accept` is the scenario's expectation; `error_family` the knowledge base's
// family of the driver's error text, if it knows it.
Judgement judge(bool expect_accept, const DriverResult& driver, const ProxyFacts& proxy,
                const std::optional<std::string>& error_family);

nlohmann::json to_json(const DriverResult& d);
nlohmann::json to_json(const ProxyFacts& p, const nlohmann::json& records);

} // namespace proxy::app::report
