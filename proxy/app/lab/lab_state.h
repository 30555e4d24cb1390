#pragma once

// LabState is everything the admin API can see and change, owned by the event loop: the proxy
// listeners and their scenarios, the rules, live and recent sessions, and the counters. Every
// method runs on the loop thread (the admin thread reaches it through the LoopBridge), except
// choose_at_accept and choose_later, which sessions call on whichever loop they run on
// (--threads): the rules they read are guarded by a mutex. Live sessions of worker loops are
// asked of those loops (bounded), never read across threads.

#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/rule_book.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/net/session.h>
#include <proxy/net/worker_loops.h>

namespace proxy::app {

class ProxyEndpoint;

// An HTTP answer: status and JSON body.
struct ApiReply {
    int status = 200;
    nlohmann::json body;
};

class LabState {
  public:
    static constexpr std::size_t kRecentSessions = 1000;

    LabState(Lab& lab, net::SessionRegistry& registry, LabOutputs& outputs)
        : lab_(lab), registry_(registry), outputs_(outputs) {}

    void add_endpoint(ProxyEndpoint* ep);
    // add_workers: the loops beside this one whose sessions the admin API lists and resets.
    void add_workers(net::WorkerLoops& workers) { workers_ = &workers; }

    // Hooks for endpoints and sessions.
    std::shared_ptr<const ScenarioRuntime> choose_at_accept(const std::string& listener,
                                                            const std::string& client_address);
    std::shared_ptr<const ScenarioRuntime> choose_later(const std::string& listener,
                                                        const SessionFacts& facts);
    void on_record(const std::shared_ptr<const SessionRecord>& r);
    void on_message(const std::shared_ptr<const MessageRecord>& m);

    // The admin API.
    ApiReply scenarios() const;
    ApiReply listeners() const;
    ApiReply set_listener_scenario(const std::string& id, const nlohmann::json& body);
    ApiReply rules() const;
    ApiReply add_rule(const nlohmann::json& body);
    ApiReply delete_rule(std::uint64_t id);
    ApiReply sessions() const;
    // sessions_of: {"live": N, "records": [whole records newer than `after`, oldest first]} of
    // one listener (404 for an unknown one).
    ApiReply sessions_of(const std::string& listener, std::uint64_t after) const;
    // lab_info: the lab CA (path and PEM) and the names the lab answers to.
    ApiReply lab_info() const;
    ApiReply session(std::uint64_t id) const;
    ApiReply metrics() const;

    const std::deque<std::shared_ptr<const SessionRecord>>& recent() const { return recent_; }
    std::vector<std::shared_ptr<const MessageRecord>> messages_of(std::uint64_t session) const;

  private:
    struct LiveSession {
        std::uint64_t id = 0;
        std::string listener;
        std::string client;
    };
    std::shared_ptr<const ScenarioRuntime> runtime_or_null(const std::string& name);
    // live_sessions: every loop's live sessions of our listeners (a worker that does not answer
    // within a moment is left out).
    std::vector<LiveSession> live_sessions() const;
    // close_sessions_of: close `listener`'s live sessions on every loop; how many.
    std::size_t close_sessions_of(const std::string& listener, const std::string& reason);
    // live_count: the live sessions of one listener, or of all (the --max-sessions counts).
    std::size_t live_count(const std::string& listener) const;
    std::size_t live_count() const;

    Lab& lab_;
    net::SessionRegistry& registry_;
    net::WorkerLoops* workers_ = nullptr;
    LabOutputs& outputs_;
    std::map<std::string, ProxyEndpoint*> endpoints_;
    std::vector<std::string> order_;
    mutable std::mutex rules_mutex_; // rules_ (and their hit counts): sessions of every loop
    RuleBook rules_;
    std::deque<std::shared_ptr<const SessionRecord>> recent_;
    std::deque<std::shared_ptr<const MessageRecord>> recent_messages_;
    std::uint64_t sessions_total_ = 0;
    std::uint64_t messages_total_ = 0;
    std::map<std::string, std::uint64_t> by_outcome_;
    std::map<std::string, std::uint64_t> by_scenario_;
    std::uint64_t bytes_from_clients_ = 0;
    std::uint64_t bytes_to_clients_ = 0;
};

} // namespace proxy::app
