#include <spdlog/spdlog.h>

#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/net/address.h>

namespace proxy::app {

ProxyEndpoint::ProxyEndpoint(uv_loop_t* loop, net::SessionRegistry& registry, Config config,
                             std::shared_ptr<const ScenarioRuntime> scenario)
    : config_(std::move(config)), scenario_(std::move(scenario)),
      listener_(loop, registry, config_.id, [this](const net::SessionInfo& info) {
          ProxySettings s;
          s.scenario = scenario_at_accept();
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
          if (info.original_destination) {
              transparent_session(s, info);
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
          if (!info.original_destination) {
              s.upstream_name = config_.upstream_name;
          }
          s.connect_timeout_ms = config_.connect_timeout_ms;
          s.handshake_timeout_ms = config_.handshake_timeout_ms;
          s.idle_timeout_ms = config_.idle_timeout_ms;
          s.max_message_bytes = config_.max_message_bytes;
          s.listen_port = listener_.bound_port();
          if (config_.outputs != nullptr) {
              s.reveal_secrets = config_.outputs->reveal_secrets();
              s.record_messages = config_.outputs->record_messages();
              s.capture_transcript = config_.outputs->capture_transcript();
          }
          return std::make_unique<ProxySession>(std::move(s), info.id, info.peer);
      }) {
    listener_.set_hooks(hooks([](const std::function<void()>& deliver) { deliver(); }));
    listener_.set_limit(net::SessionLimit::create(config_.max_sessions));
    listener_.set_transparent(config_.transparent);
    if (config_.transparent && config_.mirror != nullptr) {
        MirrorNames* mirror = config_.mirror;
        listener_.set_start_gate(
            [mirror](const net::SessionInfo& info, std::function<void()> proceed) {
                if (!info.original_destination) {
                    proceed();
                    return;
                }
                mirror->prepare(*info.original_destination, std::move(proceed));
            });
    }
}

net::SessionHooks
ProxyEndpoint::hooks(const std::function<void(std::function<void()>)>& deliver) const {
    net::SessionHooks hooks;
    hooks.upstream = config_.upstream;
    // Records go to the lab state (which also writes them out) when there is one.
    if (LabState* state = config_.state; state != nullptr) {
        hooks.on_record = [state, deliver](const std::shared_ptr<const SessionRecord>& r) {
            deliver([state, r] { state->on_record(r); });
        };
        hooks.on_message = [state, deliver](const std::shared_ptr<const MessageRecord>& m) {
            deliver([state, m] { state->on_message(m); });
        };
    } else if (LabOutputs* out = config_.outputs; out != nullptr) {
        hooks.on_record = [out, deliver](const std::shared_ptr<const SessionRecord>& r) {
            deliver([out, r] { out->on_record(r); });
        };
        hooks.on_message = [out, deliver](const std::shared_ptr<const MessageRecord>& m) {
            deliver([out, m] { out->on_message(m); });
        };
    }
    return hooks;
}

void ProxyEndpoint::use_workers(net::WorkerLoops& workers, net::LoopBridge& home) {
    if (config_.transparent) {
        return;
    }
    net::LoopBridge* to = &home;
    auto posted = hooks([to](std::function<void()> deliver) { to->post(std::move(deliver)); });
    std::vector<net::Handoff> handoffs;
    for (std::size_t i = 0; i < workers.size(); ++i) {
        handoffs.push_back({&workers[i], posted});
    }
    listener_.set_handoffs(std::move(handoffs));
}

void ProxyEndpoint::set_scenario(std::shared_ptr<const ScenarioRuntime> s) {
    std::lock_guard lock(scenario_mutex_);
    scenario_ = std::move(s);
}

std::shared_ptr<const ScenarioRuntime> ProxyEndpoint::scenario() const {
    std::lock_guard lock(scenario_mutex_);
    return scenario_;
}

std::shared_ptr<const ScenarioRuntime> ProxyEndpoint::scenario_at_accept() {
    // The scenario at accept time stays with the session; a time-bound certificate ("expires in
    // 60 s") is minted again when it is more than a moment old.
    std::lock_guard lock(scenario_mutex_);
    scenario_ = refresh_if_time_bound(scenario_);
    return scenario_;
}

void ProxyEndpoint::transparent_session(ProxySettings& s, const net::SessionInfo& info) {
    const auto* dest = reinterpret_cast<const sockaddr*>(&*info.original_destination);
    s.original_destination = net::format_address(dest);
    auto hp = net::parse_host_port(s.original_destination);
    std::string ip = hp ? hp->host : s.original_destination;
    s.upstream_name = ip; // no SNI towards the server; verified against its IP with --upstream-ca
    if (config_.certificates == nullptr) {
        return;
    }
    std::optional<CertificateNames> mirrored;
    if (config_.mirror != nullptr) {
        mirrored = config_.mirror->find(s.original_destination); // known: the gate waited for it
    }
    // The scenario in force (the accept-time one, or one a rule picked at PRELOGIN) is minted
    // for the names at the ClientHello, the moment the certificate is chosen.
    auto current = std::make_shared<std::shared_ptr<const ScenarioRuntime>>(s.scenario);
    LabState* state = config_.state;
    TransparentCertificates* certificates = config_.certificates;
    std::string id = config_.id;
    std::uint64_t session = info.id;
    s.choose = [state, certificates, id, session, current, ip,
                mirrored](const SessionFacts& facts) -> std::shared_ptr<const ScenarioRuntime> {
        auto ruled = state != nullptr ? state->choose_later(id, facts) : nullptr;
        if (ruled) {
            *current = ruled;
        }
        if (facts.stage != SessionFacts::Stage::ClientHello || !*current ||
            (*current)->scenario.passthrough) {
            return ruled;
        }
        auto names = mirrored ? *mirrored : names_for_client(facts.sni, ip);
        auto rt = certificates->runtime(**current, names);
        if (!rt) {
            spdlog::warn("[{}#{}] transparent: cannot mint the certificate for {}: {}", id, session,
                         names.key(), rt.error());
            return ruled;
        }
        return *rt;
    };
}

} // namespace proxy::app
