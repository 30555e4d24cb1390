#include <proxy/app/lab/rule_book.h>

namespace proxy::app {

std::expected<Rule, std::string> RuleBook::add(const nlohmann::json& body) {
    if (!body.is_object()) {
        return std::unexpected("the body must be a JSON object");
    }
    Rule r;
    auto text = [&](const char* key,
                    std::optional<std::string>& out) -> std::optional<std::string> {
        if (!body.contains(key)) {
            return std::nullopt;
        }
        if (!body[key].is_string() || body[key].get<std::string>().empty()) {
            return std::string(key) + " must be a non-empty string";
        }
        out = body[key].get<std::string>();
        return std::nullopt;
    };
    std::optional<std::string> scenario;
    for (auto [key, out] :
         {std::pair{"scenario", &scenario}, std::pair{"listener", &r.listener},
          std::pair{"client_address", &r.client_address}, std::pair{"sni", &r.sni},
          std::pair{"prelogin_version", &r.prelogin_version}}) {
        if (auto err = text(key, *out)) {
            return std::unexpected(*err);
        }
    }
    if (!scenario) {
        return std::unexpected("scenario is required");
    }
    r.scenario = *scenario;
    if (body.contains("count")) {
        // is_number_integer: a count may arrive as signed or unsigned JSON; either way above 0.
        if (!body["count"].is_number_integer() || body["count"].get<std::int64_t>() <= 0) {
            return std::unexpected("count must be a whole number above 0");
        }
        r.remaining = static_cast<std::uint64_t>(body["count"].get<std::int64_t>());
    }
    for (const auto& [k, v] : body.items()) {
        if (k != "scenario" && k != "listener" && k != "count" && k != "client_address" &&
            k != "sni" && k != "prelogin_version") {
            return std::unexpected("unknown field '" + k + "'");
        }
    }
    int matchers = (r.remaining ? 1 : 0) + (r.client_address ? 1 : 0) + (r.sni ? 1 : 0) +
                   (r.prelogin_version ? 1 : 0);
    if (matchers != 1) {
        return std::unexpected("give exactly one of count, client_address, sni, prelogin_version");
    }
    r.id = next_id_++;
    rules_.push_back(r);
    return r;
}

bool RuleBook::remove(std::uint64_t id) {
    auto n = std::erase_if(rules_, [id](const Rule& r) { return r.id == id; });
    return n > 0;
}

std::optional<std::string> RuleBook::match(RuleStage stage, const std::string& listener,
                                           const std::string& client_ip,
                                           const std::optional<std::string>& prelogin_version,
                                           const std::optional<std::string>& sni) {
    for (auto it = rules_.begin(); it != rules_.end(); ++it) {
        Rule& r = *it;
        if (r.listener && *r.listener != listener) {
            continue;
        }
        bool hit = false;
        switch (stage) {
        case RuleStage::Accept:
            hit = (r.remaining && *r.remaining > 0) ||
                  (r.client_address && *r.client_address == client_ip);
            break;
        case RuleStage::Prelogin:
            hit = r.prelogin_version && prelogin_version &&
                  prelogin_version->rfind(*r.prelogin_version, 0) == 0;
            break;
        case RuleStage::ClientHello:
            hit = r.sni && sni && *r.sni == *sni;
            break;
        }
        if (!hit) {
            continue;
        }
        ++r.hits;
        std::string scenario = r.scenario;
        if (r.remaining && --*r.remaining == 0) {
            rules_.erase(it); // used up
        }
        return scenario;
    }
    return std::nullopt;
}

nlohmann::json to_json(const Rule& r) {
    nlohmann::json j = {{"id", r.id}, {"scenario", r.scenario}, {"hits", r.hits}};
    j["listener"] = r.listener ? nlohmann::json(*r.listener) : nlohmann::json(nullptr);
    if (r.remaining) {
        j["remaining"] = *r.remaining;
    }
    if (r.client_address) {
        j["client_address"] = *r.client_address;
    }
    if (r.sni) {
        j["sni"] = *r.sni;
    }
    if (r.prelogin_version) {
        j["prelogin_version"] = *r.prelogin_version;
    }
    return j;
}

} // namespace proxy::app
