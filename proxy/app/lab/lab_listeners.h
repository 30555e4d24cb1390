#pragma once

// LabListeners: the catalogue on the wire, as `tlslab lab` and `tlslab matrix` run it. One
// in-process stand-in per protocol (plus PostgreSQL's SSL-on one for passthrough) on loopback
// ports chosen at run time, and one proxy listener per scenario and protocol in catalogue order
// from the protocol's base port (base port 0: every listener on a port the system picks).
// Listener ids: the scenario's name for TDS, "pg:NAME" for PostgreSQL, "my:NAME" for MySQL.

#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/lab/proxy_endpoint.h>
#include <proxy/app/lab/serve_endpoint.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <scenarios/scenario.h>

namespace proxy::app {

struct LabPlanOptions {
    std::vector<scenarios::Protocol> protocols;
    std::map<scenarios::Protocol, unsigned> base_ports; // absent or 0: ports the system picks
    std::string listen_host = "127.0.0.1";
    std::vector<std::string> only; // empty: the whole catalogue
    standin::mysql::Flavour mysql_flavour = standin::mysql::Flavour::Mysql80;
    std::uint64_t connect_timeout_ms = 10'000;
    std::uint64_t handshake_timeout_ms = 30'000;
    std::uint64_t idle_timeout_ms = 300'000;
    // Per proxy listener (docs/limits.md); the in-process stand-ins behind them take every
    // session the listeners pass on (no session limit, no idle timer of their own: the proxy's
    // timers close both legs).
    std::size_t max_sessions = net::SessionLimit::kDefaultMaxSessions;
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

struct LabListener {
    scenarios::Protocol protocol;
    std::unique_ptr<ProxyEndpoint> endpoint;
};

struct LabStartError {
    std::string message;
    int exit_code = 1; // 2: the user's input (a name, a port range)
};

// listener_id: "expired", "pg:expired", "my:expired".
std::string listener_id(scenarios::Protocol p, const std::string& scenario);

class LabListeners {
  public:
    // start: on failure everything opened so far is closed again (run the loop's drain()).
    static std::expected<std::unique_ptr<LabListeners>, LabStartError>
    start(uv_loop_t* loop, net::SessionRegistry& registry, Lab& lab, LabOutputs& outputs,
          LabState& state, const UpstreamTls& upstream_tls, const LabPlanOptions& plan);

    const std::vector<LabListener>& listeners() const { return listeners_; }
    // upstream_lines: "MySQL 8.0 stand-in (...) on 127.0.0.1:PORT", one per stand-in.
    const std::vector<std::string>& upstream_lines() const { return upstream_lines_; }
    void close();

  private:
    LabListeners() = default;
    std::vector<std::unique_ptr<ServeEndpoint>> serves_;
    std::vector<LabListener> listeners_;
    std::vector<std::string> upstream_lines_;
};

} // namespace proxy::app
