#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include <proxy/core/session/machine.h>
#include <proxy/net/address.h>
#include <proxy/net/session.h>
#include <proxy/net/session_limit.h>
#include <proxy/net/worker_loops.h>

namespace proxy::net {

// What a listener knows of a new connection when it asks for a machine.
struct SessionInfo {
    std::uint64_t id = 0;
    std::string peer;
    // Transparent listeners: where the client meant to go (its upstream), from the kernel.
    std::optional<sockaddr_storage> original_destination;
};

using MachineFactory = std::function<std::unique_ptr<Machine>(const SessionInfo&)>;
// StartGate: called for each accepted connection before its machine exists; the session starts
// (the factory runs, the client is read) when the gate calls `proceed`, on the loop thread, at
// most once. Until then the client's bytes wait in the kernel. A session closed meanwhile (shut
// down, a rule) is not started.
using StartGate = std::function<void(const SessionInfo&, std::function<void()> proceed)>;

// Handoff: another event loop a listener gives connections to (--threads, worker_loops.h), and
// the hooks its sessions get there (records and messages posted back to the main loop).
struct Handoff {
    WorkerLoop* worker = nullptr;
    SessionHooks hooks;
};

// Listener accepts TCP connections on one address and gives each a Session with a fresh machine
// from its factory. The factory may be replaced while running (new connections get the new one).
//
// --max-sessions: with a SessionLimit set, each session holds a place in it until the session is
// destroyed; a connection that finds the limit reached is accepted and closed at once (nothing
// read from it, no session, no machine), counted, and logged at warn level at most once a second
// per limit ("limit max-sessions=N reached: refused PEER").
class Listener {
  public:
    Listener(uv_loop_t* loop, SessionRegistry& registry, std::string label, MachineFactory factory);
    // Destroy only once the handle is closed (close()'s `done` ran, or it was never opened).
    ~Listener() = default;
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // listen binds and starts accepting; the error names the address and the reason.
    std::expected<void, std::string> listen(const HostPort& where);
    // close stops accepting; `done` runs once the handle is closed (the object may go then).
    void close(std::function<void()> done = {});

    // The address actually bound (port 0 resolved).
    const std::string& bound() const { return bound_; }
    std::uint16_t bound_port() const { return bound_port_; }
    void set_factory(MachineFactory factory) { factory_ = std::move(factory); }
    // set_hooks: the upstream and record sink given to every new session.
    void set_hooks(SessionHooks hooks) { hooks_ = std::move(hooks); }
    // set_transparent: each connection's upstream is its original destination (SO_ORIGINAL_DST);
    // a connection without one, or whose original destination is tlslab itself, is refused.
    void set_transparent(bool on) { transparent_ = on; }
    // set_start_gate: hold each session's start until the gate says so (see StartGate).
    void set_start_gate(StartGate gate) { gate_ = std::move(gate); }
    // set_limit: the --max-sessions object this listener counts in (shared by the listeners of
    // one address on several loops). Null: no limit, nothing counted.
    void set_limit(std::shared_ptr<SessionLimit> limit) { limit_ = std::move(limit); }
    const std::shared_ptr<SessionLimit>& limit() const { return limit_; }
    // set_handoffs: connections are spread in turn over this loop and these (not for
    // transparent listeners: their sessions stay on this loop). The factory then also runs on
    // the workers' threads.
    void set_handoffs(std::vector<Handoff> handoffs);
    // given: how many connections each loop was given, this one first (loop thread).
    const std::vector<std::uint64_t>& given() const { return given_; }

  private:
    static void on_connection(uv_stream_t* server, int status);
    static void on_closed(uv_handle_t* h);
    // refuse: accept the pending connection and close it at once (the limit is reached).
    void refuse(uv_stream_t* server);
    // hand_off: accept the pending connection and give it to another loop's thread.
    void hand_off(uv_stream_t* server, std::optional<SessionSlot> slot, const Handoff& to);

    uv_loop_t* loop_;
    SessionRegistry& registry_;
    std::string label_;
    MachineFactory factory_;
    SessionHooks hooks_;
    bool transparent_ = false;
    StartGate gate_;
    std::shared_ptr<SessionLimit> limit_;
    std::vector<Handoff> handoffs_;
    std::vector<std::uint64_t> given_ = {0};
    std::size_t next_loop_ = 0;
    uv_tcp_t tcp_{};
    bool open_ = false;
    std::string bound_;
    std::uint16_t bound_port_ = 0;
    std::function<void()> on_done_;
};

} // namespace proxy::net
