#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace proxy::app {

// Rule: "apply scenario S to ..." -- the next N connections, or connections matching a client
// address, an SNI, or a client PRELOGIN version -- optionally only on one listener.
struct Rule {
    std::uint64_t id = 0;
    std::string scenario;
    std::optional<std::string> listener;
    std::optional<std::uint64_t> remaining;      // "next N connections": decremented at accept
    std::optional<std::string> client_address;   // an IP, matched at accept
    std::optional<std::string> sni;              // matched at the ClientHello
    std::optional<std::string> prelogin_version; // prefix of the client's VERSION, at PRELOGIN
    std::uint64_t hits = 0;
};

enum class RuleStage : std::uint8_t { Accept, Prelogin, ClientHello };

// RuleBook: the rules, first match wins, in the order they were added. Lives on the loop thread.
class RuleBook {
  public:
    // add validates a JSON body; the error is for an HTTP 400.
    std::expected<Rule, std::string> add(const nlohmann::json& body);
    bool remove(std::uint64_t id);
    const std::vector<Rule>& all() const { return rules_; }
    // match returns the scenario of the first rule that applies at this stage, counting a hit.
    std::optional<std::string> match(RuleStage stage, const std::string& listener,
                                     const std::string& client_ip,
                                     const std::optional<std::string>& prelogin_version,
                                     const std::optional<std::string>& sni);

  private:
    std::vector<Rule> rules_;
    std::uint64_t next_id_ = 1;
};

nlohmann::json to_json(const Rule& r);

} // namespace proxy::app
