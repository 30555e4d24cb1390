#include <proxy/app/proxy_endpoint.h>

namespace proxy::app {

ProxyEndpoint::ProxyEndpoint(uv_loop_t* loop, net::SessionRegistry& registry, Config config,
                             std::shared_ptr<const ScenarioRuntime> scenario,
                             std::function<void(std::shared_ptr<const SessionRecord>)> on_record)
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
          return std::make_unique<ProxySession>(std::move(s), info.id, info.peer);
      }) {
    net::SessionHooks hooks;
    hooks.upstream = config_.upstream;
    hooks.on_record = std::move(on_record);
    listener_.set_hooks(std::move(hooks));
}

} // namespace proxy::app
