#include <algorithm>
#include <sstream>

#include <proxy/app/report/verdict.h>

namespace proxy::app::report {

namespace {

using json = nlohmann::json;

std::optional<std::string> text_of(const json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return j[key].get<std::string>();
    }
    return std::nullopt;
}

std::string last_lines(const std::string& text, std::size_t lines, std::size_t max_chars) {
    std::size_t pos = text.size();
    std::size_t seen = 0;
    while (pos > 0 && seen <= lines) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) {
            pos = 0;
            break;
        }
        ++seen;
    }
    std::string out = text.substr(pos == 0 ? 0 : pos + 1);
    if (out.size() > max_chars) {
        out = "..." + out.substr(out.size() - max_chars);
    }
    return out;
}

// Codes probes give a cell they did not run (probes/README.md).
std::optional<std::string> not_run_reason(const json& line) {
    if (line.contains("unsupported_mode") && line["unsupported_mode"].is_boolean() &&
        line["unsupported_mode"].get<bool>()) {
        return "unsupported mode";
    }
    auto code = text_of(line, "error_code");
    if (!code) {
        return std::nullopt;
    }
    if (*code == "UNSUPPORTED_MODE" || *code == "UNSUPPORTED_OPTION") {
        return "unsupported option";
    }
    if (*code == "NOT_INSTALLED") {
        return "not installed";
    }
    if (*code == "PROBE_FAILURE") {
        return "probe failure";
    }
    return std::nullopt;
}

int outcome_rank(const std::string& outcome) {
    // How far a session went: a login beats everything else.
    if (outcome == "login-encrypted" || outcome == "login-plaintext" ||
        outcome == "aborted-after-ok") {
        return 3;
    }
    if (outcome == "alert" || outcome == "closed-after-handshake") {
        return 2;
    }
    if (outcome == "closed-during-handshake" || outcome == "protocol-error") {
        return 1;
    }
    return 0;
}

} // namespace

std::string to_string(Verdict v) {
    switch (v) {
    case Verdict::AcceptedCorrectly:
        return "accepted-correctly";
    case Verdict::RefusedCorrectly:
        return "refused-correctly";
    case Verdict::AcceptedBroken:
        return "accepted-broken";
    case Verdict::RefusedGood:
        return "refused-good";
    case Verdict::Downgraded:
        return "downgraded";
    case Verdict::NotJudged:
        return "not-judged";
    }
    return "?";
}

std::optional<Verdict> verdict_from_string(const std::string& s) {
    for (auto v : kAllVerdicts) {
        if (to_string(v) == s) {
            return v;
        }
    }
    return std::nullopt;
}

std::optional<bool> passed(Verdict v) {
    switch (v) {
    case Verdict::AcceptedCorrectly:
    case Verdict::RefusedCorrectly:
        return true;
    case Verdict::AcceptedBroken:
    case Verdict::RefusedGood:
    case Verdict::Downgraded:
        return false;
    case Verdict::NotJudged:
        return std::nullopt;
    }
    return std::nullopt;
}

DriverResult read_driver_output(const std::string& stdout_text, const std::string& stderr_text,
                                std::optional<int> exit_status, bool timed_out) {
    DriverResult d;
    d.exit_status = exit_status;
    d.timed_out = timed_out;
    d.stderr_tail = last_lines(stderr_text, 8, 2000);
    // The last line that is a JSON object with `connected` (probes print one; a program may log
    // before it).
    std::istringstream in(stdout_text);
    std::string line;
    json found;
    while (std::getline(in, line)) {
        auto start = line.find_first_not_of(" \t\r");
        if (start == std::string::npos || line[start] != '{') {
            continue;
        }
        json j = json::parse(line.substr(start), nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.contains("connected")) {
            found = std::move(j);
        }
    }
    if (!found.is_null()) {
        d.json_contract = true;
        d.line = found;
        if (found["connected"].is_boolean()) {
            d.connected = found["connected"].get<bool>();
        }
        d.error_code = found.contains("error_code") ? found["error_code"] : json(nullptr);
        d.error = text_of(found, "error");
        d.version = text_of(found, "version");
        if (found.contains("ssl") && found["ssl"].is_boolean()) {
            d.ssl = found["ssl"].get<bool>();
        }
        d.not_judged = not_run_reason(found);
        if (d.not_judged) {
            d.connected.reset();
        }
        return d;
    }
    if (timed_out) {
        d.not_judged = "no answer in time";
        return d;
    }
    if (!exit_status) {
        d.not_judged = "killed by a signal";
        return d;
    }
    // Any other program: exit 0 means it got in.
    d.connected = *exit_status == 0;
    if (*exit_status != 0) {
        d.error_code = *exit_status;
        std::string out = !stderr_text.empty() ? stderr_text : stdout_text;
        d.error = last_lines(out, 4, 1000);
        if (d.error->empty()) {
            d.error = "exit status " + std::to_string(*exit_status);
        }
    }
    return d;
}

ProxyFacts read_proxy_facts(const json& records, bool broken_certificate) {
    ProxyFacts p;
    if (!records.is_array()) {
        return p;
    }
    int best = -1;
    for (const auto& r : records) {
        if (!r.is_object()) {
            continue;
        }
        ++p.sessions;
        auto outcome = text_of(r, "outcome").value_or("?");
        p.outcomes.push_back(outcome);
        int rank = outcome_rank(outcome);
        if (rank > best) {
            best = rank;
            p.outcome = outcome;
        }
        if (r.contains("alert") && r["alert"].is_object()) {
            if (auto name = text_of(r["alert"], "name")) {
                p.alert = name;
            }
        }
        const json* tls = nullptr;
        if (r.contains("client_leg") && r["client_leg"].is_object() &&
            r["client_leg"].contains("tls") && r["client_leg"]["tls"].is_object()) {
            tls = &r["client_leg"]["tls"];
        }
        if (tls != nullptr && rank == best) {
            if (auto v = text_of(*tls, "version"); v && !v->empty()) {
                p.tls_version = v;
            }
        }
        bool login = outcome == "login-encrypted" || outcome == "login-plaintext" ||
                     outcome == "aborted-after-ok";
        if (outcome == "login-plaintext") {
            p.login_in_clear = true;
        }
        if (login && r.contains("client_leg") && r["client_leg"].is_object() &&
            text_of(r["client_leg"], "mode") == std::optional<std::string>("login-only")) {
            p.after_login_clear = true;
        }
        if (!login) {
            continue;
        }
        // What an attacker on the path read.
        std::string user;
        bool password = false;
        if (r.contains("login") && r["login"].is_object()) {
            const auto& l = r["login"];
            user = text_of(l, "user_name").value_or("");
            if (l.contains("password_length") && l["password_length"].is_number_integer() &&
                l["password_length"].get<long>() > 0) {
                password = true;
            }
        }
        if (r.contains("mysql") && r["mysql"].is_object() && r["mysql"].contains("password_read") &&
            r["mysql"]["password_read"].is_boolean() && r["mysql"]["password_read"].get<bool>()) {
            password = true;
        }
        std::string whose = user.empty() ? "the user" : "user '" + user + "'";
        std::string how = outcome == "login-plaintext" ? "in clear"
                          : broken_certificate
                              ? "through a certificate the client should have refused"
                              : "through the lab's TLS";
        if (password) {
            p.exposed.push_back("the password of " + whose + ", read " + how);
        } else if (outcome == "login-plaintext" || broken_certificate) {
            p.exposed.push_back("the login of " + whose +
                                " (a challenge-response, open to offline guessing), read " + how);
        }
        if (outcome == "login-plaintext" || p.after_login_clear || broken_certificate) {
            p.exposed.push_back("every query and result after the login");
        }
    }
    std::sort(p.exposed.begin(), p.exposed.end());
    p.exposed.erase(std::unique(p.exposed.begin(), p.exposed.end()), p.exposed.end());
    return p;
}

Judgement judge(bool expect_accept, const DriverResult& driver, const ProxyFacts& proxy,
                const std::optional<std::string>& error_family) {
    if (driver.not_judged || !driver.connected) {
        return {Verdict::NotJudged, driver.not_judged.value_or("no answer")};
    }
    if (*driver.connected) {
        bool ssl_off = driver.ssl && !*driver.ssl;
        if (proxy.login_in_clear || ssl_off) {
            return {Verdict::Downgraded, "ok in clear"};
        }
        if (proxy.after_login_clear) {
            return {Verdict::Downgraded, "ok, login-only TLS"};
        }
        std::string label = "ok";
        if (proxy.tls_version) {
            label += " " + *proxy.tls_version;
        }
        return {expect_accept ? Verdict::AcceptedCorrectly : Verdict::AcceptedBroken, label};
    }
    std::string label;
    if (error_family) {
        label = *error_family;
    } else if (driver.error_code.is_string()) {
        label = driver.error_code.get<std::string>();
    } else if (driver.error_code.is_number()) {
        label = driver.error_code.dump();
    } else {
        label = "refused";
    }
    return {expect_accept ? Verdict::RefusedGood : Verdict::RefusedCorrectly, label};
}

json to_json(const DriverResult& d) {
    json j = {{"connected", d.connected ? json(*d.connected) : json(nullptr)},
              {"error_code", d.error_code},
              {"error", d.error ? json(*d.error) : json(nullptr)},
              {"version", d.version ? json(*d.version) : json(nullptr)},
              {"ssl", d.ssl ? json(*d.ssl) : json(nullptr)},
              {"exit_status", d.exit_status ? json(*d.exit_status) : json(nullptr)},
              {"timed_out", d.timed_out},
              {"contract", d.json_contract ? "json" : "exit-status"},
              {"line", d.line},
              {"stderr", d.stderr_tail.empty() ? json(nullptr) : json(d.stderr_tail)}};
    return j;
}

json to_json(const ProxyFacts& p, const json& records) {
    return {{"sessions", p.sessions},
            {"outcome", p.outcome ? json(*p.outcome) : json(nullptr)},
            {"outcomes", p.outcomes},
            {"alert", p.alert ? json(*p.alert) : json(nullptr)},
            {"tls_version", p.tls_version ? json(*p.tls_version) : json(nullptr)},
            {"login_in_clear", p.login_in_clear},
            {"exposed", p.exposed},
            {"records", records.is_array() ? records : json::array()}};
}

} // namespace proxy::app::report
