#include <proxy/app/lab/proxy_endpoint.h>

namespace proxy::app {

ProxyEndpoint::ProxyEndpoint(uv_loop_t* loop, net::SessionRegistry& registry, Config config,
                             std::shared_ptr<const ScenarioRuntime> scenario)
    : config_(std::move(config)), scenario_(std::move(scenario)),
      listener_(loop, registry, config_.id, [this](const net::SessionInfo& info) {
          ProxySettings s;
          s.scenario = scenario_; // the scenario at accept time stays with the session
          if (config_.state != nullptr) {
              if (auto ruled = config_.state->choose_at_accept(config_.id, info.peer)) {
                  s.scenario = std::move(ruled);
              }
              LabState* state = config_.state;
              std::string id = config_.id;
              s.choose = [state, id](const SessionFacts& facts) {
                  return state->choose_later(id, facts);
              };
          }
          s.protocol = config_.protocol;
          s.postgres_refuse_plaintext = config_.postgres_refuse_plaintext;
          s.mysql_refuse_plaintext = config_.mysql_refuse_plaintext;
          s.upstream.tds7 = config_.upstream_tls->tds7.get();
          s.upstream.tds8 = config_.upstream_tls->tds8.get();
          s.upstream.postgres = config_.upstream_tls->postgres.get();
          s.upstream.generic = config_.upstream_tls->generic.get();
          s.upstream.mysql = config_.upstream_tls->mysql.get();
          s.upstream_verified = config_.upstream_tls->verified;
          s.upstream_name = config_.upstream_name;
          s.connect_timeout_ms = config_.connect_timeout_ms;
          s.handshake_timeout_ms = config_.handshake_timeout_ms;
          s.idle_timeout_ms = config_.idle_timeout_ms;
          s.listen_port = listener_.bound_port();
          if (config_.outputs != nullptr) {
              s.reveal_secrets = config_.outputs->reveal_secrets();
              s.record_messages = config_.outputs->record_messages();
              s.capture_transcript = config_.outputs->capture_transcript();
          }
          return std::make_unique<ProxySession>(std::move(s), info.id, info.peer);
      }) {
    net::SessionHooks hooks;
    hooks.upstream = config_.upstream;
    // Records go to the lab state (which also writes them out) when there is one.
    if (LabState* state = config_.state; state != nullptr) {
        hooks.on_record = [state](const std::shared_ptr<const SessionRecord>& r) {
            state->on_record(r);
        };
        hooks.on_message = [state](const std::shared_ptr<const MessageRecord>& m) {
            state->on_message(m);
        };
    } else if (LabOutputs* out = config_.outputs; out != nullptr) {
        hooks.on_record = [out](const std::shared_ptr<const SessionRecord>& r) {
            out->on_record(r);
        };
        hooks.on_message = [out](const std::shared_ptr<const MessageRecord>& m) {
            out->on_message(m);
        };
    }
    listener_.set_hooks(std::move(hooks));
}

} // namespace proxy::app
