#pragma once

// InProcessLab: the lab `tlslab matrix` starts for itself when no --admin is given: the whole
// catalogue for the protocols it needs on loopback ports the system picks, and the admin API on
// another, all on an event loop thread of their own. The matrix then talks to it exactly as to
// a lab someone else runs (LabClient), so both paths are one.

#include <atomic>
#include <expected>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <proxy/app/admin/admin_server.h>
#include <proxy/app/lab/lab_listeners.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/app/lab/lab_state.h>
#include <proxy/app/outputs/lab_outputs.h>
#include <proxy/net/event_loop.h>
#include <proxy/net/loop_bridge.h>
#include <proxy/net/session.h>

namespace proxy::app::matrix {

class InProcessLab {
  public:
    static std::expected<std::unique_ptr<InProcessLab>, std::string>
    start(const LabOptions& lab_options, const LabPlanOptions& plan, const OutputOptions& outputs);
    ~InProcessLab();
    InProcessLab(const InProcessLab&) = delete;
    InProcessLab& operator=(const InProcessLab&) = delete;

    const std::string& admin_address() const { return admin_->address(); }
    // stopped: the loop ended (a signal asked it to).
    bool stopped() const { return stopped_.load(); }
    void stop();

  private:
    InProcessLab() = default;
    std::unique_ptr<Lab> lab_;
    std::optional<UpstreamTls> upstream_tls_;
    std::unique_ptr<LabOutputs> outputs_;
    std::unique_ptr<net::EventLoop> loop_;
    std::unique_ptr<net::SessionRegistry> registry_;
    std::unique_ptr<LabState> state_;
    std::unique_ptr<net::LoopBridge> bridge_;
    std::unique_ptr<LabListeners> listeners_;
    std::unique_ptr<AdminServer> admin_;
    std::thread thread_;
    std::atomic<bool> stopped_{false};
    bool stopping_ = false;
};

} // namespace proxy::app::matrix
