#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/mirror_names.h>
#include <proxy/app/lab/transparent_certificates.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/net/listener.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/worker_loops.h>

namespace proxy::app {

// ProxyEndpoint is one proxy listener: its address, its upstream, and the scenario new
// connections meet. The scenario can be replaced while it runs; live sessions keep theirs.
class ProxyEndpoint {
  public:
    struct Config {
        std::string id; // "expired", or "proxy" for a single listener
        ListenerProtocol protocol = ListenerProtocol::Auto;
        // PostgreSQL: a StartupMessage in clear is refused (as a hostssl-only server does).
        bool postgres_refuse_plaintext = false;
        // MySQL: a login in clear is refused with error 3159 (require_secure_transport=ON).
        bool mysql_refuse_plaintext = false;
        net::HostPort listen;
        sockaddr_storage upstream{};
        std::string upstream_name; // SNI / verified name for the upstream leg
        const UpstreamTls* upstream_tls = nullptr;
        std::uint64_t connect_timeout_ms = 10'000;
        std::uint64_t handshake_timeout_ms = 30'000;
        std::uint64_t idle_timeout_ms = 300'000;
        // --max-sessions (0: unlimited) and --max-message-bytes (docs/limits.md).
        std::size_t max_sessions = net::SessionLimit::kDefaultMaxSessions;
        std::size_t max_message_bytes = kDefaultMaxMessageBytes;
        LabOutputs* outputs = nullptr; // what to keep (secrets, messages, transcript)
        LabState* state = nullptr;     // records, rules, the admin API's view
        // Transparent mode: each connection's upstream is its original destination, and its
        // certificate names what the client asked for (or, with mirror, the real server's names).
        bool transparent = false;
        TransparentCertificates* certificates = nullptr; // required when transparent
        // mirror: the real server's certificate names per original destination, read before
        // a session starts (off the loop); null, or no answer: the client's names.
        MirrorNames* mirror = nullptr;
    };

    ProxyEndpoint(uv_loop_t* loop, net::SessionRegistry& registry, Config config,
                  std::shared_ptr<const ScenarioRuntime> scenario);

    std::expected<void, std::string> listen() { return listener_.listen(config_.listen); }
    void close() { listener_.close(); }
    // use_workers (--threads): connections are spread over this loop and the workers'; their
    // sessions' records and messages are posted to this loop through `home` (the loop that owns
    // the lab state and outputs). Not for transparent listeners (their sessions stay here).
    void use_workers(net::WorkerLoops& workers, net::LoopBridge& home);
    // The scenario may be read and replaced from any thread (sessions start on every loop).
    void set_scenario(std::shared_ptr<const ScenarioRuntime> s);
    std::shared_ptr<const ScenarioRuntime> scenario() const;
    const Config& config() const { return config_; }
    std::uint16_t bound_port() const { return listener_.bound_port(); }
    const std::string& bound() const { return listener_.bound(); }
    // limit: the listener's --max-sessions count (live sessions, refusals).
    const net::SessionLimit& limit() const { return *listener_.limit(); }
    // given: connections given to each loop, this one first (loop thread).
    const std::vector<std::uint64_t>& given() const { return listener_.given(); }

  private:
    void transparent_session(ProxySettings& s, const net::SessionInfo& info);
    // hooks: what sessions get: records and messages to the lab state (or the outputs), each
    // through `deliver` (run it here, or post it to the loop that owns them).
    net::SessionHooks hooks(const std::function<void(std::function<void()>)>& deliver) const;
    std::shared_ptr<const ScenarioRuntime> scenario_at_accept();

    Config config_;
    mutable std::mutex scenario_mutex_;
    std::shared_ptr<const ScenarioRuntime> scenario_;
    net::Listener listener_;
};

} // namespace proxy::app
