#include <proxy/app/proxy_endpoint.h>

namespace proxy::app {

ProxyEndpoint::ProxyEndpoint(uv_loop_t* loop, net::SessionRegistry& registry, Config config,
                             std::shared_ptr<const ScenarioRuntime> scenario)
    : config_(std::move(config)), scenario_(std::move(scenario)),
      listener_(loop, registry, config_.id, [this](const net::SessionInfo& info) {
          ProxySettings s;
          s.scenario = scenario_; // the scenario at accept time stays with the session
          s.upstream_tds7_ctx = config_.upstream_tls->tds7.get();
          s.upstream_tds8_ctx = config_.upstream_tls->tds8.get();
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
    if (LabOutputs* out = config_.outputs; out != nullptr) {
        hooks.on_record = [out](std::shared_ptr<const SessionRecord> r) {
            out->on_record(r);
        };
        hooks.on_message = [out](std::shared_ptr<const MessageRecord> m) {
            out->on_message(m);
        };
    }
    listener_.set_hooks(std::move(hooks));
}

} // namespace proxy::app
