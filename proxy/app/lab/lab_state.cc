#include <algorithm>
#include <chrono>
#include <ranges>

#include <certs/pem.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/outputs/record_json.h>

namespace proxy::app {

namespace {

ApiReply error(int status, const std::string& message) {
    return {status, {{"error", message}}};
}

std::string ip_of(const std::string& address) {
    // "127.0.0.1:5000" -> "127.0.0.1"; "[::1]:5000" -> "::1"
    if (!address.empty() && address.front() == '[') {
        auto close = address.find(']');
        return close == std::string::npos ? address : address.substr(1, close - 1);
    }
    auto colon = address.rfind(':');
    return colon == std::string::npos ? address : address.substr(0, colon);
}

} // namespace

void LabState::add_endpoint(ProxyEndpoint* ep) {
    endpoints_[ep->config().id] = ep;
    order_.push_back(ep->config().id);
}

std::shared_ptr<const ScenarioRuntime> LabState::runtime_or_null(const std::string& name) {
    auto rt = lab_.runtime(name);
    return rt ? *rt : nullptr;
}

std::vector<LabState::LiveSession> LabState::live_sessions() const {
    std::vector<LiveSession> out;
    auto take = [this](const net::SessionRegistry& registry) {
        std::vector<LiveSession> seen;
        registry.for_each([&](const net::Session& s) {
            if (endpoints_.contains(s.label())) {
                seen.push_back({s.id(), s.label(), s.peer()});
            }
        });
        return seen;
    };
    out = take(registry_);
    if (workers_ != nullptr) {
        for (std::size_t i = 0; i < workers_->size(); ++i) {
            net::WorkerLoop& w = (*workers_)[i];
            auto seen = w.bridge().call([&take, &w] { return take(w.registry()); },
                                        std::chrono::seconds(2));
            if (seen) {
                out.insert(out.end(), seen->begin(), seen->end());
            }
        }
    }
    std::ranges::sort(out, {}, &LiveSession::id);
    return out;
}

std::size_t LabState::close_sessions_of(const std::string& listener, const std::string& reason) {
    auto pred = [listener](const net::Session& s) {
        return s.label() == listener;
    };
    std::size_t closed = registry_.close_where(pred, reason);
    if (workers_ != nullptr) {
        for (std::size_t i = 0; i < workers_->size(); ++i) {
            net::WorkerLoop& w = (*workers_)[i];
            auto n = w.bridge().call(
                [&w, &pred, &reason] { return w.registry().close_where(pred, reason); },
                std::chrono::seconds(2));
            closed += n.value_or(0);
        }
    }
    return closed;
}

std::size_t LabState::live_count(const std::string& listener) const {
    auto it = endpoints_.find(listener);
    return it == endpoints_.end() ? 0 : it->second->limit().live();
}

std::size_t LabState::live_count() const {
    std::size_t live = 0;
    for (const auto& [id, ep] : endpoints_) {
        live += ep->limit().live();
    }
    return live;
}

std::shared_ptr<const ScenarioRuntime>
LabState::choose_at_accept(const std::string& listener, const std::string& client_address) {
    std::unique_lock lock(rules_mutex_);
    auto name = rules_.match(RuleStage::Accept, listener, ip_of(client_address), std::nullopt,
                             std::nullopt);
    lock.unlock();
    return name ? runtime_or_null(*name) : nullptr;
}

std::shared_ptr<const ScenarioRuntime> LabState::choose_later(const std::string& listener,
                                                              const SessionFacts& facts) {
    auto stage =
        facts.stage == SessionFacts::Stage::Prelogin ? RuleStage::Prelogin : RuleStage::ClientHello;
    std::unique_lock lock(rules_mutex_);
    auto name = rules_.match(stage, listener, ip_of(facts.client_address), facts.prelogin_version,
                             facts.sni);
    lock.unlock();
    return name ? runtime_or_null(*name) : nullptr;
}

void LabState::on_record(const std::shared_ptr<const SessionRecord>& r) {
    outputs_.on_record(r);
    ++sessions_total_;
    ++by_outcome_[std::string(to_string(r->outcome))];
    ++by_scenario_[r->scenario];
    bytes_from_clients_ += r->bytes_from_client;
    bytes_to_clients_ += r->bytes_to_client;
    recent_.push_back(r);
    if (recent_.size() > kRecentSessions) {
        recent_.pop_front();
    }
}

std::vector<std::shared_ptr<const MessageRecord>>
LabState::messages_of(std::uint64_t session) const {
    std::vector<std::shared_ptr<const MessageRecord>> out;
    for (const auto& m : recent_messages_) {
        if (m->session_id == session) {
            out.push_back(m);
        }
    }
    return out;
}

void LabState::on_message(const std::shared_ptr<const MessageRecord>& m) {
    ++messages_total_;
    recent_messages_.push_back(m);
    if (recent_messages_.size() > kRecentSessions) {
        recent_messages_.pop_front();
    }
    outputs_.on_message(m);
}

ApiReply LabState::scenarios() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : lab_.catalogue().all()) {
        out.push_back(to_json(s));
    }
    return {200, out};
}

ApiReply LabState::listeners() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& id : order_) {
        const ProxyEndpoint* ep = endpoints_.at(id);
        std::size_t live = ep->limit().live();
        out.push_back({{"id", id},
                       {"protocol", std::string(to_string(ep->config().protocol))},
                       {"address", ep->bound()},
                       {"port", ep->bound_port()},
                       {"scenario", ep->scenario()->scenario.name},
                       {"upstream", ep->config().upstream_name},
                       {"live_sessions", live},
                       {"max_sessions", ep->limit().max_sessions()},
                       {"refused_max_sessions", ep->limit().refused()}});
    }
    return {200, out};
}

ApiReply LabState::set_listener_scenario(const std::string& id, const nlohmann::json& body) {
    auto it = endpoints_.find(id);
    if (it == endpoints_.end()) {
        return error(404, "no listener '" + id + "'");
    }
    if (!body.is_object() || !body.contains("scenario") || !body["scenario"].is_string()) {
        return error(400, R"(body must be {"scenario": NAME, "reset_existing": bool})");
    }
    bool reset = false;
    if (body.contains("reset_existing")) {
        if (!body["reset_existing"].is_boolean()) {
            return error(400, "reset_existing must be true or false");
        }
        reset = body["reset_existing"].get<bool>();
    }
    for (const auto& [k, v] : body.items()) {
        if (k != "scenario" && k != "reset_existing") {
            return error(400, "unknown field '" + k + "'");
        }
    }
    auto rt = lab_.runtime(body["scenario"].get<std::string>());
    if (!rt) {
        return error(404, rt.error());
    }
    it->second->set_scenario(*rt);
    std::size_t closed = 0;
    if (reset) {
        closed = close_sessions_of(id, "scenario switched with reset_existing");
    }
    return {200,
            {{"listener", id}, {"scenario", (*rt)->scenario.name}, {"sessions_reset", closed}}};
}

ApiReply LabState::rules() const {
    std::lock_guard lock(rules_mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rules_.all()) {
        out.push_back(to_json(r));
    }
    return {200, out};
}

ApiReply LabState::add_rule(const nlohmann::json& body) {
    if (body.is_object() && body.contains("scenario") && body["scenario"].is_string()) {
        if (lab_.catalogue().find(body["scenario"].get<std::string>()) == nullptr) {
            return error(404, "unknown scenario '" + body["scenario"].get<std::string>() + "'");
        }
        auto rt = lab_.runtime(body["scenario"].get<std::string>());
        if (!rt) {
            return error(500, rt.error());
        }
    }
    if (body.is_object() && body.contains("listener") && body["listener"].is_string() &&
        !endpoints_.contains(body["listener"].get<std::string>())) {
        return error(404, "no listener '" + body["listener"].get<std::string>() + "'");
    }
    std::lock_guard lock(rules_mutex_);
    auto r = rules_.add(body);
    if (!r) {
        return error(400, r.error());
    }
    return {201, to_json(*r)};
}

ApiReply LabState::delete_rule(std::uint64_t id) {
    std::lock_guard lock(rules_mutex_);
    if (!rules_.remove(id)) {
        return error(404, "no rule " + std::to_string(id));
    }
    return {200, {{"deleted", id}}};
}

ApiReply LabState::sessions() const {
    nlohmann::json live = nlohmann::json::array();
    for (const auto& s : live_sessions()) {
        live.push_back({{"id", s.id}, {"listener", s.listener}, {"client", s.client}});
    }
    nlohmann::json recent = nlohmann::json::array();
    for (const auto& record : std::views::reverse(recent_)) { // newest first
        const auto& r = *record;
        recent.push_back({{"id", r.id},
                          {"scenario", r.scenario},
                          {"client", r.client_address},
                          {"protocol", r.protocol},
                          {"outcome", std::string(to_string(r.outcome))},
                          {"detail", r.detail}});
    }
    return {200, {{"live", live}, {"recent", recent}}};
}

ApiReply LabState::sessions_of(const std::string& listener, std::uint64_t after) const {
    auto it = endpoints_.find(listener);
    if (it == endpoints_.end()) {
        return error(404, "no listener '" + listener + "'");
    }
    std::uint16_t port = it->second->bound_port();
    std::size_t live = live_count(listener);
    nlohmann::json records = nlohmann::json::array();
    for (const auto& r : recent_) { // oldest first
        if (r->id > after && r->listen_port == port) {
            records.push_back(to_json(*r));
        }
    }
    return {200, {{"listener", listener}, {"live", live}, {"records", records}}};
}

ApiReply LabState::lab_info() const {
    std::string pem = certs::to_pem(lab_.ca().cert());
    nlohmann::json names = nlohmann::json::array();
    for (const auto& n : lab_.identity().hostnames) {
        names.push_back(n);
    }
    nlohmann::json ips = nlohmann::json::array();
    for (const auto& n : lab_.identity().ips) {
        ips.push_back(n);
    }
    return {200,
            {{"ca_path", lab_.ca().cert_path().string()},
             {"ca_pem", pem},
             {"dns_names", names},
             {"ip_addresses", ips}}};
}

ApiReply LabState::session(std::uint64_t id) const {
    for (const auto& r : recent_) {
        if (r->id == id) {
            auto j = to_json(*r);
            j["live"] = false;
            return {200, j};
        }
    }
    ApiReply reply = error(404, "no session " + std::to_string(id));
    for (const auto& s : live_sessions()) {
        if (s.id == id) {
            reply = {200,
                     {{"id", id}, {"listener", s.listener}, {"client", s.client}, {"live", true}}};
        }
    }
    return reply;
}

ApiReply LabState::metrics() const {
    std::size_t live = live_count();
    std::uint64_t refused = 0;
    std::vector<std::uint64_t> by_loop(1 + (workers_ != nullptr ? workers_->size() : 0), 0);
    for (const auto& [id, ep] : endpoints_) {
        refused += ep->limit().refused();
        const auto& given = ep->given();
        for (std::size_t i = 0; i < given.size() && i < by_loop.size(); ++i) {
            by_loop[i] += given[i];
        }
    }
    std::size_t rules = 0;
    {
        std::lock_guard lock(rules_mutex_);
        rules = rules_.all().size();
    }
    return {200,
            {{"sessions_total", sessions_total_},
             {"sessions_live", live},
             {"messages_total", messages_total_},
             {"by_outcome", by_outcome_},
             {"by_scenario", by_scenario_},
             {"bytes_from_clients", bytes_from_clients_},
             {"bytes_to_clients", bytes_to_clients_},
             {"rules", rules},
             {"refused", {{"max-sessions", refused}}},
             {"threads", by_loop.size()},
             {"sessions_by_thread", by_loop}}};
}

} // namespace proxy::app
